//! YARA scanning for Mamori: a thin adapter over yara-x, kept in this one crate because yara-x
//! is heavy to build.
//!
//! Compile once, scan many: [`RuleSet::compile`] turns named [`Source`]s (files from
//! [`load_path`], or rule sets stored in the hub) into one rule set, each source a namespace;
//! errors are [`YaraError`]s naming the source, line and yara-x's message, never panics.
//! [`RuleSet::scan`] matches bytes within a timeout; [`YaraScanner`] implements
//! [`mamori_mail::Scanner`], so mail analysis scans every part of a message with it.
//!
//! Modules: [`rules`] (sources, limits, compiling), [`scan`] (hits, the mail scanner),
//! [`load`] (rule files and directories), [`error`].

pub mod error;
pub mod load;
pub mod rules;
pub mod scan;

pub use error::YaraError;
pub use load::load_path;
pub use rules::{Diagnostic, Limits, RuleSet, Source, SourceSummary, check};
pub use scan::{Hit, ScanError, YaraScanner};
