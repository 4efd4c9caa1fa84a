//! Finding the Python reference tools (stix2-matcher, stix2-validator) for the peer tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// A Python interpreter from a virtualenv where `import <module>` works: the repository's
/// `.venv` (as created by `.ci/setup`), then `/work/main/.venv`.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates = [
        repo.join(".venv/bin/python"),
        PathBuf::from("/work/main/.venv/bin/python"),
    ];
    candidates.into_iter().find(|py| {
        py.exists()
            && std::process::Command::new(py)
                .args(["-c", &format!("import {module}")])
                .env("http_proxy", "http://127.0.0.1:9")
                .env("https_proxy", "http://127.0.0.1:9")
                .output()
                .is_ok_and(|o| o.status.success())
    })
}
