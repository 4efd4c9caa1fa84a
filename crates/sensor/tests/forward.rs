//! Forwarding against a real HTTP receiver: the spool (hub down → spooled → hub up →
//! replayed in order with the same batch ids), the spool limit dropping the oldest batches,
//! 413 splitting, 429/401 handling, and the forward modes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Answer, Receiver, append, config, json_line, numbers, run_once};
use mamori_sensor::ForwardMode;
use mamori_sensor::spool::Spool;

fn spooled_ids(state: &std::path::Path) -> Vec<String> {
    Spool::open(&state.join("spool"), u64::MAX).unwrap().ids()
}

#[tokio::test]
async fn hub_down_spools_then_replays_in_order_with_the_same_ids() {
    let hub = Receiver::start().await;
    let addr = hub.addr;
    hub.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let state = dir.path().join("state");
    let cfg = |url: &str| {
        let mut c = config(url, &state);
        c.tail = vec![log.display().to_string().parse().unwrap()];
        c
    };
    append(&log, (0..35).map(json_line));
    let s = run_once(cfg(&hub.url())).await;
    assert_eq!((s.read, s.forwarded, s.buffered, s.dropped), (35, 0, 35, 0));
    let spooled = spooled_ids(&state);
    assert_eq!(spooled.len(), 4);
    // A second run while the hub is still down appends behind them.
    append(&log, (35..40).map(json_line));
    let s = run_once(cfg(&hub.url())).await;
    assert_eq!((s.read, s.buffered), (5, 5));
    let spooled = spooled_ids(&state);
    assert_eq!(spooled.len(), 5);

    // The hub comes back on the same address, answering 503 first.
    let hub = Receiver::start_on(addr).await;
    hub.answer(Answer::Fail);
    let s = run_once(cfg(&hub.url())).await;
    assert_eq!(s.forwarded, 0);
    assert_eq!(spooled_ids(&state), spooled);
    hub.answer(Answer::Accept);
    append(&log, (40..42).map(json_line));
    let s = run_once(cfg(&hub.url())).await;
    assert_eq!(s.forwarded, 42);
    assert!(spooled_ids(&state).is_empty());
    let ids = hub.batch_ids();
    assert_eq!(ids[..5], spooled[..], "replayed in order, same ids");
    assert_eq!(numbers(&hub.lines()), (0..42).collect::<Vec<_>>());
    // Retries carried the same ids.
    let attempts = hub.attempts();
    assert_eq!(attempts[0], spooled[0]);
}

#[tokio::test]
async fn a_full_spool_drops_the_oldest_batches_and_counts_them() {
    let hub = Receiver::start().await;
    let addr = hub.addr;
    hub.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let state = dir.path().join("state");
    append(&log, (0..100).map(json_line));
    let mut c = config(&hub.url(), &state);
    c.tail = vec![log.display().to_string().parse().unwrap()];
    // Room for about three batches of ten.
    c.buffer_max_bytes = 3 * 170;
    let s = run_once(c.clone()).await;
    let kept = spooled_ids(&state).len() as u64;
    assert!((1..10).contains(&kept), "{kept}");
    assert_eq!(s.buffered, 100);
    assert_eq!(s.dropped, 100 - kept * 10, "{s}");
    let hub = Receiver::start_on(addr).await;
    c.hub = hub.url();
    let s = run_once(c).await;
    assert_eq!(s.forwarded, kept * 10);
    // The newest survived.
    let n = numbers(&hub.lines());
    assert_eq!(n, ((100 - kept * 10)..100).collect::<Vec<_>>());
}

#[tokio::test]
async fn too_large_batches_are_split() {
    let hub = Receiver::start().await;
    hub.max_lines(3);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, (0..10).map(json_line));
    let mut c = config(&hub.url(), &dir.path().join("state"));
    c.tail = vec![log.display().to_string().parse().unwrap()];
    let s = run_once(c).await;
    assert_eq!(s.forwarded, 10);
    assert_eq!(numbers(&hub.lines()), (0..10).collect::<Vec<_>>());
    let ids = hub.batch_ids();
    assert!(ids.len() >= 4, "{ids:?}");
    assert!(
        ids.iter().all(|i| i.ends_with(".0") || i.ends_with(".1")),
        "{ids:?}"
    );
}

#[tokio::test]
async fn over_the_burst_batches_are_split() {
    let hub = Receiver::start().await;
    hub.max_lines_status(3, 422);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, (0..8).map(json_line));
    let mut c = config(&hub.url(), &dir.path().join("state"));
    c.tail = vec![log.display().to_string().parse().unwrap()];
    let s = run_once(c).await;
    assert_eq!(s.forwarded, 8);
    assert_eq!(numbers(&hub.lines()), (0..8).collect::<Vec<_>>());
}

#[tokio::test]
async fn refused_token_keeps_spooling() {
    let hub = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, (0..5).map(json_line));
    let mut c = config(&hub.url(), &dir.path().join("state"));
    c.tail = vec![log.display().to_string().parse().unwrap()];
    c.token = mamori_sensor::Secret("mms_wrong".into());
    let s = run_once(c.clone()).await;
    assert_eq!((s.forwarded, s.buffered), (0, 5));
    c.token = mamori_sensor::Secret(common::TOKEN.into());
    let s = run_once(c).await;
    assert_eq!(s.forwarded, 5);
}

