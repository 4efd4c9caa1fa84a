//! `mamori mail analyze --format html`: one self-contained HTML page (no scripts, no external
//! resources) with a section per message, and per attached message: score, headers, signals in Japanese and English,
//! Received hops, URLs, the attachment tree with archive members, YARA matches and parse
//! findings. Every value is escaped by the template engine (askama).

use askama::Template;
use mamori_mail::Analysis;

#[derive(Template)]
#[template(path = "mail_report.html")]
struct Page {
    summary: String,
    messages: Vec<Message>,
}

struct Message {
    source: String,
    subject: String,
    score: u8,
    /// `high`, `mid` or `low`: the colour of the score bar.
    band: &'static str,
    from: String,
    to: String,
    date: String,
    auth: String,
    language: String,
    campaign: u32,
    sha256: String,
    /// (weight, Japanese, English)
    signals: Vec<(u8, String, String)>,
    /// (from, by, IP, time, delay)
    hops: Vec<(String, String, String, String, String)>,
    urls: Vec<String>,
    attachments: usize,
    files: Vec<FileRow>,
    yara: Vec<String>,
    /// (id, detail)
    findings: Vec<(String, String)>,
}

struct FileRow {
    depth: usize,
    name: String,
    kind: String,
    size: usize,
    sha256: String,
    notes: String,
}

fn or_dash(v: Option<&str>) -> String {
    v.filter(|s| !s.is_empty()).unwrap_or("-").to_owned()
}

fn mailboxes(m: &[mamori_mail::report::Mailbox]) -> String {
    let parts: Vec<String> = m
        .iter()
        .map(|b| match (&b.name, &b.address) {
            (Some(n), Some(a)) => format!("{n} <{a}>"),
            (None, Some(a)) => a.clone(),
            (Some(n), None) => n.clone(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

fn message(source: &str, campaign: u32, a: &Analysis) -> Message {
    let h = &a.headers;
    let score = a.verdict.score;
    Message {
        source: source.to_owned(),
        subject: h.subject.clone().unwrap_or_else(|| format!("({source})")),
        score,
        band: match score {
            50.. => "high",
            30..=49 => "mid",
            _ => "low",
        },
        from: mailboxes(&h.from),
        to: mailboxes(&h.to),
        date: or_dash(h.date.as_deref()),
        auth: format!(
            "{} / {} / {}",
            or_dash(a.auth.spf.as_deref()),
            or_dash(a.auth.dkim.as_deref()),
            or_dash(a.auth.dmarc.as_deref())
        ),
        language: a.language.clone(),
        campaign,
        sha256: a.sha256.clone(),
        signals: a
            .verdict
            .signals
            .iter()
            .map(|s| (s.weight, s.ja.clone(), s.en.clone()))
            .collect(),
        hops: a
            .received
            .iter()
            .map(|hop| {
                (
                    or_dash(hop.from_host.as_deref()),
                    or_dash(hop.by_host.as_deref()),
                    or_dash(hop.ip.as_deref()),
                    or_dash(hop.time.as_deref()),
                    hop.delay_secs.map_or_else(|| "-".into(), |d| d.to_string()),
                )
            })
            .collect(),
        urls: a.urls.iter().map(|u| u.url.clone()).collect(),
        attachments: a.attachments.len(),
        files: a
            .file_tree()
            .into_iter()
            .map(|(depth, f)| FileRow {
                depth: depth.min(4),
                name: f.name.clone().unwrap_or_default(),
                kind: f.true_type.clone().unwrap_or_default(),
                size: f.size,
                sha256: f.sha256.clone(),
                notes: f.notes(&mamori_mail::report::ArchiveWords::EN).join("; "),
            })
            .collect(),
        yara: a
            .scan_matches
            .iter()
            .map(|m| {
                let target = m.name.as_deref().unwrap_or("");
                format!("{} ({} {target})", m.qualified_rule(), m.target.as_str())
            })
            .collect(),
        findings: a
            .findings
            .iter()
            .map(|f| (f.id.clone(), f.detail.clone()))
            .collect(),
    }
}

/// A message's section, then one for each message attached to it (forwarded as
/// message/rfc822), named `source › 1`, `source › 2`...
fn push_with_attached(out: &mut Vec<Message>, source: String, campaign: u32, a: &Analysis) {
    out.push(message(&source, campaign, a));
    for (i, n) in a.nested.iter().enumerate() {
        push_with_attached(out, format!("{source} › {}", i + 1), campaign, n);
    }
}

/// The page for `(source, campaign, analysis)` triples, with the run's summary line on top;
/// attached messages get sections of their own after the message that carries them.
pub fn render<'a>(
    summary: &str,
    reports: impl Iterator<Item = (&'a str, u32, &'a Analysis)>,
) -> Result<String, askama::Error> {
    let mut messages = Vec::new();
    for (source, campaign, a) in reports {
        push_with_attached(&mut messages, source.to_owned(), campaign, a);
    }
    Page {
        summary: summary.to_owned(),
        messages,
    }
    .render()
}
