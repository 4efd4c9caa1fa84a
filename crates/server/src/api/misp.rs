//! MISP interchange over HTTP: `POST /api/v1/import/misp` and the feed under `/misp/feed/`
//! (`manifest.json`, `<uuid>.json`), which a MISP instance can subscribe to with a bearer token.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_model::{GroupId, ReportId, Tlp};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiPath, ApiQuery, Problem};
use crate::interchange::{self, MispImport};
use crate::ops::Actor;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    /// TLP for events without a `tlp:` tag (default AMBER).
    #[param(value_type = Option<String>)]
    pub tlp: Option<Tlp>,
    /// Release the imported report to this sharing group.
    #[param(value_type = Option<String>)]
    pub sharing_group: Option<GroupId>,
}

/// Imports a MISP event (`{"Event": {...}}`) as a report of the caller's organisation.
#[utoipa::path(post, path = "/api/v1/import/misp", tag = "interchange", params(ImportQuery),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 201, body = MispImport), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn import_misp(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<MispImport>), ApiError> {
    let r = interchange::import_misp_event(
        &state.share(),
        &Actor::from_auth(&auth),
        &body,
        q.tlp,
        q.sharing_group,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The MISP feed manifest of what the caller may see and export (CLEAR, GREEN, AMBER).
#[utoipa::path(get, path = "/misp/feed/manifest.json", tag = "interchange",
    responses((status = 200, body = Object), (status = 401, body = Problem)))]
async fn manifest(State(state): State<AppState>, auth: Auth) -> Result<Response, ApiError> {
    let docs = interchange::misp_feed(&state.share(), &Actor::from_auth(&auth)).await?;
    Ok(json_response(mamori_misp::feed::to_json(
        &mamori_misp::feed::manifest(&docs),
    )))
}

/// One event of the feed.
#[utoipa::path(get, path = "/misp/feed/{file}", tag = "interchange",
    params(("file" = String, Path, description = "<uuid>.json")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
async fn event(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(file): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id: ReportId = file
        .strip_suffix(".json")
        .and_then(|u| u.parse().ok())
        .ok_or_else(|| ApiError::NotFound("event".into()))?;
    let doc = interchange::misp_feed_event(&state.share(), &Actor::from_auth(&auth), id).await?;
    Ok(json_response(mamori_misp::feed::to_json(&doc)))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_misp))
        .routes(routes!(manifest))
        .routes(routes!(event))
}
