//! The one error type of the bus: each variant names what failed.

use std::path::PathBuf;

/// What went wrong in a bus operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The bus URL is neither `local:DIR`, a directory path, nor `nats://…`.
    #[error("invalid bus URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    /// A subject, group or message id the bus cannot carry.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    /// The payload is larger than the configured maximum.
    #[error("payload of {size} bytes exceeds the maximum of {max} bytes")]
    PayloadTooLarge { size: usize, max: usize },
    /// A file operation of the local bus failed.
    #[error("local bus: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another process (or another `Bus` in this one) holds the local bus directory.
    #[error("local bus directory {0} is in use by another process or Bus")]
    Locked(PathBuf),
    /// A stored record failed its checksum when read back (on-disk corruption).
    #[error("local bus: corrupt record {seq} in {path}")]
    Corrupt { path: PathBuf, seq: u64 },
    /// The local bus has shut down (its writer thread is gone).
    #[error("local bus is closed")]
    Closed,
    /// Connecting to the NATS servers failed.
    #[error("nats connect {url}: {message}")]
    NatsConnect { url: String, message: String },
    /// A JetStream stream or consumer could not be created, updated or looked up.
    #[error("jetstream {what} {name}: {message}")]
    NatsSetup {
        what: &'static str,
        name: String,
        message: String,
    },
    /// Publishing to JetStream failed or its PubAck did not arrive.
    #[error("jetstream publish to {subject}: {message}")]
    NatsPublish { subject: String, message: String },
    /// Fetching messages from a JetStream consumer failed.
    #[error("jetstream fetch from {consumer}: {message}")]
    NatsFetch { consumer: String, message: String },
    /// Acknowledging (or negatively acknowledging) a JetStream message failed.
    #[error("jetstream {what}: {message}")]
    NatsAck { what: &'static str, message: String },
}

impl BusError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BusError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
