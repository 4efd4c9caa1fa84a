//! Case evidence operations. Only participants of a case (and hub administrators) upload, list
//! and download its evidence; every upload and download appends a chain-of-custody entry (who,
//! which organisation, when, from which address) and an audit record. Uploads are checked before
//! a byte is written ([`begin_upload`]), streamed to disk under the configured size limit
//! ([`crate::blob::BlobWriter`]) and recorded by [`finish_upload`].

use mamori_store::cases::Case;
use mamori_store::evidence::{Custodian, CustodyEntry, Evidence, NewEvidence};
use serde::Serialize;
use serde_json::json;

use crate::ApiError;
use crate::blob::{BlobArea, BlobWriter};
use crate::cases::{CaseCtx, load, require_write};
use crate::ops::{Actor, audit};

/// A piece of evidence with its chain of custody.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EvidenceView {
    pub evidence: Evidence,
    pub custody: Vec<CustodyEntry>,
}

/// What the uploader says about the file.
#[derive(Debug, Clone, Default)]
pub struct EvidenceMeta {
    pub filename: String,
    pub content_type: String,
    pub description: String,
}

fn custodian(actor: &Actor) -> Custodian {
    Custodian {
        actor: actor.name.clone(),
        org: actor.principal.as_ref().map(|p| p.org_id.to_string()),
        source: actor.source.clone(),
    }
}

/// Checks that the actor may add evidence to the case and opens a writer under the size limit.
pub async fn begin_upload(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
) -> Result<(Case, BlobWriter), ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, case).await?;
    let w = BlobWriter::new(
        cx.data_dir,
        BlobArea::Evidence,
        cx.config.evidence_max_bytes,
    )
    .await?;
    Ok((c, w))
}

/// Moves the upload into place, records it with its first custody entry and audits it.
pub async fn finish_upload(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &Case,
    writer: BlobWriter,
    meta: &EvidenceMeta,
) -> Result<EvidenceView, ApiError> {
    let filename: String = meta
        .filename
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect();
    if filename.trim().is_empty() {
        return Err(ApiError::Invalid("evidence needs a file name".into()));
    }
    let blob = writer.finish().await?;
    let content_type = if meta.content_type.trim().is_empty() {
        "application/octet-stream".to_owned()
    } else {
        meta.content_type.chars().take(200).collect()
    };
    let (e, fresh) = cx
        .store
        .add_evidence(
            &NewEvidence {
                case_id: case.id.clone(),
                sha256: blob.sha256,
                sha1: blob.sha1,
                md5: blob.md5,
                size: i64::try_from(blob.size).unwrap_or(i64::MAX),
                filename,
                content_type,
                description: meta.description.chars().take(5_000).collect(),
            },
            &custodian(actor),
        )
        .await?;
    audit(
        cx.store,
        actor,
        "case.evidence.add",
        "case",
        &case.id,
        Some(case.tlp),
        json!({"evidence": e.id, "sha256": e.sha256, "size": e.size, "new": fresh}),
    )
    .await?;
    let custody = cx.store.custody(&e.id).await?;
    Ok(EvidenceView {
        evidence: e,
        custody,
    })
}

/// The evidence of a case.
pub async fn list(cx: &CaseCtx<'_>, actor: &Actor, case: &str) -> Result<Vec<Evidence>, ApiError> {
    let c = load(cx.store, actor, case).await?;
    crate::ops::audit_read(cx.store, actor, "case", case, c.tlp).await?;
    Ok(cx.store.list_evidence(case).await?)
}

/// One piece of evidence with its chain of custody.
pub async fn get(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    id: &str,
) -> Result<EvidenceView, ApiError> {
    let c = load(cx.store, actor, case).await?;
    crate::ops::audit_read(cx.store, actor, "case", case, c.tlp).await?;
    let evidence = cx.store.get_evidence(case, id).await?;
    let custody = cx.store.custody(id).await?;
    Ok(EvidenceView { evidence, custody })
}

/// Opens a piece of evidence for download, appending a `downloaded` custody entry and an audit
/// record first (a download that is recorded but then broken off is still recorded).
pub async fn download(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    id: &str,
) -> Result<(Evidence, tokio::fs::File), ApiError> {
    let c = load(cx.store, actor, case).await?;
    let e = cx.store.get_evidence(case, id).await?;
    let file = crate::blob::open(cx.data_dir, BlobArea::Evidence, &e.sha256)
        .await
        .map_err(|err| ApiError::Internal(format!("evidence {}: {err}", e.id)))?;
    cx.store
        .add_custody(&e.id, "downloaded", &custodian(actor))
        .await?;
    audit(
        cx.store,
        actor,
        "case.evidence.download",
        "case",
        case,
        Some(c.tlp),
        json!({"evidence": e.id, "sha256": e.sha256}),
    )
    .await?;
    Ok((e, file))
}
