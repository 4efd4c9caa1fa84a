//! `mamori notify run` and `mamori notify notices`: a feed run recorded in the hub, the
//! notices that are due issued and delivered, and the stored notices listed.

use std::path::PathBuf;
use std::process::ExitCode;

use mamori_notify::{FeedReport, OwnerIndex};
use mamori_server::notices::{self, NoticeSettings};
use mamori_store::Store;

use super::{FeedArgs, GlobalArgs, load_feed, load_orgs, owner_index};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    file: PathBuf,
    #[command(flatten)]
    source: FeedArgs,
    #[command(flatten)]
    lifecycle: LifecycleArgs,
}

/// How a recorded run is followed up.
#[derive(Debug, Clone, clap::Args)]
pub struct LifecycleArgs {
    /// The feed lists everything it currently reports: open items it no longer lists are
    /// remediated.
    #[arg(long)]
    pub complete: bool,
    /// smtp://host:port, smtp+starttls://host:port or smtps://host:port; without it e-mail
    /// notices stay queued (webhook notices are posted either way).
    #[arg(long, requires = "from")]
    pub smtp: Option<String>,
    /// The sender address, e.g. "Mamori <notice@hub.example.jp>".
    #[arg(long)]
    pub from: Option<String>,
    #[arg(long, default_value = "Mamori")]
    pub hub_name: String,
    /// The hub's public URL, for acknowledgement links (default: public_url from the config).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Notify items that are still open again after this many days.
    #[arg(long, default_value_t = 7)]
    pub renotify_days: i64,
    /// Mark notices escalated once their items were notified this many times.
    #[arg(long, default_value_t = 3)]
    pub escalate_after: i64,
}

/// What one recorded run did, for the summary line.
pub struct RunSummary {
    pub line: String,
    pub failed: usize,
}

/// Records a parsed feed, issues the notices that are due and delivers them.
pub async fn process(
    store: &Store,
    orgs: &[mamori_model::Org],
    index: &OwnerIndex,
    parsed: &FeedReport,
    label: &str,
    a: &LifecycleArgs,
    default_public_url: Option<&str>,
) -> anyhow::Result<RunSummary> {
    let actor = mamori_server::ops::Actor::cli();
    let now = mamori_store::now_millis();
    let run = notices::record_feed(store, &actor, index, parsed, a.complete, now).await?;
    let settings = NoticeSettings {
        hub_name: a.hub_name.clone(),
        public_url: a
            .public_url
            .clone()
            .or_else(|| default_public_url.map(str::to_owned)),
        renotify_ms: a.renotify_days.max(0) * 86_400_000,
        escalate_after: a.escalate_after.max(1),
    };
    let issued = notices::issue_notices(store, &actor, orgs, &settings, now).await?;
    let smtp = match (&a.smtp, &a.from) {
        (Some(url), Some(from)) => Some(mamori_notify::notice::Smtp::new(url, from)?),
        _ => None,
    };
    let webhook = webhook_sender()?;
    let d = notices::deliver(
        store,
        &actor,
        notices::Senders {
            smtp: smtp.as_ref(),
            webhook: Some(&webhook),
        },
        &issued,
        now,
    )
    .await?;
    let o = &run.outcome;
    Ok(RunSummary {
        line: format!(
            "{label}: {} items ({} owned, {} unowned for review, {} bad lines); {} new, {} seen again, {} reopened, {} remediated; {} notices remediated\n\
             {} notices issued ({} escalated{}): {} sent, {} failed, {} queued",
            run.items,
            run.owned,
            run.unowned,
            run.problems,
            o.new,
            o.seen_again,
            o.reopened,
            o.remediated,
            o.notices_remediated,
            issued.len(),
            issued.iter().filter(|i| i.record.escalated).count(),
            match issued
                .iter()
                .filter(|i| i.record.channel == "webhook")
                .count()
            {
                0 => String::new(),
                n => format!(", {n} by webhook"),
            },
            d.sent,
            d.failed,
            d.queued
        ),
        failed: d.failed,
    })
}

