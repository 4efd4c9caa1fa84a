//! [`StixObject`]: one STIX 2.1 object with its common properties typed and every other
//! property (type-specific, custom, unknown) kept, in input order, in [`StixObject::properties`].
//! Converting to JSON and back gives an equal object.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::common::{ExternalReference, GranularMarking};
use crate::{StixError, StixId, Timestamp};

/// The names of the common properties held in typed fields of [`StixObject`].
pub const COMMON_PROPERTIES: [&str; 14] = [
    "type",
    "spec_version",
    "id",
    "created_by_ref",
    "created",
    "modified",
    "revoked",
    "labels",
    "confidence",
    "lang",
    "external_references",
    "object_marking_refs",
    "granular_markings",
    "extensions",
];

/// One STIX object (SDO, SRO, SCO, marking definition, or any custom type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StixObject {
    /// The `type` property; always equal to the type part of `id`.
    pub object_type: String,
    pub spec_version: Option<String>,
    pub id: StixId,
    pub created_by_ref: Option<StixId>,
    pub created: Option<Timestamp>,
    pub modified: Option<Timestamp>,
    pub revoked: Option<bool>,
    pub labels: Option<Vec<String>>,
    /// 0 to 100.
    pub confidence: Option<u8>,
    pub lang: Option<String>,
    pub external_references: Option<Vec<ExternalReference>>,
    pub object_marking_refs: Option<Vec<StixId>>,
    pub granular_markings: Option<Vec<GranularMarking>>,
    /// Extension definitions and predefined extensions (e.g. `archive-ext`), by key.
    pub extensions: Option<Map<String, Value>>,
    /// Every other property, in input order. Never holds a name of [`COMMON_PROPERTIES`].
    pub properties: Map<String, Value>,
}

impl StixObject {
    /// A new object with just a type and id (the type is taken from the id).
    pub fn new(id: StixId) -> StixObject {
        StixObject {
            object_type: id.object_type().to_owned(),
            spec_version: Some("2.1".to_owned()),
            id,
            created_by_ref: None,
            created: None,
            modified: None,
            revoked: None,
            labels: None,
            confidence: None,
            lang: None,
            external_references: None,
            object_marking_refs: None,
            granular_markings: None,
            extensions: None,
            properties: Map::new(),
        }
    }

    /// A new domain or relationship object: `spec_version` 2.1, `created` = `modified` = `at`.
    pub fn new_sdo(id: StixId, at: Timestamp) -> StixObject {
        let mut o = StixObject::new(id);
        o.created = Some(at.clone());
        o.modified = Some(at);
        o
    }

