//! A bus worker against a real nats-server: started while the bus cannot serve it (the server
//! down, as when a JetStream cluster is still electing leaders), it keeps trying to join its
//! queue group and processes what arrives once the bus is back, instead of stopping and leaving
//! acknowledged batches unprocessed. Skipped (with a message) when nats-server is not
//! installed, unless MAMORI_REQUIRE_NATS=1.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mamori_bus::{Bus, BusOptions};
use mamori_detect::RulesetBuilder;
use mamori_pipeline::worker::{WorkerStats, enqueue, run_worker};
use mamori_pipeline::{Engine, Pipeline, Settings};
use mamori_store::{ConnectOptions, Store};
use mamori_testkit::nats::{NatsCluster, nats_server_or_skip};

async fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_started_while_the_bus_is_down_waits_and_then_processes() {
    let Some(bin) = nats_server_or_skip("a_worker_started_while_the_bus_is_down") else {
        return;
    };
    let mut server = NatsCluster::start(&bin, 1).unwrap_or_else(|e| panic!("{e}"));
    server.kill(0);

    let (_dir, url) = mamori_testkit::fresh_sqlite_url();
    let store = Store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let org = common::org(&store, "moj").await;
    let (rules, errs) = RulesetBuilder::new().build();
    assert!(errs.is_empty(), "{errs:?}");
    let pipeline = Pipeline::new(store.clone(), Engine::new(rules), Settings::default());
    let bus = Bus::open(
        &server.url(),
        BusOptions {
            connect_in_background: true,
            publish_timeout: Duration::from_secs(1),
            ..BusOptions::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let stats = Arc::new(WorkerStats::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(run_worker(
        pipeline,
        bus.clone(),
        stopped,
        Arc::clone(&stats),
    ));
    wait_for("a failed join", Duration::from_secs(30), || {
        stats.setup_retries.load(Ordering::Relaxed) >= 1
    })
    .await;
    assert!(
        !worker.is_finished(),
        "the worker gave up while the bus was down"
    );

    server.restart(0).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<_> = (0..5)
        .map(|i| serde_json::json!({"message": format!("line {i}"), "host": {"name": "ws01"}}))
        .collect();
    enqueue(&bus, &common::batch(org, "after-outage", &lines))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for("the batch to be processed", Duration::from_secs(60), || {
        stats.batches.load(Ordering::Relaxed) >= 1
    })
    .await;
    assert_eq!(store.count_events(None).await.unwrap(), 5);

    stop.send(true).unwrap();
    worker.await.unwrap().unwrap_or_else(|e| panic!("{e}"));
}
