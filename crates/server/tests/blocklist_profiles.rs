//! Named block-list profiles on both backends: administrators write them, devices poll
//! `?profile=NAME`, and the console page lists them with a preview (counts by kind and by
//! format, the first entries of each export, the ETag, the polling URLs) in Japanese and
//! English. A member's preview holds only what the visibility policy lets its organisation
//! see: AMBER addressed to it, not AMBER of others, never RED.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub, login_cookie, req, send};
use mamori_model::{Lang, Role};
use mamori_server::ops::{self, Actor};
use mamori_store::users::NewUser;
use serde_json::json;

async fn report(h: &Hub, tlp: &str, recipients: Vec<String>, inds: &[(&str, &str)]) {
    let inds: Vec<_> = inds
        .iter()
        .map(|(k, v)| json!({"kind": k, "value": v}))
        .collect();
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&h.admin_token),
            Some(json!({"title": tlp, "tlp": tlp, "confidence": 80, "recipients": recipients, "indicators": inds})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

async fn page(h: &Hub, cookie: &str, uri: &str, lang: &str) -> common::Resp {
    send(
        &h.app,
        Request::builder()
            .uri(uri)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT_LANGUAGE, lang)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// The text of the `<pre id="sample-{format}">` block.
fn sample<'a>(html: &'a str, format: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"sample-{format}\">"))
        .unwrap_or_else(|| panic!("no {format} sample"));
    let rest = &html[start..];
    let body = &rest[rest.find('>').unwrap() + 1..];
    &body[..body.find("</pre>").unwrap()]
}

