//! The move from the per-event table of migration 0005 to event blocks (0007): rows left in
//! `events` are committed again as blocks, a few thousand at a time, then the old tables are
//! dropped. Each chunk is committed as a batch keyed by its first row id, so a move cut short
//! by a crash resumes without storing anything twice.

use mamori_model::OrgId;
use serde_json::{Map, Value};

use crate::BeginWrite;
use crate::ingest::{IngestBatch, NewEvent};
use crate::{Backend, Store, StoreError, on_pool};

const ROWS_PER_STEP: i64 = 4096;

#[derive(sqlx::FromRow)]
struct LegacyRow {
    id: i64,
    org_id: String,
    source: String,
    ts: i64,
    dataset: Option<String>,
    host: Option<String>,
    source_ip: Option<String>,
    destination_ip: Option<String>,
    user_name: Option<String>,
    doc: String,
}

impl Store {
    async fn has_legacy_events(&self) -> Result<bool, StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => {
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'events'"
            }
            Backend::Postgres => {
                "SELECT COUNT(*) FROM pg_class WHERE relname = 'events' AND relkind IN ('r', 'p')"
            }
        };
        let (n,): (i64,) = on_pool!(self, |pool| sqlx::query_as(sql).fetch_one(pool).await)?;
        Ok(n > 0)
    }

    /// Moves events of the old per-event table into blocks; returns how many were moved.
    pub(crate) async fn move_legacy_events(&self) -> Result<u64, StoreError> {
        if !self.has_legacy_events().await? {
            return Ok(0);
        }
        let mut moved = 0u64;
        loop {
            let rows: Vec<LegacyRow> = on_pool!(self, |pool| {
                sqlx::query_as(
                "SELECT id, org_id, source, ts, dataset, host, source_ip, destination_ip, user_name, doc \
                 FROM events ORDER BY org_id, source, id LIMIT $1"
            )
            .bind(ROWS_PER_STEP)
            .fetch_all(pool)
            .await
            })?;
            let Some(first) = rows.first() else { break };
            let (org, source, first_id) = (first.org_id.clone(), first.source.clone(), first.id);
            let group: Vec<&LegacyRow> = rows
                .iter()
                .take_while(|r| r.org_id == org && r.source == source)
                .collect();
            let org_id: OrgId = org
                .parse()
                .map_err(|e| StoreError::corrupt("events.org_id", e))?;
            let events = group
                .iter()
                .map(|r| {
                    let doc: Map<String, Value> = serde_json::from_str(&r.doc).unwrap_or_default();
                    NewEvent {
                        ts: r.ts,
                        dataset: r.dataset.clone(),
                        host: r.host.clone(),
                        source_ip: r.source_ip.clone(),
                        destination_ip: r.destination_ip.clone(),
                        user_name: r.user_name.clone(),
                        text: crate::blocks::doc_text(&doc),
                        field_hashes: Some(crate::blocks::doc_field_hashes(&doc)),
                        doc: r.doc.clone(),
                    }
                })
                .collect();
            self.commit_batch(&IngestBatch {
                source: source.clone(),
                batch_id: format!("moved-to-blocks-{first_id}"),
                org_id,
                events,
                blocks: Vec::new(),
                dead_letters: Vec::new(),
                alerts: Vec::new(),
                sightings: Vec::new(),
                cross_org: None,
                observations: Vec::new(),
                pattern_observations: Vec::new(),
            })
            .await?;
            let ids: Vec<i64> = group.iter().map(|r| r.id).collect();
            let backend = self.backend();
            on_pool!(self, |pool| {
                async {
                    let mut tx = pool.begin_write().await?;
                    let mut stmts = vec!["DELETE FROM events WHERE id IN "];
                    if backend == Backend::Sqlite {
                        stmts.push("DELETE FROM events_fts WHERE rowid IN ");
                    }
                    for sql in stmts {
                        let mut q = sqlx::QueryBuilder::new(sql);
                        q.push_tuples(&ids, |mut t, id| {
                            t.push_bind(*id);
                        });
                        q.build().execute(&mut *tx).await?;
                    }
                    tx.commit().await
                }
                .await
            })?;
            moved += ids.len() as u64;
        }
        let drops: &[&str] = match self.backend() {
            Backend::Sqlite => &[
                "DROP TABLE IF EXISTS events_fts",
                "DROP TABLE IF EXISTS events",
            ],
            Backend::Postgres => &["DROP TABLE IF EXISTS events CASCADE"],
        };
        for sql in drops {
            on_pool!(self, |pool| sqlx::query(*sql)
                .execute(pool)
                .await
                .map(|_| ()))?;
        }
        if moved > 0 {
            tracing::info!(moved, "stored events moved into event blocks");
        }
        Ok(moved)
    }
}
