//! YARA rules over real messages through the mail analysis seam: attachments, members of an
//! encrypted (PPAP) zip, OOXML members and body parts are scanned; matches reach the report,
//! the verdict and the campaign features.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::sync::Arc;

use mamori_mail::scanner::TargetKind;
use mamori_mail::{Features, Options, analyze_with};
use mamori_yara::{RuleSet, Source, YaraScanner};

const RULES: &str = r#"
rule DosStub : pe {
    meta:
        description = "Windows executable"
        score = 75
    strings:
        $stub = "This program cannot be run in DOS mode"
    condition:
        uint16(0) == 0x5A4D and $stub
}

rule PdfJavaScript {
    strings:
        $js = "/JavaScript"
    condition:
        uint32(0) == 0x46445025 and $js
}

rule PpapPasswordLine {
    strings:
        $pw = "解凍パスワード"
    condition:
        $pw
}

rule VbaProject {
    strings:
        $vba = "_VBA_PROJECT" wide
    condition:
        $vba
}

rule LnkHeader {
    condition:
        uint32(0) == 0x0000004C and uint32(4) == 0x00021401
}
"#;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../mail/testdata")
            .join(name),
    )
    .unwrap()
}

fn opts() -> Options {
    let set = RuleSet::compile(&[Source::new("mail", RULES)]).unwrap();
    Options {
        scanner: Some(Arc::new(YaraScanner::new(Arc::new(set))).into()),
        ..Options::default()
    }
}

fn hits(a: &mamori_mail::Analysis) -> Vec<(String, TargetKind, Option<String>)> {
    let mut v: Vec<_> = a
        .scan_matches
        .iter()
        .map(|m| (m.rule.clone(), m.target, m.name.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn encrypted_zip_members_and_body_parts_are_scanned() {
    let raw = fixture("ppap_jp.eml");
    let a = analyze_with(&raw, &opts());
    let h = hits(&a);
    assert!(
        h.contains(&(
            "DosStub".into(),
            TargetKind::ArchiveMember,
            Some("invoice.pdf.exe".into())
        )),
        "{h:?}"
    );
    assert!(
        h.contains(&(
            "PdfJavaScript".into(),
            TargetKind::ArchiveMember,
            Some("detail.pdf".into())
        )),
        "{h:?}"
    );
    assert!(
        h.contains(&("PpapPasswordLine".into(), TargetKind::Body, None)),
        "{h:?}"
    );
    let m = a.scan_matches.iter().find(|m| m.rule == "DosStub").unwrap();
    assert_eq!(m.namespace.as_deref(), Some("mail"));
    assert_eq!(m.tags, ["pe"]);
    assert_eq!(m.meta["description"], "Windows executable");
    let member = &a.attachments[0].archive.as_ref().unwrap().entries[0];
    assert_eq!(m.sha256, member.sha256);

    // The verdict names the rules, with the highest rule score as weight.
    let sig = a
        .verdict
        .signals
        .iter()
        .find(|s| s.id == "scan.yara")
        .expect("scan.yara signal");
    assert_eq!(sig.weight, 75);
    assert!(sig.ja.contains("mail:DosStub") && sig.ja.contains("YARA ルールに一致"));
    assert!(sig.en.starts_with("Matched YARA rules: mail:DosStub"));
    // And the campaign features.
    let f = Features::from_analysis(&a);
    assert!(
        f.scan_rules.contains("yara:mail:DosStub"),
        "{:?}",
        f.scan_rules
    );

    // Without a scanner nothing is scanned and no signal appears.
    let plain = mamori_mail::analyze(&raw);
    assert!(plain.scan_matches.is_empty());
    assert!(!plain.verdict.signals.iter().any(|s| s.id == "scan.yara"));
}

#[test]
fn attachments_and_ooxml_members_are_scanned() {
    let a = analyze_with(&fixture("attachments.eml"), &opts());
    let h = hits(&a);
    assert!(
        h.contains(&(
            "LnkHeader".into(),
            TargetKind::Attachment,
            Some("shortcut.lnk".into())
        )),
        "{h:?}"
    );
    assert!(
        h.contains(&(
            "VbaProject".into(),
            TargetKind::ArchiveMember,
            Some("word/vbaProject.bin".into())
        )),
        "{h:?}"
    );
}

#[test]
fn the_scan_budget_is_reported() {
    let mut o = opts();
    o.limits.max_scans = 1;
    let a = analyze_with(&fixture("ppap_jp.eml"), &o);
    assert!(
        a.findings.iter().any(|f| f.id == "limit.scan"),
        "{:?}",
        a.findings
    );
    // The budget finding does not count as a malformed message.
    assert!(!a.verdict.signals.iter().any(|s| s.id == "parse.problem"));
}
