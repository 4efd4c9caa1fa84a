//! The in-memory picture of a local bus directory, and loading it from disk.
//!
//! Layout: `DIR/LOCK`, `DIR/subjects/<subject>/<first_seq>.seg` (see [`super::segment`]) and
//! `DIR/subjects/<subject>/groups/<group>.ack` (the group's acknowledgement state, replaced
//! atomically by write-temp-then-rename).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use super::segment;
use crate::BusError;

pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Where a record is: its segment's read handle, offset and length.
pub(crate) struct Loc {
    pub file: Arc<File>,
    pub path: PathBuf,
    pub offset: u64,
    pub len: u32,
}

/// One segment file and the offsets of its durable records.
pub(crate) struct Seg {
    pub path: PathBuf,
    pub file: Arc<File>,
    pub first_seq: u64,
    /// (offset, length) of record `first_seq + i`.
    pub index: Vec<(u64, u32)>,
    pub bytes: u64,
    pub last_unix_ms: u64,
}

impl Seg {
    /// One past the last sequence it holds.
    pub fn end_seq(&self) -> u64 {
        self.first_seq + self.index.len() as u64
    }
}

/// Recently published message ids of one subject, forgotten after the duplicate window.
#[derive(Default)]
pub(crate) struct Dedupe {
    ids: HashMap<String, u64>,
    order: VecDeque<(u64, String)>,
}

impl Dedupe {
    pub fn insert(&mut self, id: String, seq: u64, unix_ms: u64) {
        if id.is_empty() {
            return;
        }
        self.order.push_back((unix_ms, id.clone()));
        self.ids.insert(id, seq);
    }

    pub fn get(&mut self, id: &str, now_ms: u64, window: Duration) -> Option<u64> {
        let horizon = now_ms.saturating_sub(window.as_millis() as u64);
        while let Some((ts, _)) = self.order.front() {
            if *ts >= horizon {
                break;
            }
            if let Some((_, old)) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        self.ids.get(id).copied()
    }
}

/// A delivered, not yet acknowledged message.
pub(crate) struct Pending {
    pub deadline: Instant,
    pub deliveries: u32,
}

/// A consumer group of one subject.
pub(crate) struct Group {
    pub path: PathBuf,
    /// Every sequence up to and including `floor` is acknowledged.
    pub floor: u64,
    /// Acknowledged sequences above `floor`.
    pub acked: BTreeSet<u64>,
    /// The floor last written to the group's file (segments below it may be deleted).
    pub persisted_floor: u64,
    pub pending: HashMap<u64, Pending>,
    /// The next never-delivered sequence.
    pub cursor: u64,
    pub dirty: bool,
}

impl Group {
    pub fn is_acked(&self, seq: u64) -> bool {
        seq <= self.floor || self.acked.contains(&seq)
    }

    pub fn ack(&mut self, seq: u64) {
        self.pending.remove(&seq);
        if self.is_acked(seq) {
            return;
        }
        self.acked.insert(seq);
        while self.acked.remove(&(self.floor + 1)) {
            self.floor += 1;
        }
        self.dirty = true;
    }

    /// The file contents: `floor N` then one `acked N` line per acknowledged sequence above it.
    pub fn encode(&self) -> String {
        let mut s = format!("floor {}\n", self.floor);
        for seq in &self.acked {
            s.push_str(&format!("acked {seq}\n"));
        }
        s
    }

    fn decode(text: &str) -> Option<(u64, BTreeSet<u64>)> {
        let mut floor = None;
        let mut acked = BTreeSet::new();
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("floor", n)) => floor = Some(n.parse().ok()?),
                Some(("acked", n)) => {
                    acked.insert(n.parse().ok()?);
                }
                _ => return None,
            }
        }
        Some((floor?, acked))
    }
}

/// One subject: its segments, id window and groups.
pub(crate) struct Log {
    pub dir: PathBuf,
    pub segments: BTreeMap<u64, Seg>,
    /// One past the last durable sequence.
    pub next_seq: u64,
    pub dedupe: Dedupe,
    pub groups: HashMap<String, Group>,
    /// Woken when messages arrive or are given back.
    pub notify: Arc<Notify>,
}

impl Log {
    fn empty(dir: PathBuf) -> Log {
        Log {
            dir,
            segments: BTreeMap::new(),
            next_seq: 1,
            dedupe: Dedupe::default(),
            groups: HashMap::new(),
            notify: Arc::new(Notify::new()),
        }
    }

    /// The first sequence still stored (or `next_seq` when none is).
    pub fn first_seq(&self) -> u64 {
        self.segments
            .values()
            .find(|s| !s.index.is_empty())
            .map_or(self.next_seq, |s| s.first_seq)
    }

    pub fn locate(&self, seq: u64) -> Option<Loc> {
        let (_, seg) = self.segments.range(..=seq).next_back()?;
        let &(offset, len) = seg.index.get(usize::try_from(seq - seg.first_seq).ok()?)?;
        Some(Loc {
            file: seg.file.clone(),
            path: seg.path.clone(),
            offset,
            len,
        })
    }

