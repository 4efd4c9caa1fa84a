//! `/api/v1/events`, `/api/v1/alerts`, `/api/v1/sensors`: ingestion, event search, dead
//! letters, alert triage and sensor registration; `/api/v1/sensor/key` and
//! `/api/v1/sensor/bundle`: the hub's public key and the signed rule bundle a sensor pulls
//! (see [`crate::bundle`] for the version, the diff and what is signed).

use axum::Json;
use axum::extract::{FromRequestParts, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use mamori_store::alerts::{Alert, Suppression};
use mamori_store::events::DeadLetter;
use mamori_store::sensors::{SENSOR_TOKEN_PREFIX, Sensor};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, Problem};
use crate::monitor::{
    self, AlertFilter, AlertView, EventPage, EventSearch, FalsePositiveInput, IncomingBatch,
    IngestResult, NewSensorOut, Sender, TriageInput,
};
use crate::ops::Actor;
use crate::{ApiError, AppState};

/// Largest compressed request body accepted for a batch.
const MAX_WIRE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestParams {
    /// Line format: auto, json, syslog, cef, leef, access, squid, dns, eve, zeek-json,
    /// zeek-tsv. Default: json for `application/x-ndjson`, else auto.
    pub format: Option<String>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Ingests a batch of events: NDJSON (one event per line; sensors send normalised events and
/// dead letters) or raw log lines in a named format, optionally gzip or zstd compressed.
/// Authenticate with a sensor token (`mms_...`) or an API token with the write scope. Send
/// the same `X-Mamori-Batch` id when retrying: a batch already stored is acknowledged with
/// `duplicate: true` and stored once. Answers after the batch is durably stored.
#[utoipa::path(post, path = "/api/v1/events", tag = "monitoring", params(IngestParams,
        ("X-Mamori-Batch" = Option<String>, Header, description = "Batch id, the same on every retry")),
    request_body(content = String, content_type = "application/x-ndjson"),
    responses((status = 202, body = IngestResult), (status = 200, body = IngestResult, description = "a retry of a stored batch"),
        (status = 401, body = Problem), (status = 413, body = Problem), (status = 429, body = Problem)))]
async fn ingest(
    State(state): State<AppState>,
    Query(params): Query<IngestParams>,
    request: Request,
) -> Result<(StatusCode, Json<IngestResult>), ApiError> {
    let (mut parts, body) = request.into_parts();
    let sender = match bearer(&parts.headers) {
        Some(t) if t.starts_with(SENSOR_TOKEN_PREFIX) => Sender::Sensor(
            state
                .store
                .sensor_by_token(t)
                .await?
                .ok_or(ApiError::Unauthenticated)?,
        ),
        _ => Sender::User(Actor::from_auth(
            &Auth::from_request_parts(&mut parts, &state).await?,
        )),
    };
    let body = axum::body::to_bytes(body, MAX_WIRE_BYTES)
        .await
        .map_err(|_| ApiError::TooLarge)?;
    let h = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let ndjson = h("content-type").is_some_and(|c| c.contains("ndjson") || c.contains("json"));
    let out = monitor::ingest(
        &state,
        IncomingBatch {
            sender,
            batch_id: h("x-mamori-batch"),
            content_encoding: h("content-encoding"),
            format: params.format.as_deref(),
            ndjson,
            body: &body,
        },
    )
    .await?;
    let status = if out.duplicate {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(out)))
}

/// Searches stored events: time range, `field:value` filters, substring text. Members see
/// their organisation's events; hub administrators see all.
#[utoipa::path(get, path = "/api/v1/events", tag = "monitoring", params(EventSearch),
    responses((status = 200, body = EventPage), (status = 422, body = Problem)))]
async fn search_events(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<EventSearch>,
) -> Result<Json<EventPage>, ApiError> {
    Ok(Json(
        monitor::search_events(&state, &Actor::from_auth(&auth), &q).await?,
    ))
}

