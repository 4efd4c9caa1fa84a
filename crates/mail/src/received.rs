//! The Received chain as hops in delivery order: from host, by host, the first IP literal of the
//! `from` clause, the hop time (after the last `;`) and the delay since the previous hop.

use mail_parser::{DateTime, Message};

use crate::headers::raw_headers;
use crate::report::Hop;

/// Most Received headers looked at (mail loops produce hundreds).
const MAX_HOPS: usize = 64;

pub fn extract(msg: &Message<'_>) -> Vec<Hop> {
    let mut hops: Vec<Hop> = raw_headers(msg, "Received")
        .iter()
        .take(MAX_HOPS)
        .map(|raw| parse(&String::from_utf8_lossy(raw)))
        .collect();
    hops.reverse();
    let mut prev: Option<i64> = None;
    for hop in &mut hops {
        if let (Some(p), Some(t)) = (prev, hop.timestamp) {
            hop.delay_secs = Some(t - p);
        }
        if hop.timestamp.is_some() {
            prev = hop.timestamp;
        }
    }
    hops
}

/// Parses one unfolded Received value.
pub fn parse(value: &str) -> Hop {
    let (clauses, date) = match value.rsplit_once(';') {
        Some((c, d)) => (c, Some(d.trim())),
        None => (value, None),
    };
    let lower = clauses.to_ascii_lowercase();
    let by_pos = find_word(&lower, "by");
    let from_clause = match (find_word(&lower, "from"), by_pos) {
        (Some(f), Some(b)) if f < b => Some(&clauses[f..b]),
        (Some(f), None) => Some(&clauses[f..]),
        _ => None,
    };
    let mut hop = Hop {
        from_host: from_clause.and_then(|c| token_after(c, 4)),
        by_host: by_pos.and_then(|b| token_after(&clauses[b..], 2)),
        ip: from_clause.and_then(first_ip),
        ..Hop::default()
    };
    if let Some(dt) = date
        .and_then(DateTime::parse_rfc822)
        .filter(DateTime::is_valid)
    {
        hop.time = Some(dt.to_rfc3339());
        hop.timestamp = Some(dt.to_timestamp());
    }
    hop
}

/// Byte offset of `word` as a whole word (at start or after whitespace, followed by whitespace).
fn find_word(lower: &str, word: &str) -> Option<usize> {
    let bytes = lower.as_bytes();
    let mut start = 0;
    while let Some(pos) = lower.get(start..)?.find(word) {
        let at = start + pos;
        let before_ok = at == 0 || bytes[at - 1].is_ascii_whitespace() || bytes[at - 1] == b')';
        let after_ok = bytes
            .get(at + word.len())
            .is_some_and(u8::is_ascii_whitespace);
        if before_ok && after_ok {
            return Some(at);
        }
        start = at + word.len();
    }
    None
}

fn token_after(clause: &str, skip: usize) -> Option<String> {
    let tok = clause.get(skip..)?.split_whitespace().next()?;
    let tok = tok.trim_matches(['(', ')', '[', ']', ';', ',']);
    (!tok.is_empty()).then(|| tok.to_ascii_lowercase())
}

/// The first IPv4/IPv6 literal in brackets, else the first bare IPv4.
fn first_ip(clause: &str) -> Option<String> {
    let mut rest = clause;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else { break };
        let inner = after[..close]
            .trim_start_matches("IPv6:")
            .trim_start_matches("ipv6:");
        if inner.parse::<std::net::IpAddr>().is_ok() {
            return Some(inner.to_owned());
        }
        rest = &after[close..];
    }
    clause
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|t| t.parse::<std::net::Ipv4Addr>().is_ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_typical_hop() {
        let h = parse(
            "from mail.example.jp (mail.example.jp [203.0.113.5]) by mx.victim.jp (Postfix) with ESMTPS id ABC; Tue, 1 Apr 2025 10:00:00 +0900",
        );
        assert_eq!(h.from_host.as_deref(), Some("mail.example.jp"));
        assert_eq!(h.by_host.as_deref(), Some("mx.victim.jp"));
        assert_eq!(h.ip.as_deref(), Some("203.0.113.5"));
        assert_eq!(h.timestamp, Some(1_743_469_200));
    }

    #[test]
    fn ipv6_and_missing_from() {
        let h = parse("by relay.example with SMTP id x; Tue, 1 Apr 2025 01:00:00 +0000");
        assert_eq!(h.from_host, None);
        assert_eq!(h.by_host.as_deref(), Some("relay.example"));
        let h = parse("from x ([IPv6:2001:db8::1]) by y");
        assert_eq!(h.ip.as_deref(), Some("2001:db8::1"));
    }
}
