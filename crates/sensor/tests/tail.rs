//! Tailing real files: rename rotation, copytruncate, and no line lost or duplicated across
//! restarts (checkpoints), end to end against a real HTTP receiver.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::{Receiver, append, config, json_line, numbers, run_once};
use mamori_parse::Format;
use mamori_sensor::TailSpec;
use mamori_sensor::record::Payload;
use mamori_sensor::tail::Tailer;

fn poll(t: &mut Tailer, out: &mut Vec<String>) {
    t.poll(&mut |r| {
        if let Payload::Line { text, .. } = r.payload {
            out.push(text);
        }
        true
    });
}

fn lines(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("line {n}")).collect()
}

#[test]
fn follows_rename_and_copytruncate() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, lines(0..5));
    let spec = TailSpec {
        path: log.to_string_lossy().into_owned(),
        format: None,
    };
    let mut t = Tailer::new(vec![spec], Format::Auto, true, BTreeMap::new());
    let mut got = Vec::new();
    poll(&mut t, &mut got);
    assert_eq!(got, lines(0..5));

    // A partial line is held back until its line break arrives.
    append(&log, lines(5..7));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"line 7"))
        .unwrap();
    poll(&mut t, &mut got);
    assert_eq!(got, lines(0..7));
    append(&log, vec![String::new()]);

    // Rename + create: late writes to the old file are still read, then the new file.
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    append(&dir.path().join("app.log.1"), lines(8..10));
    append(&log, lines(10..12));
    poll(&mut t, &mut got);
    assert_eq!(got, lines(0..12));

    // copytruncate: copy away, truncate in place, keep writing.
    std::fs::copy(&log, dir.path().join("app.log.2")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    append(&log, lines(12..13));
    poll(&mut t, &mut got);
    assert_eq!(got, lines(0..13));
    poll(&mut t, &mut got);
    assert_eq!(got, lines(0..13), "nothing read twice");
}

#[tokio::test]
async fn restarts_lose_and_duplicate_nothing() {
    let hub = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let state = dir.path().join("state");
    let cfg = || {
        let mut c = config(&hub.url(), &state);
        c.tail = vec![format!("{}:json", log.display()).parse().unwrap()];
        c
    };
    append(&log, (0..25).map(json_line));
    let s = run_once(cfg()).await;
    assert_eq!((s.read, s.parsed, s.forwarded), (25, 25, 25));
    assert_eq!(numbers(&hub.lines()), (0..25).collect::<Vec<_>>());
    let first = hub.lines();
    assert_eq!(first[3]["log.file.path"], log.display().to_string());
    assert_eq!(first[3]["observer.name"], "test-sensor");
    assert!(first[3]["@timestamp"].is_string());
    assert!(first[3]["log.offset"].is_u64());

    // More lines, then a restart: only the new ones.
    append(&log, (25..40).map(json_line));
    let s = run_once(cfg()).await;
    assert_eq!(s.read, 15);

    // Lines written, then the file rotated away while the sensor was not running: the old
    // file is finished from its checkpoint, the new one read from its start.
    append(&log, (40..47).map(json_line));
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    append(&log, (47..60).map(json_line));
    let s = run_once(cfg()).await;
    assert_eq!(s.read, 20);

    // copytruncate while stopped: the file is shorter than the checkpoint.
    std::fs::write(&log, "").unwrap();
    append(&log, (60..63).map(json_line));
    run_once(cfg()).await;

    // Nothing new: nothing sent.
    let s = run_once(cfg()).await;
    assert_eq!(s.read, 0);
    assert_eq!(numbers(&hub.lines()), (0..63).collect::<Vec<_>>());
    assert_eq!(hub.duplicates(), 0);
}

#[tokio::test]
async fn globs_and_dead_letters() {
    let hub = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    append(
        &dir.path().join("a.log"),
        ["CEF:0|V|P|1|100|n|5|src=10.0.0.1".to_string()],
    );
    append(&dir.path().join("b.log"), ["not a cef line".to_string()]);
    let mut c = config(&hub.url(), &dir.path().join("state"));
    c.tail = vec![
        format!("{}/*.log:cef", dir.path().display())
            .parse()
            .unwrap(),
    ];
    let s = run_once(c).await;
    assert_eq!((s.read, s.parsed, s.rejected, s.forwarded), (2, 1, 1, 2));
    let lines = hub.lines();
    let dead = lines
        .iter()
        .find_map(|l| l.get("mamori.dead_letter"))
        .unwrap();
    assert_eq!(dead["text"], "not a cef line");
    assert_eq!(
        dead["source"],
        format!("{}:1", dir.path().join("b.log").display())
    );
    assert!(dead["reason"].as_str().unwrap().len() > 3);
}

#[tokio::test]
async fn starting_at_the_end_is_remembered() {
    let hub = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    append(&log, (0..5).map(json_line));
    let mut c = config(&hub.url(), &dir.path().join("state"));
    c.from_start = false;
    c.tail = vec![log.display().to_string().parse().unwrap()];
    let s = run_once(c.clone()).await;
    assert_eq!(s.read, 0);
    append(&log, (5..8).map(json_line));
    let s = run_once(c).await;
    assert_eq!(s.read, 3);
    assert_eq!(numbers(&hub.lines()), [5, 6, 7]);
}
