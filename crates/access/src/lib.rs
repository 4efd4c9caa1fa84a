//! The visibility policy. It alone answers "may this principal see this object?" ([`may_see`]) and
//! produces the filter that list queries apply in storage ([`VisibilityFilter`]); every read path
//! (API, TAXII, exports, console, search) goes through it. It also answers the management questions
//! ("may this principal manage that organisation?") and who takes part in an incident case
//! ([`may_see_case`], [`may_see_request`]).
//!
//! How the TLP 2.0 definitions map onto a hub of member organisations (the *audience* of an object
//! is its owner organisation, the members of its sharing group and its named recipient orgs):
//!
//! | TLP | who sees it |
//! |---|---|
//! | CLEAR | everyone, including anonymous readers |
//! | GREEN | the community: every member organisation, or the audience when a group or recipients narrow it |
//! | AMBER | the audience |
//! | AMBER+STRICT | the audience (recipients may not pass it on: exports and re-sharing refuse it) |
//! | RED | the owner organisation and named recipient organisations only; a sharing group does not widen it |
//!
//! Hub administrators see everything but RED that is not addressed to their organisation, so that
//! they can run the hub without becoming recipients of material never released to them.

mod cases;
mod manage;
mod visibility;

pub use cases::{may_see_case, may_see_request, request_scope};
pub use manage::{may_administer, may_manage_org, may_read_audit, may_write, role_scopes};
pub use visibility::{VisibilityFilter, may_see};
