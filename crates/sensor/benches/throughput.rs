//! Sensor throughput (`cargo bench -p mamori-sensor --bench throughput`): lines tailed, parsed
//! (auto-detected syslog), batched, compressed and acknowledged by the local test receiver
//! (which only decompresses and counts), per second. A measurement, not a test: it is not run
//! by `cargo test`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::Write;
use std::time::Instant;

use common::{Receiver, config, run_once};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    const N: usize = 200_000;
    let hub = Receiver::start().await;
    hub.count_only();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
    for i in 0..N {
        writeln!(
            f,
            "<38>1 2026-01-02T03:04:05.{:03}Z ws{:03} sshd {i} - - Failed password for user{} from 198.51.100.{} port {} ssh2",
            i % 1000,
            i % 500,
            i % 97,
            i % 250,
            1024 + i % 60000
        )
        .unwrap();
    }
    f.flush().unwrap();
    drop(f);
    let mut c = config(&hub.url(), &dir.path().join("state"));
    c.tail = vec![log.display().to_string().parse().unwrap()];
    c.batch_max_events = 1000;
    let t = Instant::now();
    let s = run_once(c).await;
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(s.forwarded, N as u64);
    assert_eq!(hub.counted(), N);
    println!(
        "{N} lines tailed+parsed+forwarded in {secs:.2} s: {:.0} lines/s ({s})",
        N as f64 / secs
    );
}
