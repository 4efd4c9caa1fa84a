//! Sample downloads: the stored files of an analysis (the original message and every extracted
//! file) leave the hub only as a ZIP whose entries are AES-256 encrypted with the conventional
//! password `infected`, so that no mail filter, virus scanner or careless double-click acts on
//! them on the way. Entries are named by role and SHA-256 (never by the attacker's file name,
//! which is listed in the encrypted `manifest.json`). Only readers who may see the analysis get
//! it (otherwise 404), and every download is audited. The ZIP is written to a temporary file in
//! the sample area, unlinked once open, and streamed from the open handle.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::{AesMode, CompressionMethod, ZipWriter};

use crate::ApiError;
use crate::blob::{self, BlobArea};
use crate::mail::MailCtx;
use crate::mail_store::{MAX_SAMPLE_BYTES, load_visible};
use crate::ops::{Actor, audit};

/// The password of every sample ZIP (the malware-exchange convention).
pub const ZIP_PASSWORD: &str = "infected";

/// A sample ZIP ready to stream.
#[derive(Debug)]
pub struct SampleZip {
    pub file: tokio::fs::File,
    pub size: u64,
    /// The file name to offer (`mamori-samples-<analysis id>.zip`).
    pub name: String,
}

struct Entry {
    name: String,
    path: PathBuf,
}

/// Builds the ZIP of an analysis's samples for the actor and audits the download.
pub async fn download(cx: &MailCtx<'_>, actor: &Actor, id: &str) -> Result<SampleZip, ApiError> {
    let s = load_visible(cx, actor, id).await?;
    let total: i64 = s.files.iter().map(|f| f.size).sum();
    if u64::try_from(total).unwrap_or(u64::MAX) > MAX_SAMPLE_BYTES {
        return Err(ApiError::TooLarge);
    }
    let mut entries = Vec::new();
    for f in &s.files {
        entries.push(Entry {
            name: format!("{}/{}", f.role, f.sha256),
            path: blob::path_for(cx.data_dir, BlobArea::Samples, &f.sha256)?,
        });
    }
    let manifest = serde_json::to_vec_pretty(&json!({
        "analysis": s.summary.id,
        "tlp": s.summary.tlp.as_str(),
        "subject": s.summary.subject,
        "files": s.files,
        "note": "Malicious content. Never open outside an isolated analysis environment.",
    }))
    .map_err(|e| ApiError::Internal(format!("manifest: {e}")))?;
    audit(
        cx.share.store,
        actor,
        "mail_sample.download",
        "mail_analysis",
        &s.summary.id,
        Some(s.summary.tlp),
        json!({"files": s.files.len(), "bytes": total}),
    )
    .await?;
    let tmp_dir = cx.data_dir.join("samples").join("tmp");
    let (file, size) =
        tokio::task::spawn_blocking(move || write_zip(&tmp_dir, &entries, &manifest))
            .await
            .map_err(|e| ApiError::Internal(format!("zip task: {e}")))?
            .map_err(|e| ApiError::Internal(format!("sample zip: {e}")))?;
    Ok(SampleZip {
        file: tokio::fs::File::from_std(file),
        size,
        name: format!("mamori-samples-{}.zip", s.summary.id),
    })
}

/// Writes the encrypted ZIP to a fresh file under `tmp_dir`, unlinks it and returns the open
/// handle at offset 0 with its length.
fn write_zip(
    tmp_dir: &Path,
    entries: &[Entry],
    manifest: &[u8],
) -> Result<(std::fs::File, u64), Box<dyn std::error::Error + Send + Sync>> {
    std::fs::create_dir_all(tmp_dir)?;
    let path = tmp_dir.join(format!("{}.zip", uuid::Uuid::now_v7()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    // Unlinked at once: the open handle keeps the bytes until the response is sent, and a
    // crash leaves nothing behind.
    std::fs::remove_file(&path)?;
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(true)
        .with_aes_encryption(AesMode::Aes256, ZIP_PASSWORD);
    let mut zip = ZipWriter::new(file);
    zip.start_file("manifest.json", opts)?;
    zip.write_all(manifest)?;
    for e in entries {
        zip.start_file(e.name.as_str(), opts)?;
        let mut src = std::fs::File::open(&e.path)?;
        std::io::copy(&mut src, &mut zip)?;
    }
    let mut file = zip.finish()?;
    file.flush()?;
    let size = file.seek(SeekFrom::End(0))?;
    file.seek(SeekFrom::Start(0))?;
    Ok((file, size))
}
