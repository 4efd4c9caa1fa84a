//! `mamori serve` and `mamori migrate`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use mamori_config::{Config, LogFormat};

use super::{GlobalArgs, runtime};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Also load demo member organisations, users and sharing groups.
    #[arg(long)]
    pub demo: bool,
    /// Sigma rules for streaming detection (files or directories; repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<std::path::PathBuf>,
    /// Events per second accepted from each sender (sensor or user); 0 = unlimited.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub ingest_rate: u32,
    /// Alerts of one rule on one host within this many minutes are one alert.
    #[arg(long, value_name = "MIN", default_value_t = 60)]
    pub alert_window: u32,
    /// STIX pattern indicators whose `AND`, `FOLLOWEDBY` or `REPEATS` has no `WITHIN` are
    /// evaluated over an organisation's events of this many minutes (at most 31 days).
    #[arg(long, value_name = "MIN", default_value_t = 1440)]
    pub pattern_window: u32,
    /// When an indicator is shared, search the events stored in the last DAYS for it
    /// (retro-hunt: sightings and alerts as in the stream); 0 turns it off.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub retro_hunt_days: u32,
    /// Queue ingested batches on a bus: `nats://host:port[,nats://...]` (JetStream; every
    /// hub process on the same bus and database shares the detection work) or `local:DIR`.
    /// Without it, batches are processed before the sender is answered.
    #[arg(long, value_name = "URL")]
    pub bus: Option<String>,
    /// Take sensors' batches from NATS JetStream (`nats://host:port[,…]` or `tls://…`; the
    /// subject `mamori.intake`, shared by every hub process on it), besides HTTPS.
    #[arg(long, value_name = "URL")]
    pub intake_nats: Option<String>,
    /// Bus workers in this process (default: the number of CPUs; 0 = ingest only).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Days stored events are kept (organisations can have their own: `mamori admin org retention`).
    #[arg(long, value_name = "DAYS", default_value_t = 90)]
    pub retention_days: u32,
    /// Listen for syslog over UDP on this address (e.g. 0.0.0.0:514).
    #[arg(long, value_name = "ADDR")]
    pub syslog_udp: Option<SocketAddr>,
    /// Listen for syslog over TCP (newline or octet-counted framing).
    #[arg(long, value_name = "ADDR")]
    pub syslog_tcp: Option<SocketAddr>,
    /// Listen for syslog over TLS (needs --syslog-tls-cert and --syslog-tls-key).
    #[arg(long, value_name = "ADDR", requires_all = ["syslog_tls_cert", "syslog_tls_key"])]
    pub syslog_tls: Option<SocketAddr>,
    /// PEM certificate chain for --syslog-tls.
    #[arg(long, value_name = "FILE")]
    pub syslog_tls_cert: Option<std::path::PathBuf>,
    /// PEM private key for --syslog-tls.
    #[arg(long, value_name = "FILE")]
    pub syslog_tls_key: Option<std::path::PathBuf>,
    /// Seconds a batch taken by a worker may stay unacknowledged before another worker gets it.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub bus_ack_wait: u64,
}

