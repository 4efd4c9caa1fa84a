//! Scanning bytes with a compiled [`RuleSet`]: [`Hit`]s with the rule's identifier, namespace,
//! tags and metadata, a per-scan timeout, a bound on the bytes scanned, and the
//! [`mamori_mail::Scanner`] implementation that mail analysis calls for every part.
//!
//! A yara-x `Scanner` borrows its rules and is not `Sync`, so each scan makes its own (a
//! fresh WebAssembly instance, a few tens of microseconds); the [`RuleSet`] is shared.

use std::collections::BTreeMap;
use std::sync::Arc;

use mamori_mail::scanner::{ScanFailure, ScanMatch, Scanner, Target};

use crate::rules::RuleSet;

/// One rule that matched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hit {
    pub rule: String,
    pub namespace: String,
    pub tags: Vec<String>,
    /// Metadata values as text (strings as they are, numbers and booleans formatted).
    pub meta: BTreeMap<String, String>,
}

/// Why a scan gave no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    #[error("scan timed out after {0} s")]
    Timeout(u64),
    #[error("scan failed: {0}")]
    Failed(String),
}

/// Longest metadata value kept (longer ones are cut at a character boundary).
const MAX_META_CHARS: usize = 500;
/// Matches recorded per pattern: the scan only needs to know whether a rule matched.
const MAX_MATCHES_PER_PATTERN: usize = 100;

impl RuleSet {
    /// Scans `data` (at most [`crate::Limits::max_scan_bytes`] of it) within the timeout.
    pub fn scan(&self, data: &[u8]) -> Result<Vec<Hit>, ScanError> {
        let data = &data[..data.len().min(self.limits.max_scan_bytes)];
        let mut scanner = yara_x::Scanner::new(&self.rules);
        scanner
            .set_timeout(self.limits.scan_timeout)
            .max_matches_per_pattern(MAX_MATCHES_PER_PATTERN);
        let results = scanner.scan(data).map_err(|e| match e {
            yara_x::ScanError::Timeout => ScanError::Timeout(self.limits.scan_timeout.as_secs()),
            other => ScanError::Failed(other.to_string()),
        })?;
        Ok(results
            .matching_rules()
            .map(|r| Hit {
                rule: r.identifier().to_owned(),
                namespace: r.namespace().to_owned(),
                tags: r.tags().map(|t| t.identifier().to_owned()).collect(),
                meta: r
                    .metadata()
                    .map(|(k, v)| (k.to_owned(), meta_text(&v)))
                    .collect(),
            })
            .collect())
    }
}

fn meta_text(v: &yara_x::MetaValue<'_>) -> String {
    let s = match v {
        yara_x::MetaValue::Integer(i) => i.to_string(),
        yara_x::MetaValue::Float(f) => f.to_string(),
        yara_x::MetaValue::Bool(b) => b.to_string(),
        yara_x::MetaValue::String(s) => (*s).to_owned(),
        yara_x::MetaValue::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
    };
    if s.chars().count() > MAX_META_CHARS {
        s.chars().take(MAX_META_CHARS).collect()
    } else {
        s
    }
}

/// The mail-analysis scanner: a shared [`RuleSet`] behind [`mamori_mail::Scanner`].
#[derive(Debug, Clone)]
pub struct YaraScanner {
    rules: Arc<RuleSet>,
}

impl YaraScanner {
    pub fn new(rules: Arc<RuleSet>) -> Self {
        YaraScanner { rules }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }
}

impl Scanner for YaraScanner {
    fn name(&self) -> &str {
        "yara"
    }

    fn scan(&self, target: &Target<'_>, data: &[u8]) -> Result<Vec<ScanMatch>, ScanFailure> {
        let hits = self.rules.scan(data).map_err(|e| match e {
            ScanError::Timeout(s) => ScanFailure::Timeout(s),
            ScanError::Failed(m) => ScanFailure::Failed(m),
        })?;
        Ok(hits
            .into_iter()
            .map(|h| ScanMatch {
                scanner: "yara".into(),
                rule: h.rule,
                namespace: Some(h.namespace),
                tags: h.tags,
                meta: h.meta,
                target: target.kind,
                name: target.name.map(str::to_owned),
                sha256: target.sha256.to_owned(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::time::{Duration, Instant};

    use super::*;
    use crate::rules::{Limits, Source};

    const RULES: &str = r#"
rule Dropper : pe loader {
    meta:
        author = "CSIRT"
        score = 80
        active = true
    strings:
        $stub = "This program cannot be run in DOS mode"
    condition:
        uint16(0) == 0x5A4D and $stub
}
"#;

    #[test]
    fn hits_carry_rule_namespace_tags_and_metadata() {
        let set = RuleSet::compile(&[Source::new("loaders", RULES)]).unwrap();
        let hits = set
            .scan(b"MZ\x90\x00This program cannot be run in DOS mode.\r\n")
            .unwrap();
        assert_eq!(hits.len(), 1);
        let h = &hits[0];
        assert_eq!(
            (h.rule.as_str(), h.namespace.as_str()),
            ("Dropper", "loaders")
        );
        assert_eq!(h.tags, ["pe", "loader"]);
        assert_eq!(h.meta["author"], "CSIRT");
        assert_eq!(h.meta["score"], "80");
        assert_eq!(h.meta["active"], "true");
        assert!(
            set.scan(b"This program cannot be run in DOS mode")
                .unwrap()
                .is_empty()
        );
        assert!(set.scan(b"").unwrap().is_empty());
    }

    #[test]
    fn bytes_beyond_the_scan_limit_are_not_scanned() {
        let limits = Limits {
            max_scan_bytes: 16,
            ..Limits::default()
        };
        let set = RuleSet::compile_with(&[Source::new("l", RULES)], limits).unwrap();
        assert!(
            set.scan(b"MZ\x90\x00This program cannot be run in DOS mode.")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_slow_rule_times_out() {
        let slow = "rule Slow { condition: for all i in (0..filesize) : ( for all j in (0..filesize) : ( uint8(i) != 0xFF or uint8(j) != 0xFE ) ) }";
        let limits = Limits {
            scan_timeout: Duration::from_secs(1),
            ..Limits::default()
        };
        let set = RuleSet::compile_with(&[Source::new("slow", slow)], limits).unwrap();
        let started = Instant::now();
        assert_eq!(set.scan(&vec![0u8; 200_000]), Err(ScanError::Timeout(1)));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        let scanner = YaraScanner::new(Arc::new(set));
        let target = Target {
            kind: mamori_mail::scanner::TargetKind::Attachment,
            name: Some("big.bin"),
            sha256: "00",
        };
        assert_eq!(
            scanner.scan(&target, &vec![0u8; 200_000]),
            Err(ScanFailure::Timeout(1))
        );
    }
}
