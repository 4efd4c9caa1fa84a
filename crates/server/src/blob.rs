//! Content-addressed file storage under the data directory, one area per use ([`BlobArea`]):
//! case evidence under `<data_dir>/evidence/`, mail samples under `<data_dir>/samples/`. A file
//! lives at `<area>/sha256/<2 hex>/<2 hex>/<64 hex>` by the SHA-256 of its bytes. Writes stream
//! into a temporary file of the area while SHA-256, SHA-1 and MD5 are computed and the size limit
//! is enforced, then move into place by rename (an existing copy of the same content is kept).
//! Files are only ever read back as bytes; nothing here interprets or executes them.

use std::path::{Path, PathBuf};

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error("the file is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("the file is empty")]
    Empty,
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a SHA-256 digest: {0:?}")]
    BadDigest(String),
}

/// Which store a file belongs to; each is its own directory, so the rules of one (custody for
/// evidence, the sample policy for mail) never reach files of the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobArea {
    /// Case evidence (`<data>/evidence`).
    Evidence,
    /// Mail samples: original messages and extracted files (`<data>/samples`).
    Samples,
}

impl BlobArea {
    fn dir(self) -> &'static str {
        match self {
            BlobArea::Evidence => "evidence",
            BlobArea::Samples => "samples",
        }
    }
}

impl From<BlobError> for crate::ApiError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::TooLarge(_) => crate::ApiError::TooLarge,
            BlobError::Empty | BlobError::BadDigest(_) => crate::ApiError::Invalid(e.to_string()),
            BlobError::Io(_) => crate::ApiError::Internal(e.to_string()),
        }
    }
}

/// The hashes and size of a stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub sha256: String,
    pub sha1: String,
    pub md5: String,
    pub size: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The path of the content with this SHA-256 (lower-case hex) in an area under `data_dir`.
pub fn path_for(data_dir: &Path, area: BlobArea, sha256: &str) -> Result<PathBuf, BlobError> {
    if sha256.len() != 64
        || !sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(BlobError::BadDigest(sha256.to_owned()));
    }
    Ok(data_dir
        .join(area.dir())
        .join("sha256")
        .join(&sha256[..2])
        .join(&sha256[2..4])
        .join(sha256))
}

/// An upload in progress: feed it chunks, then [`finish`](Self::finish) it. Dropped unfinished
/// (or when finishing fails), its temporary file is removed.
pub struct BlobWriter {
    dir: PathBuf,
    area: BlobArea,
    tmp: PathBuf,
    /// The temporary file has been moved into place (or removed).
    done: bool,
    file: Option<tokio::fs::File>,
    limit: u64,
    size: u64,
    sha256: Sha256,
    sha1: Sha1,
    md5: Md5,
}

impl BlobWriter {
    pub async fn new(data_dir: &Path, area: BlobArea, limit: u64) -> Result<BlobWriter, BlobError> {
        let tmp_dir = data_dir.join(area.dir()).join("tmp");
        tokio::fs::create_dir_all(&tmp_dir).await?;
        let tmp = tmp_dir.join(uuid::Uuid::now_v7().to_string());
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(BlobWriter {
            dir: data_dir.to_owned(),
            area,
            tmp,
            done: false,
            file: Some(file),
            limit,
            size: 0,
            sha256: Sha256::new(),
            sha1: Sha1::new(),
            md5: Md5::new(),
        })
    }

    /// Appends a chunk; fails once the total passes the limit.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(BlobError::TooLarge(self.limit));
        }
        self.sha256.update(chunk);
        self.sha1.update(chunk);
        self.md5.update(chunk);
        if let Some(f) = &mut self.file {
            f.write_all(chunk).await?;
        }
        Ok(())
    }

    /// Flushes the file to disk and moves it to its content address.
    pub async fn finish(mut self) -> Result<StoredBlob, BlobError> {
        if self.size == 0 {
            return Err(BlobError::Empty);
        }
        if let Some(mut f) = self.file.take() {
            f.flush().await?;
            f.sync_all().await?;
        }
        let blob = StoredBlob {
            sha256: hex(&self.sha256.clone().finalize()),
            sha1: hex(&self.sha1.clone().finalize()),
            md5: hex(&self.md5.clone().finalize()),
            size: self.size,
        };
        let dest = path_for(&self.dir, self.area, &blob.sha256)?;
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        if tokio::fs::try_exists(&dest).await? {
            tokio::fs::remove_file(&self.tmp).await?;
        } else {
            tokio::fs::rename(&self.tmp, &dest).await?;
        }
        self.done = true;
        Ok(blob)
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Stores bytes already in memory.
pub async fn put(
    data_dir: &Path,
    area: BlobArea,
    bytes: &[u8],
    limit: u64,
) -> Result<StoredBlob, BlobError> {
    let mut w = BlobWriter::new(data_dir, area, limit).await?;
    w.write(bytes).await?;
    w.finish().await
}

/// Opens stored content for reading.
pub async fn open(
    data_dir: &Path,
    area: BlobArea,
    sha256: &str,
) -> Result<tokio::fs::File, BlobError> {
    Ok(tokio::fs::File::open(path_for(data_dir, area, sha256)?).await?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn hashes_limits_and_addresses() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = BlobWriter::new(dir.path(), BlobArea::Evidence, 10)
            .await
            .unwrap();
        w.write(b"abc").await.unwrap();
        let b = w.finish().await.unwrap();
        assert_eq!(
            b.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(b.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(b.md5, "900150983cd24fb0d6963f7d28e17f72");
        let p = path_for(dir.path(), BlobArea::Evidence, &b.sha256).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"abc");
        assert!(p.ends_with("sha256/ba/78/".to_owned() + &b.sha256));

        let mut w = BlobWriter::new(dir.path(), BlobArea::Evidence, 4)
            .await
            .unwrap();
        w.write(b"abc").await.unwrap();
        assert!(matches!(w.write(b"de").await, Err(BlobError::TooLarge(4))));
        drop(w);
        assert_eq!(
            std::fs::read_dir(dir.path().join("evidence/tmp"))
                .unwrap()
                .count(),
            0,
            "the partial upload is gone"
        );
        assert!(path_for(dir.path(), BlobArea::Evidence, "../../etc/passwd").is_err());
        let s = put(dir.path(), BlobArea::Samples, b"abc", 10)
            .await
            .unwrap();
        assert_eq!(s, b);
        let p = path_for(dir.path(), BlobArea::Samples, &s.sha256).unwrap();
        assert!(p.starts_with(dir.path().join("samples")) && p.exists());
    }
}
