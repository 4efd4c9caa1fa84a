//! Small structured values shared by many object types: external references, granular
//! markings and kill-chain phases. Unknown keys are kept in `extra` so nothing is dropped.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::StixId;

/// An `external_references` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalReference {
    pub source_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Any other keys, in input order.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `granular_markings` entry: a marking (by reference or a language) applied to the parts of
/// the object named by `selectors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GranularMarking {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marking_ref: Option<StixId>,
    pub selectors: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `kill_chain_phases` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KillChainPhase {
    pub kill_chain_name: String,
    pub phase_name: String,
}
