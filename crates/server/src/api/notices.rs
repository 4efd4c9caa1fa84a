//! Notices and the feed review queue: `GET /api/v1/notices`, `GET /api/v1/notices/{id}`
//! (with its CSV), `POST /api/v1/notices/{id}/status`, `GET /api/v1/feed-items/review`; and
//! `GET /api/v1/feed-sources` (collector state); and the public acknowledgement link `GET /notices/ack/{token}` that recipients open.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Html;
use axum::routing::get;
use mamori_store::notices::{FeedItem, FeedSource, NoticeRecord};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, Problem};
use crate::ops::Actor;
use crate::{ApiError, AppState, notices};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NoticeDetail {
    pub notice: NoticeRecord,
    /// The attached CSV of its items.
    pub csv: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NoticeStatusIn {
    /// queued, sent, failed, bounced, acknowledged or remediated.
    pub status: String,
}

/// Notices of the caller's organisation (hub administrators: all), newest first.
#[utoipa::path(get, path = "/api/v1/notices", tag = "notification",
    responses((status = 200, body = Vec<NoticeRecord>)))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<Vec<NoticeRecord>>, ApiError> {
    Ok(axum::Json(
        notices::list(&state.store, &Actor::from_auth(&auth), 200).await?,
    ))
}

/// One notice with its CSV.
#[utoipa::path(get, path = "/api/v1/notices/{id}", tag = "notification",
    params(("id" = String, Path)),
    responses((status = 200, body = NoticeDetail), (status = 404, body = Problem)))]
async fn detail(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<axum::Json<NoticeDetail>, ApiError> {
    let (notice, csv) = notices::get(&state.store, &Actor::from_auth(&auth), &id).await?;
    Ok(axum::Json(NoticeDetail { notice, csv }))
}

/// Sets a notice's status by hand, e.g. `bounced` (hub administrators).
#[utoipa::path(post, path = "/api/v1/notices/{id}/status", tag = "notification",
    params(("id" = String, Path)), request_body = NoticeStatusIn,
    responses((status = 200, body = NoticeRecord), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn set_status(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NoticeStatusIn>,
) -> Result<axum::Json<NoticeRecord>, ApiError> {
    Ok(axum::Json(
        notices::set_status_checked(
            &state.store,
            &Actor::from_auth(&auth),
            &id,
            &body.status,
            mamori_store::now_millis(),
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TakedownIn {
    /// The CSIRT organisation (id or slug) asked to act.
    pub org: String,
    /// Feed item ids (e.g. from the review queue).
    pub items: Vec<String>,
}

/// Queues a takedown request to a CSIRT about feed items (hub administrators); one notice per
/// contact language, in the takedown template.
#[utoipa::path(post, path = "/api/v1/notices/takedown", tag = "notification",
    request_body = TakedownIn,
    responses((status = 201, body = Vec<NoticeRecord>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn takedown(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<TakedownIn>,
) -> Result<(axum::http::StatusCode, axum::Json<Vec<NoticeRecord>>), ApiError> {
    let actor = Actor::from_auth(&auth);
    crate::monitor::require_admin(&actor, "takedown requests")?;
    let org = state.store.find_org(&body.org).await?;
    let settings = notices::NoticeSettings {
        public_url: state.config.public_url.clone(),
        ..notices::NoticeSettings::default()
    };
    let issued = notices::request_takedown(
        &state.store,
        &actor,
        &org,
        &body.items,
        &settings,
        mamori_store::now_millis(),
    )
    .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(issued.into_iter().map(|i| i.record).collect()),
    ))
}

/// Open feed items no member organisation owns (hub administrators).
#[utoipa::path(get, path = "/api/v1/feed-items/review", tag = "notification",
    responses((status = 200, body = Vec<FeedItem>), (status = 403, body = Problem)))]
async fn review(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<Vec<FeedItem>>, ApiError> {
    Ok(axum::Json(
        notices::review_queue(&state.store, &Actor::from_auth(&auth), 500).await?,
    ))
}

/// Feed collectors and how their last run went (hub administrators).
#[utoipa::path(get, path = "/api/v1/feed-sources", tag = "notification",
    responses((status = 200, body = Vec<FeedSource>), (status = 403, body = Problem)))]
async fn sources(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<Vec<FeedSource>>, ApiError> {
    crate::monitor::require_admin(&Actor::from_auth(&auth), "feed collectors")?;
    Ok(axum::Json(state.store.feed_sources().await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sources))
        .routes(routes!(takedown))
        .routes(routes!(list))
        .routes(routes!(detail))
        .routes(routes!(set_status))
        .routes(routes!(review))
}

/// The acknowledgement page: whoever holds the link acknowledges the notice.
async fn acknowledge(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<Html<String>, ApiError> {
    let actor = Actor {
        name: "acknowledgement link".into(),
        ..Actor::system()
    };
    match notices::acknowledge(&state.store, &actor, &token, mamori_store::now_millis()).await? {
        Some(n) => AckPage {
            id: n.id,
            status: n.status,
        }
        .render()
        .map(Html)
        .map_err(|e| ApiError::Internal(e.to_string())),
        None => Err(ApiError::NotFound("notice".into())),
    }
}

/// The page a recipient sees after opening the acknowledgement link.
#[derive(askama::Template)]
#[template(path = "notice_ack.html")]
struct AckPage {
    id: String,
    status: String,
}

/// Routes reached without logging in.
pub fn public_router() -> Router<AppState> {
    Router::new().route("/notices/ack/{token}", get(acknowledge))
}
