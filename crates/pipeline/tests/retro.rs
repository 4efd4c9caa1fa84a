//! Retro-hunts end to end on both backends: events stored before an indicator was shared are
//! found once it is, as sightings for everyone and alerts only for organisations the report's
//! marking lets see it; nothing older than the look-back window, nothing twice (a second round,
//! a second hub process claiming at the same moment); a value published later under a wider
//! marking alerts the newly admitted organisations only; and a hunt whose process stopped is
//! taken over and finished by another.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{batch, org, report, stores};

use std::sync::Arc;

use mamori_model::{OrgId, Tlp, ValueKind};
use mamori_pipeline::retro::RetroHunter;
use mamori_pipeline::{Engine, Pipeline, Settings};
use mamori_store::alerts::AlertQuery;
use mamori_store::reports::{DetectionMatch, NewIndicator};
use mamori_store::retro::indicator_key;
use mamori_store::retro::{Claim, NewRetroHunt};
use mamori_store::{Store, now_millis};
use serde_json::json;

const DAY: i64 = 86_400_000;

fn value(kind: ValueKind, v: &str) -> NewIndicator {
    NewIndicator {
        kind: Some(kind),
        value: Some(v.into()),
        ..Default::default()
    }
}

async fn alerts(s: &Store, org: OrgId) -> Vec<(String, String, String, i64)> {
    let mut v: Vec<_> = s
        .list_alerts(&AlertQuery {
            org: Some(org),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.rule_id, a.host, a.route, a.event_count))
        .collect();
    v.sort();
    v
}

/// Event time as epoch milliseconds (the normaliser takes numbers as such).
fn ts(ms: i64) -> i64 {
    ms
}

