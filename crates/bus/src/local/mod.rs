//! `Bus::Local`: a durable queue in one directory, for one process.
//!
//! Each subject is an append-only log of segment files with CRC-framed records
//! ([`segment`]); `publish` returns after the record is fsync'd, and concurrent publishers share
//! one fsync (see [`writer`]). Each consumer group keeps an acknowledgement floor plus the
//! acknowledged sequences above it in a small file replaced atomically; a delivered message not
//! acknowledged within `ack_wait` is delivered again, and so is every unacknowledged message
//! after a restart. On open a torn or corrupt tail is truncated with a warning.
//!
//! Limits, by design: one process at a time uses a directory (a lock file enforces it; the
//! embedded hub is one process). Message ids are remembered for `duplicate_window` (rebuilt
//! from the stored records on open, and segments are kept at least that long). Delivery counts
//! for `max_deliver` restart from zero after a reopen.

mod segment;
mod state;
mod writer;

use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::names::{check_msg_id, check_name};
use crate::{BusError, BusOptions, Published};
use segment::Frame;
use state::{Loc, Pending, State};
use writer::{Req, lock};

/// Counters of a local bus since it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalStats {
    /// Publishes answered successfully (duplicates included).
    pub published: u64,
    /// `fdatasync` calls on segments: fewer than `published` means group commit worked.
    pub fsyncs: u64,
    /// Segment files deleted because every group had acknowledged them.
    pub segments_deleted: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    published: AtomicU64,
    fsyncs: AtomicU64,
    segments_deleted: AtomicU64,
}

/// What the handles and the writer thread share.
pub(crate) struct Shared {
    dir: PathBuf,
    opts: BusOptions,
    state: Mutex<State>,
    stats: Counters,
}

struct Inner {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Req>,
    writer: Mutex<Option<JoinHandle<()>>>,
    _lock: File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Persist pending acknowledgements and let the writer finish, so the directory can be
        // opened again as soon as the last handle is gone.
        let _ = self.tx.send(Req::Shutdown);
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

/// A local bus; cheap to clone (all clones share one directory and writer thread).
#[derive(Clone)]
pub struct LocalBus {
    inner: Arc<Inner>,
}

impl LocalBus {
    /// Opens (creating) the bus directory `dir`: takes its lock, scans every segment
    /// (truncating torn tails), loads the groups, and deletes segments no longer needed.
    pub async fn open(dir: impl AsRef<Path>, opts: BusOptions) -> Result<LocalBus, BusError> {
        let dir = dir.as_ref().to_path_buf();
        let (shared, lock_file) = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| BusError::io("create directory", &dir, e))?;
            let lock_path = dir.join("LOCK");
            let lock_file = File::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .map_err(|e| BusError::io("open", &lock_path, e))?;
            if lock_file.try_lock().is_err() {
                return Err(BusError::Locked(dir));
            }
            let state = State::load(&dir, opts.duplicate_window)?;
            let shared = Shared {
                dir,
                opts,
                state: Mutex::new(state),
                stats: Counters::default(),
            };
            writer::cleanup(&shared);
            Ok((Arc::new(shared), lock_file))
        })
        .await
        .map_err(|_| BusError::Closed)??;
        let (tx, rx) = mpsc::unbounded_channel();
        let for_writer = shared.clone();
        let handle = std::thread::Builder::new()
            .name("mamori-bus-writer".into())
            .spawn(move || writer::run(for_writer, rx))
            .map_err(|e| BusError::io("start writer thread", &shared.dir, e))?;
        Ok(LocalBus {
            inner: Arc::new(Inner {
                shared,
                tx,
                writer: Mutex::new(Some(handle)),
                _lock: lock_file,
            }),
        })
    }

    /// The bus directory.
    pub fn dir(&self) -> &Path {
        &self.inner.shared.dir
    }

    /// Counters since open.
    pub fn stats(&self) -> LocalStats {
        let c = &self.inner.shared.stats;
        LocalStats {
            published: c.published.load(Ordering::Relaxed),
            fsyncs: c.fsyncs.load(Ordering::Relaxed),
            segments_deleted: c.segments_deleted.load(Ordering::Relaxed),
        }
    }

    /// The largest payload `publish` accepts.
    pub fn max_payload(&self) -> usize {
        self.inner.shared.opts.max_payload
    }

    /// See [`crate::Bus::publish`]. Returns after the record is fsync'd.
    pub async fn publish(
        &self,
        subject: &str,
        msg_id: &str,
        payload: Bytes,
    ) -> Result<Published, BusError> {
        check_name("subject", subject)?;
        check_msg_id(msg_id)?;
        let max = self.inner.shared.opts.max_payload;
        if payload.len() > max {
            return Err(BusError::PayloadTooLarge {
                size: payload.len(),
                max,
            });
        }
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Req::Publish {
                subject: subject.to_owned(),
                msg_id: msg_id.to_owned(),
                payload,
                reply,
            })
            .map_err(|_| BusError::Closed)?;
        rx.await.map_err(|_| BusError::Closed)?
    }

    /// See [`crate::Bus::consumer`]. A new group starts at the oldest stored message.
    pub async fn consumer(&self, subject: &str, group: &str) -> Result<LocalConsumer, BusError> {
        check_name("subject", subject)?;
        check_name("group", group)?;
        let created = {
            let shared = &self.inner.shared;
            let mut st = lock(shared);
            let log = st.log(&shared.dir, subject)?;
            if log.groups.contains_key(group) {
                false
            } else {
                let path = log.dir.join("groups").join(format!("{group}.ack"));
                let mut g = log.new_group(path, 0, BTreeSet::new());
                g.dirty = true;
                log.groups.insert(group.to_owned(), g);
                true
            }
        };
        if created {
            self.inner.sync_acks().await?;
        }
        Ok(LocalConsumer {
            inner: self.inner.clone(),
            subject: subject.to_owned(),
            group: group.to_owned(),
        })
    }
}

