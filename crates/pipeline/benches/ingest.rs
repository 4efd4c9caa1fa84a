//! Criterion benchmark of the monitoring path's two halves on one 5,000-event batch shaped
//! like `mamori loadgen`'s (half EVTX sample records as a sensor sends them, half generated
//! network/DNS/proxy events): `prepare` (parse, normalise, detect with the SigmaHQ Windows
//! rules, route, encode the event blocks) and `commit` (one SQLite transaction). With the
//! corpus absent it uses a small built-in rule and generated events only, and says so.
//! `prepare_5000_patterns_1000` repeats `prepare` with 1,000 STIX pattern indicators loaded
//! (900 equality patterns on addresses, domains, URLs and hashes, 10 % of the DNS events
//! matching, and 100 `LIKE` patterns on URLs). `BENCH_PREPARE_ITERS=N` runs `prepare` N
//! times without criterion (for `perf stat`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamori_pipeline::batch::{BatchHeader, RawBatch, Routing};
use mamori_pipeline::orgs::OrgTable;
use mamori_pipeline::{Engine, Settings};

const BATCH: usize = 5_000;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    p.join("sigma/rules/windows").is_dir().then_some(p)
}

fn network_event(i: u64, now_ms: i64) -> String {
    let host = format!("ws{:03}", i % 300);
    let src = format!("10.{}.{}.{}", (i / 65_536) % 256, (i / 256) % 256, i % 256);
    let ts = now_ms - (i % 60_000) as i64;
    match i % 3 {
        0 => serde_json::json!({"@timestamp": ts, "event.dataset": "zeek.conn", "host.name": host,
            "source.ip": src, "source.port": 49152 + i % 16_000,
            "destination.ip": format!("203.0.113.{}", i % 250), "destination.port": 443,
            "network.transport": "tcp", "source.bytes": i % 9000, "destination.bytes": i % 70_000}),
        1 => serde_json::json!({"@timestamp": ts, "event.dataset": "dns", "host.name": host,
            "source.ip": src, "dns.question.name": format!("cdn{}.example.com", i % 997),
            "dns.question.type": "A"}),
        _ => serde_json::json!({"@timestamp": ts, "event.dataset": "squid", "host.name": host,
            "source.ip": src, "url.full": format!("http://updates{}.example.net/pkg/{}.bin", i % 41, i % 1000),
            "http.request.method": "GET", "http.response.status_code": 200,
            "user_agent.original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}),
    }
    .to_string()
}

/// Flat sensor-shaped lines from the EVTX samples (the field names `mamori sensor` sends).
fn evtx_lines(root: &Path) -> Vec<String> {
    let (files, _) = mamori_detect::input::collect_files(&[root.join("evtx/hayabusa-sample-evtx")]);
    let mut out = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "evtx"))
    {
        let _ = mamori_detect::input::evtx::read_evtx(
            f,
            1,
            |ev| {
                let mut m = serde_json::Map::new();
                for (k, v) in ev.iter() {
                    m.insert(k.to_owned(), serde_json::Value::String(v.raw.to_string()));
                }
                Some(serde_json::Value::Object(m).to_string())
            },
            &mut |l| out.push(l),
        );
        if out.len() >= BATCH {
            break;
        }
    }
    out
}

