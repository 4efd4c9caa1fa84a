//! What sources hand to the pipeline: a [`Record`] (a raw line or an already structured
//! event, where it came from, and the [`Cursor`] to checkpoint once it is handed on).

use std::net::SocketAddr;
use std::sync::Arc;

use mamori_parse::Format;

/// A position in a source that can be resumed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// A tailed file: its identity and the offset after the last line read (and that line's
    /// number, 1-based, when counted from the file's start).
    File {
        path: Arc<str>,
        dev: u64,
        ino: u64,
        offset: u64,
        line: u64,
    },
    /// An EVTX file: the last record id read.
    Evtx { path: Arc<str>, record: u64 },
}

impl Cursor {
    /// The checkpoint key (one position per key).
    pub fn key(&self) -> (u8, &Arc<str>) {
        match self {
            Cursor::File { path, .. } => (0, path),
            Cursor::Evtx { path, .. } => (1, path),
        }
    }
}

/// The content of a record.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A line to parse in `format`.
    Line { text: String, format: Format },
    /// A structured event (EVTX).
    Event(mamori_parse::Event),
    /// Nothing to read, only a position to remember (a file first seen and started at its
    /// end, so a restart does not skip what is written in between).
    Position,
    /// Something the source could not use (e.g. a message over the size limit).
    Rejected { reason: String, text: String },
}

/// Where a record came from.
#[derive(Debug, Clone)]
pub enum Origin {
    File {
        path: Arc<str>,
        offset: u64,
        line: u64,
    },
    Peer {
        addr: SocketAddr,
        stream: Arc<str>,
    },
}

impl Origin {
    /// `file:line` (or `file@offset` when the line number is unknown), or the peer.
    pub fn describe(&self) -> String {
        match self {
            Origin::File { path, line, offset } if *line > 0 => {
                let _ = offset;
                format!("{path}:{line}")
            }
            Origin::File { path, offset, .. } => format!("{path}@{offset}"),
            Origin::Peer { stream, .. } => stream.to_string(),
        }
    }

    /// The key of the parser state for this stream (Zeek TSV headers are per stream).
    pub fn stream(&self) -> &str {
        match self {
            Origin::File { path, .. } => path,
            Origin::Peer { stream, .. } => stream,
        }
    }
}

/// One item from a source.
#[derive(Debug, Clone)]
pub struct Record {
    pub payload: Payload,
    pub origin: Origin,
    /// Set by resumable sources (files, EVTX); syslog has none.
    pub cursor: Option<Cursor>,
}

/// What sources send down the channel.
#[derive(Debug)]
pub enum Msg {
    /// Records in source order (sent in chunks to keep channel wake-ups rare).
    Records(Vec<Record>),
    /// A source finished (only in `--once` mode).
    Done,
}
