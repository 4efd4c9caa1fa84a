//! Fresh planner statistics after bulk writes on PostgreSQL.
//!
//! PostgreSQL plans from table statistics that autovacuum refreshes at the earliest a minute
//! (its naptime) after a table grew. Until then a table filled by a bulk load is planned with
//! default selectivities: measured with 169,000 TAXII objects posted in 20 s, a page of 100
//! was planned as a bitmap scan of every row after the cursor plus a sort (1.1 s per page,
//! 4 pages/s) instead of an ordered index scan that stops after 101 rows, and the posts' "what
//! is already stored" lookup slowed as the table grew. The store therefore counts the rows it
//! adds to such tables and, when they exceed a tenth of what the table held at the last
//! ANALYZE (at least [`MIN_ROWS`]), runs `ANALYZE` on it in a background task, one at a time
//! per table. SQLite plans these queries from its indexes alone and needs nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{Db, Store};

/// Rows added before the first ANALYZE.
pub const MIN_ROWS: u64 = 5_000;

/// The counters of one table.
#[derive(Debug, Default)]
pub(crate) struct Growth {
    added: AtomicU64,
    at_last_analyze: AtomicU64,
    running: Arc<AtomicBool>,
}

/// The tables the store watches.
#[derive(Debug, Default)]
pub(crate) struct TableStats {
    pub(crate) stix_objects: Growth,
}

impl Store {
    /// Notes `n` rows added to `table` (one of [`TableStats`]'s) and starts an ANALYZE when due.
    pub(crate) fn note_rows_added(&self, table: &'static str, growth: &Growth, n: usize) {
        let Db::Postgres(pool) = self.db() else {
            return;
        };
        let added = growth.added.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        let base = growth.at_last_analyze.load(Ordering::Relaxed);
        if added < MIN_ROWS.max(base / 10) {
            return;
        }
        if growth.running.swap(true, Ordering::AcqRel) {
            return;
        }
        growth.added.fetch_sub(added, Ordering::Relaxed);
        growth.at_last_analyze.fetch_add(added, Ordering::Relaxed);
        let (pool, running) = (pool.clone(), growth.running.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            // The table name is one of a fixed set, never input.
            let sql = format!("ANALYZE {table}");
            match sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await {
                Ok(_) => tracing::debug!(
                    table,
                    rows_added = added,
                    ms = started.elapsed().as_millis() as u64,
                    "statistics refreshed"
                ),
                Err(e) => tracing::warn!(table, error = %e, "ANALYZE failed"),
            }
            running.store(false, Ordering::Release);
        });
    }
}
