//! Stored events and dead letters: search by time range, organisation, indexed fields, any
//! field of the event document and text (the same words and CJK bigrams on both backends, see
//! [`crate::fts`], so Japanese text is found too); retention.

use mamori_model::OrgId;
use serde::Serialize;

use crate::BeginWrite;
use crate::blocks::{self, EventFilter};
use crate::{Backend, Store, StoreError, on_pool};

/// A stored event.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredEvent {
    pub id: i64,
    #[schema(value_type = String)]
    pub org_id: OrgId,
    pub source: String,
    pub ts: i64,
    pub received_at: i64,
    /// The event (flat ECS keys).
    #[schema(value_type = Object)]
    pub doc: serde_json::Value,
}

#[derive(sqlx::FromRow)]
struct BlockRow {
    id: i64,
    org_id: String,
    source: String,
    received_at: i64,
    ts_max: i64,
    data: Vec<u8>,
}

/// Blocks read per round trip while searching.
const BLOCKS_PER_READ: i64 = 8;

/// A search over stored events. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only this organisation's events (`None`: all, for hub administrators).
    pub org: Option<OrgId>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Words anywhere in the event's values (case-insensitive, the last one a prefix; CJK by
    /// bigrams).
    pub text: Option<String>,
    /// Exact values of event fields, e.g. `("host.name", "ws01")`.
    pub fields: Vec<(String, String)>,
    /// Continue after this (ts, id) of the previous page.
    pub before: Option<(i64, i64)>,
    pub limit: i64,
}

/// Whether a field name may be used in a search (it is put into a JSON path).
pub fn valid_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct DeadLetter {
    pub id: i64,
    pub org_id: String,
    pub source: String,
    pub received_at: i64,
    pub origin: String,
    pub reason: String,
    pub text: String,
}

impl Store {
    /// Events matching the query, newest first. Candidate blocks are read newest first (by
    /// their newest event) and every event in them is checked exactly; reading stops once no
    /// further block can hold an event newer than the last one kept.
    pub async fn search_events(&self, q: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        for (f, _) in &q.fields {
            if !valid_field_name(f) {
                return Err(StoreError::Invalid(format!("bad field name {f:?}")));
            }
        }
        let limit = usize::try_from(q.limit.clamp(1, 1000)).unwrap_or(1000);
        let filter = EventFilter::new(q.text.as_deref(), &q.fields);
        let groups = filter.block_term_groups();
        let mut found: Vec<StoredEvent> = Vec::new();
        // Keyset over blocks: (ts_max, id) strictly below the last block read.
        let mut after: Option<(i64, i64)> = None;
        loop {
            let blocks = self.candidate_blocks(q, &groups, after).await?;
            let Some(last) = blocks.last() else { break };
            after = Some((last.ts_max, last.id));
            let n_read = blocks.len();
            for b in blocks {
                if found.len() >= limit && found.last().is_some_and(|worst| b.ts_max < worst.ts) {
                    return Ok(found);
                }
                let org_id: OrgId = b
                    .org_id
                    .parse()
                    .map_err(|e| StoreError::corrupt("event_blocks.org_id", e))?;
                let raw = blocks::decompress(&b.data)?;
                for (pos, r) in blocks::records(&raw).enumerate() {
                    let r = r?;
                    let id = (b.id << blocks::ID_SHIFT) | pos as i64;
                    if q.from.is_some_and(|f| r.ts < f)
                        || q.to.is_some_and(|t| r.ts >= t)
                        || q.before.is_some_and(|(bt, bid)| (r.ts, id) >= (bt, bid))
                    {
                        continue;
                    }
                    if let Some(doc) = filter.admits(&r)? {
                        found.push(StoredEvent {
                            id,
                            org_id,
                            source: b.source.clone(),
                            ts: r.ts,
                            received_at: b.received_at,
                            doc: serde_json::Value::Object(doc),
                        });
                    }
                }
                found.sort_unstable_by_key(|e| std::cmp::Reverse((e.ts, e.id)));
                found.truncate(limit);
            }
            if (n_read as i64) < BLOCKS_PER_READ {
                break;
            }
        }
        Ok(found)
    }

