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
    /// Import MISP event files (`{"Event": ...}`) as reports of the user's organisation.
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
    /// Write a MISP feed (manifest.json + one file per event) of what the user may see and export.
    ExportMisp {
        #[arg(long = "as", value_name = "USERNAME")]
        user: String,
        /// Output directory (created if missing).
        #[arg(short, long)]
        out: PathBuf,
    },
}

pub async fn run(global: &GlobalArgs, cmd: ShareCommand) -> anyhow::Result<ExitCode> {
    let (config, store) = global.open_store().await?;
    let lists = WarningLists::load(&config.data_dir.join("warninglists"))
        .unwrap_or_else(|_| WarningLists::built_in());
    let cx = mamori_server::sharing::ShareCtx {
        store: &store,
        warninglists: &lists,
    };
    let actor_for = |username: String| {
        let store = store.clone();
        async move {
            let user = store
                .find_user(&username)
                .await
                .with_context(|| format!("no user {username:?}"))?;
            let scopes = mamori_access::role_scopes(user.role).to_vec();
            let principal = mamori_server::auth::principal_for(&store, &user, &scopes).await?;
            anyhow::Ok(Actor {
                principal: Some(principal),
                name: format!("cli:{username}"),
                source: "local".into(),
                request_id: String::new(),
            })
        }
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
