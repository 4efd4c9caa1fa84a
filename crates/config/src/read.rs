//! Reading a text file with a size limit.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ReadError {
    #[error("file not found")]
    NotFound,
    #[error("file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("file is not valid UTF-8 (line {line})")]
    NotUtf8 { line: usize },
    #[error("cannot read file: {0}")]
    Io(#[from] io::Error),
}

/// Reads `path` as UTF-8, refusing files over `limit` bytes.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ReadError::NotFound,
        _ => ReadError::Io(e),
    })?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).map_or(true, |len| len > limit) {
        return Err(ReadError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        ReadError::NotUtf8 { line }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn limits_and_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "abcd").unwrap();
        assert_eq!(read_text(&path, 4).unwrap(), "abcd");
        assert!(matches!(
            read_text(&path, 3),
            Err(ReadError::TooLarge { limit: 3 })
        ));

        let mut f = File::create(&path).unwrap();
        f.write_all(b"a\nb\n\xff").unwrap();
        assert!(matches!(
            read_text(&path, 100),
            Err(ReadError::NotUtf8 { line: 3 })
        ));

        assert!(matches!(
            read_text(&dir.path().join("missing"), 100),
            Err(ReadError::NotFound)
        ));
    }
}
