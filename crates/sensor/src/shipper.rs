//! Delivery: a batch goes straight to the hub while the spool is empty; otherwise, or when
//! the hub fails, it is written to the spool (so order is kept). [`Shipper::drain`] replays
//! the spool oldest first with backoff and jitter, honouring `Retry-After`, and removes a
//! batch only after the hub acknowledged it.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::batch::Batch;
use crate::error::SensorError;
use crate::hub::{Backoff, Hub, SendError};
use crate::spool::Spool;
use crate::stats::Stats;

/// How a batch was handed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handed {
    Acknowledged,
    Spooled,
    /// Refused for good by the hub, or larger than the whole spool (counted as dropped).
    Dropped,
}

/// Sends batches and owns the spool.
#[derive(Debug, Clone)]
pub struct Shipper {
    hub: Arc<Hub>,
    spool: Arc<Mutex<Spool>>,
    stats: Arc<Stats>,
    wake: Arc<Notify>,
    backoff: Backoff,
}

impl Shipper {
    pub fn new(hub: Hub, spool: Spool, stats: Arc<Stats>, backoff: Backoff) -> Self {
        Shipper {
            hub: Arc::new(hub),
            spool: Arc::new(Mutex::new(spool)),
            stats,
            wake: Arc::new(Notify::new()),
            backoff,
        }
    }

    fn spool(&self) -> MutexGuard<'_, Spool> {
        self.spool.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Batches waiting in the spool.
    pub fn spooled(&self) -> usize {
        self.spool().len()
    }

    /// Hands a batch on: acknowledged by the hub, or durably spooled, or (counted) dropped.
    /// Only an I/O error of the spool itself is an error.
    pub async fn ship(&self, batch: Batch) -> Result<Handed, SensorError> {
        if self.spool().is_empty() {
            match self.hub.send(&batch).await {
                Ok(()) => {
                    Stats::add(&self.stats.forwarded, batch.events);
                    return Ok(Handed::Acknowledged);
                }
                Err(e) => {
                    if let Some(h) = self.refused(&e, batch.events) {
                        return Ok(h);
                    }
                    self.log_failure(&e);
                }
            }
        }
        self.to_spool(&batch)
    }

    fn to_spool(&self, batch: &Batch) -> Result<Handed, SensorError> {
        let pushed = self.spool().push(batch)?;
        Stats::add(&self.stats.dropped, pushed.dropped_events);
        self.wake.notify_one();
        if pushed.stored {
            Stats::add(&self.stats.buffered, batch.events);
            Ok(Handed::Spooled)
        } else {
            Ok(Handed::Dropped)
        }
    }

    fn refused(&self, e: &SendError, events: u64) -> Option<Handed> {
        if let SendError::Refused { .. } = e {
            tracing::error!("{e}; dropping its {events} events");
            Stats::add(&self.stats.dropped, events);
            return Some(Handed::Dropped);
        }
        None
    }

    fn log_failure(&self, e: &SendError) {
        match e {
            SendError::Auth { .. } => tracing::error!("{e}; buffering to disk"),
            _ => tracing::warn!("hub unavailable ({e}); buffering to disk"),
        }
    }

    /// Replays the spool until `stop`. With `once`, returns at the first failure or when the
    /// spool is empty.
    pub async fn drain(&self, mut stop: watch::Receiver<bool>, once: bool) {
        let mut backoff = self.backoff.clone();
        loop {
            if *stop.borrow() {
                return;
            }
            let front = self.spool().front();
            let Some(entry) = front else {
                if once {
                    return;
                }
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = stop.changed() => return,
                }
                continue;
            };
            let batch = match self.spool().read(&entry) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(
                        "spool: cannot read batch {}: {e}; dropping its {} events",
                        entry.id,
                        entry.events
                    );
                    Stats::add(&self.stats.dropped, entry.events);
                    self.spool().remove(entry.seq);
                    continue;
                }
            };
            let result = tokio::select! {
                r = self.hub.send(&batch) => r,
                _ = stop.changed() => return,
            };
            match result {
                Ok(()) => {
                    self.spool().remove(entry.seq);
                    Stats::add(&self.stats.forwarded, entry.events);
                    backoff.reset();
                    let left = self.spooled();
                    if left == 0 {
                        tracing::info!("hub reachable again: spool replayed");
                    }
                }
                Err(e) => {
                    if self.refused(&e, entry.events).is_some() {
                        self.spool().remove(entry.seq);
                        continue;
                    }
                    self.log_failure(&e);
                    if once {
                        return;
                    }
                    let wait = match &e {
                        SendError::Auth { .. } => backoff.max(),
                        SendError::Retry { after: Some(a), .. } => {
                            (*a).min(backoff.max()).max(Duration::from_millis(10))
                        }
                        _ => backoff.next_wait(),
                    };
                    tracing::info!(
                        "retrying the spool in {wait:?} ({} batches waiting)",
                        self.spooled()
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }
}