async fn run(store: Store) {
    store.migrate().await.unwrap();
    org(&store, "hub").await;
    let a = org(&store, "moj").await;
    let b = org(&store, "mof").await;
    let engine = Engine::new(mamori_detect::RulesetBuilder::new().build().0);
    let p = Pipeline::new(store.clone(), engine, Settings::default());
    p.refresh().await.unwrap();
    // Shared before hunting began: part of the baseline, never hunted.
    report(
        &store,
        a,
        Tlp::Green,
        vec![value(ValueKind::Domain, "old.example")],
    )
    .await;
    let hunter = RetroHunter::new(Arc::clone(&p), 30 * DAY);
    assert!(hunter.tick().await.unwrap().is_empty());
    let hunts = store.list_retro_hunts(10).await.unwrap();
    assert_eq!(hunts.len(), 1);
    assert_eq!((hunts[0].id.as_str(), hunts[0].indicators), ("baseline", 1));

    let now = now_millis();
    let two_days = ts(now - 2 * DAY);
    p.process(batch(a, "a1", &[
        json!({"@timestamp": two_days, "host.name": "ws1", "destination.ip": "198.51.100.7"}),
        json!({"@timestamp": two_days, "host.name": "ws2", "dns.question.name": "www.evil.example"}),
        json!({"@timestamp": two_days, "host.name": "ws3", "dns.question.name": "old.example"}),
        json!({"@timestamp": two_days, "host.name": "ws3", "destination.ip": "192.0.2.1"}),
    ]))
    .await
    .unwrap();
    p.process(batch(
        b,
        "b1",
        &[json!({"@timestamp": two_days, "host.name": "pc9", "source.ip": "198.51.100.7"})],
    ))
    .await
    .unwrap();
    // Older than the 30-day look-back: stored, but not searched.
    p.process(batch(a, "a0", &[
        json!({"@timestamp": ts(now - 40 * DAY), "host.name": "ws8", "destination.ip": "198.51.100.7"}),
    ]))
    .await
    .unwrap();
    let before_a = alerts(&store, a).await;
    assert_eq!(
        before_a.len(),
        1,
        "only the baseline domain alerted in the stream: {before_a:?}"
    );

    // A's AMBER report: B's matching event becomes a sighting, but B gets no alert.
    report(
        &store,
        a,
        Tlp::Amber,
        vec![
            value(ValueKind::Ipv4, "198.51.100.7"),
            value(ValueKind::Domain, "evil.example"),
        ],
    )
    .await;
    let ran = hunter.tick().await.unwrap();
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(ran[0].indicators, 2);
    assert_eq!(ran[0].stats.alerts, 2, "{ran:?}");
    let got = alerts(&store, a).await;
    let want_new = [
        ("ioc:domain:evil.example", "ws2"),
        ("ioc:ipv4:198.51.100.7", "ws1"),
    ];
    for (rule, host) in want_new {
        assert!(
            got.iter()
                .any(|x| x.0 == rule && x.1 == host && x.2 == "retro-hunt/sensor" && x.3 == 1),
            "{rule} on {host} in {got:?}"
        );
    }
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(alerts(&store, b).await.is_empty());
    let ip = store
        .sighting_stats(ValueKind::Ipv4, "198.51.100.7")
        .await
        .unwrap();
    assert_eq!((ip.count, ip.organisations), (2, 2), "{ran:?}");

    // Nothing new: nothing hunted, nothing counted twice.
    assert!(hunter.tick().await.unwrap().is_empty());
    assert_eq!(alerts(&store, a).await, got);

    // The AMBER address is published as GREEN later: B, which may see it now, gets its alert
    // for the old event; A's alert and the sightings are not counted again.
    report(
        &store,
        a,
        Tlp::Green,
        vec![value(ValueKind::Ipv4, "198.51.100.7")],
    )
    .await;
    let ran = hunter.tick().await.unwrap();
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(
        (ran[0].stats.alerts, ran[0].stats.sightings),
        (1, 0),
        "{ran:?}"
    );
    let b_alerts = alerts(&store, b).await;
    assert_eq!(
        b_alerts,
        vec![(
            "ioc:ipv4:198.51.100.7".to_owned(),
            "pc9".to_owned(),
            "retro-hunt/sensor".to_owned(),
            1
        )]
    );
    assert_eq!(alerts(&store, a).await, got);
    let ip = store
        .sighting_stats(ValueKind::Ipv4, "198.51.100.7")
        .await
        .unwrap();
    assert_eq!((ip.count, ip.organisations), (2, 2));

    // Two hub processes see a new indicator at the same moment: one hunts it.
    report(
        &store,
        b,
        Tlp::Green,
        vec![value(ValueKind::Ipv4, "192.0.2.1")],
    )
    .await;
    let other = RetroHunter::new(Arc::clone(&p), 30 * DAY);
    let (x, y) = tokio::join!(hunter.tick(), other.tick());
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.len() + y.len(), 1, "{x:?} {y:?}");
    let a_alerts = alerts(&store, a).await;
    assert_eq!(
        a_alerts
            .iter()
            .filter(|x| x.0 == "ioc:ipv4:192.0.2.1")
            .map(|x| x.3)
            .collect::<Vec<_>>(),
        vec![1],
        "{a_alerts:?}"
    );

    // A hunt whose process stopped (claimed long ago, never finished) is taken over.
    report(
        &store,
        a,
        Tlp::Green,
        vec![value(ValueKind::Domain, "old.example.org")],
    )
    .await;
    let stalled = NewRetroHunt {
        id: "stalled".into(),
        claimed_by: "gone:1".into(),
        now: now - 3_600_000,
        from_ts: now - 30 * DAY,
        until_received: now_millis(),
    };
    let in_force = store.detection_indicators(now_millis()).await.unwrap();
    let key_of = |kind: ValueKind, v: &str| {
        let m = DetectionMatch::Value {
            kind,
            value: v.into(),
        };
        in_force
            .iter()
            .filter(|d| d.matches == m)
            .map(indicator_key)
            .collect::<Vec<_>>()
    };
    // Its first key is already owned: a stalled claim gets only keys nobody has.
    let taken = key_of(ValueKind::Ipv4, "198.51.100.7");
    let fresh = key_of(ValueKind::Domain, "old.example.org");
    assert_eq!((taken.len(), fresh.len()), (2, 1)); // the address: AMBER and GREEN
    let claim = store
        .claim_retro_hunt(&stalled, &[taken[0].clone(), fresh[0].clone()])
        .await
        .unwrap();
    assert_eq!(claim, Claim::Claimed(fresh));
    let ran = other.tick().await.unwrap();
    assert_eq!(
        ran.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec!["stalled"]
    );
    let hunts = store.list_retro_hunts(10).await.unwrap();
    assert!(hunts.iter().all(|h| h.finished_at.is_some()), "{hunts:?}");
}

#[tokio::test]
async fn retro_hunts_find_stored_events_once() {
    for (store, _dir) in stores().await {
        run(store).await;
    }
}
