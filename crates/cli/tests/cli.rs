//! The `mamori` binary driven as a user would: config check, migrate, admin, audit verify, serve.
//! Storage-touching cases run on SQLite and on a throwaway PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{BIN, http_get, http_get_auth, mamori, serve_at, text};

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn config_check_names_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.toml"),
        "listen = \"127.0.0.1:9090\"\n[http]\nbody_limit_bytes = 4096\n",
    )
    .unwrap();
    let o = mamori(&["config", "check", "good.toml"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("OK"));

    std::fs::write(
        dir.path().join("bad.toml"),
        "listen = \"127.0.0.1:9090\"\n\n[http]\nbody_limit_bytes = 12\nbody_limt = 3\n",
    )
    .unwrap();
    let o = mamori(&["config", "check", "bad.toml"], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("bad.toml:4") && t.contains("http.body_limit_bytes"),
        "{t}"
    );
    assert!(t.contains("bad.toml:5") && t.contains("body_limt"), "{t}");

    let o = mamori(&["config", "example"], dir.path());
    std::fs::write(dir.path().join("example.toml"), &o.stdout).unwrap();
    let o = mamori(&["config", "check", "example.toml"], dir.path());
    assert!(o.status.success(), "{}", text(&o));

    // A broken config stops `serve` with the same precise message and exit code 2.
    let o = mamori(&["--config", "bad.toml", "serve"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("bad.toml:4"));
}

fn admin_and_audit(db: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = db.to_vec();
        all.extend_from_slice(args);
        mamori(&all, dir.path())
    };
    let o = run(&["migrate"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["migrate"]);
    assert!(text(&o).contains("up to date"), "{}", text(&o));

    let o = run(&[
        "admin",
        "org",
        "create",
        "--slug",
        "mhlw",
        "--name-ja",
        "厚生労働省",
        "--name-en",
        "Ministry of Health, Labour and Welfare",
        "--kind",
        "ministry",
        "--cidr",
        "192.0.2.0/25",
        "--domain",
        "mhlw.example.jp",
        "--contact",
        "CSIRT <csirt@mhlw.example.jp>",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&[
        "admin",
        "org",
        "create",
        "--slug",
        "mhlw",
        "--name-en",
        "Again",
        "--kind",
        "ministry",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("exists"), "{}", text(&o));
    let o = run(&[
        "admin",
        "org",
        "create",
        "--slug",
        "x",
        "--kind",
        "spaceship",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("spaceship"));

    let o = run(&["admin", "org", "list"]);
    assert!(text(&o).contains("厚生労働省"));
    let o = run(&["admin", "org", "show", "mhlw"]);
    assert!(text(&o).contains("csirt@mhlw.example.jp"));

    let o = run(&[
        "admin",
        "user",
        "create",
        "--org",
        "mhlw",
        "--username",
        "mhlw.analyst",
        "--role",
        "analyst",
        "--generate-password",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("password (shown once): "));
    let o = run(&[
        "admin",
        "token",
        "create",
        "--user",
        "mhlw.analyst",
        "--name",
        "sensor",
        "--scope",
        "read,write",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let secret = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(secret.starts_with("mmr_"));
    // An analyst may not hold an admin token.
    let o = run(&[
        "admin",
        "token",
        "create",
        "--user",
        "mhlw.analyst",
        "--name",
        "x",
        "--scope",
        "admin",
    ]);
    assert_eq!(o.status.code(), Some(2));

    let o = run(&[
        "admin",
        "org",
        "create",
        "--slug",
        "mof",
        "--name-ja",
        "財務省",
        "--kind",
        "ministry",
    ]);
    assert!(o.status.success());
    let o = run(&[
        "admin",
        "group",
        "create",
        "--name",
        "省庁連絡会",
        "--owner",
        "mhlw",
        "--member",
        "mof",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&["admin", "group", "list"]);
    assert!(text(&o).contains("省庁連絡会") && text(&o).contains("mof"));
    let o = run(&["admin", "user", "disable", "mhlw.analyst"]);
    assert!(o.status.success());

    let o = run(&["audit", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("intact"));
    let o = run(&["audit", "list", "--limit", "3", "--json"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 3);
}

/// Alters one audit row behind the hub's back (as someone with database access could) and
/// checks that `mamori audit verify` names it.
fn audit_tamper(db_url: &str, db: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = db.to_vec();
        all.extend_from_slice(args);
        mamori(&all, dir.path())
    };
    for slug in ["aa", "bb", "cc"] {
        let o = run(&[
            "admin",
            "org",
            "create",
            "--slug",
            slug,
            "--name-en",
            slug,
            "--kind",
            "vendor",
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = mamori_store::Store::connect(db_url, &Default::default())
            .await
            .unwrap();
        match store.backend() {
            mamori_store::Backend::Sqlite => {
                store
                    .execute_raw("DROP TRIGGER audit_log_no_update")
                    .await
                    .unwrap();
            }
            mamori_store::Backend::Postgres => {
                store
                    .execute_raw("DROP TRIGGER audit_log_no_change ON audit_log")
                    .await
                    .unwrap();
            }
        }
        store
            .execute_raw("UPDATE audit_log SET object_id = 'forged' WHERE seq = 2")
            .await
            .unwrap();
        store.close().await;
    });
    let o = run(&["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("BROKEN at row 2"), "{}", text(&o));
}

#[test]
fn admin_and_audit_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    admin_and_audit(&["--database", &url]);
    let url2 = format!("sqlite://{}/t.db", dir.path().display());
    audit_tamper(&url2, &["--database", &url2]);
}

#[test]
fn admin_and_audit_on_postgres() {
    let pg = mamori_testkit::Postgres::shared();
    let url = pg.fresh_database_url();
    admin_and_audit(&["--database", &url]);
    let url2 = pg.fresh_database_url();
    audit_tamper(&url2, &["--database", &url2]);
}

#[test]
fn unreachable_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let port = mamori_testkit::free_port();
    let url = format!("postgres://mamori:hunter2@127.0.0.1:{port}/x");
    let start = Instant::now();
    let o = mamori(&["--database", &url, "migrate"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.contains("unreachable"), "{t}");
    assert!(!t.contains("hunter2"), "password leaked: {t}");
    assert!(start.elapsed() < Duration::from_secs(30));
}

#[test]
fn serve_first_run_demo_health_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let port = mamori_testkit::free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env_remove("MAMORI_CONFIG")
        .env("MAMORI_LOG__LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !seen.contains("every demo user") {
        assert!(Instant::now() < deadline, "serve did not start: {seen}");
        match lines.next() {
            Some(Ok(l)) => {
                seen.push_str(&l);
                seen.push('\n');
            }
            _ => panic!("serve exited: {seen}"),
        }
    }
    assert!(
        seen.contains("username: admin") && seen.contains("password: "),
        "{seen}"
    );
    assert!(
        dir.path().join("mamori-data/mamori.db").exists(),
        "data not under ./mamori-data"
    );
    assert!(http_get(port, "/healthz").contains("200 OK"));
    assert!(http_get(port, "/readyz").contains("\"ready\""));
    assert!(http_get(port, "/metrics").contains("mamori_http_requests_total"));
    assert!(http_get(port, "/api/openapi.json").contains("\"openapi\""));
    assert!(http_get(port, "/login").contains("<meta charset=\"utf-8\">"));

    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit after SIGTERM: {status}");
            break;
        }
        assert!(Instant::now() < deadline, "no graceful exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A second start finds the admin and the demo in place and creates neither again.
    let port = mamori_testkit::free_port();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env_remove("MAMORI_CONFIG")
        .env("MAMORI_LOG__LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    while !seen.contains("Demo data") {
        match lines.next() {
            Some(Ok(l)) => {
                seen.push_str(&l);
                seen.push('\n');
            }
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(!seen.contains("First run"), "{seen}");
    assert!(seen.contains("already loaded"), "{seen}");

    // The port in use: a clear error.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port();
    let o = mamori(
        &["serve", "--listen", &format!("127.0.0.1:{busy_port}")],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("cannot listen on"), "{}", text(&o));
}

#[test]
fn share_import_and_export_misp() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    let run = |args: &[&str]| {
        let mut all = vec!["--database", url.as_str()];
        all.extend_from_slice(args);
        mamori(&all, dir.path())
    };
    assert!(
        run(&[
            "admin",
            "org",
            "create",
            "--slug",
            "jpcert",
            "--name-en",
            "CSIRT",
            "--kind",
            "csirt"
        ])
        .status
        .success()
    );
    assert!(
        run(&[
            "admin",
            "user",
            "create",
            "--org",
            "jpcert",
            "--username",
            "cc.analyst",
            "--role",
            "analyst"
        ])
        .status
        .success()
    );
    std::fs::write(
        dir.path().join("event.json"),
        r#"{"Event": {"uuid": "11111111-1111-4111-8111-111111111111", "info": "ランサムウェアのC2", "Tag": [{"name": "tlp:amber"}],
            "Attribute": [{"type": "domain", "value": "c2.ransom.example", "to_ids": true}, {"type": "text", "value": "x"}]}}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.json"), "{\"Event\": [").unwrap();
    let o = run(&[
        "share",
        "import-misp",
        "--as",
        "cc.analyst",
        "event.json",
        "broken.json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains("1 indicators")
            && t.contains("skipped text")
            && t.contains("1 imported, 1 failed"),
        "{t}"
    );
    let o = run(&["share", "export-misp", "--as", "cc.analyst", "-o", "feed"]);
    assert!(o.status.success(), "{}", text(&o));
    let manifest = std::fs::read_to_string(dir.path().join("feed/manifest.json")).unwrap();
    assert!(
        manifest.contains("ランサムウェアのC2") && manifest.contains("tlp:amber"),
        "{manifest}"
    );
    let o = run(&["audit", "verify"]);
    assert!(o.status.success());
}

/// Two hubs federate their community collections both ways over TAXII without duplicates or
/// loops.
#[test]
fn two_hubs_federate_over_taxii_without_duplicates_or_loops() {
    const COMMUNITY: &str = "6d616d6f-7269-4c0a-8000-000000000002";
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let setup = |dir: &std::path::Path, org: &str, event_uuid: &str, domain: &str| -> String {
        let run = |args: &[&str]| mamori(args, dir);
        assert!(
            run(&[
                "admin",
                "org",
                "create",
                "--slug",
                org,
                "--name-en",
                org,
                "--kind",
                "csirt"
            ])
            .status
            .success()
        );
        let user = format!("{org}.analyst");
        assert!(
            run(&[
                "admin",
                "user",
                "create",
                "--org",
                org,
                "--username",
                &user,
                "--role",
                "analyst"
            ])
            .status
            .success()
        );
        let o = run(&[
            "admin",
            "token",
            "create",
            "--user",
            &user,
            "--name",
            "federation",
            "--scope",
            "read,write",
        ]);
        let token = String::from_utf8_lossy(&o.stdout).trim().to_owned();
        std::fs::write(
            dir.join("event.json"),
            format!(r#"{{"Event": {{"uuid": "{event_uuid}", "info": "{org} finding", "Tag": [{{"name": "tlp:green"}}],
                "Attribute": [{{"type": "domain", "value": "{domain}", "to_ids": true}}]}}}}"#),
        )
        .unwrap();
        let o = run(&["share", "import-misp", "--as", &user, "event.json"]);
        assert!(o.status.success(), "{}", text(&o));
        token
    };
    let token_a = setup(
        a.path(),
        "hub-a",
        "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
        "a.federation.example",
    );
    let token_b = setup(
        b.path(),
        "hub-b",
        "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb",
        "b.federation.example",
    );
    let (pa, pb) = (mamori_testkit::free_port(), mamori_testkit::free_port());
    let _sa = serve_at(a.path(), pa);
    let _sb = serve_at(b.path(), pb);

    let fed = |dir: &std::path::Path, args: &[&str], remote_port: u16, token: &str| {
        let remote = format!("http://127.0.0.1:{remote_port}/taxii2/api/");
        let mut all: Vec<&str> = args.to_vec();
        all.extend_from_slice(&[
            "--remote",
            &remote,
            "--collection",
            COMMUNITY,
            "--token-env",
            "FED_TOKEN",
        ]);
        let o = Command::new(BIN)
            .args(&all)
            .current_dir(dir)
            .env_remove("MAMORI_CONFIG")
            .env("FED_TOKEN", token)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        text(&o)
    };
    let community = |port: u16, token: &str| -> Vec<String> {
        let resp = http_get_auth(
            port,
            &format!("/taxii2/api/collections/{COMMUNITY}/objects/?limit=1000"),
            token,
        );
        let body = &resp[resp.find("\r\n\r\n").unwrap() + 4..];
        let body = if body.trim_start().starts_with('{') {
            body.to_owned()
        } else {
            // chunked encoding: take the JSON object inside
            body[body.find('{').unwrap()..=body.rfind('}').unwrap()].to_owned()
        };
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["objects"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        format!(
                            "{} {}",
                            o["id"].as_str().unwrap(),
                            o.get("modified").and_then(|m| m.as_str()).unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };

    // B pulls A, then pushes its view back to A: A gains B's finding, nothing twice.
    let t = fed(
        b.path(),
        &[
            "share",
            "pull",
            "--as",
            "hub-b.analyst",
            "--into",
            "community",
        ],
        pa,
        &token_a,
    );
    assert!(t.contains("pulled"), "{t}");
    let t = fed(
        b.path(),
        &[
            "share",
            "push",
            "--as",
            "hub-b.analyst",
            "--from",
            "community",
        ],
        pa,
        &token_a,
    );
    assert!(t.contains("pushed"), "{t}");
    // A pulls B: everything B has came from A or is B's own, already pushed: nothing new.
    let t = fed(
        a.path(),
        &[
            "share",
            "pull",
            "--as",
            "hub-a.analyst",
            "--into",
            "community",
        ],
        pb,
        &token_b,
    );
    assert!(t.contains(": 0 new"), "{t}");
    // Repeating the rounds changes nothing.
    let before_a = community(pa, &token_a);
    let before_b = community(pb, &token_b);
    fed(
        b.path(),
        &[
            "share",
            "pull",
            "--as",
            "hub-b.analyst",
            "--into",
            "community",
        ],
        pa,
        &token_a,
    );
    fed(
        b.path(),
        &[
            "share",
            "push",
            "--as",
            "hub-b.analyst",
            "--from",
            "community",
        ],
        pa,
        &token_a,
    );
    fed(
        a.path(),
        &[
            "share",
            "push",
            "--as",
            "hub-a.analyst",
            "--from",
            "community",
        ],
        pb,
        &token_b,
    );
    assert_eq!(community(pa, &token_a), before_a);
    assert_eq!(community(pb, &token_b), before_b);
    for (name, objs) in [("A", &before_a), ("B", &before_b)] {
        let unique: std::collections::BTreeSet<_> = objs.iter().collect();
        assert_eq!(
            unique.len(),
            objs.len(),
            "duplicates on hub {name}: {objs:?}"
        );
        let joined = objs.join(" ");
        assert!(joined.contains("indicator--"), "{name}: {joined}");
    }
    // Both findings are on both hubs.
    let pattern_of = |port: u16, token: &str| {
        http_get_auth(
            port,
            &format!("/taxii2/api/collections/{COMMUNITY}/objects/?match[type]=indicator"),
            token,
        )
    };
    for (port, token) in [(pa, &token_a), (pb, &token_b)] {
        let body = pattern_of(port, token);
        assert!(
            body.contains("a.federation.example") && body.contains("b.federation.example"),
            "{body}"
        );
    }
}

#[test]
fn notify_triage_finds_owners_of_feed_items() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    let run = |args: &[&str]| {
        let mut all = vec!["--database", url.as_str()];
        all.extend_from_slice(args);
        mamori(&all, dir.path())
    };
    assert!(
        run(&[
            "admin",
            "org",
            "create",
            "--slug",
            "aoba-net",
            "--name-en",
            "Aoba",
            "--kind",
            "isp",
            "--cidr",
            "203.0.113.0/24"
        ])
        .status
        .success()
    );
    assert!(
        run(&[
            "admin",
            "org",
            "create",
            "--slug",
            "sendai",
            "--name-en",
            "Sendai",
            "--kind",
            "municipality",
            "--cidr",
            "203.0.113.128/25",
            "--domain",
            "city.sendai.example.jp"
        ])
        .status
        .success()
    );
    std::fs::write(
        dir.path().join("csv.txt"),
        "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
\"1\",\"2026-11-25 10:00:00\",\"http://203.0.113.200/bins/x86\",\"online\",\"\",\"malware_download\",\"mirai\",\"x\",\"y\"\n\
\"2\",\"2026-11-25 10:00:00\",\"https://www.city.sendai.example.jp/hacked/a.php\",\"online\",\"\",\"malware_download\",\"\",\"x\",\"y\"\n\
\"3\",\"2026-11-25 10:00:00\",\"http://elsewhere.example/x\",\"online\",\"\",\"malware_download\",\"\",\"x\",\"y\"\n",
    )
    .unwrap();
    let o = run(&["notify", "triage", "csv.txt", "--jsonl"]);
    assert!(o.status.success(), "{}", text(&o));
    let owners: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["owner"]
                .as_str()
                .unwrap_or("-")
                .to_owned()
        })
        .collect();
    assert_eq!(
        owners,
        vec!["sendai", "sendai", "-"],
        "longest prefix, then domain, then unowned"
    );
    std::fs::write(
        dir.path().join("2026-11-25-scan_telnet-jp.csv"),
        "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"asn\"\n\"2026-11-25 03:00:00\",\"203.0.113.9\",\"tcp\",23,,64500\n",
    )
    .unwrap();
    let o = run(&["notify", "triage", "2026-11-25-scan_telnet-jp.csv"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("aoba-net") && text(&o).contains("1 owned, 0 unowned"),
        "{}",
        text(&o)
    );
    // PhishTank (guessed from the file name), a generic feed through its mapping, and the
    // ASN table for an address no member range claims.
    std::fs::write(
        dir.path().join("phishtank-online-valid.csv"),
        "phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n\
1,https://login.city.sendai.example.jp/verify,x,2026-11-25T01:02:03+00:00,yes,,yes,Other\n",
    )
    .unwrap();
    let o = run(&["notify", "triage", "phishtank-online-valid.csv", "--jsonl"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("\"owner\":\"sendai\""), "{}", text(&o));
    std::fs::write(
        dir.path().join("partner.toml"),
        "name = \"partner-c2\"\nformat = \"csv\"\nvalue = \"indicator\"\nasn = \"asn\"\ncategory = \"c2-server\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("partner.csv"),
        "indicator,asn\n198.51.100.7,AS64500\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("asn.csv"), "asn,org\nAS64500,aoba-net\n").unwrap();
    let o = run(&[
        "notify",
        "triage",
        "partner.csv",
        "--mapping",
        "partner.toml",
        "--jsonl",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("\"owner\":null"),
        "no table: unowned: {}",
        text(&o)
    );
    let o = run(&[
        "notify",
        "triage",
        "partner.csv",
        "--mapping",
        "partner.toml",
        "--asn-table",
        "asn.csv",
        "--jsonl",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("\"owner\":\"aoba-net\"") && text(&o).contains("asn AS64500"),
        "{}",
        text(&o)
    );
    std::fs::write(dir.path().join("bad-asn.csv"), "AS64500,nobody\n").unwrap();
    let o = run(&[
        "notify",
        "triage",
        "partner.csv",
        "--mapping",
        "partner.toml",
        "--asn-table",
        "bad-asn.csv",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("line 1: no organisation `nobody`"),
        "{}",
        text(&o)
    );
    // A feed whose format changed is refused whole.
    std::fs::write(
        dir.path().join("bad.txt"),
        "# id,when,link\n\"1\",\"x\",\"http://a.example/\"\n",
    )
    .unwrap();
    let o = run(&["notify", "triage", "bad.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("missing columns"), "{}", text(&o));
}

#[test]
fn parse_logs_to_ecs_json_lines_with_a_dead_letter_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fw.log"),
        "<165>1 2026-11-25T22:14:15Z fw01 sshd 42 - - ログイン失敗\nnot syslog at all\n<34>Nov  5 22:14:15 host su: failed\n",
    )
    .unwrap();
    let o = mamori(
        &[
            "parse",
            "--format",
            "syslog",
            "fw.log",
            "-o",
            "events.jsonl",
            "--rejects",
            "rejects.jsonl",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2 events, 1 rejected lines"),
        "{}",
        text(&o)
    );
    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(first["host.name"], "fw01");
    assert_eq!(first["message"], "ログイン失敗");
    let rejects = std::fs::read_to_string(dir.path().join("rejects.jsonl")).unwrap();
    assert!(
        rejects.contains("\"line\":2") && rejects.contains("not syslog"),
        "{rejects}"
    );
    let o = mamori(&["parse", "--format", "klingon", "fw.log"], dir.path());
    assert_eq!(o.status.code(), Some(2));
}

/// From a feed file to notices in a real SMTP server's mailbox (aiosmtpd on loopback), in
/// Japanese and English by each contact's language.
#[test]
fn notify_send_delivers_notices_in_each_contacts_language() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let py = root.join(".venv/bin/python");
    let ok = py.exists()
        && Command::new(&py)
            .args(["-c", "import aiosmtpd"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!(
            "SKIPPED: aiosmtpd is not in .venv (run .ci/setup); the SMTP delivery test did not run"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    let run = |args: &[&str]| {
        let mut all = vec!["--database", url.as_str()];
        all.extend_from_slice(args);
        mamori(&all, dir.path())
    };
    assert!(
        run(&[
            "admin",
            "org",
            "create",
            "--slug",
            "sendai",
            "--name-ja",
            "仙台市",
            "--name-en",
            "City of Sendai",
            "--kind",
            "municipality",
            "--cidr",
            "203.0.113.128/25",
            "--contact",
            "情報政策課 <csirt@city.sendai.example.jp>",
            "--contact-lang",
            "ja"
        ])
        .status
        .success()
    );
    assert!(
        run(&[
            "admin",
            "org",
            "create",
            "--slug",
            "aoba-net",
            "--name-ja",
            "あおばネット",
            "--name-en",
            "Aoba Net",
            "--kind",
            "isp",
            "--cidr",
            "203.0.113.0/25",
            "--contact",
            "NOC <noc@aoba-net.example.jp>",
            "--contact-lang",
            "en"
        ])
        .status
        .success()
    );
    std::fs::write(
        dir.path().join("csv.txt"),
        "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
\"1\",\"2026-11-25 10:00:00\",\"http://203.0.113.200/bins/x86\",\"online\",\"\",\"malware_download\",\"mirai\",\"x\",\"y\"\n\
\"2\",\"2026-11-25 10:00:00\",\"http://203.0.113.10/a.sh\",\"online\",\"\",\"malware_download\",\"\",\"x\",\"y\"\n\
\"3\",\"2026-11-25 10:00:00\",\"http://unowned.example/x\",\"online\",\"\",\"malware_download\",\"\",\"x\",\"y\"\n",
    )
    .unwrap();
    let maildir = dir.path().join("maildir");
    let port = mamori_testkit::free_port();
    let mut smtpd = Command::new(&py)
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = run(&[
        "notify",
        "send",
        "csv.txt",
        "--smtp",
        &format!("smtp://127.0.0.1:{port}"),
        "--from",
        "Mamori <notice@hub.example.jp>",
        "--hub-name",
        "守りハブ",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 notices, 1 unowned"), "{}", text(&o));
    // The stored lifecycle: the run is recorded, notices are issued with an acknowledgement
    // link, delivered, and not repeated by the next run.
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let feed_run = |extra: &[&str]| {
        let mut a = vec![
            "notify",
            "run",
            "csv.txt",
            "--complete",
            "--smtp",
            smtp_url.as_str(),
            "--from",
            "Mamori <notice@hub.example.jp>",
            "--public-url",
            "https://hub.example.go.jp",
            "--hub-name",
            "守りハブ",
        ];
        a.extend_from_slice(extra);
        run(&a)
    };
    let o = feed_run(&[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("3 items (2 owned, 1 unowned for review")
            && text(&o).contains("2 notices issued (0 escalated): 2 sent, 0 failed"),
        "{}",
        text(&o)
    );
    let o = feed_run(&[]);
    assert!(text(&o).contains("0 notices issued"), "{}", text(&o));
    // A run without --smtp leaves its notices queued; `deliver` sends them.
    std::fs::write(
        dir.path().join("csv2.txt"),
        "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\
\"9\",\"2026-11-26 10:00:00\",\"http://203.0.113.201/new\",\"online\",\"\",\"malware_download\",\"\",\"x\",\"y\"\n",
    )
    .unwrap();
    let o = run(&["notify", "run", "csv2.txt", "--hub-name", "守りハブ"]);
    assert!(
        text(&o).contains("1 notices issued (0 escalated): 0 sent, 0 failed, 1 queued"),
        "{}",
        text(&o)
    );
    let o = run(&[
        "notify",
        "deliver",
        "--smtp",
        smtp_url.as_str(),
        "--from",
        "Mamori <notice@hub.example.jp>",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("1 sent, 0 failed"), "{}", text(&o));
    let o = run(&["notify", "notices", "--jsonl"]);
    assert!(o.status.success(), "{}", text(&o));
    let listed: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|n| n["status"] == "sent"));
    assert!(listed.iter().any(|n| {
        n["body"]
            .as_str()
            .unwrap()
            .contains("https://hub.example.go.jp/notices/ack/mma_")
    }));
    let _ = smtpd.kill();
    let _ = smtpd.wait();
    let mut mails = Vec::new();
    for sub in ["new", "cur"] {
        for e in std::fs::read_dir(maildir.join(sub))
            .into_iter()
            .flatten()
            .flatten()
        {
            mails.push(mamori_mail::analyze(&std::fs::read(e.path()).unwrap()));
        }
    }
    assert_eq!(
        mails.len(),
        5,
        "two notices delivered by `send`, two by `run`, one by `deliver`"
    );
    let ja = mails
        .iter()
        .find(|m| {
            m.headers
                .subject
                .as_deref()
                .is_some_and(|s| s.contains("仙台市"))
        })
        .expect("Japanese notice");
    assert!(
        ja.headers
            .subject
            .as_deref()
            .unwrap()
            .contains("【守りハブ】")
    );
    assert!(
        ja.bodies.iter().any(|b| b.text.contains("ご担当者様")),
        "Japanese body"
    );
    assert!(ja.attachments.iter().any(|a| {
        a.name
            .as_deref()
            .is_some_and(|n| n.starts_with("mamori-notice-sendai"))
    }));
    let en = mails
        .iter()
        .find(|m| {
            m.headers
                .subject
                .as_deref()
                .is_some_and(|s| s.contains("Aoba Net"))
        })
        .expect("English notice");
    assert!(
        en.bodies.iter().any(|b| b.text.contains("Dear Aoba Net")),
        "English body"
    );
}

/// `mamori notify collect`: a feed fetched over HTTP from a local server (conditional GET, so an
/// unchanged feed is one 304), and a drop directory whose files end in done/ or, unreadable,
/// in rejected/ with the reason.
#[test]
fn notify_collect_fetches_conditionally_and_drains_a_drop_directory() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    let run = |args: &[&str]| {
        let mut all = vec!["--database", url.as_str()];
        all.extend_from_slice(args);
        mamori(&all, dir.path())
    };
    assert!(
        run(&[
            "admin",
            "org",
            "create",
            "--slug",
            "aoba-net",
            "--name-en",
            "Aoba",
            "--kind",
            "isp",
            "--cidr",
            "203.0.113.0/24",
        ])
        .status
        .success()
    );
    let www = dir.path().join("www");
    std::fs::create_dir_all(&www).unwrap();
    let header = "# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n";
    let row = |i: u32, u: &str| {
        format!(
            "\"{i}\",\"2026-11-25 10:00:00\",\"{u}\",\"online\",\"\",\"malware_download\",\"\",\"x\",\"y\"\n"
        )
    };
    let feed = www.join("csv.txt");
    std::fs::write(
        &feed,
        format!(
            "{header}{}{}",
            row(1, "http://203.0.113.7/x"),
            row(2, "http://elsewhere.example/y")
        ),
    )
    .unwrap();
    let set_mtime = |secs: u64| {
        std::fs::File::options()
            .write(true)
            .open(&feed)
            .unwrap()
            .set_modified(std::time::UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    };
    set_mtime(1_795_600_000);
    let port = mamori_testkit::free_port();
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
            "--directory",
        ])
        .arg(&www)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let feed_url = format!("http://127.0.0.1:{port}/csv.txt");
    let collect = || {
        run(&[
            "notify",
            "collect",
            "--name",
            "urlhaus",
            "--url",
            &feed_url,
            "--complete",
        ])
    };
    let first = collect();
    let second = collect();
    // The feed changes: one item gone, so with --complete it is remediated.
    std::fs::write(
        &feed,
        format!("{header}{}", row(2, "http://elsewhere.example/y")),
    )
    .unwrap();
    set_mtime(1_795_700_000);
    let third = collect();
    let _ = server.kill();
    let _ = server.wait();
    assert!(first.status.success(), "{}", text(&first));
    assert!(
        text(&first).contains("urlhaus: 2 items (1 owned, 1 unowned for review"),
        "{}",
        text(&first)
    );
    assert!(text(&second).contains("not modified"), "{}", text(&second));
    assert!(
        text(&third).contains("1 seen again, 0 reopened, 1 remediated"),
        "{}",
        text(&third)
    );
    let http = run(&[
        "notify",
        "collect",
        "--name",
        "x",
        "--url",
        "ftp://127.0.0.1/feed",
    ]);
    assert!(!http.status.success());

    // A drop directory: one good file, one that is not the feed it claims to be.
    let drop = dir.path().join("drop");
    std::fs::create_dir_all(&drop).unwrap();
    std::fs::write(
        drop.join("phishtank-online-valid.csv"),
        "phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n\
1,http://203.0.113.9/login,x,2026-11-25T01:02:03+00:00,yes,,yes,Other\n",
    )
    .unwrap();
    std::fs::write(drop.join("junk.csv"), "no,header,here\n1,2,3\n").unwrap();
    let o = run(&["notify", "collect", "--name", "drop", "--dir", "drop"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "a rejected file fails the run: {}",
        text(&o)
    );
    assert!(drop.join("done/phishtank-online-valid.csv").exists());
    assert!(drop.join("rejected/junk.csv").exists());
    let why = std::fs::read_to_string(drop.join("rejected/junk.csv.error")).unwrap();
    assert!(
        why.contains("missing columns") || why.contains("no header"),
        "{why}"
    );
    assert!(text(&o).contains("1 items (1 owned"), "{}", text(&o));
}
