//! STIX pattern indicators in the monitoring path, end to end on both backends: a report's
//! pattern indicators match ingested events, each hit is a sighting of that pattern and an
//! alert for an organisation that may see the report, and only for such an organisation.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use mamori_model::{OrgId, OrgKind, Tlp};
use mamori_pipeline::{BatchHeader, Engine, Pipeline, RawBatch, Routing, Settings};
use mamori_store::alerts::AlertQuery;
use mamori_store::orgs::NewOrg;
use mamori_store::reports::{NewIndicator, NewReport};
use mamori_store::{ConnectOptions, Store, now_millis};
use serde_json::json;

const TRAFFIC: &str =
    "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]";
const HASH: &str = "[file:hashes.'SHA-256' = \
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']";
const URL: &str = "[url:value LIKE '%/evil/%']";
const CROSS: &str = "[ipv4-addr:value = '198.51.100.7'] AND [domain-name:value = 'x.example']";
const BROKEN: &str = "[ipv4-addr:value = ";

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

async fn org(s: &Store, slug: &str) -> OrgId {
    s.create_org(&NewOrg {
        slug: slug.into(),
        name_ja: slug.into(),
        name_en: slug.into(),
        kind: OrgKind::Ministry,
        sector: None,
        cidrs: vec![],
        domains: vec![],
        contacts: vec![],
    })
    .await
    .unwrap()
    .id
}

fn batch(org: OrgId, id: &str, lines: &[serde_json::Value]) -> RawBatch {
    RawBatch {
        header: BatchHeader {
            source: format!("test:{org}"),
            batch_id: id.into(),
            org_id: org,
            routing: Routing::Sensor,
            format: "json".into(),
            received_at: now_millis(),
        },
        body: lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes(),
    }
}

fn pattern(p: &str) -> NewIndicator {
    NewIndicator {
        pattern: Some(p.into()),
        ..Default::default()
    }
}

async fn run(store: Store) {
    store.migrate().await.unwrap();
    org(&store, "hub").await;
    let a = org(&store, "moj").await;
    let b = org(&store, "mof").await;
    // A's AMBER report: only A may learn that these patterns matched.
    store
        .create_report(&NewReport {
            title: "Patterns".into(),
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
            indicators: vec![
                pattern(TRAFFIC),
                pattern(HASH),
                pattern(URL),
                pattern(CROSS),
                pattern(BROKEN),
            ],
            observables: vec![],
        })
        .await
        .unwrap();
    let engine = Engine::new(mamori_detect::RulesetBuilder::new().build().0);
    let p = Pipeline::new(store.clone(), engine, Settings::default());
    // The cross-event AND and the broken pattern are left out of the stream.
    assert_eq!(p.refresh().await.unwrap(), 3);
    let stats = p.engine().indicators().patterns.stats();
    assert_eq!((stats.indexed, stats.by_substring, stats.always), (2, 1, 0));
    assert_eq!((stats.cross_event, stats.invalid), (1, 1));

    let events = [
        json!({"host.name": "ws1", "source.ip": "192.0.2.10", "destination.ip": "198.51.100.7",
               "destination.port": 443, "network.transport": "tcp"}),
        json!({"host.name": "ws1", "source.ip": "192.0.2.10", "destination.ip": "198.51.100.7",
               "destination.port": 80}),
        json!({"host.name": "ws2", "file.name": "a.bin",
               "file.hash.sha256": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}),
        json!({"host.name": "ws3", "url.full": "http://bad.example/evil/payload.exe"}),
        json!({"host.name": "ws3", "url.full": "http://ok.example/fine"}),
        json!({"host.name": "ws4", "dns.question.name": "x.example"}),
    ];
    let out = p.process(batch(a, "a1", &events)).await.unwrap();
    assert_eq!((out.accepted, out.rejected), (6, 0));
    let alerts = store
        .list_alerts(&AlertQuery {
            org: Some(a),
            limit: 20,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut rules: Vec<(&str, &str, i64)> = alerts
        .iter()
        .map(|x| (x.rule_id.as_str(), x.host.as_str(), x.event_count))
        .collect();
    rules.sort();
    let id = |p: &str| format!("ioc:stix-pattern:{p}");
    let (t, h, u) = (id(TRAFFIC), id(HASH), id(URL));
    let mut want = vec![
        (t.as_str(), "ws1", 1),
        (h.as_str(), "ws2", 1),
        (u.as_str(), "ws3", 1),
    ];
    want.sort();
    assert_eq!(rules, want);
    assert!(
        alerts
            .iter()
            .all(|x| x.kind == "ioc" && x.route == "sensor")
    );
    let ev = store.alert_evidence(&alerts[0].id).await.unwrap();
    assert_eq!(ev.len(), 1);
    for (pat, n) in [(TRAFFIC, 1), (HASH, 1), (URL, 1), (CROSS, 0)] {
        let s = store.pattern_sighting_stats(pat).await.unwrap();
        assert_eq!((s.count, s.organisations), (n, n), "{pat}");
    }

    // B may not see A's AMBER report: its matching event is a sighting, but no alert.
    let out = p
        .process(batch(
            b,
            "b1",
            &[json!({"host.name": "pc9", "url.full": "https://c.example/x/evil/y"})],
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
    let s = store.pattern_sighting_stats(URL).await.unwrap();
    assert_eq!((s.count, s.organisations), (2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pattern_indicators_alert_and_sight_on_both_backends() {
    for (store, _guard) in stores().await {
        run(store).await;
    }
}
