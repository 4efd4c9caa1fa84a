//! The notification lifecycle: every item a feed run reports is kept (`feed_items`) with its
//! owner and whether later runs of the same feed still see it; notices are stored with their
//! items, a status (queued, sent, failed, bounced, acknowledged, remediated) and an
//! acknowledgement token kept only as a hash. An item is *remediated* when a later full run of
//! its feed no longer lists it; a notice is remediated when all its items are.

use std::collections::HashMap;

use mamori_model::OrgId;
use serde::Serialize;

use crate::BeginWrite;
use crate::{Store, StoreError, on_pool, secret};

/// Statuses a notice can have.
pub const NOTICE_STATUSES: &[&str] = &[
    "queued",
    "sent",
    "failed",
    "bounced",
    "acknowledged",
    "remediated",
];

/// The prefix of acknowledgement tokens.
pub const ACK_TOKEN_PREFIX: &str = "mma_";

/// Items per multi-row statement (11 values each, well under SQLite's and PostgreSQL's
/// limits on bound parameters).
const ITEMS_PER_STATEMENT: usize = 500;

/// What makes a feed item the same item in a later run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ItemKey<'a>(&'a str, &'a str, &'a str, &'a str);

impl<'a> ItemKey<'a> {
    fn of(it: &'a FeedItemInput) -> Self {
        ItemKey(&it.source, &it.kind, &it.value, &it.category)
    }
}

/// One item of a feed run, owner already found.
#[derive(Debug, Clone)]
pub struct FeedItemInput {
    pub source: String,
    pub kind: String,
    pub value: String,
    pub category: String,
    pub owner_org: Option<OrgId>,
    pub owner_reason: Option<String>,
    /// The observation as JSON (evidence and all).
    pub observation: String,
}

/// What recording a feed run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FeedRunOutcome {
    pub new: u64,
    pub seen_again: u64,
    /// Items remediated earlier and listed again.
    pub reopened: u64,
    /// Open items of this feed that the run no longer lists.
    pub remediated: u64,
    /// Notices all of whose items are now remediated.
    pub notices_remediated: u64,
}

/// A stored feed item.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FeedItem {
    pub id: String,
    pub source: String,
    pub kind: String,
    pub value: String,
    pub category: String,
    #[schema(value_type = Option<String>)]
    pub owner_org: Option<OrgId>,
    pub owner_reason: Option<String>,
    #[schema(value_type = Object)]
    pub observation: serde_json::Value,
    pub first_seen: i64,
    pub last_seen: i64,
    /// `open` or `remediated`.
    pub status: String,
    pub remediated_at: Option<i64>,
    pub notified_at: Option<i64>,
    pub notify_count: i64,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    id: String,
    source: String,
    kind: String,
    value: String,
    category: String,
    owner_org: Option<String>,
    owner_reason: Option<String>,
    observation: String,
    first_seen: i64,
    last_seen: i64,
    status: String,
    remediated_at: Option<i64>,
    notified_at: Option<i64>,
    notify_count: i64,
}

const ITEM_COLUMNS: &str = "id, source, kind, value, category, owner_org, owner_reason, observation, \
     first_seen, last_seen, status, remediated_at, notified_at, notify_count";

impl ItemRow {
    fn into_item(self) -> Result<FeedItem, StoreError> {
        Ok(FeedItem {
            owner_org: self
                .owner_org
                .map(|o| o.parse())
                .transpose()
                .map_err(|e| StoreError::corrupt("feed_items.owner_org", e))?,
            observation: serde_json::from_str(&self.observation)
                .map_err(|e| StoreError::corrupt("feed_items.observation", e))?,
            id: self.id,
            source: self.source,
            kind: self.kind,
            value: self.value,
            category: self.category,
            owner_reason: self.owner_reason,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            status: self.status,
            remediated_at: self.remediated_at,
            notified_at: self.notified_at,
            notify_count: self.notify_count,
        })
    }
}

/// A notice to store.
#[derive(Debug, Clone)]
pub struct NewNotice {
    pub org_id: OrgId,
    /// `notice`, `reminder` (items notified before) or `takedown`.
    pub kind: String,
    pub lang: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
    pub csv_name: String,
    pub csv: String,
    pub item_ids: Vec<String>,
    /// Some items persisted through earlier notices.
    pub escalated: bool,
    /// `email` (to `recipients`) or `webhook` (to the organisation's webhook).
    pub channel: String,
    /// What a webhook notice posts (JSON), fixed when it is issued.
    pub payload: Option<String>,
}

