//! Sharing operations: reports, indicators, observables, sightings and value search. Every read
//! asks the access policy first (single objects with `may_see`, lists with the policy's filter in
//! SQL), hides the author of anonymous submissions from readers outside the author's organisation,
//! and audits reads of AMBER and above; every change is checked and audited like the admin
//! operations in [`crate::ops`].

use mamori_access::{VisibilityFilter, may_see, may_write};
use mamori_model::{
    GroupId, Indicator, Observable, OrgId, Report, ReportId, Scope, SightingSource, Tlp, ValueKind,
};
use mamori_share::decay::{self, DecayInput};
use mamori_share::normalise;
use mamori_share::warninglist::WarningHit;
use mamori_store::reports::{
    Correlation, NewIndicator, NewObservable, NewReport, ReportPatch, ReportQuery, SightingStats,
    StoredReport, ValueHit,
};
use mamori_store::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ops::{Actor, audit, audit_read};
use crate::{ApiError, AppState};
use mamori_share::warninglist::WarningLists;
use mamori_store::Store;

/// What sharing operations need: storage and the warning lists.
pub struct ShareCtx<'a> {
    pub store: &'a Store,
    pub warninglists: &'a WarningLists,
    /// The monitoring stream's window for patterns without a `WITHIN`
    /// ([`IndicatorView::stream`]).
    pub pattern_window_ms: i64,
}

impl AppState {
    /// The sharing context of the running hub.
    pub fn share(&self) -> ShareCtx<'_> {
        ShareCtx {
            store: &self.store,
            warninglists: &self.warninglists,
            pattern_window_ms: self.pipeline.settings().pattern_window_ms,
        }
    }
}

/// An indicator as submitted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorInput {
    pub kind: Option<ValueKind>,
    pub value: Option<String>,
    /// A STIX 2.1 pattern.
    pub pattern: Option<String>,
    #[serde(default)]
    pub description: String,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    #[serde(default)]
    pub kill_chain_phases: Vec<String>,
    pub confidence: Option<u8>,
}

/// An observable as submitted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservableInput {
    pub kind: ValueKind,
    pub value: String,
    #[serde(default)]
    pub comment: String,
}

/// A report as submitted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub tlp: Tlp,
    #[schema(value_type = Option<String>)]
    pub sharing_group: Option<GroupId>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub recipients: Vec<OrgId>,
    pub confidence: Option<u8>,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub attack_techniques: Vec<String>,
    /// Hide the submitting organisation from recipients (hub admins and the audit log still see it).
    #[serde(default)]
    pub anonymous: bool,
    #[serde(default)]
    pub indicators: Vec<IndicatorInput>,
    #[serde(default)]
    pub observables: Vec<ObservableInput>,
}

/// Changes to a report.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportPatchInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub tlp: Option<Tlp>,
    #[schema(value_type = Option<String>)]
    pub sharing_group: Option<Option<GroupId>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub recipients: Option<Vec<OrgId>>,
    pub confidence: Option<Option<u8>>,
    pub labels: Option<Vec<String>>,
    pub attack_techniques: Option<Vec<String>>,
}

/// An indicator with its current score and warning-list hits.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IndicatorView {
    #[serde(flatten)]
    pub indicator: Indicator,
    /// 0-100, see the decay formula in `mamori_share::decay`.
    pub score: u8,
    pub warnings: Vec<WarningHit>,
    pub sightings: SightingStats,
    /// For a STIX pattern indicator: how the monitoring stream matches it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<PatternStream>,
}

/// How the monitoring stream (and sensors) match a STIX pattern indicator.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatternStream {
    /// One event can satisfy it (or a branch of it).
    pub per_event: bool,
    /// A branch needs several events (`AND`, `FOLLOWEDBY`, `REPEATS`): evaluated over each
    /// organisation's events in `window_secs`.
    pub cross_event: bool,
    pub window_secs: Option<i64>,
    /// `invalid`, `unmapped_types` (nothing of it is matched) or `partly_left_out`.
    pub problem: Option<&'static str>,
}

