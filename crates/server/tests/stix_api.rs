//! STIX 2.1 bundles through the JSON API on real storage: import (reports, typed values,
//! pattern indicators, verbatim objects), export, refusals and malformed input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub, req, send};
use serde_json::json;

fn bundle() -> serde_json::Value {
    json!({
        "type": "bundle", "id": "bundle--44af6c39-c09b-49c5-9de2-394224b04982",
        "objects": [
            {"type": "report", "spec_version": "2.1", "id": "report--84e4d88f-44ea-4bcd-bbf3-b2c1c320bcb3",
             "created": "2026-11-20T10:00:00.000Z", "modified": "2026-11-20T10:00:00.000Z",
             "name": "APT キャンペーン", "published": "2026-11-20T10:00:00Z", "labels": ["apt"],
             "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
             "object_refs": ["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                             "indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                             "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5"]},
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
             "created": "2026-11-20T10:00:00.000Z", "modified": "2026-11-20T10:00:00.000Z",
             "pattern": "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
             "pattern_type": "stix", "valid_from": "2026-11-20T10:00:00Z",
             "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]},
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--9e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
             "created": "2026-11-20T10:00:00.000Z", "modified": "2026-11-20T10:00:00.000Z",
             "pattern": "[network-traffic:dst_port = 445] FOLLOWEDBY [file:name = 'x.exe'] WITHIN 60 SECONDS",
             "pattern_type": "stix", "valid_from": "2026-11-20T10:00:00Z"},
            {"type": "domain-name", "spec_version": "2.1", "id": "domain-name--3c10e93f-798e-5a26-a0c1-08156efab7f5",
             "value": "apt.example"},
            {"type": "x-mamori-test", "spec_version": "2.1", "id": "x-mamori-test--5e0b7a7c-2f54-4c8f-8d5f-6a9f6c4f4b39",
             "created": "2026-11-20T10:00:00.000Z", "modified": "2026-11-20T10:00:00.000Z", "anything": [1, 2, 3]}
        ]
    })
}

fn post_bundle(token: &str, body: String) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/api/v1/import/stix")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap()
}

async fn import_and_export(h: Hub) {
    let r = send(&h.app, post_bundle(&h.admin_token, bundle().to_string())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    assert_eq!(v["reports"].as_array().unwrap().len(), 1);
    assert_eq!(v["objects_kept"], 5);
    let rid = v["reports"][0].as_str().unwrap().to_owned();
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{rid}"),
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    let view = r.json();
    assert_eq!(view["report"]["title"], "APT キャンペーン");
    assert_eq!(view["report"]["tlp"], "GREEN");
    let inds = view["indicators"].as_array().unwrap();
    assert!(
        inds.iter()
            .any(|i| i["kind"] == "sha256" && i["value"].as_str().unwrap().starts_with("aec0"))
    );
    assert!(inds.iter().any(|i| {
        i["pattern"]
            .as_str()
            .is_some_and(|p| p.contains("FOLLOWEDBY"))
    }));
    assert!(
        inds.iter()
            .any(|i| i["kill_chain_phases"] == json!(["mitre-attack:initial-access"]))
    );
    assert_eq!(view["observables"][0]["value"], "apt.example");

    // The custom object is kept verbatim in the organisation's collection.
    let admin = h.store.find_user("admin").await.unwrap();
    let r = send(
        &h.app,
        Request::builder()
            .uri(format!(
                "/taxii2/api/collections/{}/objects/?match[type]=x-mamori-test",
                admin.org_id
            ))
            .header(header::AUTHORIZATION, format!("Bearer {}", h.admin_token))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.json()["objects"][0]["anything"], json!([1, 2, 3]));

    // Export: a valid bundle with the marking definition; members may download GREEN.
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{rid}/stix"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.content_type().starts_with("application/stix+json"));
    let b = mamori_stix::Bundle::parse(r.body.as_bytes(), Default::default()).unwrap();
    assert!(b.of_type("report").count() == 1 && b.of_type("marking-definition").count() == 1);
    assert!(b.of_type("indicator").count() == 2);

    // AMBER+STRICT is not exported; bad bundles are refused precisely and store nothing.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&h.admin_token),
            Some(json!({"title": "s", "tlp": "AMBER+STRICT"})),
        ),
    )
    .await;
    let strict = r.json()["report"]["id"].as_str().unwrap().to_owned();
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/api/v1/reports/{strict}/stix"),
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut bad = bundle();
    bad["objects"][1]["pattern"] = json!("[file:hashes.'SHA-256' = ");
    let before = h.store.list_audit(None, 500).await.unwrap().items.len();
    let r = send(&h.app, post_bundle(&h.admin_token, bad.to_string())).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .contains("indicator--8e2e2d2b"),
        "{}",
        r.body
    );
    let after: Vec<_> = h.store.list_audit(None, 500).await.unwrap().items;
    assert!(
        !after
            .iter()
            .take(after.len() - before)
            .any(|e| e.action == "report.create"),
        "nothing stored"
    );
    let r = send(
        &h.app,
        post_bundle(&h.admin_token, "{\"type\": \"bundle\"".into()),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stix_on_sqlite() {
    import_and_export(hub(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stix_on_postgres() {
    import_and_export(hub(Backend::Postgres).await).await;
}
