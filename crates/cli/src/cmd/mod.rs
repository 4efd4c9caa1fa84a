//! The subcommands of `mamori`; each lives in its own module with a typed args struct.

pub mod admin;
pub mod audit;
pub mod case;
pub mod config;
pub mod federation;
pub mod feed_source;
pub mod feeds;
pub mod gateway;
pub mod hunt;
pub mod loadgen;
pub mod mail;
mod mail_html;
pub mod notify;
pub mod parse;
pub mod rules;
pub mod sensor;
pub mod serve;
pub mod share;
pub mod taxii_client;
pub mod yara_admin;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use mamori_config::{Config, LoadOptions, Overrides};

/// Mamori (守り): an open cyber-defence hub.
#[derive(Debug, Parser)]
#[command(name = "mamori", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Where configuration and data come from (file < MAMORI_* environment < these flags).
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Configuration file (default: ./mamori.toml when it exists).
    #[arg(long, global = true, env = "MAMORI_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory (default ./mamori-data).
    #[arg(long = "data", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB (default: SQLite in the data dir).
    #[arg(long = "database", global = true, value_name = "URL")]
    pub database_url: Option<String>,
}

impl GlobalArgs {
    /// Loads the configuration with these flags on top.
    pub fn load(&self, listen: Option<std::net::SocketAddr>) -> anyhow::Result<Config> {
        let env = mamori_config::process_env;
        mamori_config::load(LoadOptions {
            file: self.config.as_deref(),
            file_required: self.config.is_some(),
            env: &env,
            overrides: Overrides {
                listen,
                data_dir: self.data_dir.clone(),
                database_url: self.database_url.clone(),
            },
        })
        .map_err(|e| anyhow::anyhow!("invalid configuration:\n{e}"))
    }

    /// Loads the configuration and opens (and migrates) the database.
    pub async fn open_store(&self) -> anyhow::Result<(Config, mamori_store::Store)> {
        let config = self.load(None)?;
        let (store, _) = mamori_server::open_store(&config)
            .await
            .context("cannot open the database")?;
        Ok((config, store))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub: API, console, health and metrics.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check or print configuration.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Manage organisations, users, tokens and sharing groups.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Read and verify the audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Incident-response cases (after-action reports).
    #[command(subcommand)]
    Case(case::CaseCommand),
    /// Import and export threat information (MISP events and feeds).
    #[command(subcommand)]
    Share(share::ShareCommand),
    /// Turn log files into ECS-named JSON lines (syslog, CEF, LEEF, access, Squid, DNS, EVE, Zeek).
    Parse(parse::ParseArgs),
    /// Replay realistic events at a hub's ingestion API and report events/s and alert latency.
    Loadgen(loadgen::LoadgenArgs),
    /// Feeds in, owners found (notification of malicious and vulnerable hosts).
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// Run detection rules and indicators over collected logs (EVTX, JSON) and print a timeline.
    Hunt(hunt::HuntArgs),
    /// Work with Sigma rule sets.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Analyse suspicious e-mail (targeted attacks, phishing, PPAP archives).
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// Run a sensor: tail logs, read EVTX directories, listen for syslog; normalise, match
    /// locally and forward to the hub (buffering on disk while it is unreachable).
    Sensor(Box<sensor::SensorArgs>),
    /// Run a DNS gateway for a protected segment: names on the hub's block list get NXDOMAIN
    /// (or a sink-hole address), the rest is forwarded and cached; blocked queries are
    /// reported to the hub.
    Gateway(gateway::GatewayArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => serve::run(&cli.global, args),
        Command::Migrate => serve::migrate(&cli.global),
        Command::Config(cmd) => config::run(cmd),
        Command::Admin(cmd) => runtime()?.block_on(admin::run(&cli.global, cmd)),
        Command::Audit(cmd) => runtime()?.block_on(audit::run(&cli.global, cmd)),
        Command::Share(cmd) => runtime()?.block_on(share::run(&cli.global, cmd)),
        Command::Case(cmd) => runtime()?.block_on(case::run(&cli.global, cmd)),
        Command::Parse(args) => parse::run(args),
        Command::Loadgen(args) => loadgen::run(args),
        Command::Notify(cmd) => runtime()?.block_on(notify::run(&cli.global, cmd)),
        Command::Hunt(args) => hunt::run(args),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Mail(cmd) => mail::run(cmd),
        Command::Sensor(args) => sensor::run(&cli.global, *args),
        Command::Gateway(args) => gateway::run(args),
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
