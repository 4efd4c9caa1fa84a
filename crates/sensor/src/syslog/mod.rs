//! Syslog listeners, reusable by the hub: UDP ([`udp::serve`]), TCP and TLS
//! ([`stream::serve`], with [`tls::acceptor`] for a certificate and key in PEM files). They
//! produce [`SyslogLine`]s (message text plus the peer address) into a channel, under
//! [`Limits`] (maximum message size, connections, idle time), until told to stop.

pub mod framing;
pub mod stream;
pub mod tls;
pub mod udp;

use std::net::SocketAddr;
use std::time::Duration;

/// How a message arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

/// One received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogLine {
    pub peer: SocketAddr,
    pub transport: Transport,
    /// Connection number (0 for UDP), so stateful parsing can be kept per stream.
    pub conn: u64,
    /// The message (lossy UTF-8), or `None` when it was longer than the limit.
    pub text: Option<String>,
}

/// Listener limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest message in bytes.
    pub max_message: usize,
    /// Concurrent TCP/TLS connections per listener; further ones are closed at once.
    pub max_connections: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: mamori_parse::MAX_LINE,
            max_connections: 256,
            idle_timeout: Duration::from_secs(300),
        }
    }
}
