//! The UDP syslog listener: one datagram is one message (a trailing line break is removed).

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::{Limits, SyslogLine, Transport};

/// Receives datagrams until `stop` turns true or the receiver is gone.
pub async fn serve(
    socket: UdpSocket,
    limits: Limits,
    tx: mpsc::Sender<SyslogLine>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; limits.max_message.saturating_add(2).min(65_536)];
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("syslog udp: {e}");
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let mut msg = &buf[..n];
        while let [rest @ .., b'\n' | b'\r'] = msg {
            msg = rest;
        }
        if msg.is_empty() {
            continue;
        }
        let text =
            (msg.len() <= limits.max_message).then(|| String::from_utf8_lossy(msg).into_owned());
        let line = SyslogLine {
            peer,
            transport: Transport::Udp,
            conn: 0,
            text,
        };
        if tx.send(line).await.is_err() {
            return;
        }
    }
}
