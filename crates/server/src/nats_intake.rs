//! Sensor batches over NATS JetStream: the hub consumes [`INTAKE_SUBJECT`] as the queue group
//! [`INTAKE_GROUP`] (every hub process on the same NATS shares the work), checks each
//! envelope's signature against the live sensors' keys ([`mamori_bus::intake`]), and hands
//! the batch to the same path as `POST /api/v1/events` (limits, rate limit, pipeline or bus),
//! up to [`IN_FLIGHT`] batches at once so that preparing one overlaps committing another.
//!
//! A message is acknowledged only once its batch is stored (or queued on the hub's bus), so a
//! hub killed mid-batch gets it again and stores it once (batches are de-duplicated by sensor
//! and batch id). Over the sender's rate it is handed back with a delay, so one member's flood
//! waits while the others' batches go on. Envelopes with an unknown or revoked key, a bad
//! signature, or a body the HTTP path would refuse (422/413) are dropped with a warning, counted
//! in `mamori_intake_refused_total` and recorded in the audit log as `intake.refused` (as a
//! refused HTTPS batch is recorded as `request.rejected`); retrying cannot make them valid. Sensor keys are
//! re-read at most every [`KEY_TTL`], so a revocation takes effect within that time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mamori_bus::intake::{Envelope, INTAKE_GROUP, INTAKE_SUBJECT, IntakeKey};
use mamori_bus::{Bus, Delivery};
use mamori_store::sensors::Sensor;
use tokio::sync::watch;

use crate::monitor::{IncomingBatch, Sender, ingest};
use crate::{ApiError, AppState};

/// How long the sensor keys are trusted before they are read again.
pub const KEY_TTL: Duration = Duration::from_secs(2);
/// Messages taken from the stream at a time.
const PULL: usize = 16;
/// Batches processed at once.
pub const IN_FLIGHT: usize = 4;

/// What to do with one message.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Ack,
    Retry(Duration),
    Refuse(Refusal),
}

/// Why a message was dropped, for the log, the metric and the audit record.
#[derive(Debug, PartialEq, Eq)]
struct Refusal {
    reason: &'static str,
    /// The sensor whose key signed it, when the key is a live sensor's.
    sensor: Option<(String, mamori_model::OrgId)>,
    detail: String,
}

/// The live sensors' keys by key id.
#[derive(Default)]
struct Keys {
    by_id: HashMap<String, (Sensor, IntakeKey)>,
    loaded: Option<Instant>,
}

impl Keys {
    async fn get(
        &mut self,
        state: &AppState,
        id: &str,
    ) -> Result<Option<(Sensor, IntakeKey)>, ApiError> {
        let stale = self.loaded.is_none_or(|t| t.elapsed() >= KEY_TTL);
        // An unknown key may be a sensor registered a moment ago: look again, but not on
        // every message of a stream of forgeries.
        let miss = !self.by_id.contains_key(id)
            && self
                .loaded
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(200));
        if stale || miss {
            let live = state.store.live_sensor_token_hashes().await?;
            self.by_id = live
                .into_iter()
                .map(|(s, hash)| {
                    let k = IntakeKey::from_token_hash(&hash);
                    (k.id().to_owned(), (s, k))
                })
                .collect();
            self.loaded = Some(Instant::now());
        }
        Ok(self.by_id.get(id).cloned())
    }

    /// The key as last read (see [`Keys::get`]).
    fn lookup(&self, id: &str) -> Option<(Sensor, IntakeKey)> {
        self.by_id.get(id).cloned()
    }
}

/// Consumes the intake subject until `stop` turns true.
pub async fn run(state: AppState, bus: Bus, mut stop: watch::Receiver<bool>) {
    let mut consumer = loop {
        match bus.consumer(INTAKE_SUBJECT, INTAKE_GROUP).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(error = %e, "NATS intake: cannot subscribe yet; retrying");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    };
    tracing::info!("NATS intake: consuming {INTAKE_SUBJECT} as {INTAKE_GROUP}");
    let mut keys = Keys::default();
    loop {
        if *stop.borrow() {
            return;
        }
        let batch = tokio::select! {
            r = consumer.next_batch(PULL, Duration::from_secs(1)) => r,
            _ = stop.changed() => return,
        };
        let deliveries = match batch {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "NATS intake: cannot fetch; retrying");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => return,
                }
                continue;
            }
        };
        // Keys first (one store read at most), then the batches concurrently, as HTTPS
        // senders' batches are: preparing one overlaps committing another.
        let mut unreadable = false;
        for d in &deliveries {
            if let Ok(env) = Envelope::open(d.payload())
                && let Err(e) = keys.get(&state, env.header.key).await
            {
                tracing::warn!(error = %e, "NATS intake: cannot read sensor keys");
                unreadable = true;
                break;
            }
        }
        if unreadable {
            // Not refused for an unknown key while the store cannot say: try again.
            for d in deliveries {
                settle(&state, d, Verdict::Retry(Duration::from_secs(1))).await;
            }
            continue;
        }
        let keys_now = &keys;
        futures_util::stream::iter(deliveries)
            .for_each_concurrent(IN_FLIGHT, |d| {
                let state = &state;
                async move {
                    let verdict = handle(state, keys_now, d.payload()).await;
                    settle(state, d, verdict).await;
                }
            })
            .await;
    }
}

