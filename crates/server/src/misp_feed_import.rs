//! Importing a MISP feed (`manifest.json` beside one `<uuid>.json` per event, as MISP
//! publishes feeds): every event the manifest lists is imported as [`import_misp_event`] does,
//! unless the same event uuid at the same timestamp was imported before, so running the import
//! again imports nothing twice and an edited event (MISP bumps its timestamp) comes in again.
//! Reading the files is the caller's job ([`FeedSource`]: a directory, an HTTP server), within
//! the size limits given here.

use std::future::Future;

use mamori_misp::feed::parse_manifest;
use mamori_model::{GroupId, ReportId, Tlp};
use serde::Serialize;

use crate::ApiError;
use crate::interchange::import_misp_event;
use crate::ops::{self, Actor};
use crate::sharing::ShareCtx;

/// The largest manifest read.
pub const MAX_MANIFEST_BYTES: usize = 32 * 1024 * 1024;
/// The largest event file read.
pub const MAX_EVENT_BYTES: usize = 64 * 1024 * 1024;

/// Reads one file of a feed (`manifest.json` or `<uuid>.json`), refusing more than `max` bytes.
/// The names come from a validated manifest: hex digits and hyphens, then `.json`.
pub trait FeedSource {
    fn read(&self, name: &str, max: usize) -> impl Future<Output = Result<Vec<u8>, String>> + Send;
}

/// What one feed import did.
#[derive(Debug, Default, Serialize)]
pub struct FeedImport {
    /// Events imported now, with the report each became.
    pub imported: Vec<(String, ReportId)>,
    /// Events imported by an earlier run at the same timestamp.
    pub unchanged: usize,
    /// Events that could not be read or imported, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Imports the feed `source` (named `source_name` in the record and the audit log).
pub async fn import_feed<S: FeedSource + Sync>(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    source: &S,
    source_name: &str,
    tlp: Option<Tlp>,
    group: Option<GroupId>,
) -> Result<FeedImport, ApiError> {
    let manifest = source
        .read("manifest.json", MAX_MANIFEST_BYTES)
        .await
        .map_err(|e| ApiError::Invalid(format!("manifest.json: {e}")))?;
    let entries = parse_manifest(&manifest, MAX_MANIFEST_BYTES)
        .map_err(|e| ApiError::Invalid(format!("manifest.json: {e}")))?;
    let mut out = FeedImport::default();
    for e in &entries {
        if cx.store.misp_feed_event_seen(&e.uuid, e.timestamp).await? {
            out.unchanged += 1;
            continue;
        }
        let name = format!("{}.json", e.uuid);
        let bytes = match source.read(&name, MAX_EVENT_BYTES).await {
            Ok(b) => b,
            Err(why) => {
                out.failed.push((name, why));
                continue;
            }
        };
        match import_misp_event(cx, actor, &bytes, tlp, group).await {
            Ok(r) => {
                let id = r.report.report.id;
                cx.store
                    .record_misp_feed_event(&e.uuid, e.timestamp, source_name, Some(id))
                    .await?;
                out.imported.push((e.uuid.clone(), id));
            }
            Err(ApiError::Internal(m)) => return Err(ApiError::Internal(m)),
            Err(err) => out.failed.push((name, err.to_string())),
        }
    }
    ops::audit(
        cx.store,
        actor,
        "misp.feed.import",
        "misp-feed",
        &source_name.chars().take(500).collect::<String>(),
        None,
        serde_json::json!({
            "events": entries.len(),
            "imported": out.imported.len(),
            "unchanged": out.unchanged,
            "failed": out.failed.len(),
        }),
    )
    .await?;
    Ok(out)
}
