//! Shared helpers of the CLI integration tests: the `mamori` binary run with a clean
//! environment (no `MAMORI_*` from the developer's shell), its output, a hub served on
//! loopback until its guard drops, and plain HTTP/1.1 requests to it.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_mamori");

/// Runs `mamori ARGS` in `dir` with `env` set and the developer's `MAMORI_*` settings removed.
pub fn mamori_env(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
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

pub fn mamori(args: &[&str], dir: &Path) -> Output {
    mamori_env(args, dir, &[])
}

/// Standard output and standard error together.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Standard output of a run that must succeed (both streams shown when it did not).
pub fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Both streams of a run that must succeed.
pub fn ok_text(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o));
    text(&o)
}

/// A child process killed and reaped when dropped.
pub struct Served(pub Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `mamori GLOBAL serve --listen 127.0.0.1:PORT SERVE_ARGS` in `dir`, once the port answers.
pub fn serve_full(
    dir: &Path,
    port: u16,
    global: &[&str],
    serve_args: &[&str],
    env: &[(&str, &str)],
) -> Served {
    let mut c = Command::new(BIN);
    c.args(global)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(serve_args)
        .current_dir(dir)
        .env_remove("MAMORI_CONFIG")
        .env("MAMORI_LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let child = Served(c.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

pub fn serve_at(dir: &Path, port: u16) -> Served {
    serve_full(dir, port, &[], &[], &[])
}

pub fn serve_with(dir: &Path, port: u16, serve_args: &[&str]) -> Served {
    serve_full(dir, port, &[], serve_args, &[])
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A raw HTTP/1.1 GET (`Connection: close`); `token` adds a bearer header and asks for TAXII.
fn get(port: u16, path: &str, token: Option<&str>) -> String {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let auth = token.map_or_else(String::new, |t| {
        format!("Authorization: Bearer {t}\r\nAccept: application/taxii+json;version=2.1\r\n")
    });
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

pub fn http_get(port: u16, path: &str) -> String {
    get(port, path, None)
}

pub fn http_get_auth(port: u16, path: &str, token: &str) -> String {
    get(port, path, Some(token))
}

/// The token that `mamori admin token create` / `sensor add` printed.
pub fn token_of(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("token (shown once): "))
        .expect("token line")
        .trim()
        .to_owned()
}
