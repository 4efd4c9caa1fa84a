//! `/api/v1/cases`: incident-response cases, visible to the organisations taking part.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_model::OrgId;
use mamori_store::cases::{Case, TimelineEntry};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::cases::{self, CaseInput, CaseView};
use crate::error::{ApiJson, ApiPath, Problem};
use crate::ops::Actor;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// new, triage, containment, eradication, recovery, closed
    pub status: String,
    /// Required when closing.
    pub resolution: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    /// Organisation id or slug.
    pub org: String,
    /// victim, coordinator, rescue-team, external-csirt, expert
    pub role: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineInput {
    pub text: String,
    /// When it happened (ms since the epoch); defaults to now.
    pub at: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    /// open, in-progress, done, skipped
    pub status: String,
}

/// Cases the caller's organisation takes part in.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", responses((status = 200, body = Vec<Case>)))]
async fn list_cases(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<Case>>, ApiError> {
    Ok(Json(
        cases::list(&state.share(), &Actor::from_auth(&auth)).await?,
    ))
}

/// Opens a case, optionally with a playbook's tasks (targeted-mail, ransomware, web-defacement,
/// ddos, data-leak, iot-botnet).
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CaseInput,
    responses((status = 201, body = CaseView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_case(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<CaseInput>,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(cases::create(&state.share(), &Actor::from_auth(&auth), &input).await?),
    ))
}

/// A case with its tasks and timeline (not found for organisations not taking part).
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = Problem)))]
async fn get_case(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        cases::get(&state.share(), &Actor::from_auth(&auth), &id).await?,
    ))
}

/// Moves a case to another status (the owner organisation).
#[utoipa::path(put, path = "/api/v1/cases/{id}/status", tag = "cases", params(("id" = String, Path)), request_body = StatusInput,
    responses((status = 200, body = CaseView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn set_status(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<StatusInput>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        cases::set_status(
            &state.share(),
            &Actor::from_auth(&auth),
            &id,
            &i.status,
            i.resolution.as_deref(),
        )
        .await?,
    ))
}

/// Adds an organisation to a case with a role (the owner organisation).
#[utoipa::path(post, path = "/api/v1/cases/{id}/participants", tag = "cases", params(("id" = String, Path)), request_body = ParticipantInput,
    responses((status = 200, body = CaseView), (status = 403, body = Problem)))]
async fn add_participant(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<ParticipantInput>,
) -> Result<Json<CaseView>, ApiError> {
    let org: OrgId = state.store.find_org(&i.org).await?.id;
    Ok(Json(
        cases::add_participant(&state.share(), &Actor::from_auth(&auth), &id, org, &i.role).await?,
    ))
}

/// Adds a manual entry to the case timeline (any participant).
#[utoipa::path(post, path = "/api/v1/cases/{id}/timeline", tag = "cases", params(("id" = String, Path)), request_body = TimelineInput,
    responses((status = 201, body = TimelineEntry), (status = 404, body = Problem)))]
async fn add_timeline(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<TimelineInput>,
) -> Result<(StatusCode, Json<TimelineEntry>), ApiError> {
    let e = cases::add_timeline(
        &state.share(),
        &Actor::from_auth(&auth),
        &id,
        i.at,
        &i.text,
        "manual",
    )
    .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// Sets a task's status (any participant).
#[utoipa::path(put, path = "/api/v1/cases/{id}/tasks/{task}", tag = "cases", params(("id" = String, Path), ("task" = String, Path)), request_body = TaskInput,
    responses((status = 200, body = CaseView), (status = 404, body = Problem)))]
async fn set_task(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, task)): ApiPath<(String, String)>,
    ApiJson(i): ApiJson<TaskInput>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        cases::set_task(
            &state.share(),
            &Actor::from_auth(&auth),
            &id,
            &task,
            &i.status,
        )
        .await?,
    ))
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    pub imported: usize,
    pub skipped: usize,
}

/// Imports a `mamori hunt --format jsonl` timeline into the case (source `hunt`).
#[utoipa::path(post, path = "/api/v1/cases/{id}/timeline/hunt", tag = "cases", params(("id" = String, Path)),
    request_body(content = String, content_type = "application/x-ndjson"),
    responses((status = 200, body = ImportResult), (status = 404, body = Problem)))]
async fn import_hunt(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    body: String,
) -> Result<Json<ImportResult>, ApiError> {
    let (imported, skipped) =
        cases::import_hunt(&state.share(), &Actor::from_auth(&auth), &id, &body).await?;
    Ok(Json(ImportResult { imported, skipped }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cases, create_case))
        .routes(routes!(get_case))
        .routes(routes!(set_status))
        .routes(routes!(add_participant))
        .routes(routes!(add_timeline))
        .routes(routes!(set_task))
        .routes(routes!(import_hunt))
}
