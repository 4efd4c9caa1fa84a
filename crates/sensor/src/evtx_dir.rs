//! EVTX directories: every `.evtx` file in a directory that is new or has changed (size or
//! modification time) is read with the detection engine's EVTX reader; records up to the
//! checkpointed record id of that file are skipped. Each record becomes a flat event with the
//! engine's field names (`Channel`, `EventID`, `Computer`, the EventData names, ...).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use mamori_detect::EventView;
use mamori_detect::event::ValueKind;
use serde_json::Value;

use crate::record::{Cursor, Origin, Payload, Record};

/// Watches EVTX directories.
#[derive(Debug)]
pub struct EvtxDirs {
    dirs: Vec<PathBuf>,
    /// Last record id handed on, per file.
    done: BTreeMap<String, u64>,
    /// (size, mtime) of each file when it was last read.
    seen: HashMap<String, (u64, Option<SystemTime>)>,
}

impl EvtxDirs {
    pub fn new(dirs: Vec<PathBuf>, checkpoints: BTreeMap<String, u64>) -> Self {
        EvtxDirs {
            dirs,
            done: checkpoints,
            seen: HashMap::new(),
        }
    }

    /// Reads new records of new and changed files. Returns false when the receiver is gone.
    pub fn poll(&mut self, emit: &mut dyn FnMut(Record) -> bool) -> bool {
        let mut files = Vec::new();
        for d in &self.dirs {
            match std::fs::read_dir(d) {
                Ok(entries) => {
                    for e in entries.flatten() {
                        let p = e.path();
                        let is_evtx = p
                            .extension()
                            .and_then(|x| x.to_str())
                            .is_some_and(|x| x.eq_ignore_ascii_case("evtx"));
                        if is_evtx
                            && let Ok(m) = e.metadata()
                            && m.is_file()
                        {
                            files.push((p, (m.len(), m.modified().ok())));
                        }
                    }
                }
                Err(e) => tracing::warn!("evtx {}: {e}", d.display()),
            }
        }
        files.sort();
        for (path, stamp) in files {
            let key = path.to_string_lossy().into_owned();
            if self.seen.get(&key) == Some(&stamp) {
                continue;
            }
            let (ok, last) =
                read_file(&path, &key, self.done.get(&key).copied().unwrap_or(0), emit);
            if let Some(last) = last {
                self.done.insert(key.clone(), last);
            }
            if !ok {
                return false;
            }
            self.seen.insert(key, stamp);
        }
        true
    }
}

/// Reads the records after `after` of one file. Returns (receiver still there, last record
/// id emitted).
fn read_file(
    path: &Path,
    key: &str,
    after: u64,
    emit: &mut dyn FnMut(Record) -> bool,
) -> (bool, Option<u64>) {
    let arc: Arc<str> = Arc::from(key);
    let mut ok = true;
    let mut last = None;
    let res = mamori_detect::input::evtx::read_evtx(
        path,
        1,
        move |ev: EventView| {
            let id = ev
                .first("EventRecordID")
                .and_then(|s| s.parse::<u64>().ok())?;
            (id > after).then(|| (id, to_event(&ev)))
        },
        &mut |(id, event): (u64, mamori_parse::Event)| {
            if !ok {
                return;
            }
            ok = emit(Record {
                payload: Payload::Event(event),
                origin: Origin::File {
                    path: arc.clone(),
                    offset: id,
                    line: 0,
                },
                cursor: Some(Cursor::Evtx {
                    path: arc.clone(),
                    record: id,
                }),
            });
            if ok {
                last = Some(id);
            }
        },
    );
    match res {
        Ok(stats) => {
            for w in stats.warnings.iter().take(5) {
                tracing::warn!("{w}");
            }
        }
        Err(e) => tracing::warn!("evtx {key}: {e}"),
    }
    (ok, last)
}

/// The event's fields as a flat JSON object (several values of one field become an array).
pub fn to_event(ev: &EventView) -> mamori_parse::Event {
    let mut out = mamori_parse::Event::new();
    for (name, v) in ev.iter() {
        let value = match v.kind {
            ValueKind::Num => v
                .raw
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(v.raw.to_string())),
            ValueKind::Bool => Value::Bool(v.raw == "true"),
            ValueKind::Null => Value::Null,
            _ => Value::String(v.raw.to_string()),
        };
        match out.get_mut(name) {
            Some(Value::Array(items)) => items.push(value),
            Some(prev) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, value]);
            }
            None => {
                out.insert(name.to_owned(), value);
            }
        }
    }
    if let Some(t) = ev.timestamp.as_deref().or_else(|| ev.first("TimeCreated")) {
        out.insert("@timestamp".into(), Value::String(t.to_owned()));
    }
    out.insert("event.module".into(), Value::String("windows".into()));
    out
}
