//! Mail analysis in the hub: a message is analysed by `mamori-mail` (off the async runtime)
//! with the hub's enabled YARA rule sets scanning every part, and its URLs, sender domain and
//! attachment hashes are looked up in the shared indicators the caller may see. [`analyze`]
//! stores nothing but an audit record (case intake uses it); messages dropped into the API or
//! the console are stored by [`crate::mail_store::submit`].

use mamori_mail::Analysis;
use mamori_model::ValueKind;
use mamori_store::mail_analyses::MailAnalysisSummary;
use mamori_store::reports::ValueHit;
use serde::Serialize;

use crate::ops::{Actor, audit};
use crate::sharing::{self, ShareCtx};
use crate::yara_rules::HubYara;
use crate::{ApiError, AppState};

/// What mail analysis needs: the sharing context (for indicator matches), the YARA rules and
/// the data directory (for the sample store).
pub struct MailCtx<'a> {
    pub share: ShareCtx<'a>,
    pub yara: &'a HubYara,
    pub data_dir: &'a std::path::Path,
    /// `[mail]` in the configuration: the archive budgets of each analysis.
    pub limits: mamori_config::MailConfig,
}

impl AppState {
    /// The mail context of the running hub.
    pub fn mail(&self) -> MailCtx<'_> {
        MailCtx {
            share: self.share(),
            yara: &self.yara,
            data_dir: &self.config.data_dir,
            limits: self.config.mail,
        }
    }
}

/// Analysis options with the hub's enabled YARA rules, and why the rules are unavailable when
/// they are (the analysis goes on without them and records that as a finding).
pub(crate) async fn options(mcx: &MailCtx<'_>) -> (mamori_mail::Options, Option<String>) {
    let (scanner, unavailable) = match mcx.yara.scanner(mcx.share.store).await {
        Ok(s) => (s, None),
        Err(e) => {
            tracing::error!(error = %e, "YARA rules unavailable for mail analysis");
            (None, Some(e.to_string()))
        }
    };
    let opts = mamori_mail::Options {
        scanner: scanner.map(mamori_mail::SharedScanner::from),
        limits: limits(&mcx.limits),
        ..mamori_mail::Options::default()
    };
    (opts, unavailable)
}

/// The analysis limits with the configured archive budgets.
pub(crate) fn limits(c: &mamori_config::MailConfig) -> mamori_mail::Limits {
    mamori_mail::Limits {
        max_decompressed_total: c.max_decompressed_bytes,
        max_entry_bytes: c.max_archive_member_bytes,
        max_passwords: usize::try_from(c.max_passwords).unwrap_or(usize::MAX),
        max_decoder_memory: c.max_decoder_memory_bytes,
        ..mamori_mail::Limits::default()
    }
}

/// The YARA rules (`namespace:rule`) an analysis matched, for its audit record.
pub(crate) fn matched_rules(a: &Analysis) -> std::collections::BTreeSet<String> {
    a.scan_matches.iter().map(|m| m.qualified_rule()).collect()
}

/// Records that the YARA rules could not be used for this analysis.
pub(crate) fn note_unavailable(analysis: &mut Analysis, unavailable: Option<String>) {
    if let Some(why) = unavailable {
        analysis.findings.push(mamori_mail::Finding::new(
            "scan.error",
            format!("YARA rules unavailable: {why}"),
        ));
    }
}

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
    for f in a.files() {
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
    check_size(mcx, &raw)?;
    let (opts, unavailable) = options(mcx).await;
    let mut analysis = tokio::task::spawn_blocking(move || mamori_mail::analyze_with(&raw, &opts))
        .await
        .map_err(|e| ApiError::Internal(format!("mail analysis task: {e}")))?;
    note_unavailable(&mut analysis, unavailable);
    let matches = matches(cx, actor, &analysis).await;
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
            "yara": matched_rules(&analysis),
        }),
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

/// Checks the size of a message before analysis (`[mail] max_message_bytes`).
pub(crate) fn check_size(mcx: &MailCtx<'_>, raw: &[u8]) -> Result<(), ApiError> {
    if u64::try_from(raw.len()).unwrap_or(u64::MAX) > mcx.limits.max_message_bytes {
        return Err(ApiError::TooLarge);
    }
    if raw.is_empty() {
        return Err(ApiError::Invalid("the message is empty".into()));
    }
    Ok(())
}
