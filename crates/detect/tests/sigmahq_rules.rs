//! What `mamori rules check` reports on the whole SigmaHQ rule set (the command is a thin
//! wrapper over `RulesetBuilder`): no rule under any `rules*/` folder is rejected, and every
//! problem, in those folders or in `deprecated/` and `unsupported/`, names its file, a line and
//! a reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mamori_detect::{RuleError, RulesetBuilder};

fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma");
    root.join("rules").is_dir().then_some(root)
}

fn check(root: &Path, dirs: &[&str]) -> (usize, Vec<RuleError>) {
    let mut b = RulesetBuilder::new();
    for d in dirs {
        b.add_path(&root.join(d));
    }
    let (rs, errors) = b.build();
    for e in &errors {
        // Every problem is located and explained.
        assert!(!e.file.is_empty(), "{e}");
        assert!(e.line > 0, "no line: {e}");
        assert!(!e.message.trim().is_empty(), "no reason: {e}");
    }
    (rs.rules().len() + rs.correlations().len(), errors)
}

/// The message with quoted names and numbers taken out, to group problems by kind.
fn kind(e: &RuleError) -> String {
    let mut out = String::new();
    let mut quoted = false;
    for ch in e.message.chars() {
        match ch {
            '\'' | '`' | '"' | '%' => {
                quoted = !quoted;
                if quoted {
                    out.push('…');
                }
            }
            _ if quoted => {}
            c if c.is_ascii_digit() => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            c => out.push(c),
        }
    }
    out.chars().take(80).collect()
}

fn summary(label: &str, loaded: usize, errors: &[RuleError]) -> usize {
    let rejected: Vec<_> = errors.iter().filter(|e| !e.warning).collect();
    let warnings = errors.len() - rejected.len();
    println!(
        "{label}: {loaded} rules loaded, {} rejected, {warnings} warnings",
        rejected.len()
    );
    let mut kinds: BTreeMap<(bool, String), usize> = BTreeMap::new();
    for e in errors {
        *kinds.entry((e.warning, kind(e))).or_default() += 1;
    }
    for ((warning, k), n) in &kinds {
        let what = if *warning { "warning" } else { "error" };
        println!("  {n:4} {what}: {k}");
    }
    rejected.len()
}

#[test]
fn sigmahq_rule_folders_load_without_rejections() {
    let Some(root) = corpus() else {
        println!("SKIP sigmahq_rules: corpus ../shared/corpora/sigma not found");
        return;
    };
    let mut folders: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("rules"))
        .collect();
    folders.sort();
    let dirs: Vec<&str> = folders.iter().map(String::as_str).collect();
    let (loaded, errors) = check(&root, &dirs);
    for e in &errors {
        println!("{e}");
    }
    let rejected = summary(&dirs.join(" "), loaded, &errors);
    assert_eq!(rejected, 0);
    // rules/ 3141 + rules-emerging-threats 473 + rules-threat-hunting 140
    // + rules-compliance 3 + rules-placeholder 23 at SigmaHQ 8eaafff.
    assert!(loaded >= 3780, "only {loaded} rules loaded");
}

#[test]
fn deprecated_and_unsupported_rejections_are_explained() {
    let Some(root) = corpus() else {
        println!("SKIP sigmahq_rules: corpus ../shared/corpora/sigma not found");
        return;
    };
    for d in ["deprecated", "unsupported"] {
        if !root.join(d).is_dir() {
            continue;
        }
        let (loaded, errors) = check(&root, &[d]);
        for e in errors.iter().filter(|e| !e.warning) {
            println!("{e}");
        }
        summary(d, loaded, &errors);
    }
}
