//! Targeted e-mail analysis for Mamori (issue 6).
//!
//! [`analyze`] turns the raw bytes of one message into an [`Analysis`]: decoded identity headers
//! (RFC 2047 including ISO-2022-JP and mislabelled charsets), the Received chain as timed hops,
//! SPF/DKIM/DMARC/ARC verdicts, domain mismatches, body text and a language guess, URLs from
//! text and HTML (defanged forms, link-text mismatches, shorteners, forms), attachments with
//! hashes, true types, name tricks and active-content markers, ZIP archives (encrypted ones
//! opened with passwords found in the text — PPAP), nested messages, and a scored [`Verdict`]
//! with Japanese and English explanations. With a [`Scanner`] in [`Options`] (the YARA-X
//! adapter `mamori-yara`), the raw message, every body part, attachment and archive member is
//! scanned and the matches go into the report, the verdict and the campaign features. [`Features`] and [`CampaignIndex`] link related
//! messages into campaigns. [`source`] splits files, directories and mboxes into messages.
//!
//! Limits ([`Limits`]) are enforced before and during parsing and the MIME parser runs under
//! `catch_unwind`; a malformed or hostile message yields a report with findings, never a panic.

pub mod analyze;
pub mod archive;
pub mod attachment;
pub mod auth;
pub mod brands;
mod budgeted;
pub mod campaign;
pub mod decode;
pub mod error;
pub mod extract;
pub mod fat;
pub mod features;
pub mod filetype;
pub mod headers;
pub mod html;
pub mod iso;
pub mod lang;
pub mod limits;
pub mod passwords;
pub mod received;
pub mod report;
pub mod scanner;
pub mod scanning;
pub mod sevenz;
pub mod source;
pub mod udf;
pub mod urls;
pub mod verdict;

pub use analyze::{Options, analyze, analyze_keeping, analyze_with};
pub use campaign::{CampaignId, CampaignIndex};
pub use error::MailError;
pub use extract::{ExtractedFile, FileRole, Kept};
pub use features::Features;
pub use limits::Limits;
pub use report::{Analysis, Finding};
pub use scanner::{ScanMatch, Scanner, SharedScanner};
pub use verdict::{Signal, Verdict};
