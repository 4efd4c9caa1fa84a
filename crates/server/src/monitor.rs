//! Monitoring operations behind the API, the console and the command line: sensors (register,
//! list, revoke), ingestion of event batches (decompression and size limits, per-sender rate
//! limits, the pipeline), event search, dead letters, and alert triage (acknowledge, assign,
//! false positive with suppression, escalation to a case). Organisations see their own events
//! and the alerts routed to them; hub administrators see all of them (auditors, like every
//! other role, see their own organisation's: the audit log is where they read the hub's).

use std::io::Read;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use mamori_model::{OrgId, Role, Scope, Tlp};
use mamori_pipeline::{BatchHeader, RawBatch, Routing};
use mamori_store::alerts::{Alert, AlertChange, AlertQuery, Evidence, Suppression};
use mamori_store::cases::NewCase;
use mamori_store::events::{DeadLetter, EventQuery, StoredEvent};
use mamori_store::ingest::BatchOutcome;
use mamori_store::sensors::Sensor;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ops::{Actor, audit};
use mamori_store::Store;

use crate::{ApiError, AppState};

/// Largest decompressed batch.
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Most lines in one batch.
pub const MAX_BATCH_LINES: usize = 10_000;

/// Per-sender event rate limits: each sender (sensor or user) has its own bucket, so a flood
/// from one member is refused with 429 while the others go on.
#[derive(Debug)]
pub struct IngestLimiter {
    limiter: Option<DefaultKeyedRateLimiter<String>>,
}

impl IngestLimiter {
    /// `per_sec` events per second per sender with a burst of twice that; 0 = unlimited.
    pub fn new(per_sec: u32) -> IngestLimiter {
        let limiter = NonZeroU32::new(per_sec).map(|n| {
            let burst = n.saturating_mul(NonZeroU32::MIN.saturating_add(1));
            RateLimiter::keyed(Quota::per_second(n).allow_burst(burst))
        });
        IngestLimiter { limiter }
    }

    /// Takes `n` events from the sender's bucket, or says how long to wait.
    fn check(&self, key: &str, n: usize) -> Result<(), ApiError> {
        let (Some(l), Some(n)) = (&self.limiter, NonZeroU32::new(n.max(1) as u32)) else {
            return Ok(());
        };
        match l.check_key_n(&key.to_owned(), n) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                Err(ApiError::RateLimited {
                    retry_after: wait.as_secs().max(1),
                })
            }
            // More events in one batch than the burst allows: it can never pass whole, so
            // the sender must split it (the same answer as for a batch over the size limit).
            Err(_) => Err(ApiError::TooLarge),
        }
    }
}

/// Who sent a batch.
pub enum Sender {
    Sensor(Sensor),
    User(Actor),
}

/// The organisation scope of a reader: `None` for hub administrators.
pub(crate) fn org_scope(actor: &Actor) -> Option<OrgId> {
    actor
        .principal
        .as_ref()
        .filter(|p| p.role != Role::Admin)
        .map(|p| p.org_id)
}

fn require_write(actor: &Actor, what: &str) -> Result<(), ApiError> {
    match &actor.principal {
        Some(p) if !p.has_scope(Scope::Write) || !mamori_access::may_write(p) => {
            Err(ApiError::forbidden(what))
        }
        _ => Ok(()),
    }
}

pub(crate) fn require_admin(actor: &Actor, what: &str) -> Result<(), ApiError> {
    match &actor.principal {
        Some(p) if p.role != Role::Admin || !p.has_scope(Scope::Admin) => {
            Err(ApiError::forbidden(what))
        }
        _ => Ok(()),
    }
}

// ---- sensors ----

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewSensorOut {
    pub sensor: Sensor,
    /// The sensor's token: shown once.
    pub token: String,
}

