//! The writer thread of a local bus: the only code that appends to segments, rewrites group
//! files and deletes segments.
//!
//! It takes every request queued since it last woke as one batch (group commit): the batch's
//! records are written with one `write` per subject and made durable with one `fdatasync` per
//! subject, then every publisher in the batch gets its answer. Acknowledgements are persisted
//! the same way: all groups changed since the last batch are rewritten once.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::Shared;
use super::segment;
use super::state::{Seg, State, unix_ms};
use crate::{BusError, Published};

/// Work for the writer thread.
pub(crate) enum Req {
    Publish {
        subject: String,
        msg_id: String,
        payload: Bytes,
        reply: oneshot::Sender<Result<Published, BusError>>,
    },
    /// Persist every changed group, then answer.
    SyncAcks {
        reply: oneshot::Sender<Result<(), BusError>>,
    },
    Shutdown,
}

/// The segment a subject's records are appended to.
struct Active {
    file: File,
    first_seq: u64,
    len: u64,
    /// The sequence the next record gets (durable or not).
    next_seq: u64,
}

/// Records of one subject in this batch, waiting for their fsync.
#[derive(Default)]
struct Pendings {
    buf: Vec<u8>,
    /// (seq, offset, len, msg_id) of each new record.
    records: Vec<(u64, u64, u32, String)>,
    /// How many of `records` are durable.
    written: usize,
    /// Each publisher, its answer, and the index in `records` it depends on (none for a
    /// duplicate of a message made durable in an earlier batch).
    replies: Vec<(Reply, Published, Option<usize>)>,
    ids: HashMap<String, (u64, usize)>,
    error: Option<BusError>,
}

type Reply = oneshot::Sender<Result<Published, BusError>>;

/// Upper bound of the bytes gathered into one batch before writing.
const BATCH_BYTES: usize = 16 << 20;

pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|p| p.into_inner())
}

fn sync_dir(dir: &Path) -> Result<(), BusError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| BusError::io("fsync directory", dir, e))
}

pub(crate) fn run(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Req>) {
    let mut active: HashMap<String, Active> = HashMap::new();
    while let Some(first) = rx.blocking_recv() {
        let mut batch = vec![first];
        let mut bytes = 0;
        while bytes < BATCH_BYTES {
            match rx.try_recv() {
                Ok(r) => {
                    if let Req::Publish { payload, .. } = &r {
                        bytes += payload.len();
                    }
                    batch.push(r);
                }
                Err(_) => break,
            }
        }
        let mut publishes = Vec::new();
        let mut syncs = Vec::new();
        let mut shutdown = false;
        for r in batch {
            match r {
                Req::Publish {
                    subject,
                    msg_id,
                    payload,
                    reply,
                } => publishes.push((subject, msg_id, payload, reply)),
                Req::SyncAcks { reply } => syncs.push(reply),
                Req::Shutdown => shutdown = true,
            }
        }
        if !publishes.is_empty() {
            publish_batch(&shared, &mut active, publishes);
        }
        if !syncs.is_empty() || shutdown {
            let result = sync_groups(&shared);
            if result.is_ok() {
                cleanup(&shared);
            }
            for reply in syncs {
                let _ = reply.send(result.as_ref().map(|_| ()).map_err(clone_err));
            }
        }
        if shutdown {
            break;
        }
    }
}

fn publish_batch(
    shared: &Shared,
    active: &mut HashMap<String, Active>,
    publishes: Vec<(String, String, Bytes, Reply)>,
) {
    let now = unix_ms();
    let mut by_subject: HashMap<String, Pendings> = HashMap::new();
    let mut new_segments: Vec<(String, Seg)> = Vec::new();
    for (subject, msg_id, payload, reply) in publishes {
        let pend = by_subject.entry(subject.clone()).or_default();
        if let Some(e) = &pend.error {
            let _ = reply.send(Err(clone_err(e)));
            continue;
        }
        // A duplicate of a message earlier in this batch, or of a durable one.
        if !msg_id.is_empty() {
            if let Some(&(seq, idx)) = pend.ids.get(&msg_id) {
                pend.replies.push((reply, dup(seq), Some(idx)));
                continue;
            }
            let durable = lock(shared)
                .logs
                .get_mut(&subject)
                .and_then(|l| l.dedupe.get(&msg_id, now, shared.opts.duplicate_window));
            if let Some(seq) = durable {
                pend.replies.push((reply, dup(seq), None));
                continue;
            }
        }
        if let Err(e) = append(
            shared,
            active,
            &subject,
            pend,
            &mut new_segments,
            now,
            &msg_id,
            &payload,
        ) {
            let _ = reply.send(Err(clone_err(&e)));
            active.remove(&subject);
            pend.error = Some(e);
            continue;
        }
        let seq = pend.records.last().map_or(0, |r| r.0);
        let idx = pend.records.len() - 1;
        if !msg_id.is_empty() {
            pend.ids.insert(msg_id, (seq, idx));
        }
        pend.replies.push((
            reply,
            Published {
                seq,
                duplicate: false,
            },
            Some(idx),
        ));
    }
    // Make each subject's records durable.
    for (subject, pend) in by_subject.iter_mut() {
        if pend.error.is_some() {
            continue;
        }
        if let Some(act) = active.get_mut(subject)
            && let Err(e) = write_out(shared, act, pend, subject)
        {
            active.remove(subject);
            pend.error = Some(e);
        }
    }
    // Show the durable records to readers, then answer the publishers.
    let mut st = lock(shared);
    for (subject, seg) in new_segments {
        if let Some(log) = st.logs.get_mut(&subject) {
            log.segments.insert(seg.first_seq, seg);
        }
    }
    let mut notifies = Vec::new();
    let mut answers = Vec::new();
    for (subject, pend) in by_subject {
        let Some(log) = st.logs.get_mut(&subject) else {
            continue;
        };
        for (seq, offset, len, msg_id) in pend.records.into_iter().take(pend.written) {
            if let Some((_, seg)) = log.segments.range_mut(..=seq).next_back()
                && seg.end_seq() == seq
            {
                seg.index.push((offset, len));
                seg.bytes = offset + u64::from(len);
                seg.last_unix_ms = now;
            }
            log.next_seq = seq + 1;
            log.dedupe.insert(msg_id, seq, now);
        }
        notifies.push(log.notify.clone());
        for (reply, published, idx) in pend.replies {
            let answer = match (&pend.error, idx) {
                (Some(e), Some(i)) if i >= pend.written => Err(clone_err(e)),
                _ => Ok(published),
            };
            answers.push((reply, answer));
        }
    }
    drop(st);
    for n in notifies {
        n.notify_waiters();
    }
    for (reply, answer) in answers {
        if answer.is_ok() {
            shared.stats.published.fetch_add(1, Ordering::Relaxed);
        }
        let _ = reply.send(answer);
    }
}

