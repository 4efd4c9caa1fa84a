//! Normalisation: any parsed event (flat ECS keys from `mamori-parse`, nested JSON such as
//! winlogbeat or ECS exports, EVTX-shaped `Event.System` records) becomes one flat document
//! with dotted keys, the columns the store indexes, the text it searches, and the
//! [`EventView`] the detection engine scans.

use std::sync::LazyLock;

use mamori_detect::EventView;
use mamori_detect::event::FxMap;
use mamori_detect::event::{FieldValue, ValueKind};
use mamori_detect::input::json::{event_from_value, finish_json_event};
use mamori_store::blocks::TEXT_SEP;
use mamori_store::ingest::NewEvent;
use serde_json::{Map, Value};

use crate::flat::{FlatLine, FlatValue, Scalar};

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

/// Where an event's own time comes from, first found wins.
const TIMESTAMP: &[&str] = &[
    "@timestamp",
    "Event.System.TimeCreated_attributes.SystemTime",
    "Event.System.TimeCreated.#attributes.SystemTime",
    "TimeCreated",
    "timestamp",
    "event.created",
];

fn timestamp(doc: &Map<String, Value>) -> Option<i64> {
    for f in TIMESTAMP {
        match doc.get(*f) {
            Some(Value::String(s)) => {
                if let Some(t) = mamori_detect::time::parse_timestamp_ms(s) {
                    return Some(t);
                }
            }
            Some(Value::Number(n)) => {
                if let Some(t) = n.as_i64() {
                    // Seconds or milliseconds since the epoch.
                    return Some(if t < 100_000_000_000 {
                        t.saturating_mul(1000)
                    } else {
                        t
                    });
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
            text.push(TEXT_SEP);
        }
        Value::Number(n) => {
            text.push_str(&n.to_string());
            text.push(TEXT_SEP);
        }
        Value::Array(a) => a.iter().for_each(|v| push_text(text, v)),
        _ => {}
    }
}

fn truncate_text(text: &mut String) {
    if text.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
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
    truncate_text(&mut text);
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

/// [`normalise_line`] for a line that [`crate::flat::parse`] read: the same result, built from
/// the borrowed members without a `serde_json::Value` map. `line` is stored as the document.
pub fn normalise_flat(flat: &FlatLine<'_>, line: &str, received: i64) -> Normalised {
    // Room for the aliases `finish_json_event` adds as well.
    let mut view = EventView::with_capacity(flat.members.len() + 8);
    let mut text = String::with_capacity(line.len().min(MAX_TEXT + 64));
    let mut field_hashes = Vec::with_capacity(flat.members.len());
    let mut columns = Columns::default();
    for (k, v) in &flat.members {
        columns.offer(k, v);
        match v {
            FlatValue::One(s) => {
                view.push(k, FieldValue::new(s.text.as_ref(), s.kind));
                let indexed = push_scalar_text(&mut text, s);
                // A single word that the search text holds whole needs no hashed term: an
                // exact filter on it narrows the blocks by the word
                // (`EventFilter::block_term_groups`). About half of a block's distinct
                // field values are such words (numbers, names, codes).
                if s.kind != ValueKind::Null
                    && mamori_store::blocks::hashed_field(k)
                    && !(indexed && mamori_store::blocks::is_single_word(&s.text))
                {
                    field_hashes.push(mamori_store::blocks::field_hash(k, &s.text));
                }
            }
            FlatValue::Many(items) => {
                for s in items {
                    view.push(k, FieldValue::new(s.text.as_ref(), s.kind));
                    let _ = push_scalar_text(&mut text, s);
                }
            }
        }
    }
    finish_json_event(&mut view);
    truncate_text(&mut text);
    let owned = |c: Option<&str>| c.map(str::to_owned);
    let stored = NewEvent {
        ts: columns.ts.unwrap_or(received),
        dataset: owned(columns.text[0]),
        host: owned(columns.text[1]),
        source_ip: owned(columns.text[2]),
        destination_ip: owned(columns.text[3]),
        user_name: owned(columns.text[4]),
        field_hashes: Some(field_hashes),
        doc: line.trim().to_owned(),
        text,
    };
    Normalised { view, stored }
}

/// The sources of the stored columns (`dataset`, `host`, `source.ip`, `destination.ip`,
/// `user.name`), then of the event time, each in order of preference.
const COLUMN_SOURCES: [&[&str]; 6] = [DATASET, HOST, SOURCE_IP, DESTINATION_IP, USER, TIMESTAMP];
const TIME_COLUMN: usize = 5;

/// Field name -> every (column, preference) it is a source of.
static SOURCE_INDEX: LazyLock<FxMap<&'static str, Vec<(usize, u32)>>> = LazyLock::new(|| {
    let mut m: FxMap<&'static str, Vec<(usize, u32)>> = FxMap::default();
    for (col, names) in COLUMN_SOURCES.iter().enumerate() {
        for (rank, name) in names.iter().enumerate() {
            m.entry(*name).or_default().push((col, rank as u32));
        }
    }
    m
});

/// The stored columns of a flat event, picked in one pass over its members: for each column
/// the most preferred source name whose first member has a usable value (what looking the
/// names up one after another gives, without a scan of the members per name).
struct Columns<'m> {
    text: [Option<&'m str>; 5],
    ts: Option<i64>,
    /// Per column: the preference of the value picked (`u32::MAX`: none yet).
    rank: [u32; 6],
    /// Per column: the source names already met (only a name's first member counts).
    seen: [u32; 6],
}

impl<'m> Columns<'m> {
    fn offer(&mut self, name: &str, v: &'m FlatValue<'_>) {
        if self.rank == [0; 6] {
            return;
        }
        let Some(sources) = SOURCE_INDEX.get(name) else {
            return;
        };
        for &(col, rank) in sources {
            let (Some(seen), Some(best)) = (self.seen.get_mut(col), self.rank.get_mut(col)) else {
                continue;
            };
            if *seen & (1 << rank) != 0 {
                continue;
            }
            *seen |= 1 << rank;
            if *best == u32::MAX || rank < *best {
                if col == TIME_COLUMN {
                    if let Some(ts) = time_of(v) {
                        self.ts = Some(ts);
                        *best = rank;
                    }
                } else if let Some(t) = column_text(v) {
                    if let Some(slot) = self.text.get_mut(col) {
                        *slot = Some(t);
                    }
                    *best = rank;
                }
            }
        }
    }
}

impl Default for Columns<'_> {
    fn default() -> Self {
        Columns {
            text: [None; 5],
            ts: None,
            rank: [u32::MAX; 6],
            seen: [0; 6],
        }
    }
}

