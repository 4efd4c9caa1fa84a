//! A true crash: a child process publishes with many concurrent publishers and prints each
//! acknowledged message; the parent SIGKILLs it mid-stream, reopens the directory and checks
//! that every acknowledged message is there, intact.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use mamori_bus::{Bus, BusOptions};

const ROLE: &str = "MAMORI_BUS_CRASH_CHILD_DIR";

fn payload(id: &str) -> Bytes {
    Bytes::from(id.repeat(200))
}

/// The child: runs only when the parent sets the role variable; publishes until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_child_publisher() {
    let Ok(dir) = std::env::var(ROLE) else {
        return;
    };
    let bus = Bus::open(&dir, BusOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tasks = Vec::new();
    for p in 0..8 {
        let bus = bus.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0.. {
                let id = format!("p{p}-{i}");
                let r = bus
                    .publish("crash", &id, payload(&id))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                println!("acked {id} {}", r.seq);
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

#[tokio::test]
async fn every_acknowledged_message_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "crash_child_publisher",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn child: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut lines = BufReader::new(stdout).lines();
    while acked.len() < 2000 {
        let Some(Ok(line)) = lines.next() else {
            panic!("child stopped early after {} acks", acked.len());
        };
        if let Some(rest) = line.strip_prefix("acked ") {
            let (id, seq) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            acked.insert(id.to_owned(), seq.parse().unwrap_or_else(|e| panic!("{e}")));
        }
    }
    child.kill().unwrap_or_else(|e| panic!("SIGKILL: {e}"));
    // Lines already in the pipe were acknowledged before the kill too.
    for line in lines.map_while(Result::ok) {
        if let Some((id, seq)) = line.strip_prefix("acked ").and_then(|r| r.split_once(' '))
            && let Ok(seq) = seq.parse()
        {
            acked.insert(id.to_owned(), seq);
        }
    }
    let _ = child.wait();
    let bus = Bus::open(&dir.path().display().to_string(), BusOptions::default())
        .await
        .unwrap_or_else(|e| panic!("reopen: {e}"));
    let mut c = bus
        .consumer("crash", "check")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stored: HashMap<String, u64> = HashMap::new();
    loop {
        let batch = c
            .next_batch(1000, Duration::from_millis(200))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if batch.is_empty() {
            break;
        }
        for d in batch {
            let id = d.msg_id().unwrap_or_default().to_owned();
            assert_eq!(d.payload(), &payload(&id), "payload of {id}");
            assert!(stored.insert(id, d.seq()).is_none(), "stored twice");
        }
    }
    for (id, seq) in &acked {
        assert_eq!(
            stored.get(id),
            Some(seq),
            "acknowledged {id} (seq {seq}) lost"
        );
    }
    eprintln!(
        "{} acknowledged, {} stored after SIGKILL",
        acked.len(),
        stored.len()
    );
}
