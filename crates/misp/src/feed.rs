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
