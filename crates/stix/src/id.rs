//! STIX identifiers: `object-type--UUID`, checked on construction so that a [`StixId`] in hand is
//! always well formed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The namespace STIX 2.1 uses for the deterministic (UUIDv5) identifiers of cyber observables.
pub const SCO_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// A well-formed STIX identifier, kept exactly as given (the UUID's letter case is preserved).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StixId(String);

/// Why a string is not a STIX identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    #[error("identifier {0:?} has no \"--\" separator")]
    NoSeparator(String),
    #[error("identifier {0:?} has an invalid object type (3-250 of a-z, 0-9, '-')")]
    BadType(String),
    #[error("identifier {0:?} does not end in an RFC 4122 UUID")]
    BadUuid(String),
}

impl StixId {
    /// Checks `s` and wraps it.
    pub fn parse(s: &str) -> Result<StixId, IdError> {
        let Some((ty, uuid)) = s.split_once("--") else {
            return Err(IdError::NoSeparator(s.to_owned()));
        };
        if !is_type_name(ty) {
            return Err(IdError::BadType(s.to_owned()));
        }
        if !is_uuid(uuid) {
            return Err(IdError::BadUuid(s.to_owned()));
        }
        Ok(StixId(s.to_owned()))
    }

    /// A fresh random (UUIDv4) identifier for an object of type `object_type`, which must be a
    /// valid type name.
    pub fn new_random(object_type: &str) -> Result<StixId, IdError> {
        StixId::parse(&format!("{object_type}--{}", uuid::Uuid::new_v4()))
    }

    /// The deterministic UUIDv5 identifier of a cyber observable, computed from its
    /// ID-contributing properties as the specification requires (canonical JSON of the object
    /// made of those properties; keys sorted).
    pub fn for_sco(
        object_type: &str,
        contributing: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<StixId, IdError> {
        let canonical =
            crate::canonical::to_canonical_string(&serde_json::Value::Object(contributing.clone()));
        let uuid = uuid::Uuid::new_v5(&SCO_ID_NAMESPACE, canonical.as_bytes());
        StixId::parse(&format!("{object_type}--{uuid}"))
    }

    /// A random id for a type name known to be valid (crate-internal constants).
    pub(crate) fn random_unchecked(object_type: &str) -> StixId {
        StixId(format!("{object_type}--{}", uuid::Uuid::new_v4()))
    }

    /// An id from a string known to be well formed (crate-internal constants).
    pub(crate) fn from_static(s: &'static str) -> StixId {
        StixId(s.to_owned())
    }

    /// The object type before the `--`.
    pub fn object_type(&self) -> &str {
        self.0.split_once("--").map_or("", |(t, _)| t)
    }

    /// The UUID after the `--`.
    pub fn uuid_str(&self) -> &str {
        self.0.split_once("--").map_or("", |(_, u)| u)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// True if `s` is a valid STIX type name: 3 to 250 characters of `a-z`, `0-9` and `-`, without
/// a leading, trailing or doubled hyphen.
pub fn is_type_name(s: &str) -> bool {
    (3..=250).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl fmt::Display for StixId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for StixId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<StixId, IdError> {
        StixId::parse(s)
    }
}

impl AsRef<str> for StixId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for StixId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StixId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StixId, D::Error> {
        let s = String::deserialize(d)?;
        StixId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        let id = StixId::parse("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").unwrap();
        assert_eq!(id.object_type(), "indicator");
        assert_eq!(id.uuid_str(), "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f");
        assert!(StixId::parse("x-mamori-thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").is_ok());
        for bad in [
            "indicator",
            "indicator--",
            "Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "ab--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "indicator--8e2e2d2b17d4-4cbf-938f-98ee46b3cd3f0",
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3g",
            "",
        ] {
            assert!(StixId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sco_ids_are_deterministic_as_in_the_spec() {
        // uuid5(00abedb4-…, '{"value":"198.51.100.3"}'), as python-stix2 computes it.
        let mut m = serde_json::Map::new();
        m.insert("value".into(), "198.51.100.3".into());
        let a = StixId::for_sco("ipv4-addr", &m).unwrap();
        let b = StixId::for_sco("ipv4-addr", &m).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.as_str(),
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
    }
}
