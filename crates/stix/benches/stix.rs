//! Benchmarks: parsing a bundle of 10,000 indicators, parsing patterns, matching patterns.
//! Run: `cargo bench -p mamori-stix --bench stix -j1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamori_stix::{Bundle, Limits, Observation, Pattern, Timestamp};
use serde_json::{Map, Value, json};

const SIMPLE: &str = "[ipv4-addr:value = '198.51.100.7']";
const COMPLEX: &str = "([file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' OR file:name LIKE 'inv%.exe'] FOLLOWEDBY [network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port IN (80, 443, 8080)]) WITHIN 300 SECONDS";

fn indicators(n: usize) -> Vec<u8> {
    let objects: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": format!("indicator--00000000-0000-4000-8000-{i:012}"),
                "created": "2026-11-25T21:00:00.000Z",
                "modified": "2026-11-25T21:00:00.000Z",
                "name": format!("C2 {i}"),
                "indicator_types": ["malicious-activity"],
                "pattern": format!("[ipv4-addr:value = '10.{}.{}.{}']", i >> 16 & 255, i >> 8 & 255, i & 255),
                "pattern_type": "stix",
                "valid_from": "2026-11-25T21:00:00Z",
                "object_marking_refs": ["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]
            })
        })
        .collect();
    serde_json::to_vec(&json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects}))
        .unwrap()
}

fn observations() -> Vec<Observation> {
    (0..10)
        .map(|i| {
            let mut objects = Map::new();
            objects.insert("a".into(), json!({"type": "ipv4-addr", "value": format!("198.51.100.{i}")}));
            objects.insert("b".into(), json!({"type": "file", "name": format!("invoice{i}.exe"), "hashes": {"SHA-256": "00"}}));
            objects.insert("c".into(), json!({"type": "network-traffic", "dst_ref": "a", "dst_port": 443, "protocols": ["tcp"]}));
            Observation {
                first_observed: Timestamp::from_unix_millis(1_700_000_000_000 + i * 60_000),
                last_observed: Timestamp::from_unix_millis(1_700_000_000_000 + i * 60_000),
                number_observed: 1,
                objects,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let bytes = indicators(10_000);
    let mut g = c.benchmark_group("bundle");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("parse_10k_indicators", |b| {
        b.iter(|| Bundle::parse(black_box(&bytes), Limits::default()).unwrap())
    });
    let bundle = Bundle::parse(&bytes, Limits::default()).unwrap();
    g.bench_function("to_json_10k_indicators", |b| {
        b.iter(|| black_box(&bundle).to_json())
    });
    g.finish();

    let mut g = c.benchmark_group("pattern");
    g.bench_function("parse_simple", |b| {
        b.iter(|| Pattern::parse(black_box(SIMPLE)).unwrap())
    });
    g.bench_function("parse_complex", |b| {
        b.iter(|| Pattern::parse(black_box(COMPLEX)).unwrap())
    });
    let obs = observations();
    let simple = Pattern::parse(SIMPLE).unwrap();
    let complex = Pattern::parse(COMPLEX).unwrap();
    g.bench_function("match_simple_10_obs", |b| {
        b.iter(|| simple.matches(black_box(&obs)))
    });
    g.bench_function("match_complex_10_obs", |b| {
        b.iter(|| complex.matches(black_box(&obs)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
