//! Observables of a case: values the responders collected (addresses, domains, URLs, hashes),
//! normalised with the sharing rules (`mamori_share::normalise`) so that they compare with shared
//! indicators. Any participant adds them; they appear in the case and its after-action report.

use mamori_model::ValueKind;
use mamori_store::case_observables::CaseObservable;
use serde::Deserialize;
use serde_json::json;

use crate::ApiError;
use crate::cases::{CaseCtx, load, require_write};
use crate::ops::{Actor, audit};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservableInput {
    /// ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256, file-name, ... (guessed when absent)
    pub kind: Option<String>,
    pub value: String,
    #[serde(default)]
    pub note: String,
}

pub async fn add(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    input: &ObservableInput,
) -> Result<CaseObservable, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, case).await?;
    let kind = match &input.kind {
        Some(k) => k
            .parse::<ValueKind>()
            .map_err(|e| ApiError::Invalid(e.to_string()))?,
        None => mamori_share::normalise::guess_kind(&mamori_share::normalise::refang(&input.value))
            .ok_or_else(|| {
                ApiError::Invalid(format!(
                    "cannot tell what kind of value {:?} is",
                    input.value
                ))
            })?,
    };
    let value = mamori_share::normalise::normalise(kind, &input.value)
        .map_err(|e| ApiError::Invalid(e.to_string()))?;
    let (o, fresh) = cx
        .store
        .add_case_observable(case, kind.as_str(), &value, &input.note, &actor.name)
        .await?;
    if fresh {
        audit(
            cx.store,
            actor,
            "case.observable",
            "case",
            case,
            Some(c.tlp),
            json!({"kind": o.kind, "value": o.value}),
        )
        .await?;
    }
    Ok(o)
}

pub async fn list(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
) -> Result<Vec<CaseObservable>, ApiError> {
    let c = load(cx.store, actor, case).await?;
    crate::ops::audit_read(cx.store, actor, "case", case, c.tlp).await?;
    Ok(cx.store.case_observables(case).await?)
}

/// Shares the case's observables as one report in one step: marked with the case's TLP (or a
/// stricter one asked for), addressed to the other participating organisations when the TLP is
/// AMBER or above, so that exactly the organisations working the case receive it. The timeline
/// records the report.
pub async fn share(
    cx: &CaseCtx<'_>,
    share: &crate::sharing::ShareCtx<'_>,
    actor: &Actor,
    case: &str,
    tlp: Option<mamori_model::Tlp>,
) -> Result<crate::sharing::ReportView, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, case).await?;
    let tlp = tlp.unwrap_or(c.tlp);
    if tlp.rank() < c.tlp.rank() {
        return Err(ApiError::Invalid(format!(
            "the case is TLP:{}; share its observables at that level or stricter",
            c.tlp.as_str()
        )));
    }
    let observables = cx.store.case_observables(case).await?;
    if observables.is_empty() {
        return Err(ApiError::Invalid("the case has no observables yet".into()));
    }
    let owner = actor.principal.as_ref().map(|p| p.org_id);
    let recipients = if tlp.rank() >= mamori_model::Tlp::Amber.rank() {
        c.participants
            .iter()
            .map(|p| p.org)
            .filter(|o| Some(*o) != owner)
            .collect()
    } else {
        Vec::new()
    };
    let indicators = observables
        .iter()
        .filter_map(|o| {
            Some(crate::sharing::IndicatorInput {
                kind: Some(o.kind.parse().ok()?),
                value: Some(o.value.clone()),
                pattern: None,
                description: o.note.clone(),
                valid_from: None,
                valid_until: None,
                kill_chain_phases: Vec::new(),
                confidence: None,
            })
        })
        .collect();
    let view = crate::sharing::create_report(
        share,
        actor,
        &crate::sharing::ReportInput {
            title: format!("インシデント関連の指標 / Indicators from case: {}", c.title)
                .chars()
                .take(500)
                .collect(),
            description: c.description.clone(),
            tlp,
            sharing_group: None,
            recipients,
            confidence: None,
            labels: vec!["incident".into()],
            attack_techniques: Vec::new(),
            anonymous: false,
            indicators,
            observables: Vec::new(),
        },
    )
    .await?;
    cx.store
        .add_timeline_entry(
            case,
            mamori_store::now_millis(),
            "share",
            &format!(
                "観測値 {} 件を共有 (TLP:{}) / Shared {} observables as report {}",
                observables.len(),
                tlp.as_str(),
                observables.len(),
                view.report.id
            ),
            actor.principal.as_ref().map(|p| p.user_id),
        )
        .await?;
    audit(
        cx.store,
        actor,
        "case.observables.share",
        "case",
        case,
        Some(c.tlp),
        json!({"report": view.report.id, "tlp": tlp, "indicators": observables.len()}),
    )
    .await?;
    Ok(view)
}