/// Registers a sensor for an organisation (hub administrators).
pub async fn create_sensor(
    store: &Store,
    actor: &Actor,
    org: OrgId,
    name: &str,
) -> Result<NewSensorOut, ApiError> {
    require_admin(actor, "register sensors (hub administrators may)")?;
    let (sensor, token) = store.create_sensor(org, name).await?;
    audit(
        store,
        actor,
        "sensor.create",
        "sensor",
        &sensor.id,
        None,
        json!({"org": org.to_string(), "name": name}),
    )
    .await?;
    Ok(NewSensorOut { sensor, token })
}

pub async fn list_sensors(store: &Store, actor: &Actor) -> Result<Vec<Sensor>, ApiError> {
    Ok(store.list_sensors(org_scope(actor)).await?)
}

pub async fn revoke_sensor(store: &Store, actor: &Actor, id: &str) -> Result<Sensor, ApiError> {
    require_admin(actor, "revoke sensors (hub administrators may)")?;
    let s = store.revoke_sensor(id).await?;
    audit(
        store,
        actor,
        "sensor.revoke",
        "sensor",
        id,
        None,
        json!({"org": s.org_id.to_string(), "name": s.name}),
    )
    .await?;
    Ok(s)
}

/// Sets an organisation's event retention (hub administrators).
pub async fn set_retention(
    store: &Store,
    actor: &Actor,
    org: OrgId,
    days: Option<i64>,
) -> Result<(), ApiError> {
    require_admin(actor, "set event retention (hub administrators may)")?;
    store.set_event_retention(org, days).await?;
    audit(
        store,
        actor,
        "org.retention",
        "org",
        &org.to_string(),
        None,
        json!({"days": days}),
    )
    .await
}

/// Applies retention every hour until `shutdown` turns true: events past their
/// organisation's retention, and stored observations (Sigma correlations, STIX patterns'
/// cross-event parts) past the pipeline's horizon.
pub async fn retention_task(
    store: Store,
    pipeline: SharedPipeline,
    default_days: i64,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let now = mamori_store::now_millis();
        match store.apply_retention(default_days, now).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "event retention applied"),
            Err(e) => tracing::warn!(error = %e, "event retention failed; trying again later"),
        }
        let horizon = pipeline.observation_horizon_ms();
        match store.prune_observations(now.saturating_sub(horizon)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, horizon_ms = horizon, "old observations pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning observations failed; trying again later"),
        }
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

// ---- ingestion ----

/// A batch as it arrived over HTTP.
pub struct IncomingBatch<'a> {
    pub sender: Sender,
    pub batch_id: Option<&'a str>,
    pub content_encoding: Option<&'a str>,
    /// A format name; `None`: `json` for NDJSON bodies, else `auto`.
    pub format: Option<&'a str>,
    pub ndjson: bool,
    pub body: &'a [u8],
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IngestResult {
    pub batch: String,
    pub accepted: i64,
    pub rejected: i64,
    pub duplicate: bool,
    /// The batch was queued on the bus: `accepted` counts its lines, which workers will
    /// parse, detect and store (alerts and rejects are not known yet).
    pub queued: bool,
    pub alerts_new: i64,
    pub alerts_updated: i64,
}

/// Decompresses within [`MAX_BATCH_BYTES`].
/// A zstd body whose frame declares its size (as `zstd` writes one-shot frames, and sensors and
/// `mamori loadgen` send): decompressed in one call into a buffer of that size, without the
/// growing and zeroing of a streamed read. `None` (then the body is streamed) when the size
/// is not declared, above the batch limit, or the body does not fit it (several frames).
fn zstd_declared(body: &[u8]) -> Option<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(body).ok()??;
    let size = usize::try_from(size)
        .ok()
        .filter(|n| *n <= MAX_BATCH_BYTES)?;
    let mut out = Vec::with_capacity(size);
    zstd::bulk::Decompressor::new()
        .ok()?
        .decompress_to_buffer(body, &mut out)
        .ok()?;
    Some(out)
}

