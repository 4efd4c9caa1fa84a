//! `/api/v1/users`: user accounts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_model::User;
use mamori_store::PageRequest;
use mamori_store::users::{NewUser, UserPatch};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ListQuery, PageOf};
use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::ops::{self, Actor};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    #[serde(flatten)]
    pub user: NewUser,
    /// Initial password (at least 12 characters). Without it the user can only use tokens
    /// until an administrator sets one.
    pub password: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    pub password: String,
    /// Required when users change their own password.
    pub current_password: Option<String>,
}

/// Lists users: all of them for administrators and auditors, one's own organisation's otherwise.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(ListQuery),
    responses((status = 200, body = PageOf<User>), (status = 401, body = Problem)))]
async fn list_users(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PageOf<User>>, ApiError> {
    let actor = Actor::from_auth(&auth);
    let org = (!ops::may_list_all_users(&actor)).then_some(auth.user.org_id);
    let page = PageRequest::from_cursor(q.cursor.as_deref(), q.limit)?;
    Ok(Json(state.store.list_users(org, &page).await?.into()))
}

/// Creates a user (administrators).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = User), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let user = ops::create_user(
        &state.store,
        &Actor::from_auth(&auth),
        &body.user,
        body.password.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// One user, by id or username (one's own organisation's unless administrator or auditor).
#[utoipa::path(get, path = "/api/v1/users/{user}", tag = "users",
    params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = User), (status = 404, body = Problem)))]
async fn get_user(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(user): ApiPath<String>,
) -> Result<Json<User>, ApiError> {
    let actor = Actor::from_auth(&auth);
    let found = state.store.find_user(&user).await?;
    if found.org_id != auth.user.org_id && !ops::may_list_all_users(&actor) {
        return Err(ApiError::NotFound("user".into()));
    }
    Ok(Json(found))
}

/// Changes a user: administrators change anyone; users change their own name, e-mail and language.
#[utoipa::path(patch, path = "/api/v1/users/{user}", tag = "users", request_body = UserPatch,
    params(("user" = String, Path, description = "id or username")),
    responses((status = 200, body = User), (status = 403, body = Problem)))]
async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(user): ApiPath<String>,
    ApiJson(patch): ApiJson<UserPatch>,
) -> Result<Json<User>, ApiError> {
    let actor = Actor::from_auth(&auth);
    let id = state.store.find_user(&user).await?.id;
    Ok(Json(
        ops::update_user(&state.store, &actor, id, &patch).await?,
    ))
}

/// Sets a password (administrators for anyone; users for themselves with the current one).
#[utoipa::path(put, path = "/api/v1/users/{user}/password", tag = "users", request_body = SetPassword,
    params(("user" = String, Path, description = "id or username")),
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn set_password(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(user): ApiPath<String>,
    ApiJson(body): ApiJson<SetPassword>,
) -> Result<StatusCode, ApiError> {
    let actor = Actor::from_auth(&auth);
    let id = state.store.find_user(&user).await?.id;
    ops::set_password(
        &state.store,
        &actor,
        id,
        &body.password,
        body.current_password.as_deref(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(set_password))
}
