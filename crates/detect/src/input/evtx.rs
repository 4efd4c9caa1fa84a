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

fn data_entry(ev: &mut EventView, k: &str, v: &Value) {
    if k == "#attributes" {
        return;
    }
    if k == "Data" || k == "#text" {
        // Unnamed <Data> elements.
        push_json(ev, "Data", v);
        return;
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

fn flatten_data(ev: &mut EventView, data: &Value) {
    match data {
        Value::Object(m) => {
            for (k, v) in m {
                data_entry(ev, k, v);
            }
        }
        Value::Null => {}
        other => push_json(ev, "Data", other),
    }
}

fn system_entry(ev: &mut EventView, k: &str, v: &Value) {
    match v {
        Value::Object(m) => {
            if let Some(t) = m.get("#text") {
                push_json(ev, k, t);
            }
            if let Some(Value::Object(attrs)) = m.get("#attributes") {
                for (ak, av) in attrs {
                    push_json(ev, &format!("{k}_{ak}"), av);
                }
                if k == "TimeCreated"
                    && let Some(t) = attrs.get("SystemTime")
                {
                    push_json(ev, "TimeCreated", t);
                }
            }
        }
        other => push_json(ev, k, text_of(other).unwrap_or(other)),
    }
}

/// Flattens an EVTX record rendered as JSON (`{"Event": {"System": ..., "EventData": ...}}`).
pub fn event_from_json(record: &Value) -> EventView {
    let mut ev = EventView::new();
    let root = record.get("Event").unwrap_or(record);
    if let Some(Value::Object(sys)) = root.get("System") {
        for (k, v) in sys {
            system_entry(&mut ev, k, v);
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

/// Same result as [`event_from_json`], straight from the JSON text, without building the
/// whole `serde_json::Value` tree (only one small value per field).
pub fn event_from_json_str(text: &str) -> Result<EventView, serde_json::Error> {
    let mut ev = EventView::new();
    let mut de = serde_json::Deserializer::from_str(text);
    serde::de::DeserializeSeed::deserialize(stream::Root(&mut ev, 0), &mut de)?;
    de.end()?;
    ev.finish();
    Ok(ev)
}

mod stream {
    //! Streaming visitors for [`super::event_from_json_str`].

    use std::fmt;

    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    use serde_json::Value;

    use crate::event::EventView;

    /// Which level of the record a map is: 0 = root, 1 = `Event`, 2 = `System`,
    /// 3 = `EventData`/`UserData`.
    pub(super) struct Root<'a>(pub &'a mut EventView, pub u8);

    impl<'de> DeserializeSeed<'de> for Root<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            if self.1 == 3 {
                // EventData may be null or a scalar: take it whole in those cases.
                return d.deserialize_any(self);
            }
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Root<'_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an EVTX record as JSON")
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_none<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, v: &str) -> Result<(), E> {
            super::flatten_data(self.0, &Value::String(v.to_owned()));
            Ok(())
        }
        fn visit_i64<E>(self, v: i64) -> Result<(), E> {
            super::flatten_data(self.0, &Value::from(v));
            Ok(())
        }
        fn visit_u64<E>(self, v: u64) -> Result<(), E> {
            super::flatten_data(self.0, &Value::from(v));
            Ok(())
        }
        fn visit_f64<E>(self, v: f64) -> Result<(), E> {
            super::flatten_data(self.0, &Value::from(v));
            Ok(())
        }
        fn visit_bool<E>(self, v: bool) -> Result<(), E> {
            super::flatten_data(self.0, &Value::from(v));
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut items = Vec::new();
            while let Some(v) = seq.next_element::<Value>()? {
                items.push(v);
            }
            super::flatten_data(self.0, &Value::Array(items));
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let Root(ev, level) = self;
            while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                match (level, k.as_ref()) {
                    (0, "Event") => map.next_value_seed(Root(ev, 1))?,
                    (0 | 1, "System") => map.next_value_seed(Root(ev, 2))?,
                    (0 | 1, "EventData" | "UserData") => map.next_value_seed(Root(ev, 3))?,
                    (2, key) => {
                        let v: Value = map.next_value()?;
                        super::system_entry(ev, key, &v);
                    }
                    (3, key) => {
                        let v: Value = map.next_value()?;
                        super::data_entry(ev, key, &v);
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(())
        }
    }
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
    let mut parser = EvtxParser::from_path(path)
        .map_err(|e| InputError::Evtx {
            path: name.clone(),
            message: e.to_string(),
        })?
        .with_configuration(settings(threads));
    let records = parser.serialized_records(to_event(Arc::from(name.as_str()), map));
    Ok(drain(&name, records, sink))
}

/// Like [`read_evtx`], over the bytes of a whole EVTX file held in memory (`name` labels
/// the events' source and the skip messages).
pub fn read_evtx_bytes<U: Send + 'static>(
    name: &str,
    bytes: Vec<u8>,
    threads: usize,
    map: impl Fn(EventView) -> Option<U> + Send + Sync + Clone + 'static,
    sink: &mut dyn FnMut(U),
) -> Result<ReadStats, InputError> {
    let mut parser = EvtxParser::from_buffer(bytes)
        .map_err(|e| InputError::Evtx {
            path: name.to_owned(),
            message: e.to_string(),
        })?
        .with_configuration(settings(threads));
    let records = parser.serialized_records(to_event(Arc::from(name), map));
    Ok(drain(name, records, sink))
}

fn settings(threads: usize) -> ParserSettings {
    ParserSettings::new()
        .num_threads(threads)
        .separate_json_attributes(false)
}

/// The per-record step of [`read_evtx`]: render to JSON, flatten, label, `map`.
fn to_event<U>(
    source: Arc<str>,
    map: impl Fn(EventView) -> Option<U> + Send + Sync + Clone + 'static,
) -> impl FnMut(evtx::err::Result<evtx::EvtxRecord<'_>>) -> evtx::err::Result<Option<U>>
+ Send
+ Sync
+ Clone
+ 'static {
    move |rec| {
        let rec = rec?;
        let rec_id = rec.event_record_id;
        let json = rec.into_json()?;
        let mut ev = event_from_json_str(&json.data)
            .map_err(|e| evtx::err::EvtxError::from(evtx::err::SerializationError::from(e)))?;
        if !ev.has("EventRecordID") {
            ev.push(
                "EventRecordID",
                FieldValue::new(rec_id.to_string(), ValueKind::Num),
            );
        }
        ev.source = Some(source.clone());
        Ok((map.clone())(ev))
    }
}

/// Hands the converted records to `sink`, counting events and skipping broken ones.
fn drain<U>(
    name: &str,
    records: impl Iterator<Item = evtx::err::Result<Option<U>>>,
    sink: &mut dyn FnMut(U),
) -> ReadStats {
    let mut stats = ReadStats::default();
    for r in records {
        match r {
            Ok(Some(u)) => {
                stats.events += 1;
                sink(u);
            }
            Ok(None) => stats.events += 1,
            Err(e) => stats.skip(describe_error(name, &e)),
        }
    }
    stats
}

/// The error and its causes, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

fn describe_error(file: &str, e: &evtx::err::EvtxError) -> String {
    let msg = chain(e);
    use evtx::err::EvtxError as E;
    const HEADER: u64 = 4096;
    const CHUNK: u64 = 65536;
    match e {
        E::FailedToParseChunk { chunk_id, .. } => format!(
            "{file}: skipped corrupt chunk {chunk_id} at offset {:#x}: {msg}",
            chunk_id.saturating_mul(CHUNK).saturating_add(HEADER)
        ),
        E::FailedToReadRecordAt {
            chunk: Some(c),
            offset,
            ..
        } => format!(
            "{file}: skipped unreadable record at offset {:#x}: {msg}",
            c.saturating_mul(CHUNK)
                .saturating_add(HEADER)
                .saturating_add(*offset)
        ),
        E::FailedToParseRecord { record_id, .. } => {
            format!("{file}: skipped corrupt record {record_id}: {msg}")
        }
        _ => format!("{file}: skipped record: {msg}"),
    }
}
