//! EVTX directories: a sample from ../shared/corpora/evtx is read once, forwarded, and not
//! read again after a restart (checkpoint by file and record id); a second file dropped into
//! the directory later is picked up. Skipped when the corpus is absent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{Receiver, config, run_once};

fn sample(name: &str) -> Option<std::path::PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/evtx/hayabusa-sample-evtx/YamatoSecurity/CredentialAccess")
        .join(name);
    p.exists().then_some(p)
}

#[tokio::test]
async fn evtx_directory_is_read_once() {
    let (Some(a), Some(b)) = (
        sample("T1558.003_StealOrForgeKerberosTicketsKerberoasting_Security.evtx"),
        sample("T1558.004_StealOrForgeKerberosTicketsAS-REP-Roasting_Security.evtx"),
    ) else {
        println!("SKIP evtx_directory_is_read_once: corpus ../shared/corpora/evtx not found");
        return;
    };
    let hub = Receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    let evtx = dir.path().join("evtx");
    std::fs::create_dir(&evtx).unwrap();
    std::fs::copy(&a, evtx.join("a.evtx")).unwrap();
    let mut c = config(&hub.url(), &dir.path().join("state"));
    c.evtx = vec![evtx.clone()];
    let s = run_once(c.clone()).await;
    assert!(s.read > 0);
    assert_eq!((s.parsed, s.forwarded, s.rejected), (s.read, s.read, 0));
    let got = hub.lines();
    assert!(
        got.iter()
            .all(|e| e["Channel"].is_string() && e["EventID"].is_i64()),
        "{}",
        got[0]
    );
    assert!(
        got.iter()
            .all(|e| e["@timestamp"].is_string() && e["observer.name"] == "test-sensor")
    );
    let first = s.read;

    let s = run_once(c.clone()).await;
    assert_eq!(s.read, 0, "nothing read twice");
    std::fs::copy(&b, evtx.join("b.evtx")).unwrap();
    let s = run_once(c).await;
    assert!(s.read > 0);
    assert_eq!(hub.lines().len() as u64, first + s.read);
}
