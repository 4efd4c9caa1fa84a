//! Tokeniser for the STIX 2.1 patterning language. Every token carries its byte offset so that
//! errors can point into the pattern text.

use base64::Engine as _;

use super::PatternError;
use crate::Timestamp;

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub tok: Tok,
    pub offset: usize,
}

/// The tokens of the patterning grammar.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    LBrack,
    RBrack,
    LParen,
    RParen,
    Colon,
    Dot,
    Comma,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// An upper-case keyword (AND, OR, NOT, FOLLOWEDBY, LIKE, MATCHES, ISSUBSET, ISSUPERSET,
    /// EXISTS, IN, START, STOP, WITHIN, SECONDS, REPEATS, TIMES, LAST).
    Kw(&'static str),
    /// An identifier; `hyphen` tells whether it contains `-` (allowed only for object types).
    Ident {
        name: String,
        hyphen: bool,
    },
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Ts(Timestamp),
    Hex(Vec<u8>),
    Bin(Vec<u8>),
    Eof,
}

const KEYWORDS: [&str; 17] = [
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "EXISTS",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "WITHIN",
    "REPEATS",
    "TIMES",
];

impl Tok {
    /// A short description for error messages.
    pub fn describe(&self) -> String {
        match self {
            Tok::LBrack => "'['".into(),
            Tok::RBrack => "']'".into(),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Colon => "':'".into(),
            Tok::Dot => "'.'".into(),
            Tok::Comma => "','".into(),
            Tok::Star => "'*'".into(),
            Tok::Eq => "'='".into(),
            Tok::Ne => "'!='".into(),
            Tok::Lt => "'<'".into(),
            Tok::Le => "'<='".into(),
            Tok::Gt => "'>'".into(),
            Tok::Ge => "'>='".into(),
            Tok::Kw(k) => (*k).to_owned(),
            Tok::Ident { name, .. } => format!("identifier {name:?}"),
            Tok::Str(_) => "string literal".into(),
            Tok::Int(_) => "integer literal".into(),
            Tok::Float(_) => "float literal".into(),
            Tok::Bool(_) => "boolean literal".into(),
            Tok::Ts(_) => "timestamp literal".into(),
            Tok::Hex(_) => "hex literal".into(),
            Tok::Bin(_) => "binary literal".into(),
            Tok::Eof => "end of pattern".into(),
        }
    }
}

/// Splits `src` into tokens, ending with [`Tok::Eof`].
pub fn tokenize(src: &str) -> Result<Vec<Spanned>, PatternError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let single = |t: Tok| Spanned {
            tok: t,
            offset: start,
        };
        match c {
            b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => {
                i += 1;
                continue;
            }
            b'[' => out.push(single(Tok::LBrack)),
            b']' => out.push(single(Tok::RBrack)),
            b'(' => out.push(single(Tok::LParen)),
            b')' => out.push(single(Tok::RParen)),
            b':' => out.push(single(Tok::Colon)),
            b',' => out.push(single(Tok::Comma)),
            b'*' => out.push(single(Tok::Star)),
            b'=' => {
                if b.get(i + 1) == Some(&b'=') {
                    i += 1;
                }
                out.push(single(Tok::Eq));
            }
            b'!' if b.get(i + 1) == Some(&b'=') => {
                i += 1;
                out.push(single(Tok::Ne));
            }
            b'<' => match b.get(i + 1) {
                Some(b'=') => {
                    i += 1;
                    out.push(single(Tok::Le));
                }
                Some(b'>') => {
                    i += 1;
                    out.push(single(Tok::Ne));
                }
                _ => out.push(single(Tok::Lt)),
            },
            b'>' => {
                if b.get(i + 1) == Some(&b'=') {
                    i += 1;
                    out.push(single(Tok::Ge));
                } else {
                    out.push(single(Tok::Gt));
                }
            }
            b'\'' => {
                let (s, end) = string_body(src, i + 1)?;
                out.push(single(Tok::Str(s)));
                i = end;
                continue;
            }
            b't' | b'h' | b'b' if b.get(i + 1) == Some(&b'\'') => {
                let body_start = i + 2;
                let Some(len) = b[body_start..].iter().position(|&x| x == b'\'') else {
                    return Err(PatternError::syntax(
                        start,
                        "closing quote",
                        "end of pattern",
                    ));
                };
                let body = &src[body_start..body_start + len];
                let tok = match c {
                    b't' => Tok::Ts(
                        Timestamp::parse(body)
                            .map_err(|e| PatternError::literal(start, e.to_string()))?,
                    ),
                    b'h' => Tok::Hex(decode_hex(body).ok_or_else(|| {
                        PatternError::literal(start, "hex literal needs pairs of hex digits")
                    })?),
                    _ if body.is_empty() => {
                        return Err(PatternError::literal(start, "empty base64 literal"));
                    }
                    _ => Tok::Bin(
                        base64::engine::general_purpose::STANDARD
                            .decode(body)
                            .map_err(|e| PatternError::literal(start, format!("base64: {e}")))?,
                    ),
                };
                out.push(single(tok));
                i = body_start + len + 1;
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let mut j = i + 1;
                let mut hyphen = false;
                while let Some(&x) = b.get(j) {
                    if x.is_ascii_alphanumeric() || x == b'_' {
                        j += 1;
                    } else if x == b'-' {
                        hyphen = true;
                        j += 1;
                    } else {
                        break;
                    }
                }
                let word = &src[i..j];
                let tok = if let Some(k) = KEYWORDS.iter().find(|k| **k == word) {
                    Tok::Kw(k)
                } else if word == "true" {
                    Tok::Bool(true)
                } else if word == "false" {
                    Tok::Bool(false)
                } else {
                    Tok::Ident {
                        name: word.to_owned(),
                        hyphen,
                    }
                };
                out.push(single(tok));
                i = j;
                continue;
            }
            b'+' | b'-' | b'0'..=b'9' | b'.' => {
                let (tok, end) = number(src, i)?;
                if tok == Tok::Dot {
                    out.push(single(Tok::Dot));
                    i += 1;
                    continue;
                }
                out.push(single(tok));
                i = end;
                continue;
            }
            _ => {
                let found = src[i..]
                    .chars()
                    .next()
                    .map_or(String::new(), |ch| format!("{ch:?}"));
                return Err(PatternError::syntax(start, "a token", &found));
            }
        }
        i += 1;
    }
    out.push(Spanned {
        tok: Tok::Eof,
        offset: b.len(),
    });
    Ok(out)
}