fn dup(seq: u64) -> Published {
    Published {
        seq,
        duplicate: true,
    }
}

/// Encodes one record into the subject's batch buffer, rolling to a new segment first when it
/// would not fit (the records so far are then written and fsync'd).
#[allow(clippy::too_many_arguments)]
fn append(
    shared: &Shared,
    active: &mut HashMap<String, Active>,
    subject: &str,
    pend: &mut Pendings,
    new_segments: &mut Vec<(String, Seg)>,
    now: u64,
    msg_id: &str,
    payload: &[u8],
) -> Result<(), BusError> {
    let act = active_for(shared, active, subject, new_segments)?;
    let rec_len = segment::encoded_len(msg_id, payload.len()) as u64;
    let used = act.len + pend.buf.len() as u64;
    if used > 0 && used + rec_len > shared.opts.segment_bytes {
        write_out(shared, act, pend, subject)?;
        new_segments.push((subject.to_owned(), roll(shared, act, subject)?));
    }
    let seq = act.next_seq;
    act.next_seq += 1;
    let offset = act.len + pend.buf.len() as u64;
    segment::encode(&mut pend.buf, seq, now, msg_id, payload);
    pend.records
        .push((seq, offset, rec_len as u32, msg_id.to_owned()));
    Ok(())
}

/// Writes a subject's buffered records to its active segment and fsyncs them. On failure the
/// segment is cut back to its last durable length and the caller drops `act`.
fn write_out(
    shared: &Shared,
    act: &mut Active,
    pend: &mut Pendings,
    subject: &str,
) -> Result<(), BusError> {
    if pend.buf.is_empty() {
        return Ok(());
    }
    let r = act
        .file
        .write_all(&pend.buf)
        .and_then(|()| act.file.sync_data());
    shared.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
    match r {
        Ok(()) => {
            act.len += pend.buf.len() as u64;
            pend.buf.clear();
            pend.written = pend.records.len();
            Ok(())
        }
        Err(e) => {
            let _ = act.file.set_len(act.len);
            pend.buf.clear();
            Err(BusError::io(
                "append",
                segment_path(shared, subject, act.first_seq),
                e,
            ))
        }
    }
}

fn segment_path(shared: &Shared, subject: &str, first_seq: u64) -> PathBuf {
    shared
        .dir
        .join("subjects")
        .join(subject)
        .join(segment::file_name(first_seq))
}

/// Closes the active segment and creates the next one, starting at `act.next_seq`.
fn roll(shared: &Shared, act: &mut Active, subject: &str) -> Result<Seg, BusError> {
    let (file, seg) = create_segment(shared, subject, act.next_seq)?;
    *act = Active {
        file,
        first_seq: act.next_seq,
        len: 0,
        next_seq: act.next_seq,
    };
    Ok(seg)
}

fn create_segment(shared: &Shared, subject: &str, first: u64) -> Result<(File, Seg), BusError> {
    let path = segment_path(shared, subject, first);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| BusError::io("create segment", &path, e))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    let read = File::open(&path).map_err(|e| BusError::io("open segment", &path, e))?;
    let seg = Seg {
        path,
        file: Arc::new(read),
        first_seq: first,
        index: Vec::new(),
        bytes: 0,
        last_unix_ms: unix_ms(),
    };
    Ok((file, seg))
}

