//! Resource limits and the pre-parse scan that enforces them. The scan walks the raw bytes once
//! (no allocation per line beyond the boundary stack) and bounds MIME nesting depth, part count
//! and message/rfc822 nesting before the bytes reach the MIME parser; over-limit messages are
//! analysed from their headers only and the excess is reported as a finding.

use serde::Serialize;

/// Limits applied to every message. The defaults suit a mail gateway quarantine.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    /// Largest message analysed at all (default 50 MiB); larger ones get a header-only report.
    pub max_message_bytes: usize,
    /// Deepest multipart nesting (default 20).
    pub max_mime_depth: usize,
    /// Most MIME parts (default 1,000).
    pub max_parts: usize,
    /// Deepest message/rfc822 nesting analysed as nested messages (default 5).
    pub max_nested_messages: usize,
    /// Total bytes decompressed from archives per message (default 200 MiB).
    pub max_decompressed_total: u64,
    /// Largest decompressed/compressed ratio per archive member (default 100).
    pub max_ratio: u64,
    /// Largest single archive member extracted (default 50 MiB).
    pub max_entry_bytes: u64,
    /// Archives inside archives (default 3).
    pub max_archive_depth: usize,
    /// Members listed per archive (default 1,000).
    pub max_archive_entries: usize,
    /// Memory one 7z decoder may reserve for its dictionary or model, and for the archive's
    /// header (default 128 MiB; 7-Zip's strongest preset uses a 64 MiB dictionary).
    pub max_decoder_memory: u64,
    /// Text kept per body part in the report (default 256 KiB).
    pub max_text_bytes: usize,
    /// Passwords tried per encrypted archive (default 64).
    pub max_passwords: usize,
    /// Parts handed to the content scanner per message (default 2,000).
    pub max_scans: usize,
    /// Wall time the content scanner may take per message, in seconds (default 60); each
    /// scan has its own, shorter timeout in the scanner.
    pub max_scan_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 50 * 1024 * 1024,
            max_mime_depth: 20,
            max_parts: 1000,
            max_nested_messages: 5,
            max_decompressed_total: 200 * 1024 * 1024,
            max_ratio: 100,
            max_entry_bytes: 50 * 1024 * 1024,
            max_archive_depth: 3,
            max_archive_entries: 1000,
            max_decoder_memory: 128 * 1024 * 1024,
            max_text_bytes: 256 * 1024,
            max_passwords: 64,
            max_scans: 2000,
            max_scan_secs: 60,
        }
    }
}

/// What the pre-parse scan counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    pub mime_depth: usize,
    pub parts: usize,
    pub rfc822: usize,
}

/// Counts MIME depth (open boundaries), parts (boundary delimiter lines) and message/rfc822
/// Content-Types. Stops counting once every figure is beyond `limits` to stay linear and cheap.
pub fn scan(raw: &[u8], limits: &Limits) -> Shape {
    let mut shape = Shape::default();
    let mut open: Vec<Vec<u8>> = Vec::new();
    let mut start = 0;
    while start < raw.len() {
        let end = memchr::memchr(b'\n', &raw[start..]).map_or(raw.len(), |p| start + p);
        let line = &raw[start..end];
        start = end + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(rest) = line.strip_prefix(b"--")
            && let Some(pos) = open.iter().rposition(|b| rest.starts_with(b))
        {
            let closing = rest[open[pos].len()..].starts_with(b"--");
            shape.parts += 1;
            if closing {
                open.truncate(pos);
            } else {
                open.truncate(pos + 1);
            }
            continue;
        }
        if line.len() < 4096 {
            if let Some(b) = boundary_param(line)
                && !open.contains(&b)
            {
                open.push(b);
                shape.mime_depth = shape.mime_depth.max(open.len());
            }
            if has_rfc822(line) && contains_ci(line, b"content-type") {
                shape.rfc822 += 1;
            }
        }
        if shape.mime_depth > limits.max_mime_depth && shape.parts > limits.max_parts {
            break;
        }
    }
    shape
}

/// Whether the line names `message/rfc822` (any case). Looks only around each `/`, so the
/// base64 lines that make up most of a message cost one `memchr` pass.
fn has_rfc822(line: &[u8]) -> bool {
    memchr::memchr_iter(b'/', line).any(|p| {
        p >= 7
            && line[p - 7..p].eq_ignore_ascii_case(b"message")
            && line
                .get(p + 1..p + 7)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"rfc822"))
    })
}

/// The `boundary=` parameter of a header line, if any. Looks only before each `=`, so lines
/// without one cost one `memchr` pass.
fn boundary_param(line: &[u8]) -> Option<Vec<u8>> {
    let pos = memchr::memchr_iter(b'=', line)
        .find(|&p| p >= 8 && line[p - 8..p].eq_ignore_ascii_case(b"boundary"))?;
    let rest = &line[pos + 1..];
    let value: Vec<u8> = if let Some(q) = rest.strip_prefix(b"\"") {
        q.iter().take_while(|&&b| b != b'"').copied().collect()
    } else {
        rest.iter()
            .take_while(|&&b| !b.is_ascii_whitespace() && b != b';')
            .copied()
            .collect()
    };
    (!value.is_empty()).then_some(value)
}

/// Case-insensitive byte search.
pub fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

pub fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    find_ci(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_depth_and_parts() {
        let raw = b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b--\r\n--a\r\n\r\nz\r\n--a--\r\n";
        let s = scan(raw, &Limits::default());
        assert_eq!(s.mime_depth, 2);
        assert_eq!(s.parts, 6);
    }
}
