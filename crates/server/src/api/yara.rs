//! `/api/v1/yara-rule-sets`: the YARA rule sets mail analysis scans with. Administrators and
//! analysts read them; hub administrators create, replace, enable, disable and delete them. A
//! source that does not compile is refused with an `invalid-rule` problem naming the line.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mamori_store::yara_rules::{YaraRuleSet, YaraRuleSetInfo};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::error::{ApiJson, ApiPath, Problem};
use crate::ops::Actor;
use crate::yara_rules::{self, CompiledStatus, NewRuleSet, RuleSetUpdate, SavedRuleSet};
use crate::{ApiError, AppState};

/// Request bodies carry a whole source (at most 2 MiB, JSON-escaped).
const BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The rule sets and what the hub scans with now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleSetList {
    pub items: Vec<YaraRuleSetInfo>,
    pub compiled: CompiledStatus,
}

/// Every rule set, without sources (administrators and analysts).
#[utoipa::path(get, path = "/api/v1/yara-rule-sets", tag = "mail",
    responses((status = 200, body = RuleSetList), (status = 403, body = Problem)))]
async fn list(State(state): State<AppState>, auth: Auth) -> Result<Json<RuleSetList>, ApiError> {
    let items = yara_rules::list(&state.store, &Actor::from_auth(&auth)).await?;
    // Bring the compiled rules up to date with storage before reporting them.
    state.yara.scanner(&state.store).await?;
    Ok(Json(RuleSetList {
        items,
        compiled: state.yara.status(),
    }))
}

/// Creates a rule set (hub administrators). It is compiled first; a bad rule is refused with
/// `/problems/invalid-rule` and `rule_set`, `line`, `column`, `rule_error`, `message`.
#[utoipa::path(post, path = "/api/v1/yara-rule-sets", tag = "mail",
    request_body = NewRuleSet,
    responses((status = 201, body = SavedRuleSet), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<NewRuleSet>,
) -> Result<(StatusCode, Json<SavedRuleSet>), ApiError> {
    let saved =
        yara_rules::create(&state.store, &state.yara, &Actor::from_auth(&auth), &input).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// One rule set with its source (administrators and analysts).
#[utoipa::path(get, path = "/api/v1/yara-rule-sets/{name}", tag = "mail",
    params(("name" = String, Path)),
    responses((status = 200, body = YaraRuleSet), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<YaraRuleSet>, ApiError> {
    Ok(Json(
        yara_rules::get(&state.store, &Actor::from_auth(&auth), &name).await?,
    ))
}

/// Replaces a rule set's source (hub administrators); compiled first like a new one.
#[utoipa::path(put, path = "/api/v1/yara-rule-sets/{name}", tag = "mail",
    request_body = RuleSetUpdate, params(("name" = String, Path)),
    responses((status = 200, body = SavedRuleSet), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(input): ApiJson<RuleSetUpdate>,
) -> Result<Json<SavedRuleSet>, ApiError> {
    Ok(Json(
        yara_rules::update(
            &state.store,
            &state.yara,
            &Actor::from_auth(&auth),
            &name,
            &input,
        )
        .await?,
    ))
}

/// Deletes a rule set (hub administrators).
#[utoipa::path(delete, path = "/api/v1/yara-rule-sets/{name}", tag = "mail",
    params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    yara_rules::delete(&state.store, &state.yara, &Actor::from_auth(&auth), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enables a rule set: mail analysis scans with it (hub administrators).
#[utoipa::path(post, path = "/api/v1/yara-rule-sets/{name}/enable", tag = "mail",
    params(("name" = String, Path)),
    responses((status = 200, body = SavedRuleSet), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn enable(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<SavedRuleSet>, ApiError> {
    Ok(Json(
        yara_rules::set_enabled(
            &state.store,
            &state.yara,
            &Actor::from_auth(&auth),
            &name,
            true,
        )
        .await?,
    ))
}

/// Disables a rule set: kept, but not scanned with (hub administrators).
#[utoipa::path(post, path = "/api/v1/yara-rule-sets/{name}/disable", tag = "mail",
    params(("name" = String, Path)),
    responses((status = 200, body = SavedRuleSet), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn disable(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<SavedRuleSet>, ApiError> {
    Ok(Json(
        yara_rules::set_enabled(
            &state.store,
            &state.yara,
            &Actor::from_auth(&auth),
            &name,
            false,
        )
        .await?,
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update, delete))
        .routes(routes!(enable))
        .routes(routes!(disable))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}
