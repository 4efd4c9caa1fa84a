//! STIX pattern indicators in the monitoring path, end to end on both backends: a report's
//! pattern indicators match ingested events, each hit is a sighting of that pattern and an
//! alert for an organisation that may see the report, and only for such an organisation.
//! Patterns that need several events (`AND`, `FOLLOWEDBY`, `REPEATS`) match across batches,
//! within one organisation and their window, once per completed match.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{batch, org, stores};

use mamori_model::{OrgId, Tlp};
use mamori_pipeline::{Engine, Pipeline, Settings};
use mamori_store::alerts::AlertQuery;
use mamori_store::reports::{NewIndicator, NewReport};
use mamori_store::{Store, now_millis};
use serde_json::json;

const TRAFFIC: &str =
    "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 443]";
const HASH: &str = "[file:hashes.'SHA-256' = \
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']";
const URL: &str = "[url:value LIKE '%/evil/%']";
const CROSS: &str = "[ipv4-addr:value = '198.51.100.7'] AND [domain-name:value = 'x.example']";
const BROKEN: &str = "[ipv4-addr:value = ";

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
    // The broken pattern is left out of the stream; the AND is evaluated across events.
    assert_eq!(p.refresh().await.unwrap(), 4);
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
    let (t, h, u, c) = (id(TRAFFIC), id(HASH), id(URL), id(CROSS));
    // The AND is satisfied by two events of the batch on different hosts (the address twice,
    // the domain once): one alert over the three observations.
    let mut want = vec![
        (t.as_str(), "ws1", 1),
        (h.as_str(), "ws2", 1),
        (u.as_str(), "ws3", 1),
        (c.as_str(), "*", 3),
    ];
    want.sort();
    assert_eq!(rules, want);
    assert!(
        alerts
            .iter()
            .all(|x| x.kind == "ioc" && x.route == "sensor")
    );
    for x in &alerts {
        let ev = store.alert_evidence(&x.id).await.unwrap();
        let want = if x.rule_id == c { 3 } else { 1 };
        assert_eq!(ev.len(), want, "{}", x.rule_id);
    }
    for (pat, n) in [(TRAFFIC, 1), (HASH, 1), (URL, 1), (CROSS, 1)] {
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

const SEQ: &str = "([url:value LIKE '%/stage1/%'] FOLLOWEDBY [url:value LIKE '%/stage2/%']) \
                   WITHIN 600 SECONDS";
const REP: &str = "[domain-name:value = 'c2.example'] REPEATS 3 TIMES";

fn at(secs: i64) -> String {
    // 2026-11-20T00:00:00Z plus `secs`.
    mamori_stix::Timestamp::from_unix_millis((1_795_132_800 + secs) * 1000)
        .as_str()
        .to_owned()
}

fn url_event(host: &str, url: &str, secs: i64) -> serde_json::Value {
    json!({"@timestamp": at(secs), "host.name": host, "url.full": url})
}

fn dns_event(host: &str, name: &str, secs: i64) -> serde_json::Value {
    json!({"@timestamp": at(secs), "host.name": host, "dns.question.name": name})
}

async fn alerts_of(store: &Store, org: OrgId, rule: &str) -> Vec<mamori_store::alerts::Alert> {
    store
        .list_alerts(&AlertQuery {
            org: Some(org),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.rule_id == format!("ioc:stix-pattern:{rule}"))
        .collect()
}

async fn cross_run(store: Store) {
    store.migrate().await.unwrap();
    org(&store, "hub").await;
    let a = org(&store, "mlit").await;
    let b = org(&store, "maff").await;
    store
        .create_report(&NewReport {
            title: "Staged download".into(),
            description: String::new(),
            owner_org: a,
            anonymous: false,
            tlp: Tlp::Green,
            sharing_group: None,
            recipients: vec![],
            confidence: Some(70),
            labels: vec![],
            attack_techniques: vec![],
            created_by: None,
            indicators: vec![pattern(SEQ), pattern(REP)],
            observables: vec![],
        })
        .await
        .unwrap();
    let engine = Engine::new(mamori_detect::RulesetBuilder::new().build().0);
    let settings = Settings {
        // REPEATS has no WITHIN: the hub's window (30 minutes here) bounds it.
        pattern_window_ms: 1_800_000,
        ..Settings::default()
    };
    let p = Pipeline::new(store.clone(), engine, settings);
    assert_eq!(p.refresh().await.unwrap(), 2);
    assert_eq!(p.engine().indicators().patterns.stats().cross_event, 2);
    assert_eq!(p.observation_horizon_ms(), 2 * 1_800_000);

    // Stage 1 alone: an observation, no alert.
    let out = p
        .process(batch(
            a,
            "a1",
            &[url_event("ws1", "http://dl.test/stage1/a", 0)],
        ))
        .await
        .unwrap();
    assert_eq!((out.alerts_new, out.correlations), (0, 0));
    // Stage 2 a minute later, in another batch: the sequence is complete.
    let out = p
        .process(batch(
            a,
            "a2",
            &[url_event("ws1", "http://dl.test/stage2/b", 60)],
        ))
        .await
        .unwrap();
    assert_eq!((out.alerts_new, out.correlations), (1, 1));
    let got = alerts_of(&store, a, SEQ).await;
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].host.as_str(), got[0].event_count), ("ws1", 2));
    assert_eq!(got[0].kind, "ioc");
    let ev = store.alert_evidence(&got[0].id).await.unwrap();
    assert_eq!(ev.len(), 2);
    assert!(
        ev.iter().all(|e| e.doc.get("stix.pattern").is_some()),
        "{ev:?}"
    );
    // Redelivered: nothing twice. A further stage 2: the match stands, no new alert.
    let again = p
        .process(batch(
            a,
            "a2",
            &[url_event("ws1", "http://dl.test/stage2/b", 60)],
        ))
        .await
        .unwrap();
    assert!(again.duplicate);
    let out = p
        .process(batch(
            a,
            "a3",
            &[url_event("ws1", "http://dl.test/stage2/c", 120)],
        ))
        .await
        .unwrap();
    assert_eq!(out.alerts_new, 0);
    assert_eq!(alerts_of(&store, a, SEQ).await.len(), 1);
    let s = store.pattern_sighting_stats(SEQ).await.unwrap();
    assert_eq!((s.count, s.organisations), (1, 1));

    // Another organisation's stage 2 does not complete A's stage 1; its own order is wrong
    // (stage 2 before stage 1), so nothing there either.
    let out = p
        .process(batch(
            b,
            "b1",
            &[
                url_event("pc1", "http://dl.test/stage2/x", 60),
                url_event("pc1", "http://dl.test/stage1/x", 90),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(out.alerts_new, 0);
    // Stage 2 after the window (600 s): no match.
    let out = p
        .process(batch(
            b,
            "b2",
            &[url_event("pc1", "http://dl.test/stage2/y", 90 + 601)],
        ))
        .await
        .unwrap();
    assert_eq!(out.alerts_new, 0);
    assert!(alerts_of(&store, b, SEQ).await.is_empty());

    // REPEATS 3 in 30 minutes: three lookups an hour apart do not, three in ten minutes do.
    for (i, secs) in [0, 3600, 7200].into_iter().enumerate() {
        let out = p
            .process(batch(
                b,
                &format!("r{i}"),
                &[dns_event("pc2", "c2.example", secs)],
            ))
            .await
            .unwrap();
        assert_eq!(out.alerts_new, 0, "lookup {i}");
    }
    let out = p
        .process(batch(
            b,
            "r3",
            &[
                dns_event("pc2", "c2.example", 7500),
                dns_event("pc3", "C2.example", 7800),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(out.alerts_new, 1);
    let got = alerts_of(&store, b, REP).await;
    assert_eq!((got.len(), got[0].host.as_str()), (1, "*"));

    // Pruning by event time: everything stored is older than now.
    let pruned = store.prune_observations(now_millis()).await.unwrap();
    assert_eq!(pruned, 11);
    // Stage 1 is gone, so a new stage 2 in A completes nothing.
    let out = p
        .process(batch(
            a,
            "a4",
            &[url_event("ws1", "http://dl.test/stage2/d", 130)],
        ))
        .await
        .unwrap();
    assert_eq!(out.alerts_new, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_event_patterns_span_batches_on_both_backends() {
    for (store, _guard) in stores().await {
        cross_run(store).await;
    }
}

/// Two hub workers (two pipelines on one database) take the two halves of a sequence at the
/// same time: the per-pattern lock makes the second see the first's observation, so each
/// organisation gets exactly one alert, whichever commits first.
async fn concurrent_run(store: Store) {
    store.migrate().await.unwrap();
    let hub = org(&store, "hub").await;
    let mut orgs = Vec::new();
    for i in 0..8 {
        orgs.push(org(&store, &format!("m{i}")).await);
    }
    store
        .create_report(&NewReport {
            title: "Staged download".into(),
            description: String::new(),
            owner_org: orgs[0],
            anonymous: false,
            tlp: Tlp::Clear,
            sharing_group: None,
            recipients: vec![],
            confidence: None,
            labels: vec![],
            attack_techniques: vec![],
            created_by: None,
            indicators: vec![pattern(SEQ)],
            observables: vec![],
        })
        .await
        .unwrap();
    let worker = || {
        Pipeline::new(
            store.clone(),
            Engine::new(mamori_detect::RulesetBuilder::new().build().0),
            Settings::default(),
        )
    };
    let (p1, p2) = (worker(), worker());
    p1.refresh().await.unwrap();
    p2.refresh().await.unwrap();
    for &o in &orgs {
        let first = batch(o, "s1", &[url_event("h", "http://dl.test/stage1/a", 0)]);
        let second = batch(o, "s2", &[url_event("h", "http://dl.test/stage2/b", 30)]);
        let (x, y) = tokio::join!(p1.process(first), p2.process(second));
        let (x, y) = (x.unwrap(), y.unwrap());
        assert!(!x.duplicate && !y.duplicate);
        assert_eq!(alerts_of(&store, o, SEQ).await.len(), 1, "{o}");
    }
    // Matches are sightings: the same pattern completed at eight organisations within the
    // hour is a cross-organisation correlation for the hub.
    let hub_alerts = store
        .list_alerts(&AlertQuery {
            org: Some(hub),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        hub_alerts
            .iter()
            .any(|a| a.rule_id == "xorg:stix-pattern" && a.event_count >= 3),
        "{hub_alerts:?}"
    );
    let s = store.pattern_sighting_stats(SEQ).await.unwrap();
    assert_eq!((s.count, s.organisations), (8, 8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_complete_a_sequence_once_on_both_backends() {
    for (store, _guard) in stores().await {
        concurrent_run(store).await;
    }
}
