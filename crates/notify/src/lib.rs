//! Notification, first part: feeds in and owners found. Feed parsers ([`feed`]) turn URLhaus,
//! Shadowserver, PhishTank, OpenPhish, generic mapped CSV/JSON feeds and STIX objects from a
//! TAXII collection into [`Observation`]s
//! (what, where, when, source, evidence); the [`owner::OwnerIndex`] finds the member
//! organisation that owns each one by longest-prefix match on its address ranges, by the
//! imported ASN table ([`asn`]) or by registered domain. Notices, delivery (SMTP in [`notice`],
//! JSON webhooks in [`webhook`]) and block lists build on this.

pub mod asn;
pub mod blocklist;
pub mod evidence;
pub mod feed;
pub mod notice;
pub mod observation;
pub mod owner;
pub mod webhook;

pub use feed::{FeedError, FeedReport};
pub use observation::Observation;
pub use owner::{OwnerIndex, OwnerMatch};
