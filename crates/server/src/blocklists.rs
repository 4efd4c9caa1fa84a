//! Block lists for devices: the indicators a caller may see, scored, filtered by a profile and
//! the warning lists, rendered by `mamori_notify::blocklist` and served with an ETag so that
//! thousands of devices can poll cheaply (`If-None-Match` answers 304).

use mamori_model::{Tlp, ValueKind};
use mamori_notify::blocklist::{self, Entry, Format, Profile};
use mamori_share::decay::{self, DecayInput};
use mamori_store::PageRequest;
use sha2::{Digest, Sha256};

use crate::ApiError;
use crate::ops::{Actor, audit};
use crate::sharing::ShareCtx;

const BLOCKABLE: &[ValueKind] = &[
    ValueKind::Domain,
    ValueKind::Url,
    ValueKind::Ipv4,
    ValueKind::Ipv6,
    ValueKind::Cidr,
];

/// The rendered list and its ETag.
pub struct Rendered {
    pub body: String,
    pub etag: String,
    pub entries: usize,
}

pub async fn render(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    format: Format,
    mut profile: Profile,
) -> Result<Rendered, ApiError> {
    // Block lists leave the hub for devices: never AMBER+STRICT or RED.
    profile.max_tlp = profile.max_tlp.min(Tlp::Amber);
    let filter = actor
        .principal
        .as_ref()
        .map(mamori_access::VisibilityFilter::for_principal)
        .ok_or(ApiError::Unauthenticated)?;
    let now = mamori_store::now_millis();
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = cx
            .store
            .list_indicators(
                &filter,
                &PageRequest::from_cursor(cursor.as_deref(), Some(500))?,
            )
            .await?;
        let done = page.next_cursor.is_none() || page.items.is_empty();
        for (i, report_conf, tlp) in page.items {
            let (Some(kind), Some(value)) = (i.kind, i.value.clone()) else {
                continue;
            };
            if !BLOCKABLE.contains(&kind) || !cx.warninglists.check(kind, &value).is_empty() {
                continue;
            }
            let stats = cx.store.sighting_stats(kind, &value).await?;
            let score = decay::score(
                &DecayInput {
                    kind: Some(kind),
                    base_confidence: i.confidence.or(report_conf),
                    valid_from: i.valid_from,
                    valid_until: i.valid_until,
                    last_sighting: stats.last_seen,
                    false_positives: u32::try_from(stats.false_positives).unwrap_or(u32::MAX),
                },
                now,
            );
            entries.push(Entry {
                kind,
                value,
                score,
                tlp,
            });
        }
        if done {
            break;
        }
        cursor = page.next_cursor;
    }
    let selected = blocklist::select(&profile, entries);
    let serial = u32::try_from(now / 1000).unwrap_or(u32::MAX);
    let body = blocklist::render(format, &selected, serial);
    // The RPZ serial changes each second; the ETag covers the entries, not the serial.
    let etag = format!(
        "\"{}\"",
        hex_digest(&blocklist::render(Format::Csv, &selected, 0))
    );
    if profile.max_tlp >= Tlp::Amber {
        audit(
            cx.store,
            actor,
            "blocklist.read",
            "blocklist",
            &format!("{format:?}"),
            Some(profile.max_tlp),
            serde_json::json!({"entries": selected.len()}),
        )
        .await?;
    }
    Ok(Rendered {
        body,
        etag,
        entries: selected.len(),
    })
}

fn hex_digest(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
