//! The errors of this crate: compiling rule sources (with the source name, line, column and
//! yara-x's code and message), the size limits on sources, and reading rule files.

use std::path::PathBuf;

/// Why rules could not be loaded or compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum YaraError {
    /// yara-x refused the source: `name:line:column: E009 unknown identifier ...`.
    #[error("{source_name}:{line}:{column}: {code} {message}")]
    Compile {
        /// The rule set or file the error is in.
        source_name: String,
        /// 1-based line of the error in that source.
        line: usize,
        /// 1-based column (in characters).
        column: usize,
        /// yara-x's error code, e.g. `E001`.
        code: String,
        /// yara-x's title and label, e.g. `unknown identifier `foo`: this identifier has not
        /// been declared`.
        message: String,
    },
    /// A source is over [`crate::Limits::max_source_bytes`].
    #[error("{source_name}: {size} bytes of rules exceeds the limit of {max}")]
    SourceTooLarge {
        source_name: String,
        size: usize,
        max: usize,
    },
    /// The sources together are over [`crate::Limits::max_total_bytes`] or
    /// [`crate::Limits::max_sources`].
    #[error("{what} exceeds the limit of {max}")]
    TooMany { what: String, max: usize },
    /// Two sources share a name (each name is a YARA namespace).
    #[error("{0}: two rule sources have this name")]
    DuplicateName(String),
    /// A source name that cannot serve as a namespace.
    #[error("{0:?}: a rule source name is 1-100 printable characters")]
    BadName(String),
    #[error("cannot read {path}: {message}")]
    Io { path: PathBuf, message: String },
    /// A directory without `.yar` or `.yara` files.
    #[error("{0}: no .yar or .yara files")]
    NoRules(PathBuf),
}

impl YaraError {
    /// A stable code for callers that map errors (API problem types, exit codes).
    pub fn code(&self) -> &'static str {
        match self {
            YaraError::Compile { .. } => "yara.compile",
            YaraError::SourceTooLarge { .. } | YaraError::TooMany { .. } => "yara.limit",
            YaraError::DuplicateName(_) | YaraError::BadName(_) => "yara.name",
            YaraError::Io { .. } | YaraError::NoRules(_) => "yara.io",
        }
    }
}
