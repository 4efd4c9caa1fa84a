//! Counters of a sensor run, shared between tasks, and the one-line [`Summary`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters.
#[derive(Debug, Default)]
pub struct Stats {
    pub read: AtomicU64,
    pub parsed: AtomicU64,
    pub rejected: AtomicU64,
    pub matched: AtomicU64,
    pub forwarded: AtomicU64,
    pub buffered: AtomicU64,
    pub dropped: AtomicU64,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// A snapshot.
    pub fn summary(&self) -> Summary {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Summary {
            read: g(&self.read),
            parsed: g(&self.parsed),
            rejected: g(&self.rejected),
            matched: g(&self.matched),
            forwarded: g(&self.forwarded),
            buffered: g(&self.buffered),
            dropped: g(&self.dropped),
        }
    }
}

/// What a run did: lines/records read, parsed into events, rejected (dead letters), with
/// local matches, acknowledged by the hub, written to the spool, dropped from the spool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub read: u64,
    pub parsed: u64,
    pub rejected: u64,
    pub matched: u64,
    pub forwarded: u64,
    pub buffered: u64,
    pub dropped: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sensor: read {}, parsed {}, rejected {}, matched {}, forwarded {}, buffered {}, dropped {}",
            self.read,
            self.parsed,
            self.rejected,
            self.matched,
            self.forwarded,
            self.buffered,
            self.dropped
        )
    }
}
