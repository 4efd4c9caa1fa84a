//! The detection side of a posted STIX indicator: what `Store::detection_indicators` lists for
//! it. A pattern that is one `path = value` test of a kind Mamori knows becomes a typed,
//! normalised value (as bundle import does); any other valid pattern is kept as a pattern.

use mamori_stix::{Pattern, StixObject};
use mamori_store::stix::PostedIndicator;

use crate::stix_interchange::kind_of_path;

/// The matchable part of `o`, when it is an indicator with a STIX pattern.
pub fn posted_indicator(o: &StixObject) -> Option<PostedIndicator> {
    if o.object_type != "indicator" {
        return None;
    }
    if o.str_prop("pattern_type").is_some_and(|t| t != "stix") {
        return None;
    }
    let text = o.str_prop("pattern")?;
    let parsed = Pattern::parse(text).ok()?;
    let typed = match parsed.simple_equalities().as_slice() {
        [(path, value)] if parsed.is_simple_disjunction() => kind_of_path(path).and_then(|k| {
            mamori_share::normalise::normalise(k, value)
                .ok()
                .map(|v| (k, v))
        }),
        _ => None,
    };
    let (kind, value, pattern) = match typed {
        Some((k, v)) => (Some(k), Some(v), None),
        None => (None, None, Some(text.to_owned())),
    };
    Some(PostedIndicator {
        kind,
        value,
        pattern,
        valid_until: o.timestamp_prop("valid_until").map(|t| t.unix_millis()),
        revoked: o.revoked.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use mamori_model::ValueKind;

    fn ind(pattern: &str) -> StixObject {
        let v = serde_json::json!({"type": "bundle", "id": "bundle--6d616d6f-7269-4000-8000-000000000001", "objects": [{
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--6d616d6f-7269-4000-8000-000000000002",
            "created": "2026-11-25T01:00:00.000Z", "modified": "2026-11-25T01:00:00.000Z",
            "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-11-25T01:00:00Z"}]});
        let b = mamori_stix::Bundle::from_json_value(v, mamori_stix::Limits::default()).unwrap();
        b.objects()[0].clone()
    }

    #[test]
    fn single_equality_is_a_typed_value_else_a_pattern() {
        let p = posted_indicator(&ind("[domain-name:value = 'C2.Example']")).unwrap();
        assert_eq!(
            (p.kind, p.value.as_deref()),
            (Some(ValueKind::Domain), Some("c2.example"))
        );
        let p = posted_indicator(&ind(
            "[ipv4-addr:value = '198.51.100.1'] AND [domain-name:value = 'x.example']",
        ))
        .unwrap();
        assert_eq!(p.kind, None);
        assert!(p.pattern.unwrap().contains("198.51.100.1"));
    }
}