/// Channels a notice is delivered by.
pub const NOTICE_CHANNELS: &[&str] = &["email", "webhook"];

/// A stored notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct NoticeRecord {
    pub id: String,
    #[schema(value_type = String)]
    pub org_id: OrgId,
    pub kind: String,
    /// `email` or `webhook`.
    pub channel: String,
    pub lang: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub body: String,
    pub csv_name: String,
    pub items: i64,
    pub status: String,
    pub error: Option<String>,
    pub escalated: bool,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub acked_at: Option<i64>,
    pub remediated_at: Option<i64>,
    /// Delivery attempts so far (each one with its own retries).
    pub attempts: i64,
    /// When a failed notice is due for its next attempt.
    pub next_attempt_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: String,
    org_id: String,
    kind: String,
    channel: String,
    lang: String,
    recipients: String,
    subject: String,
    body: String,
    csv_name: String,
    items: i64,
    status: String,
    error: Option<String>,
    escalated: i64,
    created_at: i64,
    sent_at: Option<i64>,
    acked_at: Option<i64>,
    remediated_at: Option<i64>,
    attempts: i64,
    next_attempt_at: Option<i64>,
}

const NOTICE_COLUMNS: &str = "id, org_id, kind, channel, lang, recipients, subject, body, csv_name, items, status, \
     error, escalated, created_at, sent_at, acked_at, remediated_at, attempts, next_attempt_at";

impl NoticeRow {
    fn into_notice(self) -> Result<NoticeRecord, StoreError> {
        Ok(NoticeRecord {
            org_id: self
                .org_id
                .parse()
                .map_err(|e| StoreError::corrupt("notices.org_id", e))?,
            recipients: self
                .recipients
                .split('\n')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            id: self.id,
            kind: self.kind,
            channel: self.channel,
            lang: self.lang,
            subject: self.subject,
            body: self.body,
            csv_name: self.csv_name,
            items: self.items,
            status: self.status,
            error: self.error,
            escalated: self.escalated != 0,
            created_at: self.created_at,
            sent_at: self.sent_at,
            acked_at: self.acked_at,
            remediated_at: self.remediated_at,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
        })
    }
}

/// A fresh acknowledgement token (`mma_` and 256 random bits).
pub fn new_ack_token() -> Result<String, StoreError> {
    secret::generate(ACK_TOKEN_PREFIX)
}