impl PatternStream {
    fn of(pattern: &str, default_window_ms: i64) -> PatternStream {
        let s = mamori_patterns::status::stream_status(pattern, default_window_ms);
        PatternStream {
            per_event: s.per_event,
            cross_event: s.cross_event,
            window_secs: s.window_ms.map(|ms| (ms + 999) / 1000),
            problem: s.problem.map(|p| p.as_str()),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ObservableView {
    #[serde(flatten)]
    pub observable: Observable,
    pub warnings: Vec<WarningHit>,
}

/// A report with everything about it that the reader may see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    pub report: Report,
    pub indicators: Vec<IndicatorView>,
    pub observables: Vec<ObservableView>,
    /// Other reports the reader may see that share a value with this one.
    pub correlations: Vec<Correlation>,
    /// Whether the reader may change it.
    pub editable: bool,
}

/// The answer to "where does this value appear?".
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    pub kind: Option<ValueKind>,
    pub value: String,
    pub hits: Vec<ValueHit>,
    pub warnings: Vec<WarningHit>,
    pub sightings: Option<SightingStats>,
}

/// A sighting as submitted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SightingInput {
    pub kind: ValueKind,
    pub value: String,
    #[serde(default = "one")]
    pub count: u32,
    /// When it was seen (ms since the epoch); defaults to now.
    pub seen_at: Option<i64>,
    /// `member` (default) or `false-positive`.
    #[serde(default = "member")]
    pub source: SightingSource,
}

fn one() -> u32 {
    1
}

fn member() -> SightingSource {
    SightingSource::Member
}

pub(crate) fn filter(actor: &Actor) -> VisibilityFilter {
    actor.principal.as_ref().map_or(
        VisibilityFilter {
            org: None,
            groups: vec![],
            admin: true,
        },
        VisibilityFilter::for_principal,
    )
}

fn require_writer(actor: &Actor) -> Result<(), ApiError> {
    match &actor.principal {
        Some(p) if !may_write(p) => Err(ApiError::forbidden(
            "share material (analysts and administrators may)",
        )),
        _ => Ok(()),
    }
}

/// Whether the reader belongs to the author organisation or runs the hub.
pub(crate) fn insider(actor: &Actor, owner: OrgId) -> bool {
    actor
        .principal
        .as_ref()
        .is_none_or(|p| p.org_id == owner || p.role == mamori_model::Role::Admin)
}

/// The report as this reader may see it: the author hidden for anonymous submissions.
fn present(actor: &Actor, stored: StoredReport) -> Report {
    let mut r = stored.report;
    if r.anonymous && !insider(actor, stored.owner_org) {
        r.author_org = None;
        r.created_by = None;
    }
    r
}

fn may_read(actor: &Actor, stored: &StoredReport) -> bool {
    match &actor.principal {
        None => true,
        Some(p) => may_see(Some(p), &stored.report.marking(stored.owner_org)),
    }
}

fn may_edit(actor: &Actor, stored: &StoredReport) -> bool {
    match &actor.principal {
        None => true,
        Some(p) => {
            may_write(p) && (p.org_id == stored.owner_org || p.role == mamori_model::Role::Admin)
        }
    }
}

fn normalise_indicator(i: &IndicatorInput, n: usize) -> Result<NewIndicator, ApiError> {
    let value = match (i.kind, &i.value) {
        (Some(k), Some(v)) => Some(
            normalise::normalise(k, v)
                .map_err(|e| ApiError::Invalid(format!("indicators[{n}]: {e}")))?,
        ),
        (None, Some(v)) => {
            return Err(ApiError::Invalid(format!(
                "indicators[{n}]: value {v:?} needs a kind"
            )));
        }
        _ => None,
    };
    if value.is_none() && i.pattern.as_deref().is_none_or(|p| p.trim().is_empty()) {
        return Err(ApiError::Invalid(format!(
            "indicators[{n}]: give a kind and value, or a pattern"
        )));
    }
    if i.pattern.as_deref().is_some_and(|p| p.len() > 64 * 1024) {
        return Err(ApiError::Invalid(format!(
            "indicators[{n}]: pattern longer than 64 KiB"
        )));
    }
    // A pattern is checked as TAXII checks one: it must parse, or the report is refused with
    // the place of the fault.
    if let Some(p) = i.pattern.as_deref().filter(|p| !p.trim().is_empty())
        && let Err(e) = mamori_stix::Pattern::parse(p)
    {
        return Err(ApiError::Invalid(format!("indicators[{n}].pattern: {e}")));
    }
    Ok(NewIndicator {
        kind: i.kind,
        value,
        pattern: i.pattern.clone().filter(|p| !p.trim().is_empty()),
        description: i.description.clone(),
        valid_from: i.valid_from,
        valid_until: i.valid_until,
        kill_chain_phases: i.kill_chain_phases.clone(),
        confidence: i.confidence,
    })
}

