//! JSON input: a single value, an array of events, or JSON lines. EVTX-shaped records
//! (`Event.System`/`Event.EventData`) are flattened like EVTX; other objects are flattened
//! to dotted names, with winlogbeat's `winlog.*` mapped to the Windows system fields.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::ReadStats;
use crate::error::InputError;
use crate::event::{EventView, FieldValue};

fn flatten(ev: &mut EventView, prefix: &str, v: &Value) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(ev, &name, v);
            }
        }
        Value::Array(items) => {
            for i in items {
                flatten(ev, prefix, i);
            }
        }
        scalar => {
            if let Some(fv) = FieldValue::from_json(scalar) {
                ev.push(prefix, fv);
            }
        }
    }
}

/// Converts one JSON event.
pub fn event_from_value(v: &Value) -> EventView {
    if v.get("Event").and_then(|e| e.get("System")).is_some() {
        return super::evtx::event_from_json(v);
    }
    let mut ev = EventView::new();
    flatten(&mut ev, "", v);
    if let Some(Value::Object(data)) = v.get("winlog").and_then(|w| w.get("event_data")) {
        for (k, val) in data {
            if !ev.has(k) {
                flatten(&mut ev, k, val);
            }
        }
    }
    for (sigma, src) in [
        ("Channel", "winlog.channel"),
        ("EventID", "winlog.event_id"),
        ("Computer", "winlog.computer_name"),
        ("EventRecordID", "winlog.record_id"),
        ("Provider_Name", "winlog.provider_name"),
        ("TimeCreated", "@timestamp"),
    ] {
        ev.alias(sigma, src);
    }
    if !ev.has("Channel") {
        ecs_route(&mut ev);
    }
    ev.finish();
    ev
}

/// Pure ECS events (no Windows channel): derive the Sysmon channel and EventID that the
/// event's `event.category`/`event.type` correspond to, so Sigma logsource routing applies
/// (e.g. a process start routes to `process_creation` rules).
fn ecs_route(ev: &mut EventView) {
    let has = |field: &str, value: &str| {
        ev.get(field)
            .is_some_and(|vs| vs.iter().any(|v| v.lower == value))
    };
    let windows = has("host.os.type", "windows")
        || has("host.os.family", "windows")
        || has("host.os.platform", "windows")
        || has("os.type", "windows");
    if !windows {
        return;
    }
    let id = if has("event.category", "process") && has("event.type", "start") {
        1
    } else if has("event.category", "network") {
        3
    } else if has("event.category", "library") || has("event.category", "driver") {
        7
    } else if has("event.category", "registry") {
        13
    } else if has("event.category", "file") && has("event.type", "creation") {
        11
    } else if has("event.category", "file") && has("event.type", "deletion") {
        23
    } else if has("event.category", "dns")
        || has("event.category", "network") && ev.has("dns.question.name")
    {
        22
    } else {
        return;
    };
    ev.push_str("Channel", "Microsoft-Windows-Sysmon/Operational");
    ev.push(
        "EventID",
        crate::event::FieldValue::new(id.to_string(), crate::event::ValueKind::Num),
    );
}

/// Reads a JSON file and hands each event to `sink`. A top-level array yields its elements.
/// Lines that fail to parse in a JSON-lines file are skipped and counted.
pub fn read_json(path: &Path, sink: &mut dyn FnMut(EventView)) -> Result<ReadStats, InputError> {
    let name = path.display().to_string();
    let source: Arc<str> = Arc::from(name.as_str());
    let io = |e| InputError::Io {
        path: name.clone(),
        source: e,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut stats = ReadStats::default();
    let mut emit = |v: &Value, stats: &mut ReadStats| {
        let mut ev = event_from_value(v);
        ev.source = Some(source.clone());
        stats.events += 1;
        sink(ev);
    };
    let reader = BufReader::new(file);
    let mut stream = serde_json::Deserializer::from_reader(reader).into_iter::<Value>();
    let mut first = true;
    loop {
        match stream.next() {
            None => break,
            Some(Ok(Value::Array(items))) => {
                for i in &items {
                    emit(i, &mut stats);
                }
            }
            Some(Ok(v)) => emit(&v, &mut stats),
            Some(Err(e)) => {
                let offset = stream.byte_offset();
                if first {
                    return Err(InputError::Json {
                        path: name.clone(),
                        offset,
                        message: e.to_string(),
                    });
                }
                // Resynchronise on the next line.
                stats.skip(format!(
                    "{name}: skipped invalid JSON at byte {offset}: {e}"
                ));
                return resync_lines(path, offset, &name, stats, &mut emit);
            }
        }
        first = false;
    }
    Ok(stats)
}

fn resync_lines(
    path: &Path,
    offset: usize,
    name: &str,
    mut stats: ReadStats,
    emit: &mut dyn FnMut(&Value, &mut ReadStats),
) -> Result<ReadStats, InputError> {
    let file = std::fs::File::open(path).map_err(|e| InputError::Io {
        path: name.to_owned(),
        source: e,
    })?;
    let mut pos = 0usize;
    for line in BufReader::new(file).split(b'\n') {
        let line = line.map_err(|e| InputError::Io {
            path: name.to_owned(),
            source: e,
        })?;
        let start = pos;
        pos += line.len() + 1;
        if pos <= offset + 1 || line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(&line) {
            Ok(v) => emit(&v, &mut stats),
            Err(e) => stats.skip(format!(
                "{name}: skipped invalid JSON line at byte {start}: {e}"
            )),
        }
    }
    Ok(stats)
}
