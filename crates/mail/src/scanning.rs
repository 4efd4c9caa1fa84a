//! Drives the optional [`Scanner`] over the parts of one message within the message's scan
//! budget ([`Limits::max_scans`] calls, [`Limits::max_scan_secs`] of wall time). Matches are
//! kept once per (rule, part); a failed or timed-out scan and an exhausted budget become
//! [`Finding`]s, so the analysis carries on and says what was not scanned.

use std::fmt;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::limits::Limits;
use crate::report::Finding;
use crate::scanner::{ScanFailure, ScanMatch, Scanner, Target, TargetKind};

/// Scanning state of one message.
pub struct ScanRun<'a> {
    scanner: Option<&'a dyn Scanner>,
    max_scans: usize,
    deadline: Option<Instant>,
    scans: usize,
    exhausted: bool,
    pub matches: Vec<ScanMatch>,
    pub findings: Vec<Finding>,
}

impl fmt::Debug for ScanRun<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanRun")
            .field("scanner", &self.scanner.map(|s| s.name()))
            .field("scans", &self.scans)
            .field("matches", &self.matches.len())
            .finish_non_exhaustive()
    }
}

impl<'a> ScanRun<'a> {
    pub fn new(scanner: Option<&'a dyn Scanner>, limits: &Limits) -> Self {
        ScanRun {
            scanner,
            max_scans: limits.max_scans,
            deadline: scanner.and_then(|_| {
                Instant::now().checked_add(Duration::from_secs(limits.max_scan_secs))
            }),
            scans: 0,
            exhausted: false,
            matches: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// Whether a scanner is plugged in.
    pub fn active(&self) -> bool {
        self.scanner.is_some()
    }

    /// Scans one part whose SHA-256 is not known yet.
    pub fn scan_bytes(&mut self, kind: TargetKind, name: Option<&str>, data: &[u8]) {
        if self.scanner.is_none() {
            return;
        }
        let sha = hex::encode(Sha256::digest(data));
        self.scan(kind, name, &sha, data);
    }

    /// Scans one part.
    pub fn scan(&mut self, kind: TargetKind, name: Option<&str>, sha256: &str, data: &[u8]) {
        let Some(scanner) = self.scanner else {
            return;
        };
        if self.exhausted {
            return;
        }
        let over_time = self.deadline.is_some_and(|d| Instant::now() >= d);
        if self.scans >= self.max_scans || over_time {
            self.exhausted = true;
            self.findings.push(Finding::new(
                "limit.scan",
                if over_time {
                    "scan time budget of the message used up; remaining parts not scanned"
                        .to_owned()
                } else {
                    format!(
                        "{} parts scanned, the most per message; remaining parts not scanned",
                        self.max_scans
                    )
                },
            ));
            return;
        }
        self.scans += 1;
        let target = Target { kind, name, sha256 };
        match scanner.scan(&target, data) {
            Ok(found) => {
                for m in found {
                    let dup = self.matches.iter().any(|x| {
                        x.rule == m.rule
                            && x.namespace == m.namespace
                            && x.sha256 == m.sha256
                            && x.target == m.target
                    });
                    if !dup {
                        self.matches.push(m);
                    }
                }
            }
            Err(e) => {
                let id = match e {
                    ScanFailure::Timeout(_) => "scan.timeout",
                    _ => "scan.error",
                };
                self.findings.push(Finding::new(
                    id,
                    format!(
                        "{} {} {}: {e}",
                        scanner.name(),
                        kind.as_str(),
                        name.unwrap_or(sha256)
                    ),
                ));
            }
        }
    }
}
