//! `mamori rules`: Sigma rule-set tooling.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Compile every rule under the given directories and report problems.
    Check { dirs: Vec<std::path::PathBuf> },
}

pub fn run(_cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    anyhow::bail!("mamori rules is not built yet (issue 3)")
}
