//! Incident response, second part, through the API on real storage: evidence with its chain of
//! custody (both backends), the coordination-request visibility matrix (both backends), SLA
//! clocks and breaches notified once (both backends), notifications by e-mail into a real SMTP
//! server (aiosmtpd) and by webhook to a real HTTP listener with retries, and the after-action
//! report as HTML and as PDF (headless Chromium, text checked with pdftotext).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, Resp, hub_configured, req, send};
use mamori_model::{Contact, Lang, OrgKind, Role, Scope};
use mamori_server::ops::{self, Actor};
use mamori_store::orgs::NewOrg;
use mamori_store::users::NewUser;
use serde_json::{Value, json};

/// The parties of the matrix: tokens of analysts in the owner ("mine", which sends the request),
/// the recipient ("other"), a third participant, an organisation outside the case, an auditor
/// of the owner organisation, and the hub administrator.
struct Parties {
    mine: String,
    other: String,
    third: String,
    outsider: String,
    auditor: String,
    admin: String,
}

async fn org(h: &Hub, slug: &str, email: &str, lang: Lang) -> mamori_model::OrgId {
    ops::create_org(
        &h.store,
        &Actor::system(),
        &NewOrg {
            slug: slug.into(),
            name_ja: format!("{slug} 機構"),
            name_en: format!("{slug} agency"),
            kind: OrgKind::Ministry,
            sector: None,
            cidrs: vec![],
            domains: vec![],
            contacts: vec![Contact {
                name: "CSIRT".into(),
                email: email.into(),
                lang,
            }],
        },
    )
    .await
    .unwrap()
    .id
}

async fn user(h: &Hub, org: mamori_model::OrgId, name: &str, role: Role) -> String {
    let u = ops::create_user(
        &h.store,
        &Actor::system(),
        &NewUser {
            org_id: org,
            username: name.into(),
            display_name: String::new(),
            email: format!("{name}@example.jp"),
            role,
            lang: Lang::En,
        },
        None,
    )
    .await
    .unwrap();
    let scopes: &[Scope] = if role == Role::Auditor {
        &[Scope::Read]
    } else {
        &[Scope::Read, Scope::Write]
    };
    ops::create_token(&h.store, &Actor::system(), u.id, "t", scopes, None)
        .await
        .unwrap()
        .1
}

async fn parties(h: &Hub) -> Parties {
    let mine = h.member_org.parse().unwrap();
    let other = h.other_org.parse().unwrap();
    let third = org(h, "third", "csirt@third.example.jp", Lang::Ja).await;
    let outsider = org(h, "outsider", "csirt@outsider.example.jp", Lang::En).await;
    Parties {
        mine: user(h, mine, "mine.analyst", Role::Analyst).await,
        other: user(h, other, "other.analyst", Role::Analyst).await,
        third: user(h, third, "third.analyst", Role::Analyst).await,
        outsider: user(h, outsider, "outsider.analyst", Role::Analyst).await,
        auditor: user(h, mine, "mine.auditor", Role::Auditor).await,
        admin: h.admin_token.clone(),
    }
}

