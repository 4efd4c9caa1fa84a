//! One ingested batch, committed in one transaction: its events (with the search text), dead
//! letters, the alerts its detections raise or extend, the sightings of shared indicators,
//! and the cross-organisation correlation over those sightings. A batch is keyed by its source
//! and batch id, so a retried or redelivered batch is recognised and stores nothing twice:
//! that, and the transaction, is what makes at-least-once delivery exactly-once in storage.
//!
//! Cross-event state lives in `correlation_observations`: base matches of Sigma correlation
//! rules, and events that satisfied a leaf of a STIX pattern's cross-event part (under
//! `corr_id` = [`PATTERN_OBSERVATION_PREFIX`] + the pattern's sighting value, `value` = the
//! observation's objects as JSON). Both are evaluated here, inside the batch's transaction,
//! by evaluators the caller passes ([`Evaluators`]).

use std::collections::HashMap;

use mamori_model::OrgId;

use crate::BeginWrite;
use crate::{Backend, Store, StoreError, now_millis, on_pool};

/// Largest number of evidence events copied into one alert.
pub const MAX_EVIDENCE: i64 = 20;

/// Prefix of the `corr_id` STIX pattern observations are stored under.
pub const PATTERN_OBSERVATION_PREFIX: &str = "stix-pattern:";

/// Most stored observations (the latest) a cross-event pattern is evaluated over per batch;
/// bounds the evaluator's work when a leaf is common.
pub const MAX_PATTERN_ROWS: i64 = 2_000;

/// Rows per multi-row INSERT (SQLite allows 32,766 parameters per statement).
const ROWS_PER_INSERT: usize = 2_000;
/// Sightings per insert (9 parameters each), and values per cross-organisation query.
const SIGHTINGS_PER_INSERT: usize = 1_000;
/// Detection sightings of one value by one organisation within one such span (an hour) share
/// one row: counts add up, the latest time is kept.
pub const SIGHTING_BUCKET_MS: i64 = 3_600_000;
/// Alerts per upsert statement (15 parameters each).
const ALERTS_PER_UPSERT: usize = 500;

/// Inserts one [`crate::blocks::EventBlock`] (and, on SQLite, its full-text row) through an
/// executor of either backend.
macro_rules! insert_block {
    ($tx:expr, $backend:expr, $org:expr, $source:expr, $received_at:expr, $block:expr) => {{
        let block: &$crate::blocks::EventBlock = $block;
        match $backend {
            $crate::Backend::Sqlite => {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO event_blocks (org_id, source, received_at, ts_min, ts_max, count, data) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING id",
                )
                .bind($org)
                .bind($source)
                .bind($received_at)
                .bind(block.ts_min)
                .bind(block.ts_max)
                .bind(block.count)
                .bind(&block.data)
                .fetch_one(&mut *$tx)
                .await?;
                sqlx::query("INSERT INTO event_blocks_fts (rowid, terms) VALUES ($1,$2)")
                    .bind(id)
                    .bind(&block.terms)
                    .execute(&mut *$tx)
                    .await?;
            }
            $crate::Backend::Postgres => {
                sqlx::query(
                    "INSERT INTO event_blocks (org_id, source, received_at, ts_min, ts_max, count, data, terms) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7, array_to_tsvector(string_to_array($8, ' ')))",
                )
                .bind($org)
                .bind($source)
                .bind($received_at)
                .bind(block.ts_min)
                .bind(block.ts_max)
                .bind(block.count)
                .bind(&block.data)
                .bind(&block.terms)
                .execute(&mut *$tx)
                .await?;
            }
        }
    }};
}
pub(crate) use insert_block;

/// An event ready to store.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    /// Event time, ms since the epoch.
    pub ts: i64,
    pub dataset: Option<String>,
    pub host: Option<String>,
    pub source_ip: Option<String>,
    pub destination_ip: Option<String>,
    pub user_name: Option<String>,
    /// The event as a flat JSON object (dotted ECS keys).
    pub doc: String,
    /// Every string and number value, for word search, each followed by
    /// [`crate::blocks::TEXT_SEP`] (a block indexes a repeated long value once).
    pub text: String,
    /// [`crate::blocks::field_hash`] of every scalar top-level field of `doc`, so exact field
    /// filters can find the event's block; `None`: computed from `doc` when stored.
    pub field_hashes: Option<Vec<u64>>,
}