fn setup() -> (Engine, RawBatch) {
    let root = corpus();
    let mut b = mamori_detect::RulesetBuilder::new();
    let now = 1_795_651_200_000;
    let mut lines: Vec<String> = Vec::new();
    match &root {
        Some(r) => {
            b.add_path(&r.join("sigma/rules/windows"));
            // BENCH_MIX=evtx|network|mix (default mix: half and half, as bench/ingest.sh).
            let mix = std::env::var("BENCH_MIX").unwrap_or_else(|_| "mix".into());
            let evtx = evtx_lines(r);
            for (i, l) in evtx.into_iter().take(BATCH).enumerate() {
                match mix.as_str() {
                    "evtx" => lines.push(l),
                    "network" => lines.push(network_event(i as u64, now)),
                    _ => {
                        if lines.len() < BATCH {
                            lines.push(l);
                            lines.push(network_event(i as u64, now));
                        }
                    }
                }
            }
            lines.truncate(BATCH);
        }
        None => {
            eprintln!("corpus absent (../shared/corpora): generated events and one built-in rule");
            b.add_source(
                "builtin.yml",
                "title: t\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    CommandLine|contains: ' -enc '\n  condition: s\n",
            );
        }
    }
    let mut i = lines.len() as u64;
    while lines.len() < BATCH {
        lines.push(network_event(i, now));
        i += 1;
    }
    let engine = Engine::new(b.build().0);
    let batch = RawBatch {
        header: BatchHeader {
            source: "sensor:bench".into(),
            batch_id: "0".into(),
            org_id: mamori_model::OrgId::new(),
            routing: Routing::Sensor,
            format: "json".into(),
            received_at: now,
        },
        body: lines.join("\n").into_bytes(),
    };
    (engine, batch)
}

/// `n` pattern indicators: 90 % equality patterns (a few match the generated DNS events),
/// 10 % `LIKE` patterns on URLs (none match).
fn pattern_indicators(n: usize) -> mamori_pipeline::Indicators {
    let marking = mamori_model::Marking {
        tlp: mamori_model::Tlp::Green,
        owner_org: mamori_model::OrgId::new(),
        sharing_group: None,
        recipients: vec![],
    };
    let list = (0..n)
        .map(|i| {
            let p = match i % 10 {
                0 => format!("[url:value LIKE '%/evil{i}/%']"),
                1 | 2 => format!("[ipv4-addr:value = '198.51.{}.{}']", i / 250, i % 250),
                3 | 4 => format!("[domain-name:value = 'cdn{}.example.com']", i / 10),
                5 => format!(
                    "[network-traffic:dst_ref.value = '198.18.{}.{}' AND network-traffic:dst_port = 443]",
                    i / 250,
                    i % 250
                ),
                6 | 7 => format!("[file:hashes.'SHA-256' = '{:064x}']", i),
                _ => format!("[url:value = 'http://bad{i}.example/x']"),
            };
            mamori_store::reports::DetectionIndicator {
                matches: mamori_store::reports::DetectionMatch::Pattern(p),
                marking: marking.clone(),
            }
        })
        .collect();
    mamori_pipeline::Indicators::build(list).0
}

fn bench(c: &mut Criterion) {
    let (engine, batch) = setup();
    let orgs = OrgTable::default();
    let settings = Settings::default();
    // BENCH_PREPARE_ITERS=N: run `prepare` N times and stop, for instruction counts that do
    // not move with the machine's load (`perf stat -e instructions:u`, minus a run with 0).
    if let Some(n) = std::env::var("BENCH_PREPARE_ITERS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
    {
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(mamori_pipeline::process::prepare(
                &engine, &orgs, &settings, &batch,
            ));
        }
        eprintln!("{n} x prepare_5000 in {:?}", t.elapsed());
        std::process::exit(0);
    }
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10);
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("prepare_5000", |b| {
        b.iter(|| mamori_pipeline::process::prepare(&engine, &orgs, &settings, &batch))
    });
    engine.set_indicators(pattern_indicators(1_000));
    g.bench_function("prepare_5000_patterns_1000", |b| {
        b.iter(|| mamori_pipeline::process::prepare(&engine, &orgs, &settings, &batch))
    });
    engine.set_indicators(mamori_pipeline::Indicators::default());
    let prepared = mamori_pipeline::process::prepare(&engine, &orgs, &settings, &batch);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/bench.db", dir.path().display());
    let store = rt.block_on(async {
        let s = mamori_store::Store::connect(&url, &mamori_store::ConnectOptions::default())
            .await
            .unwrap();
        s.migrate().await.unwrap();
        s
    });
    let mut n = 0u64;
    g.bench_function("commit_5000_sqlite", |b| {
        b.iter(|| {
            n += 1;
            let mut p = prepared.clone();
            p.batch_id = n.to_string();
            p.org_id = mamori_model::OrgId::new();
            rt.block_on(store.commit_batch(&p)).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
