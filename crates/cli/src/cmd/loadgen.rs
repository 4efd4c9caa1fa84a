//! `mamori loadgen`: replays realistic events at a hub's ingestion API — Windows records from
//! EVTX samples plus generated network, DNS and proxy events — in zstd NDJSON batches from
//! several connections, at full speed or a chosen rate, and reports events/s, batch latency and
//! the alert latency of a canary event that a Sigma rule must catch. With `--nats` it publishes
//! the batches to the hub's NATS intake instead, sealed as `mamori sensor --nats` does.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use mamori_bus::intake::{INTAKE_SUBJECT, IntakeKey};
use serde_json::json;

use super::runtime;

#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {
    /// The hub, e.g. http://127.0.0.1:8080 (repeat to spread batches over several hubs).
    #[arg(long = "hub", required = true)]
    pub hubs: Vec<String>,
    /// A sensor token (mms_...) or an API token with the write scope.
    #[arg(long, env = "MAMORI_TOKEN")]
    pub token: String,
    /// A user token that may read alerts: measures the canary's alert latency.
    #[arg(long, env = "MAMORI_READ_TOKEN")]
    pub read_token: Option<String>,
    /// Events to send.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Events per batch.
    #[arg(long, default_value_t = 5_000)]
    pub batch: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Events per second to aim for (0: as fast as the hub takes them).
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// EVTX files or directories to take Windows events from (default: generated events only).
    #[arg(long = "evtx")]
    pub evtx: Vec<PathBuf>,
    /// Share of generated network/DNS/proxy events, 0-100 (the rest from the EVTX samples).
    #[arg(long, default_value_t = 50)]
    pub network_percent: u8,
    /// Publish the batches to NATS JetStream (`nats://host:port`) for a hub started with
    /// `--intake-nats`, sealed as a sensor does (`--token` must be a sensor token), instead of
    /// posting them over HTTP. Latencies are then JetStream's acknowledgements.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A generated network, DNS or proxy event (ECS), deterministic in `i`.
fn network_event(i: u64, now_ms: i64) -> String {
    let host = format!("ws{:03}", i % 300);
    let src = format!("10.{}.{}.{}", (i / 65_536) % 256, (i / 256) % 256, i % 256);
    let ts = now_ms - (i % 60_000) as i64;
    match i % 3 {
        0 => json!({"@timestamp": ts, "event.dataset": "zeek.conn", "host.name": host,
                    "source.ip": src, "source.port": 49152 + i % 16_000,
                    "destination.ip": format!("203.0.113.{}", i % 250), "destination.port": 443,
                    "network.transport": "tcp", "source.bytes": i % 9000, "destination.bytes": i % 70_000}),
        1 => json!({"@timestamp": ts, "event.dataset": "dns", "host.name": host, "source.ip": src,
                    "dns.question.name": format!("cdn{}.example.com", i % 997), "dns.question.type": "A"}),
        _ => json!({"@timestamp": ts, "event.dataset": "squid", "host.name": host, "source.ip": src,
                    "url.full": format!("http://updates{}.example.net/pkg/{}.bin", i % 41, i % 1000),
                    "http.request.method": "GET", "http.response.status_code": 200,
                    "user_agent.original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"}),
    }
    .to_string()
}

/// EVTX records as `mamori sensor` sends them: flat Windows field names (`Channel`,
/// `EventID`, `Computer`, event data fields) plus `@timestamp` and `event.module`.
fn load_evtx(paths: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let (files, problems) = mamori_detect::input::collect_files(paths);
    for p in problems {
        eprintln!("warning: {p}");
    }
    let mut out = Vec::new();
    for f in files.iter().filter(|f| {
        f.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("evtx"))
    }) {
        mamori_detect::input::evtx::read_evtx(
            f,
            1,
            |ev| {
                Some(serde_json::Value::Object(mamori_sensor::evtx_dir::to_event(&ev)).to_string())
            },
            &mut |line| out.push(line),
        )
        .with_context(|| format!("{}", f.display()))?;
    }
    Ok(out)
}