/// The active segment of `subject`, opening the last one (or creating the first) on first use.
fn active_for<'a>(
    shared: &Shared,
    active: &'a mut HashMap<String, Active>,
    subject: &str,
    new_segments: &mut Vec<(String, Seg)>,
) -> Result<&'a mut Active, BusError> {
    if !active.contains_key(subject) {
        let last = {
            let mut st = lock(shared);
            let log = st.log(&shared.dir, subject)?;
            let next = log.next_seq;
            log.segments
                .values()
                .next_back()
                .map(|s| (s.path.clone(), s.first_seq, s.bytes, next))
                .ok_or(next)
        };
        let act = match last {
            Ok((path, first_seq, len, next_seq)) => {
                let mut file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| BusError::io("open segment", &path, e))?;
                // Anything past the last durable record is a failed write: cut it off.
                file.set_len(len)
                    .and_then(|()| file.seek(SeekFrom::Start(len)))
                    .map_err(|e| BusError::io("open segment", &path, e))?;
                Active {
                    file,
                    first_seq,
                    len,
                    next_seq,
                }
            }
            Err(next_seq) => {
                let (file, seg) = create_segment(shared, subject, next_seq)?;
                new_segments.push((subject.to_owned(), seg));
                Active {
                    file,
                    first_seq: next_seq,
                    len: 0,
                    next_seq,
                }
            }
        };
        active.insert(subject.to_owned(), act);
    }
    active.get_mut(subject).ok_or(BusError::Closed)
}

/// Rewrites every group changed since the last call (temp file, fsync, rename, fsync dir).
fn sync_groups(shared: &Shared) -> Result<(), BusError> {
    // (subject\0group, file, contents, floor) of each changed group.
    let snapshot: Vec<(String, PathBuf, String, u64)> = {
        let mut st = lock(shared);
        let mut v = Vec::new();
        for (subject, log) in st.logs.iter_mut() {
            for (name, g) in log.groups.iter_mut() {
                if g.dirty {
                    g.dirty = false;
                    v.push((
                        format!("{subject}\u{0}{name}"),
                        g.path.clone(),
                        g.encode(),
                        g.floor,
                    ));
                }
            }
        }
        v
    };
    let mut result = Ok(());
    let mut dirs = Vec::new();
    let mut written = Vec::new();
    for (key, path, text, floor) in snapshot {
        let tmp = path.with_extension("ack.tmp");
        let r = File::create(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_data()))
            .and_then(|()| std::fs::rename(&tmp, &path));
        match r {
            Ok(()) => {
                if let Some(d) = path.parent()
                    && !dirs.iter().any(|x: &PathBuf| x == d)
                {
                    dirs.push(d.to_path_buf());
                }
                written.push((key, floor));
            }
            Err(e) => {
                mark_dirty(shared, &key);
                if result.is_ok() {
                    result = Err(BusError::io("write group file", &path, e));
                }
            }
        }
    }
    for d in dirs {
        if let Err(e) = sync_dir(&d) {
            result = Err(e);
        }
    }
    if result.is_ok() {
        let mut st = lock(shared);
        for (key, floor) in written {
            if let Some((subject, name)) = key.split_once('\u{0}')
                && let Some(g) = st
                    .logs
                    .get_mut(subject)
                    .and_then(|l| l.groups.get_mut(name))
            {
                g.persisted_floor = g.persisted_floor.max(floor);
            }
        }
    }
    result
}

fn mark_dirty(shared: &Shared, key: &str) {
    if let Some((subject, name)) = key.split_once('\u{0}') {
        let mut st = lock(shared);
        if let Some(g) = st
            .logs
            .get_mut(subject)
            .and_then(|l| l.groups.get_mut(name))
        {
            g.dirty = true;
        }
    }
}

/// Deletes segments every group has durably acknowledged past, once their newest record is
/// older than the duplicate window (so the id window survives a restart). The newest segment
/// of a subject and the segments of subjects without groups are kept.
pub(crate) fn cleanup(shared: &Shared) {
    let horizon = unix_ms().saturating_sub(shared.opts.duplicate_window.as_millis() as u64);
    let mut doomed = Vec::new();
    {
        let mut st = lock(shared);
        for log in st.logs.values_mut() {
            let Some(min_floor) = log.groups.values().map(|g| g.persisted_floor).min() else {
                continue;
            };
            let last = log.segments.keys().next_back().copied();
            let victims: Vec<u64> = log
                .segments
                .values()
                .filter(|s| {
                    Some(s.first_seq) != last
                        && s.end_seq() <= min_floor + 1
                        && s.last_unix_ms < horizon
                })
                .map(|s| s.first_seq)
                .collect();
            for first in victims {
                if let Some(seg) = log.segments.remove(&first) {
                    doomed.push(seg.path);
                }
            }
        }
    }
    for path in doomed {
        match std::fs::remove_file(&path) {
            Ok(()) => {
                shared
                    .stats
                    .segments_deleted
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "local bus: cannot delete segment: {e}")
            }
        }
    }
}

fn clone_err(e: &BusError) -> BusError {
    match e {
        BusError::Io { op, path, source } => BusError::Io {
            op,
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        _ => BusError::Closed,
    }
}
