//! EVTX input via the `evtx` crate: records rendered to JSON, then flattened into an
//! [`EventView`] (System fields `Channel`, `EventID`, `Computer`, `EventRecordID`,
//! `TimeCreated`, `Provider_Name`, ...; `EventData`/`UserData` fields at top level).

use std::path::Path;
use std::sync::Arc;

use evtx::{EvtxParser, ParserSettings};
use serde_json::Value;

use super::ReadStats;
use crate::error::InputError;
use crate::event::{EventView, FieldValue, ValueKind};

fn text_of(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(m) => m.get("#text"),
        other => Some(other),
    }
}

fn push_json(ev: &mut EventView, name: &str, v: &Value) {
    match v {
        Value::Array(items) => {
            for i in items {
                push_json(ev, name, i);
            }
        }
        Value::Object(m) => {
            if let Some(t) = m.get("#text") {
                push_json(ev, name, t);
            } else if m.keys().all(|k| k == "#attributes") {
                ev.push(name, FieldValue::new("", ValueKind::Null));
            }
        }
        scalar => {
            if let Some(fv) = FieldValue::from_json(scalar) {
                ev.push(name, fv);
            }
        }
    }
}

fn flatten_data(ev: &mut EventView, data: &Value) {
    match data {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "#attributes" {
                    continue;
                }
                if k == "Data" || k == "#text" {
                    // Unnamed <Data> elements.
                    push_json(ev, "Data", v);
                    continue;
                }
                match v {
                    Value::Object(inner) if !inner.contains_key("#text") => {
                        // Nested element (e.g. UserData/EventXML/...): flatten one level down.
                        flatten_data(ev, v);
                        if inner.is_empty() {
                            ev.push(k, FieldValue::new("", ValueKind::Null));
                        }
                    }
                    _ => {
                        push_json(ev, k, v);
                        // Defender & co. name fields "Source Name"; Sigma says SourceName.
                        if k.contains(' ') {
                            push_json(ev, &k.replace(' ', ""), v);
                        }
                    }
                }
            }
        }
        Value::Null => {}
        other => push_json(ev, "Data", other),
    }
}

/// Flattens an EVTX record rendered as JSON (`{"Event": {"System": ..., "EventData": ...}}`).
pub fn event_from_json(record: &Value) -> EventView {
    let mut ev = EventView::new();
    let root = record.get("Event").unwrap_or(record);
    if let Some(Value::Object(sys)) = root.get("System") {
        for (k, v) in sys {
            match v {
                Value::Object(m) => {
                    if let Some(t) = m.get("#text") {
                        push_json(&mut ev, k, t);
                    }
                    if let Some(Value::Object(attrs)) = m.get("#attributes") {
                        for (ak, av) in attrs {
                            push_json(&mut ev, &format!("{k}_{ak}"), av);
                        }
                        if k == "TimeCreated"
                            && let Some(t) = attrs.get("SystemTime")
                        {
                            push_json(&mut ev, "TimeCreated", t);
                        }
                    }
                }
                other => push_json(&mut ev, k, text_of(other).unwrap_or(other)),
            }
        }
    }
    if let Some(d) = root.get("EventData") {
        flatten_data(&mut ev, d);
    }
    if let Some(d) = root.get("UserData") {
        flatten_data(&mut ev, d);
    }
    ev.finish();
    ev
}

/// Reads an EVTX file. Every record is turned into an event and handed to `map` (on
/// parser worker threads when `threads != 1`); non-`None` results go to `sink` in record
/// order. Corrupt chunks/records are skipped and counted.
pub fn read_evtx<U: Send + 'static>(
    path: &Path,
    threads: usize,
    map: impl Fn(EventView) -> Option<U> + Send + Sync + Clone + 'static,
    sink: &mut dyn FnMut(U),
) -> Result<ReadStats, InputError> {
    let name = path.display().to_string();
    let source: Arc<str> = Arc::from(name.as_str());
    let settings = ParserSettings::new()
        .num_threads(threads)
        .separate_json_attributes(false);
    let mut parser = EvtxParser::from_path(path)
        .map_err(|e| InputError::Evtx {
            path: name.clone(),
            message: e.to_string(),
        })?
        .with_configuration(settings);
    let mut stats = ReadStats::default();
    let src = source.clone();
    let records = parser.serialized_records(move |rec| {
        let rec = rec?;
        let rec_id = rec.event_record_id;
        let json = rec.into_json_value()?;
        let mut ev = event_from_json(&json.data);
        if !ev.has("EventRecordID") {
            ev.push(
                "EventRecordID",
                FieldValue::new(rec_id.to_string(), ValueKind::Num),
            );
        }
        ev.source = Some(src.clone());
        Ok((map.clone())(ev))
    });
    for r in records {
        match r {
            Ok(Some(u)) => {
                stats.events += 1;
                sink(u);
            }
            Ok(None) => stats.events += 1,
            Err(e) => stats.skip(describe_error(&name, &e)),
        }
    }
    Ok(stats)
}

fn describe_error(file: &str, e: &evtx::err::EvtxError) -> String {
    use evtx::err::EvtxError as E;
    const HEADER: u64 = 4096;
    const CHUNK: u64 = 65536;
    match e {
        E::FailedToParseChunk { chunk_id, .. } => format!(
            "{file}: skipped corrupt chunk {chunk_id} at offset {:#x}: {e}",
            chunk_id.saturating_mul(CHUNK).saturating_add(HEADER)
        ),
        E::FailedToReadRecordAt {
            chunk: Some(c),
            offset,
            ..
        } => format!(
            "{file}: skipped unreadable record at offset {:#x}: {e}",
            c.saturating_mul(CHUNK)
                .saturating_add(HEADER)
                .saturating_add(*offset)
        ),
        E::FailedToParseRecord { record_id, .. } => {
            format!("{file}: skipped corrupt record {record_id}: {e}")
        }
        other => format!("{file}: skipped record: {other}"),
    }
}
