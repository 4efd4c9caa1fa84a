//! `mamori rules`: Sigma rule-set tooling.

use std::process::ExitCode;

use mamori_detect::RulesetBuilder;

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// Compile every rule under the given directories and report problems.
    ///
    /// Prints one line per problem as `file:line: error: [title] message`, then a last line
    /// with the counts. Exit status: 0 if no rule was rejected, 1 otherwise, 2 on usage errors.
    Check {
        /// Rule files or directories (walked recursively for .yml/.yaml).
        #[arg(required = true)]
        dirs: Vec<std::path::PathBuf>,
        /// Placeholder values for the `expand` modifier (YAML: `name: [values]`).
        #[arg(long)]
        placeholders: Option<std::path::PathBuf>,
    },
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::Check { dirs, placeholders } => {
            let mut b = RulesetBuilder::new();
            if let Some(p) = &placeholders {
                b.placeholders(super::hunt::load_placeholders(p)?);
            }
            for d in &dirs {
                if !d.exists() {
                    anyhow::bail!("{}: no such file or directory", d.display());
                }
                b.add_path(d);
            }
            let (rs, errors) = b.build();
            let mut rejected = 0usize;
            let mut warnings = 0usize;
            for e in &errors {
                println!("{e}");
                if e.warning {
                    warnings += 1;
                } else {
                    rejected += 1;
                }
            }
            let (routed, any_windows, non_windows) = rs.route_stats();
            println!(
                "routing: {routed} rules by channel/EventID, {any_windows} on every Windows event, \
{non_windows} on non-Windows events; {} guarded by the literal prefilter",
                rs.prefiltered_rules()
            );
            println!(
                "{} files: {} rules loaded ({} detection, {} correlation, {} filter), {} rejected, {} warnings",
                rs.files(),
                rs.rules().len() + rs.correlations().len() + rs.filter_count(),
                rs.rules().len(),
                rs.correlations().len(),
                rs.filter_count(),
                rejected,
                warnings
            );
            Ok(if rejected == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
