//! `/api/v1/groups`: sharing groups and their member organisations.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_model::{GroupId, SharingGroup};
use mamori_store::groups::NewGroup;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, Problem};
use crate::ops::{self, Actor};
use crate::{ApiError, AppState};

/// Lists sharing groups (names and members are visible to every member of the hub, so that
/// authors know whom they release material to).
#[utoipa::path(get, path = "/api/v1/groups", tag = "sharing groups",
    responses((status = 200, body = Vec<SharingGroup>), (status = 401, body = Problem)))]
async fn list_groups(
    State(state): State<AppState>,
    _auth: Auth,
) -> Result<Json<Vec<SharingGroup>>, ApiError> {
    Ok(Json(state.store.list_groups().await?))
}

/// Creates a group (administrators, or analysts for a group their organisation runs).
#[utoipa::path(post, path = "/api/v1/groups", tag = "sharing groups", request_body = NewGroup,
    responses((status = 201, body = SharingGroup), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn create_group(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(new): ApiJson<NewGroup>,
) -> Result<(StatusCode, Json<SharingGroup>), ApiError> {
    let g = ops::create_group(&state.store, &Actor::from_auth(&auth), &new).await?;
    Ok((StatusCode::CREATED, Json(g)))
}

/// One group, by id or name.
#[utoipa::path(get, path = "/api/v1/groups/{group}", tag = "sharing groups",
    params(("group" = String, Path, description = "id or name")),
    responses((status = 200, body = SharingGroup), (status = 404, body = Problem)))]
async fn get_group(
    State(state): State<AppState>,
    _auth: Auth,
    ApiPath(group): ApiPath<String>,
) -> Result<Json<SharingGroup>, ApiError> {
    Ok(Json(state.store.find_group(&group).await?))
}

/// Deletes a group.
#[utoipa::path(delete, path = "/api/v1/groups/{group}", tag = "sharing groups",
    params(("group" = String, Path)),
    responses((status = 204), (status = 403, body = Problem)))]
async fn delete_group(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(group): ApiPath<GroupId>,
) -> Result<StatusCode, ApiError> {
    ops::delete_group(&state.store, &Actor::from_auth(&auth), group).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds an organisation (id or slug) to a group.
#[utoipa::path(put, path = "/api/v1/groups/{group}/members/{org}", tag = "sharing groups",
    params(("group" = String, Path), ("org" = String, Path, description = "id or slug")),
    responses((status = 200, body = SharingGroup), (status = 403, body = Problem)))]
async fn add_member(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((group, org)): ApiPath<(GroupId, String)>,
) -> Result<Json<SharingGroup>, ApiError> {
    let org = state.store.find_org(&org).await?.id;
    Ok(Json(
        ops::add_group_member(&state.store, &Actor::from_auth(&auth), group, org).await?,
    ))
}

/// Removes an organisation from a group.
#[utoipa::path(delete, path = "/api/v1/groups/{group}/members/{org}", tag = "sharing groups",
    params(("group" = String, Path), ("org" = String, Path, description = "id or slug")),
    responses((status = 200, body = SharingGroup), (status = 403, body = Problem)))]
async fn remove_member(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((group, org)): ApiPath<(GroupId, String)>,
) -> Result<Json<SharingGroup>, ApiError> {
    let org = state.store.find_org(&org).await?.id;
    Ok(Json(
        ops::remove_group_member(&state.store, &Actor::from_auth(&auth), group, org).await?,
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, delete_group))
        .routes(routes!(add_member, remove_member))
}
