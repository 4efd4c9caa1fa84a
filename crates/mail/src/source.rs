//! Where messages come from: files, directories walked recursively (`.eml` files and files
//! whose first bytes look like a mail header), and mbox files split on `From ` separator lines
//! (with `>From ` unescaped).

use std::path::{Path, PathBuf};

use crate::error::MailError;

/// One message and where it came from (`path` or `path#N` for the N-th message of an mbox).
#[derive(Debug, Clone)]
pub struct RawMessage {
    pub source: String,
    pub bytes: Vec<u8>,
}

/// Expands the given paths into mail files, directories walked recursively in name order.
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, MailError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(MailError::NotFound(p.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), MailError> {
    let io = |source| MailError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml"))
            || looks_like_mail_file(&p)
        {
            out.push(p);
        }
    }
    Ok(())
}

fn looks_like_mail_file(p: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 2048];
    let n = std::fs::File::open(p)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    looks_like_mail(&head[..n])
}

/// True when the bytes start like a message or an mbox.
pub fn looks_like_mail(head: &[u8]) -> bool {
    if head.starts_with(b"From ") {
        return true;
    }
    let text = String::from_utf8_lossy(head);
    let mut header_lines = 0;
    for line in text.lines().take(40) {
        if line.is_empty() {
            break;
        }
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "from"
                | "to"
                | "subject"
                | "date"
                | "received"
                | "return-path"
                | "message-id"
                | "mime-version"
                | "delivered-to"
        ) {
            header_lines += 1;
        }
    }
    header_lines >= 2
}

/// Reads a file and splits it into messages (several when it is an mbox).
pub fn read(path: &Path) -> Result<Vec<RawMessage>, MailError> {
    let bytes = std::fs::read(path).map_err(|source| MailError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(split(&path.display().to_string(), bytes))
}

/// Splits mbox content; anything else is one message.
pub fn split(source: &str, bytes: Vec<u8>) -> Vec<RawMessage> {
    if !bytes.starts_with(b"From ") {
        return vec![RawMessage {
            source: source.to_owned(),
            bytes,
        }];
    }
    let mut out = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut started = false;
    let mut prev_blank = true;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") && (prev_blank || is_from_line(line)) {
            if started {
                push(&mut out, source, &mut current);
            }
            started = true;
            prev_blank = false;
            continue;
        }
        prev_blank = line == b"\n" || line == b"\r\n";
        if let Some(rest) = line.strip_prefix(b">") {
            let unquoted = rest
                .iter()
                .position(|&b| b != b'>')
                .is_some_and(|p| rest[p..].starts_with(b"From "));
            if unquoted {
                current.extend_from_slice(rest);
                continue;
            }
        }
        current.extend_from_slice(line);
    }
    push(&mut out, source, &mut current);
    out
}

/// A `From ` separator with an envelope date (`From a@b Mon Apr  7 10:00:00 2025`), accepted
/// even without the blank line before it that strict mboxrd writers put there.
fn is_from_line(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let t = text.trim_end();
    let has_time = t
        .split_whitespace()
        .any(|w| w.len() == 8 && w.as_bytes()[2] == b':' && w.as_bytes()[5] == b':');
    let year = t
        .rsplit(' ')
        .next()
        .is_some_and(|y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()));
    has_time && year
}

fn push(out: &mut Vec<RawMessage>, source: &str, current: &mut Vec<u8>) {
    let bytes = std::mem::take(current);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    let n = out.len() + 1;
    out.push(RawMessage {
        source: format!("{source}#{n}"),
        bytes,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_mbox() {
        let mbox = b"From a@b Mon Jan 1 00:00:00 2024\nSubject: one\n\n>From here\n\nFrom c@d Mon Jan 1 00:00:00 2024\nSubject: two\n\nbody\n".to_vec();
        let msgs = split("box", mbox);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].source, "box#1");
        assert_eq!(msgs[0].bytes, b"Subject: one\n\nFrom here\n\n");
        assert!(looks_like_mail(b"Received: x\nFrom: a\nSubject: b\n\n"));
        assert!(!looks_like_mail(b"hello world"));
    }
}
