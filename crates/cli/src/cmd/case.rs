//! `mamori case`: incident-response cases from the hub's machine. `report` renders a case's
//! after-action report as HTML or PDF (headless Chromium) in Japanese or English, with the same
//! code and audit record as the console's button.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use mamori_model::Lang;
use mamori_server::ops::Actor;

use super::GlobalArgs;

#[derive(Debug, clap::Subcommand)]
pub enum CaseCommand {
    /// Render a case's after-action report.
    Report(ReportArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Pdf,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The case id.
    pub id: String,
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// ja or en.
    #[arg(long, default_value = "ja")]
    pub lang: String,
    /// Output file ("-" = standard output).
    #[arg(short = 'o', long = "output", default_value = "-")]
    pub output: PathBuf,
}

pub async fn run(global: &GlobalArgs, cmd: CaseCommand) -> anyhow::Result<ExitCode> {
    let (config, store) = global.open_store().await?;
    let notifier = mamori_server::case_notify::Notifier::from_config(&config);
    let cx = mamori_server::cases::CaseCtx {
        store: &store,
        config: &config.cases,
        data_dir: &config.data_dir,
        notifier: &notifier,
    };
    let result = match cmd {
        CaseCommand::Report(args) => report(&cx, args).await,
    };
    store.close().await;
    result
}

async fn report(
    cx: &mamori_server::cases::CaseCtx<'_>,
    args: ReportArgs,
) -> anyhow::Result<ExitCode> {
    let lang: Lang = args
        .lang
        .parse()
        .map_err(|_| anyhow::anyhow!("--lang must be ja or en"))?;
    let data = mamori_server::case_report::collect(cx, &Actor::cli(), &args.id, lang).await?;
    let html = mamori_server::case_report::html(&data, lang)?;
    let bytes = match args.format {
        ReportFormat::Html => html.into_bytes(),
        ReportFormat::Pdf => mamori_server::pdf::render(&html).await?,
    };
    if args.output.as_os_str() == "-" {
        use std::io::Write;
        std::io::stdout().write_all(&bytes)?;
    } else {
        std::fs::write(&args.output, &bytes)
            .with_context(|| format!("cannot write {}", args.output.display()))?;
        eprintln!("wrote {} ({} bytes)", args.output.display(), bytes.len());
    }
    Ok(ExitCode::SUCCESS)
}
