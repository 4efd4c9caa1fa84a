//! `/api/v1/reports/{id}/notes` and `/api/v1/reports/{id}/attachments`: notes and files on a
//! report, readable by whoever may see the report (through `report_extras`, which asks the
//! visibility policy first). Downloads are always `application/octet-stream` attachments.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_model::ReportId;
use mamori_store::notes::{Attachment, Note};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::ops::Actor;
use crate::report_extras;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NoteInput {
    pub body: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UploadQuery {
    /// The file's name.
    pub name: String,
}

/// The notes on a report.
#[utoipa::path(get, path = "/api/v1/reports/{id}/notes", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Note>), (status = 404, body = Problem)))]
async fn list_notes(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
) -> Result<Json<Vec<Note>>, ApiError> {
    Ok(Json(
        report_extras::list_notes(&state.share(), &Actor::from_auth(&auth), id).await?,
    ))
}

/// Adds a note to a report the caller may see.
#[utoipa::path(post, path = "/api/v1/reports/{id}/notes", tag = "sharing", params(("id" = String, Path)),
    request_body = NoteInput,
    responses((status = 201, body = Note), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_note(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
    ApiJson(input): ApiJson<NoteInput>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let n =
        report_extras::add_note(&state.share(), &Actor::from_auth(&auth), id, &input.body).await?;
    Ok((StatusCode::CREATED, Json(n)))
}

/// The attachments of a report.
#[utoipa::path(get, path = "/api/v1/reports/{id}/attachments", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Attachment>), (status = 404, body = Problem)))]
async fn list_attachments(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
) -> Result<Json<Vec<Attachment>>, ApiError> {
    Ok(Json(
        report_extras::list_attachments(&state.share(), &Actor::from_auth(&auth), id).await?,
    ))
}

/// Attaches a file (the request body) to a report the caller's organisation owns.
#[utoipa::path(post, path = "/api/v1/reports/{id}/attachments", tag = "sharing",
    params(("id" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Attachment), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_attachment(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
    ApiQuery(q): ApiQuery<UploadQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<Attachment>), ApiError> {
    let a = report_extras::add_attachment(
        &state.share(),
        &Actor::from_auth(&auth),
        &state.config.data_dir,
        id,
        &q.name,
        &body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// Downloads an attachment.
#[utoipa::path(get, path = "/api/v1/reports/{id}/attachments/{attachment}", tag = "sharing",
    params(("id" = String, Path), ("attachment" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = Problem)))]
async fn download(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, attachment)): ApiPath<(ReportId, String)>,
) -> Result<Response, ApiError> {
    let (a, bytes) = report_extras::read_attachment(
        &state.share(),
        &Actor::from_auth(&auth),
        &state.config.data_dir,
        id,
        &attachment,
    )
    .await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let ascii: String = a
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notes, add_note))
        .routes(routes!(list_attachments, add_attachment))
        .routes(routes!(download))
}
