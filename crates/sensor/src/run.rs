//! One sensor run: starts the sources (file tailer and EVTX reader threads, syslog listener
//! tasks), normalises, matches and batches every record in one pipeline task, hands batches
//! to the [`Shipper`], and advances checkpoints only after a batch is acknowledged or
//! spooled. Stops on the [`Control`] signal (or, with `once`, when the sources are read),
//! flushing first. With rules from the hub, one sync runs before matching starts (the cache
//! serves when the hub is unreachable) and a task syncs every interval, asking the pipeline
//! to reload when the rules changed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::batch::BatchBuilder;
use crate::bundle::HubRules;
use crate::checkpoint::CheckpointStore;
use crate::config::{ForwardMode, RuleSource, SensorConfig};
use crate::error::SensorError;
use crate::evtx_dir::EvtxDirs;
use crate::hub::{Backoff, Hub};
use crate::matcher::{Fingerprint, Matcher};
use crate::normalise::{Normalised, Normaliser};
use crate::record::{Msg, Origin, Payload, Record};
use crate::shipper::Shipper;
use crate::spool::Spool;
use crate::stats::{Stats, Summary};
use crate::syslog::{self, Limits, SyslogLine};
use crate::tail::Tailer;

/// How a run is stopped and told to reload its rules.
#[derive(Debug)]
pub struct Control {
    /// Turns true to stop (flush, checkpoint, return).
    pub stop: watch::Receiver<bool>,
    /// One message per reload request (SIGHUP).
    pub reload: mpsc::Receiver<()>,
}

/// Runs until SIGINT or SIGTERM (SIGHUP reloads the rules and indicators).
pub async fn run_until_signal(cfg: SensorConfig) -> Result<Summary, SensorError> {
    let (stop_tx, stop) = watch::channel(false);
    let (reload_tx, reload) = mpsc::channel(4);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let sig = |k| signal(k).map_err(|e| SensorError::io("signal handler", e));
        let mut term = sig(SignalKind::terminate())?;
        let mut int = sig(SignalKind::interrupt())?;
        let mut hup = sig(SignalKind::hangup())?;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = term.recv() => break,
                    _ = int.recv() => break,
                    _ = hup.recv() => {
                        tracing::info!("SIGHUP: reloading rules and indicators");
                        let _ = reload_tx.try_send(());
                    }
                }
            }
            tracing::info!("stopping: flushing and writing checkpoints");
            let _ = stop_tx.send(true);
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
        drop(reload_tx);
    });
    run(cfg, Control { stop, reload }).await
}