fn normalise_observable(o: &ObservableInput, n: usize) -> Result<NewObservable, ApiError> {
    Ok(NewObservable {
        kind: o.kind,
        value: normalise::normalise(o.kind, &o.value)
            .map_err(|e| ApiError::Invalid(format!("observables[{n}]: {e}")))?,
        comment: o.comment.clone(),
    })
}

/// Checks the reach an author asks for: an existing group the author's organisation belongs to,
/// existing recipient organisations, and no sharing group on RED.
pub(crate) async fn check_reach(
    state: &ShareCtx<'_>,
    actor: &Actor,
    owner: OrgId,
    tlp: Tlp,
    group: Option<GroupId>,
    recipients: &[OrgId],
) -> Result<(), ApiError> {
    if let Some(g) = group {
        if tlp == Tlp::Red {
            return Err(ApiError::Invalid(
                "TLP:RED goes to named recipients only; a sharing group can not carry it".into(),
            ));
        }
        let group = state
            .store
            .get_group(g)
            .await
            .map_err(|_| ApiError::Invalid("the sharing group does not exist".into()))?;
        if actor.principal.is_some() && !group.members.contains(&owner) {
            return Err(ApiError::Forbidden(
                "your organisation is not a member of that sharing group".into(),
            ));
        }
    }
    if recipients.len() > 1000 {
        return Err(ApiError::Invalid(
            "at most 1000 recipient organisations".into(),
        ));
    }
    for r in recipients {
        state
            .store
            .get_org(*r)
            .await
            .map_err(|_| ApiError::Invalid(format!("recipient organisation {r} does not exist")))?;
    }
    Ok(())
}

pub async fn create_report(
    state: &ShareCtx<'_>,
    actor: &Actor,
    input: &ReportInput,
) -> Result<ReportView, ApiError> {
    require_writer(actor)?;
    let owner = actor.principal.as_ref().map(|p| p.org_id).ok_or_else(|| {
        ApiError::Invalid("reports are submitted by a user of a member organisation".into())
    })?;
    if input.indicators.len() + input.observables.len() > 100_000 {
        return Err(ApiError::Invalid(
            "at most 100,000 indicators and observables per report".into(),
        ));
    }
    check_reach(
        state,
        actor,
        owner,
        input.tlp,
        input.sharing_group,
        &input.recipients,
    )
    .await?;
    let indicators = input
        .indicators
        .iter()
        .enumerate()
        .map(|(n, i)| normalise_indicator(i, n))
        .collect::<Result<Vec<_>, _>>()?;
    let observables = input
        .observables
        .iter()
        .enumerate()
        .map(|(n, o)| normalise_observable(o, n))
        .collect::<Result<Vec<_>, _>>()?;
    let stored = state
        .store
        .create_report(&NewReport {
            title: input.title.clone(),
            description: input.description.clone(),
            owner_org: owner,
            anonymous: input.anonymous,
            tlp: input.tlp,
            sharing_group: input.sharing_group,
            recipients: input.recipients.clone(),
            confidence: input.confidence,
            labels: input.labels.clone(),
            attack_techniques: input.attack_techniques.clone(),
            created_by: actor.principal.as_ref().map(|p| p.user_id),
            indicators,
            observables,
        })
        .await?;
    audit(
        state.store,
        actor,
        "report.create",
        "report",
        &stored.report.id.to_string(),
        Some(stored.report.tlp),
        json!({"owner_org": owner, "anonymous": input.anonymous, "indicators": input.indicators.len(), "observables": input.observables.len()}),
    )
    .await?;
    crate::taxii::sync::sync_report(state, stored.report.id).await?;
    view(state, actor, stored).await
}

async fn view(
    state: &ShareCtx<'_>,
    actor: &Actor,
    stored: StoredReport,
) -> Result<ReportView, ApiError> {
    let id = stored.report.id;
    let editable = may_edit(actor, &stored);
    let report_conf = stored.report.confidence;
    let now = mamori_store::now_millis();
    let mut indicators = Vec::new();
    for i in state.store.report_indicators(id).await? {
        indicators.push(indicator_view(state, i, report_conf, now).await?);
    }
    let observables = state
        .store
        .report_observables(id)
        .await?
        .into_iter()
        .map(|o| ObservableView {
            warnings: state.warninglists.check(o.kind, &o.value),
            observable: o,
        })
        .collect();
    let correlations = state.store.correlations(id, &filter(actor)).await?;
    Ok(ReportView {
        report: present(actor, stored),
        indicators,
        observables,
        correlations,
        editable,
    })
}

