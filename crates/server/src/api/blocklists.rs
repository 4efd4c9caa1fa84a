//! `GET /api/v1/blocklists/{format}`: block lists for firewalls, resolvers, proxies and IDS;
//! `/api/v1/blocklist-profiles[/{name}]`: the named profiles devices poll with `?profile=`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_model::Tlp;
use mamori_notify::blocklist::{Format, Profile};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::blocklist_profiles::{self, ProfileInput};
use crate::error::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::ops::Actor;
use crate::{ApiError, AppState, blocklists};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct BlocklistQuery {
    /// A named profile (`/api/v1/blocklist-profiles`); then `max_tlp`, `min_score` and `allow`
    /// are ignored.
    pub profile: Option<String>,
    /// Most restrictive TLP included (CLEAR, GREEN or AMBER; default GREEN).
    #[param(value_type = Option<String>)]
    pub max_tlp: Option<Tlp>,
    /// Lowest decayed score included (default 30).
    pub min_score: Option<u8>,
    /// Comma-separated values (or parent domains) never to block.
    pub allow: Option<String>,
    /// The ETag of the version the device holds: answer only what changed since, as lines
    /// `+value` and `-value` (`X-Mamori-Diff: incremental`), or the full list
    /// (`X-Mamori-Diff: full`) when that version is not known any more.
    pub since: Option<String>,
}

/// A block list in one of `txt`, `csv`, `hosts`, `rpz`, `suricata`, `nftables`, `squid`, built
/// from the indicators the caller may see, minus warning-list values. Answers 304 to a matching
/// `If-None-Match`, and with `since` only the values added and removed since that version.
#[utoipa::path(get, path = "/api/v1/blocklists/{format}", tag = "blocking",
    params(("format" = String, Path), BlocklistQuery),
    responses((status = 200, body = String), (status = 304), (status = 422, body = Problem)))]
async fn blocklist(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(format): ApiPath<String>,
    ApiQuery(q): ApiQuery<BlocklistQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let format: Format = format.parse().map_err(ApiError::Invalid)?;
    let profile = match &q.profile {
        Some(name) => {
            blocklist_profiles::to_profile(&blocklist_profiles::get(&state.store, name).await?)
        }
        None => Profile {
            max_tlp: q.max_tlp.unwrap_or(Tlp::Green),
            min_score: q.min_score.unwrap_or(30).min(100),
            allow: q
                .allow
                .unwrap_or_default()
                .split(',')
                .map(str::to_owned)
                .filter(|s| !s.is_empty())
                .collect(),
            kinds: vec![],
        },
    };
    let key = format!(
        "{}|{format:?}|{:?}|{}|{}|{:?}",
        auth.user.id,
        profile.max_tlp,
        profile.min_score,
        profile.allow.join(","),
        profile.kinds
    );
    let r = blocklists::render(&state.share(), &Actor::from_auth(&auth), format, profile).await?;
    let etag = HeaderValue::from_str(&r.etag).map_err(|e| ApiError::Internal(e.to_string()))?;
    state.blocklist_history.remember(&key, &r.etag, &r.values);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == r.etag.as_bytes())
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    if let Some(since) = q.since.as_deref() {
        let since = if since.starts_with('"') {
            since.to_owned()
        } else {
            format!("\"{since}\"")
        };
        if let Some(d) = state.blocklist_history.diff(&key, &since, &r.values) {
            let mut body = String::new();
            for v in &d.added {
                body.push('+');
                body.push_str(v);
                body.push('\n');
            }
            for v in &d.removed {
                body.push('-');
                body.push_str(v);
                body.push('\n');
            }
            return Ok((
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=utf-8"),
                    ),
                    (header::ETAG, etag),
                    (
                        header::HeaderName::from_static("x-mamori-diff"),
                        HeaderValue::from_static("incremental"),
                    ),
                ],
                body,
            )
                .into_response());
        }
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::ETAG, etag),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
            (
                header::HeaderName::from_static("x-mamori-diff"),
                HeaderValue::from_static("full"),
            ),
        ],
        r.body,
    )
        .into_response())
}

/// The block-list profiles (the built-in `default` among them unless replaced).
#[utoipa::path(get, path = "/api/v1/blocklist-profiles", tag = "blocking",
    responses((status = 200, body = Vec<mamori_store::blocklist_profiles::BlocklistProfile>)))]
async fn list_profiles(
    State(state): State<AppState>,
    _auth: Auth,
) -> Result<Json<Vec<mamori_store::blocklist_profiles::BlocklistProfile>>, ApiError> {
    Ok(Json(blocklist_profiles::list(&state.store).await?))
}

/// Creates or replaces a profile (administrators).
#[utoipa::path(put, path = "/api/v1/blocklist-profiles/{name}", tag = "blocking",
    request_body = ProfileInput, params(("name" = String, Path)),
    responses((status = 200, body = mamori_store::blocklist_profiles::BlocklistProfile),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_profile(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
    ApiJson(i): ApiJson<ProfileInput>,
) -> Result<Json<mamori_store::blocklist_profiles::BlocklistProfile>, ApiError> {
    Ok(Json(
        blocklist_profiles::save(
            &state.store,
            &Actor::from_auth(&auth),
            &name,
            i,
            mamori_store::now_millis(),
        )
        .await?,
    ))
}

/// Deletes a stored profile (administrators).
#[utoipa::path(delete, path = "/api/v1/blocklist-profiles/{name}", tag = "blocking",
    params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_profile(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    blocklist_profiles::delete(&state.store, &Actor::from_auth(&auth), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(blocklist))
        .routes(routes!(list_profiles))
        .routes(routes!(put_profile, delete_profile))
}
