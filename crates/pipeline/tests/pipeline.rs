//! The monitoring path end to end on real stores: lines in, alerts routed, indicators matched
//! only where the policy allows, dead letters kept, retries harmless.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use mamori_detect::RulesetBuilder;
use mamori_model::{OrgId, OrgKind, Tlp, ValueKind};
use mamori_pipeline::{BatchHeader, Engine, Pipeline, RawBatch, Routing, Settings};
use mamori_store::alerts::AlertQuery;
use mamori_store::orgs::NewOrg;
use mamori_store::reports::{NewIndicator, NewReport};
use mamori_store::{ConnectOptions, Store, now_millis};

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

async fn stores() -> Vec<(Store, Option<tempfile::TempDir>)> {
    let (dir, url) = mamori_testkit::fresh_sqlite_url();
    let sqlite = Store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    let pg_url = mamori_testkit::Postgres::shared().fresh_database_url();
    let pg = Store::connect(&pg_url, &ConnectOptions::default())
        .await
        .unwrap();
    vec![(sqlite, Some(dir)), (pg, None)]
}

async fn org(s: &Store, slug: &str, cidr: Option<&str>) -> OrgId {
    s.create_org(&NewOrg {
        slug: slug.into(),
        name_ja: slug.into(),
        name_en: slug.into(),
        kind: OrgKind::Ministry,
        sector: None,
        cidrs: cidr.map(|c| vec![c.parse().unwrap()]).unwrap_or_default(),
        domains: vec![],
        contacts: vec![],
    })
    .await
    .unwrap()
    .id
}

fn batch(org: OrgId, id: &str, routing: Routing, format: &str, body: &str) -> RawBatch {
    RawBatch {
        header: BatchHeader {
            source: format!("test:{org}"),
            batch_id: id.into(),
            org_id: org,
            routing,
            format: format.into(),
            received_at: now_millis(),
        },
        body: body.as_bytes().to_vec(),
    }
}

fn sysmon(host: &str, cmd: &str, dst: &str) -> String {
    serde_json::json!({
        "Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": host},
                  "EventData": {"Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                                "CommandLine": cmd, "DestinationHostname": dst}}
    })
    .to_string()
}

