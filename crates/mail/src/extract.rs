//! The bytes behind an analysis, for the hub's sample store: every attachment, archive member
//! and attached message that [`crate::analyze_keeping`] met, once per SHA-256 and within a byte
//! budget ([`Kept`]). Nothing here interprets or runs them; they are the same bytes the
//! analysers saw.

use serde::Serialize;

/// Where an extracted file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileRole {
    /// A MIME attachment of the message (or of an attached message).
    Attachment,
    /// A member of an opened archive.
    ArchiveMember,
    /// An attached message (message/rfc822) or a returned header block.
    Message,
}

impl FileRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FileRole::Attachment => "attachment",
            FileRole::ArchiveMember => "archive_member",
            FileRole::Message => "message",
        }
    }
}

/// One extracted file and its bytes.
#[derive(Debug, Clone)]
pub struct ExtractedFile {
    pub role: FileRole,
    /// The name it had in the message or archive, if any.
    pub name: Option<String>,
    /// Lower-case hex SHA-256 of `data`.
    pub sha256: String,
    pub data: Vec<u8>,
}

/// The files kept from one message, within a byte budget.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    pub files: Vec<ExtractedFile>,
    /// Distinct files not kept because the budget was spent.
    pub dropped: usize,
    bytes: u64,
    cap: u64,
}

impl Kept {
    /// Keeps at most `cap` bytes in all.
    pub fn with_cap(cap: u64) -> Self {
        Kept {
            cap,
            ..Kept::default()
        }
    }

    /// Bytes kept.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Adds a file unless the same content was kept already or the budget would be exceeded.
    pub(crate) fn keep(&mut self, role: FileRole, name: Option<&str>, sha256: &str, data: &[u8]) {
        if self.files.iter().any(|f| f.sha256 == sha256) {
            return;
        }
        let size = data.len() as u64;
        if self.bytes.saturating_add(size) > self.cap {
            self.dropped += 1;
            return;
        }
        self.bytes += size;
        self.files.push(ExtractedFile {
            role,
            name: name.map(str::to_owned),
            sha256: sha256.to_owned(),
            data: data.to_vec(),
        });
    }
}
