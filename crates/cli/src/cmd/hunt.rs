//! `mamori hunt`: detections over collected logs.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use mamori_detect::hunt::{Detection, Hunter};
use mamori_detect::ioc::IocSet;
use mamori_detect::mapping::FieldMapping;
use mamori_detect::sigma::yaml::{Value, parse_documents};
use mamori_detect::{Level, RulesetBuilder};
use mamori_patterns::hunt::{PatternHunt, PatternSource};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// An aligned text table.
    Table,
}

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 = nothing at or above --min-level found, \
1 = detections found, 2 = error (bad arguments, unreadable rules/inputs).\n\
Rules that fail to compile are reported on stderr and skipped; the hunt goes on."
)]
pub struct HuntArgs {
    /// Files or directories to scan (.evtx, .json, .jsonl; directories are walked).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Sigma rule file or directory (repeatable).
    #[arg(long = "rules", short = 'r')]
    pub rules: Vec<PathBuf>,
    /// Indicator list: one IOC per line (hash, IP, CIDR, domain, URL, e-mail).
    #[arg(long)]
    pub ioc: Option<PathBuf>,
    /// STIX patterns, one a line (`#` starts a comment line); patterns that need several
    /// events (AND, FOLLOWEDBY, REPEATS) are evaluated over all the events read.
    #[arg(long, value_name = "FILE")]
    pub patterns: Option<PathBuf>,
    /// A STIX 2.1 bundle whose indicators (pattern_type stix) to hunt with (repeatable).
    #[arg(long, value_name = "FILE")]
    pub stix: Vec<PathBuf>,
    /// Lowest level reported: informational, low, medium, high, critical.
    #[arg(long, default_value = "informational", value_parser = parse_level)]
    pub min_level: Level,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Write detections to this file instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Extra field mapping YAML (`fieldmappings: {SigmaField: [source, ...]}`).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Placeholder values for the `expand` modifier (YAML: `name: [values]`).
    #[arg(long)]
    pub placeholders: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// No summary on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The pattern indicators of `--patterns` and `--stix`, if any.
fn load_patterns(args: &HuntArgs) -> anyhow::Result<Option<Arc<PatternHunt>>> {
    let mut items: Vec<(String, PatternSource)> = Vec::new();
    if let Some(p) = &args.patterns {
        let text = std::fs::read_to_string(p).with_context(|| p.display().to_string())?;
        items.extend(
            mamori_patterns::set::pattern_lines(&text)
                .map(|l| (l.to_owned(), PatternSource::default())),
        );
    }
    for b in &args.stix {
        let bytes = std::fs::read(b).with_context(|| b.display().to_string())?;
        let bundle = mamori_stix::Bundle::parse(&bytes, mamori_stix::Limits::default())
            .map_err(|e| anyhow::anyhow!("{}: {e}", b.display()))?;
        for o in bundle.of_type("indicator") {
            let Some(ind) = o.as_indicator() else {
                continue;
            };
            if ind.pattern_type() != Some("stix") {
                continue;
            }
            if let Some(pattern) = ind.pattern() {
                items.push((
                    pattern.to_owned(),
                    PatternSource {
                        id: Some(o.id.to_string()),
                        name: ind.name().map(str::to_owned),
                    },
                ));
            }
        }
    }
    if args.patterns.is_none() && args.stix.is_empty() {
        return Ok(None);
    }
    Ok(Some(Arc::new(PatternHunt::new(items))))
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s).ok_or_else(|| format!("unknown level '{s}'"))
}

pub(crate) fn load_placeholders(path: &PathBuf) -> anyhow::Result<HashMap<String, Vec<String>>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let docs = parse_documents(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", path.display(), e.line, e.message))?;
    let mut out = HashMap::new();
    for d in docs {
        let Value::Map(entries) = &d.value else {
            anyhow::bail!(
                "{}:{}: expected a map of placeholders",
                path.display(),
                d.line
            );
        };
        for (k, v) in entries {
            out.insert(k.clone(), v.string_list());
        }
    }
    Ok(out)
}

