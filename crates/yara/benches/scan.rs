//! Criterion benchmark of scanning: one rule set of 200 string, hex and regex rules over a
//! 1 MiB buffer and over many small parts (the shape of mail analysis: a scanner per part),
//! and a whole message analysed with and without YARA.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamori_yara::{RuleSet, Source, YaraScanner};

fn rules() -> RuleSet {
    let mut text = String::new();
    for i in 0..200 {
        text.push_str(&format!(
            "rule r{i} : bench {{ meta: score = {} strings: $s = \"marker-{i:04}\" $h = {{ 4D 5A ?? ?? {:02X} {:02X} }} $r = /evil{i}\\.(com|jp)/ condition: any of them }}\n",
            i % 100,
            i % 256,
            (i * 7) % 256
        ));
    }
    RuleSet::compile(&[Source::new("bench", text)]).unwrap()
}

fn data(len: usize) -> Vec<u8> {
    let mut x: u32 = 7;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let set = rules();
    let big = data(1024 * 1024);
    let small: Vec<Vec<u8>> = (0..100).map(|i| data(2048 + i)).collect();
    let mut g = c.benchmark_group("yara");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("scan_1mib", |b| {
        b.iter(|| std::hint::black_box(set.scan(&big).unwrap()))
    });
    g.throughput(Throughput::Elements(small.len() as u64));
    g.bench_function("scan_100_parts_of_2kib", |b| {
        b.iter(|| {
            for p in &small {
                std::hint::black_box(set.scan(p).unwrap());
            }
        })
    });
    let mail = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../mail/testdata/ppap_jp.eml"),
    )
    .unwrap();
    let opts = mamori_mail::Options {
        scanner: Some(Arc::new(YaraScanner::new(Arc::new(set))).into()),
        ..mamori_mail::Options::default()
    };
    g.throughput(Throughput::Elements(1));
    g.bench_function("analyze_ppap_mail_without_yara", |b| {
        b.iter(|| std::hint::black_box(mamori_mail::analyze(&mail)))
    });
    g.bench_function("analyze_ppap_mail_with_yara", |b| {
        b.iter(|| std::hint::black_box(mamori_mail::analyze_with(&mail, &opts)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
