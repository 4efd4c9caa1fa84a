//! Stored events and dead letters: search by time range, organisation, indexed fields, any
//! field of the event document and text (the same words and CJK bigrams on both backends, see
//! [`crate::fts`], so Japanese text is found too); retention.

use mamori_model::OrgId;
use serde::Serialize;

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
struct EventRow {
    id: i64,
    org_id: String,
    source: String,
    ts: i64,
    received_at: i64,
    doc: String,
}

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

/// Indexed columns for the common fields.
fn column_of(field: &str) -> Option<&'static str> {
    Some(match field {
        "host.name" => "host",
        "source.ip" => "source_ip",
        "destination.ip" => "destination_ip",
        "user.name" => "user_name",
        "event.dataset" => "dataset",
        _ => return None,
    })
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
    /// Events matching the query, newest first.
    pub async fn search_events(&self, q: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let backend = self.backend();
        for (f, _) in &q.fields {
            if !valid_field_name(f) {
                return Err(StoreError::Invalid(format!("bad field name {f:?}")));
            }
        }
        let limit = q.limit.clamp(1, 1000);
        let rows: Vec<EventRow> = on_pool!(self, |pool| {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT e.id, e.org_id, e.source, e.ts, e.received_at, e.doc FROM events e WHERE 1=1",
            );
            if let Some(o) = q.org {
                b.push(" AND e.org_id = ").push_bind(o.to_string());
            }
            if let Some(f) = q.from {
                b.push(" AND e.ts >= ").push_bind(f);
            }
            if let Some(t) = q.to {
                b.push(" AND e.ts < ").push_bind(t);
            }
            if let Some((ts, id)) = q.before {
                b.push(" AND (e.ts < ")
                    .push_bind(ts)
                    .push(" OR (e.ts = ")
                    .push_bind(ts)
                    .push(" AND e.id < ")
                    .push_bind(id)
                    .push("))");
            }
            for (f, v) in &q.fields {
                match column_of(f) {
                    Some(col) => {
                        b.push(format_args!(" AND e.{col} = ")).push_bind(v.clone());
                    }
                    None if backend == Backend::Sqlite => {
                        b.push(format_args!(" AND json_extract(e.doc, '$.\"{f}\"') = "))
                            .push_bind(v.clone());
                    }
                    None => {
                        b.push(" AND (e.doc::jsonb ->> ")
                            .push_bind(f.clone())
                            .push(") = ")
                            .push_bind(v.clone());
                    }
                }
            }
            if let Some(t) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                match (backend, crate::fts::match_query(t), crate::fts::tsquery(t)) {
                    (Backend::Sqlite, Some(m), _) => {
                        b.push(
                            " AND e.id IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ",
                        )
                        .push_bind(m)
                        .push(")");
                    }
                    (Backend::Postgres, _, Some(tq)) => {
                        b.push(
                            " AND to_tsvector('simple', e.search_text) @@ to_tsquery('simple', ",
                        )
                        .push_bind(tq)
                        .push(")");
                    }
                    // No word in the text (only punctuation): a plain substring scan.
                    _ => {
                        let pattern = format!("%{}%", like_escape(t));
                        let like = if backend == Backend::Sqlite {
                            "LIKE"
                        } else {
                            "ILIKE"
                        };
                        b.push(format_args!(" AND e.doc {like} "))
                            .push_bind(pattern)
                            .push(" ESCAPE '\\'");
                    }
                }
            }
            b.push(" ORDER BY e.ts DESC, e.id DESC LIMIT ")
                .push_bind(limit);
            b.build_query_as().fetch_all(pool).await
        })?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredEvent {
                    id: r.id,
                    org_id: r
                        .org_id
                        .parse()
                        .map_err(|e| StoreError::corrupt("events.org_id", e))?,
                    source: r.source,
                    ts: r.ts,
                    received_at: r.received_at,
                    doc: serde_json::from_str(&r.doc)
                        .map_err(|e| StoreError::corrupt("events.doc", e))?,
                })
            })
            .collect()
    }

    /// How many events are stored (of one organisation or all).
    pub async fn count_events(&self, org: Option<OrgId>) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, |pool| sqlx::query_as(
            "SELECT COUNT(*) FROM events WHERE $1 = '' OR org_id = $1"
        )
        .bind(org.map(|o| o.to_string()).unwrap_or_default())
        .fetch_one(pool)
        .await)?;
        Ok(n)
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
    /// On PostgreSQL, whole day partitions older than `before` are dropped when no
    /// organisation is named.
    pub async fn purge_events(&self, org: Option<OrgId>, before: i64) -> Result<u64, StoreError> {
        let org = org.map(|o| o.to_string()).unwrap_or_default();
        let mut dropped = 0u64;
        match self {
            Store::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "DELETE FROM events_fts WHERE rowid IN \
                     (SELECT id FROM events WHERE ($1 = '' OR org_id = $1) AND ts < $2)",
                )
                .bind(&org)
                .bind(before)
                .execute(&mut *tx)
                .await?;
                dropped +=
                    sqlx::query("DELETE FROM events WHERE ($1 = '' OR org_id = $1) AND ts < $2")
                        .bind(&org)
                        .bind(before)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                tx.commit().await?;
            }
            Store::Postgres(pool) => {
                if org.is_empty() {
                    let parts: Vec<(String,)> = sqlx::query_as(
                        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                         JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' \
                         AND c.relname LIKE 'events_d%' ORDER BY c.relname",
                    )
                    .fetch_all(pool)
                    .await?;
                    let cutoff = partition_day_name(before);
                    for (name,) in parts {
                        // A day partition ends before the cutoff day starts: drop it whole.
                        if name.as_str() < cutoff.as_str() && name.len() == cutoff.len() {
                            let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                                "SELECT COUNT(*) FROM {name}"
                            )))
                            .fetch_one(pool)
                            .await?;
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {name}")))
                                .execute(pool)
                                .await?;
                            dropped += n as u64;
                        }
                    }
                }
                dropped +=
                    sqlx::query("DELETE FROM events WHERE ($1 = '' OR org_id = $1) AND ts < $2")
                        .bind(&org)
                        .bind(before)
                        .execute(pool)
                        .await?
                        .rows_affected();
            }
        }
        Ok(dropped)
    }
}

fn partition_day_name(ts: i64) -> String {
    crate::ingest::partition_name(ts)
}

/// Escapes `%`, `_` and `\` for LIKE ... ESCAPE '\'.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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
            let fts = format!(
                "DELETE FROM events_fts WHERE rowid IN (SELECT id FROM events WHERE ts < $1 AND org_id NOT IN ({sql_keep}))"
            );
            let del = format!("DELETE FROM events WHERE ts < $1 AND org_id NOT IN ({sql_keep})");
            if self.backend() == crate::Backend::Sqlite {
                on_pool!(self, |pool| {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(fts.as_str())).bind(cutoff);
                    for k in &keep {
                        q = q.bind(k);
                    }
                    q.execute(pool).await.map(|_| ())
                })?;
            }
            removed += on_pool!(self, |pool| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(del.as_str())).bind(cutoff);
                for k in &keep {
                    q = q.bind(k);
                }
                q.execute(pool).await.map(|r| r.rows_affected())
            })?;
            if self.backend() == crate::Backend::Postgres {
                removed += self.purge_events(None, now - longest * DAY).await?;
            }
        }
        Ok(removed)
    }
}
