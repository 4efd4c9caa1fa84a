//! Sensors forwarding over NATS JetStream, end to end: a real `nats-server`, a real
//! `mamori serve --intake-nats` and `mamori sensor --nats`. Batches published while the hub is
//! down wait in JetStream and are stored once it starts; a forged envelope, a revoked sensor's
//! batch and a re-published batch store nothing; the token never appears in the stream.
//! Skipped (with a message) when `nats-server` is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{BIN, mamori, ok, serve_with, token_of};

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mamori_bus::intake::{INTAKE_SUBJECT, IntakeKey};

fn sensor_id_of(out: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.starts_with("registered sensor"))
        .unwrap();
    line.split('(')
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .to_owned()
}

/// How many events the reader sees with `host.name` starting with `prefix`.
async fn count(port: u16, reader: &str, prefix: &str) -> usize {
    let url = format!("http://127.0.0.1:{port}/api/v1/events?limit=1000");
    let r = reqwest::Client::new()
        .get(&url)
        .bearer_auth(reader)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let page: serde_json::Value = r.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["doc"]["host.name"]
                .as_str()
                .is_some_and(|h| h.starts_with(prefix))
        })
        .count()
}

async fn wait_for(port: u16, reader: &str, prefix: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = count(port, reader, prefix).await;
        if got == n {
            return;
        }
        assert!(got < n, "{got} events from {prefix}*, expected {n}");
        assert!(
            Instant::now() < deadline,
            "{got} of {n} events from {prefix}* arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn syslog_lines(host: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "<38>1 2026-01-02T03:04:{:02}Z {host}{i:02} sshd 42 - - Failed password for root from 198.51.100.{i}\n",
                i % 60
            )
        })
        .collect()
}

fn run_sensor(site: &Path, nats: &str, token: &str, name: &str, log: &Path) -> String {
    let o = Command::new(BIN)
        .args(["sensor", "--nats", nats, "--token", "env:SENSOR_TOKEN"])
        .args(["--name", name, "--state", "state", "--from-start", "--once"])
        .args(["--tail", &format!("{}:syslog", log.display())])
        .current_dir(site)
        .env_remove("MAMORI_CONFIG")
        .env("SENSOR_TOKEN", token)
        .output()
        .unwrap();
    ok(o).trim().to_owned()
}

/// One JetStream node on loopback, or `None` (with a message) without `nats-server`.
fn one_node(test: &str) -> Option<(mamori_testkit::nats::NatsCluster, String)> {
    let bin = mamori_testkit::nats::nats_server_or_skip(test)?;
    let cluster = mamori_testkit::nats::NatsCluster::start(&bin, 1).unwrap();
    cluster.wait_ready(Duration::from_secs(20)).unwrap();
    let url = cluster.url();
    Some((cluster, url))
}

fn add_org(hub: &Path, slug: &str) {
    ok(mamori(
        &[
            "admin",
            "org",
            "create",
            "--slug",
            slug,
            "--name-en",
            slug,
            "--kind",
            "ministry",
        ],
        hub,
    ));
}

/// A temporary directory holding a migrated hub data directory (`<dir>/hub`).
fn migrated_hub() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let hub = dir.path().join("hub");
    std::fs::create_dir(&hub).unwrap();
    ok(mamori(&["migrate"], &hub));
    (dir, hub)
}

