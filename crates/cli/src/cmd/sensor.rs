//! `mamori sensor`: reads the flags (over the TOML file named by `--config`, its top level or
//! its `[sensor]` table) into a [`SensorConfig`] and runs [`mamori_sensor`]. SIGINT/SIGTERM
//! flush and checkpoint, SIGHUP reloads rules and indicators; the run ends with a one-line
//! summary on standard output. `--rules-from-hub` matches with signed bundles from the hub
//! (`mamori_sensor::bundle`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use mamori_parse::Format;
use mamori_sensor::{FileConfig, ForwardMode, RuleSource, Secret, SensorConfig, TailSpec};

use super::GlobalArgs;

#[derive(Debug, clap::Args)]
pub struct SensorArgs {
    /// The hub's base URL (https://hub.example).
    #[arg(long, value_name = "URL")]
    pub hub: Option<String>,
    /// Forward batches over NATS JetStream (nats://host:4222[,nats://…] or tls://…) instead of
    /// HTTPS; each is signed with a key derived from the token. --hub is then needed only for
    /// --rules-from-hub.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// The sensor token: env:NAME, file:PATH or the token itself.
    #[arg(long, value_name = "env:NAME|file:PATH|TOKEN")]
    pub token: Option<String>,
    /// This sensor's name (observer.name; default: the host name).
    #[arg(long)]
    pub name: Option<String>,
    /// A file or glob to tail, optionally with its format (repeatable).
    #[arg(long, value_name = "PATH[:FORMAT]")]
    pub tail: Vec<TailSpec>,
    /// A directory of .evtx files to read (repeatable).
    #[arg(long, value_name = "DIR")]
    pub evtx: Vec<PathBuf>,
    /// Listen for syslog over UDP.
    #[arg(long, value_name = "ADDR")]
    pub syslog_udp: Option<SocketAddr>,
    /// Listen for syslog over TCP (newline or octet-counting framing).
    #[arg(long, value_name = "ADDR")]
    pub syslog_tcp: Option<SocketAddr>,
    /// Listen for syslog over TLS (needs --tls-cert and --tls-key).
    #[arg(long, value_name = "ADDR")]
    pub syslog_tls: Option<SocketAddr>,
    /// Certificate chain (PEM) for --syslog-tls.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --syslog-tls.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Format of lines without their own: auto, json, syslog, cef, leef, access, squid, dns,
    /// eve, zeek-json, zeek-tsv.
    #[arg(long)]
    pub format: Option<Format>,
    /// What goes to the hub: all, sampled:N (1 in N; matches always) or alerts (matches only).
    #[arg(long, value_name = "all|sampled:N|alerts")]
    pub forward: Option<ForwardMode>,
    /// A directory of Sigma rules to match locally (repeatable).
    #[arg(long, value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// An indicator file to match locally.
    #[arg(long, value_name = "FILE")]
    pub ioc: Option<PathBuf>,
    /// A file of STIX patterns to match locally, one a line (`#` starts a comment line).
    #[arg(long, value_name = "FILE")]
    pub patterns: Option<PathBuf>,
    /// Match with the Sigma rules, indicators and STIX patterns the hub serves this sensor:
    /// signed bundles pulled every --rules-interval, verified with the hub's key, cached
    /// under --state.
    #[arg(long, conflicts_with_all = ["rules", "ioc", "patterns"])]
    pub rules_from_hub: bool,
    /// The hub's public key (base64, from `mamori admin hub-key`) to pin; without it the key
    /// the hub gives on first contact is trusted and stored.
    #[arg(long, value_name = "B64", requires = "rules_from_hub")]
    pub hub_key: Option<String>,
    /// Seconds between bundle pulls (default 300).
    #[arg(long, value_name = "SECS", requires = "rules_from_hub")]
    pub rules_interval: Option<u64>,
    /// A CA certificate (PEM) to trust for the hub, besides the public roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Checkpoints and the spool live here (default ./mamori-sensor-state).
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// Largest size of the on-disk buffer; the oldest batches are dropped beyond it.
    #[arg(long, value_name = "N")]
    pub buffer_max_bytes: Option<u64>,
    /// Read files seen for the first time from their start (default: from their end).
    #[arg(long)]
    pub from_start: bool,
    /// Read what is there now, forward it (or spool it), and exit.
    #[arg(long)]
    pub once: bool,
}

