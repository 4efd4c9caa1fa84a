//! Per-type checks of STIX 2.1 objects: required properties, timestamp-valued properties and
//! the shape of `*_ref` / `*_refs` properties. Errors name the object id and the JSON path.

use serde_json::Value;

use crate::{StixError, StixId, StixObject, Timestamp};

/// The STIX 2.1 cyber-observable object types.
pub const SCO_TYPES: [&str; 18] = [
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// True for a STIX 2.1 cyber-observable type.
pub fn is_sco_type(t: &str) -> bool {
    SCO_TYPES.contains(&t)
}

/// The STIX 2.1 domain, relationship and meta object types (custom types are not listed).
const SPEC_NON_SCO_TYPES: [&str; 24] = [
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "relationship",
    "sighting",
    "marking-definition",
    "extension-definition",
    "language-content",
];

/// True for a type defined by the STIX 2.1 specification (as opposed to a custom type).
pub fn is_spec_type(t: &str) -> bool {
    is_sco_type(t) || SPEC_NON_SCO_TYPES.contains(&t)
}

/// Properties holding timestamps, checked at the top level of objects of specification types
/// (custom types may use these names for other things).
const TIMESTAMP_PROPERTIES: [&str; 19] = [
    "valid_from",
    "valid_until",
    "first_seen",
    "last_seen",
    "first_observed",
    "last_observed",
    "published",
    "first_sighted",
    "last_sighted",
    "start_time",
    "stop_time",
    "date",
    "ctime",
    "mtime",
    "atime",
    "created_time",
    "modified_time",
    "start",
    "end",
];

/// Alternatives: each inner list is a set of properties of which at least one must be present.
fn required(t: &str) -> &'static [&'static [&'static str]] {
    match t {
        "attack-pattern" | "campaign" | "course-of-action" | "identity" | "incident"
        | "infrastructure" | "intrusion-set" | "threat-actor" | "tool" | "vulnerability" => {
            &[&["name"]]
        }
        "grouping" => &[&["context"], &["object_refs"]],
        "indicator" => &[&["pattern"], &["pattern_type"], &["valid_from"]],
        "location" => &[&["region", "country", "latitude"]],
        "malware" => &[&["is_family"]],
        "malware-analysis" => &[&["product"], &["result", "analysis_sco_refs"]],
        "note" => &[&["content"], &["object_refs"]],
        "observed-data" => &[
            &["first_observed"],
            &["last_observed"],
            &["number_observed"],
            &["objects", "object_refs"],
        ],
        "opinion" => &[&["opinion"], &["object_refs"]],
        "report" => &[&["name"], &["published"], &["object_refs"]],
        "relationship" => &[&["relationship_type"], &["source_ref"], &["target_ref"]],
        "sighting" => &[&["sighting_of_ref"]],
        "artifact" => &[&["payload_bin", "url"]],
        "autonomous-system" => &[&["number"]],
        "directory" => &[&["path"]],
        "domain-name" | "email-addr" | "ipv4-addr" | "ipv6-addr" | "mac-addr" | "url" => {
            &[&["value"]]
        }
        "email-message" => &[&["is_multipart"]],
        "file" => &[&["hashes", "name"]],
        "mutex" | "software" => &[&["name"]],
        "network-traffic" => &[&["protocols"], &["src_ref", "dst_ref"]],
        "extension-definition" => &[&["name"], &["schema"], &["version"], &["extension_types"]],
        "language-content" => &[&["object_ref"], &["contents"]],
        _ => &[],
    }
}

/// Checks `o` against the STIX 2.1 rules for its type. `path` locates it (e.g. `$.objects[2]`).
pub fn validate_object(o: &StixObject, path: &str) -> Result<(), StixError> {
    let id = o.id.as_str();
    let t = o.object_type.as_str();
    let sco = is_sco_type(t);
    let p = |k: &str| format!("{path}.{k}");
    if !sco {
        if o.spec_version.is_none() {
            return Err(StixError::missing(id, &p("spec_version")));
        }
        if o.created.is_none() {
            return Err(StixError::missing(id, &p("created")));
        }
        if t != "marking-definition" && o.modified.is_none() {
            return Err(StixError::missing(id, &p("modified")));
        }
    }
    if t == "marking-definition"
        && !o.properties.contains_key("definition_type")
        && o.extensions.is_none()
    {
        return Err(StixError::missing(id, &p("definition_type")));
    }
    if t == "extension-definition" && o.created_by_ref.is_none() {
        return Err(StixError::missing(id, &p("created_by_ref")));
    }
    for alternatives in required(t) {
        if !alternatives.iter().any(|k| o.properties.contains_key(*k)) {
            return Err(StixError::missing(id, &p(&alternatives.join("|"))));
        }
    }
    if t == "malware"
        && o.properties.get("is_family") == Some(&Value::Bool(true))
        && !o.properties.contains_key("name")
    {
        return Err(StixError::missing(id, &p("name")));
    }
    for (k, v) in &o.properties {
        if is_spec_type(t) && TIMESTAMP_PROPERTIES.contains(&k.as_str()) {
            let ok = v.as_str().is_some_and(|s| Timestamp::parse(s).is_ok());
            if !ok {
                return Err(StixError::invalid(id, &p(k), "must be a STIX timestamp"));
            }
        }
        if is_ref_key(k) {
            check_ref(v, id, &p(k))?;
        } else if is_refs_key(k) {
            let Some(a) = v.as_array() else {
                return Err(StixError::invalid(
                    id,
                    &p(k),
                    "must be a list of identifiers",
                ));
            };
            for (i, r) in a.iter().enumerate() {
                check_ref(r, id, &format!("{}[{i}]", p(k)))?;
            }
        }
    }
    if t == "indicator" {
        check_indicator(o, path)?;
    }
    Ok(())
}

fn check_indicator(o: &StixObject, path: &str) -> Result<(), StixError> {
    let id = o.id.as_str();
    if let (Some(from), Some(until)) = (
        o.timestamp_prop("valid_from"),
        o.timestamp_prop("valid_until"),
    ) && until.cmp_instant(&from).is_le()
    {
        return Err(StixError::invalid(
            id,
            &format!("{path}.valid_until"),
            "must be later than valid_from",
        ));
    }
    if o.str_prop("pattern_type") == Some("stix") {
        let Some(pattern) = o.str_prop("pattern") else {
            return Err(StixError::invalid(
                id,
                &format!("{path}.pattern"),
                "must be a string",
            ));
        };
        if let Err(e) = crate::pattern::Pattern::parse(pattern) {
            return Err(StixError::invalid(
                id,
                &format!("{path}.pattern"),
                e.to_string(),
            ));
        }
    }
    Ok(())
}

/// True for a property name ending in `_ref`.
pub fn is_ref_key(k: &str) -> bool {
    k.ends_with("_ref")
}

/// True for a property name ending in `_refs`.
pub fn is_refs_key(k: &str) -> bool {
    k.ends_with("_refs")
}

fn check_ref(v: &Value, object: &str, path: &str) -> Result<(), StixError> {
    match v.as_str() {
        Some(s) => StixId::parse(s)
            .map(|_| ())
            .map_err(|e| StixError::invalid(object, path, e.to_string())),
        None => Err(StixError::invalid(
            object,
            path,
            "must be an identifier string",
        )),
    }
}
