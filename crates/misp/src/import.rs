//! MISP event JSON → Mamori's sharing model. Attributes flagged `to_ids` become indicators, the
//! rest observables; `stix2-pattern` attributes become pattern indicators; TLP comes from the
//! `tlp:*` tags (the most restrictive wins); ATT&CK technique ids from galaxy clusters and
//! `mitre-attack` tags; other tags and cluster values become labels.

use mamori_model::{Tlp, ValueKind};
use serde::Serialize;

use crate::event::{Attribute, EventDocument, MispEvent};
use crate::types::to_kinds;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MispError {
    #[error("MISP event larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("MISP event has more than {limit} attributes")]
    TooManyAttributes { limit: usize },
    #[error("not a MISP event at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the MISP event has no info (title)")]
    NoTitle,
    #[error("a MISP feed manifest is a JSON object of event uuids")]
    NotManifest,
    #[error("{0:?} is not a MISP event uuid")]
    BadUuid(String),
}

/// Limits on untrusted input.
#[derive(Debug, Clone, Copy)]
pub struct ImportLimits {
    pub max_bytes: usize,
    pub max_attributes: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            max_attributes: 200_000,
        }
    }
}

/// One value taken from an attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedValue {
    pub kind: ValueKind,
    pub value: String,
    pub comment: String,
}

/// An attribute that did not become a value, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub misp_type: String,
    pub value: String,
    pub reason: String,
}

/// A MISP event read into the pieces of a Mamori report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub uuid: String,
    pub title: String,
    pub description: String,
    pub tlp: Option<Tlp>,
    pub labels: Vec<String>,
    pub attack_techniques: Vec<String>,
    pub indicators: Vec<ImportedValue>,
    /// STIX 2.1 patterns from `stix2-pattern` attributes.
    pub patterns: Vec<String>,
    pub observables: Vec<ImportedValue>,
    pub skipped: Vec<Skipped>,
    pub source_org: Option<String>,
}

fn tlp_of_tag(name: &str) -> Option<Tlp> {
    let lower = name.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("tlp:")?;
    rest.parse().ok()
}

/// `T1566` or `T1566.001` inside a tag or cluster name.
fn technique_in(s: &str) -> Option<String> {
    let b = s.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'T'
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.len() >= i + 5
            && b[i + 1..i + 5].iter().all(u8::is_ascii_digit)
            && b.get(i + 5).is_none_or(|c| !c.is_ascii_digit())
        {
            let mut end = i + 5;
            if b.get(end) == Some(&b'.')
                && b.len() >= end + 4
                && b[end + 1..end + 4].iter().all(u8::is_ascii_digit)
            {
                end += 4;
            }
            return Some(s[i..end].to_owned());
        }
    }
    None
}

fn take_attribute(a: &Attribute, into: &mut Imported) {
    if a.kind == "stix2-pattern" {
        into.patterns.push(a.value.clone());
        return;
    }
    let values = to_kinds(&a.kind, &a.value);
    if values.is_empty() {
        into.skipped.push(Skipped {
            misp_type: a.kind.clone(),
            value: a.value.chars().take(200).collect(),
            reason: "no Mamori value kind for this MISP type".into(),
        });
        return;
    }
    for (kind, value) in values {
        let v = ImportedValue {
            kind,
            value,
            comment: a.comment.clone(),
        };
        if a.to_ids && kind != ValueKind::FileName {
            into.indicators.push(v);
        } else {
            into.observables.push(v);
        }
    }
}

