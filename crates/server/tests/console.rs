//! Console behaviour over HTTP: login, sessions, CSRF, rate limiting and language choice.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, csrf_of, hub, send};

fn form(uri: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body.to_owned())).unwrap()
}

fn get(uri: &str, cookie: Option<&str>, lang: Option<&str>) -> Request<Body> {
    let mut b = Request::builder().uri(uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    if let Some(l) = lang {
        b = b.header(header::ACCEPT_LANGUAGE, l);
    }
    b.body(Body::empty()).unwrap()
}

fn session_cookie(headers: &axum::http::HeaderMap) -> String {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("mamori_session="))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .expect("no session cookie")
}

#[tokio::test]
async fn login_session_csrf_and_logout() {
    let h = hub(Backend::Sqlite).await;
    // Not signed in: redirected to the login page, which follows the browser's language.
    let r = send(&h.app, get("/orgs", None, None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login?next=%2Forgs");
    let r = send(&h.app, get("/login", None, Some("en-GB,en;q=0.9"))).await;
    assert!(r.body.contains("Sign in") && r.body.contains("<html lang=\"en\">"));
    assert!(r.body.contains("<meta charset=\"utf-8\">"));
    let r = send(&h.app, get("/login", None, Some("ja,en;q=0.5"))).await;
    assert!(r.body.contains("ログイン") && r.body.contains("<html lang=\"ja\">"));

    // Wrong password: 401 and no cookie.
    let r = send(
        &h.app,
        form("/login", "username=member&password=wrong-password", None),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get(header::SET_COOKIE).is_none());

    let r = send(
        &h.app,
        form(
            "/login",
            "username=member&password=member-password-123&next=%2Forgs",
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/orgs");
    let set = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    let sess = set
        .iter()
        .find(|c| c.starts_with("mamori_session="))
        .unwrap();
    assert!(
        sess.contains("HttpOnly") && sess.contains("SameSite=Strict"),
        "{sess}"
    );
    let cookie = session_cookie(&r.headers);

    // Signed in: the member's language (English) is used and pages render.
    let r = send(&h.app, get("/", Some(&cookie), None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body.matches("<svg class=\"chart\"").count(),
        3,
        "dashboard has three charts"
    );
    assert!(r.body.contains("TLP:AMBER+STRICT"), "reports by TLP");
    let r = send(&h.app, get("/tokens", Some(&cookie), None)).await;
    let csrf = csrf_of(&r.body);

    // A form post without (or with a wrong) CSRF token changes nothing.
    let before = h
        .store
        .list_tokens(h.store.find_user("member").await.unwrap().id)
        .await
        .unwrap()
        .len();
    let r = send(
        &h.app,
        form("/tokens", "name=x&scope_read=on", Some(&cookie)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &h.app,
        form("/tokens", "name=x&scope_read=on&csrf=wrong", Some(&cookie)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The API refuses cookie-authenticated changes without the header, too.
    let api = Request::builder()
        .method("POST")
        .uri("/api/v1/tokens")
        .header(header::COOKIE, &cookie)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"name":"x","scopes":["read"]}"#))
        .unwrap();
    assert_eq!(send(&h.app, api).await.status, StatusCode::FORBIDDEN);
    let user = h.store.find_user("member").await.unwrap();
    assert_eq!(h.store.list_tokens(user.id).await.unwrap().len(), before);

    // With the token it works, and the secret is shown once on a no-store page.
    let r = send(
        &h.app,
        form(
            "/tokens",
            &format!("name=laptop&scope_read=on&expires_days=7&csrf={csrf}"),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"token-secret\">mmr_"));
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(
        h.store.list_tokens(user.id).await.unwrap().len(),
        before + 1
    );

    // A member sees no creation form for organisations and the post is refused.
    let r = send(&h.app, get("/orgs", Some(&cookie), None)).await;
    assert!(!r.body.contains("id=\"org-form\""));
    let r = send(
        &h.app,
        form(
            "/orgs",
            &format!("slug=evil&name_en=E&kind=vendor&csrf={csrf}"),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(h.store.get_org_by_slug("evil").await.is_err());

    // Logging out ends the session.
    let r = send(
        &h.app,
        form("/logout", &format!("csrf={csrf}"), Some(&cookie)),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(&h.app, get("/", Some(&cookie), None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "session survived logout");
}

#[tokio::test]
async fn repeated_failed_logins_are_rate_limited() {
    let h = hub(Backend::Sqlite).await;
    for _ in 0..3 {
        let r = send(
            &h.app,
            form("/login", "username=member&password=nope-nope-nope", None),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused while the account is locked.
    let r = send(
        &h.app,
        form(
            "/login",
            "username=member&password=member-password-123",
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let audit = h.store.list_audit(None, 50).await.unwrap();
    assert!(
        audit
            .items
            .iter()
            .filter(|e| e.action == "session.login_failed")
            .count()
            >= 3
    );
}

#[tokio::test]
async fn language_switch_sets_cookie_and_only_redirects_locally() {
    let h = hub(Backend::Sqlite).await;
    let r = send(&h.app, get("/lang/en?next=%2Flogin", None, None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login");
    let c = r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(c, "mamori_lang=en");
    let r = send(&h.app, get("/login", Some(&c), Some("ja"))).await;
    assert!(r.body.contains("Sign in"), "cookie beats Accept-Language");
    let r = send(
        &h.app,
        get("/lang/ja?next=https%3A%2F%2Fevil.example", None, None),
    )
    .await;
    assert_eq!(r.headers[header::LOCATION], "/");
    let r = send(&h.app, get("/lang/xx", None, None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admin_manages_orgs_users_and_groups_in_the_console() {
    let h = hub(Backend::Sqlite).await;
    let pass = "admin-password-1234";
    let admin = h.store.find_user("admin").await.unwrap();
    h.store
        .set_password_hash(admin.id, &mamori_server::password::hash(pass).unwrap())
        .await
        .unwrap();
    let r = send(
        &h.app,
        form("/login", &format!("username=admin&password={pass}"), None),
    )
    .await;
    let cookie = session_cookie(&r.headers);
    let r = send(&h.app, get("/orgs", Some(&cookie), None)).await;
    assert!(r.body.contains("id=\"org-form\""));
    let csrf = csrf_of(&r.body);
    let body = format!(
        "csrf={csrf}&slug=pref-miyagi&name_ja=%E5%AE%AE%E5%9F%8E%E7%9C%8C&name_en=Miyagi&kind=municipality&cidrs=203.0.113.0%2F28&domains=pref.miyagi.example.jp&contact_name=&contact_email=&contact_lang=ja"
    );
    let r = send(&h.app, form("/orgs", &body, Some(&cookie))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/orgs?ok=")
    );
    let org = h.store.get_org_by_slug("pref-miyagi").await.unwrap();
    assert_eq!(org.name_ja, "宮城県");
    let r = send(&h.app, get("/orgs", Some(&cookie), None)).await;
    assert!(r.body.contains("宮城県"));

    let body = format!(
        "csrf={csrf}&username=miyagi.analyst&org_id={}&role=analyst&lang=ja&password=another-password-1",
        org.id
    );
    let r = send(&h.app, form("/users", &body, Some(&cookie))).await;
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/users?ok="),
        "{:?}",
        r.headers
    );
    assert_eq!(
        h.store.find_user("miyagi.analyst").await.unwrap().org_id,
        org.id
    );

    let body = format!(
        "csrf={csrf}&name=%E6%9D%B1%E5%8C%97ISAC&description=&owner_org={}",
        org.id
    );
    let r = send(&h.app, form("/groups", &body, Some(&cookie))).await;
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/groups?ok=")
    );
    assert_eq!(
        h.store.find_group("東北ISAC").await.unwrap().owner_org,
        org.id
    );

    // A bad form gives a readable error and creates nothing.
    let r = send(
        &h.app,
        form(
            "/orgs",
            &format!("csrf={csrf}&slug=bad&kind=vendor&cidrs=not-a-cidr"),
            Some(&cookie),
        ),
    )
    .await;
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/orgs?err=")
    );
    assert!(h.store.get_org_by_slug("bad").await.is_err());

    let r = send(&h.app, get("/audit", Some(&cookie), None)).await;
    assert!(r.body.contains("id=\"chain-state\""));
    assert!(r.body.contains("org.create"));
}
