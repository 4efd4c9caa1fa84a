//! STIX 2.1 objects as a feed (what a TAXII collection serves): `indicator`s whose STIX pattern
//! is satisfied by any one of its `=` tests (observations joined by OR, each of `=` tests
//! joined by OR: `Pattern::alternative_equalities`; each `url:value`, `domain-name:value`,
//! `ipv4-addr:value` or `ipv6-addr:value` test is an item), and the observables `url`,
//! `domain-name`, `ipv4-addr` and `ipv6-addr` themselves. Other objects (reports, identities,
//! relationships, file hashes...) say nothing a network owner can be notified about and are
//! passed over; revoked indicators too, and patterns with AND, FOLLOWEDBY, qualifiers or other
//! operators, where no single value is the finding. A value named by an indicator and an
//! observable in the same batch is one item (the indicator's, which says what it is).

use std::collections::HashSet;

use mamori_model::ValueKind;
use serde_json::Value;

use super::{FeedReport, LineProblem, time, url_observation};
use crate::Observation;
use crate::evidence::Evidence;

/// The kind of a STIX object path or observable type Mamori notifies about.
fn kind_of(stix_type: &str) -> Option<ValueKind> {
    Some(match stix_type {
        "url" => ValueKind::Url,
        "domain-name" => ValueKind::Domain,
        "ipv4-addr" => ValueKind::Ipv4,
        "ipv6-addr" => ValueKind::Ipv6,
        _ => return None,
    })
}

fn text<'a>(o: &'a Value, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

fn evidence(o: &Value) -> Evidence {
    let mut e: Vec<(String, String)> = Vec::new();
    for key in [
        "id",
        "type",
        "name",
        "pattern",
        "created_by_ref",
        "valid_from",
    ] {
        if let Some(v) = text(o, key) {
            e.push((format!("stix_{key}"), v.chars().take(1000).collect()));
        }
    }
    e.into_iter().collect()
}

fn observation(
    kind: ValueKind,
    raw: &str,
    source: &str,
    category: &str,
    seen_at: Option<i64>,
    evidence: Evidence,
    line: usize,
) -> Result<Observation, String> {
    if kind == ValueKind::Url {
        return url_observation(raw, source, category.to_owned(), seen_at, evidence, line);
    }
    let value = mamori_share::normalise::normalise(kind, raw).map_err(|e| e.to_string())?;
    let ip = match kind {
        ValueKind::Ipv4 | ValueKind::Ipv6 => Some(
            value
                .parse()
                .map_err(|_| format!("{value:?} is not a single address"))?,
        ),
        _ => None,
    };
    Ok(Observation {
        hostname: (kind == ValueKind::Domain).then(|| value.clone()),
        kind,
        value,
        seen_at,
        source: source.to_owned(),
        category: category.to_owned(),
        ip,
        port: None,
        asn: None,
        evidence,
        line,
    })
}

