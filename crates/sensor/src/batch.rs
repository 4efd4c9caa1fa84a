//! Batches: NDJSON bodies compressed with zstd once, with an id that stays the same on every
//! retry ([`Batch`]), and the [`BatchBuilder`] that fills one up to a number of events, a
//! size or a linger time, collecting the checkpoint [`Cursor`]s it covers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::record::Cursor;

/// zstd level for batch bodies (fast; logs compress well even so).
const LEVEL: i32 = 3;

/// A batch ready to send or spool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// `X-Mamori-Batch`.
    pub id: String,
    /// Lines (events and dead letters) in the body.
    pub events: u64,
    /// The zstd-compressed NDJSON body.
    pub zstd: Vec<u8>,
}

impl Batch {
    /// Compresses an NDJSON body.
    pub fn new(id: String, events: u64, ndjson: &[u8]) -> std::io::Result<Self> {
        Ok(Batch {
            id,
            events,
            zstd: zstd::bulk::compress(ndjson, LEVEL)?,
        })
    }

    /// The NDJSON body.
    pub fn ndjson(&self) -> std::io::Result<Vec<u8>> {
        zstd::stream::decode_all(self.zstd.as_slice())
    }

    /// Two halves (by lines) with ids `<id>.0` and `<id>.1`, for a hub that answered 413;
    /// `None` for a single line.
    pub fn split(&self) -> std::io::Result<Option<(Batch, Batch)>> {
        let body = self.ndjson()?;
        let lines: Vec<&[u8]> = body
            .split_inclusive(|b| *b == b'\n')
            .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
            .collect();
        if lines.len() < 2 {
            return Ok(None);
        }
        let mid = lines.len() / 2;
        let a: Vec<u8> = lines[..mid].concat();
        let b: Vec<u8> = lines[mid..].concat();
        Ok(Some((
            Batch::new(format!("{}.0", self.id), mid as u64, &a)?,
            Batch::new(format!("{}.1", self.id), (lines.len() - mid) as u64, &b)?,
        )))
    }
}

/// A new batch id: the sensor name and a UUIDv7 (time-ordered).
pub fn new_id(sensor: &str) -> String {
    format!("{sensor}-{}", uuid::Uuid::now_v7())
}

/// Collects events into the next batch.
#[derive(Debug)]
pub struct BatchBuilder {
    sensor: String,
    max_events: usize,
    max_bytes: usize,
    body: Vec<u8>,
    events: u64,
    started: Option<Instant>,
    cursors: HashMap<(u8, Arc<str>), Cursor>,
}

impl BatchBuilder {
    pub fn new(sensor: impl Into<String>, max_events: usize, max_bytes: usize) -> Self {
        BatchBuilder {
            sensor: sensor.into(),
            max_events,
            max_bytes,
            body: Vec::new(),
            events: 0,
            started: None,
            cursors: HashMap::new(),
        }
    }

    /// Whether adding `line_len` more bytes would pass the size limit (so flush first).
    pub fn would_overflow(&self, line_len: usize) -> bool {
        self.events > 0 && self.body.len() + line_len + 1 > self.max_bytes
    }

    /// Adds one serialised event.
    pub fn push_line(&mut self, line: &[u8]) {
        self.started.get_or_insert_with(Instant::now);
        self.body.extend_from_slice(line);
        self.body.push(b'\n');
        self.events += 1;
    }

    /// Notes that a record up to `c` has been handled (forwarded or not).
    pub fn cover(&mut self, c: Cursor) {
        self.started.get_or_insert_with(Instant::now);
        let (kind, path) = c.key();
        self.cursors.insert((kind, path.clone()), c);
    }

    /// Full by count or size.
    pub fn is_full(&self) -> bool {
        self.events as usize >= self.max_events || self.body.len() >= self.max_bytes
    }

    /// When the batch must be flushed at the latest.
    pub fn deadline(&self, linger: Duration) -> Option<Instant> {
        self.started.map(|s| s + linger)
    }

    /// Whether there is anything (events or positions) to flush.
    pub fn is_empty(&self) -> bool {
        self.started.is_none()
    }

    /// Takes the batch (if it has events) and the positions it covers.
    pub fn take(&mut self) -> std::io::Result<(Option<Batch>, Vec<Cursor>)> {
        let body = std::mem::take(&mut self.body);
        let events = std::mem::take(&mut self.events);
        self.started = None;
        let cursors = self.cursors.drain().map(|(_, c)| c).collect();
        let batch = if events > 0 {
            Some(Batch::new(new_id(&self.sensor), events, &body)?)
        } else {
            None
        };
        Ok((batch, cursors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_keeps_every_line() {
        let b = Batch::new("s-1".into(), 3, b"{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n").unwrap();
        let (x, y) = b.split().unwrap().unwrap();
        assert_eq!((x.id.as_str(), x.events), ("s-1.0", 1));
        assert_eq!((y.id.as_str(), y.events), ("s-1.1", 2));
        assert_eq!(x.ndjson().unwrap(), b"{\"a\":1}\n");
        assert_eq!(y.ndjson().unwrap(), b"{\"a\":2}\n{\"a\":3}\n");
        let one = Batch::new("s-2".into(), 1, b"{}\n").unwrap();
        assert!(one.split().unwrap().is_none());
    }
}