pub fn run(args: HuntArgs) -> anyhow::Result<ExitCode> {
    if args.rules.is_empty()
        && args.ioc.is_none()
        && args.patterns.is_none()
        && args.stix.is_empty()
    {
        anyhow::bail!(
            "nothing to hunt with: give --rules DIR, --ioc FILE, --patterns FILE or --stix BUNDLE"
        );
    }
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .context("thread pool")?;
    }
    let start = Instant::now();
    let mut b = RulesetBuilder::new();
    if let Some(p) = &args.placeholders {
        b.placeholders(load_placeholders(p)?);
    }
    for r in &args.rules {
        if !r.exists() {
            anyhow::bail!("{}: no such rule file or directory", r.display());
        }
        b.add_path(r);
    }
    let (mut ruleset, errors) = b.build();
    let rejected = errors.iter().filter(|e| !e.warning).count();
    if !args.quiet {
        for e in errors.iter().filter(|e| !e.warning) {
            eprintln!("{e}");
        }
    }
    if let Some(m) = &args.mapping {
        let text = std::fs::read_to_string(m).with_context(|| m.display().to_string())?;
        let mut fm = FieldMapping::builtin();
        fm.merge_yaml(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", m.display()))?;
        ruleset.set_mapping(fm);
    }
    let iocs = match &args.ioc {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| p.display().to_string())?;
            Some(Arc::new(IocSet::parse(&p.display().to_string(), &text)?))
        }
        None => None,
    };
    let patterns = load_patterns(&args)?;
    let compile_time = start.elapsed();
    let (files, walk_errors) = mamori_detect::input::collect_files(&args.paths);
    for e in &walk_errors {
        eprintln!("warning: {e}");
    }
    if files.is_empty() {
        anyhow::bail!("no input files found");
    }
    if !args.quiet {
        let ioc_count = iocs
            .as_ref()
            .map(|i| format!(", {} indicators", i.len()))
            .unwrap_or_default();
        let pattern_count = patterns
            .as_ref()
            .map(|p| {
                let st = p.set().stats();
                format!(
                    ", {} STIX patterns ({} across events, {} not usable)",
                    st.streamed(),
                    st.cross_event,
                    st.skipped()
                )
            })
            .unwrap_or_default();
        eprintln!(
            "loaded {} rules ({} correlation, {} rejected){ioc_count}{pattern_count} in {:.2}s; scanning {} files",
            ruleset.rules().len(),
            ruleset.correlations().len(),
            rejected,
            compile_time.as_secs_f64(),
            files.len()
        );
    }
    let hunter = Hunter {
        ruleset: Arc::new(ruleset),
        iocs,
        min_level: args.min_level,
        extra: patterns.map(|p| p as Arc<dyn mamori_detect::hunt::ExtraScanner>),
    };
    let bar = (std::io::stderr().is_terminal() && !args.quiet).then(|| {
        let pb = indicatif::ProgressBar::new(files.len() as u64);
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} files {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        pb
    });
    let scan_start = Instant::now();
    let (dets, stats) = hunter.run(&files, &|done, events| {
        if let Some(pb) = &bar {
            pb.set_position(done);
            pb.set_message(format!("{events} events"));
        }
    });
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    let scan_time = scan_start.elapsed();
    if stats.failed_files == stats.files {
        for w in stats.warnings.iter().take(20) {
            eprintln!("warning: {w}");
        }
        anyhow::bail!("none of the {} input files could be read", stats.files);
    }

    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| p.display().to_string())?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let written = write_detections(&mut out, &dets, args.format).and_then(|()| Ok(out.flush()?));
    if let Err(e) = written {
        // A closed pipe (e.g. `| head`) is not an error worth a stack of messages.
        let broken = e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
        if !broken {
            return Err(e.context("writing detections"));
        }
    }

    if !args.quiet {
        for w in stats.warnings.iter().take(20) {
            eprintln!("warning: {w}");
        }
        if stats.warnings.len() > 20 {
            eprintln!("warning: ... {} more warnings", stats.warnings.len() - 20);
        }
        summary(&dets, &stats, scan_time.as_secs_f64());
    }
    Ok(if dets.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn write_detections(
    out: &mut dyn Write,
    dets: &[Detection],
    fmt: OutputFormat,
) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Jsonl => {
            for d in dets {
                writeln!(out, "{}", d.to_json())?;
            }
        }
        OutputFormat::Csv => {
            writeln!(out, "{}", mamori_detect::hunt::CSV_HEADER)?;
            for d in dets {
                let row = [
                    d.timestamp.as_str(),
                    &d.computer,
                    &d.channel,
                    &d.event_id,
                    &d.record_id,
                    &d.file,
                    &d.rule_id,
                    &d.rule_title,
                    &d.level.to_string(),
                    &d.tags.join(" "),
                    &d.matched_text(),
                ]
                .map(csv_field)
                .join(",");
                writeln!(out, "{row}")?;
            }
        }
        OutputFormat::Table => {
            let cut = |s: &str, n: usize| -> String {
                if s.chars().count() <= n {
                    s.to_owned()
                } else {
                    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
                    t.push('…');
                    t
                }
            };
            writeln!(
                out,
                "{:<30}  {:<16}  {:>6}  {:<13}  {:<50}  MATCHED",
                "TIMESTAMP", "COMPUTER", "EVENT", "LEVEL", "RULE"
            )?;
            for d in dets {
                writeln!(
                    out,
                    "{:<30}  {:<16}  {:>6}  {:<13}  {:<50}  {}",
                    cut(&d.timestamp, 30),
                    cut(&d.computer, 16),
                    cut(&d.event_id, 6),
                    d.level.to_string(),
                    cut(&d.rule_title, 50),
                    cut(&d.matched_text().replace(['\n', '\r'], " "), 120)
                )?;
            }
        }
    }
    Ok(())
}

