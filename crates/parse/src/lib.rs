//! Pure, synchronous log parsers (syslog, CEF, LEEF, web access logs, Squid, BIND/Unbound
//! query logs) into events with ECS field names (`@timestamp`, `host.name`,
//! `log.syslog.*`, `event.*`, `source.ip`, ...). One module per format; each returns a typed
//! [`ParseError`] naming the byte offset and what was expected, never panics, and keeps fields it
//! does not map under `raw.*` instead of dropping them. Lines longer than [`MAX_LINE`] are
//! refused.

pub mod access_log;
pub mod cef;
pub mod dns_query;
mod error;
pub mod eve;
mod format;
pub mod leef;
pub mod squid;
pub mod syslog;
pub mod zeek;

pub use error::ParseError;
pub use format::{Format, LineParser, UnknownFormat, sniff};

/// An event: ECS-named fields, dotted keys, string or number values.
pub type Event = serde_json::Map<String, serde_json::Value>;

/// Longest line accepted (RFC 5424 receivers must accept 480 octets and should accept 2048;
/// real senders go far beyond).
pub const MAX_LINE: usize = 64 * 1024;
