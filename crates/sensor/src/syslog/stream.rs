//! The TCP and TLS syslog listener: RFC 6587 framing detected per connection
//! ([`super::framing`]), a connection limit, an idle timeout, oversized messages reported
//! as `text: None`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_rustls::TlsAcceptor;

use super::framing::{Frame, Framer};
use super::{Limits, SyslogLine, Transport};

static CONNECTIONS: AtomicU64 = AtomicU64::new(1);

/// Accepts connections until `stop` turns true; with `tls`, each is a TLS session.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    tx: mpsc::Sender<SyslogLine>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let transport = if tls.is_some() {
        Transport::Tls
    } else {
        Transport::Tcp
    };
    loop {
        let (sock, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("syslog {}: accept: {e}", transport.name());
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                "syslog {}: refused {peer}: {} connections already open",
                transport.name(),
                limits.max_connections
            );
            drop(sock);
            continue;
        };
        let conn = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        let tx = tx.clone();
        let tls = tls.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let line = |text| SyslogLine {
                peer,
                transport,
                conn,
                text,
            };
            match tls {
                Some(acc) => {
                    let handshake =
                        tokio::time::timeout(limits.idle_timeout, acc.accept(sock)).await;
                    match handshake {
                        Ok(Ok(s)) => read_frames(s, limits, &tx, stop, line).await,
                        Ok(Err(e)) => tracing::warn!("syslog tls {peer}: handshake: {e}"),
                        Err(_) => tracing::warn!("syslog tls {peer}: handshake timed out"),
                    }
                }
                None => read_frames(sock, limits, &tx, stop, line).await,
            }
        });
    }
}

async fn read_frames<S: AsyncRead + Unpin>(
    mut s: S,
    limits: Limits,
    tx: &mpsc::Sender<SyslogLine>,
    mut stop: watch::Receiver<bool>,
    line: impl Fn(Option<String>) -> SyslogLine,
) {
    let mut framer = Framer::new(limits.max_message);
    let mut buf = vec![0u8; 16 * 1024];
    let mut frames = Vec::new();
    loop {
        let n = tokio::select! {
            r = tokio::time::timeout(limits.idle_timeout, s.read(&mut buf)) => match r {
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    tracing::debug!("syslog {}: {e}", line(None).peer);
                    0
                }
                Err(_) => {
                    tracing::info!("syslog {}: idle for {:?}, closing", line(None).peer, limits.idle_timeout);
                    0
                }
            },
            _ = stop.changed() => 0,
        };
        let mut end = n == 0;
        if end {
            framer.finish(&mut frames);
        } else if let Err(e) = framer.push(&buf[..n], &mut frames) {
            tracing::warn!("syslog {}: {e}; closing", line(None).peer);
            end = true;
        }
        for f in frames.drain(..) {
            let text = match f {
                Frame::Message(m) => Some(String::from_utf8_lossy(&m).into_owned()),
                Frame::TooLong(_) => None,
            };
            if tx.send(line(text)).await.is_err() {
                return;
            }
        }
        if end {
            return;
        }
    }
}