fn summary(dets: &[Detection], stats: &mamori_detect::hunt::HuntStats, secs: f64) {
    let mut by_level: HashMap<Level, usize> = HashMap::new();
    let mut by_rule: HashMap<(&str, Level), usize> = HashMap::new();
    let mut by_host: HashMap<&str, usize> = HashMap::new();
    for d in dets {
        *by_level.entry(d.level).or_default() += 1;
        *by_rule.entry((d.rule_title.as_str(), d.level)).or_default() += 1;
        *by_host.entry(d.computer.as_str()).or_default() += 1;
    }
    eprintln!(
        "scanned {} events in {} files ({} corrupt records/chunks skipped, {} unreadable files) in {:.2}s ({:.0} events/s)",
        stats.events,
        stats.files,
        stats.skipped,
        stats.failed_files,
        secs,
        stats.events as f64 / secs.max(1e-9)
    );
    let levels: Vec<String> = Level::ALL
        .iter()
        .rev()
        .map(|l| format!("{l}: {}", by_level.get(l).copied().unwrap_or(0)))
        .collect();
    eprintln!("detections: {} ({})", dets.len(), levels.join(", "));
    let mut rules: Vec<_> = by_rule.into_iter().collect();
    rules.sort_by(|a, b| b.0.1.cmp(&a.0.1).then(b.1.cmp(&a.1)).then(a.0.0.cmp(b.0.0)));
    if !rules.is_empty() {
        eprintln!("top rules:");
        for ((t, l), n) in rules.iter().take(15) {
            eprintln!("  {n:>7}  {l:<13}  {t}");
        }
    }
    let mut hosts: Vec<_> = by_host.into_iter().collect();
    hosts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if !hosts.is_empty() {
        eprintln!("hosts:");
        for (h, n) in hosts.iter().take(10) {
            eprintln!("  {n:>7}  {}", if h.is_empty() { "(unknown)" } else { h });
        }
    }
}