async fn profiles_and_preview(backend: Backend) {
    let h = hub(backend).await;
    report(
        &h,
        "GREEN",
        vec![],
        &[
            ("domain", "green.example"),
            ("ipv4", "45.9.148.7"),
            ("url", "http://green.example/x.exe"),
        ],
    )
    .await;
    report(&h, "AMBER", vec![], &[("domain", "amber-hub.example")]).await;
    report(
        &h,
        "AMBER",
        vec![h.member_org.clone()],
        &[("domain", "amber-for-mine.example")],
    )
    .await;
    report(
        &h,
        "AMBER",
        vec![h.other_org.clone()],
        &[("domain", "amber-for-other.example")],
    )
    .await;
    report(
        &h,
        "RED",
        vec![h.member_org.clone()],
        &[("domain", "red.example")],
    )
    .await;

    // Profiles: administrators write them; the rules are checked.
    let body = json!({"description": "境界FW / perimeter", "max_tlp": "AMBER", "min_score": 0,
                      "kinds": ["domain", "ipv4"], "allow": ["Partner.example"]});
    let r = send(
        &h.app,
        req(
            "PUT",
            "/api/v1/blocklist-profiles/perimeter",
            Some(&h.member_token),
            Some(body.clone()),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for (name, bad) in [
        ("perimeter", json!({"max_tlp": "RED", "min_score": 0})),
        (
            "perimeter",
            json!({"max_tlp": "GREEN", "min_score": 0, "kinds": ["sha256"]}),
        ),
        ("Bad Name", json!({"max_tlp": "GREEN", "min_score": 0})),
    ] {
        let r = send(
            &h.app,
            req(
                "PUT",
                &format!("/api/v1/blocklist-profiles/{}", name.replace(' ', "%20")),
                Some(&h.admin_token),
                Some(bad),
            ),
        )
        .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}: {}",
            r.body
        );
    }
    let r = send(
        &h.app,
        req(
            "PUT",
            "/api/v1/blocklist-profiles/perimeter",
            Some(&h.admin_token),
            Some(body),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["allow"], json!(["partner.example"]));
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/blocklist-profiles",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    let names: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["default", "perimeter"]);

    // A device polls the profile: the member's view, by the policy.
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/blocklists/txt?profile=perimeter",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let member_etag = r.headers[header::ETAG].to_str().unwrap().to_owned();
    let mut lines: Vec<&str> = r.body.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec!["45.9.148.7", "amber-for-mine.example", "green.example"],
        "kinds domain and ipv4 only; AMBER only when addressed to the member"
    );
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/blocklists/txt?profile=nope",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The console, in Japanese, for the member.
    let cookie = login_cookie(&h.app, "member", "member-password-123").await;
    let p = page(&h, &cookie, "/blocklists?profile=perimeter", "ja").await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let html = &p.body;
    assert!(html.contains("ブロックリストのプロファイル"), "{html}");
    assert!(html.contains("境界FW / perimeter") && html.contains("default"));
    let shown = html
        .split("<code id=\"etag\">")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .unwrap();
    assert_eq!(
        shown.replace("&#34;", "\"").replace("&quot;", "\""),
        member_etag,
        "the ETag devices get"
    );
    assert!(html.contains("<strong id=\"total\">3</strong>"));
    assert!(
        html.contains("<tr><td>domain</td><td>2</td></tr>")
            && html.contains("<tr><td>ipv4</td><td>1</td></tr>")
    );
    assert!(html.contains("/api/v1/blocklists/nftables?profile=perimeter"));
    assert!(sample(html, "txt").contains("amber-for-mine.example"));
    assert!(sample(html, "hosts").contains("0.0.0.0 green.example"));
    assert!(sample(html, "nftables").contains("45.9.148.7"));
    assert!(!sample(html, "nftables").contains("green.example"));
    assert!(sample(html, "rpz").contains("green.example CNAME ."));
    for hidden in [
        "amber-hub.example",
        "amber-for-other.example",
        "red.example",
    ] {
        assert!(!html.contains(hidden), "the member must not see {hidden}");
    }

    // In English, the default profile (GREEN): the AMBER entries drop out.
    let p = page(&h, &cookie, "/blocklists", "en").await;
    assert!(p.body.contains("Block-list profiles") && p.body.contains("Polling URL"));
    assert!(p.body.contains("Preview: default"));
    assert!(!p.body.contains("amber-for-mine.example"));
    assert!(sample(&p.body, "squid").contains("dstdomain .green.example"));
    let p = page(&h, &cookie, "/blocklists?profile=nope", "en").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);

    // A hub administrator of the other organisation sees AMBER addressed elsewhere, but never
    // RED that is not addressed to its organisation.
    let sys = Actor::system();
    ops::create_user(
        &h.store,
        &sys,
        &NewUser {
            org_id: h.other_org.parse().unwrap(),
            username: "hubadmin".into(),
            display_name: "Hub admin".into(),
            email: String::new(),
            role: Role::Admin,
            lang: Lang::En,
        },
        Some("hubadmin-password-123"),
    )
    .await
    .unwrap();
    let admin = login_cookie(&h.app, "hubadmin", "hubadmin-password-123").await;
    let p = page(&h, &admin, "/blocklists?profile=perimeter", "en").await;
    assert!(p.body.contains("amber-hub.example") && p.body.contains("amber-for-other.example"));
    assert!(!p.body.contains("red.example"));

    // The administrator writes a profile with the page's form; a member may not.
    assert!(p.body.contains("id=\"profile-form\""));
    let form = |cookie: &str, csrf: &str, name: &str| {
        Request::builder()
            .method("POST")
            .uri("/blocklists")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrf={csrf}&name={name}&description=resolver&max_tlp=GREEN&min_score=0&kinds=domain&allow=partner.example"
            )))
            .unwrap()
    };
    let member_page = page(&h, &cookie, "/blocklists", "en").await;
    assert!(!member_page.body.contains("id=\"profile-form\""));
    let r = send(
        &h.app,
        form(&cookie, &common::csrf_of(&member_page.body), "member-made"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .contains("err="),
        "members may not write profiles"
    );
    let r = send(&h.app, form(&admin, &common::csrf_of(&p.body), "resolver")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(to.starts_with("/blocklists?profile=resolver&ok="), "{to}");
    let saved = page(&h, &admin, &to, "en").await;
    assert!(saved.body.contains("Profile saved") && saved.body.contains("Preview: resolver"));
    assert!(
        saved.body.contains("<tr><td>domain</td>") && !saved.body.contains("<tr><td>ipv4</td>")
    );
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/blocklists/resolver/delete")
            .header(header::COOKIE, &admin)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={}", common::csrf_of(&saved.body))))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        h.store
            .blocklist_profile("resolver")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        h.store
            .blocklist_profile("member-made")
            .await
            .unwrap()
            .is_none()
    );

    // Without a session the page sends the reader to the login page.
    let r = send(&h.app, req("GET", "/blocklists", None, None)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // Deleting the profile: devices asking for it get 404.
    let r = send(
        &h.app,
        req(
            "DELETE",
            "/api/v1/blocklist-profiles/perimeter",
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(
        &h.app,
        req(
            "GET",
            "/api/v1/blocklists/txt?profile=perimeter",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocklist_profiles_and_console_preview_sqlite() {
    profiles_and_preview(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocklist_profiles_and_console_preview_postgres() {
    profiles_and_preview(Backend::Postgres).await;
}
