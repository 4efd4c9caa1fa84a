//! The binary as a user drives it for the rest of issue 4: `mamori share import-misp-feed` from
//! a directory and from a hub's `/misp/feed/` over HTTP (round trip of our own export), with
//! re-runs importing nothing twice, on SQLite and PostgreSQL; and scheduled `[[share.feeds]]`
//! between two `mamori serve` processes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{free_port, http_get_auth, mamori, mamori_env, ok_text as ok, serve_full, text};

use std::path::Path;
use std::time::{Duration, Instant};

/// An organisation with an analyst; returns the analyst's name and a read/write token.
fn member(db: &[&str], dir: &Path, org: &str) -> (String, String) {
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = db.to_vec();
        all.extend_from_slice(args);
        mamori(&all, dir)
    };
    ok(run(&[
        "admin",
        "org",
        "create",
        "--slug",
        org,
        "--name-en",
        org,
        "--kind",
        "csirt",
    ]));
    let user = format!("{org}.analyst");
    ok(run(&[
        "admin",
        "user",
        "create",
        "--org",
        org,
        "--username",
        &user,
        "--role",
        "analyst",
    ]));
    let o = run(&[
        "admin",
        "token",
        "create",
        "--user",
        &user,
        "--name",
        "feed",
        "--scope",
        "read,write",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let token = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    (user, token)
}

fn event(uuid: &str, info: &str, tlp: &str, domain: &str) -> String {
    format!(
        r#"{{"Event": {{"uuid": "{uuid}", "info": "{info}", "timestamp": "1764000000", "Tag": [{{"name": "tlp:{tlp}"}}],
            "Attribute": [{{"type": "domain", "value": "{domain}", "to_ids": true}}]}}}}"#
    )
}

fn misp_feed_round_trip(target_db: &[&str], target_db2: &[&str]) {
    // Source hub (SQLite in its own directory): two events, exported as a feed.
    let src = tempfile::tempdir().unwrap();
    let (src_user, src_token) = member(&[], src.path(), "source");
    std::fs::write(
        src.path().join("a.json"),
        event(
            "aaaaaaaa-0000-4000-8000-00000000000a",
            "フィードA",
            "green",
            "a.feed.example",
        ),
    )
    .unwrap();
    std::fs::write(
        src.path().join("b.json"),
        event(
            "bbbbbbbb-0000-4000-8000-00000000000b",
            "Feed B",
            "amber",
            "b.feed.example",
        ),
    )
    .unwrap();
    ok(mamori(
        &[
            "share",
            "import-misp",
            "--as",
            &src_user,
            "a.json",
            "b.json",
        ],
        src.path(),
    ));
    ok(mamori(
        &["share", "export-misp", "--as", &src_user, "-o", "feed"],
        src.path(),
    ));
    let feed_dir = src.path().join("feed");

    // Import the directory into the target; a second run imports nothing.
    let dst = tempfile::tempdir().unwrap();
    let (dst_user, _) = member(target_db, dst.path(), "target");
    let import = |db: &[&str], user: &str, source: &str, env: &[(&str, &str)]| {
        let mut all: Vec<&str> = db.to_vec();
        all.extend_from_slice(&["share", "import-misp-feed", "--as", user]);
        if !env.is_empty() {
            all.extend_from_slice(&["--token-env", "FEED_TOKEN"]);
        }
        all.push(source);
        mamori_env(&all, dst.path(), env)
    };
    let t = ok(import(
        target_db,
        &dst_user,
        feed_dir.to_str().unwrap(),
        &[],
    ));
    assert!(
        t.contains("2 imported, 0 already imported, 0 failed"),
        "{t}"
    );
    let t = ok(import(
        target_db,
        &dst_user,
        feed_dir.to_str().unwrap(),
        &[],
    ));
    assert!(t.contains("0 imported, 2 already imported"), "{t}");

    // An edited event (new timestamp in the manifest) comes in again, alone.
    let manifest_path = feed_dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let first = manifest.as_object().unwrap().keys().next().unwrap().clone();
    manifest[&first]["timestamp"] = serde_json::json!("1999999999");
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let t = ok(import(
        target_db,
        &dst_user,
        feed_dir.to_str().unwrap(),
        &[],
    ));
    assert!(t.contains("1 imported, 1 already imported"), "{t}");

    // Over HTTP from the source hub's /misp/feed/, into a second target database.
    let port = free_port();
    let _hub = serve_full(src.path(), port, &[], &[], &[]);
    let (dst2_user, _) = member(target_db2, dst.path(), "target2");
    let url = format!("http://127.0.0.1:{port}/misp/feed/");
    let env = [("FEED_TOKEN", src_token.as_str())];
    let t = ok(import(target_db2, &dst2_user, &url, &env));
    assert!(
        t.contains("2 imported, 0 already imported, 0 failed"),
        "{t}"
    );
    let t = ok(import(target_db2, &dst2_user, &url, &env));
    assert!(t.contains("0 imported, 2 already imported"), "{t}");
    // The imported values are there, with the feed's TLP.
    let mut all: Vec<&str> = target_db2.to_vec();
    all.extend_from_slice(&["audit", "verify"]);
    ok(mamori(&all, dst.path()));

    // Bad sources are refused with a reason, not a panic.
    let o = import(target_db2, &dst2_user, "ftp://127.0.0.1/feed/", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("only http:// and https://"),
        "{}",
        text(&o)
    );
    let o = import(
        target_db2,
        &dst2_user,
        &format!("http://127.0.0.1:{port}/misp/feed/"),
        &[],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("401"), "{}", text(&o));
}

