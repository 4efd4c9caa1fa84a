//! `mamori mail analyze`: targeted e-mail analysis of files, directories and mboxes, printed as
//! JSON, JSON lines or a one-line-per-message table, with a summary and campaign grouping;
//! `--yara` scans every part with YARA rules from files or directories.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use mamori_mail::source::{self, RawMessage};
use mamori_mail::{Analysis, CampaignIndex, Features, Options};
use serde::Serialize;

#[derive(Debug, clap::Subcommand)]
pub enum MailCommand {
    /// Analyse messages: headers, Received chain, SPF/DKIM/DMARC, URLs, attachments, archives
    /// (PPAP passwords tried), verdict with reasons in Japanese and English.
    Analyze(AnalyzeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Json,
    Jsonl,
    Table,
    /// One self-contained HTML page with a section per message.
    Html,
}

#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Message files (.eml), directories (walked recursively) or mbox files.
    #[arg(required = true, value_name = "FILE|DIR|MBOX")]
    pub inputs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Write the reports to this file instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Archive password to try first (repeatable).
    #[arg(long = "password", value_name = "PW")]
    pub passwords: Vec<String>,
    /// A companion message whose text may hold archive passwords (repeatable).
    #[arg(long = "companion", value_name = "FILE")]
    pub companions: Vec<PathBuf>,
    /// YARA rules: a rule file, or a directory of .yar/.yara files (repeatable). The raw
    /// message, body parts, attachments and archive members are scanned; matches appear in the
    /// report, the verdict and the campaign features.
    #[arg(long = "yara", value_name = "PATH")]
    pub yara: Vec<PathBuf>,
}

/// Reads and compiles the `--yara` rules; a bad rule names its file and line.
fn load_yara(paths: &[PathBuf]) -> anyhow::Result<Option<mamori_mail::SharedScanner>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let limits = mamori_yara::Limits::default();
    let mut sources = Vec::new();
    for p in paths {
        sources.extend(mamori_yara::load_path(p, &limits)?);
    }
    let set = mamori_yara::RuleSet::compile_with(&sources, limits)
        .map_err(|e| anyhow::anyhow!("YARA rules: {e}"))?;
    for w in set.warnings() {
        eprintln!("warning: YARA {w}");
    }
    eprintln!(
        "YARA: {} rule(s) from {} file(s)",
        set.rule_count(),
        set.sources().len()
    );
    let scanner = std::sync::Arc::new(mamori_yara::YaraScanner::new(std::sync::Arc::new(set)));
    Ok(Some(scanner.into()))
}

/// One message's report as written in json/jsonl output.
#[derive(Debug, Serialize)]
struct Report<'a> {
    source: &'a str,
    campaign: u32,
    features: &'a Features,
    analysis: &'a Analysis,
}

#[derive(Debug, Default, Serialize)]
struct Summary {
    files: usize,
    messages: usize,
    unreadable: usize,
    bytes: usize,
    suspicious: usize,
    /// Messages with at least one YARA match (only with `--yara`).
    #[serde(skip_serializing_if = "Option::is_none")]
    yara_matched: Option<usize>,
    campaigns: usize,
    multi_message_campaigns: usize,
    seconds: f64,
    mails_per_second: f64,
    mib_per_second: f64,
}

pub fn run(cmd: MailCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        MailCommand::Analyze(args) => analyze(args),
    }
}

