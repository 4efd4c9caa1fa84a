//! MISP feed layout: `manifest.json` (event uuid → summary) beside one `<uuid>.json` per event,
//! as MISP instances expect when they subscribe to a feed.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::event::EventDocument;

/// The manifest entry MISP reads for one event.
pub fn manifest_entry(doc: &EventDocument) -> Value {
    let e = &doc.event;
    json!({
        "info": e.info,
        "date": e.date,
        "timestamp": e.timestamp,
        "threat_level_id": e.threat_level_id,
        "analysis": e.analysis,
        "published": e.published,
        "Orgc": e.orgc,
        "Tag": e.tags,
    })
}

/// The whole manifest for a set of events.
pub fn manifest<'a>(docs: impl IntoIterator<Item = &'a EventDocument>) -> Value {
    let mut m = Map::new();
    for d in docs {
        m.insert(d.event.uuid.clone(), manifest_entry(d));
    }
    Value::Object(m)
}

/// Serialises any feed document.
pub fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

/// One event a feed's `manifest.json` lists: its uuid and MISP timestamp (seconds since the
/// epoch; 0 when the manifest gives none). A changed event gets a new timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    pub uuid: String,
    pub timestamp: i64,
}

/// Reads a feed manifest from untrusted bytes: at most `max_bytes`, an object whose keys are
/// event uuids (hex digits and hyphens, at most 64 characters). Entries come sorted by uuid.
pub fn parse_manifest(
    bytes: &[u8],
    max_bytes: usize,
) -> Result<Vec<ManifestEntry>, crate::MispError> {
    if bytes.len() > max_bytes {
        return Err(crate::MispError::TooLarge { limit: max_bytes });
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| crate::MispError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let Value::Object(events) = v else {
        return Err(crate::MispError::NotManifest);
    };
    events
        .into_iter()
        .map(|(uuid, entry)| {
            if uuid.is_empty()
                || uuid.len() > 64
                || !uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            {
                return Err(crate::MispError::BadUuid(uuid.chars().take(80).collect()));
            }
            let timestamp = match entry.get("timestamp") {
                Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
                Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
                _ => 0,
            };
            Ok(ManifestEntry { uuid, timestamp })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn manifest_entries_and_bad_input() {
        let m =
            br#"{"11111111-1111-4111-8111-111111111111": {"timestamp": "1700000000", "info": "x"},
                    "22222222-2222-4222-8222-222222222222": {"timestamp": 5}}"#;
        let e = parse_manifest(m, 1 << 20).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].timestamp, 1_700_000_000);
        assert_eq!(e[1].timestamp, 5);
        assert!(matches!(
            parse_manifest(b"[]", 100),
            Err(crate::MispError::NotManifest)
        ));
        assert!(matches!(
            parse_manifest(br#"{"../etc/passwd": {}}"#, 100),
            Err(crate::MispError::BadUuid(_))
        ));
        assert!(matches!(
            parse_manifest(b"{", 100),
            Err(crate::MispError::Json { .. })
        ));
        assert!(matches!(
            parse_manifest(b"{}", 1),
            Err(crate::MispError::TooLarge { .. })
        ));
    }
}