/// A line that could not be parsed, kept with the reason.
#[derive(Debug, Clone)]
pub struct NewDeadLetter {
    /// Where it came from (file:line, peer address, batch line number).
    pub origin: String,
    pub reason: String,
    pub text: String,
}

/// What one batch's detections contribute to one alert (the same dedup key).
#[derive(Debug, Clone)]
pub struct AlertHit {
    /// Same rule, same host, same window: one alert.
    pub dedup_key: String,
    /// The organisation the alert is routed to.
    pub org_id: OrgId,
    /// How the owner was found: `sensor`, `ip`, `domain`, `unrouted`, `hub`.
    pub route: String,
    /// `sigma`, `ioc` or `correlation`.
    pub kind: String,
    pub rule_id: String,
    pub title: String,
    pub level: String,
    pub host: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub count: i64,
    /// (event time, event JSON), the first few of this batch.
    pub evidence: Vec<(i64, String)>,
}

/// Detections of one shared indicator value in one batch.
#[derive(Debug, Clone)]
pub struct SightingHit {
    pub kind: String,
    pub value: String,
    pub count: i64,
    pub seen_at: i64,
}

/// Cross-organisation correlation: the same indicator seen by at least `min_orgs`
/// organisations within `window_ms` raises one alert for the hub's organisation.
#[derive(Debug, Clone)]
pub struct CrossOrgRule {
    pub min_orgs: i64,
    pub window_ms: i64,
    pub hub_org: OrgId,
}

/// A base match of a rule that a Sigma correlation rule refers to.
#[derive(Debug, Clone)]
pub struct NewObservation {
    /// The correlation's index in the engine's rule set (handed back to the evaluator).
    pub corr_index: usize,
    /// The correlation rule's id (or title when it has none).
    pub corr_id: String,
    /// Its window length.
    pub timespan_ms: i64,
    pub org_id: OrgId,
    /// The group-by values, joined with U+001F.
    pub grp: String,
    pub ts: i64,
    pub rule_pos: i64,
    pub value: Option<String>,
}

/// A stored observation, as the evaluator gets it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ObservationRow {
    pub ts: i64,
    pub rule_pos: i64,
    pub value: Option<String>,
}

/// Evaluates one correlation group over its stored observations in the window around the
/// batch's: `(the batch's observation for the group, all of the group's rows) -> alerts`.
pub type CorrelationEvaluator<'a> =
    &'a (dyn Fn(&NewObservation, &[ObservationRow]) -> Vec<AlertHit> + Sync);

/// An event that satisfied a leaf of a STIX pattern's cross-event part.
#[derive(Debug, Clone)]
pub struct PatternObservation {
    /// The pattern's sighting value (`reports::pattern_sighting_value`).
    pub pattern: String,
    /// The organisation the event's alerts go to: observations combine within it.
    pub org_id: OrgId,
    /// Why they go there (`sensor`, `ip`, `domain`, `unrouted`).
    pub route: String,
    pub ts: i64,
    /// The event's host, if it has one.
    pub host: Option<String>,
    /// The event's observation objects, as JSON.
    pub objects: String,
    /// The window the part is evaluated over.
    pub window_ms: i64,
}

/// What a cross-event pattern match adds to the batch: a sighting of the pattern, and an
/// alert when the organisation may see the indicator.
#[derive(Debug, Clone)]
pub struct PatternMatch {
    pub sighting: SightingHit,
    pub alert: Option<AlertHit>,
}

/// Evaluates a pattern's cross-event part for one organisation:
/// `(the batch's observations, the stored ones in the window before the batch) -> a match
/// the batch completed`.
pub type PatternEvaluator<'a> =
    &'a (dyn Fn(&[&PatternObservation], &[ObservationRow]) -> Option<PatternMatch> + Sync);

/// The evaluators of cross-event state a commit calls.
#[derive(Clone, Copy)]
pub struct Evaluators<'a> {
    pub correlation: CorrelationEvaluator<'a>,
    pub pattern: PatternEvaluator<'a>,
}

