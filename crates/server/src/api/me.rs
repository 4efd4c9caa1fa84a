//! `/api/v1/me`: who the caller is.

use axum::Json;
use mamori_model::{Org, Scope, User};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::{ApiError, AppState};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: User,
    pub org: Org,
    pub scopes: Vec<Scope>,
    #[schema(value_type = Vec<String>)]
    pub groups: Vec<mamori_model::GroupId>,
}

/// The authenticated user, their organisation, the scopes of this credential and the sharing
/// groups their organisation belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "identity",
    responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)))]
async fn me(
    axum::extract::State(state): axum::extract::State<AppState>,
    auth: Auth,
) -> Result<Json<Me>, ApiError> {
    let org = state.store.get_org(auth.user.org_id).await?;
    Ok(Json(Me {
        user: auth.user,
        org,
        scopes: auth.principal.scopes,
        groups: auth.principal.groups,
    }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}