/// What an indicator says it is: its first `indicator_types` entry, else its first label,
/// else `indicator`.
fn indicator_category(o: &Value) -> String {
    ["indicator_types", "labels"]
        .iter()
        .find_map(|k| {
            o.get(*k)
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "indicator".to_owned())
}

/// The items of STIX objects (in the order a TAXII server listed them; `line` is the position,
/// from 1). `source` names the feed, e.g. `taxii:partner-csirt`.
pub fn parse_stix_objects(objects: &[Value], source: &str) -> FeedReport {
    let mut report = FeedReport {
        lines: objects.len(),
        ..FeedReport::default()
    };
    let mut seen: HashSet<(ValueKind, String)> = HashSet::new();
    let mut push = |report: &mut FeedReport, r: Result<Observation, String>, line: usize| match r {
        Ok(o) => {
            if seen.insert((o.kind, o.value.clone())) {
                report.observations.push(o);
            }
        }
        Err(message) => report.problems.push(LineProblem { line, message }),
    };
    // Indicators first, so that a value named by both keeps the indicator's category.
    for (i, o) in objects.iter().enumerate() {
        let line = i + 1;
        if text(o, "type") != Some("indicator") || o.get("revoked") == Some(&Value::Bool(true)) {
            continue;
        }
        if text(o, "pattern_type").is_some_and(|t| t != "stix") {
            continue;
        }
        let Some(pattern) = text(o, "pattern") else {
            push(&mut report, Err("indicator without a pattern".into()), line);
            continue;
        };
        let parsed = match mamori_stix::Pattern::parse(pattern) {
            Ok(p) => p,
            Err(e) => {
                push(&mut report, Err(format!("pattern: {e}")), line);
                continue;
            }
        };
        let category = indicator_category(o);
        let seen_at = ["valid_from", "modified", "created"]
            .iter()
            .find_map(|k| text(o, k).and_then(time::parse));
        for (path, value) in parsed.alternative_equalities() {
            let Some(kind) = path
                .strip_suffix(":value")
                .and_then(|t| kind_of(t.trim_matches('\'')))
            else {
                continue;
            };
            let r = observation(kind, &value, source, &category, seen_at, evidence(o), line);
            push(&mut report, r, line);
        }
    }
    for (i, o) in objects.iter().enumerate() {
        let line = i + 1;
        let Some(kind) = text(o, "type").and_then(kind_of) else {
            continue;
        };
        let Some(value) = text(o, "value") else {
            push(&mut report, Err("observable without a value".into()), line);
            continue;
        };
        let r = observation(kind, value, source, "observed", None, evidence(o), line);
        push(&mut report, r, line);
    }
    report
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn indicators_and_observables_become_items() {
        let objects = vec![
            json!({"type": "identity", "id": "identity--1", "name": "x"}),
            json!({"type": "indicator", "id": "indicator--1", "pattern_type": "stix",
                   "pattern": "[domain-name:value = 'C2.Example' OR url:value = 'http://203.0.113.7/a.sh']",
                   "indicator_types": ["malicious-activity"], "valid_from": "2026-11-25T01:00:00Z"}),
            json!({"type": "indicator", "id": "indicator--2", "pattern_type": "stix",
                   "pattern": "[ipv4-addr:value = '198.51.100.1'] AND [domain-name:value = 'x.example']"}),
            json!({"type": "indicator", "id": "indicator--6", "labels": ["phishing"],
                   "pattern": "[domain-name:value = 'a.example'] OR [domain-name:value = 'b.example']"}),
            json!({"type": "indicator", "id": "indicator--3", "revoked": true,
                   "pattern": "[domain-name:value = 'revoked.example']"}),
            json!({"type": "indicator", "id": "indicator--4", "pattern": "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"}),
            json!({"type": "indicator", "id": "indicator--5", "pattern": "[broken"}),
            json!({"type": "domain-name", "id": "domain-name--1", "value": "c2.example"}),
            json!({"type": "ipv6-addr", "id": "ipv6-addr--1", "value": "2001:DB8::1"}),
            json!({"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "not-an-address"}),
        ];
        let r = parse_stix_objects(&objects, "taxii:test");
        assert_eq!(r.lines, 10);
        let got: Vec<(ValueKind, &str, &str)> = r
            .observations
            .iter()
            .map(|o| (o.kind, o.value.as_str(), o.category.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (ValueKind::Domain, "c2.example", "malicious-activity"),
                (
                    ValueKind::Url,
                    "http://203.0.113.7/a.sh",
                    "malicious-activity"
                ),
                (ValueKind::Domain, "a.example", "phishing"),
                (ValueKind::Domain, "b.example", "phishing"),
                (ValueKind::Ipv6, "2001:db8::1", "observed"),
            ]
        );
        assert_eq!(r.observations[1].ip, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(
            r.observations[0].evidence.get("stix_id"),
            Some("indicator--1")
        );
        assert!(r.observations[0].seen_at.is_some());
        assert_eq!(
            r.problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            vec![7, 10]
        );
    }
}
