//! Issue 8's scripted walk, on both backends: events from a sensor raise an alert, the analyst
//! triages and escalates it to a case, the victim organisation invites a rescue team and sends it
//! a support request, the rescue team accepts and uploads evidence, the indicators found are
//! shared in one step at the case's TLP, the case is closed with lessons learned, and the
//! after-action report shows all of it. A third organisation sees none of it on any path.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{Backend, Hub, hub_with, req, send};
use mamori_model::{Lang, Role, Scope};
use mamori_server::ops::{self, Actor};
use mamori_store::users::NewUser;
use serde_json::json;

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
    b.add_source("rule.yml", RULE);
    let (rules, errors) = b.build();
    assert!(errors.is_empty(), "{errors:?}");
    mamori_server::Monitoring {
        engine: mamori_pipeline::Engine::new(rules),
        rule_files: vec![mamori_server::bundle::RuleFile::new("rule.yml", RULE)],
        ..Default::default()
    }
}

async fn analyst(h: &Hub, org: &str, name: &str) -> String {
    let u = ops::create_user(
        &h.store,
        &Actor::system(),
        &NewUser {
            org_id: h.store.find_org(org).await.unwrap().id,
            username: name.into(),
            display_name: String::new(),
            email: String::new(),
            role: Role::Analyst,
            lang: Lang::Ja,
        },
        None,
    )
    .await
    .unwrap();
    ops::create_token(
        &h.store,
        &Actor::system(),
        u.id,
        "t",
        &[Scope::Read, Scope::Write],
        None,
    )
    .await
    .unwrap()
    .1
}

