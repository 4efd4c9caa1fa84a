//! STIX 2.1 bundles over the JSON API: `POST /api/v1/import/stix` and
//! `GET /api/v1/reports/{id}/stix`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_model::{ReportId, Tlp};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiPath, ApiQuery, Problem};
use crate::ops::Actor;
use crate::stix_interchange::{self, StixImport};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct StixImportQuery {
    /// TLP for objects without a TLP marking (default AMBER).
    #[param(value_type = Option<String>)]
    pub tlp: Option<Tlp>,
}

/// Imports a STIX 2.1 bundle: its reports become reports of the caller's organisation, and every
/// object is kept verbatim in the organisation's TAXII collection.
#[utoipa::path(post, path = "/api/v1/import/stix", tag = "interchange", params(StixImportQuery),
    request_body(content = Object, content_type = "application/json"),
    responses((status = 201, body = StixImport), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn import_stix(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<StixImportQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<StixImport>), ApiError> {
    let r = stix_interchange::import_bundle(&state.share(), &Actor::from_auth(&auth), &body, q.tlp)
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// A report as a STIX 2.1 bundle (not for AMBER+STRICT or RED).
#[utoipa::path(get, path = "/api/v1/reports/{id}/stix", tag = "interchange", params(("id" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_stix(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<ReportId>,
) -> Result<Response, ApiError> {
    let bundle =
        stix_interchange::export_report(&state.share(), &Actor::from_auth(&auth), id).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/stix+json;version=2.1")],
        bundle.to_json(),
    )
        .into_response())
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_stix))
        .routes(routes!(export_stix))
}
