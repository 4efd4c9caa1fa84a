//! Shared set-up for the server tests: a real store (SQLite file or throwaway PostgreSQL), the
//! app over it, and helpers to send requests through `oneshot`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose
#![allow(dead_code)] // each test binary uses a different part of this module

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use mamori_config::Config;
use mamori_model::{Lang, OrgKind, Role, Scope};
use mamori_server::ops::{self, Actor};
use mamori_server::{AppState, app};
use mamori_store::orgs::NewOrg;
use mamori_store::users::NewUser;
use mamori_store::{ConnectOptions, Store};
use serde_json::Value;
use tower::ServiceExt;

pub struct Hub {
    pub app: Router,
    pub store: Store,
    pub admin_token: String,
    pub member_token: String,
    pub member_org: String,
    pub other_org: String,
    _dir: Option<tempfile::TempDir>,
    /// The data directory (the hub signing key is created here).
    pub data: tempfile::TempDir,
    /// The state behind `app` (for operations called directly, such as the SLA check).
    pub state: AppState,
}

pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn config() -> Config {
    let mut c = Config::default();
    // Never the default `./mamori-data`: that is the crate directory under `cargo test`.
    c.data_dir = std::env::temp_dir().join(format!("mamori-test-{}", std::process::id()));
    c.http.body_limit_bytes = 64 * 1024;
    c.auth.login_max_failures = 3;
    c
}

pub async fn hub(backend: Backend) -> Hub {
    hub_with(backend, mamori_server::Monitoring::default()).await
}

/// A hub whose monitoring path has the given engine and settings.
pub async fn hub_with(backend: Backend, monitoring: mamori_server::Monitoring) -> Hub {
    hub_configured(backend, monitoring, |_| {}).await
}

/// A hub whose configuration `adjust` changes first.
pub async fn hub_configured(
    backend: Backend,
    monitoring: mamori_server::Monitoring,
    adjust: impl FnOnce(&mut Config),
) -> Hub {
    let (dir, url) = match backend {
        Backend::Sqlite => {
            let (d, u) = mamori_testkit::fresh_sqlite_url();
            (Some(d), u)
        }
        Backend::Postgres => (
            None,
            mamori_testkit::Postgres::shared().fresh_database_url(),
        ),
    };
    let store = Store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let first = mamori_server::bootstrap::ensure_admin(&store)
        .await
        .unwrap()
        .unwrap();
    let admin = store.find_user(&first.username).await.unwrap();
    let sys = Actor::system();
    let (_, admin_token) = ops::create_token(
        &store,
        &sys,
        admin.id,
        "t",
        &[Scope::Read, Scope::Write, Scope::Admin],
        None,
    )
    .await
    .unwrap();
    let org = |slug: &str| NewOrg {
        slug: slug.into(),
        name_ja: format!("{slug} 組織"),
        name_en: format!("{slug} org"),
        kind: OrgKind::Ministry,
        sector: None,
        cidrs: vec!["192.0.2.0/24".parse().unwrap()],
        domains: vec![],
        contacts: vec![mamori_model::Contact {
            name: "c".into(),
            email: "c@example.jp".into(),
            lang: Lang::Ja,
        }],
    };
    let mine = ops::create_org(&store, &sys, &org("mine")).await.unwrap();
    let other = ops::create_org(&store, &sys, &org("other")).await.unwrap();
    let member = ops::create_user(
        &store,
        &sys,
        &NewUser {
            org_id: mine.id,
            username: "member".into(),
            display_name: "Member".into(),
            email: String::new(),
            role: Role::Member,
            lang: Lang::En,
        },
        Some("member-password-123"),
    )
    .await
    .unwrap();
    let (_, member_token) = ops::create_token(
        &store,
        &sys,
        member.id,
        "t",
        &[Scope::Read, Scope::Write],
        None,
    )
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.data_dir = data.path().to_owned();
    adjust(&mut cfg);
    let state = AppState::with_monitoring(
        store.clone(),
        cfg,
        mamori_server::metrics_handle(),
        monitoring,
    );
    Hub {
        app: app(state.clone()),
        state,
        store,
        admin_token,
        member_token,
        member_org: mine.id.to_string(),
        other_org: other.id.to_string(),
        _dir: dir,
        data,
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

pub async fn send(app: &Router, req: Request<Body>) -> Resp {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub fn req(method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

/// Signs in through the login form and returns the session cookie (`name=value`).
pub async fn login_cookie(app: &Router, username: &str, password: &str) -> String {
    let r = send(
        app,
        Request::builder()
            .method("POST")
            .uri("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "username={username}&password={password}"
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "login {username}: {}",
        r.body
    );
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mamori_session="))
        .map(|v| v.split(';').next().unwrap_or(v).to_owned())
        .unwrap()
}

/// The CSRF token embedded in a console page.
pub fn csrf_of(html: &str) -> String {
    let i = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[i..].split('"').next().unwrap().to_owned()
}
