//! Retro-hunt bookkeeping: which shared indicators have been hunted in the stored events, by
//! which hunt, and how far each hunt got (migration 0017). The hunt itself — reading stored
//! blocks and matching them — is `mamori_pipeline::retro`.
//!
//! An indicator is known by a key (the SHA-256 of what it matches and its marking). The hunt whose insert of a
//! key succeeds owns that indicator: several hub processes on one database never hunt the same
//! indicator twice. The first claim ever made records every indicator then in force under the
//! hunt [`BASELINE`] and hunts none of them (they were shared before retro-hunts existed, or
//! before the first hub process started).

use std::collections::HashSet;

use mamori_model::OrgId;
use serde::Serialize;

use crate::{BeginWrite, Store, StoreError, blocks, on_pool};

/// The hunt that holds the indicators in force when hunting began; it searches nothing.
pub const BASELINE: &str = "baseline";

/// Keys inserted per statement (two bound values each).
const KEYS_PER_INSERT: usize = 500;

/// A hunt about to claim its indicators.
#[derive(Debug, Clone)]
pub struct NewRetroHunt {
    pub id: String,
    /// The process claiming it (for operators: which hub ran the hunt).
    pub claimed_by: String,
    pub now: i64,
    /// Events older than this (event time) are not searched.
    pub from_ts: i64,
    /// Only blocks received up to this time are searched; later ones went through the
    /// stream with the indicator already in force. The bound is inclusive: a batch received
    /// in the millisecond the hunt starts was prepared before its indicators were read, and
    /// missing a past event is worse than counting one twice.
    pub until_received: i64,
}

/// What a claim got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The first claim: these many keys were recorded as the baseline, none is hunted.
    Baseline(usize),
    /// The keys this hunt owns (possibly none: others had them all).
    Claimed(Vec<String>),
}

/// A hunt as operators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct RetroHunt {
    pub id: String,
    pub created_at: i64,
    pub claimed_by: String,
    pub claimed_at: i64,
    /// `None` while it runs (or if its process stopped: another one takes it over).
    pub finished_at: Option<i64>,
    pub from_ts: i64,
    pub until_received: i64,
    /// Indicators it owns.
    pub indicators: i64,
    pub blocks: i64,
    pub events: i64,
    /// Alerts it raised or extended.
    pub alerts: i64,
    /// Sightings it recorded.
    pub sightings: i64,
    /// The last block it finished (it resumes after it when taken over).
    pub last_block: i64,
}

/// What a finished hunt did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetroStats {
    pub blocks: i64,
    pub events: i64,
    pub alerts: i64,
    pub sightings: i64,
}

/// Stored blocks a hunt reads next.
#[derive(Debug, Clone)]
pub struct RetroScan<'a> {
    pub from_ts: i64,
    pub until_received: i64,
    /// Blocks with a larger id only (0 to start).
    pub after_id: i64,
    pub limit: i64,
    /// Only blocks holding every word of at least one group (words as
    /// [`crate::fts::for_each_word`] gives them); `None` reads every block.
    pub narrow: Option<&'a [Vec<String>]>,
}

/// One stored block's events.
#[derive(Debug, Clone)]
pub struct RetroBlock {
    pub id: i64,
    pub org_id: OrgId,
    pub source: String,
    pub received_at: i64,
    /// The events' documents (flat JSON), in stored order.
    pub docs: Vec<String>,
    /// Why the block could not be read (its data is corrupt); `docs` is empty then, and the
    /// hunt goes on with the next block.
    pub unreadable: Option<String>,
}

#[derive(sqlx::FromRow)]
struct BlockRow {
    id: i64,
    org_id: String,
    source: String,
    received_at: i64,
    data: Vec<u8>,
}

/// The key an indicator is claimed by: the SHA-256 of what it matches and the marking it is
/// shared under. The same value shared again under another marking (AMBER first, CLEAR later)
/// is a new key, hunted for the organisations the new marking admits.
pub fn indicator_key(d: &crate::reports::DetectionIndicator) -> String {
    use sha2::Digest as _;
    let what = match &d.matches {
        crate::reports::DetectionMatch::Value { kind, value } => format!("value\0{kind}\0{value}"),
        crate::reports::DetectionMatch::Pattern(p) => format!("pattern\0{p}"),
    };
    let m = &d.marking;
    let mut recipients: Vec<String> = m.recipients.iter().map(ToString::to_string).collect();
    recipients.sort_unstable();
    let marking = format!(
        "{}\0{}\0{}\0{}",
        m.tlp.as_str(),
        m.owner_org,
        m.sharing_group.map(|g| g.to_string()).unwrap_or_default(),
        recipients.join(",")
    );
    hex::encode(sha2::Sha256::digest(
        format!("{what}\0{marking}").as_bytes(),
    ))
}

