//! [`Observation`]: what patterns are matched against — an observed-data-like record with a
//! time window, a count and the cyber observables seen.

use serde_json::{Map, Value};

use crate::{Bundle, StixObject, Timestamp};

/// One observation: `number_observed` sightings between `first_observed` and
/// `last_observed` of the cyber observables in `objects` (keyed by SCO id, or by the local
/// keys of the deprecated embedded form; `*_ref` properties resolve against these keys and
/// against the objects' `id`).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub first_observed: Timestamp,
    pub last_observed: Timestamp,
    pub number_observed: u64,
    pub objects: Map<String, Value>,
}

impl Observation {
    /// One observation of the given objects at a single instant.
    pub fn at(t: Timestamp, objects: impl IntoIterator<Item = StixObject>) -> Observation {
        let objects = objects
            .into_iter()
            .map(|o| (o.id.to_string(), o.to_json_value()))
            .collect();
        Observation {
            first_observed: t.clone(),
            last_observed: t,
            number_observed: 1,
            objects,
        }
    }

    /// The observation an `observed-data` object records: its embedded `objects`, or the
    /// objects its `object_refs` name, looked up in `bundle`. `None` if `o` is not an
    /// observed-data object with valid `first_observed`, `last_observed` and
    /// `number_observed` ≥ 1.
    pub fn from_observed_data(o: &StixObject, bundle: Option<&Bundle>) -> Option<Observation> {
        let od = o.as_observed_data()?;
        let number_observed = u64::try_from(od.number_observed()?)
            .ok()
            .filter(|n| *n >= 1)?;
        let mut objects = od.objects().cloned().unwrap_or_default();
        if let Some(b) = bundle {
            for r in od.object_refs() {
                if let Some(x) = b.get(&r) {
                    objects.insert(r.to_string(), x.to_json_value());
                }
            }
        }
        Some(Observation {
            first_observed: od.first_observed()?,
            last_observed: od.last_observed()?,
            number_observed,
            objects,
        })
    }

    /// All the observations recorded by the observed-data objects of a bundle.
    pub fn from_bundle(bundle: &Bundle) -> Vec<Observation> {
        bundle
            .of_type("observed-data")
            .filter_map(|o| Observation::from_observed_data(o, Some(bundle)))
            .collect()
    }
}
