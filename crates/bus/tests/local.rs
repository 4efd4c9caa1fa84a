//! The local bus on a real directory: round trips, redelivery, torn tails, group commit,
//! de-duplication and segment cleanup.

use std::collections::BTreeSet;
use std::time::Duration;

use bytes::Bytes;
use mamori_bus::{Bus, BusError, BusOptions, Delivery, LocalBus};

fn opts() -> BusOptions {
    BusOptions {
        ack_wait: Duration::from_millis(300),
        ..BusOptions::default()
    }
}

async fn open(dir: &std::path::Path, o: BusOptions) -> LocalBus {
    match Bus::open(&format!("local:{}", dir.display()), o).await {
        Ok(Bus::Local(b)) => b,
        Ok(_) => panic!("not a local bus"),
        Err(e) => panic!("open: {e}"),
    }
}

async fn drain(c: &mut mamori_bus::Consumer, wait: Duration) -> Vec<Delivery> {
    let mut all = Vec::new();
    loop {
        let b = c
            .next_batch(100, wait)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if b.is_empty() {
            return all;
        }
        all.extend(b);
    }
}

fn segments(dir: &std::path::Path, subject: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("subjects").join(subject))
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn publish_consume_ack_round_trip() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bus = Bus::Local(open(dir.path(), opts()).await);
    for i in 1..=3u64 {
        let p = bus
            .publish(
                "ingest",
                &format!("m{i}"),
                Bytes::from(format!("payload {i}")),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.seq, i);
        assert!(!p.duplicate);
    }
    let mut c = bus
        .consumer("ingest", "workers")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = c
        .next_batch(10, Duration::from_secs(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got.len(), 3);
    for (i, d) in got.into_iter().enumerate() {
        assert_eq!(d.seq(), i as u64 + 1);
        assert_eq!(d.msg_id(), Some(format!("m{}", i + 1).as_str()));
        assert_eq!(d.payload(), &Bytes::from(format!("payload {}", i + 1)));
        assert!(!d.redelivered());
        d.ack().await.unwrap_or_else(|e| panic!("{e}"));
    }
    // Acknowledged: nothing comes back, not even after the ack wait.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        c.next_batch(10, Duration::from_millis(100))
            .await
            .unwrap_or_default()
            .is_empty()
    );
    // A waiting consumer wakes up for a new message.
    let b2 = bus.clone();
    let waiter = tokio::spawn(async move {
        let mut c = b2
            .consumer("ingest", "workers")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        c.next_batch(10, Duration::from_secs(5))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    bus.publish("ingest", "", Bytes::from_static(b"late"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let late = waiter.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].msg_id(), None);
    assert_eq!(late[0].payload().as_ref(), b"late");
}

#[tokio::test]
async fn bad_names_and_sizes_are_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = BusOptions {
        max_payload: 10,
        ..opts()
    };
    let bus = Bus::Local(open(dir.path(), o).await);
    for s in ["", "../x", "a..b", ".x", "a b", "a/b"] {
        assert!(matches!(
            bus.publish(s, "", Bytes::new()).await,
            Err(BusError::InvalidName { .. })
        ));
    }
    assert!(matches!(
        bus.publish("s", "id with space", Bytes::new()).await,
        Err(BusError::InvalidName { .. })
    ));
    assert!(matches!(
        bus.publish("s", "", Bytes::from(vec![0; 11])).await,
        Err(BusError::PayloadTooLarge { size: 11, max: 10 })
    ));
    assert!(matches!(
        Bus::open("http://x", opts()).await,
        Err(BusError::InvalidUrl { .. })
    ));
    // One process at a time.
    assert!(matches!(
        LocalBus::open(dir.path(), opts()).await,
        Err(BusError::Locked(_))
    ));
}

