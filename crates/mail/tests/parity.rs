//! Parity with Python `eml-parser` on a sample of the corpus (every 10th message): extracted
//! URLs (scheme URLs only; compared lower-cased without a trailing `/`) and attachment SHA-256.
//! The peer runs as `tests/peers/eml_parser_peer.py` with `$REPO/.venv/bin/python` (or
//! `MAMORI_PYTHON`); the test is skipped with a notice when the venv, the module or the corpus
//! is missing. Differences are explained in `docs/mail-parity.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mamori_mail::{Analysis, analyze};

fn python() -> Option<PathBuf> {
    let py = std::env::var_os("MAMORI_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
        PathBuf::from,
    );
    if !py.exists() {
        eprintln!(
            "SKIPPED parity: no Python venv at {} (run .ci/setup)",
            py.display()
        );
        return None;
    }
    let ok = Command::new(&py)
        .args(["-c", "import eml_parser"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!(
            "SKIPPED parity: eml_parser is not installed in {}",
            py.display()
        );
        return None;
    }
    Some(py)
}

fn norm(u: &str) -> String {
    u.trim_end_matches('/').to_lowercase()
}

fn our_urls(a: &Analysis, out: &mut BTreeSet<String>) {
    for u in &a.urls {
        if u.url.contains("://") {
            out.insert(norm(&u.url));
        }
    }
    for n in &a.nested {
        our_urls(n, out);
    }
}

/// Message parts (message/rfc822, delivery and feedback reports, returned headers) are
/// compared apart: eml-parser hashes them re-serialised, mamori analyses them as messages.
fn is_message_part(content_type: &str) -> bool {
    content_type.starts_with("message/") || content_type == "text/rfc822-headers"
}

fn our_hashes(a: &Analysis, out: &mut BTreeSet<String>) {
    for f in &a.attachments {
        if !f.claimed_type.as_deref().is_some_and(is_message_part) {
            out.insert(f.sha256.clone());
        }
    }
    for n in &a.nested {
        our_hashes(n, out);
    }
}

#[test]
fn parity_with_eml_parser() {
    let Some(dir) = common::corpus_dir("parity_with_eml_parser") else {
        return;
    };
    let Some(py) = python() else { return };
    let files: Vec<PathBuf> = common::eml_files(&dir).into_iter().step_by(10).collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/eml_parser_peer.py");
    let mut child = Command::new(&py)
        .arg(&script)
        .arg("parity")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        for f in &files {
            writeln!(stdin, "{}", f.display()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), files.len());

    let (mut url_same, mut theirs_total, mut ours_total, mut common_total) = (0, 0, 0, 0);
    let (mut sha_same, mut peer_errors) = (0, 0);
    let mut examples = Vec::new();
    for (f, peer) in files.iter().zip(&lines) {
        if !peer["error"].is_null() {
            peer_errors += 1;
            continue;
        }
        let a = analyze(&std::fs::read(f).unwrap());
        let mut ours = BTreeSet::new();
        our_urls(&a, &mut ours);
        let theirs: BTreeSet<String> = peer["urls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| norm(u.as_str().unwrap()))
            .collect();
        let common: usize = ours.intersection(&theirs).count();
        theirs_total += theirs.len();
        ours_total += ours.len();
        common_total += common;
        if ours == theirs {
            url_same += 1;
        } else if std::env::var_os("PARITY_VERBOSE").is_some() {
            let only_ours: Vec<_> = ours.difference(&theirs).take(3).collect();
            let only_theirs: Vec<_> = theirs.difference(&ours).take(3).collect();
            examples.push(format!(
                "{}\n    only mamori: {only_ours:?}\n    only eml-parser: {only_theirs:?}",
                f.display()
            ));
        }
        let mut our_sha = BTreeSet::new();
        our_hashes(&a, &mut our_sha);
        let their_sha: BTreeSet<String> = peer["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| !is_message_part(a["content_type"].as_str().unwrap_or("")))
            .filter_map(|a| a["sha256"].as_str().map(str::to_owned))
            .collect();
        if our_sha == their_sha {
            sha_same += 1;
        } else {
            examples.push(format!(
                "{}: attachments mamori {:?} vs eml-parser {}",
                f.display(),
                our_sha,
                peer["attachments"]
            ));
        }
    }
    let compared = files.len() - peer_errors;
    eprintln!(
        "parity over {compared} messages ({peer_errors} eml-parser errors): identical URL sets {url_same}, \
         URLs eml-parser {theirs_total} / mamori {ours_total} / common {common_total}; identical attachment SHA-256 sets {sha_same}"
    );
    for e in &examples {
        eprintln!("  {e}");
    }
    assert!(
        url_same * 100 >= compared * 75,
        "identical URL sets on only {url_same}/{compared}"
    );
    assert!(compared >= 150, "too few messages compared: {compared}");
    assert!(
        sha_same * 100 >= compared * 90,
        "attachment hashes agree on only {sha_same}/{compared}"
    );
    assert!(
        common_total * 100 >= theirs_total * 85,
        "mamori finds only {common_total} of eml-parser's {theirs_total} URLs"
    );
}
