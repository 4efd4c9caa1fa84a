//! Scale-out end to end: three `mamori serve` processes on one PostgreSQL database and a
//! three-node NATS JetStream cluster share ingestion and detection. While batches are being
//! sent, one hub is SIGKILLed and one NATS node is SIGKILLed and restarted; every acknowledged
//! event is stored exactly once and every alert exists once with the right count.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mamori_store::alerts::AlertQuery;
use mamori_store::{ConnectOptions, Store};

const BIN: &str = env!("CARGO_BIN_EXE_mamori");
const BATCHES: usize = 120;
const PER_BATCH: usize = 40;
const HOSTS: usize = 5;

const RULE: &str = "title: Attack marker\nid: 22222222-3333-4444-5555-666666666666\nlevel: high\nlogsource:\n  product: test\ndetection:\n  keywords:\n    - 'attack-marker'\n  condition: keywords\n";

struct Hub {
    child: Option<Child>,
    port: u16,
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start_hub(dir: &std::path::Path, db: &str, bus: &str, rules: &std::path::Path) -> Hub {
    let port = mamori_testkit::free_port();
    let child = Command::new(BIN)
        .args([
            "--database",
            db,
            "--data",
            &dir.display().to_string(),
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--bus",
            bus,
            "--workers",
            "2",
            "--bus-ack-wait",
            "3",
            "--rules",
            &rules.display().to_string(),
        ])
        .env_remove("MAMORI_CONFIG")
        .env("MAMORI_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Hub {
        child: Some(child),
        port,
    }
}

fn batch_body(b: usize, ts: i64) -> String {
    (0..PER_BATCH)
        .map(|i| {
            let msg = if i == 0 { "attack-marker seen" } else { "routine" };
            serde_json::json!({"@timestamp": ts, "host.name": format!("h{}", b % HOSTS), "message": msg, "seq": b * PER_BATCH + i})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_on_jetstream_lose_nothing_and_duplicate_nothing_when_killed() {
    let Some(nats_bin) = mamori_testkit::nats::nats_server_or_skip("scale-out") else {
        return;
    };
    let mut cluster = mamori_testkit::nats::NatsCluster::start(&nats_bin, 3).unwrap();
    let db = mamori_testkit::Postgres::shared().fresh_database_url();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("marker.yml"), RULE).unwrap();
    let bus = cluster.url();

    // The first hub creates the schema and the hub organisation; then two more join.
    let mut hubs = vec![start_hub(&dir.path().join("h0"), &db, &bus, &rules)];
    let out = Command::new(BIN)
        .args([
            "--database",
            &db,
            "admin",
            "sensor",
            "add",
            "--org",
            "hub",
            "s1",
        ])
        .env_remove("MAMORI_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let token = text
        .split_whitespace()
        .find(|w| w.starts_with("mms_"))
        .unwrap()
        .to_owned();
    hubs.push(start_hub(&dir.path().join("h1"), &db, &bus, &rules));
    hubs.push(start_hub(&dir.path().join("h2"), &db, &bus, &rules));

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let ts = mamori_store::now_millis();
    let mut alive = vec![true; hubs.len()];
    let mut attempts = 0usize;
    for b in 0..BATCHES {
        if b == BATCHES / 3 {
            // A hub dies mid-stream: its queued and half-processed batches are not lost.
            let h = &mut hubs[1];
            if let Some(c) = h.child.as_mut() {
                c.kill().unwrap();
                c.wait().unwrap();
            }
            h.child = None;
            alive[1] = false;
        }
        if b == BATCHES / 2 {
            cluster.kill(2);
        }
        if b == 2 * BATCHES / 3 {
            cluster.restart(2).unwrap();
        }
        let body = batch_body(b, ts);
        let mut k = b;
        loop {
            attempts += 1;
            let i = k % hubs.len();
            k += 1;
            if !alive[i] {
                continue;
            }
            let r = client
                .post(format!("http://127.0.0.1:{}/api/v1/events", hubs[i].port))
                .bearer_auth(&token)
                .header("content-type", "application/x-ndjson")
                .header("x-mamori-batch", format!("b-{b}"))
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(resp) if resp.status().is_success() => break,
                Ok(resp) => eprintln!("batch {b} via hub {i}: {}", resp.status()),
                Err(e) => eprintln!("batch {b} via hub {i}: {e}"),
            }
            assert!(attempts < BATCHES * 20, "too many failed attempts");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // Every acknowledged event arrives exactly once.
    let store = Store::connect(&db, &ConnectOptions::default())
        .await
        .unwrap();
    let want = (BATCHES * PER_BATCH) as i64;
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline && store.count_events(None).await.unwrap() < want {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Let any late redelivery land before checking for duplicates.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let have = store.count_events(None).await.unwrap();
    assert_eq!(have, want, "events stored");

    // One alert per host, counting each marker once.
    let alerts = store
        .list_alerts(&AlertQuery {
            limit: 100,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    let sigma: Vec<_> = alerts.iter().filter(|a| a.kind == "sigma").collect();
    assert_eq!(sigma.len(), HOSTS, "{sigma:?}");
    assert_eq!(
        sigma.iter().map(|a| a.event_count).sum::<i64>(),
        BATCHES as i64,
        "{sigma:?}"
    );
    drop(hubs);
}
