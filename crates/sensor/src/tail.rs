//! File tailing by polling: paths and globs, rotation-safe and resumable.
//!
//! Rotation by rename (+ create) is seen as a change of device/inode at the path: the old
//! file, still open, is read to its end first, then the new one from its start. Rotation by
//! copy + truncate is seen as the file shrinking below the read position: reading restarts
//! at 0. A position is a [`Cursor::File`] (path, device, inode, offset after the last complete
//! line); on start-up a checkpointed file is resumed at its offset, and when the file at the
//! path is a new one, the old one is looked for beside it (`app.log.1`) and finished first.
//! A file seen for the first time starts at its end, or at its start with `from_start` (files
//! appearing later always start at 0).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use mamori_parse::{Format, MAX_LINE};

use crate::checkpoint::FilePos;
use crate::config::TailSpec;
use crate::record::{Cursor, Origin, Payload, Record};

/// Device and inode of a file (0, 0 where the platform has none).
pub fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (meta.dev(), meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0)
    }
}

/// One open file.
#[derive(Debug)]
struct OpenFile {
    /// The path it is read under (the checkpoint key).
    key: Arc<str>,
    file: File,
    dev: u64,
    ino: u64,
    /// Bytes read from the file so far.
    read_pos: u64,
    /// Bytes read but not yet ending in a line break.
    buf: Vec<u8>,
    /// Number of the last line emitted; `None` when the start was not at offset 0.
    line: Option<u64>,
    format: Format,
}

impl OpenFile {
    fn start(
        key: Arc<str>,
        path: &Path,
        start: u64,
        line: Option<u64>,
        format: Format,
    ) -> std::io::Result<Self> {
        let mut file = File::open(path)?;
        let (dev, ino) = identity(&file.metadata()?);
        file.seek(SeekFrom::Start(start))?;
        Ok(OpenFile {
            key,
            file,
            dev,
            ino,
            read_pos: start,
            buf: Vec::new(),
            line: if start == 0 { Some(0) } else { line },
            format,
        })
    }

    /// Offset after the last complete line.
    fn offset(&self) -> u64 {
        self.read_pos - self.buf.len() as u64
    }

    /// Reads to the end of the file, emitting complete lines (and, with `finish`, the last
    /// partial one). Returns false when the receiver is gone.
    fn drain(
        &mut self,
        finish: bool,
        emit: &mut dyn FnMut(Record) -> bool,
    ) -> std::io::Result<bool> {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = self.file.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            self.read_pos += n as u64;
            self.buf.extend_from_slice(&chunk[..n]);
            if !self.emit_lines(emit) {
                return Ok(false);
            }
        }
        if finish && !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            return Ok(self.emit_one(&rest, emit));
        }
        Ok(true)
    }

    fn emit_lines(&mut self, emit: &mut dyn FnMut(Record) -> bool) -> bool {
        let buf = std::mem::take(&mut self.buf);
        let base = self.read_pos - buf.len() as u64;
        let mut start = 0;
        while let Some(i) = memchr::memchr(b'\n', &buf[start..]) {
            let end = start + i + 1;
            if !self.emit_at(&buf[start..start + i], base + end as u64, emit) {
                self.buf = buf[end..].to_vec();
                return false;
            }
            start = end;
        }
        if buf.len() - start > MAX_LINE {
            // A line that never ends: hand it on (the parser refuses it as too long).
            return self.emit_at(&buf[start..], base + buf.len() as u64, emit);
        }
        self.buf = buf[start..].to_vec();
        true
    }

    fn emit_one(&mut self, text: &[u8], emit: &mut dyn FnMut(Record) -> bool) -> bool {
        let off = self.read_pos;
        self.emit_at(text, off, emit)
    }

    fn emit_at(&mut self, text: &[u8], offset: u64, emit: &mut dyn FnMut(Record) -> bool) -> bool {
        if let Some(l) = &mut self.line {
            *l += 1;
        }
        let line = self.line.unwrap_or(0);
        let text = String::from_utf8_lossy(text).into_owned();
        emit(Record {
            payload: Payload::Line {
                text,
                format: self.format,
            },
            origin: Origin::File {
                path: self.key.clone(),
                offset,
                line,
            },
            cursor: Some(Cursor::File {
                path: self.key.clone(),
                dev: self.dev,
                ino: self.ino,
                offset,
                line,
            }),
        })
    }
}

/// Tails a set of paths and globs.
#[derive(Debug)]
pub struct Tailer {
    specs: Vec<TailSpec>,
    default_format: Format,
    from_start: bool,
    checkpoints: BTreeMap<String, FilePos>,
    open: BTreeMap<String, OpenFile>,
    /// Identities of files finished after a rotation, with the offset read to (so a glob
    /// that also matches `app.log.1` does not read it again).
    finished: HashMap<(u64, u64), u64>,
    first_poll: bool,
}

impl Tailer {
    pub fn new(
        specs: Vec<TailSpec>,
        default_format: Format,
        from_start: bool,
        checkpoints: BTreeMap<String, FilePos>,
    ) -> Self {
        Tailer {
            specs,
            default_format,
            from_start,
            checkpoints,
            open: BTreeMap::new(),
            finished: HashMap::new(),
            first_poll: true,
        }
    }

    /// The files the specs name now, with their formats.
    fn expand(&self) -> Vec<(String, Format)> {
        let mut out = Vec::new();
        for s in &self.specs {
            let format = s.format.unwrap_or(self.default_format);
            if s.path.contains(['*', '?', '[']) {
                match glob::glob(&s.path) {
                    Ok(paths) => {
                        for p in paths.flatten() {
                            if p.is_file() {
                                out.push((p.to_string_lossy().into_owned(), format));
                            }
                        }
                    }
                    Err(e) => tracing::warn!("tail {}: bad glob: {e}", s.path),
                }
            } else {
                out.push((s.path.clone(), format));
            }
        }
        out
    }