/// Runs the sensor.
pub async fn run(cfg: SensorConfig, control: Control) -> Result<Summary, SensorError> {
    cfg.validate()?;
    if cfg.once && cfg.tail.is_empty() && cfg.evtx.is_empty() {
        return Err(SensorError::Setting {
            key: "once",
            message: "reads files and EVTX directories; give tail or evtx".into(),
        });
    }
    let token = cfg.token.resolve("token")?;
    let mut hub = Hub::new(&cfg.hub, token, cfg.ca.as_deref())?;
    if let Some(url) = &cfg.nats {
        hub = hub.forward_over_nats(url).await?;
        tracing::info!("forwarding batches over NATS JetStream: {url}");
    }
    let checkpoints = CheckpointStore::open(&cfg.state)?;
    let spool = Spool::open(&cfg.state.join("spool"), cfg.buffer_max_bytes)?;
    let (updated_tx, updated) = mpsc::channel::<()>(1);
    let source = match &cfg.rules {
        RuleSource::Local { .. } => cfg.rules.clone(),
        RuleSource::Hub {
            pin,
            interval,
            cache_dir,
        } => {
            let dir = cache_dir
                .clone()
                .unwrap_or_else(|| cfg.state.join("hub-rules"));
            let mut rules = HubRules::new(hub.clone(), &cfg.state, &dir, pin.as_deref())?;
            if let Err(e) = rules.sync().await {
                tracing::error!("{e}; matching with the cached rules");
            }
            let source = rules.cache().local_source();
            if !cfg.once {
                tokio::spawn(pull_rules(
                    rules,
                    *interval,
                    updated_tx.clone(),
                    control.stop.clone(),
                ));
            }
            source
        }
    };
    let matcher = Matcher::load(&source)?;
    let stats = Arc::new(Stats::default());
    let shipper = Shipper::new(
        hub,
        spool,
        stats.clone(),
        Backoff::new(cfg.retry_min, cfg.retry_max),
    );
    let (tx, rx) = mpsc::channel::<Msg>(8192);
    let halt = Arc::new(AtomicBool::new(false));
    let sources = start_sources(&cfg, &checkpoints, &tx, &halt, control.stop.clone()).await?;
    drop(tx);
    let drainer = (!cfg.once).then(|| {
        let s = shipper.clone();
        let stop = control.stop.clone();
        tokio::spawn(async move { s.drain(stop, false).await })
    });
    let mut pipeline = Pipeline {
        builder: BatchBuilder::new(cfg.name.clone(), cfg.batch_max_events, cfg.batch_max_bytes),
        normaliser: Normaliser::new(cfg.name.clone()),
        matcher,
        forward: cfg.forward,
        sampled: 0,
        stats: stats.clone(),
        shipper: shipper.clone(),
        checkpoints,
    };
    let result = pipeline
        .run(&cfg, &source, control, (rx, updated), sources)
        .await;
    drop(updated_tx);
    halt.store(true, Ordering::Relaxed);
    result?;
    pipeline.flush().await?;
    if cfg.once {
        let (_tx, stop) = watch::channel(false);
        shipper.drain(stop, true).await;
    }
    if let Some(d) = drainer {
        d.abort();
    }
    let left = shipper.spooled();
    if left > 0 {
        tracing::warn!("{left} batches stay in the spool until the hub is reachable");
    }
    Ok(stats.summary())
}

/// Syncs the rules from the hub every `interval` until `stop`; signals `updated` on changes.
async fn pull_rules(
    mut rules: HubRules,
    interval: Duration,
    updated: mpsc::Sender<()>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match rules.sync().await {
            Ok(true) => {
                if updated.send(()).await.is_err() {
                    return;
                }
            }
            Ok(false) => {}
            Err(e) => tracing::error!("{e}"),
        }
    }
}

/// Starts the sources; returns how many will report `Done` (files and EVTX in `once` mode).
async fn start_sources(
    cfg: &SensorConfig,
    checkpoints: &CheckpointStore,
    tx: &mpsc::Sender<Msg>,
    halt: &Arc<AtomicBool>,
    stop: watch::Receiver<bool>,
) -> Result<usize, SensorError> {
    let mut finite = 0;
    if !cfg.tail.is_empty() {
        let mut tailer = Tailer::new(
            cfg.tail.clone(),
            cfg.format,
            cfg.from_start,
            checkpoints.data.files.clone(),
        );
        spawn_poller(cfg, cfg.poll_interval, tx, halt, move |emit| {
            tailer.poll(emit)
        });
        finite += 1;
    }
    if !cfg.evtx.is_empty() {
        let mut dirs = EvtxDirs::new(cfg.evtx.clone(), checkpoints.data.evtx.clone());
        let every = cfg.poll_interval.max(Duration::from_secs(2));
        spawn_poller(cfg, every, tx, halt, move |emit| dirs.poll(emit));
        finite += 1;
    }
    if cfg.once {
        if cfg.syslog_udp.is_some() || cfg.syslog_tcp.is_some() || cfg.syslog_tls.is_some() {
            tracing::warn!("--once: the syslog listeners are not started");
        }
        return Ok(finite);
    }
    let limits = Limits {
        max_message: cfg.max_message,
        max_connections: cfg.max_connections,
        idle_timeout: cfg.idle_timeout,
    };
    let (ltx, mut lrx) = mpsc::channel::<SyslogLine>(8192);
    if let Some(addr) = cfg.syslog_udp {
        let sock = tokio::net::UdpSocket::bind(addr)
            .await
            .map_err(|source| SensorError::Listen { addr, source })?;
        tracing::info!("syslog udp on {addr}");
        tokio::spawn(syslog::udp::serve(sock, limits, ltx.clone(), stop.clone()));
    }
    for (addr, tls) in [(cfg.syslog_tcp, false), (cfg.syslog_tls, true)] {
        let Some(addr) = addr else { continue };
        let acceptor = match (tls, &cfg.tls_cert, &cfg.tls_key) {
            (true, Some(c), Some(k)) => Some(syslog::tls::acceptor(c, k)?),
            _ => None,
        };
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SensorError::Listen { addr, source })?;
        tracing::info!("syslog {} on {addr}", if tls { "tls" } else { "tcp" });
        tokio::spawn(syslog::stream::serve(
            l,
            acceptor,
            limits,
            ltx.clone(),
            stop.clone(),
        ));
    }
    drop(ltx);
    let tx = tx.clone();
    let format = cfg.format;
    let max = cfg.max_message;
    tokio::spawn(async move {
        while let Some(l) = lrx.recv().await {
            let mut chunk = vec![syslog_record(l, format, max)];
            while chunk.len() < 512
                && let Ok(l) = lrx.try_recv()
            {
                chunk.push(syslog_record(l, format, max));
            }
            if tx.send(Msg::Records(chunk)).await.is_err() {
                return;
            }
        }
    });
    Ok(finite)
}

