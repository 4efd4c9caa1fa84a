//! Mail analysis in the hub: a message is analysed by `mamori-mail` (off the async runtime) and
//! its URLs, sender domain and attachment hashes are looked up in the shared indicators the
//! caller may see. [`analyze`] stores nothing but an audit record (case intake uses it);
//! messages dropped into the API or the console are stored by [`crate::mail_store::submit`].

use mamori_mail::Analysis;
use mamori_model::ValueKind;
use mamori_store::mail_analyses::MailAnalysisSummary;
use mamori_store::reports::ValueHit;
use serde::Serialize;

use crate::ApiError;
use crate::ops::{Actor, audit};
use crate::sharing::{self, ShareCtx};

/// Largest message accepted for analysis.
pub const MAX_MESSAGE_BYTES: usize = 50 * 1024 * 1024;
/// Most lookups against shared indicators per message.
const MAX_LOOKUPS: usize = 100;

/// An analysis and the shared indicators it touches.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MailResult {
    #[schema(value_type = Object)]
    pub analysis: Analysis,
    /// Shared reports (that the caller may see) mentioning a URL, domain or hash of the message.
    pub matches: Vec<ValueHit>,
    /// The stored analysis (its id, marking and campaign), when it was stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<MailAnalysisSummary>,
}

pub(crate) fn lookups(a: &Analysis) -> Vec<(ValueKind, String)> {
    let mut out: Vec<(ValueKind, String)> = Vec::new();
    let mut push = |k: ValueKind, v: String| {
        if out.len() < MAX_LOOKUPS && !out.iter().any(|(k2, v2)| *k2 == k && *v2 == v) {
            out.push((k, v));
        }
    };
    if let Some(d) = a.headers.from.first().and_then(|m| m.domain.clone()) {
        push(ValueKind::Domain, d);
    }
    for u in &a.urls {
        if let Ok(v) = mamori_share::normalise::normalise(ValueKind::Url, &u.url) {
            push(ValueKind::Url, v);
        }
        if let Some(h) = &u.host
            && let Ok(v) = mamori_share::normalise::normalise(ValueKind::Domain, h)
        {
            push(ValueKind::Domain, v);
        }
    }
    for f in &a.attachments {
        push(ValueKind::Sha256, f.sha256.clone());
    }
    out
}

/// Analyses a message for the actor and records it in the audit log.
pub async fn analyze(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    raw: Vec<u8>,
) -> Result<MailResult, ApiError> {
    check_size(&raw)?;
    let analysis = tokio::task::spawn_blocking(move || mamori_mail::analyze(&raw))
        .await
        .map_err(|e| ApiError::Internal(format!("mail analysis task: {e}")))?;
    let matches = matches(cx, actor, &analysis).await;
    audit(
        cx.store,
        actor,
        "mail.analyze",
        "mail",
        &analysis.sha256,
        None,
        serde_json::json!({"score": analysis.verdict.score, "size": analysis.size}),
    )
    .await?;
    Ok(MailResult {
        analysis,
        matches,
        stored: None,
    })
}

/// The shared indicators (that the actor may see) an analysis touches.
pub(crate) async fn matches(cx: &ShareCtx<'_>, actor: &Actor, a: &Analysis) -> Vec<ValueHit> {
    let mut matches = Vec::new();
    for (kind, value) in lookups(a) {
        if let Ok(r) = sharing::search_value(cx, actor, &value, Some(kind)).await {
            matches.extend(r.hits);
        }
    }
    matches
}

/// Checks the size of a message before analysis.
pub(crate) fn check_size(raw: &[u8]) -> Result<(), ApiError> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::TooLarge);
    }
    if raw.is_empty() {
        return Err(ApiError::Invalid("the message is empty".into()));
    }
    Ok(())
}
