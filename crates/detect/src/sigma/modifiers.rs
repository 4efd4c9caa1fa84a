//! Sigma value modifiers: parsing `field|mod1|mod2` keys and turning rule values into
//! [`Matcher`]s (wildcards, escapes, encodings, windash, base64offset, cidr, numbers, ...).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use regex::RegexBuilder;

use super::eval::{CmpOp, CondKind, FieldCond, LitSeq, Matcher, RefMode, StrMatch, StrMatcher};
use super::yaml::{Node, Value};

/// Compiled regex size limit (bytes) for rule regexes.
pub const REGEX_SIZE_LIMIT: usize = 16 << 20;

/// A value modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Re,
    ReI,
    ReM,
    ReS,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Wide,
    Windash,
    Cidr,
    Exists,
    Gt,
    Gte,
    Lt,
    Lte,
    FieldRef,
    Expand,
    Cased,
}

impl Modifier {
    fn parse(s: &str, after_re: bool) -> Option<Self> {
        Some(match s {
            "contains" => Self::Contains,
            "startswith" => Self::StartsWith,
            "endswith" => Self::EndsWith,
            "all" => Self::All,
            "re" => Self::Re,
            "i" | "ignorecase" if after_re => Self::ReI,
            "m" | "multiline" if after_re => Self::ReM,
            "s" | "dotall" if after_re => Self::ReS,
            "base64" => Self::Base64,
            "base64offset" => Self::Base64Offset,
            "utf16le" => Self::Utf16Le,
            "utf16be" => Self::Utf16Be,
            "utf16" => Self::Utf16,
            "wide" => Self::Wide,
            "windash" => Self::Windash,
            "cidr" => Self::Cidr,
            "exists" => Self::Exists,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "fieldref" => Self::FieldRef,
            "expand" => Self::Expand,
            "cased" => Self::Cased,
            _ => return None,
        })
    }
}

/// Splits `Field|mod|mod` into the field name and parsed modifiers.
pub fn parse_key(key: &str) -> Result<(String, Vec<Modifier>), String> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or("").to_owned();
    let mut mods = Vec::new();
    let mut after_re = false;
    for p in parts {
        let m = Modifier::parse(p, after_re)
            .ok_or_else(|| format!("unsupported value modifier '{p}' in '{key}'"))?;
        after_re |= m == Modifier::Re;
        mods.push(m);
    }
    Ok((field, mods))
}

/// Placeholder values for the `expand` modifier (`%name%` -> alternatives).
pub type Placeholders = HashMap<String, Vec<String>>;

/// One piece of a Sigma string value.
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Star,
    One,
}

/// Parses wildcards `*`, `?` and the escapes `\*`, `\?`, `\\` (pySigma semantics).
fn parse_pattern(s: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    lit.push(n);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    out.push(Part::Lit(std::mem::take(&mut lit)));
                }
                out.push(if c == '*' { Part::Star } else { Part::One });
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        out.push(Part::Lit(lit));
    }
    out
}

fn has_wildcards(p: &[Part]) -> bool {
    p.iter().any(|x| !matches!(x, Part::Lit(_)))
}

fn literal_of(p: &[Part]) -> String {
    p.iter()
        .map(|x| match x {
            Part::Lit(s) => s.as_str(),
            Part::Star => "*",
            Part::One => "?",
        })
        .collect()
}