impl Evaluators<'_> {
    /// Evaluators that find nothing.
    pub fn none() -> Evaluators<'static> {
        Evaluators {
            correlation: &|_, _| Vec::new(),
            pattern: &|_, _| None,
        }
    }
}

/// A batch to commit.
#[derive(Debug, Clone)]
pub struct IngestBatch {
    /// `sensor:<id>`, `syslog:<listener>`, `user:<id>`.
    pub source: String,
    pub batch_id: String,
    /// The organisation the events belong to.
    pub org_id: OrgId,
    pub events: Vec<NewEvent>,
    /// `events` already encoded (by the caller's CPU pool); when empty, `events` are encoded
    /// at commit. When given, these are stored and `events` is not looked at.
    pub blocks: Vec<crate::blocks::EventBlock>,
    pub dead_letters: Vec<NewDeadLetter>,
    pub alerts: Vec<AlertHit>,
    pub sightings: Vec<SightingHit>,
    pub cross_org: Option<CrossOrgRule>,
    /// Observations for Sigma correlation rules.
    pub observations: Vec<NewObservation>,
    /// Observations for STIX patterns' cross-event parts.
    pub pattern_observations: Vec<PatternObservation>,
}

/// What committing a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BatchOutcome {
    /// The batch had been committed before; nothing was stored now.
    pub duplicate: bool,
    pub accepted: i64,
    pub rejected: i64,
    pub alerts_new: i64,
    pub alerts_updated: i64,
    pub suppressed: i64,
    pub correlations: i64,
}

impl Store {
    /// Commits a batch in one transaction; see the module documentation.
    pub async fn commit_batch(&self, b: &IngestBatch) -> Result<BatchOutcome, StoreError> {
        self.commit_batch_with(b, Evaluators::none()).await
    }

