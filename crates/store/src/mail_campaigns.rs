//! Campaigns of mail analyses, as a reader sees them. A campaign row is only an id; its size,
//! first and last sighting and shared features are computed from the member analyses the
//! access policy's filter admits, so a reader learns nothing from members they may not see.

use mamori_access::VisibilityFilter;
use serde::Serialize;

use crate::mail_analyses::{COLS, MailAnalysisSummary, SUMMARY_COLUMNS, SummaryRow};
use crate::visibility::predicate;
use crate::{Page, PageRequest, Store, StoreError, on_pool};

/// Most members a campaign page lists.
pub const MAX_MEMBERS: i64 = 1000;
/// Most shared features a campaign page lists.
pub const MAX_SHARED: i64 = 200;

/// A campaign as seen through a visibility filter.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct CampaignSummary {
    pub id: String,
    /// Member analyses the reader may see.
    pub members: i64,
    /// Earliest `seen_at` of those members (ms since the epoch).
    pub first_seen: i64,
    pub last_seen: i64,
    /// Highest verdict score among them.
    pub max_score: i64,
}

/// A feature token shared by several visible members.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SharedFeature {
    /// `kind:value`, e.g. `subject:請求書 no.#`, `host:invoice.example`, `ip:198.51.100.7`.
    pub token: String,
    pub weight: f64,
    /// Visible members carrying it.
    pub members: i64,
}

impl Store {
    /// Campaigns with at least `min_members` members the filter admits, oldest first.
    pub async fn list_mail_campaigns(
        &self,
        filter: &VisibilityFilter,
        min_members: i64,
        page: &PageRequest,
    ) -> Result<Page<CampaignSummary>, StoreError> {
        let vis = predicate(filter, &COLS, 2);
        let n = 2 + vis.binds.len();
        let sql = format!(
            "SELECT a.campaign_id AS id, COUNT(*) AS members, MIN(a.seen_at) AS first_seen, \
             MAX(a.seen_at) AS last_seen, MAX(a.score) AS max_score FROM mail_analyses a \
             WHERE a.campaign_id > $1 AND {vis} GROUP BY a.campaign_id \
             HAVING COUNT(*) >= ${m} ORDER BY a.campaign_id LIMIT ${l}",
            vis = vis.sql,
            m = n,
            l = n + 1,
        );
        let rows: Vec<CampaignSummary> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(page.after_key());
            for b in &vis.binds {
                q = q.bind(b);
            }
            q.bind(min_members.max(1))
                .bind(page.fetch_limit())
                .fetch_all(pool)
                .await
        })?;
        Ok(Page::from_rows(rows, page, |c| c.id.clone()))
    }

    /// The members of a campaign the filter admits, in order of `seen_at` (at most
    /// [`MAX_MEMBERS`]); empty when it has none (or does not exist).
    pub async fn mail_campaign_members(
        &self,
        filter: &VisibilityFilter,
        campaign: &str,
    ) -> Result<Vec<MailAnalysisSummary>, StoreError> {
        let vis = predicate(filter, &COLS, 2);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM mail_analyses a WHERE a.campaign_id = $1 AND {vis} \
             ORDER BY a.seen_at, a.id LIMIT {MAX_MEMBERS}",
            vis = vis.sql
        );
        let rows: Vec<SummaryRow> = on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(campaign);
            for b in &vis.binds {
                q = q.bind(b);
            }
            q.fetch_all(pool).await
        })?;
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    /// Feature tokens carried by at least two members of the campaign that the filter admits,
    /// most widely shared and heaviest first (at most [`MAX_SHARED`]).
    pub async fn mail_campaign_shared_features(
        &self,
        filter: &VisibilityFilter,
        campaign: &str,
    ) -> Result<Vec<SharedFeature>, StoreError> {
        let vis = predicate(filter, &COLS, 2);
        let sql = format!(
            "SELECT t.token, MAX(t.weight) AS weight, COUNT(*) AS members \
             FROM mail_analysis_tokens t JOIN mail_analyses a ON a.id = t.analysis_id \
             WHERE a.campaign_id = $1 AND {vis} GROUP BY t.token HAVING COUNT(*) >= 2 \
             ORDER BY COUNT(*) DESC, MAX(t.weight) DESC, t.token LIMIT {MAX_SHARED}",
            vis = vis.sql
        );
        Ok(on_pool!(self, |pool| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(campaign);
            for b in &vis.binds {
                q = q.bind(b);
            }
            q.fetch_all(pool).await
        })?)
    }
}