async fn walk(h: Hub) {
    let app = &h.app;
    // "mine" is the victim ministry, "other" the rescue team; "third" takes no part.
    ops::create_org(
        &h.store,
        &Actor::system(),
        &mamori_store::orgs::NewOrg {
            slug: "third".into(),
            name_ja: "第三機関".into(),
            name_en: "Third agency".into(),
            kind: mamori_model::OrgKind::Ministry,
            sector: None,
            cidrs: vec![],
            domains: vec![],
            contacts: vec![],
        },
    )
    .await
    .unwrap();
    let victim = analyst(&h, "mine", "victim.analyst").await;
    let rescue = analyst(&h, "other", "rescue.analyst").await;
    let third = analyst(&h, "third", "third.analyst").await;

    // 1. A sensor of the victim ships process events; the rule raises an alert.
    let r = send(
        app,
        req(
            "POST",
            "/api/v1/sensors",
            Some(&h.admin_token),
            Some(json!({"org": "mine", "name": "ws-sensor"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let sensor = r.json()["token"].as_str().unwrap().to_owned();
    let event = json!({
        "Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": "ws01"},
                  "EventData": {"Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                                "CommandLine": "powershell.exe -nop -enc SQBFAFgA", "User": "省内\\山田"}}
    });
    let r = send(
        app,
        Request::builder()
            .method("POST")
            .uri("/api/v1/events")
            .header(header::AUTHORIZATION, format!("Bearer {sensor}"))
            .header(header::CONTENT_TYPE, "application/x-ndjson")
            .header("x-mamori-batch", "e2e-1")
            .body(Body::from(event.to_string()))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let alerts = send(app, req("GET", "/api/v1/alerts", Some(&victim), None))
        .await
        .json();
    let alert = alerts[0]["id"].as_str().unwrap().to_owned();

    // 2. Triage and escalation to a case.
    let r = send(
        app,
        req(
            "PATCH",
            &format!("/api/v1/alerts/{alert}"),
            Some(&victim),
            Some(json!({"status": "acknowledged", "assignee": "victim.analyst"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        app,
        req(
            "POST",
            &format!("/api/v1/alerts/{alert}/escalate"),
            Some(&victim),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let case = r.json()["case_id"].as_str().unwrap().to_owned();
    let c = format!("/api/v1/cases/{case}");
    let r = send(
        app,
        req(
            "PUT",
            &format!("{c}/status"),
            Some(&victim),
            Some(json!({"status": "triage"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["case"]["acknowledged_at"].as_i64().is_some());

    // 3. The rescue team joins and gets a support request; it accepts.
    let r = send(
        app,
        req(
            "POST",
            &format!("{c}/participants"),
            Some(&victim),
            Some(json!({"org": "other", "role": "rescue-team"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        app,
        req(
            "POST",
            &format!("{c}/requests"),
            Some(&victim),
            Some(
                json!({"to": "other", "kind": "support", "title": "現地での調査支援のお願い",
                        "body": "感染端末 ws01 の保全と解析をお願いします"}),
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let request = r.json()["id"].as_str().unwrap().to_owned();
    let r = send(
        app,
        req(
            "PUT",
            &format!("{c}/requests/{request}/status"),
            Some(&rescue),
            Some(json!({"status": "accepted", "version": 1})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // 4. Evidence from the rescue team.
    let r = send(
        app,
        Request::builder()
            .method("POST")
            .uri(format!(
                "{c}/evidence?filename=ws01-memory.raw&description=%E3%83%A1%E3%83%A2%E3%83%AA"
            ))
            .header(header::AUTHORIZATION, format!("Bearer {rescue}"))
            .body(Body::from(vec![0x4du8; 4096]))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let evidence = r.json()["evidence"]["id"].as_str().unwrap().to_owned();

    // 5. An indicator found in the memory image, shared in one step at the case's TLP.
    let r = send(
        app,
        req(
            "POST",
            &format!("{c}/observables"),
            Some(&rescue),
            Some(json!({"value": "c2.evil-update[.]example", "note": "C2 from the memory image"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let r = send(
        app,
        req(
            "POST",
            &format!("{c}/observables/share"),
            Some(&victim),
            Some(json!({})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let report = r.json()["report"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["report"]["tlp"], "AMBER");
    // The rescue team receives it.
    let r = send(
        app,
        req(
            "GET",
            &format!("/api/v1/reports/{report}"),
            Some(&rescue),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // 6. Containment, lessons, closure.
    for status in ["containment", "recovery"] {
        let r = send(
            app,
            req(
                "PUT",
                &format!("{c}/status"),
                Some(&victim),
                Some(json!({"status": status})),
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = send(
        app,
        req(
            "PUT",
            &format!("{c}/lessons"),
            Some(&victim),
            Some(json!({"lessons": "PowerShell の実行制限と EDR の全端末導入"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        app,
        req(
            "PUT",
            &format!("{c}/status"),
            Some(&victim),
            Some(json!({"status": "closed", "resolution": "端末再構築・C2遮断"})),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["sla"]["contain_overdue"], false);

    // 7. The after-action report.
    for (lang, title, role) in [
        ("ja", "インシデント事後報告書", "支援チーム"),
        ("en", "After-action report", "Rescue team"),
    ] {
        let r = send(
            app,
            req(
                "GET",
                &format!("{c}/report.html?lang={lang}"),
                Some(&rescue),
                None,
            ),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        for want in [
            title,
            "Encoded PowerShell",
            "現地での調査支援のお願い",
            "ws01-memory.raw",
            "c2.evil-update.example",
            "PowerShell の実行制限と EDR の全端末導入",
            "端末再構築・C2遮断",
            role,
        ] {
            assert!(r.body.contains(want), "{lang} report lacks {want}");
        }
    }

    // Response metrics count the case for the victim, not for the third organisation.
    let m = send(
        app,
        req("GET", "/api/v1/cases/metrics", Some(&victim), None),
    )
    .await
    .json();
    let mine = m["by_org"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["group"] == "mine")
        .unwrap()
        .clone();
    assert_eq!(mine["cases"], 1);
    assert_eq!(mine["close_minutes"], 0);
    assert_eq!(
        m["by_type"][0]["group"], "-",
        "escalated alerts have no playbook"
    );
    let m = send(app, req("GET", "/api/v1/cases/metrics", Some(&third), None))
        .await
        .json();
    assert!(m["by_org"].as_array().unwrap().is_empty());

    // 8. The third organisation sees none of it.
    for uri in [
        c.clone(),
        format!("{c}/requests"),
        format!("{c}/requests/{request}"),
        format!("{c}/evidence"),
        format!("{c}/evidence/{evidence}/content"),
        format!("{c}/observables"),
        format!("{c}/report.html"),
        format!("/api/v1/reports/{report}"),
        format!("/api/v1/alerts/{alert}"),
    ] {
        let r = send(app, req("GET", &uri, Some(&third), None)).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "third org reached {uri}");
    }
    let cases = send(app, req("GET", "/api/v1/cases", Some(&third), None))
        .await
        .json();
    assert!(cases.as_array().unwrap().is_empty());
    let search = send(
        app,
        req(
            "GET",
            "/api/v1/search?value=c2.evil-update.example",
            Some(&third),
            None,
        ),
    )
    .await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.body);
    let seen = send(
        app,
        req(
            "GET",
            "/api/v1/search?value=c2.evil-update.example",
            Some(&rescue),
            None,
        ),
    )
    .await;
    assert!(
        seen.body.contains(&report),
        "the rescue team finds it: {}",
        seen.body
    );
    assert!(
        !search.body.contains(&report),
        "the shared indicator leaked through search: {}",
        search.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_walk_sqlite() {
    walk(hub_with(Backend::Sqlite, monitoring()).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_walk_postgres() {
    walk(hub_with(Backend::Postgres, monitoring()).await).await;
}
