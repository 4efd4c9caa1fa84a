//! The subcommands of `mamori`; each lives in its own module with a typed args struct.

pub mod hunt;
pub mod rules;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Mamori (守り): an open cyber-defence hub.
#[derive(Debug, Parser)]
#[command(name = "mamori", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run detection rules and indicators over collected logs (EVTX, JSON) and print a timeline.
    Hunt(hunt::HuntArgs),
    /// Work with Sigma rule sets.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Hunt(args) => hunt::run(args),
        Command::Rules(cmd) => rules::run(cmd),
    }
}