/// Compiles a pattern into the cheapest string matcher.
fn compile_pattern(parts: &[Part], cased: bool) -> Result<StrMatcher, String> {
    let norm = |s: &str| {
        if cased {
            s.to_owned()
        } else {
            s.to_lowercase()
        }
    };
    // Collapse consecutive stars.
    let mut p: Vec<Part> = Vec::with_capacity(parts.len());
    for x in parts {
        if *x == Part::Star && p.last() == Some(&Part::Star) {
            continue;
        }
        p.push(x.clone());
    }
    let m = match p.as_slice() {
        [] => StrMatch::Exact(String::new()),
        [Part::Star] => StrMatch::Any,
        [Part::Lit(l)] => StrMatch::Exact(norm(l)),
        [Part::Star, Part::Lit(l), Part::Star] => {
            let l = norm(l);
            let f = Box::new(memchr::memmem::Finder::new(l.as_bytes()).into_owned());
            StrMatch::Contains(l, f)
        }
        [Part::Lit(l), Part::Star] => StrMatch::Prefix(norm(l)),
        [Part::Star, Part::Lit(l)] => StrMatch::Suffix(norm(l)),
        _ if !p.contains(&Part::One) => {
            let mut lits = p.iter().filter_map(|x| match x {
                Part::Lit(l) => Some(norm(l)),
                _ => None,
            });
            let head = matches!(p.first(), Some(Part::Lit(_)))
                .then(|| lits.next())
                .flatten();
            let mut rest: Vec<String> = lits.collect();
            let tail = if matches!(p.last(), Some(Part::Lit(_))) && p.len() > 1 {
                rest.pop()
            } else {
                None
            };
            let middle = rest
                .iter()
                .map(|l| memchr::memmem::Finder::new(l.as_bytes()).into_owned())
                .collect();
            StrMatch::Seq(Box::new(LitSeq { head, middle, tail }))
        }
        _ => {
            // Matched against the compared text (lowercased unless `cased`), like every
            // other string comparison, so the pattern is lowercased too.
            let mut re = String::from("(?s)^");
            let mut longest = String::new();
            for x in &p {
                match x {
                    Part::Lit(l) => {
                        let l = norm(l);
                        re.push_str(&regex::escape(&l));
                        if l.len() > longest.len() {
                            longest = l;
                        }
                    }
                    Part::Star => re.push_str(".*"),
                    Part::One => re.push('.'),
                }
            }
            re.push('$');
            let r = RegexBuilder::new(&re)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| format!("wildcard pattern too complex: {e}"))?;
            StrMatch::Glob(r, (!longest.is_empty()).then_some(longest))
        }
    };
    Ok(StrMatcher { m, cased })
}

