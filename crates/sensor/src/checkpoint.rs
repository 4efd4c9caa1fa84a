//! Checkpoints: per tailed file (path, device, inode, offset, line) and per EVTX file (last
//! record id), kept in `<state>/checkpoints.json` and replaced atomically (temp file, fsync,
//! rename, directory fsync). Positions are applied only after the events before them are
//! acknowledged by the hub or fsynced to the spool.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::SensorError;
use crate::record::Cursor;

/// A tailed file's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePos {
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
    #[serde(default)]
    pub line: u64,
}

/// All positions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    #[serde(default)]
    pub files: BTreeMap<String, FilePos>,
    #[serde(default)]
    pub evtx: BTreeMap<String, u64>,
}

impl Checkpoints {
    /// Records a position.
    pub fn apply(&mut self, c: &Cursor) {
        match c {
            Cursor::File {
                path,
                dev,
                ino,
                offset,
                line,
            } => {
                self.files.insert(
                    path.to_string(),
                    FilePos {
                        dev: *dev,
                        ino: *ino,
                        offset: *offset,
                        line: *line,
                    },
                );
            }
            Cursor::Evtx { path, record } => {
                let e = self.evtx.entry(path.to_string()).or_default();
                *e = (*e).max(*record);
            }
        }
    }
}

/// The checkpoint file of a state directory.
#[derive(Debug)]
pub struct CheckpointStore {
    path: PathBuf,
    pub data: Checkpoints,
}

impl CheckpointStore {
    /// Opens (creating the directory) and reads the checkpoints, if any.
    pub fn open(state: &Path) -> Result<Self, SensorError> {
        std::fs::create_dir_all(state).map_err(|e| SensorError::io(state, e))?;
        let path = state.join("checkpoints.json");
        let data = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| SensorError::Checkpoint {
                path: path.clone(),
                message: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Checkpoints::default(),
            Err(e) => return Err(SensorError::io(&path, e)),
        };
        Ok(CheckpointStore { path, data })
    }

    /// Writes the checkpoints atomically.
    pub fn save(&self) -> Result<(), SensorError> {
        let bytes = serde_json::to_vec_pretty(&self.data).map_err(|e| SensorError::Checkpoint {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&self.path, &bytes)
    }
}

/// Writes `bytes` to `path` via a temporary file in the same directory: write, fsync,
/// rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SensorError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |p: &Path| {
        let p = p.to_owned();
        move |e| SensorError::io(p, e)
    };
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(dir).map_err(io(dir))
}

/// Fsyncs a directory (so a rename in it is durable).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = CheckpointStore::open(dir.path()).unwrap();
        s.data.apply(&Cursor::File {
            path: "/x".into(),
            dev: 1,
            ino: 2,
            offset: 30,
            line: 3,
        });
        s.data.apply(&Cursor::Evtx {
            path: "/e.evtx".into(),
            record: 9,
        });
        s.data.apply(&Cursor::Evtx {
            path: "/e.evtx".into(),
            record: 4,
        });
        s.save().unwrap();
        let t = CheckpointStore::open(dir.path()).unwrap();
        assert_eq!(t.data, s.data);
        assert_eq!(t.data.evtx["/e.evtx"], 9);
    }
}
