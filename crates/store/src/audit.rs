//! The audit log: append-only (database triggers refuse UPDATE and DELETE) and hash-chained, so
//! that [`Store::verify_audit`] finds the first row that was altered, removed or inserted behind
//! the hub's back.
//!
//! Each row's hash is `SHA-256(prev_hash || "\n" || canonical JSON of the row's fields)`, with
//! `prev_hash` of the first row being 64 zeros. Appends retry when another writer took the same
//! sequence number, so the chain never forks.
//!
//! **Group commit.** Appends are queued per [`Store`] ([`AppendQueue`]); whoever finds the
//! writer free takes every queued entry and appends them all in one write transaction (one
//! WAL flush), in queue order, while the next arrivals queue behind it. Under concurrent writes
//! (e.g. TAXII posters) the chain's lock is taken once per group instead of once per entry.
//! The group is written by a spawned task, so a caller that is cancelled mid-write (a client
//! that hung up) cannot abandon the others' entries.

use mamori_model::{OrgId, Tlp, UserId};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::BeginWrite;
use crate::{Backend, Page, Store, StoreError, now_millis, on_pool};

/// The hash before the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Something to record: who did what to which object, from where.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub actor_user: Option<UserId>,
    pub actor_org: Option<OrgId>,
    /// The username, `system`, or `cli:<os user>`.
    pub actor_name: String,
    /// Verb and object, e.g. `org.create`, `user.update`, `report.read`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub tlp: Option<Tlp>,
    /// The client address, or `local` for the command line.
    pub source: String,
    pub request_id: String,
    pub detail: serde_json::Value,
}

/// A stored audit row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: i64,
    pub actor_user: Option<String>,
    pub actor_org: Option<String>,
    pub actor_name: String,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub tlp: Option<String>,
    pub source: String,
    pub request_id: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRecord {
    /// The hash this row should carry given its fields and `prev_hash`.
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([
            self.seq,
            self.at,
            self.actor_user,
            self.actor_org,
            self.actor_name,
            self.action,
            self.object_type,
            self.object_id,
            self.tlp,
            self.source,
            self.request_id,
            self.detail,
        ]);
        let mut h = Sha256::new();
        h.update(self.prev_hash.as_bytes());
        h.update(b"\n");
        h.update(canonical.to_string().as_bytes());
        hex::encode(h.finalize())
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    at: i64,
    actor_user: Option<String>,
    actor_org: Option<String>,
    actor_name: String,
    action: String,
    object_type: String,
    object_id: String,
    tlp: Option<String>,
    source: String,
    request_id: String,
    detail: String,
    prev_hash: String,
    hash: String,
}

impl From<Row> for AuditRecord {
    fn from(r: Row) -> Self {
        AuditRecord {
            seq: r.seq,
            at: r.at,
            actor_user: r.actor_user,
            actor_org: r.actor_org,
            actor_name: r.actor_name,
            action: r.action,
            object_type: r.object_type,
            object_id: r.object_id,
            tlp: r.tlp,
            source: r.source,
            request_id: r.request_id,
            detail: r.detail,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

const COLUMNS: &str = "seq, at, actor_user, actor_org, actor_name, action, object_type, object_id, \
    tlp, source, request_id, detail, prev_hash, hash";

/// The outcome of a chain verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// Rows checked.
    pub rows: u64,
    /// The hash of the last row (anchor it elsewhere to detect truncation of the tail).
    pub head: String,
    /// The first broken link, if any.
    pub first_broken: Option<BrokenLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: String,
}

const APPEND_ATTEMPTS: usize = 20;
/// Most entries appended in one transaction.
const GROUP_MAX: usize = 256;

/// Appends waiting for the writer; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct AppendQueue {
    pending: std::sync::Mutex<Vec<Pending>>,
    writer: std::sync::Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug)]
struct Pending {
    entry: AuditEntry,
    done: tokio::sync::oneshot::Sender<Result<i64, StoreError>>,
}

impl AppendQueue {
    fn take(&self, max: usize) -> Vec<Pending> {
        let mut q = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let n = q.len().min(max);
        q.drain(..n).collect()
    }
}

