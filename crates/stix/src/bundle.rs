//! [`Bundle`]: parsing untrusted STIX 2.1 bundles under [`Limits`], validating every object,
//! reporting dangling references as warnings, and serialising back to JSON.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::limits::check_depth;
use crate::validate::{is_ref_key, is_refs_key, validate_object};
use crate::{Limits, StixError, StixId, StixObject};

/// A STIX bundle: an id, the objects in order, and any other top-level keys.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub id: StixId,
    pub objects: Vec<StixObject>,
    /// Top-level keys other than `type`, `id` and `objects` (e.g. a 2.0 `spec_version`).
    pub extra: Map<String, Value>,
    warnings: Vec<Warning>,
}

/// Something suspicious but allowed in a parsed bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A reference to an object that is not in the bundle (well-known TLP marking definitions
    /// are not reported).
    DanglingRef {
        object: StixId,
        path: String,
        target: StixId,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::DanglingRef {
                object,
                path,
                target,
            } => write!(
                f,
                "{object}: {path} references {target}, which is not in the bundle"
            ),
        }
    }
}

/// Bundles are equal when their id, objects and extra keys are; warnings are not compared.
impl PartialEq for Bundle {
    fn eq(&self, other: &Bundle) -> bool {
        self.id == other.id && self.objects == other.objects && self.extra == other.extra
    }
}
impl Eq for Bundle {}

impl Bundle {
    /// A bundle with a fresh random id.
    pub fn new(objects: Vec<StixObject>) -> Bundle {
        Bundle::with_id(StixId::random_unchecked("bundle"), objects)
    }

    /// A bundle with the given id.
    pub fn with_id(id: StixId, objects: Vec<StixObject>) -> Bundle {
        let mut b = Bundle {
            id,
            objects,
            extra: Map::new(),
            warnings: Vec::new(),
        };
        b.warnings = b.dangling_refs();
        b
    }

    /// Parses and validates a bundle from untrusted bytes.
    pub fn parse(bytes: &[u8], limits: Limits) -> Result<Bundle, StixError> {
        if bytes.len() > limits.max_bytes {
            return Err(StixError::TooLarge {
                size: bytes.len(),
                max: limits.max_bytes,
            });
        }
        check_depth(bytes, limits.max_depth)?;
        let value: Value = serde_json::from_slice(bytes).map_err(|e| StixError::from_json(&e))?;
        Bundle::from_json_value(value, limits)
    }

    /// Validates a bundle already parsed as JSON (only the object-count limit applies).
    pub fn from_json_value(value: Value, limits: Limits) -> Result<Bundle, StixError> {
        let Value::Object(mut m) = value else {
            return Err(StixError::invalid(
                "?",
                "$",
                "a bundle must be a JSON object",
            ));
        };
        let id = match m.remove("id") {
            Some(Value::String(s)) => {
                StixId::parse(&s).map_err(|e| StixError::invalid(&s, "$.id", e.to_string()))?
            }
            Some(_) => return Err(StixError::invalid("?", "$.id", "must be a string")),
            None => return Err(StixError::missing("?", "$.id")),
        };
        let bid = id.to_string();
        match m.remove("type") {
            Some(Value::String(t)) if t == "bundle" => {}
            Some(_) => return Err(StixError::invalid(&bid, "$.type", "must be \"bundle\"")),
            None => return Err(StixError::missing(&bid, "$.type")),
        }
        if id.object_type() != "bundle" {
            return Err(StixError::invalid(
                &bid,
                "$.id",
                "must be a bundle-- identifier",
            ));
        }
        let raw = match m.remove("objects") {
            None => Vec::new(),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(StixError::invalid(&bid, "$.objects", "must be a list")),
        };
        if raw.len() > limits.max_objects {
            return Err(StixError::TooManyObjects {
                count: raw.len(),
                max: limits.max_objects,
            });
        }
        let mut objects = Vec::with_capacity(raw.len());
        for (i, v) in raw.into_iter().enumerate() {
            let path = format!("$.objects[{i}]");
            let o = StixObject::from_json_value(v, &path)?;
            validate_object(&o, &path)?;
            objects.push(o);
        }
        let mut b = Bundle {
            id,
            objects,
            extra: m,
            warnings: Vec::new(),
        };
        b.warnings = b.dangling_refs();
        Ok(b)
    }

    /// The objects, in order.
    pub fn objects(&self) -> &[StixObject] {
        &self.objects
    }

    /// The first object with this id (several versions may share one id).
    pub fn get(&self, id: &StixId) -> Option<&StixObject> {
        self.objects.iter().find(|o| &o.id == id)
    }

    /// The objects of one type.
    pub fn of_type<'a>(&'a self, object_type: &'a str) -> impl Iterator<Item = &'a StixObject> {
        self.objects
            .iter()
            .filter(move |o| o.object_type == object_type)
    }

    /// Warnings found when the bundle was parsed or built.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The bundle as a JSON value.
    pub fn to_json_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::String("bundle".into()));
        m.insert("id".into(), Value::String(self.id.to_string()));
        for (k, v) in &self.extra {
            if !matches!(k.as_str(), "type" | "id" | "objects") {
                m.insert(k.clone(), v.clone());
            }
        }
        m.insert(
            "objects".into(),
            Value::Array(self.objects.iter().map(StixObject::to_json_value).collect()),
        );
        Value::Object(m)
    }

    /// The bundle as compact JSON text.
    pub fn to_json(&self) -> String {
        // Serialising strings, numbers and maps with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The bundle as indented JSON text.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    fn dangling_refs(&self) -> Vec<Warning> {
        let present: HashSet<&str> = self.objects.iter().map(|o| o.id.as_str()).collect();
        let mut out = Vec::new();
        for o in &self.objects {
            let mut note = |path: String, target: &str| {
                if present.contains(target) || crate::tlp::is_tlp_marking_id(target) {
                    return;
                }
                if let Ok(target) = StixId::parse(target) {
                    out.push(Warning::DanglingRef {
                        object: o.id.clone(),
                        path,
                        target,
                    });
                }
            };
            if let Some(r) = &o.created_by_ref {
                note("created_by_ref".into(), r.as_str());
            }
            for (i, r) in o.object_marking_refs.iter().flatten().enumerate() {
                note(format!("object_marking_refs[{i}]"), r.as_str());
            }
            for (i, g) in o.granular_markings.iter().flatten().enumerate() {
                if let Some(r) = &g.marking_ref {
                    note(format!("granular_markings[{i}].marking_ref"), r.as_str());
                }
            }
            for (k, v) in &o.properties {
                if is_ref_key(k) {
                    if let Some(s) = v.as_str() {
                        note(k.clone(), s);
                    }
                } else if is_refs_key(k) {
                    for (i, r) in v.as_array().into_iter().flatten().enumerate() {
                        if let Some(s) = r.as_str() {
                            note(format!("{k}[{i}]"), s);
                        }
                    }
                }
            }
        }
        out
    }
}

/// Writes the same JSON as [`Bundle::to_json_value`], without building it first.
impl serde::Serialize for Bundle {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", "bundle")?;
        m.serialize_entry("id", &self.id)?;
        for (k, v) in &self.extra {
            if !matches!(k.as_str(), "type" | "id" | "objects") {
                m.serialize_entry(k, v)?;
            }
        }
        m.serialize_entry("objects", &self.objects)?;
        m.end()
    }
}
