//! Criterion benchmark of the engine: scanning pre-parsed events against the SigmaHQ rule
//! set (all of rules/, rules-emerging-threats/, rules-threat-hunting/) with logsource
//! routing, versus a small built-in rule set when the corpus is absent; and `ioc/scan`: the
//! same events against 6,250 shared indicators (addresses, domains, SHA-256 hashes), none
//! of which most events hold, as a hub with a feed loaded sees them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamori_detect::input::evtx::read_evtx;
use mamori_detect::{CompiledRule, EventView, Ruleset, RulesetBuilder};

fn corpus() -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    p.join("sigma/rules").is_dir().then_some(p)
}

fn ruleset(root: Option<&Path>) -> Ruleset {
    let mut b = RulesetBuilder::new();
    match root {
        Some(r) => {
            for d in ["rules", "rules-emerging-threats", "rules-threat-hunting"] {
                b.add_path(&r.join("sigma").join(d));
            }
        }
        None => {
            b.add_source(
                "builtin.yml",
                "title: t\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    CommandLine|contains: ' -enc '\n  condition: s\n",
            );
        }
    }
    b.build().0
}

fn events(root: Option<&Path>) -> Vec<EventView> {
    let mut out = Vec::new();
    if let Some(r) = root {
        let mut files: Vec<_> = walk(&r.join("sigma/regression_data"));
        files.sort();
        for f in files {
            let _ = read_evtx(&f, 1, Some, &mut |e| out.push(e));
        }
    }
    if out.is_empty() {
        for i in 0..1000 {
            let mut e = EventView::new();
            e.push_str("Channel", "Microsoft-Windows-Sysmon/Operational");
            e.push_str("EventID", "1");
            e.push_str("Image", &format!("C:\\Windows\\System32\\tool{i}.exe"));
            e.push_str("CommandLine", &format!("tool{i}.exe -enc AAAA"));
            e.finish();
            out.push(e);
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "evtx") {
            out.push(p);
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let root = corpus();
    if root.is_none() {
        eprintln!(
            "corpus ../shared/corpora not found: benchmarking a built-in rule and synthetic events"
        );
    }
    let rs = ruleset(root.as_deref());
    let mut evs = events(root.as_deref());
    for e in &mut evs {
        rs.prepare(e);
    }
    let mut g = c.benchmark_group("scan");
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.bench_function(
        format!("routed/{}rules/{}events", rs.rules().len(), evs.len()),
        |b| {
            b.iter(|| {
                let mut n = 0usize;
                for e in &evs {
                    rs.scan(e, &mut |_: usize, _: &CompiledRule, _: &EventView| {
                        n += 1;
                        true
                    });
                }
                black_box(n)
            })
        },
    );
    g.sample_size(10);
    g.bench_function(
        format!("unrouted/{}rules/{}events", rs.rules().len(), evs.len()),
        |b| {
            b.iter(|| {
                let mut n = 0usize;
                for e in &evs {
                    rs.scan_unrouted(e, &mut |_: usize, _: &CompiledRule, _: &EventView| {
                        n += 1;
                        true
                    });
                }
                black_box(n)
            })
        },
    );
    g.finish();
}

fn ioc(c: &mut Criterion) {
    let evs = events(corpus().as_deref());
    let mut values: Vec<String> = (0..250).map(|i| format!("203.0.113.{i}")).collect();
    values.extend((0..1_000).map(|i| format!("cdn{i}.example.com")));
    values.extend((0..5_000u64).map(|i| {
        let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        format!("{x:016x}{x:016x}{x:016x}{x:016x}")
    }));
    let (set, skipped) = mamori_detect::ioc::IocSet::from_values(values.iter().map(String::as_str));
    assert_eq!(skipped, 0);
    let mut g = c.benchmark_group("ioc");
    g.throughput(Throughput::Elements(evs.len() as u64));
    g.bench_function(
        format!("scan/{}values/{}events", set.len(), evs.len()),
        |b| b.iter(|| evs.iter().map(|e| set.scan(e).len()).sum::<usize>()),
    );
    g.finish();
}

criterion_group!(benches, bench, ioc);
criterion_main!(benches);
