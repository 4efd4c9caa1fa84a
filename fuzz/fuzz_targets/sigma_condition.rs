//! Any text as a Sigma `condition`: `parse_condition` returns, never panics; a parsed
//! condition resolves against a fixed set of search names or says why not, and a rule with
//! that condition compiles or is rejected with a located error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_detect::sigma::condition::{parse_condition, resolve};
use mamori_detect::{CompiledRule, EventView, RulesetBuilder};

const NAMES: [&str; 5] = ["selection", "sel_a", "sel_b", "filter_main", "_hidden"];

fuzz_target!(|data: &[u8]| {
    let Ok(cond) = std::str::from_utf8(data) else {
        return;
    };
    let names: Vec<String> = NAMES.iter().map(|s| (*s).to_owned()).collect();
    if let Ok(ast) = parse_condition(cond) {
        let _ = resolve(&ast, &names);
    }
    if cond.contains(['\n', '\r']) {
        return;
    }
    let mut rule = String::from("title: f\nlogsource:\n  product: windows\ndetection:\n");
    for (i, n) in NAMES.iter().enumerate() {
        rule.push_str(&format!("  {n}:\n    F{i}: 'v{i}'\n"));
    }
    // A YAML single-quoted scalar: quotes doubled, so any one-line text is the condition.
    rule.push_str(&format!("  condition: '{}'\n", cond.replace('\'', "''")));
    let mut b = RulesetBuilder::new();
    b.add_source("fuzz.yml", &rule);
    let (rs, errors) = b.build();
    assert!(errors.iter().all(|e| e.line > 0 || e.warning), "{errors:?}");
    let mut ev = EventView::new();
    ev.push_str("F0", "v0");
    ev.push_str("F2", "v2");
    ev.finish();
    rs.scan_unrouted(&ev, &mut |_: usize, _: &CompiledRule, _: &EventView| true);
});