    /// Commits a batch, evaluating Sigma correlations and STIX patterns' cross-event parts
    /// over the stored observations of every group the batch adds to (inside the
    /// transaction, so all workers see the same state).
    pub async fn commit_batch_with(
        &self,
        b: &IngestBatch,
        evaluators: Evaluators<'_>,
    ) -> Result<BatchOutcome, StoreError> {
        let evaluate = evaluators.correlation;
        let blocks: std::borrow::Cow<'_, [crate::blocks::EventBlock]> =
            if b.blocks.is_empty() && !b.events.is_empty() {
                std::borrow::Cow::Owned(crate::blocks::encode(&b.events)?)
            } else {
                std::borrow::Cow::Borrowed(&b.blocks)
            };
        if self.backend() == Backend::Postgres {
            self.ensure_event_partitions(blocks.iter().map(|e| e.ts_max))
                .await?;
        }
        let backend = self.backend();
        let now = now_millis();
        let mut out = BatchOutcome {
            accepted: blocks.iter().map(|b| b.count).sum(),
            rejected: b.dead_letters.len() as i64,
            ..BatchOutcome::default()
        };
        let org = b.org_id.to_string();
        let r: Result<(), sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                let fresh = sqlx::query(
                    "INSERT INTO ingest_batches (source, batch_id, org_id, received_at, accepted, rejected) \
                     VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING",
                )
                .bind(&b.source)
                .bind(&b.batch_id)
                .bind(&org)
                .bind(now)
                .bind(out.accepted)
                .bind(out.rejected)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !fresh {
                    out.duplicate = true;
                    return tx.rollback().await;
                }
                // The batch's own rows first: they conflict with no other batch, so two
                // workers write them at the same time. Only then the locks (below), which
                // serialise workers touching the same values and alerts until commit.
                for block in blocks.iter() {
                    insert_block!(tx, backend, &org, &b.source, now, block);
                }
                for chunk in b.dead_letters.chunks(ROWS_PER_INSERT) {
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO dead_letters (org_id, source, received_at, origin, reason, text) ",
                    );
                    q.push_values(chunk, |mut row, d| {
                        row.push_bind(&org)
                            .push_bind(&b.source)
                            .push_bind(now)
                            .push_bind(&d.origin)
                            .push_bind(&d.reason)
                            .push_bind(&d.text);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                if backend == Backend::Postgres {
                    // Every lock this commit needs, taken now and in one global order, so two
                    // workers never wait on each other's (see `lock_keys`).
                    for key in lock_keys(b) {
                        sqlx::query("SELECT pg_advisory_xact_lock($1)")
                            .bind(key)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let mut alerts: Vec<AlertHit> = b.alerts.clone();
                // STIX patterns' cross-event parts: per pattern and organisation, the stored
                // observations before the batch's, then the batch's stored too. A match is
                // reported only when the batch completes one (none before it in the window).
                let mut pattern_sightings: Vec<SightingHit> = Vec::new();
                let mut pattern_groups: Vec<Vec<&PatternObservation>> = Vec::new();
                for o in &b.pattern_observations {
                    match pattern_groups.iter_mut().find(|g| g[0].pattern == o.pattern && g[0].org_id == o.org_id) {
                        Some(g) => g.push(o),
                        None => pattern_groups.push(vec![o]),
                    }
                }
                for g in &pattern_groups {
                    let first = g[0];
                    let corr_id = format!("{PATTERN_OBSERVATION_PREFIX}{}", first.pattern);
                    let org_s = first.org_id.to_string();
                    let (lo, hi) = g.iter().fold((i64::MAX, i64::MIN), |(lo, hi), o| (lo.min(o.ts), hi.max(o.ts)));
                    let mut rows: Vec<ObservationRow> = sqlx::query_as(
                        "SELECT ts, rule_pos, value FROM correlation_observations \
                         WHERE corr_id = $1 AND org_id = $2 AND grp = '' AND ts >= $3 AND ts <= $4 \
                         ORDER BY ts DESC LIMIT $5",
                    )
                    .bind(&corr_id)
                    .bind(&org_s)
                    .bind(lo.saturating_sub(first.window_ms))
                    .bind(hi.saturating_add(first.window_ms))
                    .bind(MAX_PATTERN_ROWS)
                    .fetch_all(&mut *tx)
                    .await?;
                    rows.reverse();
                    if let Some(m) = (evaluators.pattern)(g, &rows) {
                        out.correlations += 1;
                        pattern_sightings.push(m.sighting);
                        alerts.extend(m.alert);
                    }
                    for chunk in g.chunks(ROWS_PER_INSERT) {
                        let mut q = sqlx::QueryBuilder::new(
                            "INSERT INTO correlation_observations (corr_id, org_id, grp, ts, rule_pos, value) ",
                        );
                        q.push_values(chunk, |mut row, o| {
                            row.push_bind(&corr_id)
                                .push_bind(&org_s)
                                .push_bind("")
                                .push_bind(o.ts)
                                .push_bind(0_i64)
                                .push_bind(&o.objects);
                        });
                        q.build().execute(&mut *tx).await?;
                    }
                }
                // The batch's sightings in multi-row inserts, then, for the cross-organisation
                // rule, one query for the organisations that sighted each value lately (an
                // organisation counts for a sighting when its latest sighting of the value is
                // within the window before that sighting: the same as asking per sighting).
                let sightings: Vec<&SightingHit> =
                    b.sightings.iter().chain(&pattern_sightings).collect();
                let rows = sighting_rows(&sightings);
                for chunk in rows.chunks(SIGHTINGS_PER_INSERT) {
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO sightings (id, kind, value, org_id, source, count, seen_at, created_at, bucket) ",
                    );
                    q.push_values(chunk, |mut row, s| {
                        row.push_bind(uuid::Uuid::now_v7().to_string())
                            .push_bind(s.kind)
                            .push_bind(s.value)
                            .push_bind(&org)
                            .push_bind("detection")
                            .push_bind(s.count)
                            .push_bind(s.seen_at)
                            .push_bind(now)
                            .push_bind(s.bucket);
                    });
                    q.push(
                        " ON CONFLICT (kind, value, org_id, bucket) WHERE bucket IS NOT NULL \
                         DO UPDATE SET count = sightings.count + excluded.count, \
                         seen_at = CASE WHEN excluded.seen_at > sightings.seen_at \
                         THEN excluded.seen_at ELSE sightings.seen_at END",
                    );
                    q.build().execute(&mut *tx).await?;
                }
                if let Some(rule) = &b.cross_org
                    && !sightings.is_empty()
                {
                    let since = sightings.iter().map(|s| s.seen_at).min().unwrap_or(0) - rule.window_ms;
                    // The distinct values, sorted: the rows are sorted by value already.
                    let mut pairs: Vec<(&str, &str)> = rows.iter().map(|r| (r.kind, r.value)).collect();
                    pairs.dedup();
                    // Per distinct value (as `pairs` orders them): (organisation, latest sighting).
                    let mut latest: Vec<Vec<(String, i64)>> = vec![Vec::new(); pairs.len()];
                    for chunk in pairs.chunks(SIGHTINGS_PER_INSERT) {
                        let mut q = sqlx::QueryBuilder::new(
                            "SELECT kind, value, org_id, MAX(seen_at) FROM sightings \
                             WHERE source = 'detection' AND seen_at >= ",
                        );
                        q.push_bind(since).push(" AND (kind, value) IN (");
                        let mut sep = q.separated(", ");
                        for (kind, value) in chunk {
                            sep.push("(")
                                .push_bind_unseparated(*kind)
                                .push_unseparated(", ")
                                .push_bind_unseparated(*value)
                                .push_unseparated(")");
                        }
                        q.push(") GROUP BY kind, value, org_id");
                        let rows: Vec<(String, String, String, i64)> =
                            q.build_query_as().fetch_all(&mut *tx).await?;
                        for (kind, value, org_id, seen) in rows {
                            if let Ok(i) = pairs.binary_search(&(kind.as_str(), value.as_str())) {
                                latest[i].push((org_id, seen));
                            }
                        }
                    }
                    for s in &sightings {
                        let since = s.seen_at - rule.window_ms;
                        let mut orgs: Vec<&str> = pairs
                            .binary_search(&(s.kind.as_str(), s.value.as_str()))
                            .ok()
                            .and_then(|i| latest.get(i))
                            .into_iter()
                            .flatten()
                            .filter(|(_, seen)| *seen >= since)
                            .map(|(o, _)| o.as_str())
                            .collect();
                        orgs.sort_unstable();
                        if (orgs.len() as i64) < rule.min_orgs {
                            continue;
                        }
                        out.correlations += 1;
                        let bucket = s.seen_at / rule.window_ms.max(1);
                        alerts.push(AlertHit {
                            dedup_key: format!("xorg|{}|{}|{bucket}", s.kind, s.value),
                            org_id: rule.hub_org,
                            route: "hub".into(),
                            kind: "correlation".into(),
                            rule_id: format!("xorg:{}", s.kind),
                            title: format!(
                                "{} {} seen at {} organisations within {} min",
                                s.kind,
                                s.value,
                                orgs.len(),
                                rule.window_ms / 60_000
                            ),
                            level: "high".into(),
                            host: "*".into(),
                            first_seen: s.seen_at,
                            last_seen: s.seen_at,
                            count: orgs.len() as i64,
                            evidence: vec![(
                                s.seen_at,
                                serde_json::json!({"indicator.type": s.kind, "indicator.value": s.value, "organizations": orgs}).to_string(),
                            )],
                        });
                    }
                }
                // Sigma correlations: store the observations, then evaluate each group touched.
                for chunk in b.observations.chunks(ROWS_PER_INSERT) {
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO correlation_observations (corr_id, org_id, grp, ts, rule_pos, value) ",
                    );
                    q.push_values(chunk, |mut row, o| {
                        row.push_bind(&o.corr_id)
                            .push_bind(o.org_id.to_string())
                            .push_bind(&o.grp)
                            .push_bind(o.ts)
                            .push_bind(o.rule_pos)
                            .push_bind(&o.value);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                let mut groups: Vec<&NewObservation> = Vec::new();
                for o in &b.observations {
                    if !groups.iter().any(|g| g.corr_id == o.corr_id && g.org_id == o.org_id && g.grp == o.grp) {
                        groups.push(o);
                    }
                }
                for g in groups {
                    let (lo, hi) = b
                        .observations
                        .iter()
                        .filter(|o| o.corr_id == g.corr_id && o.org_id == g.org_id && o.grp == g.grp)
                        .fold((i64::MAX, i64::MIN), |(lo, hi), o| (lo.min(o.ts), hi.max(o.ts)));
                    let rows: Vec<ObservationRow> = sqlx::query_as(
                        "SELECT ts, rule_pos, value FROM correlation_observations \
                         WHERE corr_id = $1 AND org_id = $2 AND grp = $3 AND ts >= $4 AND ts <= $5 ORDER BY ts",
                    )
                    .bind(&g.corr_id)
                    .bind(g.org_id.to_string())
                    .bind(&g.grp)
                    .bind(lo.saturating_sub(g.timespan_ms))
                    .bind(hi.saturating_add(g.timespan_ms))
                    .fetch_all(&mut *tx)
                    .await?;
                    let hits = evaluate(g, &rows);
                    out.correlations += hits.len() as i64;
                    alerts.extend(hits);
                }
                // Suppressions of the organisations concerned, in one query.
                let mut suppressions: Vec<(String, String, String)> = Vec::new();
                if !alerts.is_empty() {
                    let mut orgs: Vec<String> = alerts.iter().map(|a| a.org_id.to_string()).collect();
                    orgs.sort();
                    orgs.dedup();
                    let mut q = sqlx::QueryBuilder::new(
                        "SELECT org_id, rule_id, host FROM alert_suppressions WHERE org_id IN (",
                    );
                    let mut sep = q.separated(", ");
                    for o in &orgs {
                        sep.push_bind(o.clone());
                    }
                    q.push(")");
                    suppressions = q.build_query_as().fetch_all(&mut *tx).await?;
                }
                let mut evidence: Vec<(String, i64, i64, &str)> = Vec::new();
                // Rows are locked in one global order, so that two workers extending the same
                // alerts never deadlock: alerts by dedup key, then suppressions by their key.
                alerts.sort_by(|x, y| x.dedup_key.cmp(&y.dedup_key));
                let mut suppressed_hits: std::collections::BTreeMap<(String, String, String), i64> =
                    std::collections::BTreeMap::new();
                let mut kept: Vec<&AlertHit> = Vec::with_capacity(alerts.len());
                for a in &alerts {
                    let org_s = a.org_id.to_string();
                    let suppressed = suppressions.iter().find(|(o, r, h)| {
                        *o == org_s && *r == a.rule_id && (*h == a.host || h == "*")
                    });
                    match suppressed {
                        Some((_, _, host)) => {
                            out.suppressed += 1;
                            *suppressed_hits
                                .entry((org_s, a.rule_id.clone(), host.clone()))
                                .or_default() += a.count;
                        }
                        None => kept.push(a),
                    }
                }
                // Many alerts per statement (one round trip each was most of a commit's
                // statements), in dedup-key order; a statement never holds a key twice, so
                // two hits of one alert apply one after the other as before.
                let mut rest = kept.as_slice();
                while !rest.is_empty() {
                    let mut n = 1;
                    while n < rest.len()
                        && n < ALERTS_PER_UPSERT
                        && rest[n].dedup_key != rest[n - 1].dedup_key
                    {
                        n += 1;
                    }
                    let (chunk, after) = rest.split_at(n);
                    rest = after;
                    let ids: Vec<String> =
                        chunk.iter().map(|_| uuid::Uuid::now_v7().to_string()).collect();
                    let mut q = sqlx::QueryBuilder::new(
                        "INSERT INTO alerts (id, dedup_key, org_id, route, kind, rule_id, title, level, host, \
                         first_seen, last_seen, event_count, status, created_at, modified_at) ",
                    );
                    q.push_values(chunk.iter().zip(&ids), |mut row, (a, id)| {
                        row.push_bind(id)
                            .push_bind(&a.dedup_key)
                            .push_bind(a.org_id.to_string())
                            .push_bind(&a.route)
                            .push_bind(&a.kind)
                            .push_bind(&a.rule_id)
                            .push_bind(&a.title)
                            .push_bind(&a.level)
                            .push_bind(&a.host)
                            .push_bind(a.first_seen)
                            .push_bind(a.last_seen)
                            .push_bind(a.count)
                            .push_bind("new")
                            .push_bind(now)
                            .push_bind(now);
                    });
                    q.push(
                        " ON CONFLICT (dedup_key) DO UPDATE SET \
                           first_seen = CASE WHEN excluded.first_seen < alerts.first_seen THEN excluded.first_seen ELSE alerts.first_seen END, \
                           last_seen = CASE WHEN excluded.last_seen > alerts.last_seen THEN excluded.last_seen ELSE alerts.last_seen END, \
                           event_count = CASE WHEN excluded.kind = 'correlation' \
                             THEN (CASE WHEN excluded.event_count > alerts.event_count THEN excluded.event_count ELSE alerts.event_count END) \
                             ELSE alerts.event_count + excluded.event_count END, \
                           title = excluded.title, \
                           modified_at = excluded.modified_at \
                         RETURNING dedup_key, id, event_count",
                    );
                    let stored: HashMap<String, (String, i64)> = q
                        .build_query_as::<(String, String, i64)>()
                        .fetch_all(&mut *tx)
                        .await?
                        .into_iter()
                        .map(|(key, id, total)| (key, (id, total)))
                        .collect();
                    for (a, id) in chunk.iter().zip(&ids) {
                        let Some((got, total)) = stored.get(&a.dedup_key) else {
                            return Err(sqlx::Error::Protocol(format!(
                                "the upsert of alert {} returned no row",
                                a.dedup_key
                            )));
                        };
                        if got == id {
                            out.alerts_new += 1;
                        } else {
                            out.alerts_updated += 1;
                        }
                        // Evidence numbered by the alert's event count before this batch:
                        // unique, and at most MAX_EVIDENCE rows per alert without reading
                        // them back.
                        let before = if a.kind == "correlation" {
                            // Max semantics: evidence only when the alert is new.
                            if got == id { 0 } else { MAX_EVIDENCE }
                        } else {
                            total - a.count
                        };
                        for (k, (ts, doc)) in a.evidence.iter().enumerate() {
                            let seq = before + k as i64;
                            if seq >= MAX_EVIDENCE {
                                break;
                            }
                            evidence.push((got.clone(), seq, *ts, doc.as_str()));
                        }
                    }
                }
                for ((org_s, rule_id, host), hits) in &suppressed_hits {
                    sqlx::query(
                        "UPDATE alert_suppressions SET hits = hits + $1 \
                         WHERE org_id = $2 AND rule_id = $3 AND host = $4",
                    )
                    .bind(hits)
                    .bind(org_s)
                    .bind(rule_id)
                    .bind(host)
                    .execute(&mut *tx)
                    .await?;
                }
                for chunk in evidence.chunks(ROWS_PER_INSERT) {
                    let mut q = sqlx::QueryBuilder::new("INSERT INTO alert_evidence (alert_id, seq, ts, doc) ");
                    q.push_values(chunk, |mut row, (id, seq, ts, doc)| {
                        row.push_bind(id.clone()).push_bind(*seq).push_bind(*ts).push_bind(*doc);
                    });
                    q.build().execute(&mut *tx).await?;
                }
                tx.commit().await
            }
            .await
        });
        r?;
        if out.duplicate {
            out.accepted = 0;
            out.rejected = 0;
        }
        Ok(out)
    }

    /// PostgreSQL: creates the day partitions of `events` for event times near now (a day
    /// back and a day ahead); other times land in the default partition. Concurrent creators
    /// are fine: a lost race is not an error.
    async fn ensure_event_partitions(
        &self,
        times: impl Iterator<Item = i64>,
    ) -> Result<(), StoreError> {
        const DAY: i64 = 86_400_000;
        let crate::Db::Postgres(pool) = self.db() else {
            return Ok(());
        };
        let today = now_millis().div_euclid(DAY);
        let mut days: Vec<i64> = times
            .map(|t| t.div_euclid(DAY))
            .filter(|d| (today - 1..=today + 1).contains(d))
            .collect();
        days.sort_unstable();
        days.dedup();
        for d in days {
            let name = partition_name(d * DAY);
            let exists: Option<(i32,)> =
                sqlx::query_as("SELECT 1 FROM pg_class WHERE relname = $1")
                    .bind(&name)
                    .fetch_optional(pool)
                    .await?;
            if exists.is_some() {
                continue;
            }
            // Integers formatted by us, not input: safe to inline (DDL takes no parameters).
            let ddl = format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF event_blocks FOR VALUES FROM ({}) TO ({})",
                d * DAY,
                (d + 1) * DAY
            );
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(ddl)).execute(pool).await {
                // Rows for that day already in the default partition, or a concurrent
                // creator: the events still go to a valid partition.
                tracing::debug!(partition = %name, error = %e, "event partition not created");
            }
        }
        Ok(())
    }
}

