//! MISP interchange: the MISP event JSON format (the `{"Event": {...}}` documents of the MISP
//! REST API and of MISP feeds) read into Mamori's sharing model ([`import`]) and written from it
//! ([`export`]), plus the feed manifest ([`feed`]). No I/O here: callers give bytes and get typed
//! values back, with every attribute that could not be mapped listed rather than dropped silently.

pub mod event;
pub mod export;
pub mod feed;
pub mod import;
pub mod types;

pub use event::{Attribute, EventDocument, Galaxy, GalaxyCluster, MispEvent, MispObject, Org, Tag};
pub use import::{ImportLimits, Imported, MispError, Skipped, parse_event};
