//! The seam for content scanners (YARA-X and friends come later, with the hub server): a
//! [`Scanner`] sees every attachment and archive member and returns rule matches, which the
//! caller merges into its own reporting. Nothing implements it in this crate yet.

/// A match reported by a scanner.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScanMatch {
    pub scanner: String,
    pub rule: String,
    pub file_sha256: String,
}

/// A content scanner run over attachment bytes.
pub trait Scanner: Send + Sync {
    fn name(&self) -> &str;
    fn scan(&self, file_name: Option<&str>, sha256: &str, data: &[u8]) -> Vec<ScanMatch>;
}
