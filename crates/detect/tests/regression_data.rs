//! SigmaHQ regression data: every test's .evtx must fire its rule exactly `match_count`
//! times (at least once when no count is given), with rules, rules-emerging-threats and
//! rules-threat-hunting all loaded together and logsource routing on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use mamori_detect::input::evtx::read_evtx;
use mamori_detect::sigma::yaml::{Node, parse_documents};
use mamori_detect::{CompiledRule, EventView, RulesetBuilder};

/// Lowest pass count accepted (raise when the engine improves).
const FLOOR: usize = 198;

fn corpus() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/sigma");
    root.join("regression_data").is_dir().then_some(root)
}

struct Case {
    info: PathBuf,
    rule_ids: Vec<String>,
    evtx: PathBuf,
    count: Option<usize>,
}

fn cases(root: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    let mut infos: Vec<PathBuf> = walkdir(root.join("regression_data"));
    infos.sort();
    for info in infos {
        let text = std::fs::read_to_string(&info).unwrap();
        let doc = parse_documents(&text).unwrap().into_iter().next().unwrap();
        let ids: Vec<String> = match doc.get("rule_metadata").map(|n| &n.value) {
            Some(mamori_detect::sigma::yaml::Value::Seq(items)) => items
                .iter()
                .filter_map(|i| i.get("id").and_then(Node::as_scalar_string))
                .collect(),
            _ => continue,
        };
        let Some(mamori_detect::sigma::yaml::Value::Seq(tests)) =
            doc.get("regression_tests_info").map(|n| &n.value)
        else {
            continue;
        };
        for t in tests {
            if t.get("type").and_then(Node::as_scalar_string).as_deref() != Some("evtx") {
                continue;
            }
            let Some(p) = t.get("path").and_then(Node::as_scalar_string) else {
                continue;
            };
            let count = t
                .get("match_count")
                .and_then(Node::as_scalar_string)
                .and_then(|c| c.parse().ok());
            out.push(Case {
                info: info.clone(),
                rule_ids: ids.clone(),
                evtx: root.join(p),
                count,
            });
        }
    }
    out
}

fn walkdir(dir: PathBuf) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "info.yml") {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn regression_data() {
    let Some(root) = corpus() else {
        println!("SKIP regression_data: corpus ../shared/corpora/sigma not found");
        return;
    };
    let mut b = RulesetBuilder::new();
    for d in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
        b.add_path(&root.join(d));
    }
    let (rs, errors) = b.build();
    let rejected = errors.iter().filter(|e| !e.warning).count();
    println!("rules loaded: {}, rejected: {rejected}", rs.rules().len());
    let cases = cases(&root);
    let mut pass = 0;
    let mut prefilter_diffs = 0usize;
    let mut total_matches = 0usize;
    let mut failures = Vec::new();
    for c in &cases {
        let mut events: Vec<EventView> = Vec::new();
        let stats = read_evtx(&c.evtx, 1, Some, &mut |e| events.push(e)).unwrap();
        let mut hits = 0usize;
        for mut ev in events {
            rs.prepare(&mut ev);
            let mut hit = false;
            let mut matched = Vec::new();
            rs.scan(&ev, &mut |i: usize, r: &CompiledRule, _e: &EventView| {
                matched.push(i);
                if c.rule_ids.contains(&r.meta.id) {
                    hit = true;
                }
                true
            });
            // The literal prefilter must never change results.
            let mut unfiltered = Vec::new();
            rs.scan_without_prefilter(&ev, &mut |i: usize, _: &CompiledRule, _: &EventView| {
                unfiltered.push(i);
                true
            });
            if matched != unfiltered {
                prefilter_diffs += 1;
            }
            total_matches += matched.len();
            hits += usize::from(hit);
        }
        let ok = match c.count {
            Some(n) => hits == n,
            None => hits >= 1,
        };
        if ok {
            pass += 1;
        } else {
            failures.push(format!(
                "{}: expected {:?}, got {hits} ({} events)",
                c.info.display(),
                c.count,
                stats.events
            ));
        }
    }
    for f in &failures {
        println!("FAIL {f}");
    }
    println!("regression_data: {pass}/{} passed", cases.len());
    println!(
        "prefilter guards {} rules; {total_matches} rule matches, {prefilter_diffs} events differ without it",
        rs.prefiltered_rules()
    );
    assert_eq!(prefilter_diffs, 0);
    assert!(pass >= FLOOR, "only {pass}/{} passed", cases.len());
}