/// The name of the day partition holding `ts`.
pub(crate) fn partition_name(ts: i64) -> String {
    let (y, m, d) = mamori_model::date::civil_date(ts);
    format!("event_blocks_d{y:04}{m:02}{d:02}")
}

/// One detection sightings row: a value's sightings in a batch that fall in one hour.
struct SightingRow<'a> {
    kind: &'a str,
    value: &'a str,
    bucket: i64,
    count: i64,
    seen_at: i64,
}

/// The batch's sightings merged per (kind, value, hour), in that order: an upsert statement
/// must not touch one row twice, and every commit taking the rows' locks in the same order
/// keeps concurrent workers from deadlocking.
fn sighting_rows<'a>(sightings: &[&'a SightingHit]) -> Vec<SightingRow<'a>> {
    let mut rows: Vec<SightingRow<'a>> = sightings
        .iter()
        .map(|s| SightingRow {
            kind: &s.kind,
            value: &s.value,
            bucket: s.seen_at.div_euclid(SIGHTING_BUCKET_MS),
            count: s.count,
            seen_at: s.seen_at,
        })
        .collect();
    rows.sort_unstable_by(|a, b| (a.kind, a.value, a.bucket).cmp(&(b.kind, b.value, b.bucket)));
    rows.dedup_by(|later, kept| {
        let same = (later.kind, later.value, later.bucket) == (kept.kind, kept.value, kept.bucket);
        if same {
            kept.count += later.count;
            kept.seen_at = kept.seen_at.max(later.seen_at);
        }
        same
    });
    rows
}

