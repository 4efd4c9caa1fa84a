//! `mamori hunt`: detections over collected logs.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct HuntArgs {
    /// Files or directories to scan.
    pub paths: Vec<std::path::PathBuf>,
}

pub fn run(_args: HuntArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("mamori hunt is not built yet (issue 3)")
}
