//! A test double of the hub's ingestion endpoint: a real HTTP server on 127.0.0.1 that
//! records batches and can be told to fail (500), throttle (429), refuse the token (401) or
//! answer 413 above a number of lines; plus helpers to build sensor configurations.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use mamori_sensor::{Secret, SensorConfig};
use serde_json::{Value, json};

pub const TOKEN: &str = "mms_test_token";

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Fail,
    Throttle,
}

#[derive(Debug, Default)]
pub struct Seen {
    /// Stored batches in arrival order: (id, lines).
    pub batches: Vec<(String, Vec<Value>)>,
    /// Every request's batch id, including refused ones.
    pub attempts: Vec<String>,
    pub duplicates: usize,
}

#[derive(Debug)]
struct Inner {
    answer: Answer,
    /// Count lines without parsing or keeping them (for measurements).
    count_only: bool,
    counted: usize,
    max_lines: usize,
    too_many_status: StatusCode,
    seen: Seen,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    stop: Arc<Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
}

impl Receiver {
    /// Starts on a free port.
    pub async fn start() -> Receiver {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts on `addr` (to come back on the port of a receiver that went away).
    pub async fn start_on(addr: SocketAddr) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = Arc::new(Mutex::new(Inner {
            answer: Answer::Accept,
            count_only: false,
            counted: 0,
            max_lines: usize::MAX,
            too_many_status: StatusCode::PAYLOAD_TOO_LARGE,
            seen: Seen::default(),
        }));
        let app = Router::new()
            .route("/api/v1/events", post(ingest))
            .with_state(inner.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        Receiver {
            addr,
            inner,
            stop: Arc::new(Mutex::new(Some(tx))),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn answer(&self, a: Answer) {
        self.inner.lock().unwrap().answer = a;
    }

    pub fn count_only(&self) {
        self.inner.lock().unwrap().count_only = true;
    }

    pub fn counted(&self) -> usize {
        self.inner.lock().unwrap().counted
    }

    pub fn max_lines(&self, n: usize) {
        self.inner.lock().unwrap().max_lines = n;
    }

    /// Above `n` lines, answer `status` (413, or 422 as the hub does past its burst).
    pub fn max_lines_status(&self, n: usize, status: u16) {
        let mut g = self.inner.lock().unwrap();
        g.max_lines = n;
        g.too_many_status = StatusCode::from_u16(status).unwrap();
    }

    /// Goes away (the port is closed).
    pub async fn stop(&self) {
        if let Some(tx) = self.stop.lock().unwrap().take() {
            let _ = tx.send(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    pub fn batch_ids(&self) -> Vec<String> {
        self.inner
            .lock()
            .unwrap()
            .seen
            .batches
            .iter()
            .map(|b| b.0.clone())
            .collect()
    }

    pub fn attempts(&self) -> Vec<String> {
        self.inner.lock().unwrap().seen.attempts.clone()
    }

    pub fn duplicates(&self) -> usize {
        self.inner.lock().unwrap().seen.duplicates
    }

    /// Every stored line, in order.
    pub fn lines(&self) -> Vec<Value> {
        let g = self.inner.lock().unwrap();
        g.seen.batches.iter().flat_map(|b| b.1.clone()).collect()
    }

    /// Waits until at least `n` lines are stored (at most 10 s).
    pub async fn wait_lines(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let l = self.lines();
            if l.len() >= n {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.lines()
    }
}

async fn ingest(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let id = headers
        .get("x-mamori-batch")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut g = inner.lock().unwrap();
    g.seen.attempts.push(id.clone());
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {TOKEN}")) {
        return (StatusCode::UNAUTHORIZED, "bad token").into_response();
    }
    match g.answer {
        Answer::Fail => return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
        Answer::Throttle => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                "slow down",
            )
                .into_response();
        }
        Answer::Accept => {}
    }
    assert_eq!(
        headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("zstd")
    );
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/x-ndjson")
    );
    let raw = zstd::stream::decode_all(body.as_ref()).unwrap();
    if g.count_only {
        let n = raw.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
        g.counted += n;
        return (
            StatusCode::ACCEPTED,
            axum::Json(json!({"batch": id, "accepted": n})),
        )
            .into_response();
    }
    let lines: Vec<Value> = raw
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    if lines.len() > g.max_lines {
        return (g.too_many_status, "too big").into_response();
    }
    let n = lines.len();
    if g.seen.batches.iter().any(|b| b.0 == id) {
        g.seen.duplicates += 1;
        return (
            StatusCode::OK,
            axum::Json(json!({"batch": id, "accepted": n, "rejected": 0, "duplicate": true})),
        )
            .into_response();
    }
    g.seen.batches.push((id.clone(), lines));
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"batch": id, "accepted": n, "rejected": 0, "duplicate": false})),
    )
        .into_response()
}

/// A configuration for `--once` runs against `hub`, state in `state`.
pub fn config(hub: &str, state: &Path) -> SensorConfig {
    let mut c = SensorConfig::new(hub, Secret(TOKEN.into()));
    c.name = "test-sensor".into();
    c.state = state.to_owned();
    c.once = true;
    c.from_start = true;
    c.batch_max_events = 10;
    c.batch_linger = Duration::from_millis(100);
    c.poll_interval = Duration::from_millis(50);
    c.retry_min = Duration::from_millis(20);
    c.retry_max = Duration::from_millis(200);
    c
}

/// Runs once to completion.
pub async fn run_once(cfg: SensorConfig) -> mamori_sensor::Summary {
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let (_reload_tx, reload) = tokio::sync::mpsc::channel(1);
    mamori_sensor::run(cfg, mamori_sensor::Control { stop, reload })
        .await
        .unwrap()
}

/// Writes `lines` appended to `path`.
pub fn append(path: &Path, lines: impl IntoIterator<Item = String>) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

/// A JSON log line with a number.
pub fn json_line(n: usize) -> String {
    format!(r#"{{"message":"line {n}","n":{n}}}"#)
}

/// The `n` fields of the events received, in order.
pub fn numbers(lines: &[Value]) -> Vec<u64> {
    lines.iter().filter_map(|l| l["n"].as_u64()).collect()
}
