//! Incident-response cases through the API on both backends: playbooks, participation-based
//! visibility, owner-only steering, timeline, closing rules and the audit trail.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::http::StatusCode;
use common::{Backend, Hub, hub, req, send};
use mamori_model::{Lang, Role, Scope};
use mamori_server::ops::{self, Actor};
use serde_json::json;

async fn cases_flow(h: Hub) {
    // The member of "mine" becomes an analyst; "other" gets an analyst too.
    let u = h.store.find_user("member").await.unwrap();
    let patch = mamori_store::users::UserPatch {
        role: Some(Role::Analyst),
        ..Default::default()
    };
    h.store.update_user(u.id, &patch).await.unwrap();
    let other = ops::create_user(
        &h.store,
        &Actor::system(),
        &mamori_store::users::NewUser {
            org_id: h.other_org.parse().unwrap(),
            username: "other.analyst".into(),
            display_name: String::new(),
            email: String::new(),
            role: Role::Analyst,
            lang: Lang::Ja,
        },
        None,
    )
    .await
    .unwrap();
    let (_, other_token) = ops::create_token(
        &h.store,
        &Actor::system(),
        other.id,
        "t",
        &[Scope::Read, Scope::Write],
        None,
    )
    .await
    .unwrap();
    let mine = h.member_token.clone();

    let r = send(&h.app, req("POST", "/api/v1/cases", Some(&mine), Some(json!({
        "title": "標的型メールによる侵害の疑い", "severity": "high", "tlp": "AMBER", "playbook": "targeted-mail"
    })))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    let id = v["case"]["id"].as_str().unwrap().to_owned();
    assert_eq!(v["tasks"].as_array().unwrap().len(), 5);
    assert!(v["tasks"][0]["due_at"].as_i64().is_some());
    let task = v["tasks"][0]["id"].as_str().unwrap().to_owned();

    // Not taking part: not found, and not listed.
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/cases/{id}"),
            Some(&other_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        &h.app,
        req("GET", "/api/v1/cases", Some(&other_token), None),
    )
    .await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);

    // The owner invites "other" as the victim; now it sees the case but may not steer it.
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/cases/{id}/participants"),
            Some(&mine),
            Some(json!({"org": "other", "role": "victim"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/cases/{id}"),
            Some(&other_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/status"),
            Some(&other_token),
            Some(json!({"status": "containment"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Any participant writes the timeline and works tasks.
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/cases/{id}/timeline"),
            Some(&other_token),
            Some(json!({"text": "09:12 受信者3名が添付を開封", "at": 1_795_600_000_000i64})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/tasks/{task}"),
            Some(&other_token),
            Some(json!({"status": "done"})),
        ),
    )
    .await;
    assert_eq!(r.json()["tasks"][0]["status"], "done");

    // A hunt timeline (as `mamori hunt --format jsonl` writes it) lands on the case timeline.
    let hunt = "{\"timestamp\":\"2026-11-25T00:00:01Z\",\"ts_ms\":1795600001000,\"computer\":\"ws1\",\"channel\":\"Security\",\"event_id\":\"4688\",\"record_id\":\"7\",\"rule_title\":\"Whoami Execution\",\"level\":\"medium\"}\nnot json\n";
    let r = send(
        &h.app,
        axum::http::Request::builder()
            .method("POST")
            .uri(format!("/api/v1/cases/{id}/timeline/hunt"))
            .header(axum::http::header::AUTHORIZATION, format!("Bearer {mine}"))
            .header(axum::http::header::CONTENT_TYPE, "application/x-ndjson")
            .body(axum::body::Body::from(hunt))
            .unwrap(),
    )
    .await;
    assert_eq!(
        (
            r.status,
            r.json()["imported"].as_u64(),
            r.json()["skipped"].as_u64()
        ),
        (StatusCode::OK, Some(1), Some(1)),
        "{}",
        r.body
    );

    // Status rules.
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/status"),
            Some(&mine),
            Some(json!({"status": "closed"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/status"),
            Some(&mine),
            Some(json!({"status": "exploded"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/status"),
            Some(&mine),
            Some(json!({"status": "closed", "resolution": "contained; 3 hosts reimaged"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(
        (
            v["case"]["status"].as_str(),
            v["timeline"].as_array().unwrap().len()
        ),
        (Some("closed"), 2)
    );
    assert!(
        v["timeline"]
            .to_string()
            .contains("Whoami Execution on ws1")
    );

    // Bad input and the audit trail.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/cases",
            Some(&mine),
            Some(json!({"title": "x", "playbook": "nope"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let log = h.store.list_audit(None, 200).await.unwrap();
    for a in [
        "case.create",
        "case.participant",
        "case.timeline",
        "case.task",
        "case.status",
        "case.read",
    ] {
        assert!(log.items.iter().any(|e| e.action == a), "{a} not audited");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_on_sqlite() {
    cases_flow(hub(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_on_postgres() {
    cases_flow(hub(Backend::Postgres).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_in_the_console() {
    use axum::body::Body;
    use axum::http::{Request, header};
    let h = hub(Backend::Sqlite).await;
    let u = h.store.find_user("member").await.unwrap();
    let patch = mamori_store::users::UserPatch {
        role: Some(Role::Analyst),
        ..Default::default()
    };
    h.store.update_user(u.id, &patch).await.unwrap();
    let cookie = common::login_cookie(&h.app, "member", "member-password-123").await;
    let get = |uri: String| {
        Request::builder()
            .uri(uri)
            .header(header::COOKIE, &cookie)
            .header(header::ACCEPT_LANGUAGE, "ja")
            .body(Body::empty())
            .unwrap()
    };
    let post = |uri: String, body: String| {
        Request::builder()
            .method("POST")
            .uri(uri)
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let page = send(&h.app, get("/cases".into())).await;
    assert!(page.body.contains("インシデント対応"));
    let csrf = common::csrf_of(&page.body);
    let r = send(
        &h.app,
        post(
            "/cases".into(),
            format!(
                "csrf={csrf}&title=Ransomware+at+HQ&severity=critical&tlp=AMBER&playbook=ransomware"
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let loc = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    let id = loc
        .trim_start_matches("/cases/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let r = send(
        &h.app,
        post(
            format!("/cases/{id}/timeline"),
            format!("csrf={csrf}&text=Backups+verified"),
        ),
    )
    .await;
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .contains("ok=")
    );
    let r = send(
        &h.app,
        post(
            format!("/cases/{id}/status"),
            format!("csrf={csrf}&status=containment&resolution="),
        ),
    )
    .await;
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .contains("ok=")
    );
    let page = send(&h.app, get(format!("/cases/{id}"))).await;
    assert!(
        page.body.contains("Backups verified") && page.body.contains("id=\"case-status\">封じ込め"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("感染端末のネットワーク隔離"),
        "playbook tasks shown"
    );
}
