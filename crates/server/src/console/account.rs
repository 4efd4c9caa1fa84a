//! The user's own API tokens: create (the secret is shown once), list, revoke.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use mamori_model::{ApiToken, Scope, TokenId};
use serde::Deserialize;

use super::{Console, CsrfOnly, Flash, Frame, back, fmt_time, render};
use crate::ops::{self, Actor};
use crate::{ApiError, AppState};

pub struct TokenRow {
    pub token: ApiToken,
    pub scopes: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub live: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    f: Frame,
    rows: Vec<TokenRow>,
    scopes: Vec<&'static str>,
    secret: Option<String>,
}

async fn tokens_view(
    state: &AppState,
    c: &Console,
    flash: Flash,
    secret: Option<String>,
) -> Result<Response, Response> {
    let auth = c.require_login()?;
    let tokens = ops::list_tokens(&state.store, &Actor::from_auth(auth), auth.user.id)
        .await
        .map_err(IntoResponse::into_response)?;
    let now = mamori_store::now_millis();
    let never = c.t.get("token.never").to_owned();
    let rows = tokens
        .into_iter()
        .rev()
        .map(|t| TokenRow {
            scopes: t
                .scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            created: fmt_time(t.created_at),
            expires: t.expires_at.map_or_else(|| never.clone(), fmt_time),
            last_used: t.last_used_at.map_or_else(|| never.clone(), fmt_time),
            live: t.is_live(now),
            token: t,
        })
        .collect();
    let scopes = mamori_access::role_scopes(auth.user.role)
        .iter()
        .map(|s| s.as_str())
        .collect();
    let mut resp = render(TokensPage {
        f: c.frame("tokens", flash),
        rows,
        scopes,
        secret,
    });
    // A page showing a secret must not be cached anywhere.
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

pub async fn tokens_page(
    State(state): State<AppState>,
    c: Console,
    Query(flash): Query<Flash>,
) -> Response {
    tokens_view(&state, &c, flash, None)
        .await
        .unwrap_or_else(|r| r)
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope_read: Option<String>,
    #[serde(default)]
    scope_write: Option<String>,
    #[serde(default)]
    scope_admin: Option<String>,
    #[serde(default)]
    expires_days: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    c: Console,
    Form(form): Form<TokenForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut scopes = Vec::new();
    for (on, scope) in [
        (&form.scope_read, Scope::Read),
        (&form.scope_write, Scope::Write),
        (&form.scope_admin, Scope::Admin),
    ] {
        if on.is_some() {
            scopes.push(scope);
        }
    }
    let expires_at = match form.expires_days.trim() {
        "" => None,
        d => match d.parse::<u32>() {
            Ok(days) if (1..=3650).contains(&days) => {
                Some(mamori_store::now_millis() + i64::from(days) * 86_400_000)
            }
            _ => {
                return back(
                    "/tokens",
                    Err(ApiError::Invalid("validity must be 1-3650 days".into())),
                );
            }
        },
    };
    match ops::create_token(
        &state.store,
        &Actor::from_auth(auth),
        auth.user.id,
        &form.name,
        &scopes,
        expires_at,
    )
    .await
    {
        Ok((_, secret)) => tokens_view(&state, &c, Flash::default(), Some(secret))
            .await
            .unwrap_or_else(|r| r),
        Err(e) => back("/tokens", Err(e)),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let result = match id.parse::<TokenId>() {
        Ok(id) => ops::revoke_token(&state.store, &Actor::from_auth(auth), id)
            .await
            .map(|_| "token.revoked"),
        Err(_) => Err(ApiError::NotFound("token".into())),
    };
    back("/tokens", result)
}
