//! Feed parsers. Each checks the feed's header before reading any item, so a feed whose format
//! changed is refused whole rather than half imported; a bad line is counted with its line number
//! and the rest is read.

mod generic;
mod phishing;
mod shadowserver;
mod stix;
mod time;
mod urlhaus;

use mamori_model::ValueKind;

use serde::Serialize;

pub use generic::{FeedMapping, GenericFormat, MappedKind, parse_generic};
pub use phishing::{parse_openphish, parse_phishtank};
pub use shadowserver::{
    ShadowserverReport, parse_shadowserver, report_types, shadowserver_report_for_file,
};
pub use stix::parse_stix_objects;
pub use urlhaus::parse_urlhaus;

use crate::Observation;

/// Largest feed file read at once.
pub const MAX_FEED_BYTES: usize = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    #[error("{feed}: feed larger than {limit} bytes")]
    TooLarge { feed: String, limit: usize },
    #[error(
        "{feed}: header is missing columns {missing:?} (found {found:?}); the feed format changed or this is not that feed"
    )]
    Header {
        feed: String,
        missing: Vec<String>,
        found: Vec<String>,
    },
    #[error("{feed}: no header line")]
    NoHeader { feed: String },
    #[error("unknown Shadowserver report type {0:?}")]
    UnknownReport(String),
    #[error("feed mapping, line {line}: {message}")]
    Mapping { line: usize, message: String },
    #[error("{feed}: line {line}: {message}")]
    Csv {
        feed: String,
        line: usize,
        message: String,
    },
}

/// A problem with one line; the line is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineProblem {
    pub line: usize,
    pub message: String,
}

/// What a feed run produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FeedReport {
    pub observations: Vec<Observation>,
    pub problems: Vec<LineProblem>,
    pub lines: usize,
}

/// The trimmed header row of a CSV feed whose first row names its columns; refused when it is
/// missing or lacks a `required` column.
pub(crate) fn csv_header<R: std::io::Read>(
    feed: &str,
    rdr: &mut csv::Reader<R>,
    required: &[&str],
) -> Result<Vec<String>, FeedError> {
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| FeedError::Csv {
            feed: feed.to_owned(),
            line: 1,
            message: e.to_string(),
        })?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(FeedError::NoHeader {
            feed: feed.to_owned(),
        });
    }
    require_columns(feed, &header, required)?;
    Ok(header)
}

/// Refuses a feed whose header lacks a required column.
pub(crate) fn require_columns(
    feed: &str,
    header: &[String],
    required: &[&str],
) -> Result<(), FeedError> {
    let missing: Vec<String> = required
        .iter()
        .filter(|r| !header.iter().any(|h| h == *r))
        .map(|r| (*r).to_owned())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(FeedError::Header {
            feed: feed.to_owned(),
            missing,
            found: header.to_vec(),
        })
    }
}

/// A JSON scalar as text (objects and arrays are not evidence columns).
pub(crate) fn scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A URL observation: the URL normalised (refanged, canonical), its host split out as an
/// address or a host name.
pub(crate) fn url_observation(
    raw: &str,
    source: &str,
    category: String,
    seen_at: Option<i64>,
    evidence: crate::evidence::Evidence,
    line: usize,
) -> Result<Observation, String> {
    let value =
        mamori_share::normalise::normalise(ValueKind::Url, raw).map_err(|e| e.to_string())?;
    let host = value
        .split_once("://")
        .and_then(|(_, r)| r.split(['/', '?', '#']).next())
        .map(|h| match h.rsplit_once(':') {
            // host:port, but not a bare IPv6 literal
            Some((h, p)) if !h.ends_with(':') && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => h,
        })
        .map(|h| h.trim_matches(['[', ']']).to_owned());
    let ip = host.as_deref().and_then(|h| h.parse().ok());
    Ok(Observation {
        kind: ValueKind::Url,
        value,
        seen_at,
        source: source.to_owned(),
        category,
        ip,
        port: None,
        asn: None,
        hostname: host.filter(|_| ip.is_none()),
        evidence,
        line,
    })
}