    /// One pass: opens new files, reads what was appended, follows rotations. Returns false
    /// when the receiver is gone.
    pub fn poll(&mut self, emit: &mut dyn FnMut(Record) -> bool) -> bool {
        let first = std::mem::replace(&mut self.first_poll, false);
        for (path, format) in self.expand() {
            if !self.open.contains_key(&path)
                && let Some(o) = self.first_sight(&path, format, first, emit)
            {
                self.open.insert(path, o);
            }
        }
        let keys: Vec<String> = self.open.keys().cloned().collect();
        for key in keys {
            if !self.follow(&key, emit) {
                return false;
            }
        }
        true
    }

    /// Opens a file seen for the first time, finishing its rotated predecessor when the
    /// checkpoint names another inode.
    fn first_sight(
        &mut self,
        path: &str,
        format: Format,
        at_startup: bool,
        emit: &mut dyn FnMut(Record) -> bool,
    ) -> Option<OpenFile> {
        let meta = std::fs::metadata(path).ok()?;
        let (dev, ino) = identity(&meta);
        let key: Arc<str> = Arc::from(path);
        let (start, line) = if let Some(cp) = self.checkpoints.remove(path) {
            if (cp.dev, cp.ino) == (dev, ino) {
                if meta.len() >= cp.offset {
                    (cp.offset, Some(cp.line).filter(|l| *l > 0))
                } else {
                    (0, None)
                }
            } else {
                self.finish_predecessor(&key, path, &cp, format, emit);
                (0, None)
            }
        } else if let Some(off) = self.finished.get(&(dev, ino)) {
            (*off, None)
        } else if at_startup && !self.from_start {
            (meta.len(), None)
        } else {
            (0, None)
        };
        let remember = at_startup && start > 0 && line.is_none() && !self.from_start;
        match OpenFile::start(key, Path::new(path), start, line, format) {
            Ok(o) => {
                if remember {
                    // Started at the end: remember that, or a restart would start at the
                    // (then later) end again and skip what was written in between.
                    emit(Record {
                        payload: Payload::Position,
                        origin: Origin::File {
                            path: o.key.clone(),
                            offset: start,
                            line: 0,
                        },
                        cursor: Some(Cursor::File {
                            path: o.key.clone(),
                            dev: o.dev,
                            ino: o.ino,
                            offset: start,
                            line: 0,
                        }),
                    });
                }
                Some(o)
            }
            Err(e) => {
                tracing::warn!("tail {path}: {e}");
                None
            }
        }
    }

    /// After a restart, the file at `path` is not the checkpointed one: look beside it for
    /// the checkpointed inode (rotated by rename) and read it from the checkpoint to its end.
    fn finish_predecessor(
        &mut self,
        key: &Arc<str>,
        path: &str,
        cp: &FilePos,
        format: Format,
        emit: &mut dyn FnMut(Record) -> bool,
    ) {
        let dir = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_file() && identity(&meta) == (cp.dev, cp.ino) && meta.len() >= cp.offset {
                let line = Some(cp.line).filter(|l| *l > 0);
                if let Ok(mut o) = OpenFile::start(key.clone(), &e.path(), cp.offset, line, format)
                {
                    tracing::info!(
                        "tail {path}: finishing the rotated file {} from offset {}",
                        e.path().display(),
                        cp.offset
                    );
                    let _ = o.drain(true, emit);
                    self.finished.insert((cp.dev, cp.ino), o.read_pos);
                }
                return;
            }
        }
    }

    /// Reads one open file and follows its rotation.
    fn follow(&mut self, key: &str, emit: &mut dyn FnMut(Record) -> bool) -> bool {
        let Some(o) = self.open.get_mut(key) else {
            return true;
        };
        match o.drain(false, emit) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(e) => tracing::warn!("tail {key}: {e}"),
        }
        let meta = match std::fs::metadata(key) {
            Ok(m) => m,
            // Renamed and not yet re-created: keep reading the old file.
            Err(_) => return true,
        };
        let id = identity(&meta);
        if id != (o.dev, o.ino) {
            // Renamed: finish the old file (late writes included), then the new one from 0.
            match o.drain(true, emit) {
                Ok(false) => return false,
                Err(e) => tracing::warn!("tail {key}: {e}"),
                Ok(true) => {}
            }
            self.finished.insert((o.dev, o.ino), o.read_pos);
            tracing::info!("tail {key}: rotated (new file)");
            let (format, k) = (o.format, o.key.clone());
            match OpenFile::start(k, Path::new(key), 0, None, format) {
                Ok(n) => *o = n,
                Err(e) => {
                    tracing::warn!("tail {key}: {e}");
                    self.open.remove(key);
                    return true;
                }
            }
            return match o.drain(false, emit) {
                Ok(ok) => ok,
                Err(e) => {
                    tracing::warn!("tail {key}: {e}");
                    true
                }
            };
        }
        if meta.len() < o.read_pos {
            tracing::info!("tail {key}: truncated (copytruncate); reading from the start");
            if let Err(e) = o.file.seek(SeekFrom::Start(0)) {
                tracing::warn!("tail {key}: {e}");
                return true;
            }
            o.read_pos = 0;
            o.buf.clear();
            o.line = Some(0);
            return match o.drain(false, emit) {
                Ok(ok) => ok,
                Err(e) => {
                    tracing::warn!("tail {key}: {e}");
                    true
                }
            };
        }
        true
    }

    /// Current positions (for tests and diagnostics).
    pub fn positions(&self) -> Vec<(String, u64)> {
        self.open
            .iter()
            .map(|(k, o)| (k.clone(), o.offset()))
            .collect()
    }
}
