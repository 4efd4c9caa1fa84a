//! STIX 2.1 for Mamori: a lossless object model ([`StixObject`], [`Bundle`]), validation of
//! untrusted bundles under [`Limits`], typed views of the object types Mamori uses
//! ([`views`]), TLP 1.0/2.0 marking definitions ([`tlp`]) and the STIX patterning language
//! ([`pattern`]: parser, matcher and IOC extraction). No I/O: callers hand in bytes.

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
pub use tlp::{tlp_marking_object, tlp_of, tlp_of_refs};
pub use views::View;
