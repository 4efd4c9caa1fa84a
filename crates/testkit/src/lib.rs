//! Real servers for tests, started on loopback from local binaries: a throwaway PostgreSQL per
//! test process (each test then creates its own database in it). No mocks and no shared server.
//! A watchdog stops the server when the test process exits, even when it exits abnormally.
//! [`nats`]: JetStream nodes and clusters.

pub mod nats;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// Where the PostgreSQL server binaries are (`pg_config --bindir`, then Debian's layout).
pub fn postgres_bindir() -> Option<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let candidates = from_pg_config.into_iter().chain(
        std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path().join("bin")),
    );
    candidates
        .into_iter()
        .find(|d| d.join("initdb").exists() && d.join("postgres").exists())
}

/// A PostgreSQL server running for this test process.
pub struct Postgres {
    port: u16,
    _dir: tempfile::TempDir,
}

static SERVER: OnceLock<Postgres> = OnceLock::new();
static DB_COUNTER: AtomicU32 = AtomicU32::new(0);

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a command as the `postgres` user when we are root (initdb refuses to run as root).
fn as_pg_user(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// The server for this process, started on first use. Panics with a clear message when the
    /// PostgreSQL server binaries are not installed (`.ci/run` installs them).
    pub fn shared() -> &'static Postgres {
        SERVER.get_or_init(|| {
            Postgres::start().unwrap_or_else(|e| {
                panic!("cannot start a throwaway PostgreSQL: {e} (install postgresql, see .ci/run)")
            })
        })
    }

    fn start() -> Result<Postgres, String> {
        let bindir = postgres_bindir().ok_or("no PostgreSQL server binaries found")?;
        let root = is_root();
        let dir = tempfile::Builder::new()
            .prefix("mamori-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .map_err(|e| e.to_string())?
                .success();
            if !ok {
                return Err("chown to postgres failed (is there a postgres user?)".into());
            }
        }
        let out = as_pg_user(root, &bindir.join("initdb"))
            .args([
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "-D",
            ])
            .arg(&data)
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let port = free_port();
        // The watchdog shell starts postgres and stops it (fast shutdown) once this process is
        // gone, then removes the data directory (the static server is never dropped, so its
        // TempDir would otherwise stay behind).
        let script = format!(
            "'{pg}' -D '{data}' -p {port} -h 127.0.0.1 -k '{sock}' -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
             > '{log}' 2>&1 & PG=$!; \
             while [ -d /proc/{parent} ] && kill -0 $PG 2>/dev/null; do sleep 0.5; done; \
             kill -INT $PG 2>/dev/null; wait $PG; rm -rf '{dir}'",
            pg = bindir.join("postgres").display(),
            data = data.display(),
            sock = dir.path().display(),
            log = dir.path().join("postgres.log").display(),
            parent = std::process::id(),
            dir = dir.path().display(),
        );
        let mut cmd = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("start postgres: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                let log =
                    std::fs::read_to_string(dir.path().join("postgres.log")).unwrap_or_default();
                return Err(format!(
                    "postgres did not listen on {port} within 30 s: {log}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // Accepting TCP is not accepting queries; give the startup a moment to finish.
        let pg_isready = bindir.join("pg_isready");
        while !Command::new(&pg_isready)
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(true)
        {
            if Instant::now() > deadline {
                return Err("postgres never became ready".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Postgres { port, _dir: dir })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of a new, empty database on the shared server.
    pub fn fresh_database_url(&self) -> String {
        let name = format!(
            "t_{}_{}",
            std::process::id(),
            DB_COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let psql = postgres_bindir()
            .map(|b| b.join("psql"))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("psql"));
        let out = Command::new(psql)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-c",
            ])
            .arg(format!("CREATE DATABASE {name}"))
            .output()
            .unwrap_or_else(|e| panic!("psql: {e}"));
        assert!(
            out.status.success(),
            "CREATE DATABASE failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

/// A fresh SQLite database URL in a new temporary directory (kept alive by the returned guard).
pub fn fresh_sqlite_url() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let url = format!("sqlite://{}/mamori.db", dir.path().display());
    (dir, url)
}