/// The PostgreSQL advisory locks a batch's commit takes, sorted: one per indicator value it
/// sights when cross-organisation correlation is on (the distinct-organisation count), one
/// per (STIX pattern, organisation) and per (Sigma correlation, organisation, group) it adds
/// observations to (their evaluation). Taken at the start of the transaction in ascending
/// order, they cannot deadlock between workers, whatever order batches list them in; a key
/// is the first 8 bytes of SHA-256 over a tagged text, so kinds of lock never share one.
fn lock_keys(b: &IngestBatch) -> Vec<i64> {
    use sha2::Digest as _;
    let key = |text: String| {
        let d = sha2::Sha256::digest(text.as_bytes());
        let mut eight = [0u8; 8];
        eight.copy_from_slice(&d[..8]);
        i64::from_be_bytes(eight)
    };
    let mut keys: Vec<i64> = Vec::new();
    if b.cross_org.is_some() {
        for s in &b.sightings {
            keys.push(key(format!("sight|{}|{}", s.kind, s.value)));
        }
        // A completed pattern is a sighting of it too.
        for o in &b.pattern_observations {
            keys.push(key(format!(
                "sight|{}|{}",
                crate::reports::PATTERN_SIGHTING_KIND,
                o.pattern
            )));
        }
    }
    for o in &b.pattern_observations {
        keys.push(key(format!("pat|{}|{}", o.pattern, o.org_id)));
    }
    for o in &b.observations {
        keys.push(key(format!("corr|{}|{}|{}", o.corr_id, o.org_id, o.grp)));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

impl Store {
    /// Deletes the stored observations (Sigma correlations' base matches and STIX patterns'
    /// leaves) whose event time is before `before` (ms). Returns how many went.
    pub async fn prune_observations(&self, before: i64) -> Result<u64, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query(
            "DELETE FROM correlation_observations WHERE ts < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn partition_names_are_civil_dates() {
        assert_eq!(super::partition_name(0), "event_blocks_d19700101");
        assert_eq!(
            super::partition_name(1_795_651_200_000),
            "event_blocks_d20261126"
        );
        assert_eq!(super::partition_name(-1), "event_blocks_d19691231");
    }
}
