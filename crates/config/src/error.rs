//! Configuration errors: each names where the bad value came from, and all of
//! them are reported together.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value (or problem) came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorSource {
    /// The configuration file. `line` and `column` are 1-based; they are `None`
    /// for problems with the file as a whole (missing, too large, unreadable).
    File {
        /// The file's path as given.
        path: PathBuf,
        /// 1-based line.
        line: Option<usize>,
        /// 1-based column, in characters.
        column: Option<usize>,
    },
    /// An environment variable.
    Env {
        /// The variable's name, e.g. `MAMORI_LISTEN`.
        var: String,
    },
    /// A command-line flag.
    Cli {
        /// The flag, e.g. `--listen`.
        flag: String,
    },
}

/// One configuration problem.
///
/// Messages never contain secret values.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// Where the value came from.
    pub source: ErrorSource,
    /// Dotted key path, e.g. `http.body_limit_bytes`; empty when the problem
    /// is not about one key (a syntax error, an unreadable file).
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(
        source: ErrorSource,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConfigError {
            source,
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            ErrorSource::File { path, line, .. } => {
                write!(f, "{}", path.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                if !self.key.is_empty() {
                    write!(f, ": {}", self.key)?;
                }
            }
            ErrorSource::Env { var } => write!(f, "environment {var}")?,
            ErrorSource::Cli { flag } => write!(f, "command-line flag {flag}")?,
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found while loading, in order: file (by line), environment,
/// command line. Never empty when returned by the loader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The individual errors.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }

    /// How many errors there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One error per line.
impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
