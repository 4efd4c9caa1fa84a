//! `mamori`: the single binary. Parses the command line and hands each subcommand to its module.

mod cmd;

// The hub's ingestion path allocates many small, short-lived values (JSON maps, event fields);
// mimalloc serves those markedly faster than glibc's allocator (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    match cmd::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
