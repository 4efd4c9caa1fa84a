//! `/api/v1/cases/{id}/requests`: coordination requests between the organisations of a case,
//! visible to the sender and the recipient only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_store::case_requests::{CaseRequest, RequestMessage};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::case_requests::{self, RequestInput, RequestView};
use crate::error::{ApiJson, ApiPath, Problem};
use crate::ops::Actor;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestStatusInput {
    /// open, accepted, declined, in_progress, done, cancelled
    pub status: String,
    /// The version you saw; a request changed since answers 409.
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    pub body: String,
}

/// Sends a request from the caller's organisation to another participant of the case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/requests", tag = "cases", params(("id" = String, Path)), request_body = RequestInput,
    responses((status = 201, body = CaseRequest), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<RequestInput>,
) -> Result<(StatusCode, Json<CaseRequest>), ApiError> {
    let to = state.store.find_org(&input.to).await?.id;
    let from = match &input.from {
        Some(f) => Some(state.store.find_org(f).await?.id),
        None => None,
    };
    let r = case_requests::create(
        &state.cases(),
        &Actor::from_auth(&auth),
        &id,
        to,
        from,
        &input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// The requests of the case that the caller's organisation sends or receives.
#[utoipa::path(get, path = "/api/v1/cases/{id}/requests", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CaseRequest>), (status = 404, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<CaseRequest>>, ApiError> {
    Ok(Json(
        case_requests::list(&state.cases(), &Actor::from_auth(&auth), &id).await?,
    ))
}

/// A request with its thread.
#[utoipa::path(get, path = "/api/v1/cases/{id}/requests/{request}", tag = "cases", params(("id" = String, Path), ("request" = String, Path)),
    responses((status = 200, body = RequestView), (status = 404, body = Problem)))]
async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, rid)): ApiPath<(String, String)>,
) -> Result<Json<RequestView>, ApiError> {
    Ok(Json(
        case_requests::get(&state.cases(), &Actor::from_auth(&auth), &id, &rid).await?,
    ))
}

/// Changes a request's status: the recipient accepts, declines, works and completes it; the
/// sender may cancel it.
#[utoipa::path(put, path = "/api/v1/cases/{id}/requests/{request}/status", tag = "cases", params(("id" = String, Path), ("request" = String, Path)), request_body = RequestStatusInput,
    responses((status = 200, body = CaseRequest), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn set_status(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, rid)): ApiPath<(String, String)>,
    ApiJson(i): ApiJson<RequestStatusInput>,
) -> Result<Json<CaseRequest>, ApiError> {
    Ok(Json(
        case_requests::set_status(
            &state.cases(),
            &Actor::from_auth(&auth),
            &id,
            &rid,
            &i.status,
            i.version,
        )
        .await?,
    ))
}

/// Adds a message to the request's thread (sender or recipient).
#[utoipa::path(post, path = "/api/v1/cases/{id}/requests/{request}/messages", tag = "cases", params(("id" = String, Path), ("request" = String, Path)), request_body = MessageInput,
    responses((status = 201, body = RequestMessage), (status = 404, body = Problem)))]
async fn add_message(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, rid)): ApiPath<(String, String)>,
    ApiJson(i): ApiJson<MessageInput>,
) -> Result<(StatusCode, Json<RequestMessage>), ApiError> {
    let m =
        case_requests::add_message(&state.cases(), &Actor::from_auth(&auth), &id, &rid, &i.body)
            .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one))
        .routes(routes!(set_status))
        .routes(routes!(add_message))
}
