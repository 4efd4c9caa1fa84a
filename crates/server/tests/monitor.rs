//! Monitoring over the API on both backends: sensors, ingestion (NDJSON and raw lines, zstd and
//! gzip, retries, limits, refused senders), routed alerts visible to their organisation only,
//! triage with false-positive suppression, escalation to a case, event search, dead letters.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::io::Write;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub_with, req, send};
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

fn monitoring(rate: u32) -> mamori_server::Monitoring {
    let mut b = mamori_detect::RulesetBuilder::new();
    b.add_source("rule.yml", RULE);
    let (rules, errors) = b.build();
    assert!(errors.is_empty(), "{errors:?}");
    mamori_server::Monitoring {
        engine: mamori_pipeline::Engine::new(rules),
        settings: mamori_pipeline::Settings::default(),
        rate_per_sender: rate,
        bus: None,
        retention_days: 90,
        syslog: Default::default(),
        intake: None,
        rule_files: vec![mamori_server::bundle::RuleFile::new("rule.yml", RULE)],
    }
}

fn sysmon(host: &str, cmd: &str) -> String {
    json!({
        "Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": host},
                  "EventData": {"Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                                "CommandLine": cmd, "User": "庁内\\山田"}}
    })
    .to_string()
}

fn zstd(body: &str) -> Vec<u8> {
    zstd::encode_all(body.as_bytes(), 3).unwrap()
}

fn gzip(body: &str) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(body.as_bytes()).unwrap();
    e.finish().unwrap()
}

