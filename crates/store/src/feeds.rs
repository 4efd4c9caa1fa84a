//! The status of scheduled TAXII feeds (`[[share.feeds]]`): when each last ran, whether it
//! succeeded, the last error, and how many objects it moved in total. Every hub process that
//! runs a feed writes here, so the API shows the same status whichever process answers.

use serde::Serialize;

use crate::{Store, StoreError, now_millis, on_pool};

/// One feed's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct FeedStatus {
    pub name: String,
    pub last_run: Option<i64>,
    pub last_ok: Option<i64>,
    pub last_error: Option<String>,
    /// Objects new here, over all runs.
    pub pulled: i64,
    /// Objects sent to the remote, over all runs.
    pub pushed: i64,
    pub runs: i64,
}

impl Store {
    /// Records one run of a feed; `error` is `None` when it succeeded.
    pub async fn record_feed_run(
        &self,
        name: &str,
        error: Option<&str>,
        pulled: i64,
        pushed: i64,
    ) -> Result<(), StoreError> {
        let now = now_millis();
        let ok = error.is_none();
        on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO share_feed_status (name, last_run, last_ok, last_error, pulled, pushed, runs) \
             VALUES ($1, $2, CASE WHEN $3 THEN $2 ELSE NULL END, $4, $5, $6, 1) \
             ON CONFLICT (name) DO UPDATE SET last_run = excluded.last_run, \
             last_ok = CASE WHEN $3 THEN excluded.last_run ELSE share_feed_status.last_ok END, \
             last_error = excluded.last_error, pulled = share_feed_status.pulled + excluded.pulled, \
             pushed = share_feed_status.pushed + excluded.pushed, runs = share_feed_status.runs + 1"
        )
        .bind(name)
        .bind(now)
        .bind(ok)
        .bind(error)
        .bind(pulled)
        .bind(pushed)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Every feed that has run, by name.
    pub async fn feed_statuses(&self) -> Result<Vec<FeedStatus>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT name, last_run, last_ok, last_error, pulled, pushed, runs \
             FROM share_feed_status ORDER BY name"
        )
        .fetch_all(pool)
        .await)?)
    }
}
