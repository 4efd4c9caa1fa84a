//! Mamori's detection engine.
//!
//! Data flow (yara-x shape: compile once, scan many):
//! YAML ([`sigma::yaml`]) → rule documents ([`sigma::ast`]) → compiled IR
//! ([`sigma::compile`], [`sigma::eval`]) → immutable [`Ruleset`] with a logsource
//! [`mapping::Router`] and a literal [`prefilter`] → [`Detector::scan`] per [`EventView`]
//! into a [`FindingSink`].
//! Events come from [`input`] (EVTX, JSON); correlation rules run over base matches
//! ([`correlation`]); indicator matching lives in [`ioc`].

pub mod correlation;
pub mod detector;
pub mod error;
pub mod event;
pub mod hunt;
pub mod input;
pub mod ioc;
pub mod mapping;
pub mod prefilter;
pub mod ruleset;
pub mod sigma;
pub mod time;

pub use detector::Detector;
pub use error::{ConfigError, InputError, RuleError};
pub use event::{EventView, FieldValue, ValueKind};
pub use ruleset::{FindingSink, Ruleset, RulesetBuilder};
pub use sigma::ast::Level;
pub use sigma::compile::CompiledRule;
