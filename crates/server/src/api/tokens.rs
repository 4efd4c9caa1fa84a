//! `/api/v1/tokens`: API tokens. The secret is in the creation response only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_model::{ApiToken, Scope, TokenId, UserId};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::ops::{self, Actor};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Expiry in milliseconds since the epoch; `expires_in_days` is the alternative.
    pub expires_at: Option<i64>,
    pub expires_in_days: Option<u32>,
    /// For whom (administrators only); defaults to the caller.
    #[schema(value_type = Option<String>)]
    pub user_id: Option<UserId>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// The secret: shown now and never again.
    pub secret: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct TokenQuery {
    /// Whose tokens (administrators only); defaults to the caller.
    pub user_id: Option<String>,
}

/// Lists tokens (metadata only).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens", params(TokenQuery),
    responses((status = 200, body = Vec<ApiToken>), (status = 403, body = Problem)))]
async fn list_tokens(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    let user = match q.user_id {
        Some(u) => state.store.find_user(&u).await?.id,
        None => auth.user.id,
    };
    Ok(Json(
        ops::list_tokens(&state.store, &Actor::from_auth(&auth), user).await?,
    ))
}

/// Creates a token. Its scopes must be allowed by the user's role and held by the caller.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let expires_at = match (body.expires_at, body.expires_in_days) {
        (Some(_), Some(_)) => {
            return Err(ApiError::Invalid(
                "give expires_at or expires_in_days, not both".into(),
            ));
        }
        (Some(at), None) => Some(at),
        (None, Some(days)) => {
            Some(mamori_store::now_millis() + i64::from(days.clamp(1, 3650)) * 86_400_000)
        }
        (None, None) => None,
    };
    let user = body.user_id.unwrap_or(auth.user.id);
    let (token, secret) = ops::create_token(
        &state.store,
        &Actor::from_auth(&auth),
        user,
        &body.name,
        &body.scopes,
        expires_at,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

/// Revokes a token at once.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path)),
    responses((status = 200, body = ApiToken), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<TokenId>,
) -> Result<Json<ApiToken>, ApiError> {
    Ok(Json(
        ops::revoke_token(&state.store, &Actor::from_auth(&auth), id).await?,
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}
