//! API tests through `app(state).oneshot(..)` over real storage, stamped for SQLite and
//! PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub, req, send};
use serde_json::json;

async fn health_metrics_openapi(h: Hub) {
    let r = send(&h.app, req("GET", "/healthz", None, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(&h.app, req("GET", "/readyz", None, None)).await;
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (StatusCode::OK, Some("ready"))
    );
    assert!(r.headers.contains_key("x-request-id"));
    let r = send(&h.app, req("GET", "/metrics", None, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("mamori_http_requests_total"), "{}", r.body);
    let r = send(&h.app, req("GET", "/api/openapi.json", None, None)).await;
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/orgs",
        "/api/v1/users",
        "/api/v1/tokens",
        "/api/v1/groups",
        "/api/v1/audit",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
}

async fn admin_manages_everything(h: Hub) {
    let t = Some(h.admin_token.as_str());
    let r = send(&h.app, req("POST", "/api/v1/orgs", t, Some(json!({
        "slug": "city-kobe", "name_ja": "神戸市", "name_en": "City of Kobe", "kind": "municipality",
        "cidrs": ["198.51.100.0/24"], "domains": ["city.kobe.example.jp"],
        "contacts": [{"name": "情報政策課", "email": "csirt@city.kobe.example.jp", "lang": "ja"}]
    })))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let org = r.json();
    assert_eq!(org["name_ja"], "神戸市");
    let org_id = org["id"].as_str().unwrap().to_owned();

    let r = send(
        &h.app,
        req(
            "PATCH",
            "/api/v1/orgs/city-kobe",
            t,
            Some(json!({"sector": "local-government"})),
        ),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["sector"].as_str()),
        (StatusCode::OK, Some("local-government"))
    );

    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/users",
            t,
            Some(json!({
                "org_id": org_id, "username": "kobe.analyst", "role": "analyst", "lang": "ja",
                "password": "a-long-password-1"
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let user_id = r.json()["id"].as_str().unwrap().to_owned();

    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/tokens",
            t,
            Some(json!({
                "name": "kobe sensor", "scopes": ["read"], "expires_in_days": 30, "user_id": user_id
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let secret = r.json()["secret"].as_str().unwrap().to_owned();
    let r = send(&h.app, req("GET", "/api/v1/me", Some(&secret), None)).await;
    assert_eq!(r.json()["user"]["username"], "kobe.analyst");
    assert_eq!(r.json()["scopes"], json!(["read"]));

    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/groups",
            t,
            Some(json!({
                "name": "兵庫ISAC", "owner_org": org_id, "members": [h.member_org]
            })),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gid = r.json()["id"].as_str().unwrap().to_owned();
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/groups/{gid}/members/other"),
            t,
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["members"].as_array().unwrap().len(), 3);
    // The member's principal now carries the group.
    let r = send(
        &h.app,
        req("GET", "/api/v1/me", Some(&h.member_token), None),
    )
    .await;
    assert_eq!(r.json()["groups"], json!([gid]));

    // Every change is in the audit log, and the chain verifies.
    let r = send(&h.app, req("GET", "/api/v1/audit?limit=100", t, None)).await;
    let actions: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in [
        "org.create",
        "org.update",
        "user.create",
        "token.create",
        "group.create",
        "group.member.add",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }
    let r = send(&h.app, req("POST", "/api/v1/audit/verify", t, None)).await;
    assert_eq!(r.json()["first_broken"], json!(null));
}

async fn member_cannot_manage_orgs(h: Hub) {
    let t = Some(h.member_token.as_str());
    let before = h.store.count_orgs().await.unwrap();
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/orgs",
            t,
            Some(json!({"slug": "x-org", "name_en": "X", "kind": "vendor"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.content_type(), "application/problem+json");
    for target in [&h.other_org, &h.member_org] {
        let r = send(
            &h.app,
            req(
                "PATCH",
                &format!("/api/v1/orgs/{target}"),
                t,
                Some(json!({"name_en": "pwned"})),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = send(
            &h.app,
            req("DELETE", &format!("/api/v1/orgs/{target}"), t, None),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/users",
            t,
            Some(json!({"org_id": h.member_org, "username": "sneaky", "role": "admin"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/tokens",
            t,
            Some(json!({"name": "up", "scopes": ["admin"]})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&h.app, req("GET", "/api/v1/audit", t, None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(h.store.count_orgs().await.unwrap(), before);
    assert_eq!(
        h.store
            .get_org(h.other_org.parse().unwrap())
            .await
            .unwrap()
            .name_en,
        "other org"
    );

    // Other organisations' contacts and ranges are hidden from members; their own are not.
    let r = send(
        &h.app,
        req("GET", &format!("/api/v1/orgs/{}", h.other_org), t, None),
    )
    .await;
    assert_eq!(r.json()["contacts"], json!([]));
    let r = send(
        &h.app,
        req("GET", &format!("/api/v1/orgs/{}", h.member_org), t, None),
    )
    .await;
    assert_eq!(r.json()["contacts"].as_array().unwrap().len(), 1);
    // Members see their own organisation's users only.
    let r = send(&h.app, req("GET", "/api/v1/users", t, None)).await;
    assert!(
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["org_id"] == h.member_org.as_str())
    );
    // A member may create a read token for themselves.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/tokens",
            t,
            Some(json!({"name": "mine", "scopes": ["read"]})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
}

async fn bad_credentials_and_tokens(h: Hub) {
    let r = send(&h.app, req("GET", "/api/v1/me", Some("mmr_forged"), None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["type"], "/problems/unauthenticated");

    let r = send(
        &h.app,
        req("GET", "/api/v1/tokens", Some(&h.member_token), None),
    )
    .await;
    let id = r.json()[0]["id"].as_str().unwrap().to_owned();
    let r = send(
        &h.app,
        req(
            "DELETE",
            &format!("/api/v1/tokens/{id}"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(
        &h.app,
        req("GET", "/api/v1/me", Some(&h.member_token), None),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a revoked token still works"
    );

    // An expired token.
    let admin = h.store.find_user("admin").await.unwrap();
    let (tok, secret) = h
        .store
        .create_token(
            admin.id,
            "short",
            &[mamori_model::Scope::Read],
            Some(mamori_store::now_millis() + 60_000),
        )
        .await
        .unwrap();
    h.store
        .execute_raw(&format!(
            "UPDATE api_tokens SET expires_at = 1 WHERE id = '{}'",
            tok.id
        ))
        .await
        .unwrap();
    let r = send(&h.app, req("GET", "/api/v1/me", Some(&secret), None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

async fn malformed_and_oversized_requests(h: Hub) {
    let t = Some(h.admin_token.as_str());
    let before = h.store.count_orgs().await.unwrap();
    let bad = Request::builder()
        .method("POST")
        .uri("/api/v1/orgs")
        .header(header::AUTHORIZATION, format!("Bearer {}", h.admin_token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"slug\": "))
        .unwrap();
    let r = send(&h.app, bad).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST.max(r.status),
        "{}",
        r.body
    );
    assert!(r.status.is_client_error());
    assert_eq!(r.content_type(), "application/problem+json");

    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/orgs",
            t,
            Some(json!({"slug": "ok-slug", "name_en": "X", "kind": "spaceship"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/orgs",
            t,
            Some(json!({"slug": "ok-slug", "name_en": "X", "kind": "vendor", "extra": 1})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/orgs",
            t,
            Some(json!({"slug": "UPPER", "name_en": "X", "kind": "vendor"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let big = "x".repeat(100 * 1024);
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/orgs",
            t,
            Some(json!({"slug": "big", "name_en": big, "kind": "vendor"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = send(&h.app, req("GET", "/api/v1/orgs?cursor=!!!", t, None)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(&h.app, req("GET", "/api/v1/nothing-here", t, None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        h.store.count_orgs().await.unwrap(),
        before,
        "bad input changed something"
    );
}

async fn pagination_with_cursor(h: Hub) {
    let t = Some(h.admin_token.as_str());
    for i in 0..5 {
        let r = send(
            &h.app,
            req(
                "POST",
                "/api/v1/orgs",
                t,
                Some(json!({"slug": format!("p-{i}"), "name_en": "P", "kind": "vendor"})),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let total = h.store.count_orgs().await.unwrap() as usize;
    let mut seen = 0;
    let mut uri = "/api/v1/orgs?limit=2".to_owned();
    loop {
        let page = send(&h.app, req("GET", &uri, t, None)).await.json();
        seen += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/api/v1/orgs?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, total);
}

macro_rules! api_suite {
    ($backend:ident, $variant:expr) => {
        mod $backend {
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        super::$name(super::hub($variant).await).await;
                    }
                };
            }
            case!(health_metrics_openapi);
            case!(admin_manages_everything);
            case!(member_cannot_manage_orgs);
            case!(bad_credentials_and_tokens);
            case!(malformed_and_oversized_requests);
            case!(pagination_with_cursor);
        }
    };
}

api_suite!(sqlite, super::Backend::Sqlite);
api_suite!(postgres, super::Backend::Postgres);
