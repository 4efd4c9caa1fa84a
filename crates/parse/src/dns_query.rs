//! DNS resolver query logs: BIND's `queries` channel
//! (`... client @0x.. 192.0.2.1#53000 (example.com): query: example.com IN A +E(0)K (192.0.2.53)`)
//! and Unbound's `log-queries` (`[1700000000] unbound[1:0] info: 192.0.2.1 example.com. A IN`).

use serde_json::json;

use crate::{Event, ParseError};

const FORMAT: &str = "dns-query";

fn addr_port(s: &str) -> (String, Option<u16>) {
    match s.rsplit_once('#') {
        Some((a, p)) => (a.to_owned(), p.parse().ok()),
        None => (s.to_owned(), None),
    }
}

pub fn parse(line: &str) -> Result<Event, ParseError> {
    ParseError::check_len(FORMAT, line)?;
    let mut ev = Event::new();
    if let Some(i) = line.find("query: ") {
        // BIND
        let before = &line[..i];
        let client = before
            .split_whitespace()
            .find(|w| {
                w.contains('#')
                    && w.chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_hexdigit() || c == ':')
            })
            .ok_or_else(|| ParseError::at(FORMAT, 0, "the client address#port"))?;
        let (ip, port) = addr_port(client);
        let q: Vec<&str> = line[i + 7..].split_whitespace().collect();
        if q.len() < 3 {
            return Err(ParseError::at(
                FORMAT,
                i + 7,
                "NAME CLASS TYPE after 'query:'",
            ));
        }
        ev.insert("source.ip".into(), json!(ip));
        if let Some(p) = port {
            ev.insert("source.port".into(), json!(p));
        }
        ev.insert(
            "dns.question.name".into(),
            json!(q[0].trim_end_matches('.')),
        );
        ev.insert("dns.question.class".into(), json!(q[1]));
        ev.insert("dns.question.type".into(), json!(q[2]));
        ev.insert("observer.product".into(), json!("bind"));
        return Ok(ev);
    }
    if let Some(i) = line.find(" info: ") {
        // Unbound
        let q: Vec<&str> = line[i + 7..].split_whitespace().collect();
        if q.len() < 4 {
            return Err(ParseError::at(
                FORMAT,
                i + 7,
                "CLIENT NAME TYPE CLASS after 'info:'",
            ));
        }
        if let Some(ts) = line
            .strip_prefix('[')
            .and_then(|r| r.split(']').next())
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(|t| t.checked_mul(1000))
        {
            ev.insert("@timestamp".into(), json!(ts));
        }
        ev.insert("source.ip".into(), json!(q[0]));
        ev.insert(
            "dns.question.name".into(),
            json!(q[1].trim_end_matches('.')),
        );
        ev.insert("dns.question.type".into(), json!(q[2]));
        ev.insert("dns.question.class".into(), json!(q[3]));
        ev.insert("observer.product".into(), json!("unbound"));
        return Ok(ev);
    }
    Err(ParseError::at(
        FORMAT,
        0,
        "a BIND 'query:' or an Unbound 'info:' query line",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn bind_and_unbound() {
        let e = super::parse("25-Nov-2026 22:14:15.123 queries: info: client @0x7f1c 192.0.2.10#53123 (evil.example): query: evil.example IN A +E(0)K (192.0.2.53)").unwrap();
        assert_eq!(
            (
                e["source.ip"].as_str(),
                e["dns.question.name"].as_str(),
                e["dns.question.type"].as_str()
            ),
            (Some("192.0.2.10"), Some("evil.example"), Some("A"))
        );
        let e = super::parse("[1795640055] unbound[1234:0] info: 192.0.2.11 c2.example. AAAA IN")
            .unwrap();
        assert_eq!(
            (e["dns.question.name"].as_str(), e["@timestamp"].as_i64()),
            (Some("c2.example"), Some(1_795_640_055_000))
        );
        assert!(super::parse("hello").is_err());
        // A time too large for milliseconds is left out, not overflowed.
        let e =
            super::parse("[9223372036854775807] unbound[1:0] info: 192.0.2.11 c2.example. A IN")
                .unwrap();
        assert!(e.get("@timestamp").is_none());
    }
}
