//! Any text as a Sigma rule file: the rule set builds (rules or located errors), never
//! panics, and scanning events made from the same text gives the same matches with and
//! without the literal prefilter; routed matches are a subset of unrouted ones.
//! Correlations in the text are evaluated over those matches.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_detect::{CompiledRule, EventView, RulesetBuilder};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut b = RulesetBuilder::new();
    b.add_source("fuzz.yml", text);
    let (rs, errors) = b.build();
    for e in &errors {
        let _ = e.to_string();
    }
    if rs.rules().is_empty() {
        return;
    }
    for mut ev in events(text) {
        rs.prepare(&mut ev);
        let mut filtered = Vec::new();
        rs.scan(&ev, &mut |i: usize, _: &CompiledRule, _: &EventView| {
            filtered.push(i);
            true
        });
        let mut unfiltered = Vec::new();
        rs.scan_without_prefilter(&ev, &mut |i: usize, _: &CompiledRule, _: &EventView| {
            unfiltered.push(i);
            true
        });
        assert_eq!(filtered, unfiltered, "the prefilter changed the result");
        let mut unrouted = Vec::new();
        rs.scan_unrouted(&ev, &mut |i: usize, _: &CompiledRule, _: &EventView| {
            unrouted.push(i);
            true
        });
        assert!(filtered.iter().all(|i| unrouted.contains(i)));
        for (c, corr) in rs.correlations().iter().enumerate() {
            let obs = filtered
                .iter()
                .enumerate()
                .filter_map(|(n, &i)| corr.observe(i, &ev, n))
                .collect();
            let _ = corr.evaluate(c, obs);
        }
    }
});

/// Events whose fields come from the rule text itself (`name: value` and `- value` lines,
/// modifiers stripped), so the matchers see the literals they were built from, once as a
/// Sysmon process creation and once with no channel.
fn events(text: &str) -> Vec<EventView> {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut last = String::from("CommandLine");
    for line in text.lines().take(200) {
        let line = line.trim().trim_start_matches("- ");
        if let Some((k, v)) = line.split_once(':') {
            let k = k.trim().split('|').next().unwrap_or_default().to_owned();
            if !k.is_empty() {
                last = k;
            }
            fields.push((last.clone(), unquote(v)));
        } else {
            fields.push((last.clone(), unquote(line)));
        }
    }
    let mut out = Vec::new();
    for sysmon in [true, false] {
        let mut ev = EventView::new();
        if sysmon {
            ev.push_str("Channel", "Microsoft-Windows-Sysmon/Operational");
            ev.push_str("EventID", "1");
        }
        ev.push_str("TimeCreated", "2024-01-01T00:00:00.000Z");
        for (k, v) in &fields {
            ev.push_str(k, v);
        }
        ev.finish();
        out.push(ev);
    }
    out
}

fn unquote(v: &str) -> String {
    v.trim()
        .trim_matches(|c| c == '\'' || c == '"')
        .replace('*', "")
}