#[test]
fn misp_feed_import_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db", dir.path().display());
    let url2 = format!("sqlite://{}/t2.db", dir.path().display());
    misp_feed_round_trip(&["--database", &url], &["--database", &url2]);
}

#[test]
fn misp_feed_import_on_postgres() {
    let pg = mamori_testkit::Postgres::shared();
    let (url, url2) = (pg.fresh_database_url(), pg.fresh_database_url());
    misp_feed_round_trip(&["--database", &url], &["--database", &url2]);
}

/// The JSON body of a raw HTTP/1.1 response (plain or one-chunk chunked).
fn body_json(resp: &str) -> serde_json::Value {
    let body = &resp[resp.find("\r\n\r\n").unwrap() + 4..];
    let start = body.find(['{', '[']).unwrap();
    let end = body.rfind(['}', ']']).unwrap();
    serde_json::from_str(&body[start..=end]).unwrap_or_else(|e| panic!("{e}: {resp}"))
}

/// Hub B pulls hub A's community collection on a schedule: A's report appears on B without
/// a manual pull, runs repeat without duplicating it, and the status API shows the runs.
#[test]
fn scheduled_feed_pulls_between_two_serve_processes() {
    const COMMUNITY: &str = "6d616d6f-7269-4c0a-8000-000000000002";
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (a_user, a_token) = member(&[], a.path(), "hub-a");
    std::fs::write(
        a.path().join("event.json"),
        event(
            "cccccccc-0000-4000-8000-00000000000c",
            "Scheduled",
            "green",
            "sched.feed.example",
        ),
    )
    .unwrap();
    ok(mamori(
        &["share", "import-misp", "--as", &a_user, "event.json"],
        a.path(),
    ));
    let (b_user, b_token) = member(&[], b.path(), "hub-b");
    let (pa, pb) = (free_port(), free_port());
    std::fs::write(
        b.path().join("mamori.toml"),
        format!(
            r#"[[share.feeds]]
name = "from-a"
url = "http://127.0.0.1:{pa}/taxii2/api/"
collection = "{COMMUNITY}"
token = "env:FEED_TOKEN"
direction = "pull"
interval_secs = 1
as = "{b_user}"
"#
        ),
    )
    .unwrap();
    ok(mamori_env(
        &["config", "check", "mamori.toml"],
        b.path(),
        &[("FEED_TOKEN", "x")],
    ));
    let _sa = serve_full(a.path(), pa, &[], &[], &[]);
    let _sb = serve_full(
        b.path(),
        pb,
        &["--config", "mamori.toml"],
        &[],
        &[("FEED_TOKEN", &a_token)],
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let s = body_json(&http_get_auth(pb, "/api/v1/share/feeds", &b_token));
        let runs = s[0]["runs"].as_i64().unwrap_or(0);
        if runs >= 3 {
            break s;
        }
        assert!(Instant::now() < deadline, "feed did not run: {s}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status[0]["name"], "from-a");
    assert!(status[0]["last_error"].is_null(), "{status}");
    let pulled = status[0]["pulled"].as_i64().unwrap();
    assert!(pulled > 0, "{status}");

    let objects = body_json(&http_get_auth(
        pb,
        &format!("/taxii2/api/collections/{COMMUNITY}/objects/?limit=1000"),
        &b_token,
    ));
    let list = objects["objects"].as_array().unwrap();
    assert!(
        list.iter().any(|o| o["pattern"]
            .as_str()
            .is_some_and(|p| p.contains("sched.feed.example"))),
        "{objects}"
    );
    // Repeated runs store nothing twice: each (id, version) once, and `pulled` stayed put.
    let mut seen = std::collections::HashSet::new();
    for o in list {
        assert!(
            seen.insert((o["id"].to_string(), o["modified"].to_string())),
            "duplicate {o}"
        );
    }
    std::thread::sleep(Duration::from_millis(2500));
    let later = body_json(&http_get_auth(pb, "/api/v1/share/feeds", &b_token));
    assert!(later[0]["runs"].as_i64().unwrap() > status[0]["runs"].as_i64().unwrap());
    assert_eq!(later[0]["pulled"].as_i64().unwrap(), pulled, "{later}");
}