async fn settle(state: &AppState, d: Delivery, verdict: Verdict) {
    let seq = d.seq();
    let r = match verdict {
        Verdict::Ack => d.ack().await,
        Verdict::Retry(after) => d.nak(after).await,
        Verdict::Refuse(why) => {
            tracing::warn!(seq, "NATS intake: refused a message: {}", why.detail);
            audit_refusal(state, seq, &why).await;
            d.ack().await
        }
    };
    if let Err(e) = r {
        // Not acknowledged: it comes again and is found stored (or refused) again.
        tracing::warn!(seq, error = %e, "NATS intake: cannot settle a message");
    }
}

async fn audit_refusal(state: &AppState, seq: u64, why: &Refusal) {
    let entry = mamori_store::audit::AuditEntry {
        actor_user: None,
        actor_org: why.sensor.as_ref().map(|s| s.1),
        actor_name: why.sensor.as_ref().map_or_else(
            || "unknown sensor".to_owned(),
            |s| format!("sensor {}", s.0),
        ),
        action: "intake.refused".into(),
        object_type: "nats".into(),
        object_id: format!("{INTAKE_SUBJECT} #{seq}"),
        tlp: None,
        source: "nats".into(),
        request_id: format!("nats-{seq}"),
        detail: serde_json::json!({"reason": why.reason, "detail": why.detail}),
    };
    if let Err(e) = state.store.append_audit(&entry).await {
        tracing::error!(error = %e, "cannot audit a refused NATS intake message");
    }
}

fn refuse(
    reason: &'static str,
    sensor: Option<(String, mamori_model::OrgId)>,
    detail: String,
) -> Verdict {
    metrics::counter!("mamori_intake_refused_total", "reason" => reason).increment(1);
    Verdict::Refuse(Refusal {
        reason,
        sensor,
        detail,
    })
}

async fn handle(state: &AppState, keys: &Keys, payload: &[u8]) -> Verdict {
    let env = match Envelope::open(payload) {
        Ok(e) => e,
        Err(e) => return refuse("envelope", None, e.to_string()),
    };
    let (sensor, key) = match keys.lookup(env.header.key) {
        Some(k) => k,
        None => {
            return refuse(
                "unknown-key",
                None,
                format!(
                    "batch {}: key {} is not a live sensor's (unknown or revoked)",
                    env.header.batch, env.header.key
                ),
            );
        }
    };
    if let Err(e) = key.verify(&env) {
        return refuse(
            "signature",
            Some((sensor.id.to_string(), sensor.org_id)),
            format!("batch {} from sensor {}: {e}", env.header.batch, sensor.id),
        );
    }
    let (id, org, batch) = (sensor.id.clone(), sensor.org_id, env.header.batch);
    let result = ingest(
        state,
        IncomingBatch {
            sender: Sender::Sensor(sensor),
            batch_id: Some(batch),
            content_encoding: Some(env.header.encoding),
            format: Some(env.header.format),
            ndjson: true,
            body: env.body,
        },
    )
    .await;
    match result {
        Ok(_) => Verdict::Ack,
        Err(ApiError::RateLimited { retry_after }) => {
            Verdict::Retry(Duration::from_secs(retry_after.clamp(1, 60)))
        }
        Err(e) if e.status().is_server_error() => {
            tracing::warn!(error = %e, "NATS intake: batch {batch} not stored yet; retrying");
            Verdict::Retry(Duration::from_secs(2))
        }
        Err(e) => refuse(
            "batch",
            Some((id.to_string(), org)),
            format!("batch {batch} from sensor {id}: {e} (HTTP {})", e.status()),
        ),
    }
}
