//! Syslog into the hub: UDP, TCP and TLS listeners (the sensor's, `mamori_sensor::syslog`)
//! feed one batcher that parses each message (format sniffed per line), records the sending
//! peer, and hands batches of up to [`BATCH_LINES`] lines or [`LINGER`] of waiting to the same
//! path as HTTP ingestion, as the hub organisation's events with alerts routed by address and
//! domain. Oversized messages become dead letters.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mamori_parse::{Format, LineParser};
use mamori_pipeline::{BatchHeader, RawBatch, Routing};
use mamori_sensor::syslog::{Limits, SyslogLine, stream, tls, udp};
use tokio::sync::{mpsc, watch};

use crate::AppState;

/// Most lines in one batch.
pub const BATCH_LINES: usize = 2_000;
/// Longest a line waits for its batch.
pub const LINGER: Duration = Duration::from_millis(500);

/// Where the hub listens for syslog.
#[derive(Debug, Clone, Default)]
pub struct SyslogListeners {
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
    /// Address, certificate PEM, key PEM.
    pub tls: Option<(SocketAddr, PathBuf, PathBuf)>,
}

impl SyslogListeners {
    pub fn is_empty(&self) -> bool {
        self.udp.is_none() && self.tcp.is_none() && self.tls.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SyslogError {
    #[error("syslog: cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("syslog TLS: {0}")]
    Tls(String),
    #[error("syslog: the hub organisation does not exist yet")]
    NoHubOrg,
}

/// Binds the listeners and starts them with the batcher; returns the bound addresses (UDP,
/// TCP, TLS) and the tasks, which end when `stop` turns true.
pub async fn start(
    state: AppState,
    listeners: SyslogListeners,
    stop: watch::Receiver<bool>,
) -> Result<(Vec<SocketAddr>, Vec<tokio::task::JoinHandle<()>>), SyslogError> {
    let hub = state
        .store
        .get_org_by_slug(crate::bootstrap::HUB_ORG)
        .await
        .map_err(|_| SyslogError::NoHubOrg)?
        .id;
    let (tx, rx) = mpsc::channel::<SyslogLine>(16_384);
    let limits = Limits::default();
    let mut bound = Vec::new();
    let mut tasks = Vec::new();
    if let Some(addr) = listeners.udp {
        let sock = tokio::net::UdpSocket::bind(addr)
            .await
            .map_err(|source| SyslogError::Bind { addr, source })?;
        bound.push(sock.local_addr().unwrap_or(addr));
        tasks.push(tokio::spawn(udp::serve(
            sock,
            limits,
            tx.clone(),
            stop.clone(),
        )));
    }
    if let Some(addr) = listeners.tcp {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SyslogError::Bind { addr, source })?;
        bound.push(l.local_addr().unwrap_or(addr));
        tasks.push(tokio::spawn(stream::serve(
            l,
            None,
            limits,
            tx.clone(),
            stop.clone(),
        )));
    }
    if let Some((addr, cert, key)) = &listeners.tls {
        let acceptor = tls::acceptor(cert, key).map_err(|e| SyslogError::Tls(e.to_string()))?;
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SyslogError::Bind {
                addr: *addr,
                source,
            })?;
        bound.push(l.local_addr().unwrap_or(*addr));
        tasks.push(tokio::spawn(stream::serve(
            l,
            Some(acceptor),
            limits,
            tx.clone(),
            stop.clone(),
        )));
    }
    drop(tx);
    tasks.push(tokio::spawn(batcher(state, hub, rx, stop)));
    Ok((bound, tasks))
}

/// One line as the pipeline takes it: the parsed event with its peer, or a dead letter.
fn to_json(parser: &mut LineParser, line: &SyslogLine) -> Option<String> {
    let peer = line.peer.to_string();
    let Some(text) = &line.text else {
        return Some(
            serde_json::json!({"mamori.dead_letter": {"reason": "message longer than the limit", "source": format!("syslog {} {peer}", line.transport.name()), "text": ""}})
                .to_string(),
        );
    };
    match parser.line(text) {
        Ok(Some(mut ev)) => {
            ev.insert("log.source.address".into(), peer.into());
            ev.insert(
                "network.transport".into(),
                line.transport.name().to_owned().into(),
            );
            Some(serde_json::Value::Object(ev).to_string())
        }
        Ok(None) => None,
        Err(e) => Some(
            serde_json::json!({"mamori.dead_letter": {"reason": e.to_string(), "source": format!("syslog {} {peer}", line.transport.name()), "text": text}})
                .to_string(),
        ),
    }
}

async fn batcher(
    state: AppState,
    hub: mamori_model::OrgId,
    mut rx: mpsc::Receiver<SyslogLine>,
    mut stop: watch::Receiver<bool>,
) {
    let mut parser = LineParser::new(Format::Auto);
    let mut body = String::new();
    let mut lines = 0usize;
    loop {
        let deadline = tokio::time::sleep(LINGER);
        tokio::pin!(deadline);
        let mut closed = false;
        while lines < BATCH_LINES {
            tokio::select! {
                l = rx.recv() => match l {
                    Some(l) => {
                        if let Some(j) = to_json(&mut parser, &l) {
                            body.push_str(&j);
                            body.push('\n');
                            lines += 1;
                        }
                    }
                    None => { closed = true; break; }
                },
                () = &mut deadline => break,
                _ = stop.changed() => { closed = true; break; }
            }
        }
        if lines > 0 {
            let batch = RawBatch {
                header: BatchHeader {
                    source: "syslog:hub".into(),
                    batch_id: uuid::Uuid::now_v7().to_string(),
                    org_id: hub,
                    routing: Routing::Address,
                    format: Format::Json.name().into(),
                    received_at: mamori_store::now_millis(),
                },
                body: std::mem::take(&mut body).into_bytes(),
            };
            lines = 0;
            let r = match &state.bus {
                Some(bus) => mamori_pipeline::worker::enqueue(bus, &batch)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                None => state
                    .pipeline
                    .process(batch)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            };
            if let Err(e) = r {
                tracing::error!(error = %e, "syslog: a batch could not be stored");
            }
        }
        if closed {
            return;
        }
    }
}
