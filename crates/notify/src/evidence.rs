//! The columns of a feed line kept with its observation, for the notice and the record.
//!
//! A feed of 100,000 lines used to carry 100,000 copies of its header and one string per cell
//! (a `BTreeMap<String, String>` per line): most of a feed run's time went to allocating and
//! first touching that memory. Here the column names are shared by every line of a feed and a
//! line's values sit in one buffer (a `csv::StringRecord`), in the feed's own column order.

use std::fmt;
use std::sync::Arc;

use csv::StringRecord;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Column names shared by all the lines of one feed.
pub type Columns = Arc<[String]>;

/// Every column of one feed line: name and value, in the feed's order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    columns: Columns,
    values: StringRecord,
}

impl Evidence {
    /// A line's values under the feed's columns. Values past the last column are dropped;
    /// columns past the last value read as empty.
    pub fn new(columns: &Columns, mut values: StringRecord) -> Self {
        values.truncate(columns.len());
        Evidence {
            columns: Arc::clone(columns),
            values,
        }
    }

    /// The value of `column`, when the line has it.
    pub fn get(&self, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c == column)?;
        Some(self.values.get(i).unwrap_or(""))
    }

    /// (column, value) pairs in the feed's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.as_str(), self.values.get(i).unwrap_or("")))
    }

    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

impl<K: Into<String>, V: AsRef<str>> FromIterator<(K, V)> for Evidence {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut columns = Vec::new();
        let mut values = StringRecord::new();
        for (k, v) in pairs {
            columns.push(k.into());
            values.push_field(v.as_ref());
        }
        Evidence {
            columns: columns.into(),
            values,
        }
    }
}

impl fmt::Debug for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Evidence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Evidence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Evidence;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of column names to text")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Evidence, A::Error> {
                let mut pairs: Vec<(String, String)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    pairs.push((k, v));
                }
                Ok(pairs.into_iter().collect())
            }
        }
        d.deserialize_map(Pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_feed_order_and_round_trips_as_a_json_object() {
        let cols: Columns = vec!["url".to_owned(), "tags".to_owned(), "id".to_owned()].into();
        let e = Evidence::new(
            &cols,
            StringRecord::from(vec!["http://x.example/", "elf,mirai", "7", "extra"]),
        );
        assert_eq!(e.get("tags"), Some("elf,mirai"));
        assert_eq!(e.get("nope"), None);
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"url":"http://x.example/","tags":"elf,mirai","id":"7"}"#
        );
        let back: Evidence = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        let short = Evidence::new(&cols, StringRecord::from(vec!["u"]));
        assert_eq!(short.get("id"), Some(""));
    }
}