async fn indicator_view(
    state: &ShareCtx<'_>,
    i: Indicator,
    report_confidence: Option<u8>,
    now: i64,
) -> Result<IndicatorView, ApiError> {
    let (warnings, sightings) = match (i.kind, &i.value, &i.pattern) {
        (Some(k), Some(v), _) => (
            state.warninglists.check(k, v),
            state.store.sighting_stats(k, v).await?,
        ),
        // Pattern indicators: the stream's detection sightings of the pattern.
        (_, _, Some(p)) => (Vec::new(), state.store.pattern_sighting_stats(p).await?),
        _ => (Vec::new(), SightingStats::default()),
    };
    let score = decay::score(
        &DecayInput {
            kind: i.kind,
            base_confidence: i.confidence.or(report_confidence),
            valid_from: i.valid_from,
            valid_until: i.valid_until,
            last_sighting: sightings.last_seen,
            false_positives: u32::try_from(sightings.false_positives).unwrap_or(u32::MAX),
        },
        now,
    );
    let stream = match (i.kind, &i.pattern) {
        (None, Some(p)) => Some(PatternStream::of(p, state.pattern_window_ms)),
        _ => None,
    };
    Ok(IndicatorView {
        indicator: i,
        score,
        warnings,
        sightings,
        stream,
    })
}

/// Loads a report the actor may see; a report they may not see is "not found", so that its
/// existence does not leak.
pub(crate) async fn load_visible(
    state: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
) -> Result<StoredReport, ApiError> {
    let stored = state.store.get_report(id).await?;
    if !may_read(actor, &stored) {
        return Err(ApiError::NotFound("report".into()));
    }
    Ok(stored)
}

pub async fn get_report(
    state: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
) -> Result<ReportView, ApiError> {
    let stored = load_visible(state, actor, id).await?;
    audit_read(
        state.store,
        actor,
        "report",
        &id.to_string(),
        stored.report.tlp,
    )
    .await?;
    view(state, actor, stored).await
}

pub async fn list_reports(
    state: &ShareCtx<'_>,
    actor: &Actor,
    query: &ReportQuery,
    page: &PageRequest,
) -> Result<Page<Report>, ApiError> {
    let page = state
        .store
        .list_reports(&filter(actor), query, page)
        .await?;
    Ok(page.map(|s| present(actor, s)))
}

pub(crate) async fn load_editable(
    state: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
) -> Result<StoredReport, ApiError> {
    let stored = load_visible(state, actor, id).await?;
    if !may_edit(actor, &stored) {
        return Err(ApiError::forbidden(
            "change a report of another organisation",
        ));
    }
    if let Some(p) = &actor.principal
        && !p.has_scope(Scope::Write)
    {
        return Err(ApiError::Forbidden(
            "this credential lacks the write scope".into(),
        ));
    }
    Ok(stored)
}

pub async fn update_report(
    state: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
    patch: &ReportPatchInput,
) -> Result<ReportView, ApiError> {
    let stored = load_editable(state, actor, id).await?;
    let tlp = patch.tlp.unwrap_or(stored.report.tlp);
    let group = patch.sharing_group.unwrap_or(stored.report.sharing_group);
    let recipients = patch
        .recipients
        .clone()
        .unwrap_or_else(|| stored.report.recipients.clone());
    check_reach(state, actor, stored.owner_org, tlp, group, &recipients).await?;
    let updated = state
        .store
        .update_report(
            id,
            &ReportPatch {
                title: patch.title.clone(),
                description: patch.description.clone(),
                tlp: patch.tlp,
                sharing_group: patch.sharing_group,
                recipients: patch.recipients.clone(),
                confidence: patch.confidence,
                labels: patch.labels.clone(),
                attack_techniques: patch.attack_techniques.clone(),
            },
        )
        .await?;
    audit(
        state.store,
        actor,
        "report.update",
        "report",
        &id.to_string(),
        Some(updated.report.tlp),
        json!({"tlp_from": stored.report.tlp, "tlp_to": updated.report.tlp}),
    )
    .await?;
    crate::taxii::sync::sync_report(state, id).await?;
    view(state, actor, updated).await
}

pub async fn revoke_report(
    state: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
) -> Result<ReportView, ApiError> {
    load_editable(state, actor, id).await?;
    let stored = state.store.revoke_report(id).await?;
    crate::taxii::sync::sync_report(state, id).await?;
    audit(
        state.store,
        actor,
        "report.revoke",
        "report",
        &id.to_string(),
        Some(stored.report.tlp),
        json!({}),
    )
    .await?;
    view(state, actor, stored).await
}

