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
}

/// Consumes batches until `shutdown` turns true.
pub async fn run_worker(
    pipeline: Arc<Pipeline>,
    bus: Bus,
    mut shutdown: watch::Receiver<bool>,
    stats: Arc<WorkerStats>,
) -> Result<(), BusError> {
    let mut consumer = bus.consumer(INGEST_SUBJECT, WORKER_GROUP).await?;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let deliveries = tokio::select! {
            d = consumer.next_batch(4, Duration::from_secs(1)) => d,
            _ = shutdown.changed() => return Ok(()),
        };
        let deliveries = match deliveries {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "bus: fetching batches failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
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
                    d.ack().await?;
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