/// Lines that could not be parsed, with the reason and where they came from.
#[utoipa::path(get, path = "/api/v1/events/dead-letters", tag = "monitoring",
    responses((status = 200, body = Vec<DeadLetter>)))]
async fn dead_letters(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    Ok(Json(
        monitor::dead_letters(&state, &Actor::from_auth(&auth)).await?,
    ))
}

/// The latest retro-hunts: each newly shared indicator is searched for in the events stored
/// before it (hub administrators).
#[utoipa::path(get, path = "/api/v1/retro-hunts", tag = "monitoring",
    responses((status = 200, body = Vec<mamori_store::retro::RetroHunt>)))]
async fn retro_hunts(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<mamori_store::retro::RetroHunt>>, ApiError> {
    Ok(Json(
        monitor::retro_hunts(&state, &Actor::from_auth(&auth)).await?,
    ))
}

/// Alerts routed to the caller's organisation (hub administrators: all).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "monitoring", params(AlertFilter),
    responses((status = 200, body = Vec<Alert>)))]
async fn list_alerts(
    State(state): State<AppState>,
    auth: Auth,
    Query(f): Query<AlertFilter>,
) -> Result<Json<Vec<Alert>>, ApiError> {
    Ok(Json(
        monitor::list_alerts(&state, &Actor::from_auth(&auth), &f).await?,
    ))
}

/// An alert with its evidence events.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "monitoring", params(("id" = String, Path)),
    responses((status = 200, body = AlertView), (status = 404, body = Problem)))]
async fn get_alert(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(
        monitor::get_alert(&state, &Actor::from_auth(&auth), &id).await?,
    ))
}

/// Triage: set the status or the assignee.
#[utoipa::path(patch, path = "/api/v1/alerts/{id}", tag = "monitoring", params(("id" = String, Path)),
    request_body = TriageInput, responses((status = 200, body = Alert), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn triage(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<TriageInput>,
) -> Result<Json<Alert>, ApiError> {
    Ok(Json(
        monitor::triage(&state, &Actor::from_auth(&auth), &id, &i).await?,
    ))
}

/// Marks a false positive and suppresses the rule on the host (or all hosts) from now on.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/false-positive", tag = "monitoring", params(("id" = String, Path)),
    request_body = FalsePositiveInput, responses((status = 200, body = Alert), (status = 422, body = Problem)))]
async fn false_positive(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<FalsePositiveInput>,
) -> Result<Json<Alert>, ApiError> {
    Ok(Json(
        monitor::false_positive(&state, &Actor::from_auth(&auth), &id, &i).await?,
    ))
}

/// Opens a case for the alert's organisation, with the alert and its evidence on the timeline.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/escalate", tag = "monitoring", params(("id" = String, Path)),
    responses((status = 200, body = Alert), (status = 409, body = Problem)))]
async fn escalate(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Alert>, ApiError> {
    Ok(Json(
        monitor::escalate(&state, &Actor::from_auth(&auth), &id).await?,
    ))
}

/// False-positive suppressions in force.
#[utoipa::path(get, path = "/api/v1/alerts/suppressions", tag = "monitoring",
    responses((status = 200, body = Vec<Suppression>)))]
