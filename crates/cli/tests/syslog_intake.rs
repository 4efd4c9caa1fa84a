//! Syslog into the hub over UDP and TCP: messages are parsed, stored as the hub's events with
//! their sending peer, bad ones kept as dead letters, and alerts routed to the organisation
//! that owns the address (or to the hub when nobody does).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mamori_store::alerts::AlertQuery;
use mamori_store::{ConnectOptions, Store};

const BIN: &str = env!("CARGO_BIN_EXE_mamori");
const RULE: &str = "title: Attack marker\nid: 33333333-3333-4444-5555-666666666666\nlevel: high\nlogsource:\n  product: test\ndetection:\n  keywords:\n    - 'attack-marker'\n  condition: keywords\n";

struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_over_udp_and_tcp_becomes_routed_alerts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::write(dir.path().join("rules/marker.yml"), RULE).unwrap();
    let (http, udp, tcp) = (
        mamori_testkit::free_port(),
        mamori_testkit::free_port(),
        mamori_testkit::free_port(),
    );
    let mamori = |args: &[&str]| {
        let o = Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env_remove("MAMORI_CONFIG")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let _hub = Served(
        Command::new(BIN)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{http}"),
                "--syslog-udp",
                &format!("127.0.0.1:{udp}"),
                "--syslog-tcp",
                &format!("127.0.0.1:{tcp}"),
                "--rules",
                "rules",
            ])
            .current_dir(dir.path())
            .env_remove("MAMORI_CONFIG")
            .env("MAMORI_LOG__LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", tcp)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the syslog listener did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    mamori(&[
        "admin",
        "org",
        "create",
        "--slug",
        "moe",
        "--name-ja",
        "環境省",
        "--name-en",
        "MOE",
        "--kind",
        "ministry",
        "--cidr",
        "198.51.100.0/24",
    ]);

    // TCP, newline framing: a CEF line about an address of MOE, and a line no parser takes.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
    s.write_all(
        b"CEF:0|Vendor|FW|1|100|attack-marker blocked|7|src=198.51.100.20 dst=203.0.113.5\n",
    )
    .unwrap();
    s.write_all(b"\x01\x02 not a log line\n").unwrap();
    drop(s);
    // UDP: an RFC 5424 message nobody owns.
    let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    u.send_to(
        "<13>1 2026-11-25T10:00:00Z fw02 app - - - attack-marker 不審な通信".as_bytes(),
        ("127.0.0.1", udp),
    )
    .unwrap();

    let store = Store::connect(
        &format!("sqlite://{}/mamori-data/mamori.db", dir.path().display()),
        &ConnectOptions::default(),
    )
    .await
    .unwrap();
    let moe = store.get_org_by_slug("moe").await.unwrap().id;
    let hub = store.get_org_by_slug("hub").await.unwrap().id;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alerts = store
            .list_alerts(&AlertQuery {
                limit: 10,
                ..AlertQuery::default()
            })
            .await
            .unwrap();
        if alerts.len() >= 2 {
            let to_moe = alerts.iter().find(|a| a.org_id == moe.to_string()).unwrap();
            assert_eq!(to_moe.route, "ip");
            let to_hub = alerts.iter().find(|a| a.org_id == hub.to_string()).unwrap();
            assert_eq!(
                (to_hub.route.as_str(), to_hub.host.as_str()),
                ("unrouted", "fw02")
            );
            break;
        }
        assert!(Instant::now() < deadline, "alerts: {alerts:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.count_events(Some(hub)).await.unwrap(), 2);
    let events = store
        .search_events(&mamori_store::events::EventQuery {
            text: Some("不審な通信".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(
        events[0].doc["log.source.address"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    let dead = store.list_dead_letters(Some(hub), 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert!(dead[0].origin.starts_with("syslog tcp"), "{dead:?}");
}
