//! MISP interchange through the API on real storage: import an event, read the feed back, keep
//! AMBER+STRICT and RED out of feeds, and let the reference library (PyMISP, in `.venv`) load
//! what we serve.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub, req, send};
use serde_json::json;

const EVENT: &str = r#"{"Event": {
    "uuid": "5b1f6a6e-0000-4000-8000-000000000001", "info": "Emotet 再流行 / Emotet resurgence",
    "date": "2026-11-01", "threat_level_id": "2", "analysis": "1", "timestamp": "1790000000",
    "Orgc": {"name": "Partner CERT"},
    "Tag": [{"name": "tlp:green"}, {"name": "malware:emotet"}],
    "Attribute": [
        {"type": "ip-dst", "value": "198.51.100.44", "to_ids": true},
        {"type": "url", "value": "hxxp://dl.emotet.example/a.doc", "to_ids": "1"},
        {"type": "sha256", "value": "not-a-hash", "to_ids": true},
        {"type": "stix2-pattern", "value": "[ipv4-addr:value = ", "to_ids": true},
        {"type": "comment", "value": "ignored"}
    ]
}}"#;

async fn import_and_feed(h: Hub) {
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/import/misp")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.admin_token))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(EVENT))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    assert_eq!(v["report"]["report"]["tlp"], "GREEN");
    assert_eq!(v["report"]["report"]["labels"], json!(["malware:emotet"]));
    let values: Vec<&str> = v["report"]["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        vec!["198.51.100.44", "http://dl.emotet.example/a.doc"]
    );
    let skipped: Vec<&str> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["misp_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        skipped,
        vec!["comment", "sha256", "stix2-pattern"],
        "bad values are listed, not silently dropped, and do not sink the event"
    );
    let rid = v["report"]["report"]["id"].as_str().unwrap().to_owned();

    // An AMBER+STRICT report stays out of every feed.
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(&h.admin_token),
            Some(json!({"title": "strict", "tlp": "AMBER+STRICT"})),
        ),
    )
    .await;
    let strict = r.json()["report"]["id"].as_str().unwrap().to_owned();

    // The member's feed: GREEN from the hub is visible and exportable.
    let r = send(
        &h.app,
        req(
            "GET",
            "/misp/feed/manifest.json",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let manifest = r.json();
    assert!(manifest.get(&rid).is_some(), "{manifest}");
    assert!(manifest.get(&strict).is_none());
    assert_eq!(manifest[&rid]["Tag"][0]["name"], "tlp:green");
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/misp/feed/{rid}.json"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let event = r.json();
    assert_eq!(event["Event"]["info"], "Emotet 再流行 / Emotet resurgence");
    assert_eq!(event["Event"]["Attribute"].as_array().unwrap().len(), 2);
    let r = send(
        &h.app,
        req(
            "GET",
            &format!("/misp/feed/{strict}.json"),
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "AMBER+STRICT exported");
    let r = send(&h.app, req("GET", "/misp/feed/manifest.json", None, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Malformed events are refused with a position and store nothing.
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/import/misp")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.admin_token))
            .body(Body::from("{\"Event\": {\"info\": "))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.json()["detail"].as_str().unwrap().contains("line 1"));

    // PyMISP loads the event we serve.
    let py = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let has_pymisp = py.exists()
        && std::process::Command::new(&py)
            .args(["-c", "import pymisp"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !has_pymisp {
        eprintln!(
            "SKIPPED: PyMISP is not installed in .venv (run .ci/setup); the peer check did not run"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, event.to_string()).unwrap();
    let script = "import sys, pymisp\ne = pymisp.MISPEvent()\ne.load_file(sys.argv[1])\nprint(e.info)\nprint(len(e.attributes))\nprint(sorted(t.name for t in e.tags)[0])\nprint(e.attributes[0].to_ids)";
    let out = std::process::Command::new(&py)
        .args(["-c", script])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            "Emotet 再流行 / Emotet resurgence",
            "2",
            "malware:emotet",
            "True"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_feed_on_sqlite() {
    import_and_feed(hub(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_feed_on_postgres() {
    import_and_feed(hub(Backend::Postgres).await).await;
}