/// A column's text from a member: a non-empty string or a number, or an array's first item
/// when it is a string.
fn column_text<'m>(v: &'m FlatValue<'_>) -> Option<&'m str> {
    match v {
        FlatValue::One(s) => match s.kind {
            ValueKind::Str if !s.text.is_empty() => Some(&s.text),
            ValueKind::Num => Some(&s.text),
            _ => None,
        },
        FlatValue::Many(items) => items
            .first()
            .filter(|s| s.kind == ValueKind::Str)
            .map(|s| s.text.as_ref()),
    }
}

/// The event time a member gives: a timestamp string, or seconds or milliseconds.
fn time_of(v: &FlatValue<'_>) -> Option<i64> {
    match v {
        FlatValue::One(s) if s.kind == ValueKind::Str => {
            mamori_detect::time::parse_timestamp_ms(&s.text)
        }
        FlatValue::One(s) if s.kind == ValueKind::Num => number_ms(&s.text),
        _ => None,
    }
}

/// Appends a string or number to the search text while it is shorter than [`MAX_TEXT`];
/// returns whether the whole value is in the part that is kept.
fn push_scalar_text(text: &mut String, s: &Scalar<'_>) -> bool {
    if text.len() < MAX_TEXT && matches!(s.kind, ValueKind::Str | ValueKind::Num) {
        text.push_str(&s.text);
        let whole = text.len() <= MAX_TEXT;
        text.push(TEXT_SEP);
        return whole;
    }
    false
}