/// Delivers the failed notices whose next attempt is due (a collector does so every cycle).
/// Returns a summary line when there were any.
pub async fn retry_due(store: &Store, a: &LifecycleArgs) -> anyhow::Result<Option<String>> {
    let now = mamori_store::now_millis();
    let due = notices::due_for_retry(store, now).await?;
    if due.is_empty() {
        return Ok(None);
    }
    let smtp = match (&a.smtp, &a.from) {
        (Some(url), Some(from)) => Some(mamori_notify::notice::Smtp::new(url, from)?),
        _ => None,
    };
    let webhook = webhook_sender()?;
    let d = notices::deliver(
        store,
        &mamori_server::ops::Actor::cli(),
        notices::Senders {
            smtp: smtp.as_ref(),
            webhook: Some(&webhook),
        },
        &due,
        now,
    )
    .await?;
    Ok(Some(format!(
        "retried {} failed notice(s): {} sent, {} failed again, {} waiting for --smtp",
        due.len(),
        d.sent,
        d.failed,
        d.queued
    )))
}

/// Webhook notices: 4 attempts, waiting 1 s, 2 s and 4 s between them (as SMTP does).
fn webhook_sender() -> anyhow::Result<mamori_notify::webhook::Webhook> {
    Ok(mamori_notify::webhook::Webhook::new(
        4,
        std::time::Duration::from_secs(1),
    )?)
}

pub async fn run_feed(global: &GlobalArgs, a: RunArgs) -> anyhow::Result<ExitCode> {
    let parsed = load_feed(&a.file, &a.source)?;
    for p in &parsed.problems {
        eprintln!("{}:{}: {}", a.file.display(), p.line, p.message);
    }
    let orgs = load_orgs(global).await?;
    let index = owner_index(&orgs, a.source.asn_table.as_deref())?;
    let (config, store) = global.open_store().await?;
    let label = a.file.display().to_string();
    let summary = process(
        &store,
        &orgs,
        &index,
        &parsed,
        &label,
        &a.lifecycle,
        config.public_url.as_deref(),
    )
    .await;
    store.close().await;
    let summary = summary?;
    println!("{}", summary.line);
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub async fn list_notices(
    global: &GlobalArgs,
    org: Option<String>,
    limit: i64,
    jsonl: bool,
) -> anyhow::Result<ExitCode> {
    let (_, store) = global.open_store().await?;
    let org_id = match org {
        Some(slug) => Some(store.find_org(&slug).await?.id),
        None => None,
    };
    let notices = store.list_notices(org_id, limit).await?;
    store.close().await;
    if jsonl {
        for n in &notices {
            println!("{}", serde_json::to_string(n)?);
        }
    } else {
        println!(
            "{:<36} {:<13} {:<9} {:<8} {:>5}  SUBJECT",
            "ID", "STATUS", "KIND", "CHANNEL", "ITEMS"
        );
        for n in &notices {
            println!(
                "{:<36} {:<13} {:<9} {:<8} {:>5}  {}{}",
                n.id,
                n.status,
                n.kind,
                n.channel,
                n.items,
                if n.escalated { "(escalated) " } else { "" },
                n.subject
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn deliver_queued(
    global: &GlobalArgs,
    smtp: Option<&str>,
    from: Option<&str>,
    retry_failed: bool,
) -> anyhow::Result<ExitCode> {
    let (_, store) = global.open_store().await?;
    let statuses: &[&str] = if retry_failed {
        &["queued", "failed"]
    } else {
        &["queued"]
    };
    let result = async {
        let now = mamori_store::now_millis();
        let mut pending = store.notices_with_status(statuses, 10_000).await?;
        if !retry_failed {
            pending.extend(store.notices_due_for_retry(now, 10_000).await?);
        }
        let mut issued = Vec::new();
        for record in pending {
            issued.push(notices::issued_of(&store, record).await?);
        }
        let smtp = match (smtp, from) {
            (Some(url), Some(from)) => Some(mamori_notify::notice::Smtp::new(url, from)?),
            _ => None,
        };
        let webhook = webhook_sender()?;
        let actor = mamori_server::ops::Actor::cli();
        let d = notices::deliver(
            &store,
            &actor,
            notices::Senders {
                smtp: smtp.as_ref(),
                webhook: Some(&webhook),
            },
            &issued,
            now,
        )
        .await?;
        anyhow::Ok(d)
    }
    .await;
    store.close().await;
    let d = result?;
    println!(
        "{} sent, {} failed, {} left queued (e-mail without --smtp)",
        d.sent, d.failed, d.queued
    );
    Ok(if d.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
