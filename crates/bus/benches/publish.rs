//! Local bus publish throughput: each publish returns only after its record is fsync'd, so one
//! publisher at a time pays one fsync per message, and concurrent publishers share fsyncs (group
//! commit). Payloads of 1 KiB and 256 KiB, with 1 and 64 concurrent publishers. The directory is
//! a temporary one (set TMPDIR to measure another disk).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mamori_bus::{BusOptions, LocalBus};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("local_publish");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (label, size) in [("1KiB", 1024usize), ("256KiB", 256 * 1024)] {
        for publishers in [1usize, 64] {
            let per_iter = publishers * if size > 4096 { 2 } else { 16 };
            g.throughput(Throughput::Bytes((per_iter * size) as u64));
            let dir = tempfile::tempdir().unwrap();
            let bus = rt
                .block_on(LocalBus::open(dir.path(), BusOptions::default()))
                .unwrap();
            let payload = Bytes::from(vec![0x5Au8; size]);
            g.bench_function(format!("{label}/{publishers}_publishers"), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters {
                            let mut tasks = Vec::with_capacity(publishers);
                            for _ in 0..publishers {
                                let (bus, payload) = (bus.clone(), payload.clone());
                                tasks.push(tokio::spawn(async move {
                                    for _ in 0..per_iter / publishers {
                                        bus.publish("bench", "", payload.clone()).await.unwrap();
                                    }
                                }));
                            }
                            for t in tasks {
                                t.await.unwrap();
                            }
                        }
                        start.elapsed()
                    })
                })
            });
            let s = bus.stats();
            eprintln!(
                "{label} x{publishers}: {} publishes, {} fsyncs ({:.1} per fsync)",
                s.published,
                s.fsyncs,
                s.published as f64 / s.fsyncs.max(1) as f64
            );
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