pub async fn add_indicator(
    state: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
    input: &IndicatorInput,
) -> Result<IndicatorView, ApiError> {
    let stored = load_editable(state, actor, id).await?;
    let i = state
        .store
        .add_indicator(id, &normalise_indicator(input, 0)?)
        .await?;
    crate::taxii::sync::sync_report(state, id).await?;
    audit(
        state.store,
        actor,
        "indicator.create",
        "report",
        &id.to_string(),
        Some(stored.report.tlp),
        json!({"indicator": i.id}),
    )
    .await?;
    indicator_view(
        state,
        i,
        stored.report.confidence,
        mamori_store::now_millis(),
    )
    .await
}

pub async fn add_observable(
    state: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
    input: &ObservableInput,
) -> Result<ObservableView, ApiError> {
    let stored = load_editable(state, actor, id).await?;
    let o = state
        .store
        .add_observable(id, &normalise_observable(input, 0)?)
        .await?;
    crate::taxii::sync::sync_report(state, id).await?;
    audit(
        state.store,
        actor,
        "observable.create",
        "report",
        &id.to_string(),
        Some(stored.report.tlp),
        json!({"observable": o.id}),
    )
    .await?;
    Ok(ObservableView {
        warnings: state.warninglists.check(o.kind, &o.value),
        observable: o,
    })
}

/// Where a value appears (in what the actor may see), with warning-list hits and sightings.
pub async fn search_value(
    state: &ShareCtx<'_>,
    actor: &Actor,
    raw: &str,
    kind: Option<ValueKind>,
) -> Result<SearchResult, ApiError> {
    let kind = kind.or_else(|| normalise::guess_kind(raw));
    let value = match kind {
        Some(k) => normalise::normalise(k, raw).map_err(|e| ApiError::Invalid(e.to_string()))?,
        None => raw.trim().to_owned(),
    };
    if value.is_empty() || value.len() > 4096 {
        return Err(ApiError::Invalid("give a value of 1-4096 bytes".into()));
    }
    let hits = state
        .store
        .find_value(kind, &value, &filter(actor), 500)
        .await?;
    let warnings = kind
        .map(|k| state.warninglists.check(k, &value))
        .unwrap_or_default();
    // Sighting counts are shown only to readers who may see the value in some report.
    let sightings = match kind {
        Some(k) if !hits.is_empty() => Some(state.store.sighting_stats(k, &value).await?),
        _ => None,
    };
    for h in hits.iter().filter(|h| h.report_tlp.read_is_audited()) {
        audit_read(
            state.store,
            actor,
            "report",
            &h.report_id.to_string(),
            h.report_tlp,
        )
        .await?;
    }
    Ok(SearchResult {
        kind,
        value,
        hits,
        warnings,
        sightings,
    })
}

pub async fn add_sighting(
    state: &ShareCtx<'_>,
    actor: &Actor,
    input: &SightingInput,
) -> Result<SightingStats, ApiError> {
    let Some(p) = &actor.principal else {
        return Err(ApiError::Invalid(
            "sightings are reported by a user of a member organisation".into(),
        ));
    };
    if !p.has_scope(Scope::Write) {
        return Err(ApiError::Forbidden(
            "this credential lacks the write scope".into(),
        ));
    }
    if input.source == SightingSource::Detection {
        return Err(ApiError::Invalid(
            "detection sightings come from the detection engine".into(),
        ));
    }
    let value = normalise::normalise(input.kind, &input.value)
        .map_err(|e| ApiError::Invalid(e.to_string()))?;
    let seen_at = input.seen_at.unwrap_or_else(mamori_store::now_millis);
    let s = state
        .store
        .add_sighting(
            input.kind,
            &value,
            p.org_id,
            input.source,
            input.count.clamp(1, 1_000_000),
            seen_at,
        )
        .await?;
    audit(
        state.store,
        actor,
        "sighting.create",
        "sighting",
        &s.id.to_string(),
        None,
        json!({"kind": input.kind, "source": input.source}),
    )
    .await?;
    Ok(state.store.sighting_stats(input.kind, &value).await?)
}

/// Indicators the actor may see, with scores.
pub async fn list_indicators(
    state: &ShareCtx<'_>,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<IndicatorView>, ApiError> {
    let page = state.store.list_indicators(&filter(actor), page).await?;
    let now = mamori_store::now_millis();
    let mut items = Vec::with_capacity(page.items.len());
    for (i, conf, _) in page.items {
        items.push(indicator_view(state, i, conf, now).await?);
    }
    Ok(Page {
        items,
        next_cursor: page.next_cursor,
    })
}
