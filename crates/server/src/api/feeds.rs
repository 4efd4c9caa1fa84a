//! `GET /api/v1/share/feeds`: the status of the scheduled TAXII feeds (last run, last error,
//! objects moved), for hub administrators and analysts.

use axum::Json;
use axum::extract::State;
use mamori_access::may_write;
use mamori_store::feeds::FeedStatus;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::Problem;
use crate::ops::Actor;
use crate::{ApiError, AppState};

/// Status of every scheduled feed that has run.
#[utoipa::path(get, path = "/api/v1/share/feeds", tag = "interchange",
    responses((status = 200, body = Vec<FeedStatus>), (status = 403, body = Problem)))]
async fn feeds(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<FeedStatus>>, ApiError> {
    let actor = Actor::from_auth(&auth);
    if actor.principal.as_ref().is_some_and(|p| !may_write(p)) {
        return Err(ApiError::Forbidden(
            "feed status is for analysts and administrators".into(),
        ));
    }
    Ok(Json(state.store.feed_statuses().await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(feeds))
}