fn decode_body(encoding: Option<&str>, body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let limit = MAX_BATCH_BYTES as u64 + 1;
    let mut out = Vec::new();
    let r = match encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
        None | Some("") | Some("identity") => {
            out.extend_from_slice(body);
            Ok(0)
        }
        Some("gzip") | Some("x-gzip") => flate2::read::MultiGzDecoder::new(body)
            .take(limit)
            .read_to_end(&mut out),
        Some("zstd") => {
            if let Some(whole) = zstd_declared(body) {
                return Ok(whole);
            }
            match zstd::stream::read::Decoder::new(body) {
                Ok(d) => d.take(limit).read_to_end(&mut out),
                Err(e) => Err(e),
            }
        }
        Some(other) => {
            return Err(ApiError::Invalid(format!(
                "unsupported Content-Encoding {other:?}: use gzip, zstd or none"
            )));
        }
    };
    r.map_err(|e| ApiError::Invalid(format!("the body could not be decompressed: {e}")))?;
    if out.len() > MAX_BATCH_BYTES {
        return Err(ApiError::TooLarge);
    }
    Ok(out)
}

/// Checks, limits and processes one batch; returns once it is stored (or found to be a
/// retry of a stored one).
pub async fn ingest(state: &AppState, b: IncomingBatch<'_>) -> Result<IngestResult, ApiError> {
    let (source, org, routing) = match &b.sender {
        Sender::Sensor(s) => (format!("sensor:{}", s.id), s.org_id, Routing::Sensor),
        Sender::User(actor) => {
            require_write(actor, "send events (analysts and administrators may)")?;
            let Some(p) = &actor.principal else {
                return Err(ApiError::Invalid(
                    "events come from a sensor or a user".into(),
                ));
            };
            (format!("user:{}", p.user_id), p.org_id, Routing::Sensor)
        }
    };
    let body = decode_body(b.content_encoding, b.body)?;
    let lines = body
        .split(|c| *c == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    if lines > MAX_BATCH_LINES {
        return Err(ApiError::TooLarge);
    }
    state.ingest_limiter.check(&source, lines)?;
    let format = match b.format {
        Some(f) => f
            .parse::<mamori_parse::Format>()
            .map_err(|e| ApiError::Invalid(e.to_string()))?,
        None if b.ndjson => mamori_parse::Format::Json,
        None => mamori_parse::Format::Auto,
    };
    let batch_id = match b.batch_id {
        Some(id) if !id.is_empty() && id.len() <= 128 && id.is_ascii() => id.to_owned(),
        Some(_) => {
            return Err(ApiError::Invalid(
                "X-Mamori-Batch must be 1-128 ASCII characters".into(),
            ));
        }
        None => uuid::Uuid::now_v7().to_string(),
    };
    let batch = RawBatch {
        header: BatchHeader {
            source,
            batch_id: batch_id.clone(),
            org_id: org,
            routing,
            format: format.name().to_owned(),
            received_at: mamori_store::now_millis(),
        },
        body,
    };
    if let Some(bus) = &state.bus {
        let published = mamori_pipeline::worker::enqueue(bus, &batch)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "bus: cannot queue a batch");
                ApiError::Unavailable
            })?;
        if let Sender::Sensor(s) = &b.sender {
            state.store.touch_sensor(&s.id).await?;
        }
        metrics::counter!("mamori_events_queued_total").increment(lines as u64);
        return Ok(IngestResult {
            batch: batch_id,
            accepted: if published.duplicate { 0 } else { lines as i64 },
            rejected: 0,
            duplicate: published.duplicate,
            queued: true,
            alerts_new: 0,
            alerts_updated: 0,
        });
    }
    let out: BatchOutcome = state.pipeline.process(batch).await.map_err(|e| match e {
        mamori_pipeline::PipelineError::Store(s) => ApiError::from(s),
        other => ApiError::Internal(other.to_string()),
    })?;
    if let Sender::Sensor(s) = &b.sender {
        state.store.touch_sensor(&s.id).await?;
    }
    metrics::counter!("mamori_events_ingested_total").increment(out.accepted as u64);
    metrics::counter!("mamori_events_rejected_total").increment(out.rejected as u64);
    Ok(IngestResult {
        batch: batch_id,
        accepted: out.accepted,
        rejected: out.rejected,
        duplicate: out.duplicate,
        queued: false,
        alerts_new: out.alerts_new,
        alerts_updated: out.alerts_updated,
    })
}

