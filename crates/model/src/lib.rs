//! Domain types shared by every Mamori crate: organisations, users, tokens, sharing groups,
//! TLP 2.0 markings and the principal that asks for things. No I/O and no async live here.

pub mod date;
mod group;
mod id;
mod identity;
mod org;
mod sharing;
mod string_enum;
mod tlp;

pub use group::SharingGroup;
pub use id::{GroupId, OrgId, TokenId, UserId};
pub use identity::{ApiToken, Principal, Role, Scope, User};
pub use org::{Contact, Lang, Org, OrgKind};
pub use sharing::{
    Indicator, IndicatorId, Observable, ObservableId, Report, ReportId, Sighting, SightingId,
    SightingSource, ValueKind,
};
pub use tlp::{Marking, Tlp};

/// A value that could not be parsed from its textual form (CLI argument, config value, database
/// column). Carries what was expected and what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {given:?} (expected one of: {expected})")]
pub struct ParseEnumError {
    pub what: &'static str,
    pub given: String,
    pub expected: &'static str,
}

/// Milliseconds since the Unix epoch, UTC. Every timestamp in the model uses it: it sorts, it is
/// exact, and it is stored the same way on every backend.
pub type UnixMillis = i64;
