//! Mamori report → MISP event. The event uuid is the report id, so that a MISP instance
//! subscribed to the feed updates the same event when the report changes.

use mamori_model::{Indicator, Observable, Report, Tlp};

use crate::event::{Attribute, EventDocument, MispEvent, Org, Tag};
use crate::types::from_kind;

/// The MISP tag for a TLP level (`tlp:amber+strict`, `tlp:clear`...).
pub fn tlp_tag(t: Tlp) -> String {
    format!("tlp:{}", t.as_str().to_ascii_lowercase())
}

/// `YYYY-MM-DD` for epoch milliseconds (UTC).
fn date(ms: i64) -> String {
    let (y, m, d) = mamori_model::date::civil_date(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Writes a report with its indicators and observables as a MISP event. `org` names the
/// creating organisation (pass a neutral name for anonymous submissions).
pub fn to_event(
    report: &Report,
    org: Org,
    indicators: &[Indicator],
    observables: &[Observable],
) -> EventDocument {
    let ts = (report.modified_at / 1000).to_string();
    let mut tags = vec![Tag {
        name: tlp_tag(report.tlp),
    }];
    tags.extend(report.labels.iter().map(|l| Tag { name: l.clone() }));
    tags.extend(report.attack_techniques.iter().map(|t| Tag {
        name: format!("misp-galaxy:mitre-attack-pattern=\"{t}\""),
    }));
    let mut attributes = Vec::new();
    for i in indicators {
        let (kind, category, value) = match (i.kind, &i.value, &i.pattern) {
            (Some(k), Some(v), _) => {
                let (t, c) = from_kind(k);
                (t, c, v.clone())
            }
            (_, _, Some(p)) => ("stix2-pattern", "Network activity", p.clone()),
            _ => continue,
        };
        attributes.push(Attribute {
            kind: kind.into(),
            category: category.into(),
            value,
            to_ids: true,
            comment: i.description.clone(),
            uuid: i.id.to_string(),
            timestamp: (i.created_at / 1000).to_string(),
            tags: Vec::new(),
        });
    }
    for o in observables {
        let (t, c) = from_kind(o.kind);
        attributes.push(Attribute {
            kind: t.into(),
            category: c.into(),
            value: o.value.clone(),
            to_ids: false,
            comment: o.comment.clone(),
            uuid: o.id.to_string(),
            timestamp: (o.created_at / 1000).to_string(),
            tags: Vec::new(),
        });
    }
    EventDocument {
        event: MispEvent {
            uuid: report.id.to_string(),
            info: report.title.clone(),
            date: date(report.created_at),
            threat_level_id: "4".into(),
            analysis: "2".into(),
            timestamp: ts,
            published: !report.revoked,
            orgc: Some(org),
            tags,
            attributes,
            objects: Vec::new(),
            galaxies: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(1_795_642_251_000), "2026-11-25");
    }
}