// ---- events ----

/// Search parameters as the API and console take them.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventSearch {
    /// Substring anywhere in the event (case-insensitive; Japanese works).
    pub q: Option<String>,
    /// From (ms since the epoch, inclusive).
    pub from: Option<i64>,
    /// To (ms since the epoch, exclusive).
    pub to: Option<i64>,
    /// `field:value` filters, comma-separated, e.g. `host.name:ws01,event.code:4625`.
    pub fields: Option<String>,
    /// Only this organisation (hub administrators; others see their own).
    pub org: Option<String>,
    /// Continue before this `ts:id` (the `next` of the previous page).
    pub before: Option<String>,
    /// 1-1000, default 100.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub items: Vec<StoredEvent>,
    /// Pass as `before` for the next page.
    pub next: Option<String>,
}

pub async fn search_events(
    state: &AppState,
    actor: &Actor,
    s: &EventSearch,
) -> Result<EventPage, ApiError> {
    let org = match (org_scope(actor), s.org.as_deref().filter(|o| !o.is_empty())) {
        (Some(own), _) => Some(own),
        (None, Some(o)) => Some(state.store.find_org(o).await?.id),
        (None, None) => None,
    };
    let mut fields = Vec::new();
    for part in s
        .fields
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|p| !p.trim().is_empty())
    {
        let (k, v) = part.split_once(':').ok_or_else(|| {
            ApiError::Invalid(format!("field filter {part:?} is not field:value"))
        })?;
        fields.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let before = match s.before.as_deref().filter(|b| !b.is_empty()) {
        Some(b) => {
            let (ts, id) = b
                .split_once(':')
                .and_then(|(t, i)| Some((t.parse().ok()?, i.parse().ok()?)))
                .ok_or_else(|| ApiError::Invalid("before must be ts:id".into()))?;
            Some((ts, id))
        }
        None => None,
    };
    let limit = s.limit.unwrap_or(100).clamp(1, 1000);
    let items = state
        .store
        .search_events(&EventQuery {
            org,
            from: s.from,
            to: s.to,
            text: s.q.clone(),
            fields,
            before,
            limit,
        })
        .await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(|e| format!("{}:{}", e.ts, e.id)))
        .flatten();
    Ok(EventPage { items, next })
}

/// The latest retro-hunts (hub administrators): when each ran, what it searched and found.
pub async fn retro_hunts(
    state: &AppState,
    actor: &Actor,
) -> Result<Vec<mamori_store::retro::RetroHunt>, ApiError> {
    require_admin(actor, "list retro-hunts (hub administrators may)")?;
    Ok(state.store.list_retro_hunts(100).await?)
}

pub async fn dead_letters(state: &AppState, actor: &Actor) -> Result<Vec<DeadLetter>, ApiError> {
    Ok(state.store.list_dead_letters(org_scope(actor), 200).await?)
}

// ---- alerts ----

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertView {
    pub alert: Alert,
    pub evidence: Vec<Evidence>,
}

/// Alerts are marked AMBER for the audit of reads: they describe a member's own systems.
const ALERT_TLP: Tlp = Tlp::Amber;

pub async fn list_alerts(
    state: &AppState,
    actor: &Actor,
    filter: &AlertFilter,
) -> Result<Vec<Alert>, ApiError> {
    let given = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    let limit = filter.limit.unwrap_or(DEFAULT_ALERTS);
    if !(1..=MAX_ALERTS).contains(&limit) {
        return Err(ApiError::Invalid(format!(
            "limit must be between 1 and {MAX_ALERTS}"
        )));
    }
    Ok(state
        .store
        .list_alerts(&AlertQuery {
            org: org_scope(actor),
            status: given(&filter.status),
            level: given(&filter.level),
            host: given(&filter.host),
            limit,
        })
        .await?)
}