    /// Sets a type-specific or custom property (builder style). Names of common properties
    /// are routed to their typed fields when the value has the right shape, and otherwise
    /// ignored.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> StixObject {
        if self.set(key, value.into()).is_err() {
            // Documented: a common property of the wrong shape is ignored.
        }
        self
    }

    /// Sets a property; see [`StixObject::with`]. Returns an error when a common property gets
    /// a value of the wrong shape.
    pub fn set(&mut self, key: &str, value: Value) -> Result<(), StixError> {
        if COMMON_PROPERTIES.contains(&key) {
            let mut m = self.to_json_map();
            m.insert(key.to_owned(), value);
            *self = StixObject::from_json_map(m, "$")?;
        } else {
            self.properties.insert(key.to_owned(), value);
        }
        Ok(())
    }

    /// A property by name: common or not, as JSON.
    pub fn get(&self, key: &str) -> Option<Value> {
        if COMMON_PROPERTIES.contains(&key) {
            self.to_json_map().remove(key)
        } else {
            self.properties.get(key).cloned()
        }
    }

    /// A non-common property as a string.
    pub fn str_prop(&self, key: &str) -> Option<&str> {
        self.properties.get(key).and_then(Value::as_str)
    }

    /// A non-common property as a timestamp, when it is a valid one.
    pub fn timestamp_prop(&self, key: &str) -> Option<Timestamp> {
        self.str_prop(key).and_then(|s| Timestamp::parse(s).ok())
    }

    /// A non-common property as a list of strings (non-strings skipped).
    pub fn strs_prop(&self, key: &str) -> Vec<&str> {
        self.properties
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// A non-common `*_ref` property as an identifier, when well formed.
    pub fn ref_prop(&self, key: &str) -> Option<StixId> {
        self.str_prop(key).and_then(|s| StixId::parse(s).ok())
    }

    /// A non-common `*_refs` property as identifiers (malformed entries skipped).
    pub fn refs_prop(&self, key: &str) -> Vec<StixId> {
        self.strs_prop(key)
            .into_iter()
            .filter_map(|s| StixId::parse(s).ok())
            .collect()
    }

    /// True for the 18 cyber-observable object types of STIX 2.1 (custom observable types
    /// cannot be told apart from custom domain objects and read as false).
    pub fn is_sco(&self) -> bool {
        crate::validate::is_sco_type(&self.object_type)
    }

    /// Builds an object from a parsed JSON value; `path` is used in error messages
    /// (e.g. `$.objects[3]`). Checks the common properties but not the type-specific
    /// requirements (see [`crate::validate::validate_object`]).
    pub fn from_json_value(value: Value, path: &str) -> Result<StixObject, StixError> {
        match value {
            Value::Object(m) => StixObject::from_json_map(m, path),
            _ => Err(StixError::invalid(
                "?",
                path,
                "a STIX object must be a JSON object",
            )),
        }
    }

    fn from_json_map(mut m: Map<String, Value>, path: &str) -> Result<StixObject, StixError> {
        let p = |k: &str| format!("{path}.{k}");
        let raw_id = match m.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(StixError::invalid("?", &p("id"), "must be a string")),
            None => return Err(StixError::missing("?", &p("id"))),
        };
        let id = StixId::parse(&raw_id)
            .map_err(|e| StixError::invalid(&raw_id, &p("id"), e.to_string()))?;
        let obj = id.as_str().to_owned();
        let object_type = match m.remove("type") {
            Some(Value::String(s)) => s,
            Some(_) => return Err(StixError::invalid(&obj, &p("type"), "must be a string")),
            None => return Err(StixError::missing(&obj, &p("type"))),
        };
        if object_type != id.object_type() {
            return Err(StixError::invalid(
                &obj,
                &p("type"),
                format!("{object_type:?} differs from the type in the id"),
            ));
        }
        m.remove("id");
        let string = |m: &mut Map<String, Value>, k: &str| -> Result<Option<String>, StixError> {
            match m.remove(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(StixError::invalid(&obj, &p(k), "must be a string")),
            }
        };
        let spec_version = string(&mut m, "spec_version")?;
        if let Some(v) = &spec_version
            && v != "2.1"
            && v != "2.0"
        {
            return Err(StixError::invalid(
                &obj,
                &p("spec_version"),
                "must be \"2.1\"",
            ));
        }
        let lang = string(&mut m, "lang")?;
        let ts = |m: &mut Map<String, Value>, k: &str| -> Result<Option<Timestamp>, StixError> {
            match m.remove(k) {
                None => Ok(None),
                Some(Value::String(s)) => Timestamp::parse(&s)
                    .map(Some)
                    .map_err(|e| StixError::invalid(&obj, &p(k), e.to_string())),
                Some(_) => Err(StixError::invalid(
                    &obj,
                    &p(k),
                    "must be a timestamp string",
                )),
            }
        };
        let created = ts(&mut m, "created")?;
        let modified = ts(&mut m, "modified")?;
        if let (Some(c), Some(md)) = (&created, &modified)
            && md.cmp_instant(c).is_lt()
        {
            return Err(StixError::invalid(
                &obj,
                &p("modified"),
                "is earlier than created",
            ));
        }
        let created_by_ref = match string(&mut m, "created_by_ref")? {
            None => None,
            Some(s) => {
                let r = StixId::parse(&s)
                    .map_err(|e| StixError::invalid(&obj, &p("created_by_ref"), e.to_string()))?;
                if r.object_type() != "identity" {
                    return Err(StixError::invalid(
                        &obj,
                        &p("created_by_ref"),
                        "must reference an identity",
                    ));
                }
                Some(r)
            }
        };
        let revoked = match m.remove("revoked") {
            None => None,
            Some(Value::Bool(b)) => Some(b),
            Some(_) => return Err(StixError::invalid(&obj, &p("revoked"), "must be a boolean")),
        };
        let confidence = match m.remove("confidence") {
            None => None,
            Some(v) => match v.as_u64() {
                Some(n) if n <= 100 => u8::try_from(n).ok(),
                _ => {
                    return Err(StixError::invalid(
                        &obj,
                        &p("confidence"),
                        "must be an integer from 0 to 100",
                    ));
                }
            },
        };
        let labels = typed::<Vec<String>>(&mut m, "labels", &obj, path)?;
        let external_references =
            typed::<Vec<ExternalReference>>(&mut m, "external_references", &obj, path)?;
        let object_marking_refs = typed::<Vec<StixId>>(&mut m, "object_marking_refs", &obj, path)?;
        if let Some(refs) = &object_marking_refs
            && let Some((i, _)) = refs
                .iter()
                .enumerate()
                .find(|(_, r)| r.object_type() != "marking-definition")
        {
            return Err(StixError::invalid(
                &obj,
                &format!("{path}.object_marking_refs[{i}]"),
                "must reference a marking-definition",
            ));
        }
        let granular_markings =
            typed::<Vec<GranularMarking>>(&mut m, "granular_markings", &obj, path)?;
        let extensions = match m.remove("extensions") {
            None => None,
            Some(Value::Object(e)) => Some(e),
            Some(_) => {
                return Err(StixError::invalid(
                    &obj,
                    &p("extensions"),
                    "must be an object",
                ));
            }
        };
        Ok(StixObject {
            object_type,
            spec_version,
            id,
            created_by_ref,
            created,
            modified,
            revoked,
            labels,
            confidence,
            lang,
            external_references,
            object_marking_refs,
            granular_markings,
            extensions,
            properties: m,
        })
    }

    /// The object as a JSON map: common properties first, then the others in their order.
    pub fn to_json_map(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("type".into(), Value::String(self.object_type.clone()));
        if let Some(v) = &self.spec_version {
            m.insert("spec_version".into(), Value::String(v.clone()));
        }
        m.insert("id".into(), Value::String(self.id.to_string()));
        if let Some(v) = &self.created_by_ref {
            m.insert("created_by_ref".into(), Value::String(v.to_string()));
        }
        if let Some(v) = &self.created {
            m.insert("created".into(), Value::String(v.to_string()));
        }
        if let Some(v) = &self.modified {
            m.insert("modified".into(), Value::String(v.to_string()));
        }
        if let Some(v) = self.revoked {
            m.insert("revoked".into(), Value::Bool(v));
        }
        insert_json(&mut m, "labels", &self.labels);
        if let Some(v) = self.confidence {
            m.insert("confidence".into(), Value::from(v));
        }
        if let Some(v) = &self.lang {
            m.insert("lang".into(), Value::String(v.clone()));
        }
        insert_json(&mut m, "external_references", &self.external_references);
        insert_json(&mut m, "object_marking_refs", &self.object_marking_refs);
        insert_json(&mut m, "granular_markings", &self.granular_markings);
        if let Some(v) = &self.extensions {
            m.insert("extensions".into(), Value::Object(v.clone()));
        }
        for (k, v) in &self.properties {
            if !COMMON_PROPERTIES.contains(&k.as_str()) {
                m.insert(k.clone(), v.clone());
            }
        }
        m
    }

    /// The object as a JSON value.
    pub fn to_json_value(&self) -> Value {
        Value::Object(self.to_json_map())
    }
}

