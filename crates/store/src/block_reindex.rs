//! The rebuild of SQLite's block term index after migration 0014 re-created it without
//! positions: blocks stored before it are read back a few at a time, their terms computed
//! again (`blocks::encode`, so by today's rules) and indexed. Each step is one write
//! transaction that also records how far it got in `event_blocks_reindex`, so a rebuild cut
//! short resumes where it stopped and two processes never index a block twice. A block whose
//! data cannot be read is skipped with a warning: no search could read it either.

use crate::blocks::{decompress, encode, record_event, records};
use crate::ingest::NewEvent;
use crate::{BeginWrite, Store, StoreError};

/// Blocks indexed per transaction.
const BLOCKS_PER_STEP: i64 = 16;
/// A progress line is logged every this many blocks (a large database takes minutes).
const LOG_EVERY: u64 = 1024;

/// The terms of a stored block, or why they cannot be computed.
fn block_terms(data: &[u8]) -> Result<String, StoreError> {
    let raw = decompress(data)?;
    let events = records(&raw)
        .map(|r| r.map(|r| record_event(&r)))
        .collect::<Result<Vec<NewEvent>, StoreError>>()?;
    let terms: Vec<String> = encode(&events)?.into_iter().map(|b| b.terms).collect();
    Ok(terms.join(" "))
}

impl Store {
    /// Indexes the blocks left to index after migration 0014; returns how many were indexed.
    pub(crate) async fn reindex_event_blocks(&self) -> Result<u64, StoreError> {
        let crate::Db::Sqlite(pool) = self.db() else {
            return Ok(0);
        };
        let (pending,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'event_blocks_reindex'",
        )
        .fetch_one(pool)
        .await?;
        if pending == 0 {
            return Ok(0);
        }
        let mut indexed = 0u64;
        loop {
            let before = indexed;
            let mut tx = pool.begin_write().await?;
            let progress: Option<(i64, i64)> =
                sqlx::query_as("SELECT next_id, last_id FROM event_blocks_reindex")
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((next, last)) = progress else {
                tx.commit().await?;
                break;
            };
            let blocks: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT id, data FROM event_blocks WHERE id >= $1 AND id <= $2 ORDER BY id LIMIT $3",
            )
            .bind(next)
            .bind(last)
            .bind(BLOCKS_PER_STEP)
            .fetch_all(&mut *tx)
            .await?;
            let Some(&(last_read, _)) = blocks.last() else {
                tx.commit().await?;
                break;
            };
            for (id, data) in &blocks {
                match block_terms(data) {
                    Ok(terms) => {
                        sqlx::query("INSERT INTO event_blocks_fts (rowid, terms) VALUES ($1, $2)")
                            .bind(id)
                            .bind(terms)
                            .execute(&mut *tx)
                            .await?;
                        indexed += 1;
                    }
                    Err(e) => tracing::warn!(block = id, error = %e, "event block not re-indexed"),
                }
            }
            sqlx::query("UPDATE event_blocks_reindex SET next_id = $1")
                .bind(last_read + 1)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            if indexed / LOG_EVERY != before / LOG_EVERY {
                tracing::info!(
                    indexed,
                    at_block = last_read,
                    last_block = last,
                    "re-indexing event block terms (migration 0014)"
                );
            }
        }
        sqlx::query("DROP TABLE IF EXISTS event_blocks_reindex")
            .execute(pool)
            .await?;
        if indexed > 0 {
            tracing::info!(indexed, "event block terms re-indexed");
        }
        Ok(indexed)
    }
}
