//! `POST /api/v1/mail`: analyse a suspicious message (raw RFC 5322 bytes in the body).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::Problem;
use crate::mail::{self, MailResult};
use crate::ops::Actor;
use crate::{ApiError, AppState};

/// Analyses one message: headers, Received chain, authentication results, URLs, attachments
/// (recursively, PPAP zips included), the hub's enabled YARA rule sets over every part, a
/// verdict with reasons in Japanese and English, and the shared indicators it touches. Nothing is stored but an audit record.
#[utoipa::path(post, path = "/api/v1/mail", tag = "mail",
    request_body(content = String, content_type = "message/rfc822"),
    responses((status = 200, body = MailResult), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn analyze_mail(
    State(state): State<AppState>,
    auth: Auth,
    body: Bytes,
) -> Result<Json<MailResult>, ApiError> {
    Ok(Json(
        mail::analyze(&state.mail(), &Actor::from_auth(&auth), body.to_vec()).await?,
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    // Messages with attachments exceed the API's general body limit.
    OpenApiRouter::new()
        .routes(routes!(analyze_mail))
        .layer(axum::extract::DefaultBodyLimit::max(
            mail::MAX_MESSAGE_BYTES,
        ))
}