#[tokio::test]
async fn unacked_messages_come_back_after_ack_wait_and_nak() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bus = Bus::Local(open(dir.path(), opts()).await);
    bus.publish("s", "a", Bytes::from_static(b"A"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    bus.publish("s", "b", Bytes::from_static(b"B"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut c = bus
        .consumer("s", "g")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = c
        .next_batch(10, Duration::from_secs(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.len(), 2);
    // Before the ack wait runs out nothing is delivered again.
    assert!(
        c.next_batch(10, Duration::from_millis(50))
            .await
            .unwrap_or_default()
            .is_empty()
    );
    let mut it = first.into_iter();
    let (a, b) = (it.next(), it.next());
    drop(a); // forgotten: comes back after ack_wait
    if let Some(b) = b {
        b.nak(Duration::from_millis(600))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let again = c
        .next_batch(10, Duration::from_secs(2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.len(), 1, "only the timed-out one first");
    assert_eq!(again[0].msg_id(), Some("a"));
    assert!(again[0].redelivered());
    for d in again {
        d.ack().await.unwrap_or_else(|e| panic!("{e}"));
    }
    let later = c
        .next_batch(10, Duration::from_secs(2))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].msg_id(), Some("b"));
    assert!(later[0].redelivered());
}

#[tokio::test]
async fn unacked_messages_come_back_after_reopen() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    {
        let bus = Bus::Local(open(dir.path(), opts()).await);
        for i in 1..=5 {
            bus.publish("s", &format!("m{i}"), Bytes::from(vec![i as u8; 100]))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let mut c = bus
            .consumer("s", "g")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let got = c
            .next_batch(10, Duration::from_secs(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got.len(), 5);
        for d in got {
            if d.seq() == 1 || d.seq() == 3 {
                d.ack().await.unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    let bus = Bus::Local(open(dir.path(), opts()).await);
    let mut c = bus
        .consumer("s", "g")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let seqs: Vec<u64> = drain(&mut c, Duration::from_millis(100))
        .await
        .iter()
        .map(Delivery::seq)
        .collect();
    assert_eq!(seqs, vec![2, 4, 5]);
    // New messages continue the sequence.
    let p = bus
        .publish("s", "m6", Bytes::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.seq, 6);
}

#[tokio::test]
async fn torn_tail_is_truncated_and_earlier_messages_survive() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    {
        let bus = open(dir.path(), opts()).await;
        for i in 1..=4 {
            bus.publish("s", &format!("m{i}"), Bytes::from(vec![b'x'; 1000]))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let seg = segments(dir.path(), "s")
        .pop()
        .unwrap_or_else(|| panic!("no segment"));
    let len = std::fs::metadata(&seg).map(|m| m.len()).unwrap_or(0);
    // A crash in the middle of writing the fourth record.
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap_or_else(|e| panic!("{e}"));
    f.set_len(len - 500).unwrap_or_else(|e| panic!("{e}"));
    drop(f);
    {
        let bus = Bus::Local(open(dir.path(), opts()).await);
        let mut c = bus
            .consumer("s", "g")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let got = drain(&mut c, Duration::from_millis(100)).await;
        let ids: Vec<_> = got
            .iter()
            .map(|d| d.msg_id().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(ids, ["m1", "m2", "m3"]);
        assert!(got.iter().all(|d| d.payload().len() == 1000));
        // The lost fourth was never acknowledged to its publisher: its retry gets seq 4 again.
        let p = bus
            .publish("s", "m4", Bytes::from_static(b"again"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            p,
            mamori_bus::Published {
                seq: 4,
                duplicate: false
            }
        );
    }
    // Garbage appended after valid records (a torn header) and a flipped bit in the last record.
    let seg = segments(dir.path(), "s")
        .pop()
        .unwrap_or_else(|| panic!("no segment"));
    let mut bytes = std::fs::read(&seg).unwrap_or_else(|e| panic!("{e}"));
    let n = bytes.len();
    bytes[n - 1] ^= 0x40;
    bytes.extend_from_slice(&[0xFF, 0xFF, 0x00]);
    std::fs::write(&seg, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let bus = Bus::Local(open(dir.path(), opts()).await);
    let mut c = bus
        .consumer("s", "g2")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = drain(&mut c, Duration::from_millis(100)).await;
    assert_eq!(
        got.iter().map(Delivery::seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bus = open(dir.path(), opts()).await;
    let (publishers, each) = (64, 20);
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..each {
                let r = bus
                    .publish("s", &format!("p{p}-{i}"), Bytes::from(vec![p as u8; 1024]))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                seqs.push(r.seq);
            }
            seqs
        }));
    }
    let mut all = BTreeSet::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_else(|e| panic!("{e}")));
    }
    let n = (publishers * each) as u64;
    assert_eq!(all, (1..=n).collect::<BTreeSet<_>>());
    let stats = bus.stats();
    assert_eq!(stats.published, n);
    eprintln!("{n} publishes, {} fsyncs", stats.fsyncs);
    assert!(
        stats.fsyncs * 4 < n,
        "group commit: {} fsyncs for {n} publishes",
        stats.fsyncs
    );
    // Two members of one group split the work without overlap.
    let bus = Bus::Local(bus);
    let mut c1 = bus
        .consumer("s", "g")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut c2 = bus
        .consumer("s", "g")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut seen = BTreeSet::new();
    loop {
        let a = c1
            .next_batch(50, Duration::from_millis(50))
            .await
            .unwrap_or_default();
        let b = c2
            .next_batch(50, Duration::from_millis(50))
            .await
            .unwrap_or_default();
        if a.is_empty() && b.is_empty() {
            break;
        }
        for d in a.into_iter().chain(b) {
            assert!(seen.insert(d.seq()), "delivered twice: {}", d.seq());
            d.ack().await.unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert_eq!(seen.len() as u64, n);
}

#[tokio::test]
async fn duplicate_message_ids_are_stored_once_even_after_reopen() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    {
        let bus = Bus::Local(open(dir.path(), opts()).await);
        let a = bus
            .publish("s", "batch-1", Bytes::from_static(b"1"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let b = bus
            .publish("s", "batch-1", Bytes::from_static(b"1"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a,
            mamori_bus::Published {
                seq: 1,
                duplicate: false
            }
        );
        assert_eq!(
            b,
            mamori_bus::Published {
                seq: 1,
                duplicate: true
            }
        );
        // Same id on another subject is another message.
        let c = bus
            .publish("t", "batch-1", Bytes::new())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.duplicate);
        // Concurrent re-publishes in one batch.
        let (x, y) = tokio::join!(
            bus.publish("s", "batch-2", Bytes::new()),
            bus.publish("s", "batch-2", Bytes::new())
        );
        let (x, y) = (
            x.unwrap_or_else(|e| panic!("{e}")),
            y.unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(x.seq, y.seq);
        assert!(x.duplicate != y.duplicate);
    }
    let bus = Bus::Local(open(dir.path(), opts()).await);
    let again = bus
        .publish("s", "batch-1", Bytes::from_static(b"1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        again,
        mamori_bus::Published {
            seq: 1,
            duplicate: true
        }
    );
    let mut c = bus
        .consumer("s", "g")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(drain(&mut c, Duration::from_millis(100)).await.len(), 2);
    // Outside the window the id is forgotten.
    drop(c);
    drop(bus);
    let short = BusOptions {
        duplicate_window: Duration::from_millis(1),
        ..opts()
    };
    tokio::time::sleep(Duration::from_millis(5)).await;
    let bus = Bus::Local(open(dir.path(), short).await);
    let late = bus
        .publish("s", "batch-1", Bytes::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!late.duplicate);
}

#[tokio::test]
async fn segments_are_deleted_once_every_group_acked_past_them() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = BusOptions {
        segment_bytes: 8 * 1024,
        duplicate_window: Duration::from_millis(1),
        ..opts()
    };
    let local = open(dir.path(), o.clone()).await;
    let bus = Bus::Local(local.clone());
    let mut g1 = bus
        .consumer("s", "g1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut g2 = bus
        .consumer("s", "g2")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..64 {
        bus.publish("s", &format!("m{i}"), Bytes::from(vec![7; 1024]))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let before = segments(dir.path(), "s").len();
    assert!(before >= 8, "{before} segments");
    tokio::time::sleep(Duration::from_millis(5)).await;
    for d in drain(&mut g1, Duration::from_millis(50)).await {
        d.ack().await.unwrap_or_else(|e| panic!("{e}"));
    }
    // g2 has acknowledged nothing: everything stays.
    assert_eq!(segments(dir.path(), "s").len(), before);
    let got = drain(&mut g2, Duration::from_millis(50)).await;
    assert_eq!(got.len(), 64);
    for d in got {
        d.ack().await.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        segments(dir.path(), "s").len(),
        1,
        "only the newest segment is kept"
    );
    assert_eq!(local.stats().segments_deleted as usize, before - 1);
    drop((g1, g2, bus, local));
    // After a reopen the sequence goes on and nothing old is delivered again.
    let bus = Bus::Local(open(dir.path(), o).await);
    let p = bus
        .publish("s", "next", Bytes::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.seq, 65);
    let mut g1 = bus
        .consumer("s", "g1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = drain(&mut g1, Duration::from_millis(50)).await;
    assert_eq!(got.iter().map(Delivery::seq).collect::<Vec<_>>(), vec![65]);
}
