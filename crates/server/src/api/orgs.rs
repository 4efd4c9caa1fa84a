//! `/api/v1/orgs`: member organisations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_model::{Org, OrgId};
use mamori_store::PageRequest;
use mamori_store::orgs::{NewOrg, OrgPatch};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ListQuery, PageOf};
use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::ops::{self, Actor};
use crate::{ApiError, AppState};

/// Lists organisations. Contacts and address ranges of other organisations are shown to
/// administrators only.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "organisations", params(ListQuery),
    responses((status = 200, body = PageOf<Org>), (status = 401, body = Problem)))]
async fn list_orgs(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<Org>>, ApiError> {
    let actor = Actor::from_auth(&auth);
    let page = PageRequest::from_cursor(q.cursor.as_deref(), q.limit)?;
    let page = state.store.list_orgs(&page).await?;
    Ok(Json(page.map(|o| ops::redact_org(&actor, o)).into()))
}

/// Creates an organisation (administrators).
#[utoipa::path(post, path = "/api/v1/orgs", tag = "organisations", request_body = NewOrg,
    responses((status = 201, body = Org), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_org(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(new): ApiJson<NewOrg>,
) -> Result<(StatusCode, Json<Org>), ApiError> {
    let org = ops::create_org(&state.store, &Actor::from_auth(&auth), &new).await?;
    Ok((StatusCode::CREATED, Json(org)))
}

/// One organisation, by id or slug.
#[utoipa::path(get, path = "/api/v1/orgs/{org}", tag = "organisations",
    params(("org" = String, Path, description = "id or slug")),
    responses((status = 200, body = Org), (status = 404, body = Problem)))]
async fn get_org(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(org): ApiPath<String>,
) -> Result<Json<Org>, ApiError> {
    let org = state.store.find_org(&org).await?;
    Ok(Json(ops::redact_org(&Actor::from_auth(&auth), org)))
}

/// Changes an organisation (administrators).
#[utoipa::path(patch, path = "/api/v1/orgs/{org}", tag = "organisations", request_body = OrgPatch,
    params(("org" = String, Path, description = "id or slug")),
    responses((status = 200, body = Org), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn update_org(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(org): ApiPath<String>,
    ApiJson(patch): ApiJson<OrgPatch>,
) -> Result<Json<Org>, ApiError> {
    let actor = Actor::from_auth(&auth);
    let id = resolve(&state, &actor, &org).await?;
    Ok(Json(
        ops::update_org(&state.store, &actor, id, &patch).await?,
    ))
}

/// Deletes an organisation that has no users (administrators).
#[utoipa::path(delete, path = "/api/v1/orgs/{org}", tag = "organisations",
    params(("org" = String, Path, description = "id or slug")),
    responses((status = 204), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn delete_org(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(org): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let actor = Actor::from_auth(&auth);
    let id = resolve(&state, &actor, &org).await?;
    ops::delete_org(&state.store, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// http:// or https:// URL that case notifications and notices are POSTed to as JSON; null
    /// removes it.
    pub url: Option<String>,
}

/// Sets the organisation's webhook for case notifications and notices (administrators).
#[utoipa::path(put, path = "/api/v1/orgs/{org}/webhook", tag = "organisations", request_body = WebhookInput,
    params(("org" = String, Path, description = "id or slug")),
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn set_webhook(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(org): ApiPath<String>,
    ApiJson(i): ApiJson<WebhookInput>,
) -> Result<StatusCode, ApiError> {
    let actor = Actor::from_auth(&auth);
    let id = resolve(&state, &actor, &org).await?;
    ops::set_org_webhook(&state.store, &actor, id, i.url.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Resolves an id or slug; callers who may not manage organisations get 403 before any lookup,
/// so that the answer does not reveal which organisations exist.
async fn resolve(state: &AppState, actor: &Actor, org: &str) -> Result<OrgId, ApiError> {
    if actor
        .principal
        .as_ref()
        .is_some_and(|p| !mamori_access::may_administer(p))
    {
        return Err(ApiError::forbidden("manage organisations"));
    }
    Ok(state.store.find_org(org).await?.id)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org, update_org, delete_org))
        .routes(routes!(set_webhook))
}