/// Compiles the detection rules and says how many loaded; rule errors are listed and left out.
fn monitoring(args: &ServeArgs) -> mamori_server::Monitoring {
    let (engine, errors) = mamori_pipeline::Engine::from_rule_dirs(&args.rules);
    let hard: Vec<_> = errors.iter().filter(|e| !e.warning).collect();
    for e in &hard {
        eprintln!("rule not loaded: {e}");
    }
    if !args.rules.is_empty() {
        println!(
            "  detection: {} rules loaded, {} rejected",
            engine.ruleset().rules().len(),
            hard.len()
        );
    }
    mamori_server::Monitoring {
        engine,
        settings: mamori_pipeline::Settings {
            alert_window_ms: i64::from(args.alert_window.max(1)) * 60_000,
            pattern_window_ms: i64::from(args.pattern_window.max(1)) * 60_000,
            retro_hunt_ms: i64::from(args.retro_hunt_days) * 86_400_000,
            ..mamori_pipeline::Settings::default()
        },
        rate_per_sender: args.ingest_rate,
        bus: None,
        retention_days: i64::from(args.retention_days.max(1)),
        syslog: mamori_server::syslog_intake::SyslogListeners {
            udp: args.syslog_udp,
            tcp: args.syslog_tcp,
            tls: args
                .syslog_tls
                .zip(args.syslog_tls_cert.clone())
                .zip(args.syslog_tls_key.clone())
                .map(|((a, c), k)| (a, c, k)),
        },
        intake: None,
        rule_files: mamori_server::bundle::read_rule_files(&args.rules),
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub fn run(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = global.load(args.listen)?;
    init_logging(&config);
    let mut monitoring = monitoring(&args);
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    runtime()?.block_on(async move {
        if let Some(url) = &args.bus {
            let opts = mamori_bus::BusOptions {
                ack_wait: std::time::Duration::from_secs(args.bus_ack_wait.max(1)),
                ..mamori_bus::BusOptions::default()
            };
            let bus = mamori_bus::Bus::open(url, opts)
                .await
                .with_context(|| format!("cannot open the bus {url}"))?;
            println!("  bus: {url} ({workers} workers in this process)");
            monitoring.bus = Some(bus);
        }
        if let Some(url) = &args.intake_nats {
            if !(url.starts_with("nats://") || url.starts_with("tls://")) {
                anyhow::bail!("--intake-nats must be a nats:// or tls:// URL, not {url}");
            }
            // Serve even when NATS is down at start: the intake subscribes once it is up.
            let opts = mamori_bus::BusOptions {
                connect_in_background: true,
                ..mamori_bus::BusOptions::default()
            };
            let bus = mamori_bus::Bus::open(url, opts)
                .await
                .with_context(|| format!("cannot open the NATS intake {url}"))?;
            println!("  sensor intake over NATS: {url} (subject mamori.intake)");
            monitoring.intake = Some(bus);
        }
        let feeds_config = config.clone();
        mamori_server::serve(config, args.demo, monitoring, workers, |s| {
            // Migrations are applied by now: scheduled feeds may start.
            super::feeds::spawn(&feeds_config);
            println!("Mamori is serving on http://{}/", s.addr);
            println!("  database: {}", s.database);
            if !s.migrations_applied.is_empty() {
                println!("  migrations applied: {:?}", s.migrations_applied);
            }
            if let Some(first) = &s.first_run {
                println!();
                println!("  First run: an administrator account was created.");
                println!("    username: {}", first.username);
                println!("    password: {}", first.password);
                println!("  This password is shown once. Change it after signing in.");
            }
            if let Some(demo) = &s.demo {
                if let Some(pass) = &demo.user_password {
                    println!();
                    println!(
                        "  Demo data: {} organisations, {} users, {} sharing groups, {} reports.",
                        demo.orgs, demo.users, demo.groups, demo.reports
                    );
                    println!("    every demo user (e.g. mic.analyst, sendai.member) has the password: {pass}");
                } else {
                    println!("  Demo data is already loaded.");
                }
            }
        })
        .await
        .context("the hub stopped with an error")
    })?;
    Ok(ExitCode::SUCCESS)
}

pub fn migrate(global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let config = global.load(None)?;
    runtime()?.block_on(async move {
        let store = mamori_store::Store::connect(
            &config.database_url(),
            &mamori_store::ConnectOptions::default(),
        )
        .await
        .context("cannot open the database")?;
        let report = store.migrate().await.context("migration failed")?;
        if report.applied.is_empty() {
            println!("database is up to date (version {})", report.current);
        } else {
            println!(
                "applied migrations {:?}; database is at version {}",
                report.applied, report.current
            );
        }
        store.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
