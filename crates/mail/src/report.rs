//! The report types: [`Analysis`] and everything it contains. They serialise to a stable JSON
//! shape (field names are part of the interface; new fields are only ever added) and read
//! back from it; a field missing from older JSON takes its default.

use serde::{Deserialize, Serialize};

use crate::scanner::ScanMatch;
use crate::verdict::Verdict;

/// Version of the JSON shape of [`Analysis`].
pub const SCHEMA_VERSION: u32 = 1;

/// Everything learned about one message.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Analysis {
    pub schema: u32,
    /// Size of the raw message in bytes.
    pub size: usize,
    pub sha256: String,
    pub headers: Headers,
    /// Received hops in delivery order (the first hop is the one nearest the sender).
    pub received: Vec<Hop>,
    pub auth: AuthResults,
    pub mismatches: Vec<Mismatch>,
    pub bodies: Vec<BodyPart>,
    /// Language guess over all body text: `ja`, `en`, `other` or `unknown`.
    pub language: String,
    pub urls: Vec<UrlRecord>,
    pub forms: Vec<FormRecord>,
    pub attachments: Vec<FileReport>,
    /// message/rfc822 parts, analysed as messages of their own.
    pub nested: Vec<Analysis>,
    /// Content-scanner (YARA) matches on the raw message, body parts, attachments and archive
    /// members; empty when no scanner was supplied.
    pub scan_matches: Vec<ScanMatch>,
    /// Problems met while parsing; the analysis carries on regardless.
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
}

impl Analysis {
    /// The attachments with, below each, the members of the archives and disk images inside
    /// it, depth first, each with its depth (0 for an attachment): the tree a report shows.
    pub fn file_tree(&self) -> Vec<(usize, &FileReport)> {
        fn walk<'a>(f: &'a FileReport, depth: usize, out: &mut Vec<(usize, &'a FileReport)>) {
            out.push((depth, f));
            if let Some(ar) = &f.archive {
                for m in &ar.entries {
                    walk(m, depth + 1, out);
                }
            }
        }
        let mut out = Vec::new();
        for f in &self.attachments {
            walk(f, 0, &mut out);
        }
        out
    }

    /// Every file met, in order: each attachment followed by the members of the archives and
    /// disk images inside it (depth first), then those of attached messages. Indicator
    /// matching and sharing use this, so a DLL inside an ISO inside a ZIP counts like an
    /// attachment.
    pub fn files(&self) -> Vec<&FileReport> {
        let mut out: Vec<&FileReport> = self.file_tree().into_iter().map(|(_, f)| f).collect();
        for n in &self.nested {
            out.extend(n.files());
        }
        out
    }
}

/// A mailbox from an address header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: Option<String>,
    pub domain: Option<String>,
}

/// The headers an analyst looks at first, decoded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Headers {
    pub from: Vec<Mailbox>,
    pub sender: Option<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub return_path: Option<String>,
    pub return_path_domain: Option<String>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub subject: Option<String>,
    /// Charset named in the Subject's encoded words (or the one detected for raw 8-bit text).
    pub subject_charset: Option<String>,
    /// Date header as RFC 3339, when it parses.
    pub date: Option<String>,
    /// Time zone offset of the Date header, e.g. `+09:00`.
    pub timezone: Option<String>,
    pub message_id: Option<String>,
    pub message_id_domain: Option<String>,
    pub x_mailer: Option<String>,
    pub user_agent: Option<String>,
    pub x_originating_ip: Option<String>,
}

/// One Received header.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Hop {
    pub from_host: Option<String>,
    pub by_host: Option<String>,
    pub ip: Option<String>,
    /// RFC 3339 time of the hop.
    pub time: Option<String>,
    pub timestamp: Option<i64>,
    /// Seconds since the previous hop (negative when clocks or headers disagree).
    pub delay_secs: Option<i64>,
}

/// Authentication verdicts as reported by the receiving side.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthResults {
    pub spf: Option<String>,
    pub dkim: Option<String>,
    pub dmarc: Option<String>,
    /// Result of Received-SPF when present.
    pub received_spf: Option<String>,
    /// ARC chain validation (`cv=` of the newest ARC-Seal) or `arc=` in the results.
    pub arc: Option<String>,
    /// Authentication-Results headers seen.
    pub headers: usize,
}

/// Two identity headers whose domains differ.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mismatch {
    pub first: String,
    pub first_domain: String,
    pub second: String,
    pub second_domain: String,
}

/// A text or HTML body part, as text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BodyPart {
    /// `text` or `html`.
    pub kind: String,
    pub charset: Option<String>,
    /// The text (HTML converted to text), at most [`crate::Limits::max_text_bytes`].
    pub text: String,
    pub truncated: bool,
    pub language: String,
}