fn typed<T: serde::de::DeserializeOwned>(
    m: &mut Map<String, Value>,
    key: &str,
    obj: &str,
    path: &str,
) -> Result<Option<T>, StixError> {
    match m.remove(key) {
        None => Ok(None),
        Some(v) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| StixError::invalid(obj, &format!("{path}.{key}"), e.to_string())),
    }
}

fn insert_json<T: Serialize>(m: &mut Map<String, Value>, key: &str, v: &Option<T>) {
    if let Some(v) = v
        && let Ok(j) = serde_json::to_value(v)
    {
        m.insert(key.to_owned(), j);
    }
}

/// Writes the same JSON as [`StixObject::to_json_map`], without building it first.
impl Serialize for StixObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", &self.object_type)?;
        if let Some(v) = &self.spec_version {
            m.serialize_entry("spec_version", v)?;
        }
        m.serialize_entry("id", &self.id)?;
        if let Some(v) = &self.created_by_ref {
            m.serialize_entry("created_by_ref", v)?;
        }
        if let Some(v) = &self.created {
            m.serialize_entry("created", v)?;
        }
        if let Some(v) = &self.modified {
            m.serialize_entry("modified", v)?;
        }
        if let Some(v) = &self.revoked {
            m.serialize_entry("revoked", v)?;
        }
        if let Some(v) = &self.labels {
            m.serialize_entry("labels", v)?;
        }
        if let Some(v) = &self.confidence {
            m.serialize_entry("confidence", v)?;
        }
        if let Some(v) = &self.lang {
            m.serialize_entry("lang", v)?;
        }
        if let Some(v) = &self.external_references {
            m.serialize_entry("external_references", v)?;
        }
        if let Some(v) = &self.object_marking_refs {
            m.serialize_entry("object_marking_refs", v)?;
        }
        if let Some(v) = &self.granular_markings {
            m.serialize_entry("granular_markings", v)?;
        }
        if let Some(v) = &self.extensions {
            m.serialize_entry("extensions", v)?;
        }
        for (k, v) in &self.properties {
            if !COMMON_PROPERTIES.contains(&k.as_str()) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for StixObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StixObject, D::Error> {
        let v = Value::deserialize(d)?;
        StixObject::from_json_value(v, "$").map_err(serde::de::Error::custom)
    }
}
