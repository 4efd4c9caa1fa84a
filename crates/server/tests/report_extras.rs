//! Notes and attachments on reports over real storage, both backends: adding, listing,
//! downloading, the STIX `note` in exports, the console page; and the leak check: a reader who
//! may not see the report gets "not found" for its notes, its attachment list and its files.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub, req, send};
use mamori_model::{Lang, OrgKind, Role, Scope};
use mamori_server::ops::{self, Actor};
use mamori_store::orgs::NewOrg;
use mamori_store::users::NewUser;
use serde_json::json;

/// A user with a token in a (possibly new) organisation.
async fn user_in(h: &Hub, slug: &str, role: Role) -> String {
    let sys = Actor::system();
    let org = match h.store.get_org_by_slug(slug).await {
        Ok(o) => o,
        Err(_) => ops::create_org(
            &h.store,
            &sys,
            &NewOrg {
                slug: slug.into(),
                name_ja: slug.into(),
                name_en: slug.into(),
                kind: OrgKind::CriticalInfrastructure,
                sector: None,
                cidrs: vec![],
                domains: vec![],
                contacts: vec![],
            },
        )
        .await
        .unwrap(),
    };
    let user = ops::create_user(
        &h.store,
        &sys,
        &NewUser {
            org_id: org.id,
            username: format!("{slug}.{}", role.as_str()),
            display_name: String::new(),
            email: String::new(),
            role,
            lang: Lang::Ja,
        },
        Some("a-long-password-123"),
    )
    .await
    .unwrap();
    let scopes: Vec<Scope> = mamori_access::role_scopes(role).to_vec();
    ops::create_token(&h.store, &sys, user.id, "t", &scopes, None)
        .await
        .unwrap()
        .1
}

fn upload(uri: &str, token: &str, bytes: &[u8]) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes.to_vec()))
        .unwrap()
}

async fn notes_and_attachments(h: Hub) {
    let author = user_in(&h, "isac-a", Role::Analyst).await;
    let partner = user_in(&h, "isac-b", Role::Analyst).await;
    // AMBER for isac-a and isac-b only (named recipient); the hub's member org may not see it.
    let b_org = h.store.get_org_by_slug("isac-b").await.unwrap().id;
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&author),
            Some(json!({
                "title": "Notes and files", "tlp": "AMBER", "recipients": [b_org.to_string()],
                "indicators": [{"kind": "domain", "value": "notes.example"}]
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["report"]["id"].as_str().unwrap().to_owned();

    // Notes: the partner (who may see the report) writes one; both read it.
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/reports/{id}/notes"),
            Some(&partner),
            Some(json!({"body": "同じC2を観測しました / seen here too"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/reports/{id}/notes"),
            Some(&partner),
            Some(json!({"body": "   "})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{id}/notes"),
            Some(&author),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    assert!(r.body.contains("seen here too"));

    // Attachments: the owners upload; readers list and download the same bytes.
    let bytes = b"MZ\x00 sample bytes".to_vec();
    let r = send(
        &h.app,
        upload(
            &format!("/api/v1/reports/{id}/attachments?name=../../evil%22.exe"),
            &author,
            &bytes,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let a = r.json();
    assert_eq!(a["file_name"], "evil.exe");
    assert_eq!(a["size"], bytes.len());
    let aid = a["id"].as_str().unwrap().to_owned();
    let sha = a["sha256"].as_str().unwrap().to_owned();
    assert!(
        h.data.path().join("attachments").join(&sha).exists(),
        "content-addressed"
    );
    let r = send(
        &h.app,
        upload(
            &format!("/api/v1/reports/{id}/attachments?name=x"),
            &partner,
            b"x",
        ),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only the owners attach files"
    );
    let r = send(
        &h.app,
        upload(
            &format!("/api/v1/reports/{id}/attachments?name=empty"),
            &author,
            b"",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{id}/attachments"),
            Some(&partner),
            None,
        ),
    )
    .await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{id}/attachments/{aid}"),
            Some(&partner),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type(), "application/octet-stream");
    assert_eq!(r.body.as_bytes(), &bytes[..]);
    assert!(
        r.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("evil.exe")
    );

    // The leak check: the member organisation may not see the report, so nothing of it.
    for path in [
        format!("/api/v1/reports/{id}/notes"),
        format!("/api/v1/reports/{id}/attachments"),
        format!("/api/v1/reports/{id}/attachments/{aid}"),
    ] {
        let r = send(&h.app, req("GET", &path, Some(&h.member_token), None)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.body);
        assert!(
            !r.body.contains("seen here too") && !r.body.contains("sample"),
            "{path}"
        );
        let r = send(&h.app, req("GET", &path, None, None)).await;
        assert!(
            r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/reports/{id}/notes"),
            Some(&h.member_token),
            Some(json!({"body": "probe"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // An attachment id of another report does not open through this one.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&partner),
            Some(json!({
        "title": "partner's own", "tlp": "GREEN"})),
        ),
    )
    .await;
    let own = r.json()["report"]["id"].as_str().unwrap().to_owned();
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{own}/attachments/{aid}"),
            Some(&partner),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The note travels as a STIX note referring to the report (TAXII-derived objects too).
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{id}/stix"),
            Some(&partner),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let bundle = r.json();
    let note = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "note")
        .cloned()
        .unwrap_or_else(|| panic!("{bundle}"));
    assert!(note["content"].as_str().unwrap().contains("seen here too"));
    assert!(
        note["object_refs"][0]
            .as_str()
            .unwrap()
            .starts_with("report--")
    );
    assert!(note.get("created_by_ref").is_none());

    // Importing that bundle brings the note back onto the new report.
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/import/stix")
            .header(header::AUTHORIZATION, format!("Bearer {author}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bundle.to_string()))
            .unwrap(),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
    let imported = r.json()["reports"][0].as_str().unwrap().to_owned();
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{imported}/notes"),
            Some(&author),
            None,
        ),
    )
    .await;
    assert!(r.body.contains("seen here too"), "{}", r.body);

    // The console shows both to readers, nothing to others.
    let page = |cookie: String| {
        Request::builder()
            .uri(format!("/reports/{id}"))
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT_LANGUAGE, "en")
            .body(Body::empty())
            .unwrap()
    };
    let cookie = common::login_cookie(&h.app, "isac-b.analyst", "a-long-password-123").await;
    let r = send(&h.app, page(cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("seen here too") && r.body.contains("evil.exe"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains(&format!("/api/v1/reports/{id}/attachments/{aid}"))
    );
    let cookie = common::login_cookie(&h.app, "member", "member-password-123").await;
    let r = send(&h.app, page(cookie)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!r.body.contains("seen here too") && !r.body.contains("evil.exe"));

    // Audit: the note and the attachment were recorded.
    let page = h.store.list_audit(None, 500).await.unwrap();
    let actions: Vec<String> = page.items.iter().map(|e| e.action.clone()).collect();
    assert!(
        actions.iter().any(|a| a == "report.note.add"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "report.attachment.add"),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_and_attachments_on_sqlite() {
    notes_and_attachments(hub(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_and_attachments_on_postgres() {
    notes_and_attachments(hub(Backend::Postgres).await).await;
}
