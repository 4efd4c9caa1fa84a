//! `mamori gateway`: runs the DNS gateway (crate `mamori-gateway`) for a protected segment. The
//! block list comes from the hub (`GET /api/v1/blocklists/txt`, refreshed with incremental
//! diffs) or from a file; each blocked query is reported to the hub as a sighting of the listed
//! name and as an event naming the client (`POST /api/v1/events`), in batches.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, bail};
use mamori_gateway::{BlockSet, Blocked, Gateway, Settings};
use tokio::sync::mpsc;

#[derive(Debug, clap::Args)]
pub struct GatewayArgs {
    /// Where to answer DNS queries (UDP).
    #[arg(long, default_value = "127.0.0.1:5353")]
    listen: SocketAddr,
    /// The resolver to forward allowed queries to.
    #[arg(long)]
    upstream: SocketAddr,
    /// The hub, e.g. https://hub.example.go.jp (block list from it, reports to it).
    #[arg(long, requires = "token")]
    hub: Option<String>,
    /// A token of the gateway's organisation with read and write scope.
    #[arg(long, env = "MAMORI_GATEWAY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A block list file (one name per line) instead of, or before, the hub's.
    #[arg(long)]
    blocklist: Option<PathBuf>,
    /// Answer blocked A/AAAA queries with this address instead of NXDOMAIN.
    #[arg(long)]
    sinkhole: Option<IpAddr>,
    /// How often to refresh the block list from the hub, in seconds.
    #[arg(long, default_value_t = 300)]
    refresh_secs: u64,
    /// Cached answers at most.
    #[arg(long, default_value_t = 100_000)]
    cache_entries: usize,
}

struct Hub {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Hub {
    /// The block list: incremental when `etag` is known to the hub, else the whole.
    async fn blocklist(
        &self,
        etag: Option<&str>,
    ) -> anyhow::Result<(String, bool, Option<String>)> {
        let mut url = format!("{}/api/v1/blocklists/txt", self.base);
        if let Some(e) = etag {
            url.push_str(&format!("?since={}", e.trim_matches('"')));
        }
        let resp = self
            .client
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?;
        let incremental = resp
            .headers()
            .get("x-mamori-diff")
            .is_some_and(|v| v == "incremental");
        let etag = resp
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok((resp.text().await?, incremental, etag))
    }

    async fn report(&self, batch: &[Blocked]) -> anyhow::Result<()> {
        let mut per_name: std::collections::BTreeMap<&str, (u32, i64)> = Default::default();
        let mut lines = String::new();
        for b in batch {
            let e = per_name.entry(b.listed.as_str()).or_insert((0, 0));
            e.0 += 1;
            e.1 = e.1.max(b.at_ms);
            lines.push_str(
                &serde_json::json!({
                    "@timestamp": b.at_ms,
                    "event.dataset": "mamori.gateway",
                    "event.action": "dns-blocked",
                    "source.ip": b.client.ip().to_string(),
                    "source.port": b.client.port(),
                    "dns.question.name": b.name,
                    "dns.question.type": b.qtype,
                    "rule.name": b.listed,
                })
                .to_string(),
            );
            lines.push('\n');
        }
        self.client
            .post(format!("{}/api/v1/events", self.base))
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(lines)
            .send()
            .await?
            .error_for_status()?;
        for (name, (count, seen)) in per_name {
            self.client
                .post(format!("{}/api/v1/sightings", self.base))
                .bearer_auth(&self.token)
                .json(&serde_json::json!({"kind": "domain", "value": name, "count": count, "seen_at": seen}))
                .send()
                .await?
                .error_for_status()?;
        }
        Ok(())
    }
}

pub fn run(args: GatewayArgs) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(run_async(args))
}

async fn run_async(a: GatewayArgs) -> anyhow::Result<ExitCode> {
    let file_text = match &a.blocklist {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?,
        None => String::new(),
    };
    let mut blocks = BlockSet::from_text(&file_text);
    let hub = match (&a.hub, &a.token) {
        (Some(base), Some(token)) => {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                bail!("--hub {base:?}: use an http or https URL");
            }
            Some(Arc::new(Hub {
                base: base.trim_end_matches('/').to_owned(),
                token: token.clone(),
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(30))
                    .build()?,
            }))
        }
        _ => None,
    };
    if hub.is_none() && a.blocklist.is_none() {
        bail!("give --hub and --token, or --blocklist FILE");
    }
    let mut etag = None;
    if let Some(h) = &hub {
        let (text, _, e) = h
            .blocklist(None)
            .await
            .context("fetching the hub's block list")?;
        blocks.add_text(&text);
        etag = e;
    }
    let (tx, mut rx) = mpsc::channel::<Blocked>(10_000);
    let gateway = Gateway::new(
        Settings {
            listen: a.listen,
            upstream: a.upstream,
            sinkhole: a.sinkhole,
            upstream_timeout: Duration::from_secs(3),
            cache_entries: a.cache_entries,
        },
        blocks,
        tx,
    );
    let socket = gateway.bind().await?;
    eprintln!(
        "gateway listening on {} (udp), forwarding to {}, {} names blocked",
        socket.local_addr()?,
        a.upstream,
        gateway.blocked_names()
    );
    // Reports: batched every second.
    let reporter = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            loop {
                let first = rx.recv().await;
                let Some(first) = first else { break };
                batch.push(first);
                tokio::time::sleep(Duration::from_millis(500)).await;
                while let Ok(b) = rx.try_recv() {
                    batch.push(b);
                }
                for b in &batch {
                    println!(
                        "blocked {} asked {} ({}, listed {})",
                        b.client.ip(),
                        b.name,
                        b.qtype,
                        b.listed
                    );
                }
                if let Some(h) = &hub
                    && let Err(e) = h.report(&batch).await
                {
                    eprintln!(
                        "reporting {} blocked queries to the hub failed: {e:#}",
                        batch.len()
                    );
                }
                batch.clear();
            }
        })
    };
    // Refresh: incremental diffs from the hub.
    let refresher = hub.clone().map(|h| {
        let g = Arc::clone(&gateway);
        let every = Duration::from_secs(a.refresh_secs.max(5));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match h.blocklist(etag.as_deref()).await {
                    Ok((text, incremental, e)) => {
                        if incremental {
                            g.update_blocks(|b| b.apply_diff(&text));
                        } else {
                            g.update_blocks(|b| {
                                *b = BlockSet::from_text(&file_text);
                                b.add_text(&text);
                            });
                        }
                        etag = e;
                    }
                    Err(e) => eprintln!("refreshing the block list failed: {e:#}"),
                }
            }
        })
    });
    let server = {
        let g = Arc::clone(&gateway);
        tokio::spawn(async move { g.serve(socket).await })
    };
    tokio::select! {
        r = server => {
            r??;
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    if let Some(r) = refresher {
        r.abort();
    }
    reporter.abort();
    let s = &gateway.stats;
    eprintln!(
        "{} queries: {} blocked, {} forwarded, {} from cache, {} malformed, {} upstream failures",
        s.queries.load(Ordering::Relaxed),
        s.blocked.load(Ordering::Relaxed),
        s.forwarded.load(Ordering::Relaxed),
        s.cache_hits.load(Ordering::Relaxed),
        s.malformed.load(Ordering::Relaxed),
        s.upstream_failures.load(Ordering::Relaxed)
    );
    Ok(ExitCode::SUCCESS)
}
