//! The web console: server-rendered pages (askama templates compiled into the binary), a session
//! cookie with a per-session CSRF token in every form, Japanese and English, and SVG charts drawn
//! on the server. Assets are embedded; nothing is fetched from the internet. Pages call the same
//! [`crate::ops`] as the API.

// Handlers return early with a ready `Response` (a redirect to the login page, a CSRF refusal);
// that path is cold and boxing it would only add noise.
#![allow(clippy::result_large_err)]

mod account;
mod admin;
mod audit;
mod blocklists;
mod case_metrics;
mod case_requests;
mod case_work;
mod cases;
mod chart;
mod dashboard;
pub mod i18n;
mod mail;
mod mail_analyses;
mod mail_campaigns;
mod mail_files;
mod monitor;
mod notices;
mod playbooks;
mod session;
pub(crate) mod sharing;
mod yara;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use mamori_model::{Role, User};
use serde::Deserialize;

use crate::auth::{Auth, Credential, constant_time_eq};
use crate::{ApiError, AppState};
use i18n::Tr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route("/lang/{code}", get(session::switch_language))
        .route("/orgs", get(admin::orgs_page).post(admin::create_org))
        .route("/orgs/{id}/delete", post(admin::delete_org))
        .route("/users", get(admin::users_page).post(admin::create_user))
        .route("/groups", get(admin::groups_page).post(admin::create_group))
        .route("/groups/{id}/members", post(admin::add_member))
        .route(
            "/tokens",
            get(account::tokens_page).post(account::create_token),
        )
        .route("/tokens/{id}/revoke", post(account::revoke_token))
        .route("/audit", get(audit::page))
        .route(
            "/reports",
            get(sharing::reports_page).post(sharing::create_report),
        )
        .route("/reports/{id}", get(sharing::report_page))
        .route("/reports/{id}/revoke", post(sharing::revoke_report))
        .route("/reports/{id}/edit", post(sharing::edit_report))
        .route("/reports/{id}/notes", post(sharing::add_note))
        .route("/search", get(sharing::search_page))
        .route(
            "/mail",
            // The upload form is read under `[mail] max_message_bytes` (mail_upload.rs).
            get(mail::page)
                .post(mail::upload)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/mail/share", post(mail::share))
        .route("/mail/analyses", get(mail_analyses::list))
        .route("/mail/analyses/{id}", get(mail_analyses::view))
        .route("/mail/campaigns", get(mail_campaigns::list))
        .route("/mail/campaigns/{id}", get(mail_campaigns::view))
        .route("/alerts", get(monitor::list))
        .route("/alerts/{id}", get(monitor::view))
        .route("/alerts/{id}/triage", post(monitor::triage))
        .route("/alerts/{id}/false-positive", post(monitor::false_positive))
        .route("/alerts/{id}/escalate", post(monitor::escalate))
        .route("/events", get(monitor::events))
        .route("/sensors", get(monitor::sensors))
        .route("/blocklists", get(blocklists::page).post(blocklists::save))
        .route("/blocklists/{name}/delete", post(blocklists::delete))
        .route("/notices", get(notices::list))
        .route("/notices/{id}/status", post(notices::set_status))
        .route("/cases", get(cases::list).post(cases::create))
        .route(
            "/cases/from-mail",
            post(case_work::from_mail).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/cases/report", post(case_work::report_incident))
        .route("/cases/metrics", get(case_metrics::page))
        .route("/cases/{id}", get(cases::view))
        .route("/cases/{id}/timeline", post(cases::add_entry))
        .route("/cases/{id}/status", post(cases::set_status))
        .route(
            "/cases/{id}/evidence",
            // The evidence store enforces `cases.evidence_max_bytes` while streaming.
            post(case_work::upload_evidence).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/cases/{id}/timeline/hunt", post(case_work::import_hunt))
        .route("/cases/{id}/observables", post(case_work::add_observable))
        .route(
            "/cases/{id}/observables/share",
            post(case_work::share_observables),
        )
        .route("/cases/{id}/lessons", post(case_work::lessons))
        .route("/cases/{id}/tasks/{task}/assign", post(case_work::assign))
        .route("/cases/{id}/requests", post(case_requests::create))
        .route("/cases/{id}/requests/{rid}", get(case_requests::view))
        .route(
            "/cases/{id}/requests/{rid}/status",
            post(case_requests::set_status),
        )
        .route(
            "/cases/{id}/requests/{rid}/messages",
            post(case_requests::add_message),
        )
        .route("/playbooks", get(playbooks::page).post(playbooks::create))
        .route("/playbooks/{name}", post(playbooks::update))
        .route("/playbooks/{name}/reset", post(playbooks::reset))
        .route(
            "/yara",
            get(yara::page)
                .post(yara::create)
                .layer(axum::extract::DefaultBodyLimit::max(YARA_FORM_LIMIT)),
        )
        .route(
            "/yara/{name}",
            post(yara::update).layer(axum::extract::DefaultBodyLimit::max(YARA_FORM_LIMIT)),
        )
        .route("/yara/{name}/enable", post(yara::enable))
        .route("/yara/{name}/disable", post(yara::disable))
        .route("/yara/{name}/delete", post(yara::delete))
        .route("/assets/style.css", get(style))
        .route("/assets/app.js", get(script))
}

/// A rule-set form carries the source twice at most (typed and uploaded).
const YARA_FORM_LIMIT: usize = 2 * crate::yara_rules::MAX_SOURCE_BYTES + 64 * 1024;

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/style.css"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../assets/app.js"),
    )
}