impl Store {
    /// Appends an entry to the chain and returns its sequence number (once committed).
    pub async fn append_audit(&self, entry: &AuditEntry) -> Result<i64, StoreError> {
        let (done, mut rx) = tokio::sync::oneshot::channel();
        self.audit
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Pending {
                entry: entry.clone(),
                done,
            });
        loop {
            tokio::select! {
                biased;
                r = &mut rx => {
                    return r.unwrap_or_else(|_| {
                        Err(StoreError::Database("audit log: the append was abandoned".into()))
                    });
                }
                guard = self.audit.writer.clone().lock_owned() => {
                    let group = self.audit.take(GROUP_MAX);
                    if group.is_empty() {
                        // Ours was in an earlier group: its answer is in `rx`.
                        continue;
                    }
                    let store = self.clone();
                    let task = tokio::spawn(async move {
                        let _writer = guard;
                        let entries: Vec<&AuditEntry> = group.iter().map(|p| &p.entry).collect();
                        let result = store.append_group(&entries).await;
                        for (i, p) in group.into_iter().enumerate() {
                            let _ = p.done.send(result.clone().map(|first| first + i as i64));
                        }
                    });
                    // The group is written even if this caller goes away.
                    let _ = task.await;
                }
            }
        }
    }

    /// Appends `entries` in one transaction; returns the first one's sequence number.
    async fn append_group(&self, entries: &[&AuditEntry]) -> Result<i64, StoreError> {
        let sql = format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
        );
        let details: Vec<String> = entries.iter().map(|e| e.detail.to_string()).collect();
        for _ in 0..APPEND_ATTEMPTS {
            // Reading the last row and appending after it happen in one write transaction,
            // taken in turn: SQLite's IMMEDIATE transaction holds the write lock from the start,
            // and on PostgreSQL a transaction-scoped advisory lock orders the appenders. So
            // concurrent appends queue instead of racing for the same sequence number; the
            // retry stays for a writer outside the hub (a second hub process on SQLite).
            let res: Result<i64, sqlx::Error> = on_pool!(self, |pool| {
                async {
                    let mut tx = pool.begin_write().await?;
                    if self.backend() == Backend::Postgres {
                        sqlx::query("SELECT pg_advisory_xact_lock(7242)")
                            .execute(&mut *tx)
                            .await?;
                    }
                    let last: Option<(i64, String)> =
                        sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
                            .fetch_optional(&mut *tx)
                            .await?;
                    let (prev_seq, mut prev_hash) = last.unwrap_or((0, GENESIS.to_owned()));
                    let at = now_millis();
                    for (i, (entry, detail)) in entries.iter().zip(&details).enumerate() {
                        let mut rec = AuditRecord {
                            seq: prev_seq + 1 + i as i64,
                            at,
                            actor_user: entry.actor_user.map(|u| u.to_string()),
                            actor_org: entry.actor_org.map(|o| o.to_string()),
                            actor_name: entry.actor_name.clone(),
                            action: entry.action.clone(),
                            object_type: entry.object_type.clone(),
                            object_id: entry.object_id.clone(),
                            tlp: entry.tlp.map(|t| t.as_str().to_owned()),
                            source: entry.source.clone(),
                            request_id: entry.request_id.clone(),
                            detail: detail.clone(),
                            prev_hash,
                            hash: String::new(),
                        };
                        rec.hash = rec.compute_hash();
                        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                            .bind(rec.seq)
                            .bind(rec.at)
                            .bind(&rec.actor_user)
                            .bind(&rec.actor_org)
                            .bind(&rec.actor_name)
                            .bind(&rec.action)
                            .bind(&rec.object_type)
                            .bind(&rec.object_id)
                            .bind(&rec.tlp)
                            .bind(&rec.source)
                            .bind(&rec.request_id)
                            .bind(&rec.detail)
                            .bind(&rec.prev_hash)
                            .bind(&rec.hash)
                            .execute(&mut *tx)
                            .await?;
                        prev_hash = rec.hash;
                    }
                    tx.commit().await?;
                    Ok(prev_seq + 1)
                }
                .await
            });
            match res.map_err(StoreError::from) {
                Ok(seq) => return Ok(seq),
                Err(StoreError::Conflict(_)) => {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                Err(StoreError::Database(m)) if m.contains("locked") || m.contains("busy") => {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Database(
            "audit log: too much contention to append".into(),
        ))
    }

    /// Newest first; `before` is the sequence number to start below.
    pub async fn list_audit(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Page<AuditRecord>, StoreError> {
        let limit = limit.clamp(1, 500);
        let sql =
            format!("SELECT {COLUMNS} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2");
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit) + 1)
        .fetch_all(pool)
        .await)?;
        let mut items: Vec<AuditRecord> = rows.into_iter().map(AuditRecord::from).collect();
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| r.seq.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Walks the whole chain in order and reports the first row whose sequence, link or hash is
    /// wrong.
    pub async fn verify_audit(&self) -> Result<VerifyReport, StoreError> {
        const BATCH: i64 = 1000;
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        let mut expected_seq = 1i64;
        let mut prev_hash = GENESIS.to_owned();
        let mut rows = 0u64;
        let mut after = 0i64;
        loop {
            let batch: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
                sql.as_str()
            ))
            .bind(after)
            .bind(BATCH)
            .fetch_all(pool)
            .await)?;
            if batch.is_empty() {
                break;
            }
            for r in batch {
                let rec = AuditRecord::from(r);
                rows += 1;
                after = rec.seq;
                let broken = if rec.seq != expected_seq {
                    Some(format!(
                        "expected sequence {expected_seq}, found {}: rows are missing",
                        rec.seq
                    ))
                } else if rec.prev_hash != prev_hash {
                    Some("prev_hash does not match the previous row's hash".to_owned())
                } else if rec.compute_hash() != rec.hash {
                    Some("the row's contents do not match its hash: it was altered".to_owned())
                } else {
                    None
                };
                if let Some(reason) = broken {
                    return Ok(VerifyReport {
                        rows,
                        head: prev_hash,
                        first_broken: Some(BrokenLink {
                            seq: expected_seq.min(rec.seq),
                            reason,
                        }),
                    });
                }
                prev_hash = rec.hash;
                expected_seq += 1;
            }
        }
        Ok(VerifyReport {
            rows,
            head: prev_hash,
            first_broken: None,
        })
    }
}
