//! Web server access logs in the NCSA combined format (Apache's `combined`, nginx's default):
//! `IP - USER [dd/Mon/yyyy:HH:MM:SS +zzzz] "METHOD URL PROTO" STATUS BYTES "REFERER" "UA"`.
//! The common format (without referer and agent) is accepted too.

use serde_json::json;

use crate::{Event, ParseError};

const FORMAT: &str = "access-log";

/// Reads a `"..."` field with `\"` escapes starting at `s[0] == '"'`; returns it and the rest.
fn quoted(s: &str, base: usize) -> Result<(String, &str), ParseError> {
    let inner = s
        .strip_prefix('"')
        .ok_or_else(|| ParseError::at(FORMAT, base, "'\"'"))?;
    let mut out = String::new();
    let mut chars = inner.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    out.push(n);
                }
            }
            '"' => return Ok((out, &inner[i + 1..])),
            c => out.push(c),
        }
    }
    Err(ParseError::at(FORMAT, base + s.len(), "a closing '\"'"))
}

pub fn parse(line: &str) -> Result<Event, ParseError> {
    ParseError::check_len(FORMAT, line)?;
    let line = line.trim_end_matches(['\r', '\n']);
    let mut it = line.splitn(4, ' ');
    let ip = it
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ParseError::at(FORMAT, 0, "the client address"))?;
    let _ident = it
        .next()
        .ok_or_else(|| ParseError::at(FORMAT, ip.len(), "the ident field"))?;
    let user = it
        .next()
        .ok_or_else(|| ParseError::at(FORMAT, ip.len(), "the user field"))?;
    let rest = it.next().unwrap_or("");
    let base = line.len() - rest.len();
    let rest = rest
        .strip_prefix('[')
        .ok_or_else(|| ParseError::at(FORMAT, base, "'[' starting the time"))?;
    let (time, rest) = rest
        .split_once("] ")
        .ok_or_else(|| ParseError::at(FORMAT, base, "'] ' ending the time"))?;
    let base = line.len() - rest.len();
    let (request, rest) = quoted(rest, base)?;
    let mut tail = rest.trim_start().splitn(3, ' ');
    let status = tail
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| ParseError::at(FORMAT, line.len() - rest.len(), "a status code"))?;
    let bytes = tail.next().unwrap_or("-");
    let mut ev = Event::new();
    ev.insert("source.ip".into(), json!(ip));
    if user != "-" {
        ev.insert("user.name".into(), json!(user));
    }
    ev.insert("raw.access_log.time".into(), json!(time));
    let mut req = request.splitn(3, ' ');
    if let (Some(m), Some(u)) = (req.next(), req.next()) {
        ev.insert("http.request.method".into(), json!(m));
        ev.insert("url.original".into(), json!(u));
        if let Some(p) = req.next() {
            ev.insert("http.version".into(), json!(p.trim_start_matches("HTTP/")));
        }
    } else {
        ev.insert("raw.access_log.request".into(), json!(request));
    }
    ev.insert("http.response.status_code".into(), json!(status));
    if let Ok(b) = bytes.parse::<u64>() {
        ev.insert("http.response.body.bytes".into(), json!(b));
    }
    if let Some(more) = tail.next() {
        let more = more.trim_start();
        if more.starts_with('"') {
            let base2 = line.len() - more.len();
            let (referer, after) = quoted(more, base2)?;
            if referer != "-" {
                ev.insert("http.request.referrer".into(), json!(referer));
            }
            let after = after.trim_start();
            if after.starts_with('"') {
                let (ua, _) = quoted(after, line.len() - after.len())?;
                if ua != "-" {
                    ev.insert("user_agent.original".into(), json!(ua));
                }
            }
        }
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    #[test]
    fn combined_and_common() {
        let e = super::parse(r#"198.51.100.23 - - [25/Nov/2026:22:14:15 +0900] "GET /wp-login.php?x=\"1\" HTTP/1.1" 404 153 "-" "Mozilla/5.0 (compatible; scan)""#).unwrap();
        assert_eq!(e["source.ip"], "198.51.100.23");
        assert_eq!(e["url.original"], "/wp-login.php?x=\"1\"");
        assert_eq!(e["http.response.status_code"], 404);
        assert_eq!(e["user_agent.original"], "Mozilla/5.0 (compatible; scan)");
        let e = super::parse(
            r#"192.0.2.1 - alice [25/Nov/2026:22:14:15 +0000] "POST /api HTTP/2.0" 200 -"#,
        )
        .unwrap();
        assert_eq!(
            (e["user.name"].as_str(), e["http.version"].as_str()),
            (Some("alice"), Some("2.0"))
        );
        assert!(super::parse("garbage").is_err());
        assert!(super::parse(r#"1.2.3.4 - - [x] "GET / HTTP/1.1" abc 1"#).is_err());
    }
}
