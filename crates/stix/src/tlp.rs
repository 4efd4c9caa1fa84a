//! Traffic Light Protocol markings in STIX: the fixed marking-definition objects of TLP 2.0
//! (FIRST TLP 2.0 via the OASIS extension `extension-definition--60a3c5c5-…`) and TLP 1.0 (STIX
//! 2.1 section 7.2.1.4), and reading the TLP level of an object from its marking references.

use mamori_model::Tlp;
use serde_json::{Map, Value, json};

use crate::{StixId, StixObject, Timestamp};

/// The extension definition that carries the TLP 2.0 level in a marking definition.
pub const TLP2_EXTENSION_ID: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// TLP 2.0 marking-definition ids, published in oasis-open/cti-stix-common-objects.
pub const TLP2_CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
pub const TLP2_GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
pub const TLP2_AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
pub const TLP2_AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
pub const TLP2_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

/// TLP 1.0 marking-definition ids, fixed by the STIX 2.1 specification (section 7.2.1.4) and
/// checked against the `stix2-validator` schemas. Note GREEN ends in `…ebd3cc5e41da`.
pub const TLP1_WHITE: &str = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9";
pub const TLP1_GREEN: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
pub const TLP1_AMBER: &str = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82";
pub const TLP1_RED: &str = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed";

const TLP2_CREATED: &str = "2022-10-01T00:00:00.000Z";

/// The TLP 2.0 marking-definition id for a level.
pub fn tlp_marking_id(tlp: Tlp) -> StixId {
    StixId::from_static(match tlp {
        Tlp::Clear => TLP2_CLEAR,
        Tlp::Green => TLP2_GREEN,
        Tlp::Amber => TLP2_AMBER,
        Tlp::AmberStrict => TLP2_AMBER_STRICT,
        Tlp::Red => TLP2_RED,
    })
}

/// The level a well-known marking-definition id stands for (TLP 2.0 or 1.0; TLP 1.0 WHITE
/// is CLEAR).
pub fn tlp_of_marking_id(id: &str) -> Option<Tlp> {
    Some(match id {
        TLP2_CLEAR | TLP1_WHITE => Tlp::Clear,
        TLP2_GREEN | TLP1_GREEN => Tlp::Green,
        TLP2_AMBER | TLP1_AMBER => Tlp::Amber,
        TLP2_AMBER_STRICT => Tlp::AmberStrict,
        TLP2_RED | TLP1_RED => Tlp::Red,
        _ => return None,
    })
}

/// True for any of the nine well-known TLP marking-definition ids.
pub fn is_tlp_marking_id(id: &str) -> bool {
    tlp_of_marking_id(id).is_some()
}

/// The official TLP 2.0 marking-definition object for a level, exactly as published.
pub fn tlp_marking_object(tlp: Tlp) -> StixObject {
    let level = match tlp {
        Tlp::Clear => "clear",
        Tlp::Green => "green",
        Tlp::Amber => "amber",
        Tlp::AmberStrict => "amber+strict",
        Tlp::Red => "red",
    };
    let mut ext = Map::new();
    ext.insert(
        TLP2_EXTENSION_ID.to_owned(),
        json!({"extension_type": "property-extension", "tlp_2_0": level}),
    );
    let mut o = StixObject::new(tlp_marking_id(tlp));
    o.created = Timestamp::parse(TLP2_CREATED).ok();
    o.extensions = Some(ext);
    o.properties.insert(
        "name".into(),
        Value::String(format!("TLP:{}", tlp.as_str())),
    );
    o
}

/// The TLP 1.0 marking-definition object of STIX 2.1 section 7.2.1.4 for a level, for
/// consumers that only know TLP 1.0: CLEAR is written as WHITE; AMBER+STRICT has no TLP 1.0
/// form (`None`).
pub fn tlp1_marking_object(tlp: Tlp) -> Option<StixObject> {
    let (id, level) = match tlp {
        Tlp::Clear => (TLP1_WHITE, "white"),
        Tlp::Green => (TLP1_GREEN, "green"),
        Tlp::Amber => (TLP1_AMBER, "amber"),
        Tlp::Red => (TLP1_RED, "red"),
        Tlp::AmberStrict => return None,
    };
    let mut o = StixObject::new(StixId::from_static(id));
    o.created = Timestamp::parse("2017-01-20T00:00:00.000Z").ok();
    o.properties
        .insert("definition_type".into(), Value::String("tlp".into()));
    o.properties.insert(
        "name".into(),
        Value::String(format!("TLP:{}", level.to_ascii_uppercase())),
    );
    o.properties
        .insert("definition".into(), json!({ "tlp": level }));
    Some(o)
}

/// The most restrictive TLP level among marking-definition ids (unknown ids are ignored).
pub fn tlp_of_refs<S: AsRef<str>>(marking_refs: &[S]) -> Option<Tlp> {
    marking_refs
        .iter()
        .filter_map(|r| tlp_of_marking_id(r.as_ref()))
        .max()
}

/// The TLP level of an object: from its `object_marking_refs` for ordinary objects, and from
/// the object itself when it is one of the TLP marking definitions (by id, by the TLP 2.0
/// extension, or by a TLP 1.0 `definition`).
pub fn tlp_of(object: &StixObject) -> Option<Tlp> {
    if object.object_type == "marking-definition" {
        if let Some(t) = tlp_of_marking_id(object.id.as_str()) {
            return Some(t);
        }
        let by_ext = object
            .extensions
            .as_ref()
            .and_then(|e| e.get(TLP2_EXTENSION_ID))
            .and_then(|x| x.get("tlp_2_0"))
            .and_then(Value::as_str);
        let by_def = (object.str_prop("definition_type") == Some("tlp"))
            .then(|| {
                object
                    .properties
                    .get("definition")
                    .and_then(|d| d.get("tlp"))
                    .and_then(Value::as_str)
            })
            .flatten();
        if let Some(level) = by_ext.or(by_def) {
            return level.parse::<Tlp>().ok();
        }
    }
    object.object_marking_refs.as_deref().and_then(tlp_of_refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_both_ways() {
        for t in Tlp::ALL {
            let o = tlp_marking_object(t);
            assert_eq!(tlp_of(&o), Some(t));
            assert_eq!(tlp_of_marking_id(o.id.as_str()), Some(t));
            crate::validate::validate_object(&o, "$").unwrap();
        }
        assert_eq!(tlp_of_marking_id(TLP1_WHITE), Some(Tlp::Clear));
        for t in Tlp::ALL {
            match tlp1_marking_object(t) {
                Some(o) => {
                    assert_eq!(tlp_of(&o), Some(t));
                    crate::validate::validate_object(&o, "$").unwrap();
                }
                None => assert_eq!(t, Tlp::AmberStrict),
            }
        }
        assert_eq!(tlp_of_refs(&[TLP1_GREEN, TLP2_RED]), Some(Tlp::Red));
        assert_eq!(tlp_of_refs::<&str>(&[]), None);
    }

    #[test]
    fn amber_strict_json_is_as_published() {
        let j = tlp_marking_object(Tlp::AmberStrict).to_json_value();
        assert_eq!(
            j,
            json!({
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
                "created": "2022-10-01T00:00:00.000Z",
                "extensions": {
                    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                        "extension_type": "property-extension",
                        "tlp_2_0": "amber+strict"
                    }
                },
                "name": "TLP:AMBER+STRICT"
            })
        );
    }
}
