//! `mamori share`: move threat information in and out of the hub from the command line, acting
//! as a named user of a member organisation (the audit log records that user).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use mamori_model::Tlp;
use mamori_server::ops::Actor;
use mamori_share::warninglist::WarningLists;

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum ShareCommand {
    /// Import MISP event files (`{"Event": ...}`) as reports of the user's organisation. A
    /// directory is read as a MISP feed: every event its `manifest.json` lists.
    ImportMisp {
        /// Act as this user (their organisation owns the reports).
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
        /// TLP for events without a `tlp:` tag.
        #[arg(long, default_value = "AMBER")]
        tlp: Tlp,
        /// Release the reports to this sharing group (id or name).
        #[arg(long)]
        group: Option<String>,
        files: Vec<PathBuf>,
    },
    /// Import a MISP feed (manifest.json + one file per event) from a directory or an http(s)
    /// URL. Events already imported at the same timestamp are skipped, so re-running imports
    /// nothing twice; an edited event (new timestamp) is imported again.
    ImportMispFeed {
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
        /// TLP for events without a `tlp:` tag.
        #[arg(long, default_value = "AMBER")]
        tlp: Tlp,
        /// Release the reports to this sharing group (id or name).
        #[arg(long)]
        group: Option<String>,
        /// Environment variable holding a bearer token for an HTTP feed.
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
        /// The feed: a directory, or an http:// or https:// URL of the feed's directory.
        source: String,
    },
    /// Pull a remote TAXII 2.1 collection into a local collection (new objects only; objects
    /// already here, posted or derived from a report, are skipped, so federation never loops).
    Pull {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Act as this local user (their organisation owns what is pulled).
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
        /// Local collection: `community`, `org`, a sharing group's name, or a collection id.
        #[arg(long, default_value = "community")]
        into: String,
        /// Only objects the remote added after this timestamp.
        #[arg(long)]
        added_after: Option<String>,
    },
    /// Push a local collection, as a local user sees it, to a remote TAXII 2.1 collection.
    Push {
        #[command(flatten)]
        remote: RemoteArgs,
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
        /// Local collection: `all`, `community`, `org`, a sharing group's name, or an id.
        #[arg(long, default_value = "community")]
        from: String,
    },
    /// Write a MISP feed (manifest.json + one file per event) of what the user may see and export.
    ExportMisp {
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
        /// Output directory (created if missing).
        #[arg(short, long)]
        out: PathBuf,
    },
}

/// Files as given, with each directory replaced by the event files its MISP feed manifest lists.
fn expand_feeds(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let manifest = p.join("manifest.json");
        let meta = std::fs::metadata(&manifest)
            .with_context(|| format!("{}: not a MISP feed (no manifest.json)", p.display()))?;
        if meta.len() > 256 * 1024 * 1024 {
            bail!("{}: manifest larger than 256 MiB", manifest.display());
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("{}", manifest.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not JSON", manifest.display()))?;
        let Some(events) = v.as_object() else {
            bail!(
                "{}: a MISP manifest is an object of event uuids",
                manifest.display()
            );
        };
        for uuid in events.keys() {
            if uuid.len() > 64 || !uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                bail!("{}: {uuid:?} is not an event uuid", manifest.display());
            }
            out.push(p.join(format!("{uuid}.json")));
        }
    }
    Ok(out)
}

/// Where the remote TAXII server is and how to authenticate to it.
#[derive(Debug, clap::Args)]
pub struct RemoteArgs {
    /// The remote API root, e.g. https://hub.example/taxii2/api/
    #[arg(long)]
    remote: String,
    /// The remote collection id.
    #[arg(long)]
    collection: String,
    /// Environment variable holding a bearer token for the remote (never on the command line).
    #[arg(long, value_name = "VAR", conflicts_with = "basic_user")]
    token_env: Option<String>,
    /// Basic-auth user; the password comes from the environment variable in --password-env.
    #[arg(long, requires = "password_env")]
    basic_user: Option<String>,
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
}

impl RemoteArgs {
    fn remote(&self) -> anyhow::Result<super::taxii_client::Remote> {
        use super::taxii_client::{Credential, Remote};
        let env = |v: &str| {
            std::env::var(v).with_context(|| format!("environment variable {v} is not set"))
        };
        let cred = match (&self.token_env, &self.basic_user, &self.password_env) {
            (Some(t), _, _) => Credential::Bearer(env(t)?),
            (None, Some(u), Some(p)) => Credential::Basic {
                user: u.clone(),
                password: env(p)?,
            },
            _ => bail!("give --token-env VAR, or --basic-user USER with --password-env VAR"),
        };
        Remote::new(&self.remote, cred)
    }
}

pub async fn local_collection(
    store: &mamori_store::Store,
    principal: &mamori_model::Principal,
    name: &str,
) -> anyhow::Result<mamori_server::taxii::handlers::Collection> {
    let cols = mamori_server::taxii::handlers::collections_of(store, principal).await?;
    let want = name.to_lowercase();
    cols.into_iter()
        .find(|c| {
            c.id.to_string() == want
                || c.key == want
                || (want == "org" && c.key.starts_with("org:"))
                || c.title.to_lowercase() == want
        })
        .with_context(|| format!("no local collection {name:?} for this user"))
}

