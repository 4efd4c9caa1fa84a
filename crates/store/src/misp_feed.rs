//! MISP feed events already imported, keyed by event uuid and MISP timestamp: a feed import
//! that runs again skips what it took before, and takes an event again only when its
//! timestamp changed (MISP bumps it on every edit).

use mamori_model::ReportId;

use crate::{Store, StoreError, now_millis, on_pool};

impl Store {
    /// Whether the event at this timestamp was imported already.
    pub async fn misp_feed_event_seen(
        &self,
        uuid: &str,
        timestamp: i64,
    ) -> Result<bool, StoreError> {
        let row: Option<(i64,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT timestamp FROM misp_feed_events WHERE uuid = $1 AND timestamp = $2"
        )
        .bind(uuid)
        .bind(timestamp)
        .fetch_optional(pool)
        .await)?;
        Ok(row.is_some())
    }

    /// Records an imported event. Returns false when another import recorded it first.
    pub async fn record_misp_feed_event(
        &self,
        uuid: &str,
        timestamp: i64,
        source: &str,
        report: Option<ReportId>,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| sqlx::query(
            "INSERT INTO misp_feed_events (uuid, timestamp, source, report_id, imported_at) \
             VALUES ($1,$2,$3,$4,$5) ON CONFLICT (uuid, timestamp) DO NOTHING"
        )
        .bind(uuid)
        .bind(timestamp)
        .bind(source)
        .bind(report.map(|r| r.to_string()))
        .bind(now_millis())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }
}
