//! Retro-hunts: when an indicator is shared, the events stored before it arrived (within a
//! look-back window) are searched for it, so an intrusion that began before the warning is
//! found too. Matches become sightings and `ioc` alerts exactly as in the stream: the same
//! matcher (`process::prepare_with` with an engine holding only the new indicators), the same
//! routing, the same visibility policy and the same alert keys, so an alert the stream later
//! extends is the same alert.
//!
//! Which indicators are new is decided in the store ([`mamori_store::retro`]): the hunt that
//! claims an indicator's key owns it, so several hub processes never hunt one twice, and a
//! hunt whose process stopped is taken over by another one and resumes where it stopped
//! (each block is committed as its own batch, which the store refuses to apply twice).
//! Indicators in force when hunting first starts form the baseline and are not hunted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use mamori_model::{Marking, ValueKind};
use mamori_store::now_millis;
use mamori_store::reports::{DetectionIndicator, DetectionMatch};
use mamori_store::retro::{
    BASELINE, Claim, NewRetroHunt, RetroBlock, RetroScan, RetroStats, indicator_key, new_hunt_id,
};

use crate::engine::{Engine, Indicators};
use crate::{BatchHeader, Pipeline, PipelineError, RawBatch, Routing};

/// Blocks read per round trip.
const BLOCKS_PER_READ: i64 = 8;
/// A hunt not heard of for this long (its process stopped) is taken over.
const STALE_MS: i64 = 10 * 60_000;
/// Above this many indicators a hunt reads every block in the window instead of asking the
/// block index for each indicator's words.
const MAX_NARROWED: usize = 64;

/// What one hunt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuntReport {
    pub id: String,
    pub indicators: usize,
    pub stats: RetroStats,
}

/// One hunt to run: its indicators and where it starts.
struct Plan {
    id: String,
    indicators: Vec<DetectionIndicator>,
    /// Per value, the markings it was in force under before this hunt's.
    prior: HashMap<String, Vec<Marking>>,
    from_ts: i64,
    until_received: i64,
    /// Counts so far, and the last block done (0: none), when a hunt is taken over.
    stats: RetroStats,
    after_id: i64,
}

/// Each indicator in force with its claim key, computed once per round.
fn keyed(list: Vec<DetectionIndicator>) -> Vec<(String, DetectionIndicator)> {
    list.into_iter().map(|d| (indicator_key(&d), d)).collect()
}

/// Runs retro-hunts for one hub process.
#[derive(Debug)]
pub struct RetroHunter {
    pipeline: Arc<Pipeline>,
    /// This process, as recorded on the hunts it claims.
    me: String,
    lookback_ms: i64,
    /// Keys known to be claimed already (loaded once, then kept up to date).
    known: tokio::sync::Mutex<Option<HashSet<String>>>,
}