/// Alerts listed when the caller gives no `limit`, and the most it may ask for.
const DEFAULT_ALERTS: i64 = 500;
const MAX_ALERTS: i64 = 1000;

/// Filters of an alert list (API query string and console).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertFilter {
    /// new, acknowledged, false_positive, escalated, closed
    pub status: Option<String>,
    /// informational, low, medium, high, critical
    pub level: Option<String>,
    /// Only alerts about this host (exact name).
    pub host: Option<String>,
    /// At most this many, newest activity first (1–1000, default 500).
    pub limit: Option<i64>,
}

/// The organisation an alert is routed to.
fn alert_org(a: &Alert) -> Result<OrgId, ApiError> {
    a.org_id
        .parse()
        .map_err(|_| ApiError::Internal("alert with a bad organisation id".into()))
}

/// The alert if the actor's organisation owns it (or the actor runs or audits the hub).
async fn load_alert(state: &AppState, actor: &Actor, id: &str) -> Result<Alert, ApiError> {
    let a = state.store.get_alert(id).await?;
    match org_scope(actor) {
        Some(org) if a.org_id != org.to_string() => Err(ApiError::NotFound("alert".into())),
        _ => Ok(a),
    }
}

pub async fn get_alert(state: &AppState, actor: &Actor, id: &str) -> Result<AlertView, ApiError> {
    let alert = load_alert(state, actor, id).await?;
    crate::ops::audit_read(&state.store, actor, "alert", id, ALERT_TLP).await?;
    let evidence = state.store.alert_evidence(id).await?;
    Ok(AlertView { alert, evidence })
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageInput {
    /// new, acknowledged, false_positive, escalated, closed
    pub status: Option<String>,
    /// A user name; empty clears.
    pub assignee: Option<String>,
}

pub async fn triage(
    state: &AppState,
    actor: &Actor,
    id: &str,
    input: &TriageInput,
) -> Result<Alert, ApiError> {
    require_write(actor, "triage alerts (analysts and administrators may)")?;
    load_alert(state, actor, id).await?;
    if let Some(user) = input.assignee.as_deref().filter(|u| !u.is_empty()) {
        state.store.find_user(user).await?;
    }
    let a = state
        .store
        .update_alert(
            id,
            &AlertChange {
                status: input.status.clone(),
                assignee: input.assignee.clone(),
                case_id: None,
            },
        )
        .await?;
    audit(
        &state.store,
        actor,
        "alert.triage",
        "alert",
        id,
        Some(ALERT_TLP),
        json!({"status": input.status, "assignee": input.assignee}),
    )
    .await?;
    Ok(a)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FalsePositiveInput {
    pub reason: String,
    /// Suppress the rule on every host of the organisation, not only this alert's host.
    #[serde(default)]
    pub all_hosts: bool,
}

/// Marks an alert a false positive and suppresses its rule on its host (or all hosts) for its
/// organisation from now on.
pub async fn false_positive(
    state: &AppState,
    actor: &Actor,
    id: &str,
    input: &FalsePositiveInput,
) -> Result<Alert, ApiError> {
    require_write(actor, "triage alerts (analysts and administrators may)")?;
    if input.reason.trim().is_empty() {
        return Err(ApiError::Invalid("say why it is a false positive".into()));
    }
    let a = load_alert(state, actor, id).await?;
    let org = alert_org(&a)?;
    let host = if input.all_hosts {
        "*"
    } else {
        a.host.as_str()
    };
    state
        .store
        .add_suppression(
            org,
            &a.rule_id,
            host,
            input.reason.trim(),
            Some(&actor.name),
        )
        .await?;
    let a = state
        .store
        .update_alert(
            id,
            &AlertChange {
                status: Some("false_positive".into()),
                ..AlertChange::default()
            },
        )
        .await?;
    audit(
        &state.store,
        actor,
        "alert.false_positive",
        "alert",
        id,
        Some(ALERT_TLP),
        json!({"rule": a.rule_id, "host": host, "reason": input.reason}),
    )
    .await?;
    Ok(a)
}

pub async fn suppressions(state: &AppState, actor: &Actor) -> Result<Vec<Suppression>, ApiError> {
    Ok(state.store.list_suppressions(org_scope(actor)).await?)
}

/// Opens a case for the alert's organisation with the alert and its evidence on the timeline.
pub async fn escalate(state: &AppState, actor: &Actor, id: &str) -> Result<Alert, ApiError> {
    require_write(actor, "escalate alerts (analysts and administrators may)")?;
    let a = load_alert(state, actor, id).await?;
    if let Some(case) = &a.case_id {
        return Err(ApiError::Conflict(format!(
            "already escalated to case {case}"
        )));
    }
    let org = alert_org(&a)?;
    let severity = match a.level.as_str() {
        "critical" => "critical",
        "high" => "high",
        "low" | "informational" => "low",
        _ => "medium",
    };
    let case = state
        .store
        .create_case(&NewCase {
            title: format!("{} ({})", a.title, a.host),
            description: format!(
                "Escalated from alert {} ({} {}, {} events).",
                a.id, a.kind, a.rule_id, a.event_count
            ),
            severity: severity.into(),
            tlp: ALERT_TLP,
            owner_org: org,
            created_by: actor.principal.as_ref().map(|p| p.user_id),
            tasks: vec![],
            incident_type: String::new(),
        })
        .await?;
    let by = actor.principal.as_ref().map(|p| p.user_id);
    state
        .store
        .add_timeline_entry(
            &case.id,
            a.first_seen,
            "alert",
            &format!("Alert: {} on {}", a.title, a.host),
            by,
        )
        .await?;
    for e in state.store.alert_evidence(id).await? {
        let text: String = e.doc.to_string().chars().take(2000).collect();
        state
            .store
            .add_timeline_entry(&case.id, e.ts, "alert-evidence", &text, by)
            .await?;
    }
    let a = state
        .store
        .update_alert(
            id,
            &AlertChange {
                status: Some("escalated".into()),
                case_id: Some(case.id.clone()),
                ..AlertChange::default()
            },
        )
        .await?;
    audit(
        &state.store,
        actor,
        "alert.escalate",
        "alert",
        id,
        Some(ALERT_TLP),
        json!({"case": case.id}),
    )
    .await?;
    Ok(a)
}

/// The pipeline an [`AppState`] runs batches through.
pub type SharedPipeline = Arc<mamori_pipeline::Pipeline>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn zstd_bodies_decode_with_or_without_a_declared_size() {
        let text = "{\"a\":1}\n".repeat(10_000);
        let one_shot = zstd::bulk::compress(text.as_bytes(), 1).unwrap();
        assert!(
            zstd::zstd_safe::get_frame_content_size(&one_shot)
                .unwrap()
                .is_some()
        );
        let streamed = zstd::encode_all(text.as_bytes(), 1).unwrap();
        let mut two_frames = one_shot.clone();
        two_frames.extend_from_slice(&one_shot);
        for (body, want) in [
            (&one_shot, text.clone()),
            (&streamed, text.clone()),
            (&two_frames, text.repeat(2)),
        ] {
            let got = decode_body(Some("zstd"), body).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), want);
        }
    }

    #[test]
    fn zstd_bombs_and_garbage_are_refused() {
        let big = vec![b'x'; MAX_BATCH_BYTES + 1];
        let declared = zstd::bulk::compress(&big, 1).unwrap();
        let streamed = zstd::encode_all(&big[..], 1).unwrap();
        for body in [&declared, &streamed] {
            assert!(matches!(
                decode_body(Some("zstd"), body),
                Err(ApiError::TooLarge)
            ));
        }
        assert!(matches!(
            decode_body(Some("zstd"), b"not zstd at all"),
            Err(ApiError::Invalid(_))
        ));
    }
}
