//! The subset of MISP's event JSON that carries meaning between sharing platforms. Unknown
//! fields are ignored on input; MISP sends numbers as strings and booleans as strings or numbers,
//! so those fields accept either.

use serde::{Deserialize, Deserializer, Serialize};

/// `{"Event": {...}}`, as MISP's API and feeds write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDocument {
    #[serde(rename = "Event")]
    pub event: MispEvent,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MispEvent {
    #[serde(default)]
    pub uuid: String,
    #[serde(default)]
    pub info: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub date: String,
    /// 1 high, 2 medium, 3 low, 4 undefined.
    #[serde(default, deserialize_with = "lenient_string")]
    pub threat_level_id: String,
    /// 0 initial, 1 ongoing, 2 complete.
    #[serde(default, deserialize_with = "lenient_string")]
    pub analysis: String,
    /// Seconds since the epoch, as a string.
    #[serde(default, deserialize_with = "lenient_string")]
    pub timestamp: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub published: bool,
    #[serde(rename = "Orgc", default, skip_serializing_if = "Option::is_none")]
    pub orgc: Option<Org>,
    #[serde(rename = "Tag", default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(rename = "Attribute", default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Attribute>,
    #[serde(rename = "Object", default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<MispObject>,
    #[serde(rename = "Galaxy", default, skip_serializing_if = "Vec::is_empty")]
    pub galaxies: Vec<Galaxy>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Org {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub uuid: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tag {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Attribute {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub category: String,
    #[serde(deserialize_with = "lenient_string")]
    pub value: String,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub to_ids: bool,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub uuid: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub timestamp: String,
    #[serde(rename = "Tag", default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MispObject {
    #[serde(default)]
    pub name: String,
    #[serde(rename = "Attribute", default)]
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Galaxy {
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(rename = "GalaxyCluster", default)]
    pub clusters: Vec<GalaxyCluster>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GalaxyCluster {
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub tag_name: String,
}

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => b,
        serde_json::Value::Number(n) => n.as_i64().is_some_and(|n| n != 0),
        serde_json::Value::String(s) => matches!(s.as_str(), "1" | "true" | "True"),
        _ => false,
    })
}
