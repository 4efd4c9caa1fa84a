//! `/api/v1/indicators`, `/api/v1/search`, `/api/v1/sightings`, `/api/v1/warninglists`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_model::ValueKind;
use mamori_store::PageRequest;
use mamori_store::reports::SightingStats;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ListQuery, PageOf};
use crate::auth::Auth;
use crate::error::{ApiJson, ApiQuery, Problem};
use crate::ops::Actor;
use crate::sharing::{self, IndicatorView, SearchResult, SightingInput};
use crate::{ApiError, AppState};

/// Indicators the caller may see, with their decayed scores.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "sharing", params(ListQuery),
    responses((status = 200, body = PageOf<IndicatorView>), (status = 401, body = Problem)))]
async fn list_indicators(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<IndicatorView>>, ApiError> {
    let page = PageRequest::from_cursor(q.cursor.as_deref(), q.limit)?;
    Ok(Json(
        sharing::list_indicators(&state.share(), &Actor::from_auth(&auth), &page)
            .await?
            .into(),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct SearchQuery {
    /// The value to look for (defanged forms are accepted).
    pub value: String,
    /// Its kind; guessed when absent.
    #[param(value_type = Option<String>)]
    pub kind: Option<ValueKind>,
}

/// Where a value appears in what the caller may see, with warning-list hits and sightings.
#[utoipa::path(get, path = "/api/v1/search", tag = "sharing", params(SearchQuery),
    responses((status = 200, body = SearchResult), (status = 422, body = Problem)))]
async fn search(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<SearchResult>, ApiError> {
    Ok(Json(
        sharing::search_value(&state.share(), &Actor::from_auth(&auth), &q.value, q.kind).await?,
    ))
}

/// Reports a sighting (or a false positive) of a value by the caller's organisation.
#[utoipa::path(post, path = "/api/v1/sightings", tag = "sharing", request_body = SightingInput,
    responses((status = 201, body = SightingStats), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_sighting(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<SightingInput>,
) -> Result<(StatusCode, Json<SightingStats>), ApiError> {
    let s = sharing::add_sighting(&state.share(), &Actor::from_auth(&auth), &input).await?;
    Ok((StatusCode::CREATED, Json(s)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WarningListSummary {
    pub name: String,
    pub entries: usize,
}

/// The warning lists in force (built in, plus the data directory's `warninglists/`).
#[utoipa::path(get, path = "/api/v1/warninglists", tag = "sharing",
    responses((status = 200, body = Vec<WarningListSummary>)))]
async fn warninglists(State(state): State<AppState>, _auth: Auth) -> Json<Vec<WarningListSummary>> {
    Json(
        state
            .warninglists
            .summary()
            .into_iter()
            .map(|(name, entries)| WarningListSummary { name, entries })
            .collect(),
    )
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_indicators))
        .routes(routes!(search))
        .routes(routes!(add_sighting))
        .routes(routes!(warninglists))
}
