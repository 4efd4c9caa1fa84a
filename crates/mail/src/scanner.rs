//! The seam for content scanners: a [`Scanner`] sees the raw message, every body part, every
//! attachment and every archive member (those of encrypted archives opened with a found
//! password included) and returns rule matches. This crate only defines the seam and drives
//! it; the YARA-X adapter (`mamori-yara`) implements it, so the analysis itself does not
//! depend on the (heavy) rule engine. The command line and the hub plug a scanner in through
//! [`crate::Options::scanner`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What part of a message was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// The raw message as received (headers and encoded body).
    Message,
    /// A text or HTML body part, transfer-decoded.
    Body,
    /// An attachment, transfer-decoded.
    Attachment,
    /// A member extracted from an archive attachment.
    ArchiveMember,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Message => "message",
            TargetKind::Body => "body",
            TargetKind::Attachment => "attachment",
            TargetKind::ArchiveMember => "archive_member",
        }
    }
}

/// The part handed to a scanner.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub kind: TargetKind,
    /// File name of an attachment or member (`archive.zip/inner.exe` for members).
    pub name: Option<&'a str>,
    pub sha256: &'a str,
}

/// A match reported by a scanner, with where in the message it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanMatch {
    /// The scanner that reported it, e.g. `yara`.
    pub scanner: String,
    /// The rule identifier.
    pub rule: String,
    /// The rule's namespace (for YARA, the rule set it came from).
    pub namespace: Option<String>,
    pub tags: Vec<String>,
    /// Rule metadata as text (`description`, `author`, `score`...).
    pub meta: BTreeMap<String, String>,
    pub target: TargetKind,
    /// File name of the part, when it has one.
    pub name: Option<String>,
    /// SHA-256 of the bytes scanned.
    pub sha256: String,
}

impl ScanMatch {
    /// `namespace:rule`, or the rule alone without a namespace: how the rule is named in
    /// verdicts and campaign features.
    pub fn qualified_rule(&self) -> String {
        match &self.namespace {
            Some(ns) if !ns.is_empty() && ns != "default" => format!("{ns}:{}", self.rule),
            _ => self.rule.clone(),
        }
    }
}

/// Why one scan produced no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScanFailure {
    #[error("scan timed out after {0} s")]
    Timeout(u64),
    #[error("scan failed: {0}")]
    Failed(String),
}

/// A content scanner. Implementations must not panic on any input and must bound their own
/// time per call; the analysis bounds the number of calls per message.
pub trait Scanner: Send + Sync {
    /// Short name recorded in each match (`yara`).
    fn name(&self) -> &str;
    /// Scans one part.
    fn scan(&self, target: &Target<'_>, data: &[u8]) -> Result<Vec<ScanMatch>, ScanFailure>;
}

/// A shared scanner as carried in [`crate::Options`].
#[derive(Clone)]
pub struct SharedScanner(pub Arc<dyn Scanner>);

impl fmt::Debug for SharedScanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scanner({})", self.0.name())
    }
}

impl<S: Scanner + 'static> From<Arc<S>> for SharedScanner {
    fn from(s: Arc<S>) -> Self {
        SharedScanner(s)
    }
}