pub fn run(global: &GlobalArgs, args: SensorArgs) -> anyhow::Result<ExitCode> {
    let cfg = config(global, args)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAMORI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let summary = super::runtime()?
        .block_on(mamori_sensor::run_until_signal(cfg))
        .context("sensor stopped")?;
    println!("{summary}");
    Ok(ExitCode::SUCCESS)
}

/// Defaults < the `--config` file < flags.
fn config(global: &GlobalArgs, a: SensorArgs) -> anyhow::Result<SensorConfig> {
    let mut cfg = SensorConfig::new(String::new(), Secret(String::new()));
    if let Some(path) = &global.config {
        FileConfig::load(path)?.apply(&mut cfg)?;
    }
    if let Some(h) = a.hub {
        cfg.hub = h;
    }
    if let Some(n) = a.nats {
        cfg.nats = Some(n);
    }
    if let Some(t) = a.token {
        cfg.token = Secret(t);
    }
    if let Some(n) = a.name {
        cfg.name = n;
    }
    if !a.tail.is_empty() {
        cfg.tail = a.tail;
    }
    if !a.evtx.is_empty() {
        cfg.evtx = a.evtx;
    }
    cfg.syslog_udp = a.syslog_udp.or(cfg.syslog_udp);
    cfg.syslog_tcp = a.syslog_tcp.or(cfg.syslog_tcp);
    cfg.syslog_tls = a.syslog_tls.or(cfg.syslog_tls);
    cfg.tls_cert = a.tls_cert.or(cfg.tls_cert.take());
    cfg.tls_key = a.tls_key.or(cfg.tls_key.take());
    if let Some(f) = a.format {
        cfg.format = f;
    }
    if let Some(f) = a.forward {
        cfg.forward = f;
    }
    if a.rules_from_hub {
        if !matches!(cfg.rules, RuleSource::Hub { .. }) {
            cfg.rules = RuleSource::hub();
        }
        if let RuleSource::Hub { pin, interval, .. } = &mut cfg.rules {
            *pin = a.hub_key.or(pin.take());
            if let Some(s) = a.rules_interval {
                *interval = std::time::Duration::from_secs(s.max(1));
            }
        }
    } else if !a.rules.is_empty() || a.ioc.is_some() || a.patterns.is_some() {
        if !matches!(cfg.rules, RuleSource::Local { .. }) {
            cfg.rules = RuleSource::Local {
                dirs: Vec::new(),
                ioc: None,
                patterns: None,
            };
        }
        if let RuleSource::Local {
            dirs,
            ioc,
            patterns,
        } = &mut cfg.rules
        {
            if !a.rules.is_empty() {
                *dirs = a.rules;
            }
            *ioc = a.ioc.or(ioc.take());
            *patterns = a.patterns.or(patterns.take());
        }
    }
    cfg.ca = a.ca.or(cfg.ca.take());
    if let Some(s) = a.state {
        cfg.state = s;
    }
    if let Some(n) = a.buffer_max_bytes {
        cfg.buffer_max_bytes = n;
    }
    cfg.from_start |= a.from_start;
    cfg.once = a.once;
    if cfg.hub.is_empty() && cfg.nats.is_none() {
        bail!("give --hub URL or --nats URL (or hub/nats in the --config file)");
    }
    if cfg.token.0.is_empty() {
        bail!("give --token env:NAME|file:PATH|TOKEN (or token in the --config file)");
    }
    cfg.validate()?;
    Ok(cfg)
}
