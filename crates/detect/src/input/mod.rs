//! Event inputs: EVTX files and JSON (lines, arrays, winlogbeat/ECS), auto-detected, plus
//! the recursive file walk used by `mamori hunt`.

pub mod evtx;
pub mod json;

use std::io::Read;
use std::path::{Path, PathBuf};

/// Input format of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Windows EVTX.
    Evtx,
    /// JSON (one value, an array, or one value per line).
    Json,
}

/// Counts and warnings of reading one file.
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    /// Events produced.
    pub events: u64,
    /// Records/lines skipped because they were corrupt.
    pub skipped: u64,
    /// One message per skipped item (file and offset), capped.
    pub warnings: Vec<String>,
}

impl ReadStats {
    /// Records a skipped item.
    pub fn skip(&mut self, msg: String) {
        self.skipped += 1;
        if self.warnings.len() < 100 {
            self.warnings.push(msg);
        }
    }
}

/// Detects a file's format from its magic bytes (EVTX: `ElfFile\0`) or extension.
pub fn detect_format(path: &Path) -> std::io::Result<Option<Format>> {
    let mut magic = [0u8; 8];
    let mut f = std::fs::File::open(path)?;
    let n = f.read(&mut magic)?;
    if n == 8 && &magic == b"ElfFile\0" {
        return Ok(Some(Format::Evtx));
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if matches!(ext.as_str(), "json" | "jsonl" | "ndjson") {
        return Ok(Some(Format::Json));
    }
    let first = magic[..n].iter().find(|b| !b.is_ascii_whitespace());
    Ok(match first {
        Some(b'{') | Some(b'[') if ext != "evtx" => Some(Format::Json),
        _ => None,
    })
}

/// Expands files and directories (recursively) into the files to scan, sorted. Files given
/// explicitly are always kept; inside directories only `.evtx`, `.json`, `.jsonl`,
/// `.ndjson` files are taken.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            for e in walkdir::WalkDir::new(p).follow_links(true) {
                match e {
                    Ok(e) if e.file_type().is_file() => {
                        let ext = e
                            .path()
                            .extension()
                            .and_then(|x| x.to_str())
                            .map(str::to_ascii_lowercase)
                            .unwrap_or_default();
                        if matches!(ext.as_str(), "evtx" | "json" | "jsonl" | "ndjson") {
                            out.push(e.into_path());
                        }
                    }
                    Ok(_) => {}
                    Err(err) => errors.push(format!("{}: {err}", p.display())),
                }
            }
        } else if p.exists() {
            out.push(p.clone());
        } else {
            errors.push(format!("{}: no such file or directory", p.display()));
        }
    }
    out.sort();
    out.dedup();
    (out, errors)
}
