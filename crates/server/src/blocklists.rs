//! Block lists for devices: the indicators a caller may see, scored, filtered by a profile and
//! the warning lists, rendered by `mamori_notify::blocklist` and served with an ETag so that
//! thousands of devices can poll cheaply (`If-None-Match` answers 304), and as incremental
//! diffs against a version the same caller fetched before ([`History`]).

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
    /// The listed values, sorted (what diffs are made of).
    pub values: Vec<String>,
}

/// Versions of block lists recently served, so that a device can ask for what changed since
/// the version it holds. A version is only ever compared with versions served to the same
/// caller for the same profile and format (`key`), so a diff never shows another caller's
/// entries. Bounded: the oldest versions are forgotten, and a device asking about one of them
/// gets the full list.
pub struct History {
    versions: std::sync::Mutex<std::collections::VecDeque<Version>>,
}

/// (caller and profile key, ETag, sorted values)
type Version = (String, String, std::sync::Arc<Vec<String>>);

/// Versions kept across all callers.
const HISTORY_VERSIONS: usize = 512;

impl Default for History {
    fn default() -> Self {
        History {
            versions: std::sync::Mutex::new(std::collections::VecDeque::new()),
        }
    }
}

/// What changed between two versions: values added and removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl History {
    /// Remembers a served version.
    pub fn remember(&self, key: &str, etag: &str, values: &[String]) {
        let Ok(mut v) = self.versions.lock() else {
            return;
        };
        if v.iter().any(|(k, e, _)| k == key && e == etag) {
            return;
        }
        if v.len() >= HISTORY_VERSIONS {
            v.pop_front();
        }
        v.push_back((
            key.to_owned(),
            etag.to_owned(),
            std::sync::Arc::new(values.to_vec()),
        ));
    }

    /// The diff from the version `since` (served to `key`) to `values`, if that version is known.
    pub fn diff(&self, key: &str, since: &str, values: &[String]) -> Option<Diff> {
        let old = {
            let v = self.versions.lock().ok()?;
            v.iter()
                .find(|(k, e, _)| k == key && e == since)
                .map(|(_, _, vals)| std::sync::Arc::clone(vals))?
        };
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < values.len() {
            match (old.get(i), values.get(j)) {
                (Some(a), Some(b)) if a == b => {
                    i += 1;
                    j += 1;
                }
                (Some(a), Some(b)) if a < b => {
                    removed.push(a.clone());
                    i += 1;
                }
                (Some(_), Some(b)) | (None, Some(b)) => {
                    added.push(b.clone());
                    j += 1;
                }
                (Some(a), None) => {
                    removed.push(a.clone());
                    i += 1;
                }
                (None, None) => break,
            }
        }
        Some(Diff { added, removed })
    }
}

/// The entries a profile selects from the indicators the caller may see (the policy's SQL
/// filter), scored, minus warning-list values; sorted. Reading AMBER is audited.
pub async fn select(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    profile: &mut Profile,
    what: &str,
) -> Result<Vec<Entry>, ApiError> {
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
    let selected = blocklist::select(profile, entries);
    if profile.max_tlp >= Tlp::Amber {
        audit(
            cx.store,
            actor,
            "blocklist.read",
            "blocklist",
            what,
            Some(profile.max_tlp),
            serde_json::json!({"entries": selected.len()}),
        )
        .await?;
    }
    Ok(selected)
}

/// The ETag of a selection: it covers the entries, not the RPZ serial (which changes each
/// second), so it is the same for every format.
pub fn etag(selected: &[Entry]) -> String {
    format!(
        "\"{}\"",
        hex_digest(&blocklist::render(Format::Csv, selected, 0))
    )
}

pub async fn render(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    format: Format,
    mut profile: Profile,
) -> Result<Rendered, ApiError> {
    let selected = select(cx, actor, &mut profile, &format!("{format:?}")).await?;
    let now = mamori_store::now_millis();
    let serial = u32::try_from(now / 1000).unwrap_or(u32::MAX);
    let body = blocklist::render(format, &selected, serial);
    let mut values: Vec<String> = selected.iter().map(|e| e.value.clone()).collect();
    values.sort_unstable();
    values.dedup();
    Ok(Rendered {
        body,
        etag: etag(&selected),
        entries: selected.len(),
        values,
    })
}

fn hex_digest(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_are_per_caller_and_bounded() {
        let h = History::default();
        let v1: Vec<String> = ["a.example", "b.example", "c.example"]
            .map(String::from)
            .to_vec();
        let v2: Vec<String> = ["b.example", "c.example", "d.example"]
            .map(String::from)
            .to_vec();
        h.remember("user1|txt", "\"e1\"", &v1);
        let d = h.diff("user1|txt", "\"e1\"", &v2).unwrap();
        assert_eq!(d.added, vec!["d.example"]);
        assert_eq!(d.removed, vec!["a.example"]);
        assert!(
            h.diff("user2|txt", "\"e1\"", &v2).is_none(),
            "another caller's version"
        );
        assert!(h.diff("user1|txt", "\"zz\"", &v2).is_none());
        for i in 0..HISTORY_VERSIONS {
            h.remember("other", &format!("{i}"), &v2);
        }
        assert!(h.diff("user1|txt", "\"e1\"", &v2).is_none(), "forgotten");
    }
}