async fn suppressions(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<Suppression>>, ApiError> {
    Ok(Json(
        monitor::suppressions(&state, &Actor::from_auth(&auth)).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SensorInput {
    /// Organisation id or slug.
    pub org: String,
    pub name: String,
}

/// Sensors (of the caller's organisation; administrators: all).
#[utoipa::path(get, path = "/api/v1/sensors", tag = "monitoring", responses((status = 200, body = Vec<Sensor>)))]
async fn list_sensors(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<Sensor>>, ApiError> {
    Ok(Json(
        monitor::list_sensors(&state.store, &Actor::from_auth(&auth)).await?,
    ))
}

/// Registers a sensor and returns its token, once (hub administrators).
#[utoipa::path(post, path = "/api/v1/sensors", tag = "monitoring", request_body = SensorInput,
    responses((status = 201, body = NewSensorOut), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn create_sensor(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(i): ApiJson<SensorInput>,
) -> Result<(StatusCode, Json<NewSensorOut>), ApiError> {
    let org = state.store.find_org(&i.org).await?.id;
    Ok((
        StatusCode::CREATED,
        Json(monitor::create_sensor(&state.store, &Actor::from_auth(&auth), org, &i.name).await?),
    ))
}

/// Revokes a sensor: its token is refused from now on (hub administrators).
#[utoipa::path(delete, path = "/api/v1/sensors/{id}", tag = "monitoring", params(("id" = String, Path)),
    responses((status = 200, body = Sensor), (status = 404, body = Problem)))]
async fn revoke_sensor(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Sensor>, ApiError> {
    Ok(Json(
        monitor::revoke_sensor(&state.store, &Actor::from_auth(&auth), &id).await?,
    ))
}

/// The hub's public Ed25519 key that signs sensor bundles (no secret: pin it on sensors with
/// `mamori sensor --hub-key`).
#[utoipa::path(get, path = "/api/v1/sensor/key", tag = "monitoring",
    responses((status = 200, body = crate::bundle::PublicKeyOut), (status = 503, body = Problem)))]
async fn sensor_key(
    State(state): State<AppState>,
) -> Result<Json<crate::bundle::PublicKeyOut>, ApiError> {
    let key = state.bundles.public_key().map_err(|e| {
        tracing::error!("sensor key: {e}");
        ApiError::Unavailable
    })?;
    Ok(Json(key))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BundleParams {
    /// The version the sensor has; a diff against it when the hub still knows it.
    pub since: Option<String>,
}

/// The rules and indicators for the calling sensor (sensor token `mms_...`): its
/// organisation's visible indicators and the hub's rules, in full or as a diff against
/// `since`. The body is signed: `X-Mamori-Signature` is the base64 Ed25519 signature over the
/// exact body bytes with the key `GET /api/v1/sensor/key` publishes (`X-Mamori-Key-Id`).
#[utoipa::path(get, path = "/api/v1/sensor/bundle", tag = "monitoring", params(BundleParams),
    responses((status = 200, body = crate::bundle::BundlePayload,
        headers(("X-Mamori-Signature" = String, description = "base64 Ed25519 signature over the body"),
                ("X-Mamori-Key-Id" = String, description = "the signing key's id"))),
        (status = 401, body = Problem), (status = 503, body = Problem)))]
async fn sensor_bundle(
    State(state): State<AppState>,
    Query(params): Query<BundleParams>,
    headers: HeaderMap,
) -> Result<axum::response::Response, ApiError> {
    let sensor = match bearer(&headers) {
        Some(t) if t.starts_with(SENSOR_TOKEN_PREFIX) => state
            .store
            .sensor_by_token(t)
            .await?
            .ok_or(ApiError::Unauthenticated)?,
        _ => return Err(ApiError::Unauthenticated),
    };
    // Versions are 64 hex digits; anything else is unknown (a full bundle).
    let since = params
        .since
        .as_deref()
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    let signed = crate::bundle::bundle_for(&state, &sensor, since).await?;
    axum::response::Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(crate::bundle::SIGNATURE_HEADER, signed.signature)
        .header(crate::bundle::KEY_ID_HEADER, signed.key_id)
        .body(axum::body::Body::from(signed.body))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ingest, search_events))
        .routes(routes!(dead_letters))
        .routes(routes!(retro_hunts))
        .routes(routes!(list_alerts))
        .routes(routes!(suppressions))
        .routes(routes!(get_alert, triage))
        .routes(routes!(false_positive))
        .routes(routes!(escalate))
        .routes(routes!(list_sensors, create_sensor))
        .routes(routes!(revoke_sensor))
        .routes(routes!(sensor_key))
        .routes(routes!(sensor_bundle))
}