impl Store {
    /// Records a feed run's items. With `complete` (the run lists everything the feed
    /// currently reports, as a daily Shadowserver report or URLhaus `csv_online` does), open
    /// items of the same feed that it no longer lists are remediated, and so are notices none
    /// of whose items is still open.
    pub async fn record_feed_items(
        &self,
        source: &str,
        run_at: i64,
        items: &[FeedItemInput],
        complete: bool,
    ) -> Result<FeedRunOutcome, StoreError> {
        // The same item twice in one run counts once; the last copy wins.
        let mut last: HashMap<ItemKey<'_>, usize> = HashMap::with_capacity(items.len());
        for (i, it) in items.iter().enumerate() {
            last.insert(ItemKey::of(it), i);
        }
        let mut unique: Vec<&FeedItemInput> = items
            .iter()
            .enumerate()
            .filter(|(i, it)| last.get(&ItemKey::of(it)) == Some(i))
            .map(|(_, it)| it)
            .collect();
        // Upserted in key order: two runs of the same feed at the same time (two hub
        // processes) then wait for each other in one order and never deadlock.
        unique.sort_by(|a, b| {
            (&a.source, &a.kind, &a.value, &a.category).cmp(&(
                &b.source,
                &b.kind,
                &b.value,
                &b.category,
            ))
        });
        let mut out = FeedRunOutcome::default();
        on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                for chunk in unique.chunks(ITEMS_PER_STATEMENT) {
                    // What the store already holds of these items decides new / seen again
                    // / reopened; then one upsert writes them all.
                    let mut q = sqlx::QueryBuilder::new(
                        "SELECT source, kind, value, category, status FROM feed_items \
                         WHERE (source, kind, value, category) IN (",
                    );
                    q.push_values(chunk, |mut row, it| {
                        row.push_bind(&it.source)
                            .push_bind(&it.kind)
                            .push_bind(&it.value)
                            .push_bind(&it.category);
                    });
                    q.push(")");
                    let known: Vec<(String, String, String, String, String)> =
                        q.build_query_as().fetch_all(&mut *tx).await?;
                    let known: HashMap<ItemKey<'_>, &str> = known
                        .iter()
                        .map(|(s, k, v, c, st)| (ItemKey(s, k, v, c), st.as_str()))
                        .collect();
                    for it in chunk {
                        match known.get(&ItemKey::of(it)) {
                            None => out.new += 1,
                            Some(&"remediated") => out.reopened += 1,
                            Some(_) => out.seen_again += 1,
                        }
                    }
                    // Reopened items are notified afresh.
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO feed_items (id, source, kind, value, category, owner_org, owner_reason, \
                         observation, first_seen, last_seen, status) ",
                    );
                    q.push_values(chunk, |mut row, it| {
                        row.push_bind(uuid::Uuid::now_v7().to_string())
                            .push_bind(&it.source)
                            .push_bind(&it.kind)
                            .push_bind(&it.value)
                            .push_bind(&it.category)
                            .push_bind(it.owner_org.map(|o| o.to_string()))
                            .push_bind(&it.owner_reason)
                            .push_bind(&it.observation)
                            .push_bind(run_at)
                            .push_bind(run_at)
                            .push("'open'");
                    });
                    q.push(
                        " ON CONFLICT (source, kind, value, category) DO UPDATE SET \
                         last_seen = excluded.last_seen, observation = excluded.observation, \
                         owner_org = excluded.owner_org, owner_reason = excluded.owner_reason, \
                         status = 'open', remediated_at = NULL, \
                         notified_at = CASE WHEN feed_items.status = 'remediated' THEN NULL \
                         ELSE feed_items.notified_at END",
                    );
                    q.build().execute(&mut *tx).await?;
                }
                if complete {
                    out.remediated = sqlx::query(
                        "UPDATE feed_items SET status = 'remediated', remediated_at = $2 \
                         WHERE source = $1 AND status = 'open' AND last_seen < $2",
                    )
                    .bind(source)
                    .bind(run_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    out.notices_remediated = sqlx::query(
                        "UPDATE notices SET status = 'remediated', remediated_at = $1 \
                         WHERE status IN ('sent', 'acknowledged', 'bounced') AND NOT EXISTS ( \
                           SELECT 1 FROM notice_items ni JOIN feed_items f ON f.id = ni.item_id \
                           WHERE ni.notice_id = notices.id AND f.status = 'open')",
                    )
                    .bind(run_at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await
            }
            .await
        })?;
        Ok(out)
    }

    /// Owned open items that need a notice: never notified, or last notified before
    /// `now - renotify_ms`.
    pub async fn feed_items_due(
        &self,
        renotify_ms: i64,
        now: i64,
    ) -> Result<Vec<FeedItem>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM feed_items WHERE owner_org IS NOT NULL AND status = 'open' \
             AND (notified_at IS NULL OR notified_at <= $1) ORDER BY owner_org, first_seen, id"
        );
        let rows: Vec<ItemRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(now - renotify_ms)
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(ItemRow::into_item).collect()
    }

    /// One feed item.
    pub async fn feed_item(&self, id: &str) -> Result<Option<FeedItem>, StoreError> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM feed_items WHERE id = $1");
        let row: Option<ItemRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        row.map(ItemRow::into_item).transpose()
    }

    /// Notices with one of the statuses, oldest first (what a delivery run sends).
    pub async fn notices_with_status(
        &self,
        statuses: &[&str],
        limit: i64,
    ) -> Result<Vec<NoticeRecord>, StoreError> {
        let marks = (0..statuses.len())
            .map(|i| format!("${}", i + 2))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE status IN ({marks}) ORDER BY created_at, id LIMIT $1"
        );
        let rows: Vec<NoticeRow> = on_pool!(self, |pool| {
            let mut q =
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(limit.clamp(1, 10_000));
            for s in statuses {
                q = q.bind(*s);
            }
            q.fetch_all(pool).await
        })?;
        rows.into_iter().map(NoticeRow::into_notice).collect()
    }

    /// An organisation's open items (its queue), newest first.
    pub async fn feed_items_of(&self, org: OrgId, limit: i64) -> Result<Vec<FeedItem>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM feed_items WHERE owner_org = $1 AND status = 'open' \
             ORDER BY last_seen DESC, id DESC LIMIT $2"
        );
        let rows: Vec<ItemRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(org.to_string())
        .bind(limit.clamp(1, 1000))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(ItemRow::into_item).collect()
    }

    /// Open items no member owns: the review queue, newest first.
    pub async fn feed_review_queue(&self, limit: i64) -> Result<Vec<FeedItem>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM feed_items WHERE owner_org IS NULL AND status = 'open' \
             ORDER BY last_seen DESC, id DESC LIMIT $1"
        );
        let rows: Vec<ItemRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(limit.clamp(1, 1000))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(ItemRow::into_item).collect()
    }

    /// Stores a queued notice with its items (which count as notified now: once per `now`, so
    /// the same items in a notice per contact language count once) under a token from
    /// [`new_ack_token`], kept only as a hash.
    pub async fn create_notice(
        &self,
        n: &NewNotice,
        ack_token: &str,
        now: i64,
    ) -> Result<NoticeRecord, StoreError> {
        if !NOTICE_CHANNELS.contains(&n.channel.as_str()) {
            return Err(StoreError::Invalid(format!(
                "notice channel {:?}: use one of {}",
                n.channel,
                NOTICE_CHANNELS.join(", ")
            )));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let token = ack_token;
        on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                sqlx::query(
                    "INSERT INTO notices (id, org_id, kind, lang, recipients, subject, body, csv_name, csv, items, \
                     status, ack_token_hash, escalated, created_at, channel, payload) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'queued',$11,$12,$13,$14,$15)",
                )
                .bind(&id)
                .bind(n.org_id.to_string())
                .bind(&n.kind)
                .bind(&n.lang)
                .bind(n.recipients.join("\n"))
                .bind(&n.subject)
                .bind(&n.body)
                .bind(&n.csv_name)
                .bind(&n.csv)
                .bind(n.item_ids.len() as i64)
                .bind(secret::hash(token))
                .bind(i64::from(n.escalated))
                .bind(now)
                .bind(&n.channel)
                .bind(&n.payload)
                .execute(&mut *tx)
                .await?;
                for chunk in n.item_ids.chunks(ITEMS_PER_STATEMENT) {
                    let mut q =
                        sqlx::QueryBuilder::new("INSERT INTO notice_items (notice_id, item_id) ");
                    q.push_values(chunk, |mut row, item| {
                        row.push_bind(&id).push_bind(item);
                    });
                    q.build().execute(&mut *tx).await?;
                    let mut q = sqlx::QueryBuilder::new(
                        "UPDATE feed_items SET notify_count = notify_count + CASE WHEN notified_at = ",
                    );
                    q.push_bind(now)
                        .push(" THEN 0 ELSE 1 END, notified_at = ")
                        .push_bind(now)
                        .push(" WHERE id IN (");
                    let mut ids = q.separated(", ");
                    for item in chunk {
                        ids.push_bind(item);
                    }
                    ids.push_unseparated(")");
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await
            }
            .await
        })?;
        self.notice(&id)
            .await?
            .ok_or_else(|| StoreError::corrupt("notices", "created notice not found"))
    }

    /// Sets a notice's status (one of [`NOTICE_STATUSES`]), with the error for `failed`.
    pub async fn set_notice_status(
        &self,
        id: &str,
        status: &str,
        error: Option<&str>,
        now: i64,
    ) -> Result<NoticeRecord, StoreError> {
        if !NOTICE_STATUSES.contains(&status) {
            return Err(StoreError::Invalid(format!(
                "notice status {status:?}: use one of {}",
                NOTICE_STATUSES.join(", ")
            )));
        }
        let n = on_pool!(self, |pool| sqlx::query(
            "UPDATE notices SET status = $2, error = $3, \
             sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END, \
             acked_at = CASE WHEN $2 = 'acknowledged' THEN $4 ELSE acked_at END, \
             remediated_at = CASE WHEN $2 = 'remediated' THEN $4 ELSE remediated_at END \
             WHERE id = $1"
        )
        .bind(id)
        .bind(status)
        .bind(error)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound("notice"));
        }
        self.notice(id).await?.ok_or(StoreError::NotFound("notice"))
    }

    /// Records a delivery attempt: `sent`, or `failed` with the error and when to try again
    /// (`retry_at`). Counts the attempt either way.
    pub async fn record_delivery(
        &self,
        id: &str,
        result: Result<(), &str>,
        now: i64,
        retry_at: i64,
    ) -> Result<NoticeRecord, StoreError> {
        let (status, error, next) = match result {
            Ok(()) => ("sent", None, None),
            Err(e) => ("failed", Some(e), Some(retry_at)),
        };
        let n = on_pool!(self, |pool| {
            sqlx::query(
            "UPDATE notices SET status = $2, error = $3, attempts = attempts + 1, next_attempt_at = $5, \
             sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END WHERE id = $1"
        )
        .bind(id)
        .bind(status)
        .bind(error)
        .bind(now)
        .bind(next)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        if n == 0 {
            return Err(StoreError::NotFound("notice"));
        }
        self.notice(id).await?.ok_or(StoreError::NotFound("notice"))
    }

    /// Failed notices due for another attempt (`next_attempt_at` reached), oldest first.
    pub async fn notices_due_for_retry(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<NoticeRecord>, StoreError> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE status = 'failed' \
             AND (next_attempt_at IS NULL OR next_attempt_at <= $1) ORDER BY created_at, id LIMIT $2"
        );
        let rows: Vec<NoticeRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(now)
        .bind(limit.clamp(1, 10_000))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(NoticeRow::into_notice).collect()
    }

    /// Acknowledges the notice the token belongs to (a sent or bounced notice becomes
    /// acknowledged; later states stay). `None` for an unknown token.
    pub async fn acknowledge_notice(
        &self,
        token: &str,
        now: i64,
    ) -> Result<Option<NoticeRecord>, StoreError> {
        let hash = secret::hash(token);
        let row: Option<(String,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT id FROM notices WHERE ack_token_hash = $1"
        )
        .bind(&hash)
        .fetch_optional(pool)
        .await)?;
        let Some((id,)) = row else { return Ok(None) };
        on_pool!(self, |pool| sqlx::query(
            "UPDATE notices SET status = 'acknowledged', acked_at = COALESCE(acked_at, $2) \
             WHERE id = $1 AND status IN ('queued', 'sent', 'bounced', 'failed')"
        )
        .bind(&id)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        self.notice(&id).await
    }

    /// One notice.
    pub async fn notice(&self, id: &str) -> Result<Option<NoticeRecord>, StoreError> {
        let sql = format!("SELECT {NOTICE_COLUMNS} FROM notices WHERE id = $1");
        let row: Option<NoticeRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        row.map(NoticeRow::into_notice).transpose()
    }

    /// A notice's CSV attachment.
    pub async fn notice_csv(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT csv FROM notices WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|r| r.0))
    }

    /// What a webhook notice posts (`None` for e-mail notices).
    pub async fn notice_payload(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(Option<String>,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT payload FROM notices WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.and_then(|r| r.0))
    }

    /// Notices, newest first (of one organisation, or all).
    pub async fn list_notices(
        &self,
        org: Option<OrgId>,
        limit: i64,
    ) -> Result<Vec<NoticeRecord>, StoreError> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notices WHERE $1 = '' OR org_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows: Vec<NoticeRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(org.map(|o| o.to_string()).unwrap_or_default())
        .bind(limit.clamp(1, 1000))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(NoticeRow::into_notice).collect()
    }
}