/// A numeric timestamp: seconds or milliseconds since the epoch.
fn number_ms(n: &str) -> Option<i64> {
    if let Ok(t) = n.parse::<i64>() {
        return Some(if t < 100_000_000_000 {
            t.saturating_mul(1000)
        } else {
            t
        });
    }
    n.parse::<f64>().ok().map(|f| (f * 1000.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns as first written: each source name looked up in order of preference.
    fn reference_columns(flat: &FlatLine<'_>, received: i64) -> (Vec<Option<String>>, i64) {
        let first = |fields: &[&str]| {
            fields.iter().find_map(|f| match flat.get(f)? {
                FlatValue::One(s) => match s.kind {
                    ValueKind::Str if !s.text.is_empty() => Some(s.text.to_string()),
                    ValueKind::Num => Some(s.text.to_string()),
                    _ => None,
                },
                FlatValue::Many(items) => items
                    .first()
                    .filter(|s| s.kind == ValueKind::Str)
                    .map(|s| s.text.to_string()),
            })
        };
        let ts = TIMESTAMP
            .iter()
            .find_map(|f| time_of(flat.get(f)?))
            .unwrap_or(received);
        let cols = [DATASET, HOST, SOURCE_IP, DESTINATION_IP, USER]
            .iter()
            .map(|l| first(l))
            .collect();
        (cols, ts)
    }

    proptest::proptest! {
        /// The one-pass column picker agrees with looking each source name up in order,
        /// with duplicate names, empty strings, nulls, numbers, arrays and bad times.
        #[test]
        fn columns_are_picked_as_by_lookup(
            members in proptest::collection::vec((0usize..40, 0usize..7), 0..24)
        ) {
            let names: Vec<&str> = COLUMN_SOURCES.iter().flat_map(|l| l.iter().copied())
                .chain(["message", "other.field"]).collect();
            let scalar = |kind: ValueKind, text: &'static str| Scalar { kind, text: text.into() };
            let flat = FlatLine {
                members: members
                    .iter()
                    .map(|(n, v)| {
                        let value = match v {
                            0 => FlatValue::One(scalar(ValueKind::Str, "")),
                            1 => FlatValue::One(scalar(ValueKind::Str, "dc01")),
                            2 => FlatValue::One(scalar(ValueKind::Num, "1795568523")),
                            3 => FlatValue::One(scalar(ValueKind::Null, "")),
                            4 => FlatValue::One(scalar(ValueKind::Str, "2026-11-25T01:02:03Z")),
                            5 => FlatValue::Many(vec![scalar(ValueKind::Str, "a"), scalar(ValueKind::Num, "2")]),
                            _ => FlatValue::Many(vec![scalar(ValueKind::Num, "3")]),
                        };
                        (std::borrow::Cow::Borrowed(names[n % names.len()]), value)
                    })
                    .collect(),
            };
            let n = normalise_flat(&flat, "{}", 7);
            let (cols, ts) = reference_columns(&flat, 7);
            let got = vec![n.stored.dataset, n.stored.host, n.stored.source_ip,
                n.stored.destination_ip, n.stored.user_name];
            proptest::prop_assert_eq!(got, cols);
            proptest::prop_assert_eq!(n.stored.ts, ts);
        }
    }

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

    fn both(line: &str) -> (Normalised, Normalised) {
        let flat = crate::flat::parse(line).expect("flat line");
        let Value::Object(m) = serde_json::from_str(line).expect("json") else {
            panic!("object")
        };
        (
            normalise_flat(&flat, line, 9),
            normalise_line(m, Some(line), 9),
        )
    }

    fn same(a: &Normalised, b: &Normalised) -> Result<(), String> {
        let view = |n: &Normalised| -> Vec<(String, String, String)> {
            n.view
                .iter()
                .map(|(k, v)| (k.to_owned(), v.raw.to_string(), format!("{:?}", v.kind)))
                .collect()
        };
        // The flat path leaves out the hashed terms of single words that its search text
        // holds, and only those.
        let stored = |n: &Normalised| {
            format!(
                "{:?}",
                NewEvent {
                    field_hashes: None,
                    ..n.stored.clone()
                }
            )
        };
        if let (Some(fa), Some(fb)) = (&a.stored.field_hashes, &b.stored.field_hashes) {
            for h in fb.iter().filter(|h| !fa.contains(h)) {
                let explained = a.stored.text.split(TEXT_SEP).any(|v| {
                    mamori_store::blocks::single_word(v).is_some()
                        && a.view.iter().any(|(k, x)| {
                            x.raw == *v && mamori_store::blocks::field_hash(k, v) == *h
                        })
                });
                if !explained {
                    return Err(format!("hash {h} left out, and no single word of the text"));
                }
            }
            if fa.iter().any(|h| !fb.contains(h)) {
                return Err("the flat path hashed a pair the general path did not".into());
            }
        }
        if view(a) != view(b) {
            return Err(format!("views differ: {:?} / {:?}", view(a), view(b)));
        }
        if stored(a) != stored(b) {
            return Err(format!("stored differ: {} / {}", stored(a), stored(b)));
        }
        if (
            a.view.channel.as_deref(),
            a.view.event_id,
            a.view.timestamp_ms,
        ) != (
            b.view.channel.as_deref(),
            b.view.event_id,
            b.view.timestamp_ms,
        ) {
            return Err("system fields differ".into());
        }
        Ok(())
    }

    #[test]
    fn single_words_past_the_kept_text_keep_their_hashed_term() {
        let hash = mamori_store::blocks::field_hash("EventID", "4625");
        let big = "x".repeat(MAX_TEXT + 10);
        let first = format!(r#"{{"EventID":4625,"Payload":"{big}"}}"#);
        let last = format!(r#"{{"Payload":"{big}","EventID":4625,"Image":"C:\\x.exe"}}"#);
        let hashes = |line: &str| {
            let flat = crate::flat::parse(line).expect("flat line");
            normalise_flat(&flat, line, 1)
                .stored
                .field_hashes
                .unwrap_or_default()
        };
        assert!(!hashes(&first).contains(&hash));
        assert!(hashes(&last).contains(&hash));
        assert!(hashes(&last).contains(&mamori_store::blocks::field_hash("Image", "C:\\x.exe")));
    }

    #[test]
    fn the_flat_path_builds_what_the_general_path_builds() {
        for line in [
            r#"{"Channel":"Security","EventID":4625,"Computer":"dc1","TargetUserName":["a","b"],"IpAddress":"192.0.2.7","TimeCreated":"2026-11-25T01:02:03Z"}"#,
            r#"{"@timestamp":1795651200,"event.dataset":"dns","host.name":"ws1","source.ip":"10.0.0.1","dns.question.name":"ex\u0061mple.jp","ok":true,"n":null,"f":1.25}"#,
            r#"{"winlog.channel":"Microsoft-Windows-Sysmon/Operational","winlog.event_id":1,"message":"ログオン失敗","host.os.type":"windows","event.category":"process","event.type":"start"}"#,
            r#"{"user.name":"","user.name2":[],"source.ip":["198.51.100.1",2]}"#,
            // Huge numeric times saturate instead of overflowing.
            r#"{"@timestamp":-9223372036854775808,"timestamp":1e300}"#,
        ] {
            let (a, b) = both(line);
            if let Err(e) = same(&a, &b) {
                panic!("{line}: {e}");
            }
        }
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        #[test]
        fn flat_and_general_paths_agree(
            members in proptest::collection::btree_map(
                "(@timestamp|host\\.name|Channel|EventID|source\\.ip|[a-zA-Z]{1,6})",
                proptest::prop_oneof![
                    ".{0,12}".prop_map(serde_json::Value::from),
                    proptest::num::i64::ANY.prop_map(serde_json::Value::from),
                    proptest::num::f64::NORMAL.prop_map(serde_json::Value::from),
                    proptest::bool::ANY.prop_map(serde_json::Value::from),
                    proptest::strategy::Just(serde_json::Value::Null),
                    proptest::collection::vec(".{0,5}", 0..3).prop_map(serde_json::Value::from),
                ],
                0..8,
            )
        ) {
            let line = serde_json::Value::Object(members.into_iter().collect()).to_string();
            let (a, b) = both(&line);
            proptest::prop_assert!(same(&a, &b).is_ok(), "{}: {:?}", line, same(&a, &b));
        }
    }
}
