//! The flat event the engine scans: Sigma field name -> one or more scalar values, each
//! pre-lowercased once so that case-insensitive matching costs no allocation per rule.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use compact_str::CompactString;
use smallvec::{SmallVec, smallvec};

/// FxHash: a fast non-cryptographic hasher for the short field names of an event.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.hash = (self.hash.rotate_left(5) ^ w).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            self.add(u64::from_le_bytes(b));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A hash map keyed by short strings, hashed with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// What kind of scalar a value was in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A string.
    Str,
    /// A number (the text is its decimal rendering).
    Num,
    /// A boolean (`true`/`false`).
    Bool,
    /// An explicit null / empty element.
    Null,
}

/// One scalar value of a field.
#[derive(Debug, Clone)]
pub struct FieldValue {
    /// The value as text (held inline up to 24 bytes: numbers, addresses, most names).
    pub raw: CompactString,
    /// `raw` lowercased, kept only when it differs from `raw` (most IPs, numbers, host names
    /// and ECS values are lower-case already): see [`FieldValue::lower`].
    lower: Option<CompactString>,
    /// Its kind.
    pub kind: ValueKind,
}

impl FieldValue {
    /// A value of the given kind.
    pub fn new(raw: impl Into<CompactString>, kind: ValueKind) -> Self {
        let raw = raw.into();
        // One pass without early exit (the compiler vectorises it) tells both cases apart.
        let (mut upper, mut ascii) = (false, true);
        for &b in raw.as_bytes() {
            upper |= b.is_ascii_uppercase();
            ascii &= b.is_ascii();
        }
        let lower = if ascii {
            upper.then(|| {
                let mut l = raw.clone();
                l.make_ascii_lowercase();
                l
            })
        } else {
            Some(raw.to_lowercase()).filter(|l| *l != raw)
        };
        FieldValue { raw, lower, kind }
    }

    /// `raw` lowercased (Unicode), what case-insensitive comparisons use.
    #[inline]
    pub fn lower(&self) -> &str {
        self.lower.as_deref().unwrap_or(&self.raw)
    }

    /// Whether this is null or the empty string.
    pub fn is_empty_or_null(&self) -> bool {
        self.kind == ValueKind::Null || self.raw.is_empty()
    }

    /// From a JSON scalar; `None` for arrays/objects.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        Some(match v {
            serde_json::Value::Null => FieldValue::new("", ValueKind::Null),
            serde_json::Value::Bool(b) => FieldValue::new(b.to_string(), ValueKind::Bool),
            serde_json::Value::Number(n) => FieldValue::new(n.to_string(), ValueKind::Num),
            serde_json::Value::String(s) => FieldValue::new(s.as_str(), ValueKind::Str),
            _ => return None,
        })
    }
}

/// A field name: names of up to 24 bytes (nearly all of them) are held inline, so filling an
/// event's map allocates nothing per name.
type Name = CompactString;

#[derive(Debug, Clone)]
struct Entry {
    /// The name as first pushed, when it differs from the lower-case key.
    name: Option<Name>,
    /// Nearly every field holds one value: kept inline, without an allocation of its own.
    values: SmallVec<[FieldValue; 1]>,
}

/// Insertion-ordered map keyed by lower-case field name.
type FieldMap = indexmap::IndexMap<Name, Entry, BuildHasherDefault<FxHasher>>;

/// Whether `name` is its own lower-case key (no allocation needed to look it up), or a value
/// its own lower-case form.
fn is_lower_key(name: &str) -> bool {
    name.is_ascii() && !name.bytes().any(|b| b.is_ascii_uppercase())
}

/// The lower-case form of a name or value (Unicode; inline when short, see [`Name`]).
fn lower_key(name: &str) -> Name {
    if name.is_ascii() {
        let mut key = Name::new(name);
        key.make_ascii_lowercase();
        key
    } else {
        Name::from(name.to_lowercase())
    }
}

/// A normalised event: fields looked up case-insensitively by Sigma name, plus the
/// well-known Windows system fields used for routing and output.
#[derive(Debug, Clone, Default)]
pub struct EventView {
    fields: FieldMap,
    /// Lowercased channel (`Channel`), if any.
    pub channel: Option<String>,
    /// `EventID`, if numeric.
    pub event_id: Option<u32>,
    /// Timestamp text as found in the source.
    pub timestamp: Option<String>,
    /// Timestamp in milliseconds since the Unix epoch, if parseable.
    pub timestamp_ms: Option<i64>,
    /// Source file (for output).
    pub source: Option<std::sync::Arc<str>>,
}

impl EventView {
    /// An empty event.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty event with room for `fields` distinct fields (no rehashing while it fills).
    pub fn with_capacity(fields: usize) -> Self {
        EventView {
            fields: FieldMap::with_capacity_and_hasher(fields, Default::default()),
            ..Self::default()
        }
    }

    /// Appends a value to a field (fields may hold several values).
    pub fn push(&mut self, name: &str, value: FieldValue) {
        let lower = is_lower_key(name);
        let key = if lower {
            Name::new(name)
        } else {
            lower_key(name)
        };
        match self.fields.entry(key) {
            indexmap::map::Entry::Occupied(mut e) => e.get_mut().values.push(value),
            indexmap::map::Entry::Vacant(e) => {
                e.insert(Entry {
                    name: (!lower).then(|| Name::new(name)),
                    values: smallvec![value],
                });
            }
        }
    }

    /// Appends a string value.
    pub fn push_str(&mut self, name: &str, value: &str) {
        self.push(name, FieldValue::new(value, ValueKind::Str));
    }

