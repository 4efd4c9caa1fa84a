//! STIX 2.1 for Mamori: a lossless object model ([`StixObject`], [`Bundle`]), validation of
//! untrusted bundles under [`Limits`], typed views of the object types Mamori uses
//! ([`views`]), TLP 1.0/2.0 marking definitions ([`tlp`]) and the STIX patterning language
//! ([`pattern`]: parser, matcher and IOC extraction). No I/O: callers hand in bytes.
//!
//! ```
//! use mamori_stix::{Bundle, Limits, Observation, Timestamp, StixId, StixObject};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let json = br#"{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
//!   "objects": [{"type": "indicator", "spec_version": "2.1",
//!     "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
//!     "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
//!     "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix",
//!     "valid_from": "2016-01-01T00:00:00Z"}]}"#;
//! let bundle = Bundle::parse(json, Limits::default())?;
//! let indicator = bundle.objects()[0].as_indicator().ok_or("not an indicator")?;
//! let pattern = indicator.parsed_pattern().ok_or("not a STIX pattern")??;
//! assert_eq!(
//!     pattern.simple_equalities(),
//!     [("ipv4-addr:value".to_owned(), "198.51.100.7".to_owned())]
//! );
//!
//! let ip = StixObject::new(StixId::parse("ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4")?)
//!     .with("value", "198.51.100.7");
//! let seen = Observation::at(Timestamp::parse("2026-11-25T21:00:00Z")?, [ip]);
//! assert!(pattern.matches(&[seen]));
//! # Ok(())
//! # }
//! ```

pub mod builders;
pub mod bundle;
mod canonical;
pub mod common;
mod error;
pub mod id;
pub mod limits;
pub mod object;
pub mod pattern;
pub mod timestamp;
pub mod tlp;
pub mod validate;
pub mod views;

pub use bundle::{Bundle, Warning};
pub use common::{ExternalReference, GranularMarking, KillChainPhase};
pub use error::StixError;
pub use id::{IdError, StixId};
pub use limits::Limits;
pub use object::StixObject;
pub use pattern::{Observation, Pattern, PatternError};
pub use timestamp::{Timestamp, TimestampError};
pub use tlp::{tlp_marking_object, tlp_of, tlp_of_refs, tlp1_marking_object};
pub use views::View;
