//! Who is asking: the [`Auth`] extractor resolves a bearer API token or a console session cookie
//! into a [`Principal`], and [`RequestCtx`] carries the client address and request id that the
//! audit log records. Cookie-authenticated API calls that change something must carry the
//! session's CSRF token in `X-CSRF-Token`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum_extra::extract::CookieJar;
use mamori_access::role_scopes;
use mamori_model::{GroupId, Principal, Scope, User};

use crate::{ApiError, AppState};

/// The console's session cookie.
pub const SESSION_COOKIE: &str = "mamori_session";
/// The header carrying the CSRF token on cookie-authenticated API calls.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Where a request came from, for the audit log.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub source: String,
    pub request_id: String,
}

impl RequestCtx {
    pub fn from_parts(parts: &Parts) -> Self {
        let source = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_else(|| "unknown".to_owned());
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(64)
            .collect();
        RequestCtx { source, request_id }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCtx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestCtx::from_parts(parts))
    }
}

/// How the principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Token,
    Session { csrf_token: String },
}

/// An authenticated request.
#[derive(Debug, Clone)]
pub struct Auth {
    pub principal: Principal,
    pub user: User,
    pub credential: Credential,
    pub ctx: RequestCtx,
}

/// Builds the principal for a user: their organisation's groups and the given scopes, narrowed to
/// what the role allows.
pub async fn principal_for(
    store: &mamori_store::Store,
    user: &User,
    scopes: &[Scope],
) -> Result<Principal, ApiError> {
    let groups = store.groups_of_org(user.org_id).await?;
    Ok(principal_with_groups(user, scopes, groups))
}

/// The principal of `user` whose organisation belongs to `groups`, holding the `scopes` that
/// the user's role allows.
fn principal_with_groups(user: &User, scopes: &[Scope], groups: Vec<GroupId>) -> Principal {
    let allowed = role_scopes(user.role);
    Principal {
        user_id: user.id,
        username: user.username.clone(),
        org_id: user.org_id,
        role: user.role,
        groups,
        scopes: scopes
            .iter()
            .copied()
            .filter(|s| allowed.contains(s))
            .collect(),
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl Auth {
    /// Resolves the credential of a request, if any. `Ok(None)` means anonymous.
    pub async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Auth>, ApiError> {
        let ctx = RequestCtx::from_parts(parts);
        if let Some(token) = bearer(parts) {
            let Some((tok, user, groups)) =
                state.store.authenticate_token_with_groups(token).await?
            else {
                return Err(ApiError::Unauthenticated);
            };
            let principal = principal_with_groups(&user, &tok.scopes, groups);
            return Ok(Some(Auth {
                principal,
                user,
                credential: Credential::Token,
                ctx,
            }));
        }
        let jar = CookieJar::from_headers(&parts.headers);
        if let Some(cookie) = jar.get(SESSION_COOKIE) {
            let Some(info) = state.store.resolve_session(cookie.value()).await? else {
                return Ok(None);
            };
            let principal =
                principal_for(&state.store, &info.user, role_scopes(info.user.role)).await?;
            return Ok(Some(Auth {
                principal,
                user: info.user,
                credential: Credential::Session {
                    csrf_token: info.csrf_token,
                },
                ctx,
            }));
        }
        Ok(None)
    }

    pub fn require_scope(&self, scope: Scope) -> Result<(), ApiError> {
        if self.principal.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this credential lacks the {scope} scope"
            )))
        }
    }
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let auth = Auth::resolve(parts, state)
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        if let Some(slot) = parts.extensions.get::<crate::rejected::WhoSlot>() {
            slot.set(auth.user.id, auth.user.org_id, &auth.user.username);
        }
        if let Credential::Session { csrf_token } = &auth.credential
            && is_unsafe(&parts.method)
        {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !constant_time_eq(sent.as_bytes(), csrf_token.as_bytes()) {
                return Err(ApiError::Csrf);
            }
        }
        Ok(auth)
    }
}

/// Compares two secrets without an early exit.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
