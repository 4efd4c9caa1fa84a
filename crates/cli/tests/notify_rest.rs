//! The binary as a user drives the rest of issue 7: `mamori notify collect --taxii` pulls a
//! TAXII 2.1 collection from a real `mamori serve` (seeded by importing an event there), turns
//! its indicators and observables into items with their owners, and on the next run fetches
//! only what the collection added since; an owner with a webhook (set with `mamori admin org
//! webhook`) receives its notice as JSON on a loopback receiver, with its own items only. The
//! notifying hub runs on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{mamori_env, ok_text as ok, serve_at};

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use serde_json::Value;

const COMMUNITY: &str = "6d616d6f-7269-4c0a-8000-000000000002";

/// A webhook receiver on 127.0.0.1 (plain std, one connection at a time): answers 204 to
/// every POST and keeps the JSON bodies.
fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let body = loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    break Some(buf[end + 4..end + 4 + len].to_vec());
                }
            };
            if let Some(b) = body
                && let Ok(v) = serde_json::from_slice(&b)
            {
                g.lock().unwrap().push(v);
            }
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    (url, got)
}

fn event(uuid: &str, attributes: &[(&str, &str)]) -> String {
    let attrs: Vec<String> = attributes
        .iter()
        .map(|(t, v)| format!(r#"{{"type": "{t}", "value": "{v}", "to_ids": true}}"#))
        .collect();
    format!(
        r#"{{"Event": {{"uuid": "{uuid}", "info": "partner finding", "Tag": [{{"name": "tlp:green"}}], "Attribute": [{}]}}}}"#,
        attrs.join(",")
    )
}

fn taxii_collect_case(db_url: &str) {
    // The partner hub, whose community collection is pulled: one analyst, one imported event.
    let partner = tempfile::tempdir().unwrap();
    let p = |args: &[&str]| mamori_env(args, partner.path(), &[]);
    ok(p(&[
        "admin",
        "org",
        "create",
        "--slug",
        "partner",
        "--name-en",
        "Partner",
        "--kind",
        "csirt",
    ]));
    ok(p(&[
        "admin",
        "user",
        "create",
        "--org",
        "partner",
        "--username",
        "partner.analyst",
        "--role",
        "analyst",
    ]));
    let token = p(&[
        "admin",
        "token",
        "create",
        "--user",
        "partner.analyst",
        "--name",
        "taxii",
        "--scope",
        "read,write",
    ]);
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    std::fs::write(
        partner.path().join("first.json"),
        event(
            "aaaaaaaa-0000-4000-8000-0000000000a1",
            &[
                ("ip-dst", "203.0.113.50"),
                ("url", "http://198.51.100.20/bad.exe"),
                ("domain", "phish.aoba.example.jp"),
                ("domain", "unowned.example"),
                ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
            ],
        ),
    )
    .unwrap();
    ok(p(&[
        "share",
        "import-misp",
        "--as",
        "partner.analyst",
        "first.json",
    ]));
    let port = mamori_testkit::free_port();
    let _served = serve_at(partner.path(), port);

    // The notifying hub: two owners; kita has no contact, only a webhook.
    let hub = tempfile::tempdir().unwrap();
    let h = |args: &[&str]| {
        let mut all = vec!["--database", db_url];
        all.extend_from_slice(args);
        mamori_env(&all, hub.path(), &[("TAXII_TOKEN", &token)])
    };
    ok(h(&[
        "admin",
        "org",
        "create",
        "--slug",
        "aoba-net",
        "--name-ja",
        "青葉ネット",
        "--kind",
        "isp",
        "--cidr",
        "203.0.113.0/24",
        "--domain",
        "aoba.example.jp",
        "--contact",
        "運用窓口 <noc@aoba.example.jp>",
    ]));
    ok(h(&[
        "admin",
        "org",
        "create",
        "--slug",
        "kita",
        "--name-en",
        "Kita",
        "--kind",
        "university",
        "--cidr",
        "198.51.100.0/24",
    ]));
    let (hook, got) = receiver();
    ok(h(&["admin", "org", "webhook", "kita", "--url", &hook]));
    let root = format!("http://127.0.0.1:{port}/taxii2/api/");
    let collect = || {
        h(&[
            "notify",
            "collect",
            "--name",
            "partner",
            "--taxii",
            &root,
            "--collection",
            COMMUNITY,
            "--token-env",
            "TAXII_TOKEN",
            "--public-url",
            "https://hub.example.go.jp",
        ])
    };

    // First run: every URL, domain and address of the collection, owners found; kita's
    // notice is posted to its webhook, aoba's e-mail waits for --smtp.
    let first = ok(collect());
    assert!(
        first.contains("partner: 4 items (3 owned, 1 unowned for review"),
        "{first}"
    );
    assert!(
        first.contains("2 notices issued (0 escalated, 1 by webhook): 1 sent, 0 failed, 1 queued"),
        "{first}"
    );
    let docs = got.lock().unwrap().clone();
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs[0]["organisation"]["slug"], "kita");
    let values: Vec<&str> = docs[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        vec!["http://198.51.100.20/bad.exe"],
        "only kita's item"
    );
    assert_eq!(docs[0]["items"][0]["source"], "taxii:partner");
    assert!(
        docs[0]["acknowledge_url"]
            .as_str()
            .unwrap()
            .starts_with("https://hub.example.go.jp/notices/ack/mma_")
    );

    // Nothing new: one request, nothing recorded.
    let second = ok(collect());
    assert!(
        second.contains("nothing added to the collection since 20"),
        "{second}"
    );

    // The partner publishes more; the next run fetches only that.
    std::fs::write(
        partner.path().join("second.json"),
        event(
            "aaaaaaaa-0000-4000-8000-0000000000a2",
            &[("domain", "new.aoba.example.jp")],
        ),
    )
    .unwrap();
    ok(p(&[
        "share",
        "import-misp",
        "--as",
        "partner.analyst",
        "second.json",
    ]));
    let third = ok(collect());
    assert!(
        third.contains("partner: 1 items (1 owned, 0 unowned for review"),
        "{third}"
    );
    assert!(third.contains("1 new, 0 seen again"), "{third}");
    assert_eq!(got.lock().unwrap().len(), 1, "kita has nothing new");

    // The notices as stored: kita's by webhook and sent, aoba's by e-mail and queued; a
    // delivery run without --smtp leaves the e-mail queued.
    let list = ok(h(&["notify", "notices", "--jsonl"]));
    let notices: Vec<Value> = list
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        notices
            .iter()
            .any(|n| n["channel"] == "webhook" && n["status"] == "sent"),
        "{list}"
    );
    assert!(
        notices
            .iter()
            .filter(|n| n["channel"] == "email")
            .all(|n| n["status"] == "queued"),
        "{list}"
    );
    let d = ok(h(&["notify", "deliver"]));
    assert!(d.contains("0 sent, 0 failed"), "{d}");
}

#[test]
fn notify_collect_pulls_taxii_incrementally_and_posts_webhook_notices_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/notify.db", dir.path().display());
    taxii_collect_case(&url);
}

#[test]
fn notify_collect_pulls_taxii_incrementally_and_posts_webhook_notices_postgres() {
    let url = mamori_testkit::Postgres::shared().fresh_database_url();
    taxii_collect_case(&url);
}