/// A URL found in a body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UrlRecord {
    /// The URL, re-fanged (hxxp → http, `[.]` → `.`).
    pub url: String,
    pub scheme: String,
    pub host: Option<String>,
    /// Where it was found: `text`, `href`, `form`, `src`, `refresh`, `html` (elsewhere in the
    /// markup: other attributes, CSS, comments).
    pub source: String,
    /// Visible text of the link (HTML anchors).
    pub link_text: Option<String>,
    /// The link text names a different host than the target.
    pub text_mismatch: bool,
    pub defanged: bool,
    pub shortener: bool,
    pub ip_host: bool,
    /// `user@host` before the host (a classic disguise).
    pub userinfo: bool,
}

/// An HTML form in a body.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FormRecord {
    pub action: Option<String>,
    pub method: Option<String>,
    pub has_password: bool,
}

/// An attachment or an archive member.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FileReport {
    pub name: Option<String>,
    pub claimed_type: Option<String>,
    /// MIME type from magic bytes.
    pub true_type: Option<String>,
    pub true_extension: Option<String>,
    pub size: usize,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    /// TLSH digest (absent for small or low-entropy data).
    pub tlsh: Option<String>,
    pub flags: FileFlags,
    /// Active-content markers found (`/JavaScript`, `vbaProject.bin`, `\object`, ...).
    pub markers: Vec<String>,
    pub archive: Option<ArchiveReport>,
}

/// Yes/no facts about a file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct FileFlags {
    pub double_extension: bool,
    pub rlo: bool,
    pub executable: bool,
    pub type_mismatch: bool,
    pub macros: bool,
    pub pdf_active: bool,
    pub lnk: bool,
    pub rtf_object: bool,
    pub disk_image: bool,
    pub script: bool,
    /// A RAR archive, or a 7z archive that could not be read: Mamori lists no members and
    /// scans none (see `filetype.rs`).
    pub opaque_archive: bool,
}

impl FileReport {
    /// What a report's notes column says about this file: its flag identifiers, then its
    /// archive's [`ArchiveReport::summary`] in `words`.
    pub fn notes(&self, words: &ArchiveWords<'_>) -> Vec<String> {
        let mut notes: Vec<String> = self.flags.ids().into_iter().map(str::to_owned).collect();
        if let Some(ar) = &self.archive {
            notes.push(ar.summary(words));
        }
        notes
    }
}

impl FileFlags {
    /// The identifiers of the flags that are set (`executable`, `double_extension`...), in a
    /// fixed order, for reports.
    pub fn ids(&self) -> Vec<&'static str> {
        [
            (self.executable, "executable"),
            (self.double_extension, "double_extension"),
            (self.rlo, "rlo"),
            (self.type_mismatch, "type_mismatch"),
            (self.macros, "macros"),
            (self.pdf_active, "pdf_active"),
            (self.lnk, "lnk"),
            (self.rtf_object, "rtf_object"),
            (self.disk_image, "disk_image"),
            (self.script, "script"),
            (self.opaque_archive, "not_inspected"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, id)| id)
        .collect()
    }
}

/// What was inside an archive.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ArchiveReport {
    pub kind: String,
    pub encrypted: bool,
    /// The password that opened it, when one was needed and found.
    pub password: Option<String>,
    /// How many candidate passwords were tried.
    pub passwords_tried: usize,
    /// False when encrypted and no candidate opened it.
    pub opened: bool,
    pub entries: Vec<FileReport>,
    pub entry_names: Vec<String>,
}

/// The words of [`ArchiveReport::summary`], in the reader's language.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveWords<'a> {
    pub files: &'a str,
    pub encrypted: &'a str,
    pub password_found: &'a str,
    pub not_opened: &'a str,
    pub passwords_tried: &'a str,
}

impl ArchiveWords<'static> {
    pub const EN: Self = Self {
        files: "files",
        encrypted: "encrypted",
        password_found: "opened with the password from the text",
        not_opened: "not opened",
        passwords_tried: "candidate passwords tried",
    };
}

impl ArchiveReport {
    /// One line for a report: kind, member count, and for an encrypted archive the password
    /// that opened it or how many candidates failed, e.g. `7z · 2 files · encrypted · opened
    /// with the password from the text: Hq7tR2v`.
    pub fn summary(&self, w: &ArchiveWords<'_>) -> String {
        let mut s = format!("{} · {} {}", self.kind, self.entry_names.len(), w.files);
        if self.encrypted {
            s.push_str(&format!(" · {}", w.encrypted));
            match &self.password {
                Some(pw) => s.push_str(&format!(" · {}: {pw}", w.password_found)),
                None if !self.opened => s.push_str(&format!(
                    " · {} ({} {})",
                    w.not_opened, self.passwords_tried, w.passwords_tried
                )),
                None => {}
            }
        }
        s
    }
}

/// A problem met while parsing, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier, e.g. `limit.size`, `parse.panic`, `zip.bomb`.
    pub id: String,
    pub detail: String,
}

impl Finding {
    pub fn new(id: &str, detail: impl Into<String>) -> Self {
        Self {
            id: id.to_owned(),
            detail: detail.into(),
        }
    }
}
