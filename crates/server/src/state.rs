//! The state every handler shares: storage, configuration, the login limiter, metrics and the
//! compiled YARA rules.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mamori_config::Config;
use mamori_share::warninglist::WarningLists;
use mamori_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::limiter::LoginLimiter;
use crate::monitor::{IngestLimiter, SharedPipeline};

/// How the monitoring path of a hub is set up.
pub struct Monitoring {
    /// The detection engine (compiled rules).
    pub engine: mamori_pipeline::Engine,
    pub settings: mamori_pipeline::Settings,
    /// Events per second per sender; 0 = unlimited.
    pub rate_per_sender: u32,
    /// When set, ingestion queues batches on this bus and workers process them; otherwise
    /// batches are processed before the sender is answered.
    pub bus: Option<mamori_bus::Bus>,
    /// Days events are kept for organisations without their own retention.
    pub retention_days: i64,
    /// Syslog listeners of the hub.
    pub syslog: crate::syslog_intake::SyslogListeners,
    /// Sensors' batches over NATS JetStream ([`crate::nats_intake`]).
    pub intake: Option<mamori_bus::Bus>,
    /// The rule files behind `engine` as served to sensors in their bundles
    /// ([`crate::bundle::read_rule_files`] reads them from the `--rules` paths).
    pub rule_files: Vec<crate::bundle::RuleFile>,
}

impl Default for Monitoring {
    fn default() -> Self {
        Monitoring {
            engine: mamori_pipeline::Engine::new(mamori_detect::RulesetBuilder::new().build().0),
            settings: mamori_pipeline::Settings::default(),
            rate_per_sender: 200_000,
            bus: None,
            retention_days: 90,
            syslog: crate::syslog_intake::SyslogListeners::default(),
            intake: None,
            rule_files: Vec::new(),
        }
    }
}

/// Cheap to clone; handed to the router.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub config: Config,
    pub limiter: LoginLimiter,
    pub metrics: Option<PrometheusHandle>,
    pub warninglists: WarningLists,
    pub started: Instant,
    pub pipeline: SharedPipeline,
    pub ingest_limiter: IngestLimiter,
    pub bus: Option<mamori_bus::Bus>,
    pub retention_days: i64,
    pub syslog: crate::syslog_intake::SyslogListeners,
    /// Sensors' batches over NATS JetStream.
    pub intake: Option<mamori_bus::Bus>,
    /// Signed rule bundles for sensors.
    pub bundles: crate::bundle::Bundles,
    /// Block-list versions recently served, for incremental diffs.
    pub blocklist_history: crate::blocklists::History,
    /// Case notifications (e-mail and webhooks).
    pub notifier: crate::case_notify::Notifier,
    /// Chromium processes printing after-action reports at once (each takes ~200 MB).
    pub pdf_slots: tokio::sync::Semaphore,
    /// The enabled YARA rule sets, compiled, for mail analysis.
    pub yara: crate::yara_rules::HubYara,
}

impl AppState {
    pub fn new(store: Store, config: Config, metrics: Option<PrometheusHandle>) -> Self {
        Self::with_monitoring(store, config, metrics, Monitoring::default())
    }

    /// A state whose monitoring path uses the given engine and settings.
    pub fn with_monitoring(
        store: Store,
        config: Config,
        metrics: Option<PrometheusHandle>,
        monitoring: Monitoring,
    ) -> Self {
        let limiter = LoginLimiter::new(
            config.auth.login_max_failures,
            Duration::from_secs(config.auth.login_window_secs),
        );
        let warninglists = match WarningLists::load(&config.data_dir.join("warninglists")) {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "warning lists: using the built-in lists only");
                WarningLists::built_in()
            }
        };
        let pipeline =
            mamori_pipeline::Pipeline::new(store.clone(), monitoring.engine, monitoring.settings);
        let syslog = monitoring.syslog;
        AppState(Arc::new(Inner {
            pipeline,
            ingest_limiter: IngestLimiter::new(monitoring.rate_per_sender),
            bus: monitoring.bus,
            retention_days: monitoring.retention_days,
            syslog,
            intake: monitoring.intake,
            bundles: crate::bundle::Bundles::new(config.data_dir.clone(), monitoring.rule_files),
            blocklist_history: crate::blocklists::History::default(),
            notifier: crate::case_notify::Notifier::from_config(&config),
            pdf_slots: tokio::sync::Semaphore::new(2),
            yara: crate::yara_rules::HubYara::default(),
            store,
            config,
            limiter,
            metrics,
            warninglists,
            started: Instant::now(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Starts `n` bus workers in this process (none without a bus). They stop when `shutdown`
    /// turns true.
    pub fn spawn_workers(
        &self,
        n: usize,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let Some(bus) = &self.bus else {
            return Vec::new();
        };
        (0..n)
            .map(|i| {
                let (p, bus, rx) = (self.pipeline.clone(), bus.clone(), shutdown.clone());
                let stats = Arc::new(mamori_pipeline::worker::WorkerStats::default());
                tokio::spawn(async move {
                    if let Err(e) = mamori_pipeline::worker::run_worker(p, bus, rx, stats).await {
                        tracing::error!(worker = i, error = %e, "bus worker stopped");
                    }
                })
            })
            .collect()
    }
}