/// The canary: a Sysmon process creation that SigmaHQ's encoded-PowerShell rules catch.
fn canary(host: &str) -> String {
    json!({"Event": {"System": {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Computer": host},
        "EventData": {"Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "OriginalFileName": "PowerShell.EXE",
            "CommandLine": "powershell.exe -NoProfile -EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
            "ParentImage": "C:\\Windows\\explorer.exe"}}})
    .to_string()
}

struct Stats {
    sent: AtomicU64,
    batches: AtomicU64,
    errors: AtomicU64,
    throttled: AtomicU64,
}

/// Seals a batch as a sensor does and publishes it to the hub's NATS intake.
async fn publish(
    bus: &mamori_bus::Bus,
    key: &IntakeKey,
    id: &str,
    encoding: &str,
    body: &[u8],
) -> anyhow::Result<()> {
    let sealed = key.seal(id, encoding, "json", body)?;
    bus.publish(INTAKE_SUBJECT, &format!("{}:{id}", key.id()), sealed.into())
        .await?;
    Ok(())
}

pub fn run(args: LoadgenArgs) -> anyhow::Result<ExitCode> {
    if args.batch == 0 || args.concurrency == 0 {
        bail!("--batch and --concurrency must be at least 1");
    }
    let evtx = load_evtx(&args.evtx)?;
    if !args.evtx.is_empty() && evtx.is_empty() {
        bail!("no EVTX records found under {:?}", args.evtx);
    }
    let now = mamori_store::now_millis();
    // A pool of distinct, pre-compressed batches: the generator's own CPU stays small.
    let pool_size = 16usize;
    let mut pool = Vec::with_capacity(pool_size);
    let mut k = 0u64;
    for _ in 0..pool_size {
        let mut body = String::with_capacity(args.batch * 400);
        for _ in 0..args.batch {
            let net = evtx.is_empty() || (k % 100) < u64::from(args.network_percent);
            if net {
                body.push_str(&network_event(k, now));
            } else {
                body.push_str(&evtx[(k as usize) % evtx.len()]);
            }
            body.push('\n');
            k += 1;
        }
        // One-shot frames, as `mamori sensor` sends (crates/sensor/src/batch.rs): the frame
        // declares its size.
        pool.push(bytes::Bytes::from(zstd::bulk::compress(
            body.as_bytes(),
            1,
        )?));
    }
    let pool = Arc::new(pool);
    let total_batches = args.events.div_ceil(args.batch as u64);
    let stats = Arc::new(Stats {
        sent: AtomicU64::new(0),
        batches: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
    });
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    runtime()?.block_on(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        let nats = match &args.nats {
            Some(url) => {
                let bus = mamori_bus::Bus::open(url, mamori_bus::BusOptions::default())
                    .await
                    .with_context(|| format!("cannot connect to NATS {url}"))?;
                Some(Arc::new((bus, IntakeKey::from_token(&args.token))))
            }
            None => None,
        };
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..args.concurrency {
            let (client, pool, next, stats) = (client.clone(), pool.clone(), next.clone(), stats.clone());
            let nats = nats.clone();
            let (hubs, token, run_id) = (args.hubs.clone(), args.token.clone(), run_id.clone());
            let (batch, rate) = (args.batch as u64, args.rate);
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total_batches {
                        break;
                    }
                    if rate > 0 {
                        let due = Duration::from_secs_f64((i * batch) as f64 / rate as f64);
                        if let Some(wait) = due.checked_sub(started.elapsed()) {
                            tokio::time::sleep(wait).await;
                        }
                    }
                    let hub = &hubs[(i as usize) % hubs.len()];
                    let body = pool[(i as usize) % pool.len()].clone();
                    if let Some(n) = &nats {
                        let (bus, key) = &**n;
                        let id = format!("loadgen-{run_id}-{i}");
                        let t = Instant::now();
                        match publish(bus, key, &id, "zstd", &body).await {
                            Ok(()) => {
                                lat.push(t.elapsed());
                                stats.sent.fetch_add(batch, Ordering::Relaxed);
                                stats.batches.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => {
                                stats.errors.fetch_add(1, Ordering::Relaxed);
                                eprintln!("batch {i}: {e:#}");
                            }
                        }
                        continue;
                    }
                    loop {
                        let t = Instant::now();
                        let r = client
                            .post(format!("{hub}/api/v1/events"))
                            .bearer_auth(&token)
                            .header("content-type", "application/x-ndjson")
                            .header("content-encoding", "zstd")
                            .header("x-mamori-batch", format!("loadgen-{run_id}-{i}"))
                            .body(body.clone())
                            .send()
                            .await;
                        match r {
                            Ok(resp) if resp.status().is_success() => {
                                lat.push(t.elapsed());
                                stats.sent.fetch_add(batch, Ordering::Relaxed);
                                stats.batches.fetch_add(1, Ordering::Relaxed);
                                break;
                            }
                            Ok(resp) if resp.status().as_u16() == 429 => {
                                stats.throttled.fetch_add(1, Ordering::Relaxed);
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                            Ok(resp) => {
                                stats.errors.fetch_add(1, Ordering::Relaxed);
                                let status = resp.status();
                                let text = resp.text().await.unwrap_or_default();
                                eprintln!("batch {i}: {status}: {}", text.chars().take(300).collect::<String>());
                                break;
                            }
                            Err(e) => {
                                stats.errors.fetch_add(1, Ordering::Relaxed);
                                eprintln!("batch {i}: {e}");
                                tokio::time::sleep(Duration::from_millis(500)).await;
                            }
                        }
                    }
                }
                lat
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await?);
        }
        let wall = started.elapsed();
        lat.sort();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 - 1.0) * p).round().max(0.0) as usize)
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let sent = stats.sent.load(Ordering::Relaxed);
        // Alert latency: a canary through the same path, then poll until its alert shows.
        let mut alert_ms = None;
        if let Some(read) = &args.read_token {
            let host = format!("canary-{}", &run_id[..12]);
            let t = Instant::now();
            if let Some(n) = &nats {
                let (bus, key) = &**n;
                let body = canary(&host);
                publish(bus, key, &format!("canary-{run_id}"), "identity", body.as_bytes()).await?;
            } else {
                let r = client
                    .post(format!("{}/api/v1/events", args.hubs[0]))
                    .bearer_auth(&args.token)
                    .header("content-type", "application/x-ndjson")
                    .header("x-mamori-batch", format!("canary-{run_id}"))
                    .body(canary(&host))
                    .send()
                    .await?;
                if !r.status().is_success() {
                    bail!("canary refused: {}", r.status());
                }
            }
            // Asked by host: the poll itself stays cheap while the hub still works through
            // the load (an unfiltered list is hundreds of alerts every 20 ms).
            while t.elapsed() < Duration::from_secs(60) {
                let alerts: serde_json::Value = client
                    .get(format!("{}/api/v1/alerts", args.hubs[0]))
                    .query(&[("host", host.as_str()), ("limit", "1")])
                    .bearer_auth(read)
                    .send()
                    .await?
                    .json()
                    .await?;
                if alerts.as_array().is_some_and(|a| a.iter().any(|x| x["host"] == host.as_str())) {
                    alert_ms = Some(t.elapsed().as_secs_f64() * 1000.0);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let summary = json!({
            "events": sent,
            "batches": stats.batches.load(Ordering::Relaxed),
            "batch_size": args.batch,
            "concurrency": args.concurrency,
            "wall_s": wall.as_secs_f64(),
            "events_per_s": sent as f64 / wall.as_secs_f64().max(1e-9),
            "batch_ms_p50": pct(0.5),
            "batch_ms_p99": pct(0.99),
            "throttled": stats.throttled.load(Ordering::Relaxed),
            "errors": stats.errors.load(Ordering::Relaxed),
            "canary_alert_ms": alert_ms,
        });
        if args.json {
            println!("{summary}");
        } else {
            println!(
                "{sent} events in {:.2} s: {:.0} events/s; batch latency p50 {:.1} ms, p99 {:.1} ms; {} throttled, {} errors",
                wall.as_secs_f64(),
                summary["events_per_s"].as_f64().unwrap_or(0.0),
                pct(0.5),
                pct(0.99),
                summary["throttled"],
                summary["errors"]
            );
            match alert_ms {
                Some(ms) => println!("canary alert visible after {ms:.1} ms"),
                None if args.read_token.is_some() => println!("canary alert NOT seen within 60 s"),
                None => {}
            }
        }
        let failed = stats.errors.load(Ordering::Relaxed) > 0
            || (args.read_token.is_some() && alert_ms.is_none());
        Ok::<_, anyhow::Error>(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    })
}
