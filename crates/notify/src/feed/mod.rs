//! Feed parsers. Each checks the feed's header before reading any item, so a feed whose format
//! changed is refused whole rather than half imported; a bad line is counted with its line number
//! and the rest is read.

mod shadowserver;
mod time;
mod urlhaus;

use serde::Serialize;

pub use shadowserver::{
    ShadowserverReport, parse_shadowserver, report_types, shadowserver_report_for_file,
};
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
