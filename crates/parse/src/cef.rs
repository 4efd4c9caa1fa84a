//! ArcSight Common Event Format: `CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|
//! Extension`, alone or after a syslog prefix. Header fields unescape `\|` and `\\`; extension
//! values unescape `\=`, `\\`, `\n`, `\r` and may contain spaces. Common extension keys map to ECS
//! names; custom strings (`cs1` + `cs1Label`) and unknown keys are kept under `raw.cef.*`.

use serde_json::json;

use crate::{Event, ParseError};

const FORMAT: &str = "cef";

fn ecs_name(key: &str) -> Option<&'static str> {
    Some(match key {
        "src" => "source.ip",
        "dst" => "destination.ip",
        "spt" => "source.port",
        "dpt" => "destination.port",
        "shost" => "source.domain",
        "dhost" => "destination.domain",
        "smac" => "source.mac",
        "dmac" => "destination.mac",
        "suser" => "source.user.name",
        "duser" => "destination.user.name",
        "act" => "event.action",
        "msg" => "message",
        "proto" => "network.transport",
        "app" => "network.protocol",
        "request" => "url.original",
        "requestMethod" => "http.request.method",
        "requestClientApplication" => "user_agent.original",
        "fname" => "file.name",
        "filePath" => "file.path",
        "fsize" => "file.size",
        "fileHash" => "file.hash.sha256",
        "in" => "source.bytes",
        "out" => "destination.bytes",
        "cnt" => "event.count",
        "outcome" => "event.outcome",
        "dvchost" => "observer.hostname",
        "dvc" => "observer.ip",
        "rt" => "@timestamp",
        "start" => "event.start",
        "end" => "event.end",
        _ => return None,
    })
}

fn is_numeric_field(name: &str) -> bool {
    matches!(
        name,
        "source.port"
            | "destination.port"
            | "file.size"
            | "source.bytes"
            | "destination.bytes"
            | "event.count"
    )
}

/// Splits the seven header fields (unescaping `\|` and `\\`) and returns the extension.
fn header(s: &str, base: usize) -> Result<(Vec<String>, &str), ParseError> {
    let mut fields = Vec::with_capacity(7);
    let mut cur = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, n @ ('|' | '\\'))) => cur.push(n),
                Some((_, n)) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
            '|' => {
                fields.push(std::mem::take(&mut cur));
                if fields.len() == 7 {
                    return Ok((fields, &s[i + 1..]));
                }
            }
            c => cur.push(c),
        }
    }
    if fields.len() == 6 {
        // A header without extension and without the final '|'.
        fields.push(cur);
        return Ok((fields, ""));
    }
    Err(ParseError::at(
        FORMAT,
        base + s.len(),
        "seven '|'-separated header fields",
    ))
}

/// Finds the `key=` starts in an extension: a key is `[A-Za-z0-9_.]+` preceded by start or space.
fn extension(s: &str, base: usize) -> Result<Vec<(String, String)>, ParseError> {
    let b = s.as_bytes();
    let mut starts = Vec::new(); // (key_start, eq_pos)
    let mut i = 0;
    while i < b.len() {
        if (i == 0 || b[i - 1] == b' ') && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'.') {
                j += 1;
            }
            if j < b.len() && b[j] == b'=' && (j == 0 || b[j - 1] != b'\\') {
                starts.push((i, j));
                i = j + 1;
                continue;
            }
        }
        i += 1;
    }
    if starts.is_empty() && !s.trim().is_empty() {
        return Err(ParseError::at(
            FORMAT,
            base,
            "key=value pairs in the extension",
        ));
    }
    let mut out = Vec::with_capacity(starts.len());
    for (n, (ks, eq)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(s.len(), |(next, _)| *next);
        let raw = s[eq + 1..end].trim_end_matches(' ');
        let mut v = String::with_capacity(raw.len());
        let mut cs = raw.chars();
        while let Some(c) = cs.next() {
            if c == '\\' {
                match cs.next() {
                    Some('n') => v.push('\n'),
                    Some('r') => v.push('\r'),
                    Some(o) => v.push(o),
                    None => v.push('\\'),
                }
            } else {
                v.push(c);
            }
        }
        out.push((s[*ks..*eq].to_owned(), v));
    }
    Ok(out)
}

