//! Loading: defaults, then the file, then the environment, then CLI flags.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{ConfigError, ConfigErrors, ErrorSource};
use crate::layer::{self, EnvFn, Layer};
use crate::read::{ReadError, read_text};
use crate::{env, file};

/// The file read when none is named: `mamori.toml` in the working directory.
pub const DEFAULT_FILE: &str = "mamori.toml";

/// Largest configuration file accepted (1 MiB).
pub const FILE_SIZE_LIMIT: u64 = 1024 * 1024;

/// Values from command-line flags; they beat the file and the environment.
#[derive(Clone, Default)]
pub struct Overrides {
    /// `--listen`
    pub listen: Option<SocketAddr>,
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--database-url` (a secret: literal, `env:NAME` or `file:PATH`)
    pub database_url: Option<String>,
}

impl fmt::Debug for Overrides {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Overrides")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// What [`load`] reads.
pub struct LoadOptions<'a> {
    /// The file to read; `None` = [`DEFAULT_FILE`] if it exists.
    pub file: Option<&'a Path>,
    /// A missing file is an error (the user named it with `--config`).
    pub file_required: bool,
    /// Environment look-up, e.g. [`process_env`]; also answers `env:NAME` secrets.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Command-line flags.
    pub overrides: Overrides,
}

/// Reads a variable from the process environment (non-UTF-8 counts as unset).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Loads the configuration: defaults < file < environment < flags.
pub fn load(opts: LoadOptions<'_>) -> Result<Config, ConfigErrors> {
    let path = opts.file.unwrap_or(Path::new(DEFAULT_FILE));
    run(path, opts.file_required, opts.env, opts.env, opts.overrides)
}

/// Checks one file alone, for `mamori config check FILE`: no `MAMORI_*`
/// variables and no flags apply. Secrets written as `env:NAME` are still
/// resolved from the process environment, so the check shows whether they
/// would resolve at run time.
pub fn check_file(path: &Path) -> Result<Config, ConfigErrors> {
    run(path, true, &|_| None, &process_env, Overrides::default())
}

fn run(
    path: &Path,
    file_required: bool,
    env: EnvFn<'_>,
    secret_env: EnvFn<'_>,
    overrides: Overrides,
) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let mut config = Config::default();

    match read_text(path, FILE_SIZE_LIMIT) {
        Ok(text) => file::parse(path, &text, secret_env, &mut errors).apply(&mut config),
        Err(ReadError::NotFound) if !file_required => {}
        Err(e) => {
            let source = ErrorSource::File {
                path: path.to_path_buf(),
                line: None,
                column: None,
            };
            errors.push(ConfigError::new(source, "", e.to_string()));
        }
    }
    env::parse(env, secret_env, &mut errors).apply(&mut config);
    cli(overrides, secret_env, &mut errors).apply(&mut config);

    if errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(errors))
    }
}

fn cli(overrides: Overrides, secret_env: EnvFn<'_>, errors: &mut Vec<ConfigError>) -> Layer {
    let mut layer = Layer::default();
    let mut fail = |flag: &str, key: &str, message: String| {
        let source = ErrorSource::Cli {
            flag: flag.to_owned(),
        };
        errors.push(ConfigError::new(source, key, message));
    };
    if let Some(addr) = overrides.listen {
        layer.set_listen(addr);
    }
    if let Some(dir) = overrides.data_dir {
        match layer::data_dir(&dir.to_string_lossy()) {
            Ok(_) => layer.set_data_dir(dir),
            Err(message) => fail("--data-dir", "data_dir", message),
        }
    }
    if let Some(url) = overrides.database_url {
        match layer::database_url(&url, secret_env) {
            Ok(url) => layer.set_database_url(url),
            Err(message) => fail("--database-url", "database.url", message),
        }
    }
    layer
}
