//! Criterion benchmark of `analyze` over the synthetic fixtures and, when present, a sample of
//! the shared corpus (every 20th message).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn load() -> Vec<Vec<u8>> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for f in ["ppap_jp.eml", "html_phish.eml", "attachments.eml"] {
        out.push(std::fs::read(manifest.join("testdata").join(f)).unwrap());
    }
    let corpus = manifest.join("../../../shared/corpora/mail");
    let mut stack = vec![corpus];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "eml") {
                files.push(p);
            }
        }
    }
    files.sort();
    for f in files.into_iter().step_by(20) {
        out.push(std::fs::read(f).unwrap());
    }
    out
}

fn bench(c: &mut Criterion) {
    let mails = load();
    let bytes: usize = mails.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("analyze");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function(format!("{}_messages", mails.len()), |b| {
        b.iter(|| {
            for m in &mails {
                std::hint::black_box(mamori_mail::analyze(m));
            }
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