/// A feed collector's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct FeedSource {
    pub name: String,
    /// The URL or drop directory.
    pub location: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_run: Option<i64>,
    /// `fetched`, `not-modified`, `failed`.
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub last_items: Option<i64>,
    /// Where the next run starts, for sources read incrementally (a TAXII collection's
    /// `added_after`).
    pub position: Option<String>,
}

impl Store {
    /// A collector's state (`None` before its first run).
    pub async fn feed_source(&self, name: &str) -> Result<Option<FeedSource>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT name, location, etag, last_modified, last_run, last_status, last_error, last_items, \
             position FROM feed_sources WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await
        })?)
    }

    /// Every collector's state, by name.
    pub async fn feed_sources(&self) -> Result<Vec<FeedSource>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT name, location, etag, last_modified, last_run, last_status, last_error, last_items, \
             position FROM feed_sources ORDER BY name"
        )
        .fetch_all(pool)
        .await
        })?)
    }

    /// Records a collector run.
    pub async fn save_feed_source(&self, s: &FeedSource) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO feed_sources (name, location, etag, last_modified, last_run, last_status, last_error, last_items, position) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (name) DO UPDATE SET location = excluded.location, \
             etag = excluded.etag, last_modified = excluded.last_modified, last_run = excluded.last_run, \
             last_status = excluded.last_status, last_error = excluded.last_error, last_items = excluded.last_items, \
             position = excluded.position"
        )
        .bind(&s.name)
        .bind(&s.location)
        .bind(&s.etag)
        .bind(&s.last_modified)
        .bind(s.last_run)
        .bind(&s.last_status)
        .bind(&s.last_error)
        .bind(s.last_items)
        .bind(&s.position)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }
}
