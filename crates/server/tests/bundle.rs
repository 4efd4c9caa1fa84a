//! Signed sensor bundles over the API on both backends: the published key, the hub's rules,
//! only the indicators the sensor's organisation may see, incremental diffs after a report is
//! added or revoked, and a signature that verifies over the exact body and fails after a flip.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Backend, Hub, Resp, hub_with, req, send};
use mamori_model::{Lang, Role, Scope};
use mamori_server::ops::{self, Actor};
use mamori_store::users::NewUser;
use serde_json::{Value, json};

const RULE: &str = r#"
title: Encoded PowerShell
id: 11111111-2222-3333-4444-555555555555
level: high
logsource:
  product: windows
  category: process_creation
detection:
  sel:
    Image|endswith: '\powershell.exe'
    CommandLine|contains: ' -enc '
  condition: sel
"#;

fn monitoring() -> mamori_server::Monitoring {
    let mut b = mamori_detect::RulesetBuilder::new();
    b.add_source("sigma/enc.yml", RULE);
    mamori_server::Monitoring {
        engine: mamori_pipeline::Engine::new(b.build().0),
        rule_files: vec![mamori_server::bundle::RuleFile::new("sigma/enc.yml", RULE)],
        ..mamori_server::Monitoring::default()
    }
}

async fn user_token(h: &Hub, org: &str, name: &str) -> String {
    let sys = Actor::system();
    let u = ops::create_user(
        &h.store,
        &sys,
        &NewUser {
            org_id: org.parse().unwrap(),
            username: name.into(),
            display_name: name.into(),
            email: String::new(),
            role: Role::Analyst,
            lang: Lang::En,
        },
        Some("a-long-password-123"),
    )
    .await
    .unwrap();
    ops::create_token(
        &h.store,
        &sys,
        u.id,
        "t",
        &[Scope::Read, Scope::Write],
        None,
    )
    .await
    .unwrap()
    .1
}

async fn report(h: &Hub, token: &str, tlp: &str, recipients: &[&str], value: &str) -> String {
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/reports",
            Some(token),
            Some(json!({"title": value, "tlp": tlp, "recipients": recipients,
                        "indicators": [{"kind": "domain", "value": value}]})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.json()["report"]["id"].as_str().unwrap().to_owned()
}

/// The bundle's body after checking its signature with `public`.
fn verified(r: &Resp, public: &[u8]) -> Value {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let sig = B64
        .decode(r.headers["x-mamori-signature"].to_str().unwrap())
        .unwrap();
    let pk = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public);
    pk.verify(r.body.as_bytes(), &sig)
        .expect("the signature verifies over the body");
    r.json()
}

fn values(v: &Value, key: &str) -> BTreeSet<String> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap().to_owned())
        .collect()
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| (*s).to_owned()).collect()
}

