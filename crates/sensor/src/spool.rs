//! The on-disk buffer: an append-only directory of batch files
//! `<seq>.<events>.<batch id>.ndjson.zst`, each the complete zstd NDJSON body, written via a
//! temporary file and fsynced before it counts. Replayed oldest first; a file is removed only
//! once the hub acknowledged it. Bounded by `max_bytes`: to make room it drops the OLDEST
//! batches, with a warning naming how many events were lost.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::batch::Batch;
use crate::checkpoint::sync_dir;
use crate::error::SensorError;

const SUFFIX: &str = ".ndjson.zst";

/// One spooled batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolEntry {
    pub seq: u64,
    pub id: String,
    pub events: u64,
    pub bytes: u64,
    pub path: PathBuf,
}

/// What a push did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pushed {
    /// The batch is on disk.
    pub stored: bool,
    /// Older batches (or this one, when larger than the whole limit) dropped for room.
    pub dropped_batches: u64,
    pub dropped_events: u64,
}

/// The spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    entries: VecDeque<SpoolEntry>,
    total: u64,
    next_seq: u64,
}

impl Spool {
    /// Opens (creating) the directory and lists the batches already in it, oldest first;
    /// leftover temporary files are removed.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, SensorError> {
        let io = |e| SensorError::io(dir, e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut entries = Vec::new();
        for e in std::fs::read_dir(dir).map_err(io)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp") {
                let _ = std::fs::remove_file(e.path());
                continue;
            }
            let Some(stem) = name.strip_suffix(SUFFIX) else {
                continue;
            };
            let mut parts = stem.splitn(3, '.');
            let (Some(seq), Some(events), Some(id)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let (Ok(seq), Ok(events)) = (seq.parse::<u64>(), events.parse::<u64>()) else {
                continue;
            };
            let bytes = e.metadata().map(|m| m.len()).unwrap_or(0);
            entries.push(SpoolEntry {
                seq,
                id: id.to_owned(),
                events,
                bytes,
                path: e.path(),
            });
        }
        entries.sort_by_key(|e| e.seq);
        let total = entries.iter().map(|e| e.bytes).sum();
        let next_seq = entries.last().map_or(1, |e| e.seq + 1);
        if !entries.is_empty() {
            tracing::info!(
                "spool {}: {} batches ({} bytes) waiting from an earlier run",
                dir.display(),
                entries.len(),
                total
            );
        }
        Ok(Spool {
            dir: dir.to_owned(),
            max_bytes,
            entries: entries.into(),
            total,
            next_seq,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.total
    }

    /// The ids, oldest first.
    pub fn ids(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.id.clone()).collect()
    }

    /// The oldest batch.
    pub fn front(&self) -> Option<SpoolEntry> {
        self.entries.front().cloned()
    }

    /// Appends a batch durably, first dropping the oldest batches while it would not fit.
    pub fn push(&mut self, batch: &Batch) -> Result<Pushed, SensorError> {
        let size = batch.zstd.len() as u64;
        let mut out = Pushed::default();
        if size > self.max_bytes {
            tracing::warn!(
                "spool {}: batch {} ({size} bytes) is larger than buffer_max_bytes ({}): dropped {} events",
                self.dir.display(),
                batch.id,
                self.max_bytes,
                batch.events
            );
            out.dropped_batches = 1;
            out.dropped_events = batch.events;
            return Ok(out);
        }
        while self.total + size > self.max_bytes {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.total -= old.bytes;
            let _ = std::fs::remove_file(&old.path);
            tracing::warn!(
                "spool {} is full (buffer_max_bytes {}): dropped the oldest batch {} with {} events",
                self.dir.display(),
                self.max_bytes,
                old.id,
                old.events
            );
            out.dropped_batches += 1;
            out.dropped_events += old.events;
        }
        let seq = self.next_seq;
        let path = self
            .dir
            .join(format!("{seq:020}.{}.{}{SUFFIX}", batch.events, batch.id));
        let tmp = self.dir.join(format!(".tmp.{seq}"));
        let io = |p: &Path| {
            let p = p.to_owned();
            move |e| SensorError::io(p, e)
        };
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&batch.zstd).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(&self.dir).map_err(io(&self.dir))?;
        self.next_seq += 1;
        self.total += size;
        self.entries.push_back(SpoolEntry {
            seq,
            id: batch.id.clone(),
            events: batch.events,
            bytes: size,
            path,
        });
        out.stored = true;
        Ok(out)
    }

    /// Reads a spooled batch.
    pub fn read(&self, e: &SpoolEntry) -> Result<Batch, SensorError> {
        let zstd = std::fs::read(&e.path).map_err(|err| SensorError::io(&e.path, err))?;
        Ok(Batch {
            id: e.id.clone(),
            events: e.events,
            zstd,
        })
    }

    /// Removes a batch (after the hub acknowledged it); a batch already dropped is ignored.
    pub fn remove(&mut self, seq: u64) {
        if let Some(i) = self.entries.iter().position(|e| e.seq == seq)
            && let Some(e) = self.entries.remove(i)
        {
            self.total -= e.bytes;
            if let Err(err) = std::fs::remove_file(&e.path) {
                tracing::warn!("spool: {}: {err}", e.path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: u64) -> Batch {
        let body: String = (0..n).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        Batch::new(format!("s-{n}"), n, body.as_bytes()).unwrap()
    }

    #[test]
    fn order_survives_reopen_and_limit_drops_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        for n in 1..=3 {
            assert!(s.push(&batch(n)).unwrap().stored);
        }
        let s2 = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(s2.ids(), ["s-1", "s-2", "s-3"]);
        let f = s2.front().unwrap();
        assert_eq!(s2.read(&f).unwrap(), batch(1));
        let size = batch(1).zstd.len() as u64;
        let mut s = Spool::open(dir.path(), s2.bytes() + size / 2).unwrap();
        let p = s.push(&batch(1)).unwrap();
        assert!(p.stored);
        assert_eq!((p.dropped_batches, p.dropped_events), (1, 1));
        assert_eq!(s.ids(), ["s-2", "s-3", "s-1"]);
        s.remove(f.seq);
        let first = s.front().unwrap();
        s.remove(first.seq);
        assert_eq!(s.ids(), ["s-3", "s-1"]);
    }
}
