//! `/api/v1/cases/{id}/evidence`: evidence files of a case with their chain of custody. Uploads
//! are the raw request body (streamed to disk under `cases.evidence_max_bytes`); downloads stream
//! the file back as an attachment. Every upload and download is a custody entry.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use mamori_store::evidence::Evidence;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiPath, ApiQuery, Problem};
use crate::evidence::{self, EvidenceMeta, EvidenceView};
use crate::ops::Actor;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file's name (its directory part is dropped).
    pub filename: String,
    /// What the file is, where it came from.
    #[serde(default)]
    pub description: String,
}

/// Uploads a file as evidence (the raw request body). The same content uploaded to the same case
/// again keeps the first record and adds an `added-again` custody entry.
#[utoipa::path(post, path = "/api/v1/cases/{id}/evidence", tag = "cases", params(("id" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = EvidenceView), (status = 404, body = Problem), (status = 413, body = Problem)))]
async fn upload(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<EvidenceView>), ApiError> {
    let cx = state.cases();
    let actor = Actor::from_auth(&auth);
    let (case, mut writer) = evidence::begin_upload(&cx, &actor, &id).await?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::Invalid(format!("upload broken off: {e}")))?;
        writer.write(&chunk).await?;
    }
    let meta = EvidenceMeta {
        filename: q.filename,
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        description: q.description,
    };
    let v = evidence::finish_upload(&cx, &actor, &case, writer, &meta).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// The evidence of a case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/evidence", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Evidence>), (status = 404, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<Evidence>>, ApiError> {
    Ok(Json(
        evidence::list(&state.cases(), &Actor::from_auth(&auth), &id).await?,
    ))
}

/// One piece of evidence with its chain of custody.
#[utoipa::path(get, path = "/api/v1/cases/{id}/evidence/{evidence}", tag = "cases", params(("id" = String, Path), ("evidence" = String, Path)),
    responses((status = 200, body = EvidenceView), (status = 404, body = Problem)))]
async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, ev)): ApiPath<(String, String)>,
) -> Result<Json<EvidenceView>, ApiError> {
    Ok(Json(
        evidence::get(&state.cases(), &Actor::from_auth(&auth), &id, &ev).await?,
    ))
}

/// Downloads the file (recorded in the chain of custody with the caller's address).
#[utoipa::path(get, path = "/api/v1/cases/{id}/evidence/{evidence}/content", tag = "cases", params(("id" = String, Path), ("evidence" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem)))]
async fn download(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, ev)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let (e, file) = evidence::download(&state.cases(), &Actor::from_auth(&auth), &id, &ev).await?;
    Ok(file_response(&e, file))
}

/// A streamed attachment response for an evidence file; always `application/octet-stream`, so
/// that no browser renders or runs it.
pub(crate) fn file_response(e: &Evidence, file: tokio::fs::File) -> Response {
    let encoded: String =
        percent_encoding::utf8_percent_encode(&e.filename, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"evidence\"; filename*=UTF-8''{encoded}"),
            ),
            (header::CONTENT_LENGTH, e.size.to_string()),
            (
                header::HeaderName::from_static("x-evidence-sha256"),
                e.sha256.clone(),
            ),
        ],
        Body::from_stream(tokio_util::io::ReaderStream::new(file)),
    )
        .into_response()
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload, list))
        .routes(routes!(get_one))
        .routes(routes!(download))
}
