//! Mamori configuration.
//!
//! Settings come from three layers, each overriding the one before it:
//!
//! 1. the file `mamori.toml` (or the file named by `--config`),
//! 2. environment variables `MAMORI_*` (nested keys use a double underscore:
//!    `MAMORI_HTTP__BODY_LIMIT_BYTES`),
//! 3. command-line flags ([`Overrides`]).
//!
//! With none of them present the defaults serve one machine: data under
//! `./mamori-data`, a SQLite database inside it, listening on `127.0.0.1:8080`.
//!
//! Every value is validated where it is given, and *all* problems are collected
//! into [`ConfigErrors`], each naming its file and line, environment variable or
//! flag. Unknown keys in the file are errors (typo protection); unknown `MAMORI_*`
//! variables are never looked at, because the loader only asks the `env` closure
//! for the names it knows. An environment variable set to the empty string
//! counts as unset.
//!
//! Secrets (the database URL) are [`secrecy::SecretString`]s, redacted in
//! `Debug`, and may be given literally, as `env:NAME` (read variable `NAME`) or as
//! `file:PATH` (read the file, at most 64 KiB, trailing newline trimmed).
//!
//! ```
//! use mamori_config::{LoadOptions, Overrides, load, process_env};
//!
//! let config = load(LoadOptions {
//!     file: None,
//!     file_required: false,
//!     env: &process_env,
//!     overrides: Overrides::default(),
//! });
//! match config {
//!     Ok(config) => println!("listening on {}", config.listen),
//!     Err(errors) => eprintln!("{errors}"),
//! }
//! ```

mod config;
mod env;
mod error;
mod example;
mod feeds;
mod file;
mod keys;
mod layer;
mod load;
mod read;
mod secret;
mod validate;
mod value;

pub use config::{
    AuthConfig, CasesConfig, Config, DatabaseConfig, HttpConfig, LogConfig, LogFormat, MailConfig,
    NotifyConfig, SeverityMinutes,
};
pub use error::{ConfigError, ConfigErrors, ErrorSource};
pub use example::EXAMPLE;
pub use feeds::{FeedConfig, FeedCredential, FeedDirection, ShareConfig};
pub use load::{
    DEFAULT_FILE, FILE_SIZE_LIMIT, LoadOptions, Overrides, check_file, load, process_env,
};
pub use secrecy::{ExposeSecret, SecretString};
