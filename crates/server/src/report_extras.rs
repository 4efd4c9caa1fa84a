//! Notes and attachments on reports. Every read goes through the report's visibility (a reader
//! who may not see the report gets "not found" for its notes and files, exactly as for the
//! report); notes are written by any writer who may see the report, attachments only by the
//! report's owners. Attachment bytes are stored content-addressed under
//! `<data>/attachments/<sha256>`, written to a temporary file and renamed into place. Every
//! change is audited; reads of AMBER and above are recorded.

use std::path::Path;

use mamori_access::may_write;
use mamori_model::ReportId;
use mamori_store::notes::{Attachment, Note};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::ApiError;
use crate::ops::{Actor, audit, audit_read};
use crate::sharing::{ShareCtx, insider, load_editable, load_visible};

/// The largest attachment accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 16 * 1024 * 1024;
/// The longest note.
pub const MAX_NOTE_CHARS: usize = 20_000;

/// Adds a note to a report the actor may see.
pub async fn add_note(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
    body: &str,
) -> Result<Note, ApiError> {
    let stored = load_visible(cx, actor, id).await?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::Invalid(format!(
            "a note has 1 to {MAX_NOTE_CHARS} characters"
        )));
    }
    let (org, user) = match &actor.principal {
        Some(p) if !may_write(p) => {
            return Err(ApiError::Forbidden("your role may not write notes".into()));
        }
        Some(p) => (p.org_id, Some(p.user_id.to_string())),
        None => (stored.owner_org, None),
    };
    let seed = uuid::Uuid::now_v7().to_string();
    let stix_id = crate::taxii::export::note_stix_id(&seed)
        .ok_or_else(|| ApiError::Internal("note id".into()))?;
    let note = cx
        .store
        .add_note(id, org, user.as_deref(), body, stix_id.as_str())
        .await?;
    crate::taxii::sync::sync_report(cx, id).await?;
    audit(
        cx.store,
        actor,
        "report.note.add",
        "report",
        &id.to_string(),
        Some(stored.report.tlp),
        json!({"note": note.id}),
    )
    .await?;
    Ok(note)
}

/// The notes of a report the actor may see. On an anonymous report, notes its authors wrote do
/// not name them to outsiders.
pub async fn list_notes(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
) -> Result<Vec<Note>, ApiError> {
    let stored = load_visible(cx, actor, id).await?;
    audit_read(
        cx.store,
        actor,
        "report",
        &id.to_string(),
        stored.report.tlp,
    )
    .await?;
    let mut notes = cx.store.report_notes(id).await?;
    if stored.report.anonymous && !insider(actor, stored.owner_org) {
        let owner = stored.owner_org.to_string();
        for n in notes.iter_mut().filter(|n| n.author_org == owner) {
            n.author_org = String::new();
            n.created_by = None;
        }
    }
    Ok(notes)
}

/// A file name safe to store and to send back in Content-Disposition.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(200)
        .collect();
    if cleaned.trim().is_empty() || cleaned == "." || cleaned == ".." {
        "attachment".to_owned()
    } else {
        cleaned
    }
}

/// Where the bytes with this digest live.
fn blob_path(data_dir: &Path, sha256: &str) -> std::path::PathBuf {
    data_dir.join("attachments").join(sha256)
}

/// Attaches a file to a report the actor may edit.
pub async fn add_attachment(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    data_dir: &Path,
    id: ReportId,
    file_name: &str,
    bytes: &[u8],
) -> Result<Attachment, ApiError> {
    let stored = load_editable(cx, actor, id).await?;
    if bytes.is_empty() || bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(ApiError::Invalid(format!(
            "an attachment has 1 to {MAX_ATTACHMENT_BYTES} bytes"
        )));
    }
    let sha = hex(&Sha256::digest(bytes));
    let path = blob_path(data_dir, &sha);
    if !path.exists() {
        let dir = data_dir.join("attachments");
        let tmp = dir.join(format!(".{sha}.{}", uuid::Uuid::now_v7()));
        let write = |p: &Path| -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(p, bytes)?;
            std::fs::rename(p, &path)
        };
        if let Err(e) = write(&tmp) {
            let _ = std::fs::remove_file(&tmp);
            return Err(ApiError::Internal(format!("storing an attachment: {e}")));
        }
    }
    let user = actor.principal.as_ref().map(|p| p.user_id.to_string());
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let a = cx
        .store
        .add_attachment(
            id,
            &clean_name(file_name),
            "application/octet-stream",
            &sha,
            size,
            user.as_deref(),
        )
        .await?;
    audit(
        cx.store,
        actor,
        "report.attachment.add",
        "report",
        &id.to_string(),
        Some(stored.report.tlp),
        json!({"attachment": a.id, "sha256": sha, "size": size}),
    )
    .await?;
    Ok(a)
}

/// The attachments listed on a report the actor may see.
pub async fn list_attachments(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
) -> Result<Vec<Attachment>, ApiError> {
    let stored = load_visible(cx, actor, id).await?;
    audit_read(
        cx.store,
        actor,
        "report",
        &id.to_string(),
        stored.report.tlp,
    )
    .await?;
    Ok(cx.store.report_attachments(id).await?)
}

/// One attachment's row and bytes, for a reader who may see the report.
pub async fn read_attachment(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    data_dir: &Path,
    id: ReportId,
    attachment: &str,
) -> Result<(Attachment, Vec<u8>), ApiError> {
    let stored = load_visible(cx, actor, id).await?;
    let a = cx
        .store
        .report_attachment(id, attachment)
        .await?
        .ok_or_else(|| ApiError::NotFound("attachment".into()))?;
    audit_read(cx.store, actor, "attachment", &a.id, stored.report.tlp).await?;
    let bytes = std::fs::read(blob_path(data_dir, &a.sha256))
        .map_err(|e| ApiError::Internal(format!("reading attachment {}: {e}", a.sha256)))?;
    if hex(&Sha256::digest(&bytes)) != a.sha256 {
        return Err(ApiError::Internal(format!(
            "attachment {} does not match its digest",
            a.sha256
        )));
    }
    Ok((a, bytes))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
