//! `mamori audit`: list and verify the hash-chained audit log.

use std::process::ExitCode;

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain; exits 1 and names the first broken row if it was tampered with.
    Verify,
    /// Show the newest entries.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(global: &GlobalArgs, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    let (_, store) = global.open_store().await?;
    let code = match cmd {
        AuditCommand::Verify => {
            let report = store.verify_audit().await?;
            match report.first_broken {
                None => {
                    println!(
                        "audit chain intact: {} rows, head {}",
                        report.rows, report.head
                    );
                    ExitCode::SUCCESS
                }
                Some(b) => {
                    println!(
                        "audit chain BROKEN at row {}: {} ({} rows read)",
                        b.seq, b.reason, report.rows
                    );
                    ExitCode::from(1)
                }
            }
        }
        AuditCommand::List { limit, json } => {
            let page = store.list_audit(None, limit).await?;
            for r in page.items {
                if json {
                    println!("{}", serde_json::to_string(&r)?);
                } else {
                    println!(
                        "{:>6}  {}  {:<20} {:<22} {}:{}  {}",
                        r.seq, r.at, r.actor_name, r.action, r.object_type, r.object_id, r.source
                    );
                }
            }
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}
