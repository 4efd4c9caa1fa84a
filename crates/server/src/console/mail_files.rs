//! The attachment tree of a mail analysis as table rows (`templates/mail_files.html`), shared
//! by the upload result and the stored-analysis page: each attachment, indented below it what
//! its archive or disk image holds, then each attached (forwarded) message with its own
//! files below it.

use mamori_mail::Analysis;
use mamori_mail::report::ArchiveWords;

use super::i18n::Tr;

/// Deepest indentation drawn (the `depth-N` CSS classes).
const MAX_INDENT: usize = 4;

/// One row of the attachment tree.
pub(crate) struct FileLine {
    /// Nesting depth, 0 for an attachment of the message, at most [`MAX_INDENT`].
    pub indent: usize,
    pub name: String,
    pub kind: String,
    pub size: usize,
    pub sha256: String,
    /// Flag identifiers (`executable`, `double_extension`...) and the archive's state.
    pub notes: String,
}

/// The attachment tree of an analysis.
pub(crate) struct FileTree {
    pub rows: Vec<FileLine>,
    /// Files in the tree: attachments, archive and image members, attached messages' files
    /// (the attached messages themselves are rows, not counted).
    pub count: usize,
}

impl FileTree {
    pub fn empty() -> FileTree {
        FileTree {
            rows: Vec::new(),
            count: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// The attachment tree of an analysis, depth first, with each archive's state in the notes of
/// the file that holds it, and attached messages after the files.
pub(crate) fn file_lines(a: &Analysis, t: &Tr) -> FileTree {
    let mut rows = Vec::new();
    let count = push_message(a, 0, t, &mut rows);
    FileTree { rows, count }
}

/// Pushes a message's rows; returns how many of them are files.
fn push_message(a: &Analysis, depth: usize, t: &Tr, out: &mut Vec<FileLine>) -> usize {
    let mut count = 0;
    let words = ArchiveWords {
        files: t.get("mail.archive_files"),
        encrypted: t.get("mail.encrypted"),
        password_found: t.get("mail.password_found"),
        not_opened: t.get("mail.not_opened"),
        passwords_tried: t.get("mail.passwords_tried"),
    };
    for (d, f) in a.file_tree() {
        count += 1;
        out.push(FileLine {
            indent: (depth + d).min(MAX_INDENT),
            name: f.name.clone().unwrap_or_default(),
            kind: f.true_type.clone().unwrap_or_default(),
            size: f.size,
            sha256: f.sha256.clone(),
            notes: f.notes(&words).join(", "),
        });
    }
    for n in &a.nested {
        out.push(FileLine {
            indent: depth.min(MAX_INDENT),
            name: n.headers.subject.clone().unwrap_or_default(),
            kind: "message/rfc822".into(),
            size: n.size,
            sha256: n.sha256.clone(),
            notes: t.get("mail.attached_message").to_owned(),
        });
        count += push_message(n, depth + 1, t, out);
    }
    count
}
