//! Running the hub: open and migrate storage, first-run set-up, optional demo data, bind, serve
//! until SIGINT/SIGTERM, then drain in-flight requests and close storage.

use std::net::SocketAddr;

use mamori_config::Config;
use mamori_store::{ConnectOptions, Store, StoreError, redact_url};

use crate::bootstrap::{self, DemoReport, FirstRun};
use crate::{ApiError, AppState, app, metrics_handle};

/// How often a hub process looks for newly shared indicators to retro-hunt (and for hunts
/// another process left unfinished).
const RETRO_HUNT_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    #[error("set-up: {0}")]
    Setup(#[from] ApiError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Syslog(String),
}

/// What happened at start-up, for the command line to show.
#[derive(Debug)]
pub struct Started {
    pub addr: SocketAddr,
    pub database: String,
    pub migrations_applied: Vec<i64>,
    pub first_run: Option<FirstRun>,
    pub demo: Option<DemoReport>,
}

/// Opens and migrates the configured database.
pub async fn open_store(config: &Config) -> Result<(Store, Vec<i64>), StoreError> {
    let store = Store::connect(&config.database_url(), &ConnectOptions::default()).await?;
    let report = store.migrate().await?;
    Ok((store, report.applied))
}

/// Runs the hub until a shutdown signal. `on_started` is called once the socket is bound.
pub async fn serve(
    config: Config,
    demo: bool,
    monitoring: crate::Monitoring,
    workers: usize,
    on_started: impl FnOnce(&Started),
) -> Result<(), ServeError> {
    let (store, applied) = open_store(&config).await?;
    let first_run = bootstrap::ensure_admin(&store).await?;
    let demo = if demo {
        Some(bootstrap::load_demo(&store).await?)
    } else {
        None
    };
    let addr = config.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let bound = listener.local_addr()?;
    on_started(&Started {
        addr: bound,
        database: redact_url(&config.database_url()),
        migrations_applied: applied,
        first_run,
        demo,
    });
    let state = AppState::with_monitoring(store.clone(), config, metrics_handle(), monitoring);
    // The key that signs sensor rule bundles: created on the first start.
    match state.bundles.key() {
        Ok(k) => tracing::info!("sensor bundles are signed with the hub key {}", k.id()),
        Err(e) => tracing::error!("sensor bundles are unavailable: {e}"),
    }
    if let Err(e) = state.pipeline.ensure_fresh().await {
        tracing::error!(error = %e, "monitoring: cannot load organisations and indicators yet");
    }
    let (stop_workers, workers_rx) = tokio::sync::watch::channel(false);
    let mut workers = state.spawn_workers(workers, workers_rx.clone());
    workers.push(tokio::spawn(crate::monitor::retention_task(
        store.clone(),
        state.pipeline.clone(),
        state.retention_days,
        workers_rx.clone(),
    )));
    let lookback = state.pipeline.settings().retro_hunt_ms;
    if lookback > 0 {
        // Every hub process runs one; the store decides which of them hunts what.
        let hunter = mamori_pipeline::retro::RetroHunter::new(state.pipeline.clone(), lookback);
        workers.push(tokio::spawn(mamori_pipeline::retro::run(
            hunter,
            RETRO_HUNT_EVERY,
            workers_rx.clone(),
        )));
    }
    workers.push(tokio::spawn(crate::sla::sla_task(
        state.clone(),
        workers_rx.clone(),
    )));
    if let Some(bus) = state.intake.clone() {
        workers.push(tokio::spawn(crate::nats_intake::run(
            state.clone(),
            bus,
            workers_rx.clone(),
        )));
    }
    if !state.syslog.is_empty() {
        let (bound, tasks) =
            crate::syslog_intake::start(state.clone(), state.syslog.clone(), workers_rx)
                .await
                .map_err(|e| ServeError::Syslog(e.to_string()))?;
        for a in bound {
            tracing::info!(addr = %a, "listening for syslog");
        }
        workers.extend(tasks);
    }
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    let _ = stop_workers.send(true);
    for w in workers {
        let _ = w.await;
    }
    tracing::info!("shutting down: closing storage");
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}