fn analyze(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let files = source::collect_files(&args.inputs)?;
    let mut opts = Options {
        passwords: args.passwords.clone(),
        scanner: load_yara(&args.yara)?,
        ..Options::default()
    };
    for c in &args.companions {
        for m in source::read(c)? {
            opts.companion_texts
                .push(body_text(&mamori_mail::analyze(&m.bytes)));
        }
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let bar = progress(files.len());
    let mut summary = Summary {
        files: files.len(),
        ..Summary::default()
    };
    let mut results: Vec<(RawMessage, Analysis)> = Vec::new();
    for f in &files {
        bar.inc(1);
        match source::read(f) {
            Ok(msgs) => {
                for m in msgs {
                    let a = mamori_mail::analyze_with(&m.bytes, &opts);
                    summary.bytes += m.bytes.len();
                    results.push((m, a));
                }
            }
            Err(e) => {
                summary.unreadable += 1;
                bar.suspend(|| eprintln!("warning: {e}"));
            }
        }
    }
    bar.finish_and_clear();
    retry_with_companions(&mut results, &opts);

    let mut index = CampaignIndex::default();
    let features: Vec<Features> = results
        .iter()
        .map(|(_, a)| Features::from_analysis(a))
        .collect();
    let campaigns: Vec<u32> = features.iter().map(|f| index.add(f).0).collect();
    if args.format == Format::Table {
        writeln!(
            out,
            "{:>5}  {:>4}  {:>3}  {:>4}  {:<32}  SUBJECT",
            "SCORE", "CAMP", "ATT", "URLS", "FROM"
        )?;
    }
    for (((m, a), campaign), feat) in results.iter().zip(&campaigns).zip(&features) {
        summary.messages += 1;
        summary.suspicious += usize::from(a.verdict.score >= 50);
        if opts.scanner.is_some() {
            *summary.yara_matched.get_or_insert(0) += usize::from(!a.scan_matches.is_empty());
        }
        let report = Report {
            source: &m.source,
            campaign: *campaign,
            features: feat,
            analysis: a,
        };
        match args.format {
            Format::Jsonl => writeln!(out, "{}", serde_json::to_string(&report)?)?,
            Format::Json | Format::Html => {}
            Format::Table => writeln!(out, "{}", table_line(a, *campaign, &m.source))?,
        }
    }
    summary.campaigns = index.campaigns();
    summary.multi_message_campaigns = (0..index.campaigns())
        .filter(|&i| {
            index.size(mamori_mail::CampaignId(
                u32::try_from(i).unwrap_or(u32::MAX),
            )) > 1
        })
        .count();
    summary.seconds = started.elapsed().as_secs_f64();
    if summary.seconds > 0.0 {
        #[allow(clippy::cast_precision_loss)]
        {
            summary.mails_per_second = summary.messages as f64 / summary.seconds;
            summary.mib_per_second = summary.bytes as f64 / 1_048_576.0 / summary.seconds;
        }
    }
    let line = format!(
        "{} message(s) from {} file(s), {} unreadable, {} scored >= 50{}, {} campaign(s) ({} with several messages), {:.2} s, {:.1} mails/s, {:.2} MiB/s",
        summary.messages,
        summary.files,
        summary.unreadable,
        summary.suspicious,
        summary
            .yara_matched
            .map(|n| format!(", {n} with YARA matches"))
            .unwrap_or_default(),
        summary.campaigns,
        summary.multi_message_campaigns,
        summary.seconds,
        summary.mails_per_second,
        summary.mib_per_second
    );
    if args.format == Format::Json {
        let reports: Vec<Report<'_>> = results
            .iter()
            .zip(&campaigns)
            .zip(&features)
            .map(|(((m, a), c), f)| Report {
                source: &m.source,
                campaign: *c,
                features: f,
                analysis: a,
            })
            .collect();
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({ "reports": reports, "summary": summary }),
        )?;
        writeln!(out)?;
    }
    if args.format == Format::Html {
        let page = super::mail_html::render(
            &line,
            results
                .iter()
                .zip(&campaigns)
                .map(|((m, a), c)| (m.source.as_str(), *c, a)),
        )?;
        out.write_all(page.as_bytes())?;
    }
    out.flush()?;
    if args.format == Format::Table && args.output.is_none() {
        drop(out);
        println!("{line}");
    } else {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// PPAP: the password often comes in a second mail from the same sender. Messages with an
/// encrypted archive nobody could open are analysed again with the texts of the other messages
/// from the same From address as companions.
fn retry_with_companions(results: &mut [(RawMessage, Analysis)], opts: &Options) {
    let from = |a: &Analysis| a.headers.from.first().and_then(|m| m.address.clone());
    let locked: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, (_, a))| {
            a.files().into_iter().any(|f| {
                f.archive
                    .as_ref()
                    .is_some_and(|ar| ar.encrypted && !ar.opened)
            })
        })
        .map(|(i, _)| i)
        .collect();
    for i in locked {
        let Some(sender) = from(&results[i].1) else {
            continue;
        };
        let companions: Vec<String> = results
            .iter()
            .enumerate()
            .filter(|(j, (_, a))| *j != i && from(a).as_deref() == Some(sender.as_str()))
            .map(|(_, (_, a))| body_text(a))
            .collect();
        if companions.is_empty() {
            continue;
        }
        let mut o = opts.clone();
        o.companion_texts.extend(companions);
        results[i].1 = mamori_mail::analyze_with(&results[i].0.bytes, &o);
    }
}

fn body_text(a: &Analysis) -> String {
    let mut t = a.headers.subject.clone().unwrap_or_default();
    for b in &a.bodies {
        t.push('\n');
        t.push_str(&b.text);
    }
    t
}

fn table_line(a: &Analysis, campaign: u32, source: &str) -> String {
    let from = a
        .headers
        .from
        .first()
        .and_then(|m| m.address.clone().or_else(|| m.name.clone()))
        .unwrap_or_else(|| "-".into());
    let subject = a
        .headers
        .subject
        .clone()
        .unwrap_or_else(|| format!("({source})"));
    format!(
        "{:>5}  {:>4}  {:>3}  {:>4}  {:<32}  {}",
        a.verdict.score,
        campaign,
        a.attachments.len(),
        a.urls.len(),
        clip(&from, 32),
        clip(&subject.replace(['\r', '\n', '\t'], " "), 80)
    )
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

fn progress(len: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || len < 2 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(u64::try_from(len).unwrap_or(u64::MAX));
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}
