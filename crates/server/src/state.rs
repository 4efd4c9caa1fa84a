//! The state every handler shares: storage, configuration, the login limiter and metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mamori_config::Config;
use mamori_share::warninglist::WarningLists;
use mamori_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::limiter::LoginLimiter;

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
}

impl AppState {
    pub fn new(store: Store, config: Config, metrics: Option<PrometheusHandle>) -> Self {
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
        AppState(Arc::new(Inner {
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
