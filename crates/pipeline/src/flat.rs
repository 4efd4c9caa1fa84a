//! Flat JSON lines, the shape `mamori sensor` sends: one object whose members are scalars or
//! arrays of scalars. They are read straight from the line, keys and strings borrowed where
//! the JSON has no escapes, without building a `serde_json::Value` map first. Anything else
//! (nested objects, arrays of objects, invalid JSON) is `None`, and the caller takes the
//! general path, which also reports the errors.

use std::borrow::Cow;
use std::fmt;

use mamori_detect::event::ValueKind;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// One scalar as the text the engine, the search text and the field hashes all use:
/// strings as they are, numbers in serde_json's rendering, booleans as `true`/`false`,
/// null as the empty text.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar<'a> {
    /// What the JSON held.
    pub kind: ValueKind,
    /// Its text.
    pub text: Cow<'a, str>,
}

/// A member's value.
#[derive(Debug, Clone, PartialEq)]
pub enum FlatValue<'a> {
    /// A scalar.
    One(Scalar<'a>),
    /// An array of scalars.
    Many(Vec<Scalar<'a>>),
}

/// The members of a flat object, in the order of the line (duplicate keys are all kept).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FlatLine<'a> {
    /// (key, value)
    pub members: Vec<(Cow<'a, str>, FlatValue<'a>)>,
}

impl<'a> FlatLine<'a> {
    /// The first member named `key`.
    pub fn get(&self, key: &str) -> Option<&FlatValue<'a>> {
        self.members
            .iter()
            .find_map(|(k, v)| (k.as_ref() == key).then_some(v))
    }

    /// The first member named `key` if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(FlatValue::One(s)) if s.kind == ValueKind::Str => Some(&s.text),
            _ => None,
        }
    }
}

/// Reads `line` if it is a flat JSON object.
pub fn parse(line: &str) -> Option<FlatLine<'_>> {
    let mut de = serde_json::Deserializer::from_str(line);
    let flat = FlatLine::deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(flat)
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor).map(Key)
    }
}

/// Visits a scalar; `seq` says whether an array of scalars is accepted here.
struct ValueVisitor {
    seq: bool,
}

fn scalar<'a>(kind: ValueKind, text: impl Into<Cow<'a, str>>) -> FlatValue<'a> {
    FlatValue::One(Scalar {
        kind,
        text: text.into(),
    })
}

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = FlatValue<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar or an array of scalars")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(scalar(ValueKind::Null, ""))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(scalar(ValueKind::Null, ""))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(scalar(ValueKind::Bool, if v { "true" } else { "false" }))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(scalar(
            ValueKind::Num,
            serde_json::Number::from(v).to_string(),
        ))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(scalar(
            ValueKind::Num,
            serde_json::Number::from(v).to_string(),
        ))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        let n = serde_json::Number::from_f64(v).ok_or_else(|| E::custom("not a JSON number"))?;
        Ok(scalar(ValueKind::Num, n.to_string()))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(scalar(ValueKind::Str, v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(scalar(ValueKind::Str, v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(scalar(ValueKind::Str, v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        if !self.seq {
            return Err(de::Error::custom("nested array"));
        }
        let mut items = Vec::new();
        while let Some(ElementScalar(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(FlatValue::Many(items))
    }
}

struct ElementScalar<'a>(Scalar<'a>);

impl<'de> Deserialize<'de> for ElementScalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ValueVisitor { seq: false })? {
            FlatValue::One(s) => Ok(ElementScalar(s)),
            FlatValue::Many(_) => Err(de::Error::custom("nested array")),
        }
    }
}

struct MemberValue<'a>(FlatValue<'a>);

impl<'de> Deserialize<'de> for MemberValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor { seq: true })
            .map(MemberValue)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = FlatLine<'de>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a flat JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(24));
        while let Some(Key(k)) = map.next_key()? {
            let MemberValue(v) = map.next_value()?;
            members.push((k, v));
        }
        Ok(FlatLine { members })
    }
}

impl<'de> Deserialize<'de> for FlatLine<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LineVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_objects_are_read_and_borrowed() {
        let f = parse(r#"{"a":"x","b\u0041":1.5,"c":[1,"y",null],"d":true,"e":null,"f":-3}"#)
            .expect("flat");
        assert_eq!(f.members.len(), 6);
        assert!(matches!(f.members[0].0, Cow::Borrowed("a")));
        assert_eq!(f.members[1].0, "bA");
        assert_eq!(f.get_str("a"), Some("x"));
        let FlatValue::Many(items) = f.get("c").expect("c") else {
            panic!("array")
        };
        let texts: Vec<&str> = items.iter().map(|s| s.text.as_ref()).collect();
        assert_eq!(texts, ["1", "y", ""]);
        assert_eq!(
            f.get("b\u{41}"),
            Some(&FlatValue::One(Scalar {
                kind: ValueKind::Num,
                text: "1.5".into()
            }))
        );
        assert_eq!(f.get_str("f"), None);
    }

    #[test]
    fn anything_not_flat_is_refused() {
        for line in [
            r#"{"a":{"b":1}}"#,
            r#"{"a":[[1]]}"#,
            r#"{"a":[{"b":1}]}"#,
            r#"[1]"#,
            r#"{"a":1} x"#,
            r#"{"a":"#,
            "",
        ] {
            assert!(parse(line).is_none(), "{line}");
        }
    }

    proptest::proptest! {
        /// Whatever the line, the reader never panics, and a flat object it accepts has the
        /// same members as serde_json's own reading.
        #[test]
        fn agrees_with_serde_json(line in "\\{(\"[a-c]\":(1|\"x\"|null|\\[1,\"y\"\\]|\\{\\}),?){0,4}\\}") {
            let ours = parse(&line);
            let theirs: Result<serde_json::Map<String, serde_json::Value>, _> = serde_json::from_str(&line);
            if let Some(ours) = ours {
                let Ok(theirs) = theirs else { panic!("we accepted what serde_json refuses: {line}") };
                for (k, _) in &ours.members {
                    proptest::prop_assert!(theirs.contains_key(k.as_ref()));
                }
            }
        }
    }
}
