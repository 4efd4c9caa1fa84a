//! `mamori notify collect`: a feed collector. From an http(s) URL it fetches conditionally (the
//! ETag and Last-Modified of the last fetch are kept in the hub under the collector's name, so
//! an unchanged feed costs one 304); from a drop directory it takes every file, then moves it
//! to `done/` or, when it cannot be read as the feed, to `rejected/` with the reason beside
//! it. From a TAXII 2.1 collection (`--taxii API-ROOT --collection ID`) it pulls the objects
//! added since the last run (the server's `X-TAXII-Date-Added-Last` is kept as the collector's
//! position and sent as `added_after` next time) and turns indicators and observables of URLs,
//! domains and addresses into items. Each fetched file or batch is recorded and followed up as
//! `mamori notify run` does. With `--every` it repeats until interrupted; every cycle also
//! delivers the failed notices whose next attempt is due (back-off from 5 minutes, doubling,
//! at most 6 hours).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use mamori_store::Store;
use mamori_store::notices::FeedSource;

use super::lifecycle::{LifecycleArgs, process};
use super::{FeedArgs, GlobalArgs, load_orgs, owner_index, parse_feed};

#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// The collector's name: its state (validators, last run) is kept under it.
    #[arg(long)]
    name: String,
    /// Fetch the feed from this http(s) URL.
    #[arg(long, conflicts_with_all = ["dir", "taxii"], required_unless_present_any = ["dir", "taxii"])]
    url: Option<String>,
    /// Take the feed files dropped into this directory.
    #[arg(long, conflicts_with = "taxii")]
    dir: Option<PathBuf>,
    /// Pull a TAXII 2.1 collection from this API root, e.g. https://hub.example/taxii2/api/
    #[arg(long, requires = "collection", conflicts_with = "complete")]
    taxii: Option<String>,
    /// The TAXII collection id.
    #[arg(long, requires = "taxii")]
    collection: Option<String>,
    /// Environment variable holding the TAXII server's bearer token (never on the command line).
    #[arg(long, value_name = "VAR", requires = "taxii")]
    token_env: Option<String>,
    /// Repeat every DURATION (e.g. 90s, 15m, 1h, 1d); once when absent.
    #[arg(long, value_parser = parse_every)]
    every: Option<Duration>,
    #[command(flatten)]
    source: FeedArgs,
    #[command(flatten)]
    lifecycle: LifecycleArgs,
}

/// `90s`, `15m`, `1h`, `1d`.
fn parse_every(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and s, m, h or d"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{s:?}: expected a number and s, m, h or d")),
    };
    if secs < 10 {
        return Err("collect at most every 10 seconds".into());
    }
    Ok(Duration::from_secs(secs))
}

