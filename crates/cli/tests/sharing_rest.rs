//! The binary as a user drives it for the rest of issue 4: `mamori share import-misp-feed` from
//! a directory and from a hub's `/misp/feed/` over HTTP (round trip of our own export), with
//! re-runs importing nothing twice, on SQLite and PostgreSQL; and scheduled `[[share.feeds]]`
//! between two `mamori serve` processes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mamori");

fn mamori_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .current_dir(dir)
        .env_remove("MAMORI_CONFIG")
        .env_remove("MAMORI_DATABASE_URL")
        .env_remove("MAMORI_DATA_DIR")
        .env_remove("MAMORI_LISTEN");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run mamori")
}

fn mamori(args: &[&str], dir: &Path) -> Output {
    mamori_env(args, dir, &[])
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_at(dir: &Path, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Served {
    let mut c = Command::new(BIN);
    c.args(extra)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env_remove("MAMORI_CONFIG")
        .env("MAMORI_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Served(child)
}

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
    let _hub = serve_at(src.path(), port, &[], &[]);
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