/// A fresh hunt id (UUID v7: ordered by creation).
pub fn new_hunt_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether a word can be put into an FTS5 or tsquery term between quotes as it is.
fn plain_word(w: &str) -> bool {
    !w.is_empty() && w.chars().all(char::is_alphanumeric)
}

impl Store {
    /// Every key already claimed (by a hunt or the baseline).
    pub async fn retro_hunted_keys(&self) -> Result<HashSet<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT key FROM retro_hunt_values"
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    /// Claims the keys not claimed yet for a new hunt, in one transaction (keys in sorted
    /// order, so concurrent claims cannot deadlock). The very first claim records them all as
    /// the baseline instead.
    pub async fn claim_retro_hunt(
        &self,
        hunt: &NewRetroHunt,
        keys: &[String],
    ) -> Result<Claim, StoreError> {
        let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        keys.sort_unstable();
        keys.dedup();
        Ok(on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let baseline = sqlx::query(
                "INSERT INTO retro_hunts (id, created_at, claimed_by, claimed_at, finished_at, \
                 from_ts, until_received, indicators) VALUES ($1, $2, $3, $2, $2, 0, $2, $4) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(BASELINE)
            .bind(hunt.now)
            .bind(&hunt.claimed_by)
            .bind(keys.len() as i64)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let owner = if baseline { BASELINE } else { hunt.id.as_str() };
            if !baseline {
                sqlx::query(
                    "INSERT INTO retro_hunts (id, created_at, claimed_by, claimed_at, from_ts, \
                     until_received, indicators) VALUES ($1, $2, $3, $2, $4, $5, 0)",
                )
                .bind(&hunt.id)
                .bind(hunt.now)
                .bind(&hunt.claimed_by)
                .bind(hunt.from_ts)
                .bind(hunt.until_received)
                .execute(&mut *tx)
                .await?;
            }
            let mut claimed = Vec::new();
            for chunk in keys.chunks(KEYS_PER_INSERT) {
                let mut b =
                    sqlx::QueryBuilder::new("INSERT INTO retro_hunt_values (key, hunt_id) ");
                b.push_values(chunk, |mut row, k| {
                    row.push_bind(*k).push_bind(owner);
                });
                b.push(" ON CONFLICT DO NOTHING RETURNING key");
                let rows: Vec<(String,)> = b.build_query_as().fetch_all(&mut *tx).await?;
                claimed.extend(rows.into_iter().map(|(k,)| k));
            }
            if baseline {
                tx.commit().await?;
                Claim::Baseline(claimed.len())
            } else if claimed.is_empty() {
                tx.rollback().await?;
                Claim::Claimed(claimed)
            } else {
                sqlx::query("UPDATE retro_hunts SET indicators = $1 WHERE id = $2")
                    .bind(claimed.len() as i64)
                    .bind(&hunt.id)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                claimed.sort_unstable();
                Claim::Claimed(claimed)
            }
        }))
    }

    /// Takes over the unfinished hunts last claimed before `stale_before` (their process
    /// stopped): each with the keys it owns.
    pub async fn take_over_retro_hunts(
        &self,
        claimed_by: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<Vec<(RetroHunt, Vec<String>)>, StoreError> {
        let hunts: Vec<RetroHunt> = on_pool!(self, |pool| sqlx::query_as(
            "UPDATE retro_hunts SET claimed_by = $1, claimed_at = $2 \
             WHERE finished_at IS NULL AND claimed_at < $3 \
             RETURNING id, created_at, claimed_by, claimed_at, finished_at, from_ts, \
             until_received, indicators, blocks, events, alerts, sightings, last_block"
        )
        .bind(claimed_by)
        .bind(now)
        .bind(stale_before)
        .fetch_all(pool)
        .await)?;
        let mut out = Vec::with_capacity(hunts.len());
        for h in hunts {
            let keys: Vec<(String,)> = on_pool!(self, |pool| sqlx::query_as(
                "SELECT key FROM retro_hunt_values WHERE hunt_id = $1 ORDER BY key"
            )
            .bind(&h.id)
            .fetch_all(pool)
            .await)?;
            out.push((h, keys.into_iter().map(|(k,)| k).collect()));
        }
        Ok(out)
    }

    /// Keeps a running hunt claimed (so that no other process takes it over) and records
    /// its progress.
    pub async fn retro_hunt_progress(
        &self,
        id: &str,
        now: i64,
        stats: RetroStats,
        last_block: i64,
    ) -> Result<(), StoreError> {
        self.write_retro_stats(id, now, stats, last_block, false)
            .await
    }

    /// Marks a hunt finished with what it did.
    pub async fn finish_retro_hunt(
        &self,
        id: &str,
        now: i64,
        stats: RetroStats,
        last_block: i64,
    ) -> Result<(), StoreError> {
        self.write_retro_stats(id, now, stats, last_block, true)
            .await
    }

    async fn write_retro_stats(
        &self,
        id: &str,
        now: i64,
        s: RetroStats,
        last_block: i64,
        finished: bool,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE retro_hunts SET claimed_at = $1, blocks = $2, events = $3, alerts = $4, \
             sightings = $5, last_block = $6, \
             finished_at = CASE WHEN $7 THEN $1 ELSE finished_at END WHERE id = $8"
        )
        .bind(now)
        .bind(s.blocks)
        .bind(s.events)
        .bind(s.alerts)
        .bind(s.sightings)
        .bind(last_block)
        .bind(finished)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(())
    }

    /// The latest hunts, newest first (the baseline included).
    pub async fn list_retro_hunts(&self, limit: i64) -> Result<Vec<RetroHunt>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT id, created_at, claimed_by, claimed_at, finished_at, from_ts, \
             until_received, indicators, blocks, events, alerts, sightings, last_block \
             FROM retro_hunts ORDER BY created_at DESC, id DESC LIMIT $1"
        )
        .bind(limit.clamp(1, 1000))
        .fetch_all(pool)
        .await)?)
    }

    /// The next stored blocks a hunt reads, by id, decompressed.
    pub async fn retro_blocks(&self, scan: &RetroScan<'_>) -> Result<Vec<RetroBlock>, StoreError> {
        let backend = self.backend();
        // Groups whose words cannot be quoted as they are, or an empty group, read everything.
        let narrow = scan.narrow.filter(|groups| {
            !groups.is_empty()
                && groups
                    .iter()
                    .all(|g| !g.is_empty() && g.iter().all(|w| plain_word(w)))
        });
        let rows: Vec<BlockRow> = on_pool!(self, |pool| {
            let mut b = sqlx::QueryBuilder::new(
                "SELECT b.id, b.org_id, b.source, b.received_at, b.data FROM event_blocks b \
                 WHERE b.id > ",
            );
            b.push_bind(scan.after_id)
                .push(" AND b.ts_max >= ")
                .push_bind(scan.from_ts)
                .push(" AND b.received_at <= ")
                .push_bind(scan.until_received);
            if let Some(groups) = narrow {
                let groups: Vec<(&[String], Option<&str>)> =
                    groups.iter().map(|g| (g.as_slice(), None)).collect();
                let t = blocks::term_condition(backend, &groups);
                b.push(t.before).push_bind(t.query).push(t.after);
            }
            b.push(" ORDER BY b.id LIMIT ")
                .push_bind(scan.limit.clamp(1, 1000));
            b.build_query_as().fetch_all(pool).await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let docs = blocks::decompress(&r.data).and_then(|raw| {
                blocks::records(&raw)
                    .map(|rec| rec.map(|rec| rec.doc.to_owned()))
                    .collect::<Result<Vec<_>, _>>()
            });
            let (docs, unreadable) = match docs {
                Ok(d) => (d, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            };
            out.push(RetroBlock {
                id: r.id,
                org_id: r
                    .org_id
                    .parse()
                    .map_err(|e| StoreError::corrupt("event_blocks.org_id", e))?,
                source: r.source,
                received_at: r.received_at,
                docs,
                unreadable,
            });
        }
        Ok(out)
    }
}
