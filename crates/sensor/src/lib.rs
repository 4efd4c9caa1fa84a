//! `mamori sensor` as a library: runs next to a member organisation's logs, reads them
//! ([`tail`] files, [`evtx_dir`] EVTX directories, [`syslog`] listeners), normalises every
//! line with the shared parsers ([`normalise`]), matches locally ([`matcher`]; rules and
//! indicators from local files or signed bundles pulled from the hub, [`bundle`]), and forwards
//! batches ([`batch`]) to the hub ([`hub`], [`shipper`]) per the forward mode, buffering on
//! disk ([`spool`]) when the hub cannot take them. Positions are checkpointed
//! ([`checkpoint`]) only once what came before them is acknowledged or spooled.
//!
//! Entry points: [`run::run_until_signal`] (the CLI) and [`run::run`] (tests, embedding).

pub mod batch;
pub mod bundle;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod evtx_dir;
pub mod hub;
pub mod key_chain;
pub mod matcher;
pub mod normalise;
pub mod record;
pub mod run;
pub mod shipper;
pub mod spool;
pub mod stats;
pub mod syslog;
pub mod tail;

pub use config::{FileConfig, ForwardMode, RuleSource, Secret, SensorConfig, TailSpec};
pub use error::SensorError;
pub use run::{Control, run, run_until_signal};
pub use stats::Summary;