/// A record for a received syslog message.
fn syslog_record(l: SyslogLine, format: mamori_parse::Format, max: usize) -> Record {
    let origin = Origin::Peer {
        addr: l.peer,
        stream: Arc::from(format!("{}://{}", l.transport.name(), l.peer)),
    };
    let payload = match l.text {
        Some(text) => Payload::Line { text, format },
        None => Payload::Rejected {
            reason: format!("message longer than {max} bytes"),
            text: String::new(),
        },
    };
    Record {
        payload,
        origin,
        cursor: None,
    }
}

/// Runs `poll` on a thread every `every` (once with `cfg.once`, then reports `Done`).
fn spawn_poller(
    cfg: &SensorConfig,
    every: Duration,
    tx: &mpsc::Sender<Msg>,
    halt: &Arc<AtomicBool>,
    mut poll: impl FnMut(&mut dyn FnMut(Record) -> bool) -> bool + Send + 'static,
) {
    let tx = tx.clone();
    let halt = halt.clone();
    let once = cfg.once;
    std::thread::spawn(move || {
        const CHUNK: usize = 512;
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            let send = |chunk: &mut Vec<Record>| {
                let full = std::mem::replace(chunk, Vec::with_capacity(CHUNK));
                !halt.load(Ordering::Relaxed) && tx.blocking_send(Msg::Records(full)).is_ok()
            };
            let mut ok = poll(&mut |r| {
                chunk.push(r);
                chunk.len() < CHUNK || send(&mut chunk)
            });
            if ok && !chunk.is_empty() {
                ok = send(&mut chunk);
            }
            if once {
                let _ = tx.blocking_send(Msg::Done);
                return;
            }
            if !ok {
                return;
            }
            let mut slept = Duration::ZERO;
            while slept < every {
                if halt.load(Ordering::Relaxed) || tx.is_closed() {
                    return;
                }
                let step = (every - slept).min(Duration::from_millis(100));
                std::thread::sleep(step);
                slept += step;
            }
        }
    });
}

/// The pipeline's state.
struct Pipeline {
    builder: BatchBuilder,
    normaliser: Normaliser,
    matcher: Matcher,
    forward: ForwardMode,
    sampled: u64,
    stats: Arc<Stats>,
    shipper: Shipper,
    checkpoints: CheckpointStore,
}

