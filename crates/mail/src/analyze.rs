//! The orchestrator: limits first, then MIME parsing under `catch_unwind`, then the extractors
//! (headers, Received, authentication, bodies, URLs, attachments, nested messages), the
//! content scanner over the raw message and each part, and finally the verdict. Every problem
//! becomes a [`Finding`]; nothing here returns an error or panics out to the caller.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mail_parser::{Encoding, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use crate::attachment::{self, Ctx};
use crate::extract::{FileRole, Kept};
use crate::limits::{self, Limits};
use crate::report::{Analysis, BodyPart, Finding, SCHEMA_VERSION, UrlRecord};
use crate::scanner::{SharedScanner, TargetKind};
use crate::scanning::ScanRun;
use crate::{auth, decode, headers, html, lang, passwords, received, urls, verdict};

/// What the analysis may use besides the message itself.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// Texts of companion messages (the "password follows in a separate mail" habit).
    pub companion_texts: Vec<String>,
    /// Extra archive passwords to try first.
    pub passwords: Vec<String>,
    /// Content scanner (YARA rules) run over the message and every part.
    pub scanner: Option<SharedScanner>,
}

/// Analyses one raw message with default options.
pub fn analyze(raw: &[u8]) -> Analysis {
    analyze_with(raw, &Options::default())
}

/// Analyses one raw message.
pub fn analyze_with(raw: &[u8], opts: &Options) -> Analysis {
    analyze_at(raw, opts, 0, None)
}

/// Analyses one raw message and also returns the bytes of every attachment, archive member
/// and attached message it met (once per SHA-256, at most `keep_bytes` in all), for a sample
/// store.
pub fn analyze_keeping(raw: &[u8], opts: &Options, keep_bytes: u64) -> (Analysis, Kept) {
    let mut kept = Kept::with_cap(keep_bytes);
    let a = analyze_at(raw, opts, 0, Some(&mut kept));
    (a, kept)
}

fn analyze_at(raw: &[u8], opts: &Options, depth: usize, kept: Option<&mut Kept>) -> Analysis {
    let mut a = Analysis {
        schema: SCHEMA_VERSION,
        size: raw.len(),
        sha256: hex::encode(Sha256::digest(raw)),
        language: "unknown".into(),
        ..Analysis::default()
    };
    let l = &opts.limits;
    let mut header_only = false;
    if raw.len() > l.max_message_bytes {
        a.findings.push(Finding::new(
            "limit.size",
            format!(
                "{} bytes exceeds {}; headers only",
                raw.len(),
                l.max_message_bytes
            ),
        ));
        header_only = true;
    } else {
        let shape = limits::scan(raw, l);
        if shape.mime_depth > l.max_mime_depth {
            a.findings.push(Finding::new(
                "limit.mime_depth",
                format!("MIME depth over {}; headers only", l.max_mime_depth),
            ));
            header_only = true;
        }
        if shape.parts > l.max_parts {
            a.findings.push(Finding::new(
                "limit.parts",
                format!(
                    "{}+ MIME parts exceeds {}; headers only",
                    shape.parts, l.max_parts
                ),
            ));
            header_only = true;
        }
    }
    let input = if header_only {
        &raw[..header_end(raw).min(1024 * 1024)]
    } else {
        raw
    };
    let mut work = a.clone();
    match catch_unwind(AssertUnwindSafe(|| {
        fill(&mut work, input, opts, depth, kept);
        work
    })) {
        Ok(done) => a = done,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            a.findings.push(Finding::new(
                "parse.panic",
                format!("parser panicked: {msg}"),
            ));
        }
    }
    a.verdict = verdict::judge(&a);
    a
}

/// A text/rfc822-headers part (the returned headers in a bounce).
fn is_rfc822_headers(part: &mail_parser::MessagePart<'_>) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("text")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
    })
}

/// Analyses an embedded message (or header block) as a message of its own, within the limit.
fn nest(a: &mut Analysis, raw: &[u8], opts: &Options, depth: usize, mut kept: Option<&mut Kept>) {
    if depth + 1 > opts.limits.max_nested_messages {
        a.findings.push(Finding::new(
            "limit.nested_messages",
            format!(
                "message/rfc822 nested deeper than {}",
                opts.limits.max_nested_messages
            ),
        ));
    } else {
        if let Some(k) = kept.as_deref_mut() {
            let sha256 = hex::encode(Sha256::digest(raw));
            k.keep(FileRole::Message, None, &sha256, raw);
        }
        a.nested.push(analyze_at(raw, opts, depth + 1, kept));
    }
}

/// Offset just past the header block (or the whole input when there is no blank line).
fn header_end(raw: &[u8]) -> usize {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
        .unwrap_or(raw.len())
}