impl Inner {
    async fn sync_acks(&self) -> Result<(), BusError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Req::SyncAcks { reply })
            .map_err(|_| BusError::Closed)?;
        rx.await.map_err(|_| BusError::Closed)?
    }
}

/// A member of a local consumer group; members in one process share the group's work.
pub struct LocalConsumer {
    inner: Arc<Inner>,
    subject: String,
    group: String,
}

/// A message picked for delivery, before its bytes are read.
struct Pick {
    seq: u64,
    loc: Loc,
    redelivered: bool,
}

impl LocalConsumer {
    /// See [`crate::Consumer::next_batch`]: first messages whose `ack_wait` ran out (or that
    /// were given back), oldest first, then new ones.
    pub async fn next_batch(
        &mut self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<LocalDelivery>, BusError> {
        let until = Instant::now() + wait;
        let max = max.max(1);
        let shared = self.inner.shared.clone();
        let notify = {
            let mut st = lock(&shared);
            st.log(&shared.dir, &self.subject)?.notify.clone()
        };
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (picks, next_due) = self.pick(max)?;
            if !picks.is_empty() {
                return read_picks(self, picks).await;
            }
            let now = Instant::now();
            if now >= until {
                return Ok(Vec::new());
            }
            let wake = next_due.map_or(until, |d| d.min(until));
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
        }
    }

