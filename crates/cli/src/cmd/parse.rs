//! `mamori parse`: turn log files (syslog, CEF, LEEF, web access logs, Squid, DNS query logs,
//! Suricata EVE, Zeek) into ECS-named JSON lines that `mamori hunt` and the hub read. Bad lines
//! never stop the run: they are counted, and written with their reason to `--rejects`.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// auto, json, syslog, cef, leef, access, squid, dns, eve, zeek-json, zeek-tsv
    #[arg(long)]
    pub format: String,
    /// Write JSON lines here (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Write rejected lines with their line number and reason here (a dead-letter file).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    pub files: Vec<PathBuf>,
}

pub fn run(args: ParseArgs) -> anyhow::Result<ExitCode> {
    let format: mamori_parse::Format = args.format.parse()?;
    if args.files.is_empty() {
        bail!("give at least one log file");
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut rejects: Option<Box<dyn Write>> = match &args.rejects {
        Some(p) => Some(Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("{}", p.display()))?,
        ))),
        None => None,
    };
    let (mut ok, mut bad) = (0u64, 0u64);
    for f in &args.files {
        let file = std::fs::File::open(f).with_context(|| format!("{}", f.display()))?;
        let mut parser = mamori_parse::LineParser::new(format);
        for (n, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = line.with_context(|| format!("{}", f.display()))?;
            let text = String::from_utf8_lossy(&line);
            if text.trim().is_empty() {
                continue;
            }
            match parser.line(&text) {
                Ok(Some(mut ev)) => {
                    ev.insert(
                        "log.file.path".into(),
                        serde_json::json!(f.display().to_string()),
                    );
                    ev.insert("log.offset".into(), serde_json::json!(n + 1));
                    writeln!(out, "{}", serde_json::Value::Object(ev))?;
                    ok += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    bad += 1;
                    if let Some(r) = rejects.as_mut() {
                        writeln!(
                            r,
                            "{}",
                            serde_json::json!({"file": f.display().to_string(), "line": n + 1, "reason": e.to_string(), "text": text})
                        )?;
                    }
                }
            }
        }
    }
    out.flush()?;
    if let Some(r) = rejects.as_mut() {
        r.flush()?;
    }
    eprintln!("{ok} events, {bad} rejected lines");
    Ok(ExitCode::SUCCESS)
}
