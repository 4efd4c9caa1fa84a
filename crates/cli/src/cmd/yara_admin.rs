//! `mamori admin yara`: the hub's YARA rule sets (the ones mail analysis scans every part with)
//! from the command line, through the same operations as the API and the console's `/yara`
//! page: each source is compiled before it is saved, and every change is audited. A running hub
//! notices the change on its next analysis (it compares the enabled sets' hashes).

use std::path::PathBuf;

use anyhow::Context;
use mamori_server::ops::Actor;
use mamori_server::yara_rules::{self, HubYara, NewRuleSet, RuleSetUpdate, SavedRuleSet};
use mamori_store::Store;

#[derive(Debug, clap::Subcommand)]
pub enum YaraCommand {
    /// List the rule sets.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print one rule set's source.
    Show { name: String },
    /// Add a rule set from a .yar file (compiled first; enabled).
    Add {
        /// 1-64 letters, digits, '-', '_', '.'; also the YARA namespace of its rules.
        name: String,
        /// The YARA source file (`include` is refused).
        file: PathBuf,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Replace a rule set's source (compiled first).
    Update {
        name: String,
        file: PathBuf,
        #[arg(long)]
        description: Option<String>,
    },
    /// Scan with a rule set again.
    Enable { name: String },
    /// Stop scanning with a rule set (it is kept).
    Disable { name: String },
    /// Delete a rule set.
    Delete { name: String },
}

fn read(file: &PathBuf) -> anyhow::Result<String> {
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

fn print_saved(verb: &str, s: &SavedRuleSet) {
    let r = &s.rule_set;
    let state = if r.enabled { "enabled" } else { "disabled" };
    println!(
        "{verb} YARA rule set {} ({} rules, {state})",
        r.name, r.rule_count
    );
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
}

pub async fn run(store: &Store, actor: &Actor, cmd: YaraCommand) -> anyhow::Result<()> {
    let yara = HubYara::default();
    match cmd {
        YaraCommand::List { json } => {
            let sets = yara_rules::list(store, actor).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sets)?);
            } else if sets.is_empty() {
                println!("no YARA rule sets");
            } else {
                for s in sets {
                    let state = if s.enabled { "enabled " } else { "disabled" };
                    println!(
                        "{:<24} {state} {:>5} rules  {}  {}",
                        s.name,
                        s.rule_count,
                        &s.sha256[..s.sha256.len().min(12)],
                        s.description
                    );
                }
            }
        }
        YaraCommand::Show { name } => {
            print!("{}", yara_rules::get(store, actor, &name).await?.source);
        }
        YaraCommand::Add {
            name,
            file,
            description,
        } => {
            let input = NewRuleSet {
                name,
                description,
                source: read(&file)?,
            };
            let saved = yara_rules::create(store, &yara, actor, &input).await?;
            print_saved("added", &saved);
        }
        YaraCommand::Update {
            name,
            file,
            description,
        } => {
            let input = RuleSetUpdate {
                source: read(&file)?,
                description,
            };
            let saved = yara_rules::update(store, &yara, actor, &name, &input).await?;
            print_saved("updated", &saved);
        }
        YaraCommand::Enable { name } => {
            let saved = yara_rules::set_enabled(store, &yara, actor, &name, true).await?;
            print_saved("enabled", &saved);
        }
        YaraCommand::Disable { name } => {
            let saved = yara_rules::set_enabled(store, &yara, actor, &name, false).await?;
            print_saved("disabled", &saved);
        }
        YaraCommand::Delete { name } => {
            yara_rules::delete(store, &yara, actor, &name).await?;
            println!("deleted YARA rule set {name}");
        }
    }
    Ok(())
}