/// An actor for a local user, recorded in the audit log as `{prefix}:{username}`.
pub async fn actor_for_user(
    store: &mamori_store::Store,
    username: &str,
    prefix: &str,
) -> anyhow::Result<Actor> {
    let user = store
        .find_user(username)
        .await
        .with_context(|| format!("no user {username:?}"))?;
    let scopes = mamori_access::role_scopes(user.role).to_vec();
    let principal = mamori_server::auth::principal_for(store, &user, &scopes).await?;
    Ok(Actor {
        principal: Some(principal),
        name: format!("{prefix}:{username}"),
        source: "local".into(),
        request_id: String::new(),
    })
}

pub async fn run(global: &GlobalArgs, cmd: ShareCommand) -> anyhow::Result<ExitCode> {
    let (config, store) = global.open_store().await?;
    let lists = WarningLists::load(&config.data_dir.join("warninglists"))
        .unwrap_or_else(|_| WarningLists::built_in());
    let cx = mamori_server::sharing::ShareCtx {
        store: &store,
        warninglists: &lists,
        pattern_window_ms: mamori_patterns::set::DEFAULT_PATTERN_WINDOW_MS,
    };
    let actor_for = |username: String| {
        let store = store.clone();
        async move { actor_for_user(&store, &username, "cli").await }
    };
    let code = match cmd {
        ShareCommand::ImportMisp {
            user,
            tlp,
            group,
            files,
        } => {
            if files.is_empty() {
                bail!("give at least one MISP event file");
            }
            let actor = actor_for(user).await?;
            let group = match group {
                Some(g) => Some(store.find_group(&g).await?.id),
                None => None,
            };
            let files = expand_feeds(&files)?;
            let mut failed = 0;
            for f in &files {
                let meta = std::fs::metadata(f).with_context(|| format!("{}", f.display()))?;
                if meta.len() > 64 * 1024 * 1024 {
                    eprintln!("{}: larger than 64 MiB, skipped", f.display());
                    failed += 1;
                    continue;
                }
                let bytes = std::fs::read(f).with_context(|| format!("{}", f.display()))?;
                match mamori_server::interchange::import_misp_event(
                    &cx,
                    &actor,
                    &bytes,
                    Some(tlp),
                    group,
                )
                .await
                {
                    Ok(r) => {
                        println!(
                            "{}: report {} ({} indicators, {} observables, {} skipped)",
                            f.display(),
                            r.report.report.id,
                            r.report.indicators.len(),
                            r.report.observables.len(),
                            r.skipped.len()
                        );
                        for s in &r.skipped {
                            println!("  skipped {} {:?}: {}", s.misp_type, s.value, s.reason);
                        }
                    }
                    Err(e) => {
                        eprintln!("{}: {e}", f.display());
                        failed += 1;
                    }
                }
            }
            println!("{} imported, {failed} failed", files.len() - failed);
            if failed > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        ShareCommand::ImportMispFeed {
            user,
            tlp,
            group,
            token_env,
            source,
        } => {
            let actor = actor_for(user).await?;
            let group = match group {
                Some(g) => Some(store.find_group(&g).await?.id),
                None => None,
            };
            let token = match token_env {
                Some(v) => Some(
                    std::env::var(&v)
                        .with_context(|| format!("environment variable {v} is not set"))?,
                ),
                None => None,
            };
            let feed = super::feed_source::Feed::open(&source, token)?;
            let out = mamori_server::misp_feed_import::import_feed(
                &cx,
                &actor,
                &feed,
                &source,
                Some(tlp),
                group,
            )
            .await?;
            for (uuid, report) in &out.imported {
                println!("{uuid}: report {report}");
            }
            for (name, why) in &out.failed {
                eprintln!("{name}: {why}");
            }
            println!(
                "{} imported, {} already imported, {} failed",
                out.imported.len(),
                out.unchanged,
                out.failed.len()
            );
            if out.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        ShareCommand::Pull {
            remote,
            user,
            into,
            added_after,
        } => {
            let actor = actor_for(user).await?;
            let principal = super::federation::principal_of(&actor)?;
            let collection = local_collection(&store, &principal, &into).await?;
            let (fetched, added) = super::federation::pull_once(
                &store,
                &principal,
                &actor,
                &collection,
                &remote.remote()?,
                &remote.collection,
                added_after.as_deref(),
            )
            .await?;
            if fetched == 0 {
                println!("nothing to pull");
            } else {
                println!(
                    "pulled {fetched} objects into {}: {added} new (objects already here are not duplicated)",
                    collection.title,
                );
            }
            ExitCode::SUCCESS
        }
        ShareCommand::Push { remote, user, from } => {
            let actor = actor_for(user).await?;
            let principal = super::federation::principal_of(&actor)?;
            let collection = local_collection(&store, &principal, &from).await?;
            let (sent, stored) = super::federation::push_once(
                &store,
                &principal,
                &collection,
                &remote.remote()?,
                &remote.collection,
            )
            .await?;
            println!(
                "pushed {sent} objects from {}; the remote accepted {stored}",
                collection.title
            );
            ExitCode::SUCCESS
        }
        ShareCommand::ExportMisp { user, out } => {
            let actor = actor_for(user).await?;
            let docs = mamori_server::interchange::misp_feed(&cx, &actor).await?;
            std::fs::create_dir_all(&out).with_context(|| format!("{}", out.display()))?;
            for d in &docs {
                std::fs::write(
                    out.join(format!("{}.json", d.event.uuid)),
                    mamori_misp::feed::to_json(d),
                )?;
            }
            std::fs::write(
                out.join("manifest.json"),
                mamori_misp::feed::to_json(&mamori_misp::feed::manifest(&docs)),
            )?;
            println!(
                "wrote {} events and manifest.json to {}",
                docs.len(),
                out.display()
            );
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}