/// Reads a string literal body starting after the opening quote; returns the unescaped text
/// and the offset after the closing quote. Only `\'` and `\\` are escapes.
fn string_body(src: &str, from: usize) -> Result<(String, usize), PatternError> {
    let mut s = String::new();
    let mut chars = src[from..].char_indices();
    while let Some((k, ch)) = chars.next() {
        match ch {
            '\'' => return Ok((s, from + k + 1)),
            '\\' => match chars.next() {
                Some((_, e @ ('\'' | '\\'))) => s.push(e),
                Some((k2, _)) => {
                    return Err(PatternError::syntax(
                        from + k2,
                        "\\' or \\\\ after a backslash",
                        "another character",
                    ));
                }
                None => break,
            },
            other => s.push(other),
        }
    }
    Err(PatternError::syntax(
        src.len(),
        "closing quote of string",
        "end of pattern",
    ))
}

/// Reads an integer or float (`[+-]? digits`, `[+-]? digits? '.' digits`). A lone `.` is
/// returned as [`Tok::Dot`].
fn number(src: &str, from: usize) -> Result<(Tok, usize), PatternError> {
    let b = src.as_bytes();
    let mut j = from;
    if matches!(b.get(j), Some(b'+' | b'-')) {
        j += 1;
    }
    let int_start = j;
    while b.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    let int_digits = j - int_start;
    if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        j += 1;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        let text = &src[from..j];
        let v: f64 = text
            .parse()
            .map_err(|_| PatternError::literal(from, format!("bad float {text:?}")))?;
        return Ok((Tok::Float(v), j));
    }
    if int_digits == 0 {
        if j == from && b.get(j) == Some(&b'.') {
            return Ok((Tok::Dot, from + 1));
        }
        return Err(PatternError::syntax(from, "a number", "a lone sign"));
    }
    if int_digits > 1 && b.get(int_start) == Some(&b'0') {
        return Err(PatternError::literal(
            from,
            "integers may not have leading zeros",
        ));
    }
    let text = &src[from..j];
    let v: i64 = text
        .trim_start_matches('+')
        .parse()
        .map_err(|_| PatternError::literal(from, format!("integer {text:?} out of range")))?;
    Ok((Tok::Int(v), j))
}

/// Decodes pairs of hex digits.
pub(super) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| {
            let (hi, lo) = (*p.first()?, *p.get(1)?);
            Some((hex_val(hi)? << 4) | hex_val(lo)?)
        })
        .collect()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