/// A form whose only field is the CSRF token (delete, revoke...).
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

/// One-shot messages carried in the query string after a form post.
#[derive(Debug, Default, Deserialize)]
pub struct Flash {
    /// A message key that worked out.
    pub ok: Option<String>,
    /// An error text.
    pub err: Option<String>,
}

/// What every page's frame shows.
pub struct Frame {
    pub t: Tr,
    pub user: Option<User>,
    pub is_admin: bool,
    pub can_audit: bool,
    /// May read YARA rule sets (administrators and analysts).
    pub can_yara: bool,
    pub csrf: String,
    pub path: String,
    pub active: &'static str,
    pub ok: Option<String>,
    pub err: Option<String>,
}

impl Frame {
    pub fn role_name(&self) -> &str {
        self.user
            .as_ref()
            .map_or("", |u| self.t.get(role_key(u.role)))
    }
}

pub fn role_key(role: Role) -> &'static str {
    match role {
        Role::Admin => "role.admin",
        Role::Analyst => "role.analyst",
        Role::Member => "role.member",
        Role::Auditor => "role.auditor",
    }
}

/// The console's view of a request: the language, and the session if there is one.
pub struct Console {
    pub t: Tr,
    pub auth: Option<Auth>,
    pub path: String,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let t = Tr {
            lang: i18n::choose(&parts.headers),
        };
        // Only session cookies count in the console; bearer tokens are for the API.
        let auth = match Auth::resolve(parts, state).await {
            Ok(Some(a)) if matches!(a.credential, Credential::Session { .. }) => {
                if let Some(slot) = parts.extensions.get::<crate::rejected::WhoSlot>() {
                    slot.set(a.user.id, a.user.org_id, &a.user.username);
                }
                Some(a)
            }
            Ok(_) | Err(ApiError::Unauthenticated) => None,
            Err(e) => return Err(e.into_response()),
        };
        Ok(Console {
            t,
            auth,
            path: parts.uri.path().to_owned(),
        })
    }
}

impl Console {
    /// The session, or a redirect to the login page that comes back here.
    pub fn require_login(&self) -> Result<&Auth, Response> {
        self.auth.as_ref().ok_or_else(|| {
            Redirect::to(&format!("/login?next={}", urlencode(&self.path))).into_response()
        })
    }

    /// The session of a form post, checked against its CSRF token: a redirect to the login page
    /// without a session, a refusal with a wrong token.
    pub fn require_post(&self, csrf: &str) -> Result<&Auth, Response> {
        let auth = self.require_login()?;
        self.check_csrf(csrf)?;
        Ok(auth)
    }

    /// Checks a form's CSRF token against the session's.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Response> {
        let ok = match self.auth.as_ref().map(|a| &a.credential) {
            Some(Credential::Session { csrf_token }) => {
                constant_time_eq(sent.as_bytes(), csrf_token.as_bytes())
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(ApiError::Csrf.into_response())
        }
    }

    pub fn frame(&self, active: &'static str, flash: Flash) -> Frame {
        let (user, csrf, is_admin, can_audit, can_yara) = match &self.auth {
            Some(a) => (
                Some(a.user.clone()),
                match &a.credential {
                    Credential::Session { csrf_token } => csrf_token.clone(),
                    Credential::Token => String::new(),
                },
                mamori_access::may_administer(&a.principal),
                mamori_access::may_read_audit(&a.principal),
                crate::yara_rules::may_read(&crate::ops::Actor::from_auth(a)),
            ),
            None => (None, String::new(), false, false, false),
        };
        Frame {
            t: self.t,
            user,
            is_admin,
            can_audit,
            can_yara,
            csrf,
            path: self.path.clone(),
            active,
            ok: flash.ok.map(|k| self.t.get(&k).to_owned()),
            err: flash.err,
        }
    }
}

/// Renders a template as an HTML response.
pub fn render(t: impl askama::Template) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::Internal(format!("template: {e}")).into_response(),
    }
}

pub fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Redirects back to a page with a success message key or an error text.
pub fn back(path: &str, result: Result<&'static str, ApiError>) -> Response {
    match result {
        Ok(key) => Redirect::to(&format!("{path}?ok={}", urlencode(key))).into_response(),
        Err(e @ (ApiError::Internal(_) | ApiError::Unavailable)) => e.into_response(),
        Err(e) => {
            Redirect::to(&format!("{path}?err={}", urlencode(&e.to_string()))).into_response()
        }
    }
}

/// A forbidden page for console users without the right role.
pub fn forbidden(t: Tr) -> Response {
    (StatusCode::FORBIDDEN, Html(format!(
        "<!doctype html><meta charset=\"utf-8\"><title>403</title><p>{}</p><p><a href=\"/\">←</a></p>",
        t.get("common.forbidden")
    )))
        .into_response()
}

/// Formats epoch milliseconds as `YYYY-MM-DD HH:MM` UTC.
pub fn fmt_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_time() {
        assert_eq!(super::fmt_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::fmt_time(1_764_072_000_000), "2025-11-25 12:00 UTC");
    }
}