enum Fetched {
    NotModified,
    Body(Vec<u8>),
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    state: &mut FeedSource,
) -> anyhow::Result<Fetched> {
    let mut req = client.get(url);
    if let Some(e) = &state.etag {
        req = req.header(reqwest::header::IF_NONE_MATCH, e);
    }
    if let Some(m) = &state.last_modified {
        req = req.header(reqwest::header::IF_MODIFIED_SINCE, m);
    }
    let resp = req.send().await.with_context(|| url.to_owned())?;
    if resp.status() == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    let resp = resp.error_for_status().with_context(|| url.to_owned())?;
    let header = |h| {
        resp.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (etag, modified) = (
        header(reqwest::header::ETAG),
        header(reqwest::header::LAST_MODIFIED),
    );
    let body = crate::cmd::feed_source::bounded(resp, mamori_notify::feed::MAX_FEED_BYTES)
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
    state.etag = etag;
    state.last_modified = modified;
    Ok(Fetched::Body(body))
}

/// One collection cycle; returns whether any delivery failed.
async fn cycle(
    global: &GlobalArgs,
    a: &CollectArgs,
    client: &reqwest::Client,
    store: &Store,
    public_url: Option<&str>,
) -> anyhow::Result<bool> {
    let orgs = load_orgs(global).await?;
    let index = owner_index(&orgs, a.source.asn_table.as_deref())?;
    let mut state = store
        .feed_source(&a.name)
        .await?
        .unwrap_or_else(|| FeedSource {
            name: a.name.clone(),
            ..FeedSource::default()
        });
    state.last_run = Some(mamori_store::now_millis());
    let mut failed = false;
    if let Some(url) = &a.url {
        state.location = url.clone();
        let outcome = match fetch(client, url, &mut state).await {
            Ok(Fetched::NotModified) => {
                println!("{}: not modified since the last fetch", a.name);
                Ok(("not-modified", 0))
            }
            Ok(Fetched::Body(bytes)) => {
                let name = url
                    .split(['?', '#'])
                    .next()
                    .and_then(|u| u.rsplit('/').next())
                    .unwrap_or_default();
                match parse_feed(&bytes, name, &a.source) {
                    Ok(parsed) => {
                        let s = process(
                            store,
                            &orgs,
                            &index,
                            &parsed,
                            &a.name,
                            &a.lifecycle,
                            public_url,
                        )
                        .await?;
                        println!("{}", s.line);
                        failed |= s.failed > 0;
                        Ok(("fetched", parsed.observations.len() as i64))
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok((status, items)) => {
                state.last_status = Some(status.into());
                state.last_error = None;
                if status == "fetched" {
                    state.last_items = Some(items);
                }
            }
            Err(e) => {
                eprintln!("{}: {e:#}", a.name);
                state.last_status = Some("failed".into());
                state.last_error = Some(format!("{e:#}"));
                failed = true;
            }
        }
    } else if let (Some(root), Some(collection)) = (&a.taxii, &a.collection) {
        state.location = format!("{}collections/{collection}/", with_slash(root));
        match pull_taxii(
            a, root, collection, &mut state, store, &orgs, &index, public_url,
        )
        .await
        {
            Ok((items, f)) => {
                state.last_status = Some(
                    if items.is_some() {
                        "fetched"
                    } else {
                        "not-modified"
                    }
                    .into(),
                );
                state.last_error = None;
                if let Some(n) = items {
                    state.last_items = Some(n);
                }
                failed |= f;
            }
            Err(e) => {
                eprintln!("{}: {e:#}", a.name);
                state.last_status = Some("failed".into());
                state.last_error = Some(format!("{e:#}"));
                failed = true;
            }
        }
    } else if let Some(dir) = &a.dir {
        state.location = dir.display().to_string();
        let (items, problems) = drain_dir(dir, a, store, &orgs, &index, public_url).await?;
        state.last_status = Some(if problems > 0 { "failed" } else { "fetched" }.into());
        state.last_error = (problems > 0).then(|| format!("{problems} file(s) rejected"));
        state.last_items = Some(items);
        failed |= problems > 0;
    }
    store.save_feed_source(&state).await?;
    if let Some(line) = super::lifecycle::retry_due(store, &a.lifecycle).await? {
        println!("{line}");
    }
    Ok(failed)
}

fn with_slash(root: &str) -> String {
    if root.ends_with('/') {
        root.to_owned()
    } else {
        format!("{root}/")
    }
}

/// Pulls what the collection added since the collector's position, records it and follows it
/// up; the position moves only once that worked. Returns (items, `None` when nothing was new;
/// whether a delivery failed).
#[allow(clippy::too_many_arguments)]
async fn pull_taxii(
    a: &CollectArgs,
    root: &str,
    collection: &str,
    state: &mut FeedSource,
    store: &Store,
    orgs: &[mamori_model::Org],
    index: &mamori_notify::OwnerIndex,
    public_url: Option<&str>,
) -> anyhow::Result<(Option<i64>, bool)> {
    use crate::cmd::taxii_client::{Credential, Remote};
    let token = match &a.token_env {
        Some(v) => {
            std::env::var(v).with_context(|| format!("environment variable {v} is not set"))?
        }
        None => bail!("--taxii needs --token-env VAR (a bearer token for the TAXII server)"),
    };
    let remote = Remote::new(root, Credential::Bearer(token))?;
    let (objects, last_added) = remote
        .objects_since(collection, state.position.as_deref())
        .await?;
    if objects.is_empty() {
        println!(
            "{}: nothing added to the collection since {}",
            a.name,
            state.position.as_deref().unwrap_or("the start")
        );
        return Ok((None, false));
    }
    let parsed = mamori_notify::feed::parse_stix_objects(&objects, &format!("taxii:{}", a.name));
    for p in &parsed.problems {
        eprintln!("{}: object {}: {}", a.name, p.line, p.message);
    }
    let s = process(
        store,
        orgs,
        index,
        &parsed,
        &a.name,
        &a.lifecycle,
        public_url,
    )
    .await?;
    println!("{}", s.line);
    if last_added.is_some() {
        state.position = last_added;
    }
    Ok((Some(parsed.observations.len() as i64), s.failed > 0))
}

/// Takes every regular file in `dir` (oldest first); returns (items, rejected files).
async fn drain_dir(
    dir: &Path,
    a: &CollectArgs,
    store: &Store,
    orgs: &[mamori_model::Org],
    index: &mamori_notify::OwnerIndex,
    public_url: Option<&str>,
) -> anyhow::Result<(i64, usize)> {
    let done = dir.join("done");
    let rejected = dir.join("rejected");
    std::fs::create_dir_all(&done).with_context(|| format!("{}", done.display()))?;
    std::fs::create_dir_all(&rejected).with_context(|| format!("{}", rejected.display()))?;
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .with_context(|| format!("{}", dir.display()))?
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            (
                e.metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH),
                e.path(),
            )
        })
        .collect();
    files.sort();
    let (mut items, mut bad) = (0i64, 0usize);
    for (_, path) in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match super::load_feed(&path, &a.source) {
            Ok(parsed) => {
                let s = process(
                    store,
                    orgs,
                    index,
                    &parsed,
                    &path.display().to_string(),
                    &a.lifecycle,
                    public_url,
                )
                .await?;
                println!("{}", s.line);
                items += parsed.observations.len() as i64;
                std::fs::rename(&path, done.join(&name))
                    .with_context(|| format!("{}", path.display()))?;
            }
            Err(e) => {
                eprintln!("{}: rejected: {e:#}", path.display());
                bad += 1;
                std::fs::rename(&path, rejected.join(&name))
                    .with_context(|| format!("{}", path.display()))?;
                std::fs::write(rejected.join(format!("{name}.error")), format!("{e:#}\n"))
                    .with_context(|| format!("{}", rejected.display()))?;
            }
        }
    }
    Ok((items, bad))
}

pub async fn collect(global: &GlobalArgs, a: CollectArgs) -> anyhow::Result<ExitCode> {
    if let Some(u) = &a.url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        bail!("--url {u:?}: only http and https feeds are collected");
    }
    if let Some(u) = &a.taxii
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        bail!("--taxii {u:?}: give the http(s) URL of the TAXII API root");
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .redirect(reqwest::redirect::Policy::limited(3))
        .user_agent(concat!("mamori/", env!("CARGO_PKG_VERSION")))
        .build()?;
    let (config, store) = global.open_store().await?;
    let public_url = config.public_url.clone();
    let mut failed = false;
    loop {
        failed |= cycle(global, &a, &client, &store, public_url.as_deref()).await?;
        let Some(every) = a.every else { break };
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    store.close().await;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
