//! Normalisation: any parsed event (flat ECS keys from `mamori-parse`, nested JSON such as
//! winlogbeat or ECS exports, EVTX-shaped `Event.System` records) becomes one flat document
//! with dotted keys, the columns the store indexes, the text it searches, and the
//! [`EventView`] the detection engine scans.

use mamori_detect::EventView;
use mamori_detect::input::json::event_from_value;
use mamori_store::ingest::NewEvent;
use serde_json::{Map, Value};

/// Deepest nesting flattened; anything deeper is kept as JSON text.
const MAX_DEPTH: usize = 16;
/// Longest search text kept per event.
const MAX_TEXT: usize = 4096;

// Where the indexed columns come from: ECS names, EVTX records as JSON (`Event.*`), winlogbeat,
// and the flat Windows names the sensor sends (`Channel`, `Computer`, ...).
const DATASET: &[&str] = &[
    "event.dataset",
    "Event.System.Channel",
    "winlog.channel",
    "Channel",
    "event.module",
];
const HOST: &[&str] = &[
    "host.name",
    "Event.System.Computer",
    "winlog.computer_name",
    "Computer",
    "host.hostname",
    "observer.hostname",
];
const SOURCE_IP: &[&str] = &[
    "source.ip",
    "Event.EventData.IpAddress",
    "Event.EventData.SourceIp",
    "IpAddress",
    "SourceIp",
    "client.ip",
];
const DESTINATION_IP: &[&str] = &[
    "destination.ip",
    "Event.EventData.DestinationIp",
    "DestinationIp",
    "server.ip",
];
const USER: &[&str] = &[
    "user.name",
    "Event.EventData.TargetUserName",
    "Event.EventData.SubjectUserName",
    "Event.EventData.User",
    "TargetUserName",
    "SubjectUserName",
    "User",
];

/// One event, normalised.
#[derive(Debug)]
pub struct Normalised {
    pub view: EventView,
    pub stored: NewEvent,
}

fn flatten(prefix: &str, v: Value, out: &mut Map<String, Value>, depth: usize) {
    match v {
        Value::Object(m) if depth < MAX_DEPTH => {
            for (k, v) in m {
                let name = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&name, v, out, depth + 1);
            }
        }
        Value::Object(m) => {
            out.insert(
                prefix.to_owned(),
                Value::String(Value::Object(m).to_string()),
            );
        }
        other => {
            out.insert(prefix.to_owned(), other);
        }
    }
}

/// The first present string (or number) among `fields`.
fn first(doc: &Map<String, Value>, fields: &[&str]) -> Option<String> {
    fields.iter().find_map(|f| match doc.get(*f) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Array(a)) => a.first().and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    })
}

fn timestamp(doc: &Map<String, Value>) -> Option<i64> {
    for f in [
        "@timestamp",
        "Event.System.TimeCreated_attributes.SystemTime",
        "Event.System.TimeCreated.#attributes.SystemTime",
        "TimeCreated",
        "timestamp",
        "event.created",
    ] {
        match doc.get(f) {
            Some(Value::String(s)) => {
                if let Some(t) = mamori_detect::time::parse_timestamp_ms(s) {
                    return Some(t);
                }
            }
            Some(Value::Number(n)) => {
                if let Some(t) = n.as_i64() {
                    // Seconds or milliseconds since the epoch.
                    return Some(if t < 100_000_000_000 { t * 1000 } else { t });
                }
                if let Some(f) = n.as_f64() {
                    return Some((f * 1000.0) as i64);
                }
            }
            _ => {}
        }
    }
    None
}

fn push_text(text: &mut String, v: &Value) {
    if text.len() >= MAX_TEXT {
        return;
    }
    match v {
        Value::String(s) => {
            text.push_str(s);
            text.push(' ');
        }
        Value::Number(n) => {
            text.push_str(&n.to_string());
            text.push(' ');
        }
        Value::Array(a) => a.iter().for_each(|v| push_text(text, v)),
        _ => {}
    }
}

/// Normalises one event object. `received` is used when the event has no time of its own.
pub fn normalise(event: Map<String, Value>, received: i64) -> Normalised {
    normalise_line(event, None, received)
}

