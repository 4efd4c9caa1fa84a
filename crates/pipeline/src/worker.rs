//! The pipeline on a bus: ingestion front doors [`enqueue`] batches (acknowledged to the sender
//! once the bus holds them durably), and any number of [`run_worker`] tasks, in one hub process
//! or many, consume them as one queue group, process them and acknowledge. A batch whose
//! processing failed is delivered again; a batch processed but not acknowledged (a worker killed
//! between commit and ack) is recognised by the store and stored once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use mamori_bus::{Bus, BusError, Published};
use tokio::sync::watch;

use crate::{Pipeline, PipelineError, RawBatch};

/// The subject batches travel on.
pub const INGEST_SUBJECT: &str = "mamori.ingest";
/// The queue group of the hub's workers.
pub const WORKER_GROUP: &str = "hub-workers";

/// Puts a batch on the bus; returns once it is durable there. The message id is the batch's
/// source and id, so a retried publish is stored once.
pub async fn enqueue(bus: &Bus, batch: &RawBatch) -> Result<Published, BusError> {
    let id = format!("{}|{}", batch.header.source, batch.header.batch_id);
    bus.publish(INGEST_SUBJECT, &id, Bytes::from(batch.encode()))
        .await
}

/// Counters of one worker.
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub batches: AtomicU64,
    pub events: AtomicU64,
    pub duplicates: AtomicU64,
    pub failures: AtomicU64,
    /// Failed attempts to join the queue group (the bus not ready yet).
    pub setup_retries: AtomicU64,
}

/// Longest pause between two attempts to join the queue group.
const SETUP_BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Fetches failing in a row after which a worker joins its queue group anew.
const REJOIN_AFTER_FAILED_FETCHES: u32 = 20;

/// Joins the workers' queue group, trying again (with growing pauses) while the bus cannot
/// place or find the stream: a JetStream cluster still electing its leaders, a node or the
/// whole bus down. Gives up only on errors no retry can mend (a bad subject or group name).
/// `None` when `shutdown` turned true first.
async fn join_group(
    bus: &Bus,
    shutdown: &mut watch::Receiver<bool>,
    stats: &WorkerStats,
) -> Result<Option<mamori_bus::Consumer>, BusError> {
    let mut backoff = Duration::from_millis(250);
    loop {
        if *shutdown.borrow() {
            return Ok(None);
        }
        match bus.consumer(INGEST_SUBJECT, WORKER_GROUP).await {
            Ok(c) => {
                if stats.setup_retries.load(Ordering::Relaxed) > 0 {
                    tracing::info!("bus: worker joined the queue group");
                }
                return Ok(Some(c));
            }
            Err(e @ (BusError::InvalidName { .. } | BusError::InvalidUrl { .. })) => return Err(e),
            Err(e) => {
                stats.setup_retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64,
                    "bus: worker cannot join the queue group yet; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => return Ok(None),
                }
                backoff = (backoff * 2).min(SETUP_BACKOFF_MAX);
            }
        }
    }
}

/// Consumes batches until `shutdown` turns true. Transient bus failures (at start or later)
/// are retried, never the end of the worker: a hub whose workers stopped would acknowledge
/// batches that nothing processes.
pub async fn run_worker(
    pipeline: Arc<Pipeline>,
    bus: Bus,
    mut shutdown: watch::Receiver<bool>,
    stats: Arc<WorkerStats>,
) -> Result<(), BusError> {
    let Some(mut consumer) = join_group(&bus, &mut shutdown, &stats).await? else {
        return Ok(());
    };
    let mut failed_fetches = 0u32;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let deliveries = tokio::select! {
            d = consumer.next_batch(4, Duration::from_secs(1)) => d,
            _ = shutdown.changed() => return Ok(()),
        };
        let deliveries = match deliveries {
            Ok(d) => {
                failed_fetches = 0;
                d
            }
            Err(e) => {
                failed_fetches += 1;
                tracing::warn!(error = %e, "bus: fetching batches failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                if failed_fetches >= REJOIN_AFTER_FAILED_FETCHES {
                    // The consumer may be gone (a stream re-created): join the group anew.
                    failed_fetches = 0;
                    match join_group(&bus, &mut shutdown, &stats).await? {
                        Some(c) => consumer = c,
                        None => return Ok(()),
                    }
                }
                continue;
            }
        };
        for d in deliveries {
            let batch = match RawBatch::decode(d.payload()) {
                Ok(b) => b,
                Err(e) => {
                    // Nothing can ever process it: keep it out of the way, loudly.
                    tracing::error!(error = %e, seq = d.seq(), "bus: dropping a malformed batch");
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = d.ack().await {
                        tracing::warn!(error = %e, "bus: ack of a malformed batch failed");
                    }
                    continue;
                }
            };
            match pipeline.process(batch).await {
                Ok(out) => {
                    stats.batches.fetch_add(1, Ordering::Relaxed);
                    stats
                        .events
                        .fetch_add(out.accepted as u64, Ordering::Relaxed);
                    if out.duplicate {
                        stats.duplicates.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Err(e) = d.ack().await {
                        // Redelivery will find the batch stored: no harm.
                        tracing::warn!(error = %e, "bus: ack failed after the batch was stored");
                    }
                }
                Err(e) => {
                    stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "processing a batch failed; it will be delivered again");
                    let _ = d.nak(Duration::from_secs(1)).await;
                    if matches!(e, PipelineError::Store(_)) {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        }
    }
}
