//! Header text decoding that survives what Japanese mailers really send: RFC 2047 encoded words
//! (B and Q) whose bytes are joined per charset before decoding (ISO-2022-JP sequences split
//! across words), raw ISO-2022-JP escape sequences, raw 8-bit Shift_JIS/EUC-JP, and charsets
//! that are mislabelled (bytes that fail under the declared charset are retried as UTF-8,
//! ISO-2022-JP, Shift_JIS and EUC-JP, first clean decode wins).

use encoding_rs::{EUC_JP, Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8};

/// Decoded text and the charset that decoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub charset: Option<String>,
}

/// Decodes bytes in an unknown Japanese-or-Unicode charset, picking the first clean decode.
pub fn guess_bytes(bytes: &[u8]) -> Decoded {
    if bytes.contains(&0x1b) {
        let text = clean(ISO_2022_JP, bytes).unwrap_or_else(|| {
            ISO_2022_JP
                .decode_without_bom_handling(&tidy_iso2022(bytes))
                .0
                .into_owned()
        });
        return Decoded {
            text,
            charset: Some("iso-2022-jp".into()),
        };
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Decoded {
            text: s.to_owned(),
            charset: None,
        };
    }
    for enc in [SHIFT_JIS, EUC_JP] {
        if let Some(text) = clean(enc, bytes) {
            return Decoded {
                text,
                charset: Some(enc.name().to_ascii_lowercase()),
            };
        }
    }
    Decoded {
        text: String::from_utf8_lossy(bytes).into_owned(),
        charset: None,
    }
}

/// Decodes `bytes` declared as `label`, falling back to guessing when they do not fit it.
pub fn with_label(label: &str, bytes: &[u8]) -> Decoded {
    if let Some(enc) = Encoding::for_label(label.trim().as_bytes()) {
        // A 7-bit ISO-2022-JP body is also valid ASCII/UTF-8: prefer the real thing.
        let enc = if enc == UTF_8 && bytes.contains(&0x1b) {
            ISO_2022_JP
        } else {
            enc
        };
        if let Some(text) = clean(enc, bytes) {
            return Decoded {
                text,
                charset: Some(label.trim().to_ascii_lowercase()),
            };
        }
    }
    guess_bytes(bytes)
}

fn clean(enc: &'static Encoding, bytes: &[u8]) -> Option<String> {
    let tidied;
    let bytes = if enc == ISO_2022_JP {
        tidied = tidy_iso2022(bytes);
        &tidied[..]
    } else {
        bytes
    };
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    (!had_errors).then(|| text.into_owned())
}