/// Reads a MISP event document (`{"Event": ...}` or a bare event object).
pub fn parse_event(bytes: &[u8], limits: ImportLimits) -> Result<Imported, MispError> {
    if bytes.len() > limits.max_bytes {
        return Err(MispError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let json_err = |e: serde_json::Error| MispError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(json_err)?;
    let event: MispEvent = if value.get("Event").is_some() {
        serde_json::from_value::<EventDocument>(value)
            .map_err(json_err)?
            .event
    } else {
        serde_json::from_value(value).map_err(json_err)?
    };
    let total = event.attributes.len()
        + event
            .objects
            .iter()
            .map(|o| o.attributes.len())
            .sum::<usize>();
    if total > limits.max_attributes {
        return Err(MispError::TooManyAttributes {
            limit: limits.max_attributes,
        });
    }
    if event.info.trim().is_empty() {
        return Err(MispError::NoTitle);
    }
    let mut out = Imported {
        uuid: event.uuid.clone(),
        title: event.info.chars().take(500).collect(),
        description: String::new(),
        tlp: None,
        labels: Vec::new(),
        attack_techniques: Vec::new(),
        indicators: Vec::new(),
        patterns: Vec::new(),
        observables: Vec::new(),
        skipped: Vec::new(),
        source_org: event
            .orgc
            .as_ref()
            .map(|o| o.name.clone())
            .filter(|n| !n.is_empty()),
    };
    for t in &event.tags {
        if let Some(tlp) = tlp_of_tag(&t.name) {
            out.tlp = Some(out.tlp.map_or(tlp, |cur| cur.max(tlp)));
        } else if t.name.contains("mitre-attack")
            && let Some(id) = technique_in(&t.name)
        {
            out.attack_techniques.push(id);
        } else {
            out.labels.push(t.name.clone());
        }
    }
    for g in &event.galaxies {
        for c in &g.clusters {
            match technique_in(&c.value).or_else(|| technique_in(&c.tag_name)) {
                Some(id) if g.kind.contains("attack") || c.tag_name.contains("mitre-attack") => {
                    out.attack_techniques.push(id);
                }
                _ => out.labels.push(c.value.clone()),
            }
        }
    }
    for a in &event.attributes {
        take_attribute(a, &mut out);
    }
    for o in &event.objects {
        for a in &o.attributes {
            take_attribute(a, &mut out);
        }
    }
    out.attack_techniques.sort();
    out.attack_techniques.dedup();
    out.labels.sort();
    out.labels.dedup();
    let mut desc = format!("Imported from MISP event {}", event.uuid);
    if let Some(org) = &out.source_org {
        desc.push_str(&format!(" by {org}"));
    }
    if !event.date.is_empty() {
        desc.push_str(&format!(" ({})", event.date));
    }
    out.description = desc;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const EVENT: &str = r#"{"Event": {
        "uuid": "5b1f6a6e-0000-4000-8000-000000000001", "info": "フィッシングキャンペーン", "date": "2026-11-01",
        "threat_level_id": "2", "analysis": "1", "timestamp": "1790000000", "published": true,
        "Orgc": {"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
        "Tag": [{"name": "tlp:amber"}, {"name": "tlp:green"}, {"name": "phishing"},
                {"name": "misp-galaxy:mitre-attack-pattern=\"Spearphishing Link - T1566.002\""}],
        "Attribute": [
            {"type": "ip-dst", "category": "Network activity", "value": "198.51.100.9", "to_ids": true},
            {"type": "domain|ip", "value": "evil.example|203.0.113.5", "to_ids": "1"},
            {"type": "filename|sha256", "value": "invoice.exe|aaaa", "to_ids": 1},
            {"type": "comment", "value": "free text", "to_ids": false},
            {"type": "stix2-pattern", "value": "[url:value = 'http://x.example/']", "to_ids": true},
            {"type": "url", "value": "http://x.example/", "to_ids": false}
        ],
        "Object": [{"name": "email", "Attribute": [{"type": "email-src", "value": "a@b.example", "to_ids": true}]}],
        "Galaxy": [{"name": "Attack Pattern", "type": "mitre-attack-pattern",
                    "GalaxyCluster": [{"value": "Phishing - T1566", "tag_name": "misp-galaxy:mitre-attack-pattern=\"Phishing - T1566\""}]},
                   {"name": "Threat Actor", "type": "threat-actor", "GalaxyCluster": [{"value": "APT10"}]}]
    }}"#;

    #[test]
    fn maps_tags_attributes_and_galaxies() {
        let i = parse_event(EVENT.as_bytes(), ImportLimits::default()).unwrap();
        assert_eq!(i.title, "フィッシングキャンペーン");
        assert_eq!(i.tlp, Some(Tlp::Amber), "most restrictive tlp tag wins");
        assert_eq!(i.attack_techniques, vec!["T1566", "T1566.002"]);
        assert_eq!(i.labels, vec!["APT10", "phishing"]);
        let inds: Vec<_> = i
            .indicators
            .iter()
            .map(|v| (v.kind, v.value.as_str()))
            .collect();
        assert!(inds.contains(&(ValueKind::Ipv4, "198.51.100.9")));
        assert!(inds.contains(&(ValueKind::Domain, "evil.example")));
        assert!(inds.contains(&(ValueKind::Ipv4, "203.0.113.5")));
        assert!(inds.contains(&(ValueKind::Sha256, "aaaa")));
        assert!(inds.contains(&(ValueKind::Email, "a@b.example")));
        assert!(
            i.observables
                .iter()
                .any(|v| v.kind == ValueKind::FileName && v.value == "invoice.exe")
        );
        assert!(i.observables.iter().any(|v| v.kind == ValueKind::Url));
        assert_eq!(i.patterns, vec!["[url:value = 'http://x.example/']"]);
        assert_eq!(i.skipped.len(), 1);
        assert_eq!(i.skipped[0].misp_type, "comment");
        assert_eq!(i.source_org.as_deref(), Some("CIRCL"));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            parse_event(b"{\"Event\": ", ImportLimits::default()),
            Err(MispError::Json { .. })
        ));
        assert!(matches!(
            parse_event(b"{\"Event\": {\"info\": \"\"}}", ImportLimits::default()),
            Err(MispError::NoTitle)
        ));
        let small = ImportLimits {
            max_bytes: 10,
            max_attributes: 1,
        };
        assert!(matches!(
            parse_event(EVENT.as_bytes(), small),
            Err(MispError::TooLarge { .. })
        ));
        let few = ImportLimits {
            max_bytes: 1 << 20,
            max_attributes: 2,
        };
        assert!(matches!(
            parse_event(EVENT.as_bytes(), few),
            Err(MispError::TooManyAttributes { .. })
        ));
    }

    #[test]
    fn techniques() {
        assert_eq!(
            technique_in("Spearphishing - T1566.001").as_deref(),
            Some("T1566.001")
        );
        assert_eq!(technique_in("T1059").as_deref(), Some("T1059"));
        assert_eq!(technique_in("AT12345"), None);
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,400}") {
            let _ = parse_event(s.as_bytes(), ImportLimits::default());
        }
    }
}