async fn run(store: Store) {
    store.migrate().await.unwrap();
    let hub = org(&store, "hub", None).await;
    let a = org(&store, "moj", Some("192.0.2.0/24")).await;
    let b = org(&store, "mof", None).await;
    // A's AMBER report: only A (and its groups) may learn that this domain matched.
    store
        .create_report(&NewReport {
            title: "C2".into(),
            description: String::new(),
            owner_org: a,
            anonymous: false,
            tlp: Tlp::Amber,
            sharing_group: None,
            recipients: vec![],
            confidence: Some(80),
            labels: vec![],
            attack_techniques: vec![],
            created_by: None,
            indicators: vec![NewIndicator {
                kind: Some(ValueKind::Domain),
                value: Some("evil.example".into()),
                ..Default::default()
            }],
            observables: vec![],
        })
        .await
        .unwrap();
    let mut rb = RulesetBuilder::new();
    rb.add_source("r.yml", RULE);
    let (rules, errs) = rb.build();
    assert!(errs.is_empty(), "{errs:?}");
    let p = Pipeline::new(store.clone(), Engine::new(rules), Settings::default());
    assert_eq!(p.refresh().await.unwrap(), 1);

    let body = [
        sysmon(
            "ws01",
            "powershell.exe -nop -enc SQBFAFgA",
            "c2.evil.example",
        ),
        sysmon("ws01", "powershell.exe -enc AAAA", "ok.example"),
        "{not json".to_owned(),
        sysmon("ws02", "notepad.exe", "x"),
    ]
    .join("\n");
    let out = p
        .process(batch(a, "a1", Routing::Sensor, "json", &body))
        .await
        .unwrap();
    assert_eq!((out.accepted, out.rejected), (3, 1));
    // Two matches of one rule on one host in one window: one alert, two events.
    let alerts = store
        .list_alerts(&AlertQuery {
            org: Some(a),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let sigma: Vec<_> = alerts.iter().filter(|x| x.kind == "sigma").collect();
    assert_eq!(sigma.len(), 1);
    assert_eq!(sigma[0].event_count, 2);
    assert_eq!(sigma[0].route, "sensor");
    assert_eq!(alerts.iter().filter(|x| x.kind == "ioc").count(), 1);
    let ev = store.alert_evidence(&sigma[0].id).await.unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].doc["Event.System.Computer"], "ws01");
    let dl = store.list_dead_letters(Some(a), 10).await.unwrap();
    assert_eq!(dl.len(), 1);
    assert!(dl[0].reason.contains("json"), "{}", dl[0].reason);
    assert!(dl[0].origin.ends_with(":3"), "{}", dl[0].origin);

    // The same indicator in B's traffic: a sighting, but no alert for B (it may not see it).
    let out = p
        .process(batch(
            b,
            "b1",
            Routing::Sensor,
            "json",
            &sysmon("pc9", "calc.exe", "evil.example"),
        ))
        .await
        .unwrap();
    assert_eq!(out.alerts_new, 0);
    assert!(
        store
            .list_alerts(&AlertQuery {
                org: Some(b),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    );

    // Redelivery of a processed batch stores nothing twice.
    let again = p
        .process(batch(a, "a1", Routing::Sensor, "json", &body))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(store.count_events(Some(a)).await.unwrap(), 3);

    // Hub-collected syslog: the alert goes to the owner of the address, else to the hub.
    let line =
        "<13>1 2026-11-25T10:00:00Z fw01 kernel - - - DROP SRC=192.0.2.44 DST=c2.evil.example";
    let cef = "CEF:0|Vendor|FW|1|100|blocked|5|src=192.0.2.44 dhost=evil.example";
    let out = p
        .process(batch(
            hub,
            "s1",
            Routing::Address,
            "auto",
            &format!("{line}\n{cef}\n"),
        ))
        .await
        .unwrap();
    assert_eq!(out.accepted, 2);
    let routed = store
        .list_alerts(&AlertQuery {
            org: Some(a),
            limit: 20,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        routed.iter().any(|x| x.route == "ip" && x.kind == "ioc"),
        "{routed:?}"
    );

    // A sensor may not speak for another organisation.
    let forged = serde_json::json!({"organization.id": b.to_string(), "message": "x"}).to_string();
    let out = p
        .process(batch(a, "a2", Routing::Sensor, "json", &forged))
        .await
        .unwrap();
    assert_eq!((out.accepted, out.rejected), (0, 1));

    // Three organisations see the same indicator within the hour: one alert for the hub.
    let c = org(&store, "mext", None).await;
    p.refresh().await.unwrap();
    p.process(batch(
        c,
        "c1",
        Routing::Sensor,
        "json",
        &sysmon("h", "x", "evil.example"),
    ))
    .await
    .unwrap();
    let hub_alerts = store
        .list_alerts(&AlertQuery {
            org: Some(hub),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        hub_alerts.iter().any(|x| x.kind == "correlation"),
        "{hub_alerts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_to_routed_alerts_on_both_backends() {
    for (store, _guard) in stores().await {
        run(store).await;
    }
}

const CORRELATION: &str = r#"
title: Failed logon
id: aaaaaaaa-0000-0000-0000-000000000001
name: failed_logon
level: low
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4625
  condition: sel
---
title: Brute force against one host
id: bbbbbbbb-0000-0000-0000-000000000002
level: high
correlation:
  type: event_count
  rules:
    - failed_logon
  group-by:
    - Computer
  timespan: 10m
  condition:
    gte: 3
"#;

fn failed_logon(host: &str, ts: &str) -> String {
    serde_json::json!({"Event": {"System": {"Channel": "Security", "EventID": 4625, "Computer": host,
        "TimeCreated": {"#attributes": {"SystemTime": ts}}}, "EventData": {"TargetUserName": "admin"}}})
    .to_string()
}

async fn correlation_run(store: Store) {
    store.migrate().await.unwrap();
    let a = org(&store, "mlit", None).await;
    let mut rb = RulesetBuilder::new();
    rb.add_source("c.yml", CORRELATION);
    let (rules, errs) = rb.build();
    assert!(errs.iter().all(|e| e.warning), "{errs:?}");
    let p = Pipeline::new(store.clone(), Engine::new(rules), Settings::default());
    let t = |m: u32| format!("2026-11-25T10:{m:02}:00Z");
    // Two failed logons now, two more in a later batch: the window spans batches (and, with
    // a bus, workers), because the observations live in the store.
    let b1 = [
        failed_logon("dc01", &t(0)),
        failed_logon("dc01", &t(1)),
        failed_logon("dc02", &t(1)),
    ]
    .join("\n");
    let out = p
        .process(batch(a, "c1", Routing::Sensor, "json", &b1))
        .await
        .unwrap();
    assert_eq!(out.correlations, 0);
    let q = AlertQuery {
        org: Some(a),
        limit: 10,
        ..Default::default()
    };
    // The base rule only feeds the correlation (generate: false): no alert of its own.
    assert!(store.list_alerts(&q).await.unwrap().is_empty());
    let b2 = [failed_logon("dc01", &t(2)), failed_logon("dc01", &t(3))].join("\n");
    let out = p
        .process(batch(a, "c2", Routing::Sensor, "json", &b2))
        .await
        .unwrap();
    assert_eq!(out.correlations, 1);
    let alerts = store.list_alerts(&q).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        (
            alerts[0].kind.as_str(),
            alerts[0].host.as_str(),
            alerts[0].event_count
        ),
        ("correlation", "dc01", 3)
    );
    assert_eq!(alerts[0].level, "high");
    // Re-evaluation by a later batch updates the same alert instead of repeating it.
    let b3 = failed_logon("dc01", &t(4));
    p.process(batch(a, "c3", Routing::Sensor, "json", &b3))
        .await
        .unwrap();
    assert_eq!(store.list_alerts(&q).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigma_correlations_span_batches_on_both_backends() {
    for (store, _guard) in stores().await {
        correlation_run(store).await;
    }
}
