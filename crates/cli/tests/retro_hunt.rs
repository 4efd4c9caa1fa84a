//! Retro-hunt end to end with a real `mamori serve` on both backends: events ingested over
//! the API before an indicator is shared raise an alert for their organisation once the
//! indicator is shared, marked as found by a retro-hunt, and `GET /api/v1/retro-hunts` shows
//! the hunt to hub administrators (and refuses members), as `mamori admin retro-hunts` does.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{mamori_env, ok, serve_full};

use std::time::{Duration, Instant};

fn hunt_on(global: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let hub = dir.path();
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = global.to_vec();
        all.extend_from_slice(args);
        mamori_env(&all, hub, &[])
    };
    // Each command is one line of words.
    let cli = |line: &str| ok(run(&line.split(' ').collect::<Vec<_>>()));
    cli("migrate");
    cli("admin org create --slug hub --name-en Hub --kind csirt");
    cli("admin user create --org hub --username root --role admin");
    cli("admin org create --slug mofa --name-en Ministry --kind ministry");
    cli("admin user create --org mofa --username mofa.analyst --role analyst");
    // `token create` prints the secret alone on stdout.
    let writer = cli("admin token create --user mofa.analyst --name w --scope read,write")
        .trim()
        .to_owned();
    let port = mamori_testkit::free_port();
    let _served = serve_full(hub, port, global, &[], &[]);
    let admin = cli("admin token create --user root --name a --scope read,admin")
        .trim()
        .to_owned();
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        // Yesterday's traffic to an address nobody had flagged yet.
        let yesterday = mamori_store::now_millis() - 86_400_000;
        let body = [
            serde_json::json!({"@timestamp": yesterday, "host.name": "pc-17", "destination.ip": "203.0.113.77"}),
            serde_json::json!({"@timestamp": yesterday, "host.name": "pc-18", "destination.ip": "192.0.2.8"}),
        ]
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("\n");
        let r = c
            .post(format!("{base}/api/v1/events"))
            .bearer_auth(&writer)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let alerts = |c: reqwest::Client| {
            let (base, writer) = (base.clone(), writer.clone());
            async move {
                let v: serde_json::Value = c
                    .get(format!("{base}/api/v1/alerts"))
                    .bearer_auth(&writer)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                v.as_array().cloned().unwrap_or_default()
            }
        };
        assert!(alerts(c.clone()).await.is_empty());

        // Today the address is shared: the hub finds yesterday's connection.
        let r = c
            .post(format!("{base}/api/v1/reports"))
            .bearer_auth(&writer)
            .json(&serde_json::json!({"title": "C2", "tlp": "GREEN",
                "indicators": [{"kind": "ipv4", "value": "203.0.113.77"}]}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        let found = loop {
            let a = alerts(c.clone()).await;
            if !a.is_empty() {
                break a;
            }
            assert!(Instant::now() < deadline, "no retro-hunt alert within 60 s");
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(found.len(), 1, "{found:#?}");
        let a = &found[0];
        assert_eq!(a["rule_id"], "ioc:ipv4:203.0.113.77", "{a:#}");
        assert_eq!(a["host"], "pc-17");
        assert_eq!(a["route"], "retro-hunt/sensor");

        let r = c
            .get(format!("{base}/api/v1/retro-hunts"))
            .bearer_auth(&writer)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        let hunts: serde_json::Value = c
            .get(format!("{base}/api/v1/retro-hunts"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hunts = hunts.as_array().unwrap_or_else(|| panic!("{hunts:#}"));
        let done = hunts
            .iter()
            .find(|h| h["id"] != "baseline")
            .expect("the hunt is listed");
        assert_eq!(done["indicators"], 1, "{hunts:#?}");
        assert_eq!(done["alerts"], 1, "{hunts:#?}");
        assert!(done["finished_at"].is_i64(), "{hunts:#?}");
    });
    // The same from the command line, for operators.
    let table = cli("admin retro-hunts");
    let rows: Vec<&str> = table.lines().collect();
    assert!(
        rows[0].starts_with("started\tindicators\tevents"),
        "{table}"
    );
    assert!(
        rows.iter()
            .any(|r| r.split('\t').nth(5) == Some("finished") && r.split('\t').nth(3) == Some("1")),
        "{table}"
    );
    assert!(
        rows.iter().any(|r| r.contains("baseline (not hunted)")),
        "{table}"
    );
}

#[test]
fn a_newly_shared_indicator_finds_yesterdays_events_sqlite() {
    hunt_on(&[]);
}

#[test]
fn a_newly_shared_indicator_finds_yesterdays_events_postgres() {
    let url = mamori_testkit::Postgres::shared().fresh_database_url();
    hunt_on(&["--database", &url]);
}