/// Whether an object is already flat (no nested objects), so its JSON text can be stored as
/// it came.
fn is_flat(m: &Map<String, Value>) -> bool {
    m.values().all(|v| match v {
        Value::Object(_) => false,
        Value::Array(items) => items.iter().all(|i| !i.is_object() && !i.is_array()),
        _ => true,
    })
}

/// [`normalise`] for an event parsed from `line` (a JSON object): when the event is already
/// flat — as sensors send it — the line is stored as it is instead of being flattened and
/// written again.
pub fn normalise_line(event: Map<String, Value>, line: Option<&str>, received: i64) -> Normalised {
    let line = line
        .map(str::trim)
        .filter(|l| l.starts_with('{') && is_flat(&event));
    let value = Value::Object(event);
    let view = event_from_value(&value);
    let event = match value {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let doc = if line.is_some() {
        event
    } else {
        let mut doc = Map::new();
        for (k, v) in event {
            flatten(&k, v, &mut doc, 0);
        }
        doc
    };
    let ts = timestamp(&doc).unwrap_or(received);
    let mut text = String::new();
    for v in doc.values() {
        push_text(&mut text, v);
    }
    if text.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    let stored = NewEvent {
        ts,
        dataset: first(&doc, DATASET),
        host: first(&doc, HOST),
        source_ip: first(&doc, SOURCE_IP),
        destination_ip: first(&doc, DESTINATION_IP),
        user_name: first(&doc, USER),
        field_hashes: Some(mamori_store::blocks::doc_field_hashes(&doc)),
        doc: match line {
            Some(l) => l.to_owned(),
            None => Value::Object(doc).to_string(),
        },
        text,
    };
    Normalised { view, stored }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_evtx_shapes_flatten() {
        let ev = serde_json::json!({
            "Event": {"System": {"Channel": "Security", "EventID": 4625, "Computer": "dc01.example.go.jp",
                      "TimeCreated_attributes": {"SystemTime": "2026-11-25T01:02:03.000Z"}},
                      "EventData": {"TargetUserName": "taro", "IpAddress": "198.51.100.9"}}
        });
        let Value::Object(m) = ev else { panic!() };
        let n = normalise(m, 7);
        assert_eq!(n.stored.host.as_deref(), Some("dc01.example.go.jp"));
        assert_eq!(n.stored.user_name.as_deref(), Some("taro"));
        assert_eq!(n.stored.source_ip.as_deref(), Some("198.51.100.9"));
        assert_eq!(n.stored.dataset.as_deref(), Some("Security"));
        assert_eq!(n.stored.ts, 1_795_568_523_000);
        assert_eq!(n.view.first("EventID"), Some("4625"));
        let doc: Value = serde_json::from_str(&n.stored.doc).unwrap();
        assert_eq!(doc["Event.EventData.TargetUserName"], "taro");
    }

    #[test]
    fn flat_lines_are_stored_as_they_came() {
        let line =
            r#"{"Channel":"Security","EventID":4625,"Computer":"dc1","TargetUserName":["a","b"]}"#;
        let Value::Object(m) = serde_json::from_str(line).unwrap() else {
            panic!()
        };
        let n = normalise_line(m, Some(line), 1);
        assert_eq!(n.stored.doc, line);
        assert_eq!(n.stored.host.as_deref(), Some("dc1"));
        let nested = r#"{"a":{"b":1}}"#;
        let Value::Object(m) = serde_json::from_str(nested).unwrap() else {
            panic!()
        };
        assert_eq!(
            normalise_line(m, Some(nested), 1).stored.doc,
            r#"{"a.b":1}"#
        );
    }

    #[test]
    fn flat_ecs_keeps_keys_and_falls_back_to_receive_time() {
        let ev = serde_json::json!({"host.name": "ws1", "message": "ログオン失敗", "source.ip": "192.0.2.1"});
        let Value::Object(m) = ev else { panic!() };
        let n = normalise(m, 42);
        assert_eq!(n.stored.ts, 42);
        assert!(n.stored.text.contains("ログオン失敗"));
        assert_eq!(n.view.first("host.name"), Some("ws1"));
    }
}
