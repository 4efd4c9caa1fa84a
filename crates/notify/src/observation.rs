//! One normalised item from a feed.

use std::net::IpAddr;

use mamori_model::ValueKind;
use serde::{Deserialize, Serialize};

use crate::evidence::Evidence;

/// Something a feed saw: a value (an address, a domain or a URL) with its context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub kind: ValueKind,
    /// Normalised (see `mamori_share::normalise`).
    pub value: String,
    /// When the feed saw it, ms since the epoch.
    pub seen_at: Option<i64>,
    /// The feed, e.g. `urlhaus` or `shadowserver:scan_telnet`.
    pub source: String,
    /// What it is: `malware-distribution`, `vulnerable-system`, `infected-system`...
    pub category: String,
    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
    pub asn: Option<u32>,
    pub hostname: Option<String>,
    /// Every column of the original line, in the feed's order.
    pub evidence: Evidence,
    /// Line in the feed file (1-based).
    pub line: usize,
}