    /// The next blocks that may hold matching events, newest first.
    async fn candidate_blocks(
        &self,
        q: &EventQuery,
        groups: &[(Vec<String>, Option<String>)],
        after: Option<(i64, i64)>,
    ) -> Result<Vec<BlockRow>, StoreError> {
        let backend = self.backend();
        Ok(on_pool!(self, |pool| {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT b.id, b.org_id, b.source, b.received_at, b.ts_max, b.data FROM event_blocks b WHERE 1=1",
            );
            if let Some(o) = q.org {
                b.push(" AND b.org_id = ").push_bind(o.to_string());
            }
            if let Some(f) = q.from {
                b.push(" AND b.ts_max >= ").push_bind(f);
            }
            if let Some(t) = q.to {
                b.push(" AND b.ts_min < ").push_bind(t);
            }
            if let Some((ts, _)) = q.before {
                b.push(" AND b.ts_min <= ").push_bind(ts);
            }
            if let Some((ts, id)) = after {
                b.push(" AND (b.ts_max < ")
                    .push_bind(ts)
                    .push(" OR (b.ts_max = ")
                    .push_bind(ts)
                    .push(" AND b.id < ")
                    .push_bind(id)
                    .push("))");
            }
            // A group without terms admits every block: then the terms narrow nothing.
            if !groups.iter().any(|(w, p)| w.is_empty() && p.is_none()) {
                let groups: Vec<(&[String], Option<&str>)> = groups
                    .iter()
                    .map(|(w, p)| (w.as_slice(), p.as_deref()))
                    .collect();
                let t = blocks::term_condition(backend, &groups);
                b.push(t.before).push_bind(t.query).push(t.after);
            }
            b.push(" ORDER BY b.ts_max DESC, b.id DESC LIMIT ")
                .push_bind(BLOCKS_PER_READ);
            b.build_query_as().fetch_all(pool).await
        })?)
    }

    /// How many events are stored (of one organisation or all).
    pub async fn count_events(&self, org: Option<OrgId>) -> Result<i64, StoreError> {
        let (n,): (Option<i64>,) = on_pool!(self, |pool| sqlx::query_as(
            "SELECT CAST(SUM(count) AS BIGINT) FROM event_blocks WHERE $1 = '' OR org_id = $1"
        )
        .bind(org.map(|o| o.to_string()).unwrap_or_default())
        .fetch_one(pool)
        .await)?;
        Ok(n.unwrap_or(0))
    }

    /// The newest dead letters (of one organisation or all).
    pub async fn list_dead_letters(
        &self,
        org: Option<OrgId>,
        limit: i64,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, org_id, source, received_at, origin, reason, text FROM dead_letters \
             WHERE $1 = '' OR org_id = $1 ORDER BY id DESC LIMIT $2"
        )
        .bind(org.map(|o| o.to_string()).unwrap_or_default())
        .bind(limit.clamp(1, 1000))
        .fetch_all(pool)
        .await)?)
    }

    /// Deletes events older than `before` (ms), of one organisation or all; returns how many.
    /// Events go by whole blocks: a block is deleted once its newest event is older than
    /// `before`. On PostgreSQL, whole day partitions older than `before` are dropped when no
    /// organisation is named.
    pub async fn purge_events(&self, org: Option<OrgId>, before: i64) -> Result<u64, StoreError> {
        match org {
            Some(o) => {
                self.purge_blocks(before, "org_id = $2", &[o.to_string()], false)
                    .await
            }
            None => self.purge_blocks(before, "1=1", &[], true).await,
        }
    }

    /// Deletes the blocks whose newest event is older than `before` and that pass `org_cond`
    /// (over `$2..`, bound to `orgs`); on PostgreSQL with `drop_partitions`, first drops the
    /// day partitions wholly older than `before`. Returns the number of events removed.
    async fn purge_blocks(
        &self,
        before: i64,
        org_cond: &str,
        orgs: &[String],
        drop_partitions: bool,
    ) -> Result<u64, StoreError> {
        let cond = format!("ts_max < $1 AND {org_cond}");
        let count_sql = format!("SELECT CAST(SUM(count) AS BIGINT) FROM event_blocks WHERE {cond}");
        let del_fts = format!(
            "DELETE FROM event_blocks_fts WHERE rowid IN (SELECT id FROM event_blocks WHERE {cond})"
        );
        let del = format!("DELETE FROM event_blocks WHERE {cond}");
        let mut removed = 0u64;
        if let (crate::Db::Postgres(pool), true) = (self.db(), drop_partitions) {
            let parts: Vec<(String,)> = sqlx::query_as(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'event_blocks' \
                 AND c.relname LIKE 'event_blocks_d%' ORDER BY c.relname",
            )
            .fetch_all(pool)
            .await?;
            let cutoff = partition_day_name(before);
            for (name,) in parts {
                // A day partition ends before the cutoff day starts: drop it whole.
                if name.as_str() < cutoff.as_str() && name.len() == cutoff.len() {
                    let (n,): (Option<i64>,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT CAST(SUM(count) AS BIGINT) FROM {name}"
                    )))
                    .fetch_one(pool)
                    .await?;
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {name}")))
                        .execute(pool)
                        .await?;
                    removed += n.unwrap_or(0) as u64;
                }
            }
        }
        let backend = self.backend();
        let n: Option<i64> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(count_sql.as_str())).bind(before);
                for o in orgs {
                    q = q.bind(o);
                }
                let (n,): (Option<i64>,) = q.fetch_one(&mut *tx).await?;
                let mut stmts = vec![del.as_str()];
                if backend == Backend::Sqlite {
                    stmts.insert(0, del_fts.as_str());
                }
                for sql in stmts {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(before);
                    for o in orgs {
                        q = q.bind(o);
                    }
                    q.execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok::<_, sqlx::Error>(n)
            }
            .await
        })?;
        removed += n.unwrap_or(0) as u64;
        removed += self.trim_blocks(before, org_cond, orgs).await?;
        Ok(removed)
    }

    /// Rewrites the blocks that straddle `before` without their events older than it (one
    /// transaction per block), so retention is exact to the event. Returns how many went.
    async fn trim_blocks(
        &self,
        before: i64,
        org_cond: &str,
        orgs: &[String],
    ) -> Result<u64, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Straddler {
            id: i64,
            org_id: String,
            source: String,
            received_at: i64,
            data: Vec<u8>,
        }
        let sql = format!(
            "SELECT id, org_id, source, received_at, data FROM event_blocks \
             WHERE ts_min < $1 AND ts_max >= $1 AND {org_cond}"
        );
        let rows: Vec<Straddler> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(before);
            for o in orgs {
                q = q.bind(o);
            }
            q.fetch_all(pool).await
        })?;
        let backend = self.backend();
        let mut removed = 0u64;
        for row in rows {
            let raw = blocks::decompress(&row.data)?;
            let mut kept = Vec::new();
            for r in blocks::records(&raw) {
                let r = r?;
                if r.ts < before {
                    removed += 1;
                    continue;
                }
                kept.push(blocks::record_event(&r));
            }
            let new_blocks = blocks::encode(&kept)?;
            on_pool!(self, |pool| {
                async {
                    let mut tx = pool.begin_write().await?;
                    if backend == Backend::Sqlite {
                        sqlx::query("DELETE FROM event_blocks_fts WHERE rowid = $1")
                            .bind(row.id)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query("DELETE FROM event_blocks WHERE id = $1")
                        .bind(row.id)
                        .execute(&mut *tx)
                        .await?;
                    for block in &new_blocks {
                        crate::ingest::insert_block!(
                            tx,
                            backend,
                            &row.org_id,
                            &row.source,
                            row.received_at,
                            block
                        );
                    }
                    tx.commit().await
                }
                .await
            })?;
        }
        Ok(removed)
    }
}

