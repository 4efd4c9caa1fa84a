//! The whole shared corpus: every message yields a report (no panic escapes, no parser panic
//! caught) whose JSON reads back unchanged, and Japanese ISO-2022-JP subjects in the sisimai
//! set decode without mojibake.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use mamori_mail::{Analysis, analyze};

fn subjects<'a>(a: &'a Analysis, out: &mut Vec<&'a str>) {
    if let Some(s) = &a.headers.subject {
        out.push(s);
    }
    for n in &a.nested {
        subjects(n, out);
    }
}

#[test]
fn every_corpus_message_yields_a_report() {
    let Some(dir) = common::corpus_dir("every_corpus_message_yields_a_report") else {
        return;
    };
    let files = common::eml_files(&dir);
    assert!(
        files.len() > 1000,
        "expected the full corpus, found {} files",
        files.len()
    );
    let started = std::time::Instant::now();
    let (mut bytes, mut urls, mut atts, mut findings, mut suspicious) = (0, 0, 0, 0, 0);
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        bytes += raw.len();
        let a = analyze(&raw);
        assert_eq!(a.size, raw.len());
        assert!(
            !a.findings.iter().any(|x| x.id == "parse.panic"),
            "{}: {:?}",
            f.display(),
            a.findings
        );
        // The JSON reads back as the same analysis (stored analyses are shown from it).
        let json = serde_json::to_string(&a).unwrap();
        let back: Analysis = serde_json::from_str(&json).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            json,
            "{}",
            f.display()
        );
        urls += a.urls.len();
        atts += a.attachments.len();
        findings += a.findings.len();
        suspicious += usize::from(a.verdict.score >= 50);
    }
    eprintln!(
        "corpus: {} messages, {} bytes, {} URLs, {} attachments, {} findings, {} scored >= 50, {:?}",
        files.len(),
        bytes,
        urls,
        atts,
        findings,
        suspicious,
        started.elapsed()
    );
}

#[test]
fn sisimai_iso2022jp_subjects_decode() {
    let Some(dir) = common::corpus_dir("sisimai_iso2022jp_subjects_decode") else {
        return;
    };
    let mut checked = 0;
    let mut missing = Vec::new();
    for f in common::eml_files(&dir.join("sisimai-set-of-emails")) {
        let raw = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&raw);
        // "GyRC" is base64 of ESC $ B: an encoded word that really carries JIS X 0208 text.
        // A Subject header line (or its continuation) carrying ISO-2022-JP text.
        let mut in_subject = false;
        let japanese_subject = text.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            in_subject = l.starts_with("subject:") || (in_subject && l.starts_with([' ', '\t']));
            in_subject && (l.contains("=?iso-2022-jp?b?gyrc") || l.contains("\u{1b}$b"))
        });
        if !japanese_subject {
            continue;
        }
        let a = analyze(&raw);
        let mut all = Vec::new();
        subjects(&a, &mut all);
        let with_jis: Vec<&&str> = all.iter().filter(|s| common::has_cjk(s)).collect();
        if with_jis.is_empty() {
            missing.push(format!("{}: {all:?}", f.display()));
            continue;
        }
        for s in &all {
            assert!(
                !s.contains('\u{1b}') && !s.contains("$B") && !s.contains("=?iso-2022-jp"),
                "{}: mojibake in {s:?}",
                f.display()
            );
        }
        checked += 1;
    }
    eprintln!("sisimai: {checked} messages with ISO-2022-JP subjects decoded");
    assert!(
        missing.is_empty(),
        "Japanese subjects not decoded:\n{}",
        missing.join("\n")
    );
    assert!(checked >= 10, "only {checked} Japanese subjects found");
}
