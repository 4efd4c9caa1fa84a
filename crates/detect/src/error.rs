//! Error types of the detection engine.

use std::fmt;

/// A problem with one rule (or rule file), located by file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// File path.
    pub file: String,
    /// 1-based line (0 = unknown).
    pub line: u32,
    /// Rule title, when known.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
    /// Warnings do not reject a rule.
    pub warning: bool,
}

impl RuleError {
    /// An error that rejects the rule.
    pub fn new(file: String, line: u32, rule: Option<String>, message: String) -> Self {
        RuleError {
            file,
            line,
            rule,
            message,
            warning: false,
        }
    }

    /// A warning.
    pub fn warning(file: String, line: u32, rule: Option<String>, message: String) -> Self {
        RuleError {
            warning: true,
            ..Self::new(file, line, rule, message)
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.warning { "warning" } else { "error" };
        write!(f, "{}:{}: {kind}: ", self.file, self.line)?;
        if let Some(r) = &self.rule {
            write!(f, "[{r}] ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

/// Errors reading inputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The EVTX file could not be opened.
    #[error("{path}: not a readable EVTX file: {message}")]
    Evtx {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
    /// JSON could not be parsed.
    #[error("{path}: invalid JSON at byte {offset}: {message}")]
    Json {
        /// File.
        path: String,
        /// Byte offset.
        offset: usize,
        /// Cause.
        message: String,
    },
}

/// Errors of the engine's configuration files (mappings, IOC lists).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// I/O failure.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Invalid content.
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
}
