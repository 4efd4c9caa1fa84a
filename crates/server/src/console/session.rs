//! Signing in and out, and the language switch.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use mamori_model::Lang;
use serde::Deserialize;

use super::{Console, Flash, Frame, i18n, render};
use crate::auth::{RequestCtx, SESSION_COOKIE};
use crate::{ApiError, AppState, ops};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    f: Frame,
    next: String,
    failed: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only same-site paths are followed after login (no open redirects).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

pub async fn login_page(c: Console, Query(q): Query<NextQuery>) -> Response {
    if c.auth.is_some() {
        return Redirect::to(&safe_next(q.next.as_deref())).into_response();
    }
    render(LoginPage {
        f: c.frame("login", Flash::default()),
        next: safe_next(q.next.as_deref()),
        failed: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    c: Console,
    ctx: RequestCtx,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    match ops::login(&state, &ctx, &form.username, &form.password).await {
        Ok(user) => {
            let ttl = i64::try_from(state.config.auth.session_ttl_minutes)
                .unwrap_or(720)
                .saturating_mul(60_000);
            let ua = headers
                .get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let session = match state
                .store
                .create_session(user.id, ttl, &ctx.source, ua)
                .await
            {
                Ok(s) => s,
                Err(e) => return ApiError::from(e).into_response(),
            };
            let cookie = Cookie::build((SESSION_COOKIE, session.secret))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(state.config.secure_cookies())
                .max_age(time_minutes(state.config.auth.session_ttl_minutes))
                .build();
            // The user's language becomes the console language unless one was chosen.
            let jar = if jar.get(i18n::LANG_COOKIE).is_none() {
                jar.add(lang_cookie(user.lang))
            } else {
                jar
            };
            (jar.add(cookie), Redirect::to(&next)).into_response()
        }
        Err(e) => {
            let key = match e {
                ApiError::RateLimited { .. } => "login.limited",
                ApiError::BadCredentials => "login.failed",
                other => return other.into_response(),
            };
            let status = match e {
                ApiError::RateLimited { .. } => axum::http::StatusCode::TOO_MANY_REQUESTS,
                _ => axum::http::StatusCode::UNAUTHORIZED,
            };
            let page = LoginPage {
                failed: Some(c.t.get(key).to_owned()),
                f: c.frame("login", Flash::default()),
                next,
            };
            (status, render(page)).into_response()
        }
    }
}

fn time_minutes(m: u64) -> time::Duration {
    time::Duration::minutes(i64::try_from(m).unwrap_or(720))
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    c: Console,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Response {
    if c.auth.is_none() {
        return Redirect::to("/login").into_response();
    }
    if let Err(r) = c.check_csrf(&form.csrf) {
        return r;
    }
    if let Some(cookie) = jar.get(SESSION_COOKIE)
        && let Err(e) = state.store.delete_session(cookie.value()).await
    {
        return ApiError::from(e).into_response();
    }
    if let Some(a) = &c.auth {
        let actor = ops::Actor::from_auth(a);
        if let Err(e) = ops::audit(
            &state.store,
            &actor,
            "session.logout",
            "user",
            &a.user.id.to_string(),
            None,
            serde_json::json!({}),
        )
        .await
        {
            return e.into_response();
        }
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/login")).into_response()
}

fn lang_cookie(lang: Lang) -> Cookie<'static> {
    Cookie::build((i18n::LANG_COOKIE, lang.as_str()))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(365))
        .build()
}

pub async fn switch_language(
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
    jar: CookieJar,
) -> Response {
    let Ok(lang) = code.parse::<Lang>() else {
        return ApiError::NotFound("language".into()).into_response();
    };
    (
        jar.add(lang_cookie(lang)),
        Redirect::to(&safe_next(q.next.as_deref())),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_is_same_site_only() {
        assert_eq!(super::safe_next(Some("/orgs")), "/orgs");
        assert_eq!(super::safe_next(Some("//evil.example")), "/");
        assert_eq!(super::safe_next(Some("https://evil.example")), "/");
        assert_eq!(super::safe_next(Some("/\\evil")), "/");
        assert_eq!(super::safe_next(None), "/");
    }
}
