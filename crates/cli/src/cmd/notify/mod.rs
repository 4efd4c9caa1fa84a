//! `mamori notify`: feeds in, owners found. `triage` reads a feed file (URLhaus, Shadowserver,
//! PhishTank, OpenPhish, or any CSV/JSON feed through a `--mapping` file), normalises every item
//! and names the member organisation that owns it (longest-prefix match on address ranges, the
//! `--asn-table`, registered domain), or puts it in the unowned queue.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use mamori_notify::{FeedReport, OwnerIndex};

use super::GlobalArgs;

mod collect;
mod lifecycle;

#[derive(Debug, clap::Subcommand)]
pub enum NotifyCommand {
    /// Parse a feed file and find the owner of every item.
    Triage {
        /// The feed file.
        file: PathBuf,
        #[command(flatten)]
        source: FeedArgs,
        /// Print one JSON line per item instead of the summary table.
        #[arg(long)]
        jsonl: bool,
    },
    /// Parse a feed and send each owner one notice (in each contact's language) by SMTP, with
    /// its items as a CSV attachment.
    Send(SendArgs),
    /// Record a feed run in the hub (items, owners, remediation of what the feed no longer
    /// lists) and issue the notices that are due, delivering them by SMTP when --smtp is given.
    Run(lifecycle::RunArgs),
    /// Collect a feed from an http(s) URL (conditional GET: ETag / Last-Modified) or from a
    /// drop directory, once or every --every, recording each run and issuing notices as
    /// `run` does.
    Collect(collect::CollectArgs),
    /// Send the queued notices (takedown requests queued from the API or console, runs
    /// without --smtp) and the failed ones whose next attempt is due (back-off from 5 minutes,
    /// doubling, at most 6 hours); with --retry-failed every failed one now. Webhook notices
    /// are posted to their organisation's webhook; e-mail notices need --smtp.
    Deliver {
        /// smtp://host:port, smtp+starttls://host:port or smtps://host:port
        #[arg(long, requires = "from")]
        smtp: Option<String>,
        /// The sender address, e.g. "Mamori <notice@hub.example.jp>".
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        retry_failed: bool,
    },
    /// List stored notices with their status.
    Notices {
        /// Only this organisation's (slug).
        #[arg(long)]
        org: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON lines.
        #[arg(long)]
        jsonl: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    file: PathBuf,
    #[command(flatten)]
    source: FeedArgs,
    /// smtp://host:port (loopback or trusted relay), smtp+starttls://host:port, smtps://host:port
    #[arg(long)]
    smtp: String,
    /// The sender address, e.g. "Mamori <notice@hub.example.jp>".
    #[arg(long)]
    from: String,
    /// The hub's name in subjects and signatures.
    #[arg(long, default_value = "Mamori")]
    hub_name: String,
    /// Render the notices and print them without sending.
    #[arg(long)]
    dry_run: bool,
}

/// Which feed a file is and how owners are found.
#[derive(Debug, Clone, clap::Args)]
pub struct FeedArgs {
    /// urlhaus, shadowserver, phishtank, openphish or generic (default: guessed from the file
    /// name; generic when --mapping is given).
    #[arg(long)]
    pub(super) feed: Option<String>,
    /// Shadowserver report type (default: taken from the file name, e.g. scan_telnet).
    #[arg(long)]
    pub(super) report: Option<String>,
    /// A generic feed's mapping file (TOML: name, format, value, kind, time, category...).
    #[arg(long)]
    pub(super) mapping: Option<PathBuf>,
    /// ASN-to-organisation table (CSV `asn,organisation-slug`) for items no range claims.
    #[arg(long)]
    pub(super) asn_table: Option<PathBuf>,
}

/// The owner index of the organisations, with the ASN table when one is given.
pub(super) fn owner_index(
    orgs: &[mamori_model::Org],
    asn_table: Option<&std::path::Path>,
) -> anyhow::Result<OwnerIndex> {
    let index = OwnerIndex::build(orgs.iter());
    Ok(match asn_table {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
            let table = mamori_notify::asn::parse_asn_table(&text, orgs)
                .with_context(|| format!("{}", p.display()))?;
            index.with_asns(table)
        }
        None => index,
    })
}