/// A case owned by "mine" with "other" (victim) and "third" (expert) taking part.
async fn open_case(h: &Hub, p: &Parties, severity: &str) -> String {
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/cases",
            Some(&p.mine),
            Some(json!({"title": "ランサムウェア感染 (省内ファイルサーバ)", "severity": severity, "tlp": "AMBER", "playbook": "ransomware"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.json()["case"]["id"].as_str().unwrap().to_owned();
    for (org, role) in [("other", "victim"), ("third", "expert")] {
        let r = send(
            &h.app,
            req(
                "POST",
                &format!("/api/v1/cases/{id}/participants"),
                Some(&p.mine),
                Some(json!({"org": org, "role": role})),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    id
}

fn raw(method: &str, uri: &str, token: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/vnd.tcpdump.pcap")
        .body(Body::from(body))
        .unwrap()
}

async fn get(h: &Hub, uri: &str, token: &str) -> Resp {
    send(&h.app, req("GET", uri, Some(token), None)).await
}

async fn audit_actions(h: &Hub) -> Vec<String> {
    h.store
        .list_audit(None, 500)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect()
}

// ---- evidence ----

async fn evidence_flow(h: Hub) {
    let p = parties(&h).await;
    let id = open_case(&h, &p, "high").await;
    let bytes: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let r = send(
        &h.app,
        raw(
            "POST",
            &format!("/api/v1/cases/{id}/evidence?filename=..%2F..%2Fcapture.pcap&description=%E9%80%9A%E4%BF%A1%E8%A8%98%E9%8C%B2"),
            &p.other,
            bytes.clone(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    let e = &v["evidence"];
    let eid = e["id"].as_str().unwrap().to_owned();
    assert_eq!(e["filename"], "capture.pcap", "directory parts dropped");
    assert_eq!(e["size"], 40_000);
    assert_eq!(e["description"], "通信記録");
    let sha = e["sha256"].as_str().unwrap().to_owned();
    let want = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(sha, want);
    assert_eq!(e["md5"].as_str().unwrap().len(), 32);
    assert_eq!(e["sha1"].as_str().unwrap().len(), 40);
    assert_eq!(v["custody"][0]["action"], "added");
    assert_eq!(v["custody"][0]["actor"], "other.analyst");
    // Stored content-addressed under the data directory.
    let path = h.data.path().join(format!(
        "evidence/sha256/{}/{}/{sha}",
        &sha[..2],
        &sha[2..4]
    ));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // Too large: refused, nothing recorded, no partial file left.
    let r = send(
        &h.app,
        raw(
            "POST",
            &format!("/api/v1/cases/{id}/evidence?filename=big.bin"),
            &p.mine,
            vec![7u8; 70_000],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert_eq!(
        std::fs::read_dir(h.data.path().join("evidence/tmp"))
            .unwrap()
            .count(),
        0
    );

    // Download by another participant streams the same bytes and joins the chain of custody.
    let r = h
        .app
        .clone()
        .oneshot_bytes(req(
            "GET",
            &format!("/api/v1/cases/{id}/evidence/{eid}/content"),
            Some(&p.third),
            None,
        ))
        .await;
    assert_eq!(r.0, StatusCode::OK);
    assert_eq!(
        r.1.get(header::CONTENT_TYPE).unwrap(),
        "application/octet-stream"
    );
    assert!(
        r.1.get(header::CONTENT_DISPOSITION)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    assert_eq!(r.2, bytes);
    let r = get(&h, &format!("/api/v1/cases/{id}/evidence/{eid}"), &p.mine).await;
    let chain: Vec<(String, String)> = r.json()["custody"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["action"].as_str().unwrap().to_owned(),
                c["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        chain,
        [
            ("added".to_owned(), "other.analyst".to_owned()),
            ("downloaded".to_owned(), "third.analyst".to_owned())
        ]
    );
    // The case view lists the evidence.
    let r = get(&h, &format!("/api/v1/cases/{id}"), &p.mine).await;
    assert_eq!(r.json()["evidence"].as_array().unwrap().len(), 1);

    // Outside the case: not found for every evidence path, and the attempts are audited.
    for uri in [
        format!("/api/v1/cases/{id}/evidence"),
        format!("/api/v1/cases/{id}/evidence/{eid}"),
        format!("/api/v1/cases/{id}/evidence/{eid}/content"),
    ] {
        assert_eq!(
            get(&h, &uri, &p.outsider).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let r = send(
        &h.app,
        raw(
            "POST",
            &format!("/api/v1/cases/{id}/evidence?filename=x.bin"),
            &p.outsider,
            b"x".to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The auditor of a participant reads but may not add.
    assert_eq!(
        get(&h, &format!("/api/v1/cases/{id}/evidence"), &p.auditor)
            .await
            .status,
        StatusCode::OK
    );
    let r = send(
        &h.app,
        raw(
            "POST",
            &format!("/api/v1/cases/{id}/evidence?filename=x.bin"),
            &p.auditor,
            b"x".to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let actions = audit_actions(&h).await;
    assert!(actions.iter().any(|a| a == "case.evidence.add"));
    assert!(actions.iter().any(|a| a == "case.evidence.download"));
    assert!(
        actions.iter().filter(|a| *a == "case.denied").count() >= 4,
        "{actions:?}"
    );
}

/// `oneshot` that keeps the raw body bytes.
trait OneshotBytes {
    async fn oneshot_bytes(self, r: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>);
}

impl OneshotBytes for axum::Router {
    async fn oneshot_bytes(self, r: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let resp = self.oneshot(r).await.unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }
}

// ---- coordination requests ----

async fn request_matrix(h: Hub) {
    let p = parties(&h).await;
    let id = open_case(&h, &p, "high").await;
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/cases/{id}/requests"),
            Some(&p.mine),
            Some(json!({"to": "other", "kind": "log_collection", "title": "プロキシログの提供依頼",
                        "body": "11/20以降のプロキシログをお願いします", "due_at": 1_900_000_000_000i64})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let rid = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["status"], "open");

    // Who sees the case / the request list / the request.
    let case_uri = format!("/api/v1/cases/{id}");
    let list_uri = format!("/api/v1/cases/{id}/requests");
    let one_uri = format!("/api/v1/cases/{id}/requests/{rid}");
    let matrix = [
        ("requester", &p.mine, StatusCode::OK, 1, StatusCode::OK),
        ("recipient", &p.other, StatusCode::OK, 1, StatusCode::OK),
        (
            "third participant",
            &p.third,
            StatusCode::OK,
            0,
            StatusCode::NOT_FOUND,
        ),
        (
            "non-participant",
            &p.outsider,
            StatusCode::NOT_FOUND,
            0,
            StatusCode::NOT_FOUND,
        ),
        ("hub admin", &p.admin, StatusCode::OK, 1, StatusCode::OK),
        (
            "auditor of requester",
            &p.auditor,
            StatusCode::OK,
            1,
            StatusCode::OK,
        ),
    ];
    for (who, token, case_status, listed, one_status) in matrix {
        assert_eq!(
            get(&h, &case_uri, token).await.status,
            case_status,
            "{who}: case"
        );
        let r = get(&h, &list_uri, token).await;
        if case_status == StatusCode::OK {
            assert_eq!(r.json().as_array().unwrap().len(), listed, "{who}: list");
            assert_eq!(
                get(&h, &case_uri, token).await.json()["requests"]
                    .as_array()
                    .unwrap()
                    .len(),
                listed,
                "{who}: requests in the case view"
            );
        } else {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{who}: list");
        }
        assert_eq!(
            get(&h, &one_uri, token).await.status,
            one_status,
            "{who}: request"
        );
        // The case list: a non-participant sees no case at all.
        let cases = get(&h, "/api/v1/cases", token).await.json();
        let sees = cases
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str());
        assert_eq!(sees, case_status == StatusCode::OK, "{who}: case list");
    }

    // Writing: only the parties; the recipient works it, the sender may cancel.
    let status = |token: &str, status: &str, version: Option<i64>| {
        let body = match version {
            Some(v) => json!({"status": status, "version": v}),
            None => json!({"status": status}),
        };
        send(
            &h.app,
            req("PUT", &format!("{one_uri}/status"), Some(token), Some(body)),
        )
    };
    assert_eq!(
        status(&p.third, "accepted", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&p.outsider, "accepted", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status(&p.auditor, "cancelled", None).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(&p.mine, "accepted", None).await.status,
        StatusCode::FORBIDDEN
    );
    let r = status(&p.other, "accepted", Some(1)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["version"], 2);
    // A second answer made from the same old version is a conflict, not a lost update.
    let r = status(&p.other, "declined", Some(1)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(
        get(&h, &one_uri, &p.mine).await.json()["request"]["status"],
        "accepted"
    );
    let r = status(&p.other, "in_progress", Some(2)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The thread.
    for (token, text) in [
        (&p.other, "本日中に送付します"),
        (&p.mine, "よろしくお願いします"),
    ] {
        let r = send(
            &h.app,
            req(
                "POST",
                &format!("{one_uri}/messages"),
                Some(token),
                Some(json!({"body": text})),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("{one_uri}/messages"),
            Some(&p.third),
            Some(json!({"body": "覗き見"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let thread = get(&h, &one_uri, &p.other).await.json()["messages"].clone();
    assert_eq!(thread.as_array().unwrap().len(), 2);
    assert_eq!(thread[0]["author"], "other.analyst");

    // Validation: the recipient must take part; the kind must be known.
    for (body, why) in [
        (
            json!({"to": "outsider", "kind": "support", "title": "x"}),
            "non-participant recipient",
        ),
        (
            json!({"to": "other", "kind": "coffee", "title": "x"}),
            "unknown kind",
        ),
        (
            json!({"to": "mine", "kind": "support", "title": "x"}),
            "to itself",
        ),
    ] {
        let r = send(&h.app, req("POST", &list_uri, Some(&p.mine), Some(body))).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{why}: {}",
            r.body
        );
    }
    // Cases are versioned too: two owners' analysts answering from the same view.
    let v = get(&h, &case_uri, &p.mine).await.json()["case"]["version"]
        .as_i64()
        .unwrap();
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("{case_uri}/status"),
            Some(&p.mine),
            Some(json!({"status": "triage", "version": v})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("{case_uri}/status"),
            Some(&p.mine),
            Some(json!({"status": "containment", "version": v})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("changed meanwhile"), "{}", r.body);
    // Done is final.
    assert_eq!(status(&p.other, "done", None).await.status, StatusCode::OK);
    assert_eq!(
        status(&p.mine, "cancelled", None).await.status,
        StatusCode::CONFLICT
    );
    let actions = audit_actions(&h).await;
    for a in [
        "case.request.create",
        "case.request.status",
        "case.request.message",
        "case.request.denied",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited");
    }
}

// ---- SLA ----

async fn sla_clocks(h: Hub) {
    let p = parties(&h).await;
    let id = open_case(&h, &p, "critical").await;
    let v = get(&h, &format!("/api/v1/cases/{id}"), &p.mine)
        .await
        .json();
    let created = v["case"]["created_at"].as_i64().unwrap();
    // Defaults for critical: 15 minutes to acknowledge, 240 to contain.
    assert_eq!(v["sla"]["acknowledge_due_at"], created + 15 * 60_000);
    assert_eq!(v["sla"]["contain_due_at"], created + 240 * 60_000);
    assert_eq!(v["sla"]["acknowledge_overdue"], false);

    // Twenty minutes later nobody has acknowledged it: overdue on read, and one breach.
    h.store
        .execute_raw(&format!(
            "UPDATE cases SET created_at = created_at - 1200000 WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    let v = get(&h, &format!("/api/v1/cases/{id}"), &p.other)
        .await
        .json();
    assert_eq!(v["sla"]["acknowledge_overdue"], true);
    assert_eq!(v["sla"]["contain_overdue"], false);
    let now = mamori_store::now_millis();
    let cx = h.state.cases();
    assert_eq!(mamori_server::sla::check_once(&cx, now).await.unwrap(), 1);
    assert_eq!(
        mamori_server::sla::check_once(&cx, now).await.unwrap(),
        0,
        "once"
    );
    // Acknowledging stops that clock; five hours later containment breaches, once.
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/status"),
            Some(&p.mine),
            Some(json!({"status": "triage"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json()["sla"]["acknowledge_overdue"],
        true,
        "acknowledged late"
    );
    let later = now + 5 * 3_600_000;
    assert_eq!(mamori_server::sla::check_once(&cx, later).await.unwrap(), 1);
    assert_eq!(mamori_server::sla::check_once(&cx, later).await.unwrap(), 0);
    let timeline = get(&h, &format!("/api/v1/cases/{id}"), &p.mine)
        .await
        .json()["timeline"]
        .clone();
    let sla_entries = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "sla")
        .count();
    assert_eq!(sla_entries, 2);
    assert_eq!(
        audit_actions(&h)
            .await
            .iter()
            .filter(|a| *a == "case.sla_breach")
            .count(),
        2
    );
}

macro_rules! both {
    ($backend:ident, $variant:ident) => {
        mod $backend {
            use super::*;
            async fn hub() -> Hub {
                hub_configured(
                    Backend::$variant,
                    mamori_server::Monitoring::default(),
                    |c| {
                        c.cases.evidence_max_bytes = 64 * 1024;
                    },
                )
                .await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn evidence_flow() {
                super::evidence_flow(hub().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn request_matrix() {
                super::request_matrix(hub().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sla_clocks() {
                super::sla_clocks(hub().await).await;
            }
        }
    };
}

both!(sqlite, Sqlite);
both!(postgres, Postgres);

// ---- notifications ----

fn venv_python() -> Option<std::path::PathBuf> {
    let py = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let ok = py.exists()
        && Command::new(&py)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success());
    ok.then_some(py)
}

/// A webhook receiver on 127.0.0.1 that answers 500 to the first POST and 200 afterwards,
/// recording every body it accepted.
async fn webhook_listener() -> (String, Arc<Mutex<Vec<Value>>>, Arc<Mutex<u32>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let hits = Arc::new(Mutex::new(0u32));
    let (g, n) = (got.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<Value>| {
            let (g, n) = (g.clone(), n.clone());
            async move {
                let first = {
                    let mut n = n.lock().unwrap();
                    *n += 1;
                    *n == 1
                };
                if first {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                g.lock().unwrap().push(body.0);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), got, hits)
}

fn read_maildir(dir: &std::path::Path) -> Vec<mamori_mail::Analysis> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(dir.join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(mamori_mail::analyze(&std::fs::read(e.path()).unwrap()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_by_mail_and_webhook() {
    let Some(py) = venv_python() else {
        eprintln!(
            "SKIPPED: aiosmtpd is not in .venv (run .ci/setup); case notifications did not run"
        );
        return;
    };
    let mail = tempfile::tempdir().unwrap();
    let maildir = mail.path().join("maildir");
    let port = mamori_testkit::free_port();
    let mut smtpd = Command::new(&py)
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let h = hub_configured(Backend::Sqlite, mamori_server::Monitoring::default(), |c| {
        c.notify.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        c.notify.from = "Mamori Hub <hub@mamori.example.jp>".into();
        c.public_url = Some("https://hub.example.jp".into());
    })
    .await;
    let p = parties(&h).await;
    let (hook, got, hits) = webhook_listener().await;
    // The recipient organisation ("other") has a webhook; setting it is for administrators.
    let r = send(
        &h.app,
        req(
            "PUT",
            "/api/v1/orgs/other/webhook",
            Some(&p.mine),
            Some(json!({"url": hook})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &h.app,
        req(
            "PUT",
            "/api/v1/orgs/other/webhook",
            Some(&p.admin),
            Some(json!({"url": hook})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);

    let id = open_case(&h, &p, "high").await;
    // New request → "other" (its contact c@example.jp, Japanese; and its webhook).
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/cases/{id}/requests"),
            Some(&p.mine),
            Some(json!({"to": "other", "kind": "support", "title": "現地支援の要請"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // Assignment → the assignee's own address.
    let task = get(&h, &format!("/api/v1/cases/{id}"), &p.mine)
        .await
        .json()["tasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/tasks/{task}"),
            Some(&p.mine),
            Some(json!({"assignee": "other.analyst"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["tasks"][0]["assignee"], "other.analyst");
    // Status change → every participant (mine: c@example.jp; third: Japanese contact).
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/status"),
            Some(&p.mine),
            Some(json!({"status": "containment"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    // SLA breach (acknowledge was met; containment too) → nothing; so force one on a new case.
    let id2 = open_case(&h, &p, "critical").await;
    h.store
        .execute_raw(&format!(
            "UPDATE cases SET created_at = created_at - 1200000 WHERE id = '{id2}'"
        ))
        .await
        .unwrap();
    assert_eq!(
        mamori_server::sla::check_once(&h.state.cases(), mamori_store::now_millis())
            .await
            .unwrap(),
        1
    );

    // Wait for delivery (background tasks; the webhook's first attempt fails and is retried).
    let deadline = Instant::now() + Duration::from_secs(30);
    let want_hooks = [
        "case.request.created",
        "case.task.assigned",
        "case.status",
        "case.sla_breach",
    ];
    loop {
        let events: Vec<String> = got
            .lock()
            .unwrap()
            .iter()
            .map(|v| v["event"].as_str().unwrap_or("").to_owned())
            .collect();
        let mails = read_maildir(&maildir);
        let subjects: Vec<String> = mails
            .iter()
            .filter_map(|m| m.headers.subject.clone())
            .collect();
        let bodies: String = mails
            .iter()
            .flat_map(|m| m.bodies.iter().map(|b| b.text.clone()))
            .collect::<Vec<_>>()
            .join("\n");
        let hooks_ok = want_hooks.iter().all(|w| events.iter().any(|e| e == w));
        let mails_ok = bodies.contains("新しい調整依頼 (support)")
            && bodies.contains("other.analyst")
            && bodies.contains("containment")
            && bodies.contains("SLA超過");
        if hooks_ok && mails_ok {
            assert!(
                subjects.iter().all(|s| s.contains("TLP:AMBER")),
                "{subjects:?}"
            );
            assert!(bodies.contains(&format!("https://hub.example.jp/cases/{id}")));
            assert!(
                *hits.lock().unwrap() > events.len() as u32,
                "the failed first POST was retried"
            );
            let hook = got
                .lock()
                .unwrap()
                .iter()
                .find(|v| v["event"] == "case.request.created")
                .cloned()
                .unwrap();
            assert_eq!(hook["case"]["id"], id.as_str());
            assert_eq!(hook["detail"]["kind"], "support");
            // The outsider organisation's contact got nothing.
            assert!(mails.iter().all(|m| {
                m.headers
                    .to
                    .iter()
                    .all(|t| t.address.as_deref() != Some("csirt@outsider.example.jp"))
            }),);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "notifications missing: hooks {events:?}, subjects {subjects:?}\n{bodies}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = smtpd.kill();
    let _ = smtpd.wait();
}

// ---- after-action report ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_action_report_html_and_pdf() {
    let h = hub_configured(
        Backend::Sqlite,
        mamori_server::Monitoring::default(),
        |_| {},
    )
    .await;
    let p = parties(&h).await;
    let id = open_case(&h, &p, "high").await;
    send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/cases/{id}/observables"),
            Some(&p.other),
            Some(json!({"value": "hxxp://evil[.]example/payload.exe", "note": "C2"})),
        ),
    )
    .await;
    let r = send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/cases/{id}/observables"),
            Some(&p.other),
            Some(json!({"kind": "ipv4", "value": "198.51.100.23"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    send(
        &h.app,
        raw(
            "POST",
            &format!("/api/v1/cases/{id}/evidence?filename=mem.raw"),
            &p.mine,
            b"MZ dump".to_vec(),
        ),
    )
    .await;
    send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/cases/{id}/requests"),
            Some(&p.mine),
            Some(json!({"to": "other", "kind": "support", "title": "復旧支援の依頼"})),
        ),
    )
    .await;
    send(
        &h.app,
        req(
            "POST",
            &format!("/api/v1/cases/{id}/requests"),
            Some(&p.third),
            Some(json!({"to": "other", "kind": "information", "title": "第三者間の秘密の依頼"})),
        ),
    )
    .await;
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/lessons"),
            Some(&p.other),
            Some(json!({"lessons": "x"})),
        ),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "only the owner writes lessons"
    );
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/lessons"),
            Some(&p.mine),
            Some(json!({"lessons": "オフラインバックアップの定期的な復元訓練が必要"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{id}/status"),
            Some(&p.mine),
            Some(json!({"status": "closed", "resolution": "復旧完了"})),
        ),
    )
    .await;

    let html = get(
        &h,
        &format!("/api/v1/cases/{id}/report.html?lang=ja"),
        &p.mine,
    )
    .await;
    assert_eq!(html.status, StatusCode::OK, "{}", html.body);
    assert!(html.content_type().starts_with("text/html"));
    for want in [
        "インシデント事後報告書",
        "ランサムウェア感染",
        "http://evil.example/payload.exe",
        "198.51.100.23",
        "mem.raw",
        "復旧支援の依頼",
        "オフラインバックアップの定期的な復元訓練が必要",
        "other 組織",
        "TLP:AMBER",
    ] {
        assert!(html.body.contains(want), "ja report lacks {want}");
    }
    assert!(
        !html.body.contains("第三者間の秘密の依頼"),
        "a request between others stays out"
    );
    assert!(!html.body.contains("<script"), "no scripts");
    let en = get(
        &h,
        &format!("/api/v1/cases/{id}/report.html?lang=en"),
        &p.mine,
    )
    .await;
    assert!(en.body.contains("After-action report") && en.body.contains("Lessons learned"));
    assert!(en.body.contains("other org"));
    // The third participant's own report shows its request, not the owner's.
    let third = get(
        &h,
        &format!("/api/v1/cases/{id}/report.html?lang=ja"),
        &p.third,
    )
    .await;
    assert!(third.body.contains("第三者間の秘密の依頼") && !third.body.contains("復旧支援の依頼"));
    assert_eq!(
        get(&h, &format!("/api/v1/cases/{id}/report.html"), &p.outsider)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    if mamori_server::pdf::chromium().is_none() {
        eprintln!("SKIPPED: no chromium; the PDF report was not rendered");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (lang, title) in [
        ("ja", "インシデント事後報告書"),
        ("en", "After-action report"),
    ] {
        let (status, headers, pdf) = h
            .app
            .clone()
            .oneshot_bytes(req(
                "GET",
                &format!("/api/v1/cases/{id}/report.pdf?lang={lang}"),
                Some(&p.mine),
                None,
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
        assert_eq!(
            headers.get(header::CONTENT_TYPE).unwrap(),
            "application/pdf"
        );
        assert!(pdf.starts_with(b"%PDF"), "{lang}: not a PDF");
        let path = dir.path().join(format!("report-{lang}.pdf"));
        std::fs::write(&path, &pdf).unwrap();
        match Command::new("pdftotext").arg(&path).arg("-").output() {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout);
                assert!(
                    text.contains(title),
                    "{lang}: PDF text lacks {title}: {text}"
                );
                assert!(
                    text.contains("ランサムウェア感染"),
                    "{lang}: Japanese glyphs in the PDF"
                );
            }
            _ => eprintln!("SKIPPED: pdftotext (poppler-utils) missing; PDF text not checked"),
        }
        // Keep a PNG of the first page for a look (MAMORI_KEEP_REPORT=DIR).
        if let Some(keep) = std::env::var_os("MAMORI_KEEP_REPORT") {
            let keep = std::path::PathBuf::from(keep);
            std::fs::create_dir_all(&keep).unwrap();
            std::fs::copy(&path, keep.join(format!("report-{lang}.pdf"))).unwrap();
            let _ = Command::new("pdftoppm")
                .args(["-png", "-r", "60", "-f", "1", "-l", "1"])
                .arg(&path)
                .arg(keep.join(format!("report-{lang}")))
                .status();
        }
    }
    assert!(audit_actions(&h).await.iter().any(|a| a == "case.report"));
}

// ---- console ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_evidence_requests_and_report_links() {
    let h = hub_configured(
        Backend::Sqlite,
        mamori_server::Monitoring::default(),
        |_| {},
    )
    .await;
    let p = parties(&h).await;
    ops::create_user(
        &h.store,
        &Actor::system(),
        &NewUser {
            org_id: h.member_org.parse().unwrap(),
            username: "mine.console".into(),
            display_name: String::new(),
            email: String::new(),
            role: Role::Analyst,
            lang: Lang::Ja,
        },
        Some("console-password-123"),
    )
    .await
    .unwrap();
    let id = open_case(&h, &p, "high").await;
    let cookie = common::login_cookie(&h.app, "mine.console", "console-password-123").await;
    let page = |uri: String| {
        let cookie = cookie.clone();
        let app = h.app.clone();
        async move {
            send(
                &app,
                Request::builder()
                    .uri(uri)
                    .header(header::COOKIE, cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    let r = page(format!("/cases/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("evidence-form") && r.body.contains("request-form"));
    assert!(
        r.body
            .contains(&format!("/api/v1/cases/{id}/report.pdf?lang=ja"))
    );
    let csrf = common::csrf_of(&r.body);

    // Evidence through the multipart form.
    let boundary = "XmamoriBoundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\nフィッシングメール原本\r\n").as_bytes());
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"phish.eml\"\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes());
    body.extend_from_slice(b"Subject: test\r\n\r\nhello\r\n");
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = send(
        &h.app,
        Request::builder()
            .method("POST")
            .uri(format!("/cases/{id}/evidence"))
            .header(header::COOKIE, &cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let loc = r.headers.get(header::LOCATION).unwrap().to_str().unwrap();
    assert!(loc.contains("ok="), "{loc}");

    // A coordination request through the form, then its page, a reply.
    let form = |fields: &[(&str, &str)]| {
        fields
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    };
    let post = |uri: String, body: String| {
        let cookie = cookie.clone();
        let app = h.app.clone();
        async move {
            send(
                &app,
                Request::builder()
                    .method("POST")
                    .uri(uri)
                    .header(header::COOKIE, cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
        }
    };
    let r = post(
        format!("/cases/{id}/requests"),
        form(&[
            ("csrf", &csrf),
            ("to", "other"),
            ("kind", "takedown"),
            ("title", "フィッシングサイトのテイクダウン"),
            ("body", "至急"),
            ("due", "2030-01-31"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let loc = r
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(loc.starts_with(&format!("/cases/{id}/requests/")), "{loc}");
    let rpage = loc.split('?').next().unwrap().to_owned();
    let r = post(
        format!("{rpage}/messages"),
        form(&[("csrf", &csrf), ("body", "よろしくお願いします")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = page(rpage.clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("フィッシングサイトのテイクダウン")
            && r.body.contains("よろしくお願いします")
    );
    assert!(r.body.contains("2030-01-31 23:59"));
    // The sender may not accept its own request: the page says why.
    let r = post(
        format!("{rpage}/status"),
        form(&[("csrf", &csrf), ("status", "accepted"), ("version", "1")]),
    )
    .await;
    assert!(
        r.headers
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("err=")
    );
    // Observables, assignment and lessons from the case page.
    let r = post(
        format!("/cases/{id}/observables"),
        form(&[
            ("csrf", &csrf),
            ("value", "evil.example"),
            ("note", "フィッシング"),
        ]),
    )
    .await;
    assert!(
        r.headers
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("ok=")
    );
    let r = post(
        format!("/cases/{id}/lessons"),
        form(&[("csrf", &csrf), ("lessons", "訓練の徹底")]),
    )
    .await;
    assert!(
        r.headers
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("ok=")
    );
    let r = page(format!("/cases/{id}")).await;
    for want in [
        "phish.eml",
        "フィッシングメール原本",
        "フィッシングサイトのテイクダウン",
        "evil.example",
        "訓練の徹底",
        "added mine.console",
    ] {
        assert!(r.body.contains(want), "case page lacks {want}");
    }
    // A member-style incident report from the cases page opens a hub case we take part in.
    let r = post(
        "/cases/report".into(),
        form(&[
            ("csrf", &csrf),
            ("title", "不審な通信を検知"),
            ("description", "深夜の大量送信"),
            ("category", ""),
            ("severity", "high"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let loc = r
        .headers
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(loc.starts_with("/cases/") && loc.contains("ok="), "{loc}");
    let r = page(loc.split('?').next().unwrap().to_owned()).await;
    assert!(r.body.contains("不審な通信を検知"));
    // The timeline filter on the case page.
    let r = page(format!("/cases/{id}?source=report&q=%E4%B8%8D%E5%AF%A9")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("timeline-export"));
    // The metrics page charts what we take part in.
    let r = page("/cases/metrics".into()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains("<svg") && r.body.contains("ransomware"),
        "metrics by incident type"
    );
    // The playbook editor is for hub administrators.
    assert_eq!(
        page("/playbooks".into()).await.status,
        StatusCode::FORBIDDEN
    );
    // A wrong CSRF token uploads nothing.
    let r = post(
        format!("/cases/{id}/observables"),
        form(&[("csrf", "nope"), ("value", "bad.example")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

// ---- playbooks ----

async fn playbooks_editable(h: Hub) {
    let p = parties(&h).await;
    let list = get(&h, "/api/v1/playbooks", &p.mine).await.json();
    assert_eq!(list.as_array().unwrap().len(), 6, "six built in");
    let tasks = json!({"tasks": [
        {"title": "暗号化端末の隔離 / Isolate encrypted hosts", "hours": 1},
        {"title": "警察への相談 / Contact the police", "hours": 12}
    ]});
    let r = send(
        &h.app,
        req(
            "PUT",
            "/api/v1/playbooks/ransomware",
            Some(&p.mine),
            Some(tasks.clone()),
        ),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "analysts do not edit playbooks"
    );
    let r = send(
        &h.app,
        req(
            "PUT",
            "/api/v1/playbooks/ransomware",
            Some(&p.admin),
            Some(tasks),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.json()["built_in"].clone(), r.json()["edited"].clone()),
        (json!(true), json!(true))
    );
    // Cases opened afterwards get the edited tasks.
    let id = open_case(&h, &p, "high").await;
    let v = get(&h, &format!("/api/v1/cases/{id}"), &p.mine)
        .await
        .json();
    let titles: Vec<&str> = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "暗号化端末の隔離 / Isolate encrypted hosts",
            "警察への相談 / Contact the police"
        ]
    );
    // A new incident type, usable right away.
    let r = send(
        &h.app,
        req(
            "PUT",
            "/api/v1/playbooks/supply-chain",
            Some(&p.admin),
            Some(json!({"tasks": [{"title": "委託先への照会 / Query the supplier", "hours": 4}]})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/cases",
            Some(&p.mine),
            Some(json!({"title": "委託先経由の侵害", "playbook": "supply-chain"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["tasks"].as_array().unwrap().len(), 1);
    for (name, body) in [
        ("Bad Name", json!({"tasks": [{"title": "x", "hours": 1}]})),
        ("empty", json!({"tasks": []})),
        (
            "too-late",
            json!({"tasks": [{"title": "x", "hours": 99999}]}),
        ),
    ] {
        let r = send(
            &h.app,
            req(
                "PUT",
                &format!("/api/v1/playbooks/{}", name.replace(' ', "%20")),
                Some(&p.admin),
                Some(body),
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
    // Reset: the built-in returns; the added one goes.
    for name in ["ransomware", "supply-chain"] {
        let r = send(
            &h.app,
            req(
                "DELETE",
                &format!("/api/v1/playbooks/{name}"),
                Some(&p.admin),
                None,
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    let list = get(&h, "/api/v1/playbooks", &p.mine).await.json();
    assert_eq!(list.as_array().unwrap().len(), 6);
    let ransom = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "ransomware")
        .unwrap();
    assert_eq!(ransom["edited"], false);
    assert_eq!(ransom["tasks"].as_array().unwrap().len(), 5);
    let actions = audit_actions(&h).await;
    assert!(
        actions.iter().any(|a| a == "playbook.put")
            && actions.iter().any(|a| a == "playbook.reset")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playbooks_editable_sqlite() {
    playbooks_editable(
        hub_configured(
            Backend::Sqlite,
            mamori_server::Monitoring::default(),
            |_| {},
        )
        .await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn playbooks_editable_postgres() {
    playbooks_editable(
        hub_configured(
            Backend::Postgres,
            mamori_server::Monitoring::default(),
            |_| {},
        )
        .await,
    )
    .await;
}

// ---- hunt timelines ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hunt_csv_lands_on_the_timeline() {
    let h = hub_configured(
        Backend::Sqlite,
        mamori_server::Monitoring::default(),
        |_| {},
    )
    .await;
    let p = parties(&h).await;
    let id = open_case(&h, &p, "medium").await;
    let csv = format!(
        "{}\n2026-11-25T00:00:01.250Z,ws1,Security,4688,7,a.evtx,r1,Whoami Execution,medium,attack.t1033,\"CommandLine: whoami /all\"\n\
         2026-11-25T00:05:00Z,dc1,Security,4625,9,b.evtx,r2,\"Failed logon, many\",high,,x\nbroken line\n",
        mamori_detect::hunt::CSV_HEADER
    );
    let r = send(
        &h.app,
        raw(
            "POST",
            &format!("/api/v1/cases/{id}/timeline/hunt"),
            &p.other,
            csv.into_bytes(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        (r.json()["imported"].as_i64(), r.json()["skipped"].as_i64()),
        (Some(2), Some(1))
    );
    let t = get(&h, &format!("/api/v1/cases/{id}"), &p.mine)
        .await
        .json()["timeline"]
        .clone();
    let hunt: Vec<(i64, String)> = t
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["source"] == "hunt")
        .map(|e| {
            (
                e["at"].as_i64().unwrap(),
                e["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(hunt.len(), 2);
    assert_eq!(
        hunt[0],
        (
            1_795_564_801_250,
            "[medium] Whoami Execution on ws1 (Security 4688 #7)".to_owned()
        )
    );
    assert!(hunt[1].1.contains("Failed logon, many"));
    // Not for outsiders.
    let r = send(
        &h.app,
        raw(
            "POST",
            &format!("/api/v1/cases/{id}/timeline/hunt"),
            &p.outsider,
            b"x".to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

// ---- cases from a mail and from a member's report ----

async fn intake(h: Hub) {
    let p = parties(&h).await;
    let eml = "From: =?UTF-8?B?5Lq65LqL6Kqy?= <jinji@evil-gov.example>\r\n\
To: staff@mine.example.jp\r\n\
Subject: =?UTF-8?B?44CQ6YeN6KaB44CR5Lq65LqL55Ww5YuV44Gu44GK55+l44KJ44Gb?=\r\n\
Date: Tue, 24 Nov 2026 09:00:00 +0900\r\n\
Message-ID: <1@evil-gov.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
詳細は hxxp://login.evil-gov[.]example/hr/notice をご確認ください。\r\n";
    let r = send(
        &h.app,
        raw(
            "POST",
            "/api/v1/cases/from-mail?tlp=AMBER",
            &p.mine,
            eml.as_bytes().to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    let id = v["case"]["id"].as_str().unwrap().to_owned();
    assert!(
        v["case"]["title"]
            .as_str()
            .unwrap()
            .contains("【重要】人事異動のお知らせ"),
        "{}",
        v["case"]["title"]
    );
    assert_eq!(
        v["tasks"].as_array().unwrap().len(),
        5,
        "targeted-mail playbook"
    );
    assert_eq!(v["evidence"][0]["filename"], "message.eml");
    let mail_entry = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "mail")
        .expect("a mail timeline entry")
        .clone();
    // The analysis is stored (sample store, campaigns) and the case links to it.
    let text = mail_entry.to_string();
    let analysis = text
        .split("/mail/analyses/")
        .nth(1)
        .expect("a link to the stored analysis")
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect::<String>();
    let stored = get(&h, &format!("/api/v1/mail/analyses/{analysis}"), &p.mine).await;
    assert_eq!(stored.status, StatusCode::OK, "{}", stored.body);
    assert_eq!(stored.json()["tlp"], "AMBER");
    let obs = get(&h, &format!("/api/v1/cases/{id}/observables"), &p.mine)
        .await
        .json();
    let values: Vec<&str> = obs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert!(values.contains(&"evil-gov.example"), "{values:?}");
    assert!(
        values
            .iter()
            .any(|v| v.starts_with("http://login.evil-gov.example/")),
        "{values:?}"
    );
    // Auditors and outsiders cannot; members cannot either (they report instead).
    let r = send(
        &h.app,
        raw(
            "POST",
            "/api/v1/cases/from-mail",
            &p.auditor,
            eml.as_bytes().to_vec(),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // A member (role member, may not work cases) reports an incident to the hub.
    let r = send(
        &h.app,
        req("POST", "/api/v1/incident-reports", Some(&h.member_token), Some(json!({
            "title": "ファイルサーバが暗号化された", "description": "朝から共有フォルダが開けない",
            "category": "ransomware", "severity": "critical", "occurred_at": 1_795_500_000_000i64
        }))),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let v = r.json();
    let rid = v["case"]["id"].as_str().unwrap().to_owned();
    let hub_org = h.store.get_org_by_slug("hub").await.unwrap().id.to_string();
    assert_eq!(v["case"]["owner_org"], hub_org.as_str());
    let parts: Vec<(String, String)> = v["case"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["org"].as_str().unwrap().to_owned(),
                p["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        parts.contains(&(h.member_org.clone(), "victim".to_owned())),
        "{parts:?}"
    );
    assert_eq!(
        v["tasks"].as_array().unwrap().len(),
        5,
        "ransomware playbook"
    );
    assert_eq!(v["timeline"][0]["at"], 1_795_500_000_000i64);
    // The reporting organisation's analyst sees it; the hub steers it; others see nothing.
    assert_eq!(
        get(&h, &format!("/api/v1/cases/{rid}"), &p.mine)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        get(&h, &format!("/api/v1/cases/{rid}"), &p.other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{rid}/status"),
            Some(&p.mine),
            Some(json!({"status": "triage"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &h.app,
        req(
            "PUT",
            &format!("/api/v1/cases/{rid}/status"),
            Some(&p.admin),
            Some(json!({"status": "triage"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(
        &h.app,
        req(
            "POST",
            "/api/v1/incident-reports",
            Some(&p.auditor),
            Some(json!({"title": "x"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let actions = audit_actions(&h).await;
    assert!(
        actions.iter().any(|a| a == "case.from_mail")
            && actions.iter().any(|a| a == "case.report_incident")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_sqlite() {
    intake(
        hub_configured(
            Backend::Sqlite,
            mamori_server::Monitoring::default(),
            |_| {},
        )
        .await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_postgres() {
    intake(
        hub_configured(
            Backend::Postgres,
            mamori_server::Monitoring::default(),
            |_| {},
        )
        .await,
    )
    .await;
}
