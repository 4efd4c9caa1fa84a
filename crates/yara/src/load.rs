//! Rule files from disk: one `.yar`/`.yara` file, or every such file under a directory
//! (recursively, in name order). Each file becomes a [`Source`] named by its path relative to
//! the directory, so errors say which file; reads are bounded by [`Limits`].

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::YaraError;
use crate::rules::{Limits, Source};

fn io(path: &Path, e: &std::io::Error) -> YaraError {
    YaraError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn is_rule_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"))
}

/// Reads the rule sources at `path` (a file of any name, or a directory of `.yar`/`.yara`).
pub fn load_path(path: &Path, limits: &Limits) -> Result<Vec<Source>, YaraError> {
    let meta = std::fs::metadata(path).map_err(|e| io(path, &e))?;
    if meta.is_file() {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        return Ok(vec![read_source(path, name, limits)?]);
    }
    let mut files = Vec::new();
    walk(path, &mut files, 0)?;
    files.sort();
    if files.is_empty() {
        return Err(YaraError::NoRules(path.to_owned()));
    }
    if files.len() > limits.max_sources {
        return Err(YaraError::TooMany {
            what: format!("{} rule files in {}", files.len(), path.display()),
            max: limits.max_sources,
        });
    }
    files
        .iter()
        .map(|f| {
            let name = f
                .strip_prefix(path)
                .unwrap_or(f)
                .to_string_lossy()
                .into_owned();
            read_source(f, name, limits)
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), YaraError> {
    if depth > 16 {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, &e))? {
        let entry = entry.map_err(|e| io(dir, &e))?;
        let p = entry.path();
        let ft = entry.file_type().map_err(|e| io(&p, &e))?;
        if ft.is_dir() {
            walk(&p, out, depth + 1)?;
        } else if is_rule_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

fn read_source(path: &Path, name: String, limits: &Limits) -> Result<Source, YaraError> {
    let f = std::fs::File::open(path).map_err(|e| io(path, &e))?;
    let max = limits.max_source_bytes;
    let mut buf = Vec::new();
    f.take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| io(path, &e))?;
    if buf.len() > max {
        return Err(YaraError::SourceTooLarge {
            source_name: name,
            size: buf.len(),
            max,
        });
    }
    let text = String::from_utf8(buf).map_err(|e| YaraError::Compile {
        source_name: name.clone(),
        line: 1,
        column: 1,
        code: "E000".into(),
        message: format!("not UTF-8 text: {e}"),
    })?;
    Ok(Source { name, text })
}
