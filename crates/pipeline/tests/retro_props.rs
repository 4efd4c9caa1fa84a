//! Property: a retro-hunt raises what the stream would have raised. However events are cut into
//! batches and whichever indicators are shared under whichever marking, processing the events
//! first and sharing the indicators afterwards (then hunting) leaves the same `ioc` alerts
//! (organisation, rule, host, event count, first and last seen) and the same sightings per
//! value as sharing the indicators first and processing the events with them in force; also
//! when a value shared as AMBER is published as GREEN after the first hunt.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{org, report};

use std::collections::BTreeMap;
use std::sync::Arc;

use mamori_model::{OrgId, Tlp, ValueKind};
use mamori_pipeline::retro::RetroHunter;
use mamori_pipeline::{BatchHeader, Engine, Pipeline, RawBatch, Routing, Settings};
use mamori_store::alerts::AlertQuery;
use mamori_store::reports::NewIndicator;
use mamori_store::{ConnectOptions, Store, now_millis};
use proptest::prelude::*;
use serde_json::json;

/// (kind, value, the event field that carries it)
const VALUES: &[(ValueKind, &str, &str)] = &[
    (ValueKind::Ipv4, "198.51.100.7", "destination.ip"),
    (ValueKind::Ipv4, "203.0.113.9", "source.ip"),
    (ValueKind::Domain, "evil.example", "dns.question.name"),
    (ValueKind::Domain, "cdn.example.net", "dns.question.name"),
    (ValueKind::Ipv4, "192.0.2.44", "destination.ip"),
];
const HOUR: i64 = 3_600_000;

/// One event: (organisation 0..2, host 0..3, value index, minutes before now).
type Ev = (usize, usize, usize, i64);

/// The shared indicators: index into VALUES, and whether AMBER (else GREEN), both owned by
/// the first organisation.
async fn share(s: &Store, owner: OrgId, shared: &[(usize, bool)]) {
    for amber in [false, true] {
        let indicators: Vec<NewIndicator> = shared
            .iter()
            .filter(|(_, a)| *a == amber)
            .map(|(i, _)| NewIndicator {
                kind: Some(VALUES[*i].0),
                value: Some(VALUES[*i].1.into()),
                ..Default::default()
            })
            .collect();
        if indicators.is_empty() {
            continue;
        }
        report(
            s,
            owner,
            if amber { Tlp::Amber } else { Tlp::Green },
            indicators,
        )
        .await;
    }
}

/// (organisation, rule, host, events, first seen, last seen) of every `ioc` alert, and
/// (count, organisations) of every value's sightings.
type Outcome = (
    Vec<(usize, String, String, i64, i64, i64)>,
    BTreeMap<usize, (i64, i64)>,
);

/// `shared`: (value, 0 GREEN | 1 AMBER | 2 AMBER and later GREEN as well).
async fn run(
    retro: bool,
    events: &[Ev],
    cuts: &[usize],
    shared: &[(usize, u8)],
    now: i64,
) -> Outcome {
    let first: Vec<(usize, bool)> = shared.iter().map(|&(i, m)| (i, m != 0)).collect();
    let later: Vec<(usize, bool)> = shared
        .iter()
        .filter(|s| s.1 == 2)
        .map(|&(i, _)| (i, false))
        .collect();
    let (_dir, url) = mamori_testkit::fresh_sqlite_url();
    let store = Store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    org(&store, "hub").await;
    let orgs = [org(&store, "org-a").await, org(&store, "org-b").await];
    let engine = Engine::new(mamori_detect::RulesetBuilder::new().build().0);
    let p = Pipeline::new(store.clone(), engine, Settings::default());
    let hunter = RetroHunter::new(Arc::clone(&p), 30 * 24 * HOUR);
    if retro {
        assert!(hunter.tick().await.unwrap().is_empty()); // the (empty) baseline
    } else {
        share(&store, orgs[0], &first).await;
        share(&store, orgs[0], &later).await;
    }
    p.refresh().await.unwrap();
    let mut rest = events;
    let mut n = 0;
    for cut in cuts.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at((*cut).min(rest.len()));
        rest = tail;
        // A batch comes from one sender: split it by organisation.
        for (o, org_id) in orgs.iter().enumerate() {
            let lines: Vec<String> = batch
                .iter()
                .filter(|e| e.0 == o)
                .map(|&(_, host, v, minutes)| {
                    let (_, value, field) = VALUES[v];
                    json!({"@timestamp": now - minutes * 60_000, "host.name": format!("h{host}"), field: value})
                        .to_string()
                })
                .collect();
            if lines.is_empty() {
                continue;
            }
            n += 1;
            p.process(RawBatch {
                header: BatchHeader {
                    source: format!("sensor:{o}"),
                    batch_id: format!("b{n}"),
                    org_id: *org_id,
                    routing: Routing::Sensor,
                    format: "json".into(),
                    received_at: now_millis(),
                },
                body: lines.join("\n").into_bytes(),
            })
            .await
            .unwrap();
        }
    }
    if retro {
        share(&store, orgs[0], &first).await;
        hunter.tick().await.unwrap();
        share(&store, orgs[0], &later).await;
        hunter.tick().await.unwrap();
    }
    let mut alerts = Vec::new();
    for (o, org_id) in orgs.iter().enumerate() {
        for a in store
            .list_alerts(&AlertQuery {
                org: Some(*org_id),
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap()
        {
            if a.kind == "ioc" {
                alerts.push((
                    o,
                    a.rule_id,
                    a.host,
                    a.event_count,
                    a.first_seen,
                    a.last_seen,
                ));
            }
        }
    }
    alerts.sort();
    let mut sightings = BTreeMap::new();
    for (i, (kind, value, _)) in VALUES.iter().enumerate() {
        let s = store.sighting_stats(*kind, value).await.unwrap();
        if s.count > 0 {
            sightings.insert(i, (s.count, s.organisations));
        }
    }
    store.close().await;
    (alerts, sightings)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn a_retro_hunt_raises_what_the_stream_would_have(
        events in proptest::collection::vec((0usize..2, 0usize..3, 0usize..5, 0i64..(48 * 60)), 1..40),
        cuts in proptest::collection::vec(1usize..12, 1..6),
        shared in proptest::collection::btree_map(0usize..5, 0u8..3, 1..4),
    ) {
        let shared: Vec<(usize, u8)> = shared.into_iter().collect();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let now = now_millis();
        let stream = rt.block_on(run(false, &events, &cuts, &shared, now));
        let hunted = rt.block_on(run(true, &events, &cuts, &shared, now));
        prop_assert_eq!(stream, hunted);
    }
}
