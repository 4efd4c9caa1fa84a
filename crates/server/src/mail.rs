//! Mail analysis in the hub: a message dropped into the API or the console is analysed by
//! `mamori-mail` (off the async runtime) with the hub's enabled YARA rule sets scanning every
//! part, and its URLs, sender domain and attachment hashes are looked up in the shared
//! indicators the caller may see.

use mamori_mail::Analysis;
use mamori_model::ValueKind;
use mamori_store::reports::ValueHit;
use serde::Serialize;

use crate::ops::{Actor, audit};
use crate::sharing::{self, ShareCtx};
use crate::yara_rules::HubYara;
use crate::{ApiError, AppState};

/// What mail analysis needs: the sharing context (for indicator matches) and the YARA rules.
pub struct MailCtx<'a> {
    pub share: ShareCtx<'a>,
    pub yara: &'a HubYara,
}

impl AppState {
    pub fn mail(&self) -> MailCtx<'_> {
        MailCtx {
            share: self.share(),
            yara: &self.yara,
        }
    }
}

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
    mcx: &MailCtx<'_>,
    actor: &Actor,
    raw: Vec<u8>,
) -> Result<MailResult, ApiError> {
    let cx = &mcx.share;
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::TooLarge);
    }
    if raw.is_empty() {
        return Err(ApiError::Invalid("the message is empty".into()));
    }
    let (scanner, unavailable) = match mcx.yara.scanner(cx.store).await {
        Ok(s) => (s, None),
        Err(e) => {
            tracing::error!(error = %e, "YARA rules unavailable for mail analysis");
            (None, Some(e.to_string()))
        }
    };
    let opts = mamori_mail::Options {
        scanner: scanner.map(mamori_mail::SharedScanner::from),
        ..mamori_mail::Options::default()
    };
    let mut analysis = tokio::task::spawn_blocking(move || mamori_mail::analyze_with(&raw, &opts))
        .await
        .map_err(|e| ApiError::Internal(format!("mail analysis task: {e}")))?;
    if let Some(why) = unavailable {
        analysis.findings.push(mamori_mail::Finding::new(
            "scan.error",
            format!("YARA rules unavailable: {why}"),
        ));
    }
    let mut matches = Vec::new();
    for (kind, value) in lookups(&analysis) {
        if let Ok(r) = sharing::search_value(cx, actor, &value, Some(kind)).await {
            matches.extend(r.hits);
        }
    }
    audit(
        cx.store,
        actor,
        "mail.analyze",
        "mail",
        &analysis.sha256,
        None,
        serde_json::json!({
            "score": analysis.verdict.score,
            "size": analysis.size,
            "yara": analysis.scan_matches.iter().map(|m| m.qualified_rule()).collect::<std::collections::BTreeSet<_>>(),
        }),
    )
    .await?;
    Ok(MailResult { analysis, matches })
}