impl RetroHunter {
    /// A hunter searching the last `lookback_ms` of stored events.
    pub fn new(pipeline: Arc<Pipeline>, lookback_ms: i64) -> RetroHunter {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "hub".into());
        RetroHunter {
            pipeline,
            me: format!("{host}:{}", std::process::id()),
            lookback_ms: lookback_ms.max(1),
            known: tokio::sync::Mutex::new(None),
        }
    }

    /// Takes over stalled hunts, then claims and hunts the indicators shared since the last
    /// call. Returns the hunts it ran.
    pub async fn tick(&self) -> Result<Vec<HuntReport>, PipelineError> {
        let mut reports = self.take_over_only().await?;
        let store = self.pipeline.store();
        let now = now_millis();
        let list = keyed(store.detection_indicators(now).await?);
        let mut known = self.known.lock().await;
        // On this process's first round the claim is made even with nothing new: if no
        // process ever claimed, it records the baseline (possibly empty), so that the first
        // indicators shared afterwards are hunted.
        let first_round = known.is_none();
        let known = match &mut *known {
            Some(k) => k,
            None => known.insert(store.retro_hunted_keys().await?),
        };
        let mut keys: Vec<String> = list
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !known.contains(*k))
            .cloned()
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.is_empty() && !first_round {
            return Ok(reports);
        }
        let hunt = self.new_hunt(now);
        let claim = store.claim_retro_hunt(&hunt, &keys).await?;
        // Markings the hunted values were already in force under (hunted or streamed before).
        let prior = prior_marks(
            list.iter()
                .filter(|(k, _)| known.contains(k))
                .map(|(_, d)| d),
        );
        known.extend(keys);
        match claim {
            Claim::Baseline(n) => {
                tracing::info!(
                    indicators = n,
                    "retro-hunt baseline recorded: indicators in force now are not hunted"
                );
            }
            Claim::Claimed(mine) if mine.is_empty() => {}
            Claim::Claimed(mine) => {
                let mine: HashSet<String> = mine.into_iter().collect();
                let plan = Plan {
                    id: hunt.id,
                    indicators: owned(&list, &mine),
                    prior,
                    from_ts: hunt.from_ts,
                    until_received: hunt.until_received,
                    stats: RetroStats::default(),
                    after_id: 0,
                };
                reports.push(self.hunt(plan).await?);
            }
        }
        Ok(reports)
    }

    /// Only takes over stalled hunts (no new claims).
    async fn take_over_only(&self) -> Result<Vec<HuntReport>, PipelineError> {
        let store = self.pipeline.store();
        let now = now_millis();
        let stalled = store
            .take_over_retro_hunts(&self.me, now, now.saturating_sub(STALE_MS))
            .await?;
        if stalled.is_empty() {
            return Ok(Vec::new());
        }
        let list = keyed(store.detection_indicators(now).await?);
        let mut out = Vec::new();
        for (h, keys) in stalled {
            if h.id == BASELINE {
                continue;
            }
            let keys: HashSet<String> = keys.into_iter().collect();
            // Which other markings came before this hunt is not recorded: all are taken as
            // earlier (a taken-over hunt may leave out an organisation another marking shared
            // at the same moment admits; it never counts twice).
            let prior = prior_marks(
                list.iter()
                    .filter(|(k, _)| !keys.contains(k))
                    .map(|(_, d)| d),
            );
            let plan = Plan {
                id: h.id,
                indicators: owned(&list, &keys),
                prior,
                from_ts: h.from_ts,
                until_received: h.until_received,
                stats: RetroStats {
                    blocks: h.blocks,
                    events: h.events,
                    alerts: h.alerts,
                    sightings: h.sightings,
                },
                after_id: h.last_block,
            };
            out.push(self.hunt(plan).await?);
        }
        Ok(out)
    }

    fn new_hunt(&self, now: i64) -> NewRetroHunt {
        NewRetroHunt {
            id: new_hunt_id(),
            claimed_by: self.me.clone(),
            now,
            from_ts: now.saturating_sub(self.lookback_ms),
            until_received: now,
        }
    }

    /// Runs a hunt from where its plan says it got to, and marks it finished.
    async fn hunt(&self, plan: Plan) -> Result<HuntReport, PipelineError> {
        let Plan {
            id,
            indicators: subset,
            prior,
            from_ts,
            until_received,
            mut stats,
            mut after_id,
        } = plan;
        let id = id.as_str();
        let prior = &prior;
        let store = self.pipeline.store();
        let indicators = subset.len();
        let started = std::time::Instant::now();
        if !subset.is_empty() {
            let narrow = narrowing(&subset);
            let settings = self.pipeline.settings().clone();
            let (ind, _) = Indicators::build_with_window(subset, settings.pattern_window_ms);
            let engine = Arc::new(Engine::new(mamori_detect::RulesetBuilder::new().build().0));
            engine.set_indicators(ind);
            loop {
                let blocks = store
                    .retro_blocks(&RetroScan {
                        from_ts,
                        until_received,
                        after_id,
                        limit: BLOCKS_PER_READ,
                        narrow: narrow.as_deref(),
                    })
                    .await?;
                let Some(last) = blocks.last() else { break };
                after_id = last.id;
                let n = blocks.len();
                for b in blocks {
                    if let Some(why) = &b.unreadable {
                        tracing::warn!(hunt = id, block = b.id, error = %why, "retro-hunt: a stored block cannot be read; skipped");
                        continue;
                    }
                    stats.events += b.docs.len() as i64;
                    stats.blocks += 1;
                    let (alerts, sightings) =
                        self.hunt_block(id, &engine, &settings, prior, b).await?;
                    stats.alerts += alerts;
                    stats.sightings += sightings;
                }
                store
                    .retro_hunt_progress(id, now_millis(), stats, after_id)
                    .await?;
                if (n as i64) < BLOCKS_PER_READ {
                    break;
                }
            }
        }
        store
            .finish_retro_hunt(id, now_millis(), stats, after_id)
            .await?;
        tracing::info!(
            hunt = id,
            indicators,
            blocks = stats.blocks,
            events = stats.events,
            alerts = stats.alerts,
            sightings = stats.sightings,
            ms = started.elapsed().as_millis() as u64,
            "retro-hunt finished"
        );
        Ok(HuntReport {
            id: id.to_owned(),
            indicators,
            stats,
        })
    }

    /// Matches one stored block and commits what it found as its own batch. Returns
    /// (alerts raised or extended, sightings recorded).
    async fn hunt_block(
        &self,
        hunt: &str,
        engine: &Arc<Engine>,
        settings: &crate::Settings,
        prior: &HashMap<String, Vec<Marking>>,
        b: RetroBlock,
    ) -> Result<(i64, i64), PipelineError> {
        // Only the hub's own syslog listeners route by address; senders own their events.
        let routing = if b.source.starts_with("syslog:") {
            Routing::Address
        } else {
            Routing::Sensor
        };
        let batch = RawBatch {
            header: BatchHeader {
                source: b.source,
                batch_id: format!("retro:{hunt}:{}", b.id),
                org_id: b.org_id,
                routing,
                format: "json".into(),
                received_at: b.received_at,
            },
            body: b.docs.join("\n").into_bytes(),
        };
        let orgs = self.pipeline.orgs();
        let table = Arc::clone(&orgs);
        let engine = Arc::clone(engine);
        let settings = settings.clone();
        let mut found = tokio::task::spawn_blocking(move || {
            crate::process::prepare_with(&engine, &orgs, &settings, &batch, false)
        })
        .await
        .map_err(|e| PipelineError::Worker(e.to_string()))?;
        // The events are stored already; only what matched is new. Cross-event patterns need
        // the stream's order and are left to it.
        found.events.clear();
        found.blocks.clear();
        found.dead_letters.clear();
        found.observations.clear();
        found.pattern_observations.clear();
        // A value already in force under another marking was counted then (by the stream
        // or an earlier hunt): no second sighting, and alerts only for the organisations
        // that only the new marking admits.
        found.sightings.retain(|s| !prior.contains_key(&s.value));
        found.alerts.retain(|a| {
            match crate::process::ioc_rule_value(&a.rule_id).and_then(|v| prior.get(v)) {
                Some(marks) => {
                    let filter = table.filter(a.org_id);
                    !marks.iter().any(|m| filter.admits(m))
                }
                None => true,
            }
        });
        if found.alerts.is_empty() && found.sightings.is_empty() {
            return Ok((0, 0));
        }
        for a in &mut found.alerts {
            a.route = format!("retro-hunt/{}", a.route);
        }
        let sightings = found.sightings.iter().map(|s| s.count).sum();
        let out = self.pipeline.store().commit_batch(&found).await?;
        Ok((out.alerts_new + out.alerts_updated, sightings))
    }
}

