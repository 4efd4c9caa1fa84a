//! Helpers shared by the integration tests.
#![allow(dead_code)]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure here is a broken test set-up, not a finding"
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mamori_config::{Config, ConfigErrors, LoadOptions, Overrides, load};
use tempfile::TempDir;

/// A temporary directory holding `mamori.toml` with `text`.
pub fn write_file(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mamori.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Loads with an explicit environment map.
pub fn load_with(
    file: Option<&Path>,
    env: &[(&str, &str)],
    overrides: Overrides,
) -> Result<Config, ConfigErrors> {
    let map: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |name: &str| map.get(name).cloned();
    load(LoadOptions {
        file,
        file_required: file.is_some(),
        env: &lookup,
        overrides,
    })
}

/// Renders errors one per line, for assertions.
pub fn errors(result: Result<Config, ConfigErrors>) -> ConfigErrors {
    match result {
        Ok(config) => panic!("expected errors, got {config:?}"),
        Err(e) => e,
    }
}