/// Parses a CEF record (a leading syslog header, if any, is skipped up to `CEF:`).
pub fn parse(line: &str) -> Result<Event, ParseError> {
    ParseError::check_len(FORMAT, line)?;
    let line = line.trim_end_matches(['\r', '\n']);
    let start = line
        .find("CEF:")
        .ok_or_else(|| ParseError::at(FORMAT, 0, "'CEF:'"))?;
    let body = &line[start + 4..];
    let (h, ext) = header(body, start + 4)?;
    let mut ev = Event::new();
    ev.insert("cef.version".into(), json!(h[0]));
    ev.insert("observer.vendor".into(), json!(h[1]));
    ev.insert("observer.product".into(), json!(h[2]));
    ev.insert("observer.version".into(), json!(h[3]));
    ev.insert("event.code".into(), json!(h[4]));
    ev.insert("rule.name".into(), json!(h[5]));
    let sev = match h[6].trim().to_ascii_lowercase().as_str() {
        "low" => 3,
        "medium" => 5,
        "high" => 8,
        "very-high" => 10,
        n => n
            .parse::<u8>()
            .map_err(|_| {
                ParseError::at(
                    FORMAT,
                    start + 4,
                    "a severity 0-10 or Low/Medium/High/Very-High",
                )
            })?
            .min(10),
    };
    ev.insert("event.severity".into(), json!(sev));
    let pairs = extension(ext, start + 4 + body.len() - ext.len())?;
    let label = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == &format!("{k}Label"))
            .map(|(_, v)| v.clone())
    };
    for (k, v) in &pairs {
        if k.ends_with("Label") {
            continue;
        }
        if let Some(name) = ecs_name(k) {
            if is_numeric_field(name)
                && let Ok(n) = v.parse::<u64>()
            {
                ev.insert(name.into(), json!(n));
                continue;
            }
            if name == "@timestamp"
                && let Ok(ms) = v.parse::<i64>()
            {
                ev.insert("@timestamp".into(), json!(ms));
                continue;
            }
            ev.insert(name.into(), json!(v));
        } else {
            let key = match label(k) {
                Some(l) if !l.is_empty() => format!("raw.cef.{l}"),
                _ => format!("raw.cef.{k}"),
            };
            ev.insert(key, json!(v));
        }
    }
    if !ev.contains_key("message") {
        ev.insert("message".into(), json!(h[5]));
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_extension_and_labels() {
        let e = parse(r"<134>Nov 25 22:00:00 fw CEF:0|Palo Alto\|PAN|PAN-OS|11.1|threat|Spyware C2 検知|High|src=192.0.2.10 dst=203.0.113.5 spt=51515 dpt=443 act=blocked request=https://c2.example/x?a\=1 cs1Label=Rule cs1=Block C2 msg=C2 traffic to c2.example suser=CORP\\taro").unwrap();
        assert_eq!(e["observer.vendor"], "Palo Alto|PAN");
        assert_eq!(e["rule.name"], "Spyware C2 検知");
        assert_eq!(e["event.severity"], 8);
        assert_eq!(e["source.ip"], "192.0.2.10");
        assert_eq!(e["destination.port"], 443);
        assert_eq!(e["url.original"], "https://c2.example/x?a=1");
        assert_eq!(e["raw.cef.Rule"], "Block C2");
        assert_eq!(e["message"], "C2 traffic to c2.example");
        assert_eq!(e["source.user.name"], "CORP\\taro");
    }

    #[test]
    fn errors() {
        assert!(matches!(
            parse("nothing here"),
            Err(ParseError::Syntax { offset: 0, .. })
        ));
        assert!(matches!(
            parse("CEF:0|a|b|c"),
            Err(ParseError::Syntax { .. })
        ));
        assert!(matches!(
            parse("CEF:0|a|b|c|d|e|severe|x=1"),
            Err(ParseError::Syntax { .. })
        ));
        assert!(parse("CEF:0|a|b|c|d|e|5").is_ok());
    }
}
