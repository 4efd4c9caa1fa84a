//! `/api/v1/playbooks`: task templates per incident type; hub administrators edit them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_store::playbooks::PlaybookTask;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, Problem};
use crate::ops::Actor;
use crate::playbooks::{self, Playbook};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookInput {
    pub tasks: Vec<PlaybookTask>,
}

/// Every playbook: the built-in ones (as edited) and those administrators added.
#[utoipa::path(get, path = "/api/v1/playbooks", tag = "cases", responses((status = 200, body = Vec<Playbook>)))]
async fn list(State(state): State<AppState>, _auth: Auth) -> Result<Json<Vec<Playbook>>, ApiError> {
    Ok(Json(playbooks::list(&state.store).await?))
}

/// Creates or replaces a playbook (hub administrators).
#[utoipa::path(put, path = "/api/v1/playbooks/{name}", tag = "cases", params(("name" = String, Path)), request_body = PlaybookInput,
    responses((status = 200, body = Playbook), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(i): ApiJson<PlaybookInput>,
) -> Result<Json<Playbook>, ApiError> {
    Ok(Json(
        playbooks::put(&state.store, &Actor::from_auth(&auth), &name, &i.tasks).await?,
    ))
}

/// Resets a built-in playbook to its shipped tasks, or removes an added one (hub administrators).
#[utoipa::path(delete, path = "/api/v1/playbooks/{name}", tag = "cases", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reset(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    playbooks::reset(&state.store, &Actor::from_auth(&auth), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(put, reset))
}