    /// Creates the directories of a new subject.
    pub fn create(dir: PathBuf) -> Result<Log, BusError> {
        std::fs::create_dir_all(dir.join("groups"))
            .map_err(|e| BusError::io("create directory", &dir, e))?;
        Ok(Log::empty(dir))
    }

    /// Loads a subject directory: scans every segment, truncating a torn or corrupt tail with a
    /// warning, rebuilds the id window from records younger than `window`, reads the groups.
    pub fn load(dir: PathBuf, window: Duration) -> Result<Log, BusError> {
        let mut log = Log::create(dir)?;
        let entries = std::fs::read_dir(&log.dir).map_err(|e| BusError::io("list", &log.dir, e))?;
        let mut firsts = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| BusError::io("list", &log.dir, e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if let Some(first) = segment::parse_file_name(&name) {
                firsts.push(first);
            } else if name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        firsts.sort_unstable();
        let horizon = unix_ms().saturating_sub(window.as_millis() as u64);
        for first in firsts {
            let path = log.dir.join(segment::file_name(first));
            let bytes = std::fs::read(&path).map_err(|e| BusError::io("read", &path, e))?;
            let scan = segment::scan(&bytes, first);
            if let Some(problem) = scan.problem {
                tracing::warn!(
                    path = %path.display(),
                    kept_records = scan.records.len(),
                    dropped_bytes = bytes.len() as u64 - scan.valid_len,
                    "local bus: {problem}; truncating the segment after its last valid record"
                );
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| BusError::io("open for truncation", &path, e))?;
                f.set_len(scan.valid_len)
                    .and_then(|()| f.sync_all())
                    .map_err(|e| BusError::io("truncate", &path, e))?;
            }
            if first < log.next_seq && log.next_seq > 1 {
                tracing::warn!(path = %path.display(), "local bus: overlapping segment ignored");
                continue;
            }
            let file = File::open(&path).map_err(|e| BusError::io("open", &path, e))?;
            let mut index = Vec::with_capacity(scan.records.len());
            let mut last_unix_ms = 0;
            for (i, r) in scan.records.into_iter().enumerate() {
                if r.unix_ms >= horizon {
                    log.dedupe.insert(r.msg_id, first + i as u64, r.unix_ms);
                }
                last_unix_ms = r.unix_ms;
                index.push((r.offset, r.len));
            }
            let seg = Seg {
                path,
                file: Arc::new(file),
                first_seq: first,
                index,
                bytes: scan.valid_len,
                last_unix_ms,
            };
            log.next_seq = seg.end_seq().max(first);
            log.segments.insert(first, seg);
        }
        log.load_groups()?;
        Ok(log)
    }

    fn load_groups(&mut self) -> Result<(), BusError> {
        let gdir = self.dir.join("groups");
        let entries = std::fs::read_dir(&gdir).map_err(|e| BusError::io("list", &gdir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| BusError::io("list", &gdir, e))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let Some(group) = name.strip_suffix(".ack") else {
                continue;
            };
            let text =
                std::fs::read_to_string(&path).map_err(|e| BusError::io("read", &path, e))?;
            let (floor, acked) = Group::decode(&text).unwrap_or_else(|| {
                tracing::warn!(path = %path.display(),
                    "local bus: unreadable group file; redelivering everything still stored");
                (0, BTreeSet::new())
            });
            let g = self.new_group(path, floor, acked);
            self.groups.insert(group.to_owned(), g);
        }
        Ok(())
    }

    /// A group state starting after `floor`, clamped to what is still stored.
    pub fn new_group(&self, path: PathBuf, floor: u64, mut acked: BTreeSet<u64>) -> Group {
        let floor = floor.max(self.first_seq().saturating_sub(1));
        acked.retain(|&s| s > floor);
        Group {
            path,
            floor,
            acked,
            persisted_floor: floor,
            pending: HashMap::new(),
            cursor: floor + 1,
            dirty: false,
        }
    }
}

/// Everything the bus knows, behind one mutex.
#[derive(Default)]
pub(crate) struct State {
    pub logs: HashMap<String, Log>,
}

impl State {
    pub fn load(root: &Path, window: Duration) -> Result<State, BusError> {
        let subjects = root.join("subjects");
        std::fs::create_dir_all(&subjects)
            .map_err(|e| BusError::io("create directory", &subjects, e))?;
        let mut state = State::default();
        let entries =
            std::fs::read_dir(&subjects).map_err(|e| BusError::io("list", &subjects, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| BusError::io("list", &subjects, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if crate::names::check_name("subject", &name).is_err() {
                continue;
            }
            state.logs.insert(name, Log::load(entry.path(), window)?);
        }
        Ok(state)
    }

    /// The log of `subject`, creating its directory on first use.
    pub fn log(&mut self, root: &Path, subject: &str) -> Result<&mut Log, BusError> {
        if !self.logs.contains_key(subject) {
            let log = Log::create(root.join("subjects").join(subject))?;
            self.logs.insert(subject.to_owned(), log);
        }
        self.logs.get_mut(subject).ok_or(BusError::Closed)
    }
}