const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// `windash`: every `-` or `/` that starts a word is tried with each Windows dash variant.
fn windash_variants(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            (chars[i] == '-' || chars[i] == '/')
                && (i == 0 || !chars[i - 1].is_alphanumeric())
                && chars
                    .get(i + 1)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '?')
        })
        .collect();
    if positions.is_empty() {
        return vec![s.to_owned()];
    }
    let mut out = Vec::new();
    if positions.len() <= 3 {
        let total = DASHES.len().pow(positions.len() as u32);
        for mut n in 0..total {
            let mut c = chars.clone();
            for &p in &positions {
                c[p] = DASHES[n % DASHES.len()];
                n /= DASHES.len();
            }
            out.push(c.into_iter().collect());
        }
    } else {
        for d in DASHES {
            let mut c = chars.clone();
            for &p in &positions {
                c[p] = d;
            }
            out.push(c.into_iter().collect());
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Enc {
    None,
    Utf16Le,
    Utf16Be,
    Utf16Bom,
}

fn encode(s: &str, enc: Enc) -> Vec<u8> {
    match enc {
        Enc::None => s.as_bytes().to_vec(),
        Enc::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Enc::Utf16Be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Enc::Utf16Bom => {
            let mut v = vec![0xFF, 0xFE];
            v.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
            v
        }
    }
}

/// The three base64 renderings of `data` at byte offsets 0, 1, 2 (pySigma `base64offset`).
pub fn base64_offsets(data: &[u8]) -> Vec<String> {
    let start = [0usize, 2, 3];
    let end: [Option<usize>; 3] = [None, Some(3), Some(2)];
    (0..3)
        .map(|i| {
            let mut buf = vec![b' '; i];
            buf.extend_from_slice(data);
            let enc = B64.encode(&buf);
            let cut = end[(data.len() + i) % 3].map_or(enc.len(), |e| enc.len().saturating_sub(e));
            enc.get(start[i]..cut).unwrap_or("").to_owned()
        })
        .collect()
}

/// Placeholder names (`%name%`) used in a value.
pub fn placeholder_names(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(a) = rest.find('%') {
        let Some(b) = rest[a + 1..].find('%') else {
            break;
        };
        out.push(rest[a + 1..a + 1 + b].to_owned());
        rest = &rest[a + b + 2..];
    }
    out
}

fn expand(s: &str, ph: &Placeholders) -> Result<Vec<String>, String> {
    let mut outs = vec![String::new()];
    let mut rest = s;
    while let Some(a) = rest.find('%') {
        let Some(b) = rest[a + 1..].find('%') else {
            break;
        };
        let name = &rest[a + 1..a + 1 + b];
        // Unknown placeholders expand to nothing (the value matches nothing); the rule
        // compiler reports them as warnings.
        let empty = Vec::new();
        let vals = ph.get(name).unwrap_or(&empty);
        let prefix = &rest[..a];
        outs = outs
            .iter()
            .flat_map(|o| vals.iter().map(move |v| format!("{o}{prefix}{v}")))
            .collect();
        rest = &rest[a + b + 2..];
    }
    Ok(outs.into_iter().map(|o| o + rest).collect())
}

/// Builds the condition for one `key: value(s)` entry of a search map.
pub fn build_field_cond(key: &str, value: &Node, ph: &Placeholders) -> Result<FieldCond, String> {
    let (field, mods) = parse_key(key)?;
    let has = |m: Modifier| mods.contains(&m);
    let field_lower = field.to_lowercase();
    let values: Vec<&Node> = match &value.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Map(_) => return Err(format!("'{key}': a map is not a valid value")),
        _ => vec![value],
    };
    if has(Modifier::Exists) {
        let b = match values.as_slice() {
            [n] => match &n.value {
                Value::Bool(b) => *b,
                Value::Str(s) if s.eq_ignore_ascii_case("true") => true,
                Value::Str(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return Err(format!("'{key}': exists needs true or false")),
            },
            _ => return Err(format!("'{key}': exists needs one boolean")),
        };
        return Ok(FieldCond {
            field: field_lower,
            kind: CondKind::Exists(b),
        });
    }
    let all = has(Modifier::All);
    let cased = has(Modifier::Cased);
    let mut matchers = Vec::new();
    let cmp = [
        (Modifier::Gt, CmpOp::Gt),
        (Modifier::Gte, CmpOp::Gte),
        (Modifier::Lt, CmpOp::Lt),
        (Modifier::Lte, CmpOp::Lte),
    ]
    .into_iter()
    .find(|(m, _)| has(*m))
    .map(|(_, op)| op);
    let enc = if has(Modifier::Utf16Le) || has(Modifier::Wide) {
        Enc::Utf16Le
    } else if has(Modifier::Utf16Be) {
        Enc::Utf16Be
    } else if has(Modifier::Utf16) {
        Enc::Utf16Bom
    } else {
        Enc::None
    };
    if enc != Enc::None && !has(Modifier::Base64) && !has(Modifier::Base64Offset) {
        return Err(format!(
            "'{key}': utf16/wide modifiers must be followed by base64 or base64offset"
        ));
    }
    for v in values {
        let text = match &v.value {
            Value::Null => {
                matchers.push(Matcher::Null);
                continue;
            }
            Value::Seq(_) | Value::Map(_) => {
                return Err(format!("'{key}': nested collections are not valid values"));
            }
            _ => v.as_scalar_string().unwrap_or_default(),
        };
        if let Some(op) = cmp {
            let n = super::eval::parse_number(&text)
                .ok_or_else(|| format!("'{key}': '{text}' is not a number"))?;
            matchers.push(Matcher::Cmp(op, n));
            continue;
        }
        if has(Modifier::Cidr) {
            let net = text
                .trim()
                .parse::<ipnet::IpNet>()
                .or_else(|_| {
                    text.trim()
                        .parse::<std::net::IpAddr>()
                        .map(ipnet::IpNet::from)
                })
                .map_err(|_| format!("'{key}': '{text}' is not a CIDR network"))?;
            matchers.push(Matcher::Cidr(net));
            continue;
        }
        if has(Modifier::FieldRef) {
            let mode = if has(Modifier::Contains) {
                RefMode::Contains
            } else if has(Modifier::StartsWith) {
                RefMode::Prefix
            } else if has(Modifier::EndsWith) {
                RefMode::Suffix
            } else {
                RefMode::Eq
            };
            matchers.push(Matcher::FieldRef {
                field: text.to_lowercase(),
                mode,
                cased,
            });
            continue;
        }
        if has(Modifier::Re) {
            let mut b = RegexBuilder::new(&text);
            b.case_insensitive(has(Modifier::ReI))
                .multi_line(has(Modifier::ReM))
                .dot_matches_new_line(has(Modifier::ReS))
                .size_limit(REGEX_SIZE_LIMIT);
            let re = b
                .build()
                .map_err(|e| format!("'{key}': invalid regex: {}", first_line(&e.to_string())))?;
            matchers.push(Matcher::Re(re));
            continue;
        }
        // String value pipeline: expand -> windash -> encoding/base64 -> contains/starts/ends.
        let mut variants = if has(Modifier::Expand) {
            expand(&text, ph)?
        } else {
            vec![text]
        };
        if has(Modifier::Windash) {
            variants = variants.iter().flat_map(|s| windash_variants(s)).collect();
        }
        let mut patterns: Vec<Vec<Part>> = Vec::new();
        if has(Modifier::Base64) || has(Modifier::Base64Offset) {
            for s in &variants {
                let parts = parse_pattern(s);
                if has_wildcards(&parts) {
                    return Err(format!("'{key}': base64 values cannot contain wildcards"));
                }
                let bytes = encode(&literal_of(&parts), enc);
                if has(Modifier::Base64Offset) {
                    for e in base64_offsets(&bytes) {
                        patterns.push(vec![Part::Lit(e)]);
                    }
                } else {
                    patterns.push(vec![Part::Lit(B64.encode(&bytes))]);
                }
            }
        } else {
            patterns = variants.iter().map(|s| parse_pattern(s)).collect();
        }
        // base64 output is case-sensitive by nature.
        let pat_cased = cased || has(Modifier::Base64) || has(Modifier::Base64Offset);
        for mut p in patterns {
            if has(Modifier::Contains) || has(Modifier::EndsWith) {
                p.insert(0, Part::Star);
            }
            if has(Modifier::Contains) || has(Modifier::StartsWith) {
                p.push(Part::Star);
            }
            if field.is_empty() && !has(Modifier::Contains) {
                // Keyword search: match anywhere in a value.
                p.insert(0, Part::Star);
                p.push(Part::Star);
            }
            matchers.push(Matcher::Str(compile_pattern(&p, pat_cased)?));
        }
    }
    if !all {
        matchers = merge_contains(matchers);
    }
    if matchers.is_empty() && !has(Modifier::Expand) {
        return Err(format!("'{key}': empty value list"));
    }
    Ok(FieldCond {
        field: field_lower,
        kind: CondKind::Values { matchers, all },
    })
}

/// Replaces many plain `contains` matchers (same casing) by one Aho-Corasick matcher.
fn merge_contains(matchers: Vec<Matcher>) -> Vec<Matcher> {
    const MIN: usize = 8;
    for cased in [false, true] {
        let n = matchers
            .iter()
            .filter(|m| matches!(m, Matcher::Str(s) if s.cased == cased && matches!(s.m, StrMatch::Contains(..))))
            .count();
        if n < MIN {
            continue;
        }
        let mut lits = Vec::new();
        let mut rest = Vec::new();
        for m in matchers {
            match m {
                Matcher::Str(StrMatcher {
                    m: StrMatch::Contains(l, _),
                    cased: c,
                }) if c == cased => lits.push(l),
                other => rest.push(other),
            }
        }
        // A contiguous NFA: a fraction of a DFA's memory, and nearly as fast here.
        let built = aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(&lits);
        let Ok(ac) = built else {
            // Fall back to individual searches.
            rest.extend(lits.into_iter().map(|l| {
                let f = Box::new(memchr::memmem::Finder::new(l.as_bytes()).into_owned());
                Matcher::Str(StrMatcher {
                    m: StrMatch::Contains(l, f),
                    cased,
                })
            }));
            return rest;
        };
        rest.push(Matcher::AnyContains {
            ac: Box::new(ac),
            lits,
            cased,
        });
        return merge_contains(rest);
    }
    matchers
}

/// Builds a keyword matcher (unfielded search value).
pub fn build_keywords(values: &[&Node], ph: &Placeholders) -> Result<FieldCond, String> {
    let node = Node::new(Value::Seq(values.iter().map(|n| (*n).clone()).collect()));
    build_field_cond("", &node, ph)
}

fn first_line(s: &str) -> String {
    s.lines().last().unwrap_or(s).trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            parse_pattern(r"a\*b\\c\d*"),
            vec![Part::Lit(r"a*b\c\d".into()), Part::Star]
        );
    }

    #[test]
    fn b64offset() {
        // Values from the Sigma specification for "/bin/sh".
        let v = base64_offsets(b"/bin/sh");
        assert_eq!(v, vec!["L2Jpbi9za", "9iaW4vc2", "vYmluL3No"]);
    }

    #[test]
    fn windash() {
        let v = windash_variants("-enc");
        assert_eq!(v.len(), 5);
        assert!(v.contains(&"/enc".to_owned()));
        assert!(v.contains(&"\u{2013}enc".to_owned()));
    }

    #[test]
    fn expand_placeholders() {
        let mut ph = Placeholders::new();
        ph.insert("Admins".into(), vec!["root".into(), "admin".into()]);
        assert_eq!(
            expand("x%Admins%y", &ph).unwrap(),
            vec!["xrooty", "xadminy"]
        );
        assert!(expand("%nope%", &ph).unwrap().is_empty());
    }

    fn reference(pattern: &str, text: &str) -> bool {
        let mut re = String::from("(?s)^");
        for x in parse_pattern(pattern) {
            match x {
                Part::Lit(l) => re.push_str(&regex::escape(&l.to_lowercase())),
                Part::Star => re.push_str(".*"),
                Part::One => re.push('.'),
            }
        }
        re.push('$');
        regex::Regex::new(&re)
            .unwrap()
            .is_match(&text.to_lowercase())
    }

    fn compiled(pattern: &str, text: &str) -> bool {
        let m = compile_pattern(&parse_pattern(pattern), false).unwrap();
        let v = crate::event::FieldValue::new(text, crate::event::ValueKind::Str);
        m.matches(&v)
    }

    #[test]
    fn star_patterns_match_literals_in_order() {
        let m = compile_pattern(&parse_pattern("-Properties*Trusted*Delegation"), false).unwrap();
        assert!(matches!(m.m, StrMatch::Seq(_)));
        assert_eq!(m.required_literal().as_deref(), Some("-properties"));
        for (p, t, want) in [
            ("ab*ba", "aba", false),
            ("ab*ba", "abba", true),
            ("*a*a*", "a", false),
            ("*a*a*", "xaxa", true),
            ("x*y*z", "xzyz", true),
            ("x*y*z", "xzy", false),
            (
                "*-Properties*TrustedForDelegation*",
                "Get-ADComputer -PROPERTIES Name,TrustedForDelegation",
                true,
            ),
        ] {
            assert_eq!(compiled(p, t), want, "{p} on {t}");
            assert_eq!(reference(p, t), want, "reference {p} on {t}");
        }
    }

    proptest::proptest! {
        /// Every compiled wildcard pattern agrees with the plain regex translation of it.
        #[test]
        fn compiled_patterns_agree_with_regex(
            pattern in "[abAB*?]{0,8}",
            text in "[abAB]{0,10}",
        ) {
            proptest::prop_assert_eq!(compiled(&pattern, &text), reference(&pattern, &text));
        }
    }
}