pub(super) fn load_feed(file: &std::path::Path, args: &FeedArgs) -> anyhow::Result<FeedReport> {
    let meta = std::fs::metadata(file).with_context(|| format!("{}", file.display()))?;
    if meta.len() as usize > mamori_notify::feed::MAX_FEED_BYTES {
        bail!(
            "{}: larger than {} bytes",
            file.display(),
            mamori_notify::feed::MAX_FEED_BYTES
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("{}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_feed(&bytes, &name, args)
}

/// Parses a feed's bytes; `name` (a file name or a URL's last segment) picks the feed when
/// `--feed` does not.
pub(super) fn parse_feed(bytes: &[u8], name: &str, args: &FeedArgs) -> anyhow::Result<FeedReport> {
    let (feed, report) = (args.feed.as_deref(), args.report.as_deref());
    let shadow_type = report
        .map(str::to_owned)
        .or_else(|| mamori_notify::feed::shadowserver_report_for_file(name).map(str::to_owned));
    let lower = name.to_ascii_lowercase();
    let kind = match feed {
        Some(k) => k.to_owned(),
        None if args.mapping.is_some() => "generic".to_owned(),
        None if shadow_type.is_some() => "shadowserver".to_owned(),
        None if lower.contains("phishtank") || lower.starts_with("online-valid") => {
            "phishtank".to_owned()
        }
        None if lower.contains("openphish") || lower == "feed.txt" => "openphish".to_owned(),
        None => "urlhaus".to_owned(),
    };
    Ok(match kind.as_str() {
        "urlhaus" => mamori_notify::feed::parse_urlhaus(bytes)?,
        "shadowserver" => {
            let t = shadow_type.context(
                "cannot tell the Shadowserver report type from the file name; pass --report NAME",
            )?;
            mamori_notify::feed::parse_shadowserver(&t, bytes)?
        }
        "phishtank" => mamori_notify::feed::parse_phishtank(bytes)?,
        "openphish" => mamori_notify::feed::parse_openphish(bytes)?,
        "generic" => {
            let p = args
                .mapping
                .as_deref()
                .context("a generic feed needs --mapping FILE")?;
            let text = std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?;
            let mapping = mamori_notify::feed::FeedMapping::from_toml(&text)
                .with_context(|| format!("{}", p.display()))?;
            mamori_notify::feed::parse_generic(&mapping, bytes)?
        }
        other => bail!(
            "unknown feed {other:?}: use urlhaus, shadowserver, phishtank, openphish or generic"
        ),
    })
}

pub(super) async fn load_orgs(global: &GlobalArgs) -> anyhow::Result<Vec<mamori_model::Org>> {
    let (_, store) = global.open_store().await?;
    let orgs = store.all_orgs().await?;
    store.close().await;
    Ok(orgs)
}

async fn send(global: &GlobalArgs, a: SendArgs) -> anyhow::Result<ExitCode> {
    let SendArgs {
        file,
        source,
        smtp,
        from,
        hub_name,
        dry_run,
    } = a;
    let parsed = load_feed(&file, &source)?;
    let orgs = load_orgs(global).await?;
    let index = owner_index(&orgs, source.asn_table.as_deref())?;
    let date = parsed
        .observations
        .iter()
        .filter_map(|o| o.seen_at)
        .max()
        .map_or_else(|| "undated".to_owned(), |ms| format!("{}", ms / 86_400_000));
    let (notices, unowned) =
        mamori_notify::notice::build(&orgs, &index, &parsed.observations, &hub_name, &date)?;
    let sender = mamori_notify::notice::Smtp::new(&smtp, &from)?;
    let mut failed = 0;
    for n in &notices {
        if dry_run {
            println!(
                "--- to {} ({}): {}\n{}",
                n.to.join(", "),
                n.lang,
                n.subject,
                n.body
            );
            continue;
        }
        match sender.send(n).await {
            Ok(()) => println!(
                "sent {} item(s) to {} <{}>",
                n.items,
                n.org_name,
                n.to.join(", ")
            ),
            Err(e) => {
                eprintln!("{e}");
                failed += 1;
            }
        }
    }
    eprintln!(
        "{} notices, {} unowned items left for review, {failed} failed",
        notices.len(),
        unowned.len()
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn run(global: &GlobalArgs, cmd: NotifyCommand) -> anyhow::Result<ExitCode> {
    let (file, source, jsonl) = match cmd {
        NotifyCommand::Triage {
            file,
            source,
            jsonl,
        } => (file, source, jsonl),
        NotifyCommand::Send(a) => return send(global, a).await,
        NotifyCommand::Run(a) => return lifecycle::run_feed(global, a).await,
        NotifyCommand::Collect(a) => return collect::collect(global, a).await,
        NotifyCommand::Deliver {
            smtp,
            from,
            retry_failed,
        } => {
            return lifecycle::deliver_queued(
                global,
                smtp.as_deref(),
                from.as_deref(),
                retry_failed,
            )
            .await;
        }
        NotifyCommand::Notices { org, limit, jsonl } => {
            return lifecycle::list_notices(global, org, limit, jsonl).await;
        }
    };
    let parsed = load_feed(&file, &source)?;
    let orgs = load_orgs(global).await?;
    let index = owner_index(&orgs, source.asn_table.as_deref())?;
    let slug = |id| {
        orgs.iter()
            .find(|o| o.id == id)
            .map_or("?", |o| o.slug.as_str())
    };
    let mut per_owner: BTreeMap<String, usize> = BTreeMap::new();
    for o in &parsed.observations {
        let owner = index.owner_of(o);
        let key = owner
            .as_ref()
            .map_or("(unowned)".to_owned(), |m| slug(m.org).to_owned());
        *per_owner.entry(key).or_default() += 1;
        if jsonl {
            println!(
                "{}",
                serde_json::json!({"observation": o, "owner": owner.as_ref().map(|m| slug(m.org)), "reason": owner.as_ref().map(|m| &m.reason)})
            );
        }
    }
    for p in &parsed.problems {
        eprintln!("{}:{}: {}", file.display(), p.line, p.message);
    }
    if !jsonl {
        println!("{:<24} ITEMS", "OWNER");
        for (owner, n) in &per_owner {
            println!("{owner:<24} {n}");
        }
    }
    eprintln!(
        "{}: {} items from {} lines, {} owned, {} unowned, {} bad lines",
        file.display(),
        parsed.observations.len(),
        parsed.lines,
        parsed.observations.len() - per_owner.get("(unowned)").copied().unwrap_or(0),
        per_owner.get("(unowned)").copied().unwrap_or(0),
        parsed.problems.len()
    );
    Ok(ExitCode::SUCCESS)
}
