//! The sensor's error type: every variant names the file, key, peer or URL it is about.

use std::path::PathBuf;

/// What can stop the sensor (per-line and per-batch problems are counted, not raised).
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("invalid setting {key}: {message}")]
    Setting { key: &'static str, message: String },
    #[error("TLS: {path}: {message}")]
    Tls { path: PathBuf, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("rules: {0}")]
    Rules(String),
    #[error("HTTP client for {url}: {message}")]
    Client { url: String, message: String },
    #[error("NATS {url}: {message}")]
    Nats { url: String, message: String },
    #[error(transparent)]
    Bundle(#[from] crate::bundle::BundleError),
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
}

impl SensorError {
    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SensorError::Io {
            path: path.into(),
            source,
        }
    }
}
