//! A batch as it enters the pipeline: who sent it, for which organisation, in what format,
//! and its lines. It has a compact wire form so the bus can carry it between processes.

use mamori_model::OrgId;
use mamori_parse::Format;
use serde::{Deserialize, Serialize};

/// How alerts from a batch find their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Routing {
    /// A member's sensor: its organisation owns everything it sends.
    Sensor,
    /// The hub's own collectors (syslog, NATS): the owner is found by address or domain.
    Address,
}

/// The header of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchHeader {
    /// `sensor:<id>`, `syslog:<listener>`, `user:<id>`.
    pub source: String,
    /// Unique per source; the same on every retry.
    pub batch_id: String,
    pub org_id: OrgId,
    pub routing: Routing,
    /// Format of the lines (`json` for NDJSON from sensors).
    pub format: String,
    /// When the hub received it (ms).
    pub received_at: i64,
}

/// A batch: header plus the (decompressed) lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBatch {
    pub header: BatchHeader,
    pub body: Vec<u8>,
}

/// A malformed wire batch.
#[derive(Debug, thiserror::Error)]
#[error("malformed batch on the bus: {0}")]
pub struct WireError(String);

impl RawBatch {
    pub fn format(&self) -> Format {
        self.header.format.parse().unwrap_or(Format::Auto)
    }

    /// Wire form: the header as one JSON line, then the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec(&self.header).unwrap_or_default();
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<RawBatch, WireError> {
        let nl = bytes
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(|| WireError("no header line".into()))?;
        let header = serde_json::from_slice(&bytes[..nl]).map_err(|e| WireError(e.to_string()))?;
        Ok(RawBatch {
            header,
            body: bytes[nl + 1..].to_vec(),
        })
    }
}
