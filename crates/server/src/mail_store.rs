//! Stored mail analyses: [`submit`] analyses a message, keeps the original and every extracted
//! file in the sample store (content-addressed, [`crate::blob`] area `samples`, never opened
//! again but to be zipped for download), records the analysis with its marking and feature
//! tokens, assigns its campaign (`mamori_mail::campaign::best_match` over the candidates the
//! store hands in, under the store's assignment lock) and audits it. Reads ([`get`], [`list`])
//! ask the access policy: one analysis with `may_see`, lists with its SQL filter.

use mamori_access::may_see;
use mamori_mail::campaign::{self, Tokens};
use mamori_mail::{Analysis, Features};
use mamori_model::{GroupId, Scope, Tlp};
use mamori_store::mail_analyses::{
    MailAnalysisQuery, MailAnalysisSummary, NewMailAnalysis, SampleFile, StoredMailAnalysis,
};
use mamori_store::{Page, PageRequest, now_millis};
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;

use crate::ApiError;
use crate::blob::{self, BlobArea};
use crate::mail::{self, MailCtx, MailResult};
use crate::mail_targets::{OrgDirectory, TargetOrg, recipient_domains};
use crate::ops::{Actor, audit, audit_read};
use crate::sharing;

/// Most bytes the sample store keeps per analysis: the original message and the extracted
/// files together. Files past it are counted in `samples_dropped`, not kept.
pub const MAX_SAMPLE_BYTES: u64 = 256 * 1024 * 1024;
/// Longest subject and From kept in the list columns (the full text is in the analysis).
const MAX_COLUMN_CHARS: usize = 500;

/// The marking a submitter gives an analysis.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct Submission {
    /// TLP of the analysis and its samples (default AMBER).
    #[param(value_type = Option<String>)]
    pub tlp: Option<Tlp>,
    /// A sharing group of the submitter's organisation that may see it too.
    #[param(value_type = Option<String>)]
    pub sharing_group: Option<GroupId>,
}

/// A stored analysis with its feature record, the full analysis and its sample files.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MailAnalysisView {
    #[serde(flatten)]
    pub summary: MailAnalysisSummary,
    #[schema(value_type = Object)]
    pub features: Box<RawValue>,
    #[schema(value_type = Object)]
    pub analysis: Box<RawValue>,
    pub files: Vec<SampleFile>,
    /// Member organisations the message was addressed to (To and Cc domains).
    pub target_orgs: Vec<TargetOrg>,
}

