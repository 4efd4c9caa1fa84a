//! The NATS bus against real nats-server processes on loopback: one node, and a cluster of
//! three with a node SIGKILLed while two members of a group consume. Skipped (with a message)
//! when nats-server is not installed, unless MAMORI_REQUIRE_NATS=1.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use mamori_bus::{Bus, BusOptions};
use mamori_testkit::nats::{NatsCluster, nats_server_or_skip};

fn opts() -> BusOptions {
    BusOptions {
        ack_wait: Duration::from_secs(2),
        ..BusOptions::default()
    }
}

#[tokio::test]
async fn single_node_round_trip_dedupe_and_nak() {
    let Some(bin) = nats_server_or_skip("single_node_round_trip_dedupe_and_nak") else {
        return;
    };
    let server = NatsCluster::start(&bin, 1).unwrap_or_else(|e| panic!("{e}"));
    let bus = Bus::open(&server.url(), opts())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(bus, Bus::Nats(_)));
    let big = Bytes::from(vec![b'z'; 3 << 20]);
    let a = bus
        .publish("ingest.batches", "b1", Bytes::from_static(b"one"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dup = bus
        .publish("ingest.batches", "b1", Bytes::from_static(b"one"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!a.duplicate);
    assert!(dup.duplicate);
    assert_eq!(dup.seq, a.seq);
    bus.publish("ingest.batches", "b2", big.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut c = bus
        .consumer("ingest.batches", "workers")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let got = c
        .next_batch(10, Duration::from_secs(3))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "fetch waited although messages were there"
    );
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].msg_id(), Some("b1"));
    assert_eq!(got[0].payload().as_ref(), b"one");
    assert_eq!(got[1].payload(), &big);
    let mut it = got.into_iter();
    if let Some(first) = it.next() {
        first.ack().await.unwrap_or_else(|e| panic!("{e}"));
    }
    if let Some(second) = it.next() {
        second
            .nak(Duration::from_millis(100))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let again = c
        .next_batch(10, Duration::from_secs(3))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].msg_id(), Some("b2"));
    assert!(again[0].redelivered());
    for d in again {
        d.ack().await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(
        c.next_batch(10, Duration::from_secs(1))
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_of_three_survives_a_sigkilled_node() {
    let Some(bin) = nats_server_or_skip("cluster_of_three_survives_a_sigkilled_node") else {
        return;
    };
    let mut cluster = NatsCluster::start(&bin, 3).unwrap_or_else(|e| panic!("{e}"));
    let o = BusOptions {
        replicas: Some(3),
        ..opts()
    };
    let publisher = Bus::open(&cluster.url(), o.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let n = 400;
    let mut acked_pub = BTreeSet::new();
    for i in 0..n / 2 {
        let id = format!("m{i}");
        publisher
            .publish("ingest", &id, Bytes::from(id.clone()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        acked_pub.insert(id);
    }
    let dup = publisher
        .publish("ingest", "m0", Bytes::from_static(b"m0"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(dup.duplicate);
    // Two members of one group, each with its own connection (as two processes would have).
    let seen = Arc::new(Mutex::new((HashSet::<String>::new(), 0usize)));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut members = Vec::new();
    for _ in 0..2 {
        let bus = Bus::open(&cluster.url(), o.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut c = bus
            .consumer("ingest", "workers")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (seen, stop) = (seen.clone(), stop.clone());
        members.push(tokio::spawn(async move {
            let mut mine = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Errors are expected while a node is down: keep going, as a worker would.
                let Ok(batch) = c.next_batch(20, Duration::from_secs(1)).await else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                };
                for d in batch {
                    // Delivered counts even when the ack's confirmation is lost in the
                    // failover (the server may have applied it): at least once, not exactly.
                    let id = d.msg_id().unwrap_or_default().to_owned();
                    seen.lock().unwrap_or_else(|p| p.into_inner()).0.insert(id);
                    if d.ack().await.is_ok() {
                        mine += 1;
                        seen.lock().unwrap_or_else(|p| p.into_inner()).1 += 1;
                    }
                }
            }
            mine
        }));
        std::mem::forget(bus);
    }
    // Kill a node once the members are busy, publish the rest while it is down, restart it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while seen.lock().unwrap_or_else(|p| p.into_inner()).1 < 50 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.kill(1);
    for i in n / 2..n {
        let id = format!("m{i}");
        publisher
            .publish("ingest", &id, Bytes::from(id.clone()))
            .await
            .unwrap_or_else(|e| panic!("publish {id} with a node down: {e}"));
        acked_pub.insert(id);
    }
    cluster.restart(1).unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = seen.lock().unwrap_or_else(|p| p.into_inner()).0.len() >= acked_pub.len();
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut per_member = Vec::new();
    for m in members {
        per_member.push(m.await.unwrap_or_else(|e| panic!("{e}")));
    }
    let (ids, acks) = {
        let s = seen.lock().unwrap_or_else(|p| p.into_inner());
        (s.0.clone(), s.1)
    };
    let missing: Vec<_> = acked_pub
        .iter()
        .filter(|id| !ids.contains(*id))
        .take(10)
        .collect();
    assert!(missing.is_empty(), "never delivered: {missing:?}");
    eprintln!(
        "{} published, {acks} acks by members {per_member:?}",
        acked_pub.len()
    );
    assert!(
        per_member.iter().all(|&m| m > 0),
        "both members got work: {per_member:?}"
    );
}