impl Pipeline {
    /// `source`: the local rules (for rules from the hub, their cache); `updated` says the
    /// cache changed.
    async fn run(
        &mut self,
        cfg: &SensorConfig,
        source: &RuleSource,
        mut control: Control,
        (mut rx, mut updated): (mpsc::Receiver<Msg>, mpsc::Receiver<()>),
        mut finite: usize,
    ) -> Result<(), SensorError> {
        let (reload_tx, mut reloaded) = mpsc::channel::<Matcher>(1);
        let watch_rules =
            !cfg.once && self.matcher.is_active() && matches!(cfg.rules, RuleSource::Local { .. });
        let mut print = Fingerprint::of(source);
        let mut rules_tick = tokio::time::interval(Duration::from_secs(2));
        let reload = |_: &SensorConfig| {
            let source = source.clone();
            let tx = reload_tx.clone();
            tokio::task::spawn_blocking(move || match Matcher::load(&source) {
                Ok(m) => {
                    let _ = tx.blocking_send(m);
                }
                Err(e) => tracing::error!("reload failed, keeping the previous rules: {e}"),
            });
        };
        loop {
            let deadline = self.builder.deadline(cfg.batch_linger);
            tokio::select! {
                biased;
                _ = control.stop.changed() => return Ok(()),
                Some(()) = control.reload.recv() => reload(cfg),
                Some(()) = updated.recv() => {
                    tracing::info!("rules from the hub changed: reloading");
                    reload(cfg);
                }
                Some(m) = reloaded.recv() => self.matcher = m,
                _ = rules_tick.tick(), if watch_rules => {
                    let now = Fingerprint::of(source);
                    if now != print {
                        print = now;
                        tracing::info!("rule or indicator files changed: reloading");
                        reload(cfg);
                    }
                }
                msg = rx.recv() => match msg {
                    Some(Msg::Records(rs)) => {
                        for r in rs {
                            self.handle(r).await?;
                            if self.builder.is_full() {
                                self.flush().await?;
                            }
                        }
                    }
                    Some(Msg::Done) => {
                        finite = finite.saturating_sub(1);
                        if finite == 0 && cfg.once {
                            return Ok(());
                        }
                    }
                    None => return Ok(()),
                },
                _ = sleep_until(deadline), if deadline.is_some() => self.flush().await?,
            }
            if self.builder.is_full() {
                self.flush().await?;
            }
        }
    }

    fn keep(&mut self, matched: bool) -> bool {
        match self.forward {
            ForwardMode::All => true,
            ForwardMode::Alerts => matched,
            ForwardMode::Sampled(n) => {
                if matched {
                    return true;
                }
                let keep = self.sampled.is_multiple_of(n);
                self.sampled += 1;
                keep
            }
        }
    }

    async fn handle(&mut self, rec: Record) -> Result<(), SensorError> {
        if let Payload::Position = rec.payload {
            if let Some(c) = rec.cursor {
                self.builder.cover(c);
            }
            return Ok(());
        }
        Stats::add(&self.stats.read, 1);
        let cursor = rec.cursor.clone();
        let line = match self.normaliser.normalise(rec) {
            Normalised::Event(mut e) => {
                Stats::add(&self.stats.parsed, 1);
                let matched = self.matcher.annotate(&mut e);
                if matched {
                    Stats::add(&self.stats.matched, 1);
                }
                self.keep(matched).then_some(e)
            }
            Normalised::DeadLetter(d) => {
                Stats::add(&self.stats.rejected, 1);
                self.keep(false).then_some(d)
            }
            Normalised::Nothing => None,
        };
        if let Some(e) = line {
            let bytes = serde_json::to_vec(&e).unwrap_or_default();
            if self.builder.would_overflow(bytes.len()) {
                self.flush().await?;
            }
            self.builder.push_line(&bytes);
        }
        if let Some(c) = cursor {
            self.builder.cover(c);
        }
        Ok(())
    }

    /// Hands the current batch on, then records the positions it covers.
    async fn flush(&mut self) -> Result<(), SensorError> {
        if self.builder.is_empty() {
            return Ok(());
        }
        let (batch, cursors) = self
            .builder
            .take()
            .map_err(|e| SensorError::io("zstd", e))?;
        if let Some(b) = batch {
            self.shipper.ship(b).await?;
        }
        if !cursors.is_empty() {
            for c in &cursors {
                self.checkpoints.data.apply(c);
            }
            self.checkpoints.save()?;
        }
        Ok(())
    }
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    if let Some(d) = deadline {
        tokio::time::sleep_until(tokio::time::Instant::from_std(d)).await;
    }
}