fn fill(a: &mut Analysis, input: &[u8], opts: &Options, depth: usize, mut kept: Option<&mut Kept>) {
    let l = &opts.limits;
    let mut scan = ScanRun::new(opts.scanner.as_ref().map(|s| &*s.0), l);
    if input.len() == a.size {
        let sha = a.sha256.clone();
        scan.scan(TargetKind::Message, None, &sha, input);
    } else {
        scan.scan_bytes(TargetKind::Message, None, input);
    }
    let Some(msg) = MessageParser::default().parse(input) else {
        a.findings
            .push(Finding::new("parse.empty", "no headers or body found"));
        a.findings.append(&mut scan.findings);
        a.scan_matches = scan.matches;
        return;
    };
    a.headers = headers::extract(&msg);
    a.mismatches = headers::mismatches(&a.headers);
    a.received = received::extract(&msg);
    a.auth = auth::extract(&msg);

    let encoding_problems = msg.parts.iter().filter(|p| p.is_encoding_problem).count();
    if encoding_problems > 0 {
        a.findings.push(Finding::new(
            "mime.encoding",
            format!("{encoding_problems} part(s) with transfer-encoding problems"),
        ));
    }

    // Bodies and their URLs.
    let mut seen = BTreeSet::new();
    let mut found_urls: Vec<UrlRecord> = Vec::new();
    let mut all_text = String::new();
    for id in msg.text_body.iter().chain(msg.html_body.iter()) {
        if !seen.insert(*id) {
            continue;
        }
        let Some(part) = usize::try_from(*id).ok().and_then(|i| msg.parts.get(i)) else {
            continue;
        };
        if is_rfc822_headers(part) {
            nest(a, part.contents(), opts, depth, kept.as_deref_mut());
            continue;
        }
        scan.scan_bytes(TargetKind::Body, None, part.contents());
        let charset = part
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .map(str::to_ascii_lowercase);
        let (kind, mut text) = match &part.body {
            PartType::Text(t) => ("text", t.to_string()),
            PartType::Html(h) => {
                let links = html::scan(h);
                found_urls.extend(links.urls);
                a.forms.extend(links.forms);
                ("html", mail_parser::decoders::html::html_to_text(h))
            }
            _ => continue,
        };
        if (text.contains('\u{fffd}') || text.contains('\u{1b}'))
            && part.encoding != Encoding::QuotedPrintable
        {
            let start = usize::try_from(part.offset_body).unwrap_or(0);
            let end = usize::try_from(part.offset_end).unwrap_or(0);
            if let Some(raw) = input.get(start..end) {
                let bytes = if part.encoding == Encoding::Base64 {
                    decode::base64(raw).unwrap_or_default()
                } else {
                    raw.to_vec()
                };
                let d = decode::guess_bytes(&bytes);
                if !d.text.contains('\u{fffd}') {
                    text = if kind == "html" {
                        mail_parser::decoders::html::html_to_text(&d.text)
                    } else {
                        d.text
                    };
                    a.findings.push(Finding::new(
                        "charset.mislabelled",
                        format!(
                            "{kind} part re-decoded as {}",
                            d.charset.as_deref().unwrap_or("utf-8")
                        ),
                    ));
                }
            }
        }
        found_urls.extend(urls::from_text(&text));
        if all_text.len() < 1024 * 1024 {
            all_text.push_str(&text);
            all_text.push('\n');
        }
        let truncated = text.len() > l.max_text_bytes;
        if truncated {
            let mut cut = l.max_text_bytes;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        a.bodies.push(BodyPart {
            kind: kind.into(),
            charset,
            language: lang::guess(&text).into(),
            text,
            truncated,
        });
    }
    a.language = lang::guess(&format!(
        "{} {}",
        a.headers.subject.as_deref().unwrap_or(""),
        all_text
    ))
    .into();
    let mut url_seen = BTreeSet::new();
    for u in found_urls {
        if url_seen.insert(u.url.clone()) {
            a.urls.push(u);
        }
    }

    // Attachments and nested messages.
    let mut pw: Vec<String> = opts.passwords.clone();
    let subject = a.headers.subject.clone().unwrap_or_default();
    // Candidates are only ever tried on ZIP and 7z archives; a message without either
    // signature in any attachment skips the search through its text.
    let zip_finder = memchr::memmem::Finder::new(b"PK\x03\x04");
    let seven_zip_finder = memchr::memmem::Finder::new(crate::sevenz::SIGNATURE);
    let has_archive = msg.attachments.iter().take(l.max_parts).any(|id| {
        usize::try_from(*id)
            .ok()
            .and_then(|i| msg.parts.get(i))
            .is_some_and(|p| {
                let c = p.contents();
                zip_finder.find(c).is_some() || seven_zip_finder.find(c).is_some()
            })
    });
    if has_archive {
        let texts = std::iter::once(subject.as_str())
            .chain(std::iter::once(all_text.as_str()))
            .chain(opts.companion_texts.iter().map(String::as_str));
        for c in passwords::candidates(texts, l.max_passwords) {
            if !pw.contains(&c) {
                pw.push(c);
            }
        }
    }
    let mut ctx = Ctx {
        limits: l,
        passwords: pw,
        decompressed: 0,
        findings: Vec::new(),
        kept,
        scan,
    };
    for id in msg.attachments.iter().take(l.max_parts) {
        let Some(part) = usize::try_from(*id).ok().and_then(|i| msg.parts.get(i)) else {
            continue;
        };
        if let PartType::Message(nested) = &part.body {
            nest(
                a,
                nested.raw_message(),
                opts,
                depth,
                ctx.kept.as_deref_mut(),
            );
            continue;
        }
        if is_rfc822_headers(part) {
            if seen.insert(*id) {
                nest(a, part.contents(), opts, depth, ctx.kept.as_deref_mut());
            }
            continue;
        }
        let claimed = part.content_type().map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        });
        let name = part.attachment_name().map(|n| {
            if decode::looks_mojibake(n) {
                decode::header_value(n.as_bytes()).text
            } else {
                n.to_owned()
            }
        });
        a.attachments.push(attachment::analyze(
            name,
            claimed,
            part.contents(),
            &mut ctx,
            0,
        ));
    }
    a.findings.append(&mut ctx.findings);
    a.findings.append(&mut ctx.scan.findings);
    a.scan_matches = std::mem::take(&mut ctx.scan.matches);
}
