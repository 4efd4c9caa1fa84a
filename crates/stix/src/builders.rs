//! Constructors for the objects Mamori exports most: indicators from patterns, value-keyed
//! observables with their deterministic ids, and reports. Everything else is built with
//! [`StixObject::new_sdo`] and [`StixObject::with`].

use serde_json::{Map, Value};

use crate::pattern::Pattern;
use crate::{IdError, StixId, StixObject, Timestamp};

/// Observable types whose only ID-contributing property is `value`.
pub const VALUE_KEYED_SCOS: [&str; 6] = [
    "domain-name",
    "email-addr",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "url",
];

/// An `indicator` with a fresh id, `pattern_type` `stix` and `pattern_version` `2.1`.
pub fn indicator(pattern: &Pattern, valid_from: Timestamp, created: Timestamp) -> StixObject {
    StixObject::new_sdo(StixId::random_unchecked("indicator"), created)
        .with("pattern", pattern.to_string())
        .with("pattern_type", "stix")
        .with("pattern_version", "2.1")
        .with("valid_from", valid_from.as_str())
}

/// A value-keyed observable (`ipv4-addr`, `domain-name`, `url`, …) with the deterministic
/// UUIDv5 id the specification assigns to it, so that every producer names it the same way.
pub fn observable(object_type: &str, value: &str) -> Result<StixObject, IdError> {
    if !VALUE_KEYED_SCOS.contains(&object_type) {
        return Err(IdError::BadType(object_type.to_owned()));
    }
    let mut contributing = Map::new();
    contributing.insert("value".into(), Value::String(value.to_owned()));
    let id = StixId::for_sco(object_type, &contributing)?;
    Ok(StixObject::new(id).with("value", value))
}

/// A `report` with a fresh id over `object_refs`.
pub fn report(
    name: &str,
    published: Timestamp,
    object_refs: &[StixId],
    created: Timestamp,
) -> StixObject {
    let refs: Vec<Value> = object_refs
        .iter()
        .map(|r| Value::String(r.to_string()))
        .collect();
    StixObject::new_sdo(StixId::random_unchecked("report"), created)
        .with("name", name)
        .with("published", published.as_str())
        .with("object_refs", Value::Array(refs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::validate_object;

    #[test]
    fn built_objects_validate() {
        let t = Timestamp::parse("2026-11-25T21:00:00.000Z").unwrap();
        let p = crate::pattern::equality_pattern("ipv4-addr:value", "198.51.100.3").unwrap();
        let i = indicator(&p, t.clone(), t.clone());
        validate_object(&i, "$").unwrap();
        let ip = observable("ipv4-addr", "198.51.100.3").unwrap();
        assert_eq!(
            ip.id.as_str(),
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
        validate_object(&ip, "$").unwrap();
        assert!(observable("file", "x").is_err());
        let r = report("r", t.clone(), std::slice::from_ref(&i.id), t);
        validate_object(&r, "$").unwrap();
        assert_eq!(r.as_report().unwrap().object_refs(), vec![i.id]);
    }
}
