//! The monitoring path of the hub (DESIGN.md §2): a [`RawBatch`] from a sensor, a syslog
//! listener or the API is parsed, normalised, scanned by the [`Engine`] (Sigma rules and shared
//! indicators), its alerts routed to their organisation and aggregated, and everything stored
//! in one transaction ([`mamori_store::ingest`]), which makes redelivered batches harmless.
//! The same [`Pipeline::process`] runs inline in the embedded hub and in bus workers.

pub mod batch;
pub mod engine;
pub mod flat;
pub mod normalise;
pub mod orgs;
pub mod process;
pub mod retro;
pub mod worker;

use std::sync::Arc;

use arc_swap::ArcSwap;
use mamori_store::ingest::BatchOutcome;
use mamori_store::{Store, StoreError, now_millis};

pub use batch::{BatchHeader, RawBatch, Routing};
pub use engine::{Engine, Indicators};
/// STIX pattern indicators ([`mamori_patterns`]), under their former paths.
pub use mamori_patterns::{observe, set as patterns};
pub use orgs::OrgTable;

/// Cross-organisation correlation settings.
#[derive(Debug, Clone)]
pub struct CrossOrg {
    pub min_orgs: i64,
    pub window_ms: i64,
}

/// Tunables of the path.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Alerts of the same rule on the same host within this window are one alert.
    pub alert_window_ms: i64,
    /// `None` turns cross-organisation correlation off.
    pub cross_org: Option<CrossOrg>,
    /// The slug of the hub operator's organisation.
    pub hub_slug: String,
    /// The window a STIX pattern's cross-event part (`AND`, `FOLLOWEDBY`, `REPEATS`) is
    /// evaluated over when the pattern has no `WITHIN` of its own.
    pub pattern_window_ms: i64,
    /// How far back (event time) a newly shared indicator is searched for in the stored
    /// events ([`retro`]); 0 turns retro-hunts off.
    pub retro_hunt_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            alert_window_ms: 3_600_000,
            cross_org: Some(CrossOrg {
                min_orgs: 3,
                window_ms: 3_600_000,
            }),
            hub_slug: "hub".into(),
            pattern_window_ms: patterns::DEFAULT_PATTERN_WINDOW_MS,
            retro_hunt_ms: 30 * 86_400_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the detection worker stopped: {0}")]
    Worker(String),
}

/// The path, shared by every ingestion front door of one process.
#[derive(Debug)]
pub struct Pipeline {
    store: Store,
    engine: Arc<Engine>,
    orgs: ArcSwap<OrgTable>,
    settings: Settings,
    /// The store's sharing version the caches were built from.
    version: tokio::sync::Mutex<String>,
}

impl Pipeline {
    /// A pipeline over the store; call [`Pipeline::refresh`] before the first batch.
    pub fn new(store: Store, engine: Engine, settings: Settings) -> Arc<Pipeline> {
        Arc::new(Pipeline {
            store,
            engine: Arc::new(engine),
            orgs: ArcSwap::from_pointee(OrgTable::default()),
            settings,
            version: tokio::sync::Mutex::new(String::new()),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The organisations table in force (ranges, domains, groups; for routing).
    pub fn orgs(&self) -> Arc<OrgTable> {
        self.orgs.load_full()
    }

    /// How long stored observations can still take part in an evaluation: twice the longest
    /// window in force (Sigma correlations' timespans, STIX patterns' cross-event windows),
    /// so that events arriving somewhat out of order still meet theirs, and at least an hour.
    /// Older ones can be pruned ([`Store::prune_observations`]).
    pub fn observation_horizon_ms(&self) -> i64 {
        let sigma = self
            .engine
            .ruleset()
            .correlations()
            .iter()
            .map(|c| c.timespan_ms)
            .max()
            .unwrap_or(0);
        let patterns = self.engine.indicators().patterns.longest_window_ms();
        sigma.max(patterns).saturating_mul(2).max(3_600_000)
    }

    /// Reloads the organisations (ranges, domains, groups) and the shared indicators.
    /// Returns the number of indicators in force.
    pub async fn refresh(&self) -> Result<usize, StoreError> {
        let table = OrgTable::load(&self.store, &self.settings.hub_slug).await?;
        self.orgs.store(Arc::new(table));
        let list = self.store.detection_indicators(now_millis()).await?;
        let (ind, skipped) = Indicators::build_with_window(list, self.settings.pattern_window_ms);
        let n = ind.set.len() + ind.patterns.len();
        let p = ind.patterns.stats();
        tracing::info!(
            values = ind.set.len(),
            skipped,
            patterns = p.streamed(),
            patterns_indexed = p.indexed,
            patterns_by_substring = p.by_substring,
            patterns_always = p.always,
            patterns_over_cap = p.over_cap,
            patterns_invalid = p.invalid,
            patterns_cross_event = p.cross_event,
            patterns_partly_in_stream = p.partly,
            patterns_unmapped_types = p.unmapped,
            "indicators loaded"
        );
        self.engine.set_indicators(ind);
        Ok(n)
    }

    /// Reloads the caches when organisations or shared indicators changed since the last
    /// load (one small query; workers in other processes notice changes the same way).
    pub async fn ensure_fresh(&self) -> Result<(), StoreError> {
        let now = self.store.sharing_version().await?;
        let mut seen = self.version.lock().await;
        if *seen != now {
            self.refresh().await?;
            *seen = now;
        }
        Ok(())
    }

    /// Parses, detects and stores one batch. The CPU work runs on the blocking pool.
    pub async fn process(self: &Arc<Self>, batch: RawBatch) -> Result<BatchOutcome, PipelineError> {
        self.ensure_fresh().await?;
        let me = Arc::clone(self);
        let started = std::time::Instant::now();
        let prepared = tokio::task::spawn_blocking(move || {
            let orgs = me.orgs.load();
            process::prepare(&me.engine, &orgs, &me.settings, &batch)
        })
        .await
        .map_err(|e| PipelineError::Worker(e.to_string()))?;
        let prepared_at = started.elapsed();
        let engine = Arc::clone(&self.engine);
        let correlation =
            move |g: &mamori_store::ingest::NewObservation,
                  rows: &[mamori_store::ingest::ObservationRow]| {
                process::evaluate_correlation(&engine, g, rows)
            };
        let indicators = self.engine.indicators();
        let orgs = self.orgs.load_full();
        let pattern = move |batch: &[&mamori_store::ingest::PatternObservation],
                            rows: &[mamori_store::ingest::ObservationRow]| {
            process::evaluate_pattern(&indicators.patterns, &orgs, batch, rows)
        };
        let evaluators = mamori_store::ingest::Evaluators {
            correlation: &correlation,
            pattern: &pattern,
        };
        let out = self.store.commit_batch_with(&prepared, evaluators).await?;
        tracing::debug!(
            events = out.accepted,
            alerts = prepared.alerts.len(),
            prepare_ms = prepared_at.as_millis() as u64,
            commit_ms = (started.elapsed() - prepared_at).as_millis() as u64,
            "batch processed"
        );
        metrics::histogram!("mamori_batch_prepare_seconds").record(prepared_at.as_secs_f64());
        metrics::histogram!("mamori_batch_commit_seconds")
            .record((started.elapsed() - prepared_at).as_secs_f64());
        Ok(out)
    }
}
