//! `/api/v1/reports`: the unit of sharing, with its indicators and observables.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_model::{Report, ReportId, Tlp};
use mamori_store::PageRequest;
use mamori_store::reports::ReportQuery;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::PageOf;
use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::ops::Actor;
use crate::sharing::{
    self, IndicatorInput, IndicatorView, ObservableInput, ObservableView, ReportInput,
    ReportPatchInput, ReportView,
};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReportListQuery {
    /// Text to find in title, description and labels (substring, any language).
    pub q: Option<String>,
    /// Only this TLP level.
    #[param(value_type = Option<String>)]
    pub tlp: Option<Tlp>,
    /// Include revoked reports.
    #[serde(default)]
    pub revoked: bool,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Reports the caller may see under TLP and sharing groups.
#[utoipa::path(get, path = "/api/v1/reports", tag = "sharing", params(ReportListQuery),
    responses((status = 200, body = PageOf<Report>), (status = 401, body = Problem)))]
async fn list_reports(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportListQuery>,
) -> Result<Json<PageOf<Report>>, ApiError> {
    let page = PageRequest::from_cursor(q.cursor.as_deref(), q.limit)?;
    let query = ReportQuery {
        text: q.q,
        tlp: q.tlp,
        include_revoked: q.revoked,
    };
    let page =
        sharing::list_reports(&state.share(), &Actor::from_auth(&auth), &query, &page).await?;
    Ok(Json(page.into()))
}

/// Shares a report with its indicators and observables, all or nothing.
#[utoipa::path(post, path = "/api/v1/reports", tag = "sharing", request_body = ReportInput,
    responses((status = 201, body = ReportView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<ReportInput>,
) -> Result<(StatusCode, Json<ReportView>), ApiError> {
    let v = sharing::create_report(&state.share(), &Actor::from_auth(&auth), &input).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// One report with its indicators (scored), observables, warning-list hits and correlations.
/// A report the caller may not see is reported as not found.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, body = ReportView), (status = 404, body = Problem)))]
async fn get_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
) -> Result<Json<ReportView>, ApiError> {
    Ok(Json(
        sharing::get_report(&state.share(), &Actor::from_auth(&auth), id).await?,
    ))
}

/// Changes a report (its authoring organisation's analysts, or hub administrators).
#[utoipa::path(patch, path = "/api/v1/reports/{id}", tag = "sharing", params(("id" = String, Path)),
    request_body = ReportPatchInput,
    responses((status = 200, body = ReportView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn update_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
    ApiJson(patch): ApiJson<ReportPatchInput>,
) -> Result<Json<ReportView>, ApiError> {
    Ok(Json(
        sharing::update_report(&state.share(), &Actor::from_auth(&auth), id, &patch).await?,
    ))
}

/// Revokes a report.
#[utoipa::path(post, path = "/api/v1/reports/{id}/revoke", tag = "sharing", params(("id" = String, Path)),
    responses((status = 200, body = ReportView), (status = 403, body = Problem)))]
async fn revoke_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
) -> Result<Json<ReportView>, ApiError> {
    Ok(Json(
        sharing::revoke_report(&state.share(), &Actor::from_auth(&auth), id).await?,
    ))
}

/// Adds an indicator to a report.
#[utoipa::path(post, path = "/api/v1/reports/{id}/indicators", tag = "sharing", params(("id" = String, Path)),
    request_body = IndicatorInput,
    responses((status = 201, body = IndicatorView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_indicator(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
    ApiJson(input): ApiJson<IndicatorInput>,
) -> Result<(StatusCode, Json<IndicatorView>), ApiError> {
    let v = sharing::add_indicator(&state.share(), &Actor::from_auth(&auth), id, &input).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Adds an observable to a report.
#[utoipa::path(post, path = "/api/v1/reports/{id}/observables", tag = "sharing", params(("id" = String, Path)),
    request_body = ObservableInput,
    responses((status = 201, body = ObservableView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn add_observable(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
    ApiJson(input): ApiJson<ObservableInput>,
) -> Result<(StatusCode, Json<ObservableView>), ApiError> {
    let v = sharing::add_observable(&state.share(), &Actor::from_auth(&auth), id, &input).await?;
    Ok((StatusCode::CREATED, Json(v)))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reports, create_report))
        .routes(routes!(get_report, update_report))
        .routes(routes!(revoke_report))
        .routes(routes!(add_indicator))
        .routes(routes!(add_observable))
}