/// An analyst of `org` and a read-scoped token for them.
fn reader_of(hub: &Path, org: &str) -> String {
    let user = format!("{org}.analyst");
    ok(mamori(
        &[
            "admin",
            "user",
            "create",
            "--org",
            org,
            "--username",
            &user,
            "--role",
            "analyst",
        ],
        hub,
    ));
    ok(mamori(
        &[
            "admin", "token", "create", "--user", &user, "--name", "read", "--scope", "read",
        ],
        hub,
    ))
    .trim()
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sensors_forward_over_jetstream_and_forgeries_store_nothing() {
    let Some((_cluster, nats)) = one_node("sensor over NATS") else {
        return;
    };

    let (dir, hub) = migrated_hub();
    let run = |args: &[&str]| ok(mamori(args, &hub));
    for slug in ["mofa", "mlit"] {
        add_org(&hub, slug);
    }
    let tokyo = run(&["admin", "sensor", "add", "--org", "mofa", "tokyo-1"]);
    let (tokyo_token, tokyo_id) = (token_of(&tokyo), sensor_id_of(&tokyo));
    let osaka_token = token_of(&run(&[
        "admin", "sensor", "add", "--org", "mofa", "osaka-1",
    ]));
    let other_token = token_of(&run(&[
        "admin", "sensor", "add", "--org", "mlit", "nagoya-1",
    ]));
    let reader = reader_of(&hub, "mofa");
    let mlit_reader = reader_of(&hub, "mlit");

    // The hub is not running: JetStream holds the batches, and the sensor counts them as
    // forwarded (acknowledged by the stream), nothing buffered on its disk.
    let site = dir.path().join("tokyo");
    std::fs::create_dir(&site).unwrap();
    let log = site.join("auth.log");
    std::fs::write(&log, syslog_lines("tk", 40)).unwrap();
    let summary = run_sensor(&site, &nats, &tokyo_token, "tokyo-1", &log);
    assert!(summary.contains("forwarded 40,"), "{summary}");
    assert!(summary.contains("buffered 0, dropped 0"), "{summary}");

    let port = mamori_testkit::free_port();
    let _served = serve_with(&hub, port, &["--intake-nats", &nats]);
    wait_for(port, &reader, "tk", 40).await;

    // Another organisation's sensor: its events are its organisation's, not mofa's.
    let nagoya = dir.path().join("nagoya");
    std::fs::create_dir(&nagoya).unwrap();
    std::fs::write(nagoya.join("auth.log"), syslog_lines("ng", 5)).unwrap();
    run_sensor(
        &nagoya,
        &nats,
        &other_token,
        "nagoya-1",
        &nagoya.join("auth.log"),
    );

    // Forged: a key no sensor has; and tokyo's real batch re-published under a new message id
    // (past JetStream's de-duplication) must not be stored twice.
    let bus = mamori_bus::Bus::open(&nats, mamori_bus::BusOptions::default())
        .await
        .unwrap();
    let body = zstd::bulk::compress(syslog_lines("forged", 3).as_bytes(), 3).unwrap();
    let forged = IntakeKey::from_token("mms_not-a-sensor")
        .seal("forged-1", "zstd", "json", &body)
        .unwrap();
    bus.publish(INTAKE_SUBJECT, "forged-1", forged.into())
        .await
        .unwrap();
    let replay_body = zstd::bulk::compress(syslog_lines("rp", 2).as_bytes(), 3).unwrap();
    let real = IntakeKey::from_token(&tokyo_token);
    let sealed = real
        .seal("replay-1", "zstd", "syslog", &replay_body)
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&sealed).contains(&tokyo_token),
        "the token must not travel"
    );
    for msg_id in ["replay-a", "replay-b"] {
        bus.publish(INTAKE_SUBJECT, msg_id, sealed.clone().into())
            .await
            .unwrap();
    }

    // Revoked: tokyo's next batch is refused by the hub (within the key TTL).
    run(&["admin", "sensor", "revoke", &tokyo_id]);
    tokio::time::sleep(mamori_server::nats_intake::KEY_TTL + Duration::from_millis(500)).await;
    std::fs::write(&log, syslog_lines("tk", 40) + &syslog_lines("late", 4)).unwrap();
    run_sensor(&site, &nats, &tokyo_token, "tokyo-1", &log);

    // A live sensor's batch published after all of the above: once it is stored, the hub has
    // taken everything before it (one consumer pulling in order, up to 4 batches at once, so
    // allow a second for the ones in flight beside it).
    let osaka = dir.path().join("osaka");
    std::fs::create_dir(&osaka).unwrap();
    std::fs::write(osaka.join("auth.log"), syslog_lines("os", 6)).unwrap();
    run_sensor(
        &osaka,
        &nats,
        &osaka_token,
        "osaka-1",
        &osaka.join("auth.log"),
    );
    wait_for(port, &reader, "os", 6).await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    assert_eq!(
        count(port, &reader, "rp").await,
        2,
        "replayed batch stored once"
    );
    assert_eq!(
        count(port, &reader, "forged").await,
        0,
        "forged batch stored"
    );
    assert_eq!(
        count(port, &reader, "late").await,
        0,
        "revoked sensor's batch stored"
    );
    assert_eq!(
        count(port, &reader, "ng").await,
        0,
        "another organisation's events shown"
    );
    assert_eq!(count(port, &reader, "tk").await, 40);
    wait_for(port, &mlit_reader, "ng", 5).await;
    assert_eq!(count(port, &mlit_reader, "tk").await, 0);

    // Both refusals are in the audit log, as a refused HTTPS batch would be.
    let audit = run(&["audit", "list", "--limit", "500", "--json"]);
    let refused: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["action"] == "intake.refused")
        .collect();
    // `detail` is stored (and listed) as JSON text.
    let reasons: Vec<String> = refused
        .iter()
        .filter_map(|e| e["detail"].as_str())
        .filter_map(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter_map(|d| d["reason"].as_str().map(str::to_owned))
        .collect();
    // The forged envelope and the revoked sensor's batch: neither key is a live sensor's.
    assert!(
        reasons.iter().filter(|r| *r == "unknown-key").count() >= 2,
        "{audit}"
    );
    assert!(
        refused.iter().all(|e| e["object_type"] == "nats"),
        "{refused:?}"
    );
    // The chain still verifies with the new entries in it.
    run(&["audit", "verify"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensor_spools_while_nats_is_down_and_replays_when_it_is_back() {
    let Some((mut cluster, nats)) = one_node("sensor spool over NATS") else {
        return;
    };
    let (dir, hub) = migrated_hub();
    let run = |args: &[&str]| ok(mamori(args, &hub));
    add_org(&hub, "mofa");
    let token = token_of(&run(&["admin", "sensor", "add", "--org", "mofa", "kobe-1"]));
    let reader = reader_of(&hub, "mofa");

    cluster.kill(0);
    let site = dir.path().join("kobe");
    std::fs::create_dir(&site).unwrap();
    let log = site.join("auth.log");
    std::fs::write(&log, syslog_lines("kb", 12)).unwrap();
    let first = run_sensor(&site, &nats, &token, "kobe-1", &log);
    assert!(first.contains("forwarded 0, buffered 12"), "{first}");

    cluster.restart(0).unwrap();
    cluster.wait_ready(Duration::from_secs(20)).unwrap();
    let second = run_sensor(&site, &nats, &token, "kobe-1", &log);
    assert!(second.starts_with("sensor: read 0,"), "{second}");
    assert!(second.contains("forwarded 12,"), "{second}");

    let port = mamori_testkit::free_port();
    let _served = serve_with(&hub, port, &["--intake-nats", &nats]);
    wait_for(port, &reader, "kb", 12).await;
}

/// `mamori loadgen --nats` (what `bench/ingest.sh nats` drives) publishes sealed batches that
/// the hub's NATS intake stores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_publishes_to_the_nats_intake() {
    let Some((_cluster, nats)) = one_node("loadgen over NATS") else {
        return;
    };
    let (_dir, hub) = migrated_hub();
    let run = |args: &[&str]| ok(mamori(args, &hub));
    add_org(&hub, "mofa");
    let token = token_of(&run(&["admin", "sensor", "add", "--org", "mofa", "load-1"]));
    let reader = reader_of(&hub, "mofa");
    let port = mamori_testkit::free_port();
    let _served = serve_with(&hub, port, &["--intake-nats", &nats]);
    let out = run(&[
        "loadgen",
        "--hub",
        &format!("http://127.0.0.1:{port}"),
        "--token",
        &token,
        "--nats",
        &nats,
        "--events",
        "600",
        "--batch",
        "200",
        "--concurrency",
        "2",
    ]);
    assert!(out.contains("600 events in"), "{out}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = format!("http://127.0.0.1:{port}/api/v1/events?limit=1000");
        let page: serde_json::Value = reqwest::Client::new()
            .get(&url)
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let n = page["items"].as_array().unwrap().len();
        if n == 600 {
            break;
        }
        assert!(
            n < 600 && Instant::now() < deadline,
            "{n} of 600 events stored"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