fn ingest(
    token: &str,
    batch: Option<&str>,
    query: &str,
    ctype: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri(format!("/api/v1/events{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, ctype);
    if let Some(id) = batch {
        b = b.header("x-mamori-batch", id);
    }
    if let Some(e) = encoding {
        b = b.header(header::CONTENT_ENCODING, e);
    }
    b.body(Body::from(body)).unwrap()
}

async fn user_token(h: &Hub, org: &str, name: &str, role: Role) -> String {
    let sys = Actor::system();
    let u = ops::create_user(
        &h.store,
        &sys,
        &NewUser {
            org_id: org.parse().unwrap(),
            username: name.into(),
            display_name: name.into(),
            email: String::new(),
            role,
            lang: Lang::Ja,
        },
        Some("a-long-password-123"),
    )
    .await
    .unwrap();
    let scopes: &[Scope] = if role == Role::Auditor {
        &[Scope::Read]
    } else {
        &[Scope::Read, Scope::Write]
    };
    ops::create_token(&h.store, &sys, u.id, "t", scopes, None)
        .await
        .unwrap()
        .1
}

async fn run(backend: Backend) {
    let h = hub_with(backend, monitoring(0)).await;
    let app = &h.app;
    let analyst = user_token(&h, &h.member_org, "analyst1", Role::Analyst).await;
    let outsider = user_token(&h, &h.other_org, "outsider", Role::Analyst).await;

    // Only hub administrators register sensors; the token is shown once.
    let r = send(
        app,
        req(
            "POST",
            "/api/v1/sensors",
            Some(&h.member_token),
            Some(json!({"org": h.member_org, "name": "dc01"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
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
    let sensor_id = r.json()["sensor"]["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("mms_"));

    // A zstd NDJSON batch: two matches of one rule on one host make one alert.
    let body = [
        sysmon("ws01", "powershell.exe -nop -enc SQBFAFgA"),
        sysmon("ws01", "powershell.exe -enc AAAA"),
        sysmon("ws02", "notepad.exe ログ.txt"),
    ]
    .join("\n");
    let r = send(
        app,
        ingest(
            &token,
            Some("b-1"),
            "",
            "application/x-ndjson",
            Some("zstd"),
            zstd(&body),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        (
            r.json()["accepted"].as_i64(),
            r.json()["alerts_new"].as_i64()
        ),
        (Some(3), Some(1))
    );
    // The retry of that batch is acknowledged and stores nothing.
    let r = send(
        app,
        ingest(
            &token,
            Some("b-1"),
            "",
            "application/x-ndjson",
            Some("zstd"),
            zstd(&body),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["duplicate"], true);

    // Raw syslog, gzip: the bad line is a dead letter, the rest is stored.
    let raw = "<13>1 2026-11-25T10:00:00Z fw01 kernel - - - 不正アクセス遮断 SRC=198.51.100.7\nnot syslog at all\n";
    let r = send(
        app,
        ingest(
            &token,
            Some("b-2"),
            "?format=syslog",
            "text/plain",
            Some("gzip"),
            gzip(raw),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(
        (r.json()["accepted"].as_i64(), r.json()["rejected"].as_i64()),
        (Some(1), Some(1))
    );
    let r = send(
        app,
        req(
            "GET",
            "/api/v1/events/dead-letters",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    let dl = r.json();
    assert_eq!(dl.as_array().unwrap().len(), 1, "{dl}");
    assert_eq!(dl[0]["text"], "not syslog at all");
    assert!(dl[0]["origin"].as_str().unwrap().ends_with(":2"), "{dl}");
    let r = send(
        app,
        req("GET", "/api/v1/events/dead-letters", Some(&outsider), None),
    )
    .await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);

    // The console's sensor page: health and the rejected line, in the member's language.
    let cookie = common::login_cookie(app, "member", "member-password-123").await;
    let r = send(
        app,
        Request::builder()
            .uri("/sensors")
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("dc01") && r.body.contains("not syslog at all"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("稼働中") && r.body.contains("<svg"),
        "{}",
        r.body
    );
    // Retro-hunts are hub-wide: a member does not see them, a hub administrator does, with
    // one that is still running.
    assert!(!r.body.contains("retro-hunts"), "{}", r.body);
    let claim = |id: &str, key: &str| {
        let store = h.store.clone();
        let (id, key) = (id.to_owned(), key.to_owned());
        async move {
            let now = mamori_store::now_millis();
            let hunt = mamori_store::retro::NewRetroHunt {
                id,
                claimed_by: "test:1".into(),
                now,
                from_ts: now - 86_400_000,
                until_received: now,
            };
            store.claim_retro_hunt(&hunt, &[key]).await.unwrap()
        }
    };
    claim("first", "k0").await;
    let got = claim("h1", "k1").await;
    assert_eq!(got, mamori_store::retro::Claim::Claimed(vec!["k1".into()]));
    user_token(&h, &h.member_org, "hubadm", Role::Admin).await;
    let admin = common::login_cookie(app, "hubadm", "a-long-password-123").await;
    let r = send(
        app,
        Request::builder()
            .uri("/sensors")
            .header(header::COOKIE, &admin)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("id=\"retro-hunts\"")
            && r.body.contains("遡及ハント")
            && r.body.contains("hunt-running")
            && r.body.contains("実行中 (0 ブロック)"),
        "{}",
        r.body
    );

    // Refused senders: unknown token, bad encoding, too many lines.
    let r = send(
        app,
        ingest(
            "mms_unknown",
            None,
            "",
            "application/x-ndjson",
            None,
            b"{}".to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        app,
        ingest(
            &token,
            None,
            "",
            "application/x-ndjson",
            Some("br"),
            b"{}".to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let many = "{}\n".repeat(10_001);
    let r = send(
        app,
        ingest(
            &token,
            None,
            "",
            "application/x-ndjson",
            Some("zstd"),
            zstd(&many),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = send(
        app,
        ingest(
            &token,
            None,
            "?format=nope",
            "text/plain",
            None,
            b"x".to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A member (not analyst) user may not send events; a sensor of one organisation may not
    // speak for another.
    let r = send(
        app,
        ingest(
            &h.member_token,
            None,
            "",
            "application/x-ndjson",
            None,
            b"{}".to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let forged = json!({"organization.id": h.other_org, "message": "x"}).to_string();
    let r = send(
        app,
        ingest(
            &token,
            None,
            "",
            "application/x-ndjson",
            None,
            forged.into_bytes(),
        ),
    )
    .await;
    assert_eq!(r.json()["rejected"], 1);

    // The alert is visible to its organisation only.
    let r = send(
        app,
        req("GET", "/api/v1/alerts", Some(&h.member_token), None),
    )
    .await;
    let alerts = r.json();
    assert_eq!(alerts.as_array().unwrap().len(), 1, "{alerts}");
    let id = alerts[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(alerts[0]["event_count"], 2);
    assert_eq!(alerts[0]["route"], "sensor");
    // Filtered by host (exact), and limited.
    let host = alerts[0]["host"].as_str().unwrap().to_owned();
    let listed = |q: String| {
        let token = h.member_token.clone();
        async move {
            send(
                app,
                req("GET", &format!("/api/v1/alerts?{q}"), Some(&token), None),
            )
            .await
        }
    };
    let r = listed(format!("host={host}&limit=1")).await;
    assert_eq!(r.json().as_array().unwrap().len(), 1, "{}", r.json());
    let r = listed(format!("host={}", &host[..host.len() - 1])).await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);
    for bad in ["limit=0", "limit=1001"] {
        let r = listed(bad.to_owned()).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.json());
    }
    let r = send(app, req("GET", "/api/v1/alerts", Some(&outsider), None)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);
    // An auditor of another organisation does not see it either (only hub administrators do).
    let auditor = user_token(&h, &h.other_org, "auditor2", Role::Auditor).await;
    let r = send(app, req("GET", "/api/v1/alerts", Some(&auditor), None)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);
    let r = send(
        app,
        req("GET", "/api/v1/events?q=powershell", Some(&auditor), None),
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 0);
    let r = send(app, req("GET", "/api/v1/alerts", Some(&outsider), None)).await;
    assert_eq!(r.json().as_array().unwrap().len(), 0);
    let r = send(
        app,
        req(
            "GET",
            &format!("/api/v1/alerts/{id}"),
            Some(&outsider),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        app,
        req(
            "GET",
            &format!("/api/v1/alerts/{id}"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["evidence"].as_array().unwrap().len(), 2);
    assert_eq!(
        r.json()["evidence"][0]["doc"]["Event.System.Computer"],
        "ws01"
    );

    // Triage: members read, analysts work alerts; assignees must exist.
    let r = send(
        app,
        req(
            "PATCH",
            &format!("/api/v1/alerts/{id}"),
            Some(&h.member_token),
            Some(json!({"status": "acknowledged"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        app,
        req(
            "PATCH",
            &format!("/api/v1/alerts/{id}"),
            Some(&analyst),
            Some(json!({"status": "acknowledged", "assignee": "analyst1"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.json()["status"].as_str(), r.json()["assignee"].as_str()),
        (Some("acknowledged"), Some("analyst1"))
    );
    let r = send(
        app,
        req(
            "PATCH",
            &format!("/api/v1/alerts/{id}"),
            Some(&analyst),
            Some(json!({"assignee": "nobody"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        app,
        req(
            "PATCH",
            &format!("/api/v1/alerts/{id}"),
            Some(&outsider),
            Some(json!({"status": "closed"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Escalation opens a case the organisation sees, with the evidence on its timeline.
    let r = send(
        app,
        req(
            "POST",
            &format!("/api/v1/alerts/{id}/escalate"),
            Some(&analyst),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let case = r.json()["case_id"].as_str().unwrap().to_owned();
    let r = send(
        app,
        req(
            "GET",
            &format!("/api/v1/cases/{case}"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["timeline"].as_array().unwrap().len() >= 3);
    let r = send(
        app,
        req(
            "POST",
            &format!("/api/v1/alerts/{id}/escalate"),
            Some(&analyst),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // A false positive suppresses the rule on that host: the next match raises nothing.
    let r = send(
        app,
        req(
            "POST",
            &format!("/api/v1/alerts/{id}/false-positive"),
            Some(&analyst),
            Some(json!({"reason": "管理者のスクリプト"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let next = sysmon("ws01", "powershell.exe -enc BBBB");
    let r = send(
        app,
        ingest(
            &token,
            Some("b-3"),
            "",
            "application/x-ndjson",
            None,
            next.into_bytes(),
        ),
    )
    .await;
    assert_eq!(r.json()["alerts_new"], 0, "{}", r.body);
    let r = send(
        app,
        req(
            "GET",
            "/api/v1/alerts/suppressions",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()[0]["hits"], 1);

    // Search: Japanese substring, field filter, organisation scope, paging.
    let r = send(
        app,
        req(
            "GET",
            "/api/v1/events?q=%E3%83%AD%E3%82%B0.txt",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1, "{}", r.body);
    let r = send(
        app,
        req(
            "GET",
            "/api/v1/events?fields=host.name:ws01",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 3, "{}", r.body);
    let r = send(
        app,
        req(
            "GET",
            "/api/v1/events?fields=host.name:ws01&limit=2",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    let next = r.json()["next"].as_str().unwrap().to_owned();
    let r = send(
        app,
        req(
            "GET",
            &format!("/api/v1/events?fields=host.name:ws01&limit=2&before={next}"),
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    let r = send(
        app,
        req("GET", "/api/v1/events?q=powershell", Some(&outsider), None),
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 0);
    let r = send(
        app,
        req(
            "GET",
            "/api/v1/events?q=powershell",
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 4);
    let r = send(
        app,
        req(
            "GET",
            "/api/v1/events?fields=nocolon",
            Some(&h.member_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A revoked sensor is refused; the audit log has the whole story.
    let r = send(
        app,
        req(
            "DELETE",
            &format!("/api/v1/sensors/{sensor_id}"),
            Some(&h.admin_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        app,
        ingest(
            &token,
            None,
            "",
            "application/x-ndjson",
            None,
            b"{}".to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(
        app,
        req("GET", "/api/v1/audit?limit=200", Some(&h.admin_token), None),
    )
    .await;
    let actions: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap_or("").to_owned())
        .collect();
    for a in [
        "sensor.create",
        "alert.triage",
        "alert.escalate",
        "alert.false_positive",
        "sensor.revoke",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} not audited: {actions:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_on_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitoring_on_postgres() {
    run(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_sender_is_rate_limited_without_starving_others() {
    let h = hub_with(Backend::Sqlite, monitoring(10)).await;
    let app = &h.app;
    let mk = |name: &str| {
        req(
            "POST",
            "/api/v1/sensors",
            Some(&h.admin_token),
            Some(json!({"org": "mine", "name": name})),
        )
    };
    let t1 = send(app, mk("noisy")).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let t2 = send(app, mk("quiet")).await.json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let lines = |n: usize| {
        (0..n)
            .map(|i| json!({"n": i}).to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    // More than the burst (2 x 10/s) in one batch can never pass: split it (413).
    let r = send(
        app,
        ingest(
            &t1,
            None,
            "",
            "application/x-ndjson",
            None,
            lines(25).into_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = send(
        app,
        ingest(
            &t1,
            None,
            "",
            "application/x-ndjson",
            None,
            lines(15).into_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let r = send(
        app,
        ingest(
            &t1,
            None,
            "",
            "application/x-ndjson",
            None,
            lines(15).into_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    // The other sensor is not affected.
    let r = send(
        app,
        ingest(
            &t2,
            None,
            "",
            "application/x-ndjson",
            None,
            lines(15).into_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let v: Value = r.json();
    assert_eq!(v["accepted"], 15);
}