fn partition_day_name(ts: i64) -> String {
    crate::ingest::partition_name(ts)
}

impl Store {
    /// Sets an organisation's event retention in days (`None`: back to the hub default).
    pub async fn set_event_retention(
        &self,
        org: OrgId,
        days: Option<i64>,
    ) -> Result<(), StoreError> {
        match days {
            Some(d) if !(1..=3650).contains(&d) => {
                Err(StoreError::Invalid("retention is 1-3650 days".into()))
            }
            Some(d) => Ok(on_pool!(self, |pool| {
                sqlx::query(
                "INSERT INTO event_retention (org_id, days, updated_at) VALUES ($1,$2,$3) \
                 ON CONFLICT (org_id) DO UPDATE SET days = excluded.days, updated_at = excluded.updated_at"
            )
            .bind(org.to_string())
            .bind(d)
            .bind(crate::now_millis())
            .execute(pool)
            .await
            .map(|_| ())
            })?),
            None => Ok(on_pool!(self, |pool| sqlx::query(
                "DELETE FROM event_retention WHERE org_id = $1"
            )
            .bind(org.to_string())
            .execute(pool)
            .await
            .map(|_| ()))?),
        }
    }

    /// Organisations with their own retention, in days.
    pub async fn event_retentions(&self) -> Result<Vec<(OrgId, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT org_id, days FROM event_retention ORDER BY org_id"
        )
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(o, d)| {
                Ok((
                    o.parse()
                        .map_err(|e| StoreError::corrupt("event_retention.org_id", e))?,
                    d,
                ))
            })
            .collect()
    }

    /// Applies retention: each organisation's own, then the default for everyone else's
    /// events (and, on PostgreSQL, whole day partitions past the longest retention).
    /// Returns the number of events removed.
    pub async fn apply_retention(&self, default_days: i64, now: i64) -> Result<u64, StoreError> {
        const DAY: i64 = 86_400_000;
        let own = self.event_retentions().await?;
        let mut removed = 0;
        for (org, days) in &own {
            removed += self.purge_events(Some(*org), now - days * DAY).await?;
        }
        let longest = own
            .iter()
            .map(|(_, d)| *d)
            .max()
            .unwrap_or(0)
            .max(default_days);
        // Everyone else: rows older than the default, except organisations keeping longer.
        let keep: Vec<String> = own
            .iter()
            .filter(|(_, d)| *d > default_days)
            .map(|(o, _)| o.to_string())
            .collect();
        if keep.is_empty() {
            removed += self.purge_events(None, now - default_days * DAY).await?;
        } else {
            let cutoff = now - default_days * DAY;
            let sql_keep = (0..keep.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(",");
            removed += self
                .purge_blocks(cutoff, &format!("org_id NOT IN ({sql_keep})"), &keep, false)
                .await?;
            if self.backend() == crate::Backend::Postgres {
                removed += self.purge_events(None, now - longest * DAY).await?;
            }
        }
        Ok(removed)
    }
}