    /// Adds `alias` with the values of `source` when `alias` is absent.
    pub fn alias(&mut self, alias: &str, source: &str) {
        if self.has(alias) {
            return;
        }
        if let Some(vals) = self.get(source).map(<[FieldValue]>::to_vec) {
            for v in vals {
                self.push(alias, v);
            }
        }
    }

    /// [`EventView::alias`] with both names already in lower case (`alias` as shown kept).
    pub fn alias_lower(&mut self, alias: &str, alias_lower: &str, source_lower: &str) {
        if self.has_lower(alias_lower) {
            return;
        }
        let Some(vals) = self
            .get_lower(source_lower)
            .map(|v| v.iter().cloned().collect::<SmallVec<_>>())
        else {
            return;
        };
        self.fields.insert(
            Name::new(alias_lower),
            Entry {
                name: (alias != alias_lower).then(|| Name::new(alias)),
                values: vals,
            },
        );
    }

    /// A 64-bit summary of the lower-case field names present (see [`EventView::name_bit`]):
    /// a name whose bit is clear is certainly absent, which rules it out without hashing it.
    pub fn name_bits(&self) -> u64 {
        self.fields.keys().fold(0, |m, k| m | Self::name_bit(k))
    }

    /// The bit of one lower-case field name in [`EventView::name_bits`] (from its length and
    /// last byte, which differ among the names that rules and mappings look up).
    #[inline]
    pub fn name_bit(lower_name: &str) -> u64 {
        let last = lower_name.as_bytes().last().copied().unwrap_or(0) as usize;
        1 << ((lower_name.len() * 7 + last) % 64)
    }

    /// Whether a field is present, its name given in lower case.
    #[inline]
    pub fn has_lower(&self, lower_name: &str) -> bool {
        self.fields.contains_key(lower_name)
    }

    /// Whether the field exists.
    pub fn has(&self, name: &str) -> bool {
        if is_lower_key(name) {
            return self.has_lower(name);
        }
        self.fields.contains_key(lower_key(name).as_str())
    }

    /// Values of a field by already-lowercased name.
    #[inline]
    pub fn get_lower(&self, lower_name: &str) -> Option<&[FieldValue]> {
        self.fields.get(lower_name).map(|e| e.values.as_slice())
    }

    /// Values of a field (any case).
    pub fn get(&self, name: &str) -> Option<&[FieldValue]> {
        if is_lower_key(name) {
            return self.get_lower(name);
        }
        self.get_lower(lower_key(name).as_str())
    }

    /// The first value of a field as text.
    pub fn first(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|v| v.first())
            .map(|v| v.raw.as_str())
    }

    /// Every (field name, value) in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.fields.iter().flat_map(|(k, e)| {
            let name = e.name.as_deref().unwrap_or(k.as_str());
            e.values.iter().map(move |v| (name, v))
        })
    }

    /// Every (lowercased field name, value).
    pub fn iter_lower(&self) -> impl Iterator<Item = (&str, &FieldValue)> {
        self.fields
            .iter()
            .flat_map(|(k, e)| e.values.iter().map(move |v| (k.as_str(), v)))
    }

    /// Every (lowercased field name, its values), in insertion order.
    pub fn fields_lower(&self) -> impl Iterator<Item = (&str, &[FieldValue])> {
        self.fields
            .iter()
            .map(|(k, e)| (k.as_str(), e.values.as_slice()))
    }

    /// Number of distinct fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Fills `channel`, `event_id` and timestamps from the fields `Channel`, `EventID`,
    /// `TimeCreated`; call once after all fields are pushed.
    pub fn finish(&mut self) {
        let first = |key: &str| self.get_lower(key).and_then(|v| v.first());
        let channel = first("channel").map(|v| v.lower().to_owned());
        let event_id = first("eventid").and_then(|v| v.raw.trim().parse().ok());
        let timestamp = match &self.timestamp {
            Some(_) => None,
            None => first("timecreated").map(|v| v.raw.to_string()),
        };
        self.channel = channel;
        self.event_id = event_id;
        if timestamp.is_some() {
            self.timestamp = timestamp;
        }
        self.timestamp_ms = self
            .timestamp
            .as_deref()
            .and_then(crate::time::parse_timestamp_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_at_any_length_and_keep_their_first_spelling() {
        let long = "Event.EventData.ParentProcessCommandLineWithAVeryLongName";
        let mut ev = EventView::new();
        ev.push_str("CommandLine", "a");
        ev.push_str("commandline", "b");
        ev.push_str(long, "c");
        ev.push_str("ÜberFeld", "d");
        ev.push_str("x.y", "e");
        assert_eq!(ev.len(), 4);
        assert_eq!(ev.get("COMMANDLINE").map(<[FieldValue]>::len), Some(2));
        assert_eq!(ev.first(&long.to_uppercase()), Some("c"));
        assert!(ev.has("überfeld") && ev.has_lower("überfeld") && ev.has("X.Y"));
        let names: Vec<&str> = ev.iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            ["CommandLine", "CommandLine", long, "ÜberFeld", "x.y"]
        );
        ev.alias_lower("Alias", "alias", "x.y");
        ev.alias("Other", "ÜBERFELD");
        assert_eq!(
            (ev.first("ALIAS"), ev.first("other")),
            (Some("e"), Some("d"))
        );
        ev.push_str("Channel", "Security");
        ev.push_str("EventID", " 4625 ");
        ev.push_str("TimeCreated", "2026-11-25T01:02:03Z");
        ev.finish();
        assert_eq!(ev.channel.as_deref(), Some("security"));
        assert_eq!(ev.event_id, Some(4625));
        assert_eq!(ev.timestamp.as_deref(), Some("2026-11-25T01:02:03Z"));
        assert!(ev.timestamp_ms.is_some());
    }
}