/// The first From mailbox as `name <address>`.
pub(crate) fn from_text(a: &Analysis) -> String {
    a.headers
        .from
        .iter()
        .map(|m| match (&m.name, &m.address) {
            (Some(n), Some(a)) => format!("{n} <{a}>"),
            (None, Some(a)) => a.clone(),
            (Some(n), None) => n.clone(),
            (None, None) => String::new(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn to_json<T: Serialize>(v: &T) -> Result<String, ApiError> {
    serde_json::to_string(v).map_err(|e| ApiError::Internal(format!("json: {e}")))
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_COLUMN_CHARS).collect()
}

/// When the message was sent by its Date header, unless that lies more than a day after
/// `now` (then `now`).
fn seen_at(a: &Analysis, now: i64) -> i64 {
    a.headers
        .date
        .as_deref()
        .and_then(mamori_mail::headers::date_millis)
        .filter(|d| *d > 0 && *d <= now + 86_400_000)
        .unwrap_or(now)
}

/// Analyses a message, stores it with its samples and campaign, and audits it.
pub async fn submit(
    cx: &MailCtx<'_>,
    actor: &Actor,
    raw: Vec<u8>,
    sub: &Submission,
) -> Result<MailResult, ApiError> {
    mail::check_size(cx, &raw)?;
    let p = actor.principal.as_ref().ok_or_else(|| {
        ApiError::Invalid("analyses are submitted by a user of a member organisation".into())
    })?;
    if !p.has_scope(Scope::Write) {
        return Err(ApiError::Forbidden(
            "this credential lacks the write scope".into(),
        ));
    }
    let tlp = sub.tlp.unwrap_or(Tlp::Amber);
    sharing::check_reach(&cx.share, actor, p.org_id, tlp, sub.sharing_group, &[]).await?;
    let keep = MAX_SAMPLE_BYTES.saturating_sub(raw.len() as u64);
    let (opts, unavailable) = mail::options(cx).await;
    let (mut analysis, kept, raw) = tokio::task::spawn_blocking(move || {
        let (a, k) = mamori_mail::analyze_keeping(&raw, &opts, keep);
        (a, k, raw)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("mail analysis task: {e}")))?;
    mail::note_unavailable(&mut analysis, unavailable);

    let original = blob::put(cx.data_dir, BlobArea::Samples, &raw, MAX_SAMPLE_BYTES).await?;
    let mut files = vec![SampleFile {
        sha256: original.sha256.clone(),
        role: "original".into(),
        name: None,
        size: i64::try_from(original.size).unwrap_or(i64::MAX),
    }];
    for f in &kept.files {
        let b = blob::put(cx.data_dir, BlobArea::Samples, &f.data, MAX_SAMPLE_BYTES).await;
        let b = match b {
            Ok(b) => b,
            // An empty attachment has nothing to keep.
            Err(blob::BlobError::Empty) => continue,
            Err(e) => return Err(e.into()),
        };
        files.push(SampleFile {
            sha256: b.sha256,
            role: f.role.as_str().into(),
            name: f.name.as_deref().map(clip),
            size: i64::try_from(b.size).unwrap_or(i64::MAX),
        });
    }
    drop(kept.files);

    let features = Features::from_analysis(&analysis);
    let mine: Tokens = features.token_map();
    let new = NewMailAnalysis {
        owner_org: p.org_id,
        submitted_by: Some(p.user_id),
        submitter_name: actor.name.clone(),
        tlp,
        sharing_group: sub.sharing_group,
        seen_at: seen_at(&analysis, now_millis()),
        subject: clip(analysis.headers.subject.as_deref().unwrap_or("")),
        mail_from: clip(&from_text(&analysis)),
        score: i64::from(analysis.verdict.score),
        sha256: original.sha256.clone(),
        size: i64::try_from(original.size).unwrap_or(i64::MAX),
        samples_dropped: i64::try_from(kept.dropped).unwrap_or(i64::MAX),
        features: to_json(&features)?,
        analysis: to_json(&analysis)?,
        files,
        tokens: features.tokens(),
    };
    let stored = cx
        .share
        .store
        .record_mail_analysis(&new, campaign::LINK_WEIGHT, |candidates| {
            let maps: Vec<(Tokens, &str)> = candidates
                .iter()
                .map(|c| (c.tokens.iter().cloned().collect(), c.campaign_id.as_str()))
                .collect();
            campaign::best_match(
                &mine,
                maps.iter().map(|(t, c)| (t, *c)),
                campaign::DEFAULT_THRESHOLD,
            )
            .map(str::to_owned)
        })
        .await?;
    audit(
        cx.share.store,
        actor,
        "mail.analyze",
        "mail_analysis",
        &stored.id,
        Some(tlp),
        json!({
            "score": analysis.verdict.score, "size": analysis.size, "sha256": stored.sha256,
            "campaign": stored.campaign_id, "files": new.files.len(),
            "samples_dropped": stored.samples_dropped,
            "yara": mail::matched_rules(&analysis),
        }),
    )
    .await?;
    let matches = mail::matches(&cx.share, actor, &analysis).await;
    Ok(MailResult {
        analysis,
        matches,
        stored: Some(stored),
    })
}

/// Whether the actor may see an analysis (the access policy; the hub itself and the local
/// command line see everything).
pub(crate) fn may_read(actor: &Actor, s: &MailAnalysisSummary) -> bool {
    actor
        .principal
        .as_ref()
        .is_none_or(|p| may_see(Some(p), &s.marking()))
}

/// Loads an analysis the actor may see; one they may not see is "not found", so that its
/// existence does not leak.
pub(crate) async fn load_visible(
    cx: &MailCtx<'_>,
    actor: &Actor,
    id: &str,
) -> Result<StoredMailAnalysis, ApiError> {
    let stored = cx.share.store.get_mail_analysis(id).await?;
    if !may_read(actor, &stored.summary) {
        return Err(ApiError::NotFound("mail analysis".into()));
    }
    Ok(stored)
}

fn raw(text: String) -> Result<Box<RawValue>, ApiError> {
    RawValue::from_string(text).map_err(|e| ApiError::Internal(format!("stored json: {e}")))
}

/// One analysis (audited as a read at AMBER and above).
pub async fn get(cx: &MailCtx<'_>, actor: &Actor, id: &str) -> Result<MailAnalysisView, ApiError> {
    let s = load_visible(cx, actor, id).await?;
    audit_read(
        cx.share.store,
        actor,
        "mail_analysis",
        &s.summary.id,
        s.summary.tlp,
    )
    .await?;
    let directory = OrgDirectory::load(cx.share.store).await?;
    let domains = recipient_domains(&s.analysis);
    Ok(MailAnalysisView {
        summary: s.summary,
        features: raw(s.features)?,
        analysis: raw(s.analysis)?,
        files: s.files,
        target_orgs: directory.targets(domains.iter().map(String::as_str)),
    })
}

/// Analyses the actor may see, oldest first.
pub async fn list(
    cx: &MailCtx<'_>,
    actor: &Actor,
    query: &MailAnalysisQuery,
    page: &PageRequest,
) -> Result<Page<MailAnalysisSummary>, ApiError> {
    Ok(cx
        .share
        .store
        .list_mail_analyses(&sharing::filter(actor), query, page)
        .await?)
}