const RULE: &str = "title: Suspicious tool\nid: 6f0a3c1e-0000-4000-8000-000000000001\nlevel: high\nlogsource:\n  category: test\ndetection:\n  s:\n    message|contains: mimikatz\n  condition: s\n";

#[tokio::test]
async fn forward_modes() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(rules.join("r.yml"), RULE).unwrap();
    let ioc = dir.path().join("ioc.txt");
    std::fs::write(&ioc, "203.0.113.7\n").unwrap();
    let log = dir.path().join("app.log");
    let mut lines: Vec<String> = (0..30).map(json_line).collect();
    lines[4] = r#"{"message":"ran mimikatz.exe","n":4}"#.into();
    lines[17] = r#"{"message":"beacon","source.ip":"203.0.113.7","n":17}"#.into();
    lines[20] = "this is not json".into();
    append(&log, lines);

    let run = |mode: ForwardMode, n: usize| {
        let (rules, ioc, log) = (rules.clone(), ioc.clone(), log.clone());
        let state = dir.path().join(format!("state{n}"));
        async move {
            let hub = Receiver::start().await;
            let mut c = config(&hub.url(), &state);
            c.tail = vec![format!("{}:json", log.display()).parse().unwrap()];
            c.forward = mode;
            c.rules = mamori_sensor::RuleSource::Local {
                dirs: vec![rules],
                ioc: Some(ioc),
                patterns: None,
            };
            let s = run_once(c).await;
            (s, hub.lines())
        }
    };

    let (s, got) = run(ForwardMode::Alerts, 1).await;
    assert_eq!((s.read, s.parsed, s.rejected, s.matched), (30, 29, 1, 2));
    assert_eq!(s.forwarded, 2);
    assert_eq!(numbers(&got), [4, 17]);
    let m = &got[0]["mamori.sensor.matches"][0];
    assert_eq!(m["rule"], "Suspicious tool");
    assert_eq!(m["id"], "6f0a3c1e-0000-4000-8000-000000000001");
    assert_eq!(m["level"], "high");
    let m = &got[1]["mamori.sensor.matches"][0];
    assert_eq!(m["ioc"], "203.0.113.7");
    assert_eq!(m["field"], "source.ip");

    let (s, got) = run(ForwardMode::Sampled(10), 2).await;
    let n = numbers(&got);
    assert!(n.contains(&4) && n.contains(&17), "{n:?}");
    // 28 unmatched lines (27 events + 1 dead letter), one in ten kept, plus the 2 matches.
    assert_eq!(s.forwarded, 2 + 3, "{n:?}");

    let (s, got) = run(ForwardMode::All, 3).await;
    assert_eq!(s.forwarded, 30);
    assert_eq!(got.len(), 30);
    assert!(got[20].get("mamori.dead_letter").is_some());
}

#[tokio::test]
async fn throttled_hub_is_retried_after_retry_after() {
    let hub = Receiver::start().await;
    hub.answer(Answer::Throttle);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let mut c = config(&hub.url(), &dir.path().join("state"));
    c.once = false;
    c.from_start = true;
    c.tail = vec![log.display().to_string().parse().unwrap()];
    append(&log, (0..5).map(json_line));
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (_reload_tx, reload) = tokio::sync::mpsc::channel(1);
    let task = tokio::spawn(mamori_sensor::run(
        c,
        mamori_sensor::Control { stop, reload },
    ));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(hub.lines().is_empty());
    assert!(!hub.attempts().is_empty());
    hub.answer(Answer::Accept);
    append(&log, (5..8).map(json_line));
    let got = hub.wait_lines(8).await;
    assert_eq!(numbers(&got), (0..8).collect::<Vec<_>>());
    stop_tx.send(true).unwrap();
    let s = task.await.unwrap().unwrap();
    assert_eq!((s.read, s.forwarded), (8, 8));
}

#[tokio::test]
async fn indicators_reload_when_their_file_changes() {
    let hub = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ioc = dir.path().join("ioc.txt");
    std::fs::write(&ioc, "203.0.113.7\n").unwrap();
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").unwrap();
    let mut c = config(&hub.url(), &dir.path().join("state"));
    c.once = false;
    c.forward = ForwardMode::Alerts;
    c.tail = vec![format!("{}:json", log.display()).parse().unwrap()];
    c.rules = mamori_sensor::RuleSource::Local {
        dirs: vec![],
        ioc: Some(ioc.clone()),
        patterns: None,
    };
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (_reload_tx, reload) = tokio::sync::mpsc::channel(1);
    let task = tokio::spawn(mamori_sensor::run(
        c,
        mamori_sensor::Control { stop, reload },
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let line = |n: usize, ip: &str| format!(r#"{{"source.ip":"{ip}","n":{n}}}"#);
    append(&log, [line(1, "203.0.113.7"), line(2, "198.51.100.9")]);
    hub.wait_lines(1).await;
    std::fs::write(&ioc, "203.0.113.7\n198.51.100.9\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    append(&log, [line(3, "198.51.100.9")]);
    let got = hub.wait_lines(2).await;
    assert_eq!(numbers(&got), [1, 3]);
    stop_tx.send(true).unwrap();
    let s = task.await.unwrap().unwrap();
    assert_eq!((s.read, s.matched, s.forwarded), (3, 2, 2));
}