async fn run(backend: Backend) {
    let h = hub_with(backend, monitoring()).await;
    let app = &h.app;
    let outsider = user_token(&h, &h.other_org, "outsider").await;
    let analyst = user_token(&h, &h.member_org, "analyst").await;

    // The public key needs no secret; its id is derived from the key.
    let r = send(app, req("GET", "/api/v1/sensor/key", None, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let key = r.json();
    assert_eq!(key["algorithm"], "ed25519");
    let public = B64.decode(key["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(public.len(), 32);
    assert_eq!(
        key["key_id"].as_str().unwrap(),
        mamori_server::bundle::key_id(&public)
    );
    assert!(h.data.path().join("hub-signing.key").exists());

    let r = send(
        app,
        req(
            "POST",
            "/api/v1/sensors",
            Some(&h.admin_token),
            Some(json!({"org": "mine", "name": "dc01"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let token = r.json()["token"].as_str().unwrap().to_owned();

    // Only a sensor token gets a bundle.
    for t in [None, Some(h.member_token.as_str()), Some("mms_nope")] {
        let r = send(app, req("GET", "/api/v1/sensor/bundle", t, None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }

    // Another organisation's AMBER report: not shipped. Its CLEAR report and an AMBER
    // report naming the sensor's organisation as recipient: shipped. A report of the
    // sensor's own organisation: shipped.
    report(&h, &outsider, "AMBER", &[], "amber-other.example").await;
    report(&h, &outsider, "CLEAR", &[], "clear.example").await;
    let to_us = report(&h, &outsider, "AMBER", &[&h.member_org], "to-us.example").await;
    report(&h, &analyst, "AMBER", &[], "own.example").await;

    let r = send(app, req("GET", "/api/v1/sensor/bundle", Some(&token), None)).await;
    assert_eq!(
        r.headers["x-mamori-key-id"].to_str().unwrap(),
        key["key_id"].as_str().unwrap()
    );
    let full = verified(&r, &public);
    assert_eq!(full["full"], true);
    assert_eq!(full["org_id"].as_str().unwrap(), h.member_org);
    assert_eq!(full["rules"].as_array().unwrap().len(), 1);
    assert_eq!(full["rules"][0]["path"], "sigma/enc.yml");
    assert_eq!(full["rules"][0]["text"], RULE);
    assert_eq!(
        values(&full, "indicators"),
        set(&["clear.example", "to-us.example", "own.example"]),
        "never an indicator the sensor's organisation may not see"
    );
    let v1 = full["version"].as_str().unwrap().to_owned();

    // Flipping one byte of the body breaks the signature.
    let sig = B64
        .decode(r.headers["x-mamori-signature"].to_str().unwrap())
        .unwrap();
    let mut body = r.body.clone().into_bytes();
    let at = body.len() / 2;
    body[at] ^= 0x01;
    let pk = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public);
    assert!(pk.verify(&body, &sig).is_err());

    // The same version: a signed, empty diff.
    let r = send(
        app,
        req(
            "GET",
            &format!("/api/v1/sensor/bundle?since={v1}"),
            Some(&token),
            None,
        ),
    )
    .await;
    let same = verified(&r, &public);
    assert_eq!(
        (same["full"].as_bool(), same["version"].as_str()),
        (Some(false), Some(v1.as_str()))
    );
    assert!(same["rules"].as_array().unwrap().is_empty());
    assert!(same["indicators"].as_array().unwrap().is_empty());

    // A new visible report and a revoked one: a diff.
    report(&h, &outsider, "CLEAR", &[], "new.example").await;
    report(&h, &outsider, "RED", &[], "red-other.example").await;
    let r = send(
        app,
        req(
            "POST",
            &format!("/api/v1/reports/{to_us}/revoke"),
            Some(&outsider),
            None,
        ),
    )
    .await;
    assert!(r.status.is_success(), "{} {}", r.status, r.body);
    let r = send(
        app,
        req(
            "GET",
            &format!("/api/v1/sensor/bundle?since={v1}"),
            Some(&token),
            None,
        ),
    )
    .await;
    let diff = verified(&r, &public);
    assert_eq!(diff["full"], false);
    assert_eq!(diff["since"].as_str(), Some(v1.as_str()));
    assert_ne!(diff["version"].as_str(), Some(v1.as_str()));
    assert!(diff["rules"].as_array().unwrap().is_empty());
    assert!(diff["removed_rules"].as_array().unwrap().is_empty());
    assert_eq!(values(&diff, "indicators"), set(&["new.example"]));
    assert_eq!(values(&diff, "removed_indicators"), set(&["to-us.example"]));

    // An unknown `since` gets everything.
    let r = send(
        app,
        req(
            "GET",
            "/api/v1/sensor/bundle?since=unknown",
            Some(&token),
            None,
        ),
    )
    .await;
    let again = verified(&r, &public);
    assert_eq!(again["full"], true);
    assert_eq!(again["version"], diff["version"]);
    assert_eq!(
        values(&again, "indicators"),
        set(&["clear.example", "own.example", "new.example"])
    );

    // A sensor of the other organisation cannot use our version as a base to learn our
    // indicators: it gets its own full bundle.
    let r = send(
        app,
        req(
            "POST",
            "/api/v1/sensors",
            Some(&h.admin_token),
            Some(json!({"org": "other", "name": "fw01"})),
        ),
    )
    .await;
    let other_token = r.json()["token"].as_str().unwrap().to_owned();
    let r = send(
        app,
        req(
            "GET",
            &format!("/api/v1/sensor/bundle?since={v1}"),
            Some(&other_token),
            None,
        ),
    )
    .await;
    let theirs = verified(&r, &public);
    assert_eq!(theirs["full"], true);
    assert!(theirs["removed_indicators"].as_array().unwrap().is_empty());
    assert!(!values(&theirs, "indicators").contains("own.example"));

    // STIX pattern indicators go the same way, under the kind `stix-pattern` (as the hub's
    // own detection takes them): the outsider's AMBER patterns stay out of our sensor's
    // bundle, its CLEAR ones go in.
    let sequence = "[domain-name:value = 'a.example'] FOLLOWEDBY [url:value = 'http://b.example/']";
    let hidden = "[domain-name:value = 'c.example'] AND [domain-name:value = 'd.example']";
    for (tlp, pattern) in [("CLEAR", sequence), ("AMBER", hidden)] {
        let r = send(
            app,
            req(
                "POST",
                "/api/v1/reports",
                Some(&outsider),
                Some(json!({"title": tlp, "tlp": tlp,
                            "indicators": [{"pattern": pattern},
                                           {"pattern": "[domain-name:value = 'one.example']"}]})),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = send(app, req("GET", "/api/v1/sensor/bundle", Some(&token), None)).await;
    let now = verified(&r, &public);
    let patterns: BTreeSet<String> = now["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "stix-pattern")
        .map(|i| i["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        patterns,
        set(&[sequence, "[domain-name:value = 'one.example']"])
    );

    // Indicators that arrive over TAXII are detection input too, so they go to sensors the
    // same way: the outsider's GREEN post reaches our sensor, its AMBER post does not.
    let posted = |n: u32, marking: &str, ip: &str| {
        json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
            "created": "2026-11-25T01:00:00.000Z", "modified": "2026-11-25T01:00:00.000Z",
            "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix",
            "valid_from": "2026-11-25T01:00:00Z", "object_marking_refs": [marking]
        })
    };
    const MEDIA: &str = "application/taxii+json;version=2.1";
    const COMMUNITY: &str = "6d616d6f-7269-4c0a-8000-000000000002";
    const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    // GREEN to the community collection; AMBER to the outsider's own (the only place for it).
    for (collection, object) in [
        (COMMUNITY.to_owned(), posted(1, GREEN, "198.51.100.201")),
        (h.other_org.clone(), posted(2, AMBER, "198.51.100.202")),
    ] {
        let r = send(
            app,
            axum::http::Request::builder()
                .method("POST")
                .uri(format!("/taxii2/api/collections/{collection}/objects/"))
                .header(axum::http::header::ACCEPT, MEDIA)
                .header(axum::http::header::CONTENT_TYPE, MEDIA)
                .header(
                    axum::http::header::AUTHORIZATION,
                    format!("Bearer {outsider}"),
                )
                .body(axum::body::Body::from(
                    json!({ "objects": [object] }).to_string(),
                ))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
        assert_eq!(r.json()["success_count"], 1, "{}", r.body);
    }
    let r = send(app, req("GET", "/api/v1/sensor/bundle", Some(&token), None)).await;
    let now = verified(&r, &public);
    let ips = values(&now, "indicators");
    assert!(ips.contains("198.51.100.201"), "{ips:?}");
    assert!(!ips.contains("198.51.100.202"), "{ips:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_on_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_on_postgres() {
    run(Backend::Postgres).await;
}