/// The indicators among `list` whose keys are in `keys`.
fn owned(list: &[(String, DetectionIndicator)], keys: &HashSet<String>) -> Vec<DetectionIndicator> {
    list.iter()
        .filter(|(k, _)| keys.contains(k))
        .map(|(_, d)| d.clone())
        .collect()
}

/// The markings each value (as alerts and sightings name it: normalised, or a pattern's
/// sighting value) is in force under, among `indicators`.
fn prior_marks<'a>(
    indicators: impl Iterator<Item = &'a DetectionIndicator>,
) -> HashMap<String, Vec<Marking>> {
    let mut out: HashMap<String, Vec<Marking>> = HashMap::new();
    for d in indicators {
        let value = match &d.matches {
            DetectionMatch::Value { value, .. } => {
                mamori_detect::ioc::classify(value).map(|(_, norm)| norm)
            }
            DetectionMatch::Pattern(p) => Some(mamori_store::reports::pattern_sighting_value(p)),
        };
        if let Some(v) = value {
            out.entry(v).or_default().push(d.marking.clone());
        }
    }
    out
}

/// Word groups that every block holding a match of one of the indicators contains, when each
/// indicator has such words; `None` when some indicator may match text it does not contain
/// word for word (URLs, ranges, patterns...).
fn narrowing(list: &[DetectionIndicator]) -> Option<Vec<Vec<String>>> {
    if list.len() > MAX_NARROWED {
        return None;
    }
    let mut groups = Vec::with_capacity(list.len());
    for d in list {
        let DetectionMatch::Value { kind, value } = &d.matches else {
            return None;
        };
        let literal = matches!(
            kind,
            ValueKind::Ipv4
                | ValueKind::Domain
                | ValueKind::Email
                | ValueKind::Md5
                | ValueKind::Sha1
                | ValueKind::Sha256
        );
        if !literal || !value.is_ascii() {
            return None;
        }
        let mut words = Vec::new();
        mamori_store::fts::for_each_word(value, |w| {
            if mamori_store::blocks::indexed_word(w) {
                words.push(w.to_owned());
            }
        });
        if words.is_empty() {
            return None;
        }
        words.sort_unstable();
        words.dedup();
        groups.push(words);
    }
    Some(groups)
}

/// Runs [`RetroHunter::tick`] whenever the shared indicators change, every `every` at
/// most, until `shutdown` turns true.
pub async fn run(
    hunter: RetroHunter,
    every: std::time::Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut seen = String::new();
    loop {
        let due = match hunter.pipeline.store().sharing_version().await {
            Ok(v) if v != seen => {
                seen = v;
                true
            }
            Ok(_) => false,
            Err(e) => {
                tracing::warn!(error = %e, "retro-hunt: reading the sharing version failed");
                false
            }
        };
        // Stalled hunts are looked for on every round, changes or not.
        let result: Result<Vec<HuntReport>, PipelineError> = if due {
            hunter.tick().await
        } else {
            hunter.take_over_only().await
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "retro-hunt failed; trying again on the next round");
            seen.clear();
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}