    fn pick(&self, max: usize) -> Result<(Vec<Pick>, Option<Instant>), BusError> {
        let shared = &self.inner.shared;
        let opts = &shared.opts;
        let now = Instant::now();
        let mut st = lock(shared);
        let log = st.log(&shared.dir, &self.subject)?;
        let next_seq = log.next_seq;
        let Some(mut g) = log.groups.remove(&self.group) else {
            return Err(BusError::Closed);
        };
        let mut picks = Vec::new();
        // Redeliveries: the oldest expired first.
        let mut due: Vec<u64> = g
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(&s, _)| s)
            .collect();
        due.sort_unstable();
        for seq in due {
            if picks.len() >= max {
                break;
            }
            let Some(p) = g.pending.get_mut(&seq) else {
                continue;
            };
            if opts.max_deliver.is_some_and(|m| p.deliveries >= m) {
                tracing::warn!(subject = %self.subject, group = %self.group, seq,
                    deliveries = p.deliveries, "local bus: giving up on a message (max_deliver)");
                g.ack(seq);
                continue;
            }
            match log.locate(seq) {
                Some(loc) => {
                    p.deliveries += 1;
                    p.deadline = now + opts.ack_wait;
                    picks.push(Pick {
                        seq,
                        loc,
                        redelivered: true,
                    });
                }
                None => g.ack(seq),
            }
        }
        // New messages. After a restart those up to the cursor were delivered before.
        while picks.len() < max && g.cursor < next_seq {
            let seq = g.cursor;
            g.cursor += 1;
            if g.is_acked(seq) || g.pending.contains_key(&seq) {
                continue;
            }
            let Some(loc) = log.locate(seq) else {
                g.ack(seq);
                continue;
            };
            g.pending.insert(
                seq,
                Pending {
                    deadline: now + opts.ack_wait,
                    deliveries: 1,
                },
            );
            picks.push(Pick {
                seq,
                loc,
                redelivered: false,
            });
        }
        let next_due = g.pending.values().map(|p| p.deadline).min();
        log.groups.insert(self.group.clone(), g);
        Ok((picks, next_due))
    }
}

async fn read_picks(c: &LocalConsumer, picks: Vec<Pick>) -> Result<Vec<LocalDelivery>, BusError> {
    let read = tokio::task::spawn_blocking(move || {
        picks
            .into_iter()
            .map(|p| {
                let mut buf = vec![0; p.loc.len as usize];
                p.loc
                    .file
                    .read_exact_at(&mut buf, p.loc.offset)
                    .map_err(|e| BusError::io("read", &p.loc.path, e))?;
                let corrupt = || BusError::Corrupt {
                    path: p.loc.path.clone(),
                    seq: p.seq,
                };
                let (msg_id, range) = match segment::decode(&buf) {
                    Frame::Record(r, _) if r.seq == p.seq => {
                        let start = r.payload.as_ptr() as usize - buf.as_ptr() as usize;
                        (r.msg_id.to_owned(), start..start + r.payload.len())
                    }
                    _ => return Err(corrupt()),
                };
                let payload = Bytes::from(buf).slice(range);
                Ok((p.seq, msg_id, payload, p.redelivered))
            })
            .collect::<Result<Vec<_>, BusError>>()
    })
    .await
    .map_err(|_| BusError::Closed)??;
    Ok(read
        .into_iter()
        .map(|(seq, msg_id, payload, redelivered)| LocalDelivery {
            inner: c.inner.clone(),
            subject: c.subject.clone(),
            group: c.group.clone(),
            seq,
            msg_id,
            payload,
            redelivered,
        })
        .collect())
}

/// A message delivered by a local consumer.
pub struct LocalDelivery {
    inner: Arc<Inner>,
    subject: String,
    group: String,
    seq: u64,
    msg_id: String,
    payload: Bytes,
    redelivered: bool,
}

impl LocalDelivery {
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    pub fn msg_id(&self) -> Option<&str> {
        Some(self.msg_id.as_str()).filter(|s| !s.is_empty())
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    pub fn redelivered(&self) -> bool {
        self.redelivered
    }

    /// Records the acknowledgement and returns once the group's file is rewritten (one rewrite
    /// serves every acknowledgement made meanwhile).
    pub async fn ack(self) -> Result<(), BusError> {
        {
            let mut st = lock(&self.inner.shared);
            if let Some(g) = st
                .logs
                .get_mut(&self.subject)
                .and_then(|l| l.groups.get_mut(&self.group))
            {
                g.ack(self.seq);
            }
        }
        self.inner.sync_acks().await
    }

    /// Gives the message back: it is delivered again (to any member) after `delay`.
    pub async fn nak(self, delay: Duration) -> Result<(), BusError> {
        let notify = {
            let mut st = lock(&self.inner.shared);
            let Some(log) = st.logs.get_mut(&self.subject) else {
                return Ok(());
            };
            if let Some(p) = log
                .groups
                .get_mut(&self.group)
                .and_then(|g| g.pending.get_mut(&self.seq))
            {
                p.deadline = Instant::now() + delay;
            }
            log.notify.clone()
        };
        notify.notify_waiters();
        Ok(())
    }
}
