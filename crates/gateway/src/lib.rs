//! `mamori gateway`: a DNS forwarding resolver for a protected network segment (IoT devices, a
//! ministry LAN). Names on the hub's block list, and their subdomains, are answered with
//! NXDOMAIN or a sink-hole address; everything else is forwarded to the upstream resolver and
//! cached for its TTL. Every blocked query (which client asked for what) is handed to the
//! caller as a [`Blocked`] report, which the command sends to the hub as a sighting and an
//! event. UDP only: a truncated upstream answer is passed on, so clients retry over TCP
//! against their fallback resolver.

mod blocklist;
mod cache;
mod server;

pub use blocklist::BlockSet;
pub use cache::Cache;
pub use server::{Blocked, Gateway, GatewayError, Settings, Stats};
