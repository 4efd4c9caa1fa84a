//! STIX pattern indicators matched against normalised events, shared by the hub's monitoring
//! path (`mamori-pipeline`) and the sensor's local matching (`mamori-sensor`): [`observe`]
//! maps an event to one STIX observation, [`set`] compiles and indexes the patterns and says
//! which ones an event matches on its own and which cross-event parts it is an observation of,
//! [`hunt`] runs them in `mamori hunt`, and [`status`] tells people how the stream takes one.

pub mod hunt;
pub mod observe;
pub mod set;
pub mod status;

pub use set::{CrossPattern, PatternHits, PatternIndicator, PatternSet, PatternStats};
