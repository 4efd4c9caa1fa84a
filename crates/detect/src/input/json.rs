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
    finish_json_event(&mut ev);
    ev
}

/// The steps every non-EVTX JSON event ends with, once its own fields are pushed: the
/// Windows system fields from winlogbeat's names, the Sysmon channel and id implied by ECS
/// categories, then [`EventView::finish`]. Callers that build an event from an already flat
/// object (no `winlog.event_data` object to merge) call this directly.
pub fn finish_json_event(ev: &mut EventView) {
    let mut present = ev.name_bits();
    // (Sigma name, its lower-case key, the ECS source already in lower case)
    for (sigma, sigma_lower, src) in [
        ("Channel", "channel", "winlog.channel"),
        ("EventID", "eventid", "winlog.event_id"),
        ("Computer", "computer", "winlog.computer_name"),
        ("EventRecordID", "eventrecordid", "winlog.record_id"),
        ("Provider_Name", "provider_name", "winlog.provider_name"),
        ("TimeCreated", "timecreated", "@timestamp"),
    ] {
        // An absent source (nearly always: an event has one naming scheme) costs no lookup.
        if present & EventView::name_bit(src) != 0 {
            ev.alias_lower(sigma, sigma_lower, src);
            present |= EventView::name_bit(sigma_lower);
        }
    }
    if !ev.has_lower("channel") {
        ecs_route(ev, present);
    }
    ev.finish();
}

/// Pure ECS events (no Windows channel): derive the Sysmon channel and EventID that the
/// event's `event.category`/`event.type` correspond to, so Sigma logsource routing applies
/// (e.g. a process start routes to `process_creation` rules).
fn ecs_route(ev: &mut EventView, present: u64) {
    // The field names below are lower case: looked up directly, after the summary of the
    // names present (`present`, see [`EventView::name_bits`]) says they may be there.
    let has = |field: &str, value: &str| {
        present & EventView::name_bit(field) != 0
            && ev
                .get_lower(field)
                .is_some_and(|vs| vs.iter().any(|v| v.lower() == value))
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
        || has("event.category", "network") && ev.has_lower("dns.question.name")
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
    read_json_with(
        &name,
        &mut || std::fs::File::open(path).map(BufReader::new),
        sink,
    )
}

/// Like [`read_json`], over JSON text held in memory (`name` labels the events' source and
/// the messages).
pub fn read_json_bytes(
    name: &str,
    bytes: &[u8],
    sink: &mut dyn FnMut(EventView),
) -> Result<ReadStats, InputError> {
    read_json_with(name, &mut || Ok(bytes), sink)
}

/// [`read_json`] over any source that can be read from the start more than once (`open`
/// is called a second time to resynchronise on lines after a bad one).
fn read_json_with<R: BufRead>(
    name: &str,
    open: &mut dyn FnMut() -> std::io::Result<R>,
    sink: &mut dyn FnMut(EventView),
) -> Result<ReadStats, InputError> {
    let source: Arc<str> = Arc::from(name);
    let io = |e| InputError::Io {
        path: name.to_owned(),
        source: e,
    };
    let reader = open().map_err(io)?;
    let mut stats = ReadStats::default();
    let mut emit = |v: &Value, stats: &mut ReadStats| {
        let mut ev = event_from_value(v);
        ev.source = Some(source.clone());
        stats.events += 1;
        sink(ev);
    };
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
                        path: name.to_owned(),
                        offset,
                        message: e.to_string(),
                    });
                }
                // Resynchronise on the next line.
                stats.skip(format!(
                    "{name}: skipped invalid JSON at byte {offset}: {e}"
                ));
                let reader = open().map_err(io)?;
                return resync_lines(reader, offset, name, stats, &mut emit);
            }
        }
        first = false;
    }
    Ok(stats)
}

/// Continues a JSON-lines read line by line after the value stream failed. `offset` is
/// where the last good value ended: what lies before it was emitted already, and the first
/// non-blank text after it is the value that failed, skipped and counted already.
fn resync_lines(
    reader: impl BufRead,
    offset: usize,
    name: &str,
    mut stats: ReadStats,
    emit: &mut dyn FnMut(&Value, &mut ReadStats),
) -> Result<ReadStats, InputError> {
    let mut pos = 0usize;
    let mut failed_pending = true;
    for line in reader.split(b'\n') {
        let line = line.map_err(|e| InputError::Io {
            path: name.to_owned(),
            source: e,
        })?;
        let line_start = pos;
        pos += line.len() + 1;
        // The part of the line not yet read by the stream.
        let (start, rest) = match offset.checked_sub(line_start) {
            Some(done) if done >= line.len() => continue,
            Some(done) => (offset, line.get(done..).unwrap_or_default()),
            None => (line_start, &line[..]),
        };
        if rest.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if failed_pending {
            failed_pending = false;
            continue;
        }
        match serde_json::from_slice::<Value>(rest) {
            Ok(v) => emit(&v, &mut stats),
            Err(e) => stats.skip(format!(
                "{name}: skipped invalid JSON line at byte {start}: {e}"
            )),
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(v: serde_json::Value) -> EventView {
        event_from_value(&v)
    }

    #[test]
    fn ecs_windows_events_get_the_sysmon_channel_and_event_id() {
        let cases = [
            (
                serde_json::json!({"host": {"os": {"type": "windows"}},
                    "event": {"category": ["process"], "type": ["start"]},
                    "process": {"command_line": "cmd /c whoami"}}),
                Some(1),
            ),
            (
                serde_json::json!({"host.os.family": "Windows", "event.category": "network",
                    "dns.question.name": "example.go.jp"}),
                Some(3),
            ),
            (
                serde_json::json!({"os.type": "windows", "event.category": "dns"}),
                Some(22),
            ),
            (
                serde_json::json!({"host.os.platform": "windows", "event.category": "file",
                    "event.type": "deletion"}),
                Some(23),
            ),
            // Not Windows, or no category that maps: no channel.
            (
                serde_json::json!({"host.os.type": "linux", "event.category": "process",
                    "event.type": "start"}),
                None,
            ),
            (
                serde_json::json!({"host.os.type": "windows", "event.category": "web"}),
                None,
            ),
        ];
        for (v, id) in cases {
            let ev = event(v.clone());
            assert_eq!(ev.event_id, id, "{v}");
            let channel = id.map(|_| "microsoft-windows-sysmon/operational");
            assert_eq!(ev.channel.as_deref(), channel, "{v}");
        }
    }

    #[test]
    fn winlogbeat_names_get_their_sigma_aliases() {
        let ev = event(
            serde_json::json!({"winlog": {"channel": "Security", "event_id": 4625,
            "computer_name": "dc01", "record_id": 7, "provider_name": "Microsoft-Windows-Security-Auditing"},
            "@timestamp": "2026-11-25T01:02:03Z"}),
        );
        assert_eq!(ev.channel.as_deref(), Some("security"));
        assert_eq!(ev.event_id, Some(4625));
        assert_eq!(ev.first("Computer"), Some("dc01"));
        assert_eq!(ev.first("EventRecordID"), Some("7"));
        assert_eq!(
            ev.first("Provider_Name"),
            Some("Microsoft-Windows-Security-Auditing")
        );
        assert!(ev.timestamp_ms.is_some());
        // An alias never replaces a field the event has.
        let own = event(serde_json::json!({"Channel": "System", "winlog.channel": "Security"}));
        assert_eq!(own.channel.as_deref(), Some("system"));
    }
}