/// Drops escape sequences immediately followed by another one (`ESC ( B ESC $ B`), which
/// appear when encoded words are joined and which the WHATWG decoder treats as an error.
fn tidy_iso2022(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b && bytes.get(i + 3) == Some(&0x1b) && i + 3 < bytes.len() {
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Decodes an unfolded raw header value: encoded words, raw escapes and raw 8-bit bytes.
pub fn header_value(raw: &[u8]) -> Decoded {
    let mut out = String::new();
    let mut first_charset: Option<String> = None;
    // Pending encoded-word bytes of one charset, joined before decoding.
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut i = 0;
    let mut plain_start = 0;
    while i < raw.len() {
        if raw[i] == b'='
            && raw.get(i + 1) == Some(&b'?')
            && let Some((charset, bytes, end)) = encoded_word(raw, i)
        {
            let gap = &raw[plain_start..i];
            let only_space = gap.iter().all(|b| b.is_ascii_whitespace());
            if !(only_space && pending.is_some()) {
                flush(&mut pending, &mut out);
                push_plain(gap, &mut out);
            }
            if first_charset.is_none() {
                first_charset = Some(charset.to_ascii_lowercase());
            }
            match &mut pending {
                Some((cs, buf)) if cs.eq_ignore_ascii_case(&charset) => {
                    buf.extend_from_slice(&bytes)
                }
                _ => {
                    flush(&mut pending, &mut out);
                    pending = Some((charset, bytes));
                }
            }
            i = end;
            plain_start = end;
            continue;
        }
        i += 1;
    }
    flush(&mut pending, &mut out);
    let tail = &raw[plain_start.min(raw.len())..];
    if first_charset.is_none() && !tail.is_ascii() || tail.contains(&0x1b) {
        let d = guess_bytes(tail);
        if first_charset.is_none() {
            first_charset = d.charset;
        }
        out.push_str(&d.text);
    } else {
        push_plain(tail, &mut out);
    }
    Decoded {
        text: out.trim().to_owned(),
        charset: first_charset,
    }
}

fn push_plain(bytes: &[u8], out: &mut String) {
    if bytes.is_empty() {
        return;
    }
    out.push_str(&guess_bytes(bytes).text);
}

fn flush(pending: &mut Option<(String, Vec<u8>)>, out: &mut String) {
    if let Some((charset, bytes)) = pending.take() {
        out.push_str(&with_label(&charset, &bytes).text);
    }
}

/// Parses `=?charset?E?text?=` at `start`; returns charset, decoded bytes and the end offset.
fn encoded_word(raw: &[u8], start: usize) -> Option<(String, Vec<u8>, usize)> {
    let rest = raw.get(start + 2..)?;
    let q1 = rest.iter().position(|&b| b == b'?')?;
    let charset_full = std::str::from_utf8(&rest[..q1]).ok()?;
    // RFC 2231 language suffix: charset*lang
    let charset = charset_full.split('*').next()?.to_owned();
    if charset.is_empty() || charset.len() > 40 || charset.contains(char::is_whitespace) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    // Encoded words are at most 75 characters (RFC 2047); bound the search so a header full of
    // unterminated `=?` stays linear.
    let window = rest.get(text_start..)?;
    let window = &window[..window.len().min(1024)];
    let text_len = window.windows(2).position(|w| w == b"?=")?;
    let text = &rest[text_start..text_start + text_len];
    if text.iter().any(|b| *b == b' ' || *b == b'\n') {
        return None;
    }
    let bytes = match enc.to_ascii_uppercase() {
        b'B' => base64(text)?,
        b'Q' => q_decode(text),
        _ => return None,
    };
    Some((charset, bytes, start + 2 + text_start + text_len + 2))
}

fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) =
                    (text.get(i + 1).and_then(hex), text.get(i + 2).and_then(hex))
                {
                    out.push((h << 4) | l);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: &u8) -> Option<u8> {
    (*b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Lenient base64 (ignores whitespace and junk, tolerates missing padding).
pub fn base64(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// True when the text still shows undecoded ISO-2022-JP or encoded-word residue.
pub fn looks_mojibake(text: &str) -> bool {
    text.contains('\u{1b}')
        || text.contains('\u{fffd}')
        || text.contains("$B")
        || text.contains("=?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso2022jp_split_words() {
        // "テスト" in ISO-2022-JP split over two B words.
        let d = header_value(b"=?ISO-2022-JP?B?GyRCJUYlORsoQg==?= =?ISO-2022-JP?B?GyRCJUgbKEI=?=");
        assert_eq!(d.text, "テスト");
        assert_eq!(d.charset.as_deref(), Some("iso-2022-jp"));
    }

    #[test]
    fn raw_iso2022jp_and_sjis() {
        let d = header_value(b"\x1b$B%F%9%H\x1b(B mail");
        assert_eq!(d.text, "テスト mail");
        let d = header_value(b"\x83e\x83X\x83g");
        assert_eq!(d.text, "テスト");
        assert_eq!(d.charset.as_deref(), Some("shift_jis"));
    }

    #[test]
    fn mislabelled_charset_falls_back() {
        // UTF-8 bytes labelled Shift_JIS would decode with errors → guessed as UTF-8.
        let d = header_value(b"=?Shift_JIS?B?44OG44K544OI?=");
        assert_eq!(d.text, "テスト");
    }

    #[test]
    fn q_encoding() {
        let d = header_value(b"=?utf-8?Q?caf=C3=A9_ok?= plain");
        assert_eq!(d.text, "café ok plain");
    }
}
