//! `mamori config`: validate a configuration file or print a commented example.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Validate a configuration file; every problem is reported with its key and line.
    Check {
        /// The file to check.
        file: PathBuf,
    },
    /// Print a commented example mamori.toml with every key and its default.
    Example,
}

pub fn run(cmd: ConfigCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ConfigCommand::Check { file } => match mamori_config::check_file(&file) {
            Ok(config) => {
                println!(
                    "{}: OK (listen {}, data {}, database {})",
                    file.display(),
                    config.listen,
                    config.data_dir.display(),
                    mamori_store::redact_url(&config.database_url())
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => {
                eprintln!("{errors}");
                eprintln!("{}: {} problem(s)", file.display(), errors.len());
                Ok(ExitCode::from(1))
            }
        },
        ConfigCommand::Example => {
            print!("{}", mamori_config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
    }
}
