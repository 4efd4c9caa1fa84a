//! The content-scanner seam without a rule engine: a stub scanner sees the raw message, body
//! parts, attachments and the members of an encrypted (PPAP) zip; its matches change the
//! verdict and the campaign features; failures and the scan budget become findings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mamori_mail::campaign::similarity;
use mamori_mail::scanner::{ScanFailure, ScanMatch, Scanner, Target, TargetKind};
use mamori_mail::{CampaignIndex, Features, Options, analyze, analyze_with};

/// Matches parts containing `needle`; records what it was shown.
struct Stub {
    needle: &'static [u8],
    score: Option<&'static str>,
    fail: bool,
    seen: Mutex<Vec<(TargetKind, Option<String>)>>,
}

impl Stub {
    fn new(needle: &'static [u8]) -> Self {
        Stub {
            needle,
            score: None,
            fail: false,
            seen: Mutex::new(Vec::new()),
        }
    }
}

impl Scanner for Stub {
    fn name(&self) -> &str {
        "yara"
    }
    fn scan(&self, t: &Target<'_>, data: &[u8]) -> Result<Vec<ScanMatch>, ScanFailure> {
        self.seen
            .lock()
            .unwrap()
            .push((t.kind, t.name.map(str::to_owned)));
        if self.fail {
            return Err(ScanFailure::Timeout(5));
        }
        if !data.windows(self.needle.len()).any(|w| w == self.needle) {
            return Ok(vec![]);
        }
        let mut meta = BTreeMap::new();
        if let Some(s) = self.score {
            meta.insert("score".to_owned(), s.to_owned());
        }
        Ok(vec![ScanMatch {
            scanner: "yara".into(),
            rule: "Stub".into(),
            namespace: Some("team".into()),
            tags: vec![],
            meta,
            target: t.kind,
            name: t.name.map(str::to_owned),
            sha256: t.sha256.to_owned(),
        }])
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name),
    )
    .unwrap()
}

fn with(stub: &Arc<Stub>) -> Options {
    Options {
        scanner: Some(stub.clone().into()),
        ..Options::default()
    }
}

#[test]
fn every_part_is_shown_to_the_scanner() {
    let stub = Arc::new(Stub::new(b"cannot be run in DOS mode"));
    let a = analyze_with(&fixture("ppap_jp.eml"), &with(&stub));
    let seen = stub.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            (TargetKind::Message, None),
            (TargetKind::Body, None),
            (TargetKind::Attachment, Some("請求書.zip".into())),
            (TargetKind::ArchiveMember, Some("invoice.pdf.exe".into())),
            (TargetKind::ArchiveMember, Some("detail.pdf".into())),
        ]
    );
    assert_eq!(a.scan_matches.len(), 1);
    let m = &a.scan_matches[0];
    assert_eq!(
        (m.target, m.name.as_deref()),
        (TargetKind::ArchiveMember, Some("invoice.pdf.exe"))
    );
    assert_eq!(
        m.sha256,
        a.attachments[0].archive.as_ref().unwrap().entries[0].sha256
    );
}

#[test]
fn a_match_changes_the_verdict_and_links_campaigns() {
    // A benign-looking mail: no signal without the scanner.
    let raw = fixture("ppap_password_only.eml");
    let plain = analyze(&raw);
    let stub = Arc::new(Stub::new("パスワード".as_bytes()));
    let hit = analyze_with(&raw, &with(&stub));
    assert!(!hit.scan_matches.is_empty());
    assert!(hit.verdict.score > plain.verdict.score);
    let sig = hit
        .verdict
        .signals
        .iter()
        .find(|s| s.id == "scan.yara")
        .unwrap();
    assert_eq!(sig.weight, 60);
    assert_eq!(sig.ja, "YARA ルールに一致しました: team:Stub");
    assert_eq!(sig.en, "Matched YARA rules: team:Stub");

    // The rule's score metadata sets the weight.
    let mut scored = Stub::new("パスワード".as_bytes());
    scored.score = Some("90");
    let a = analyze_with(&raw, &with(&Arc::new(scored)));
    assert_eq!(
        a.verdict
            .signals
            .iter()
            .find(|s| s.id == "scan.yara")
            .unwrap()
            .weight,
        90
    );

    // Messages hitting the same rule are more alike to the campaign index.
    let other = fixture("html_phish.eml");
    let stub_any = Arc::new(Stub::new(b"From:"));
    let tokens = |f: &Features| f.tokens().into_iter().collect::<BTreeMap<String, f64>>();
    let (f1, f2) = (
        Features::from_analysis(&analyze_with(&raw, &with(&stub_any))),
        Features::from_analysis(&analyze_with(&other, &with(&stub_any))),
    );
    assert!(f1.scan_rules.contains("yara:team:Stub"));
    assert_eq!(tokens(&f1)["rule:yara:team:Stub"], 3.0);
    let (p1, p2) = (
        Features::from_analysis(&analyze(&raw)),
        Features::from_analysis(&analyze(&other)),
    );
    assert!(similarity(&tokens(&f1), &tokens(&f2)) > similarity(&tokens(&p1), &tokens(&p2)) + 0.05);
    // Two messages sharing only their sender domain stay apart; the same rule joins them.
    let base = |subject: &str, rules: &[&str]| Features {
        from_domain: Some("partner.example".into()),
        subject_template: Some(subject.into()),
        language: "ja".into(),
        scan_rules: rules.iter().map(|r| (*r).to_owned()).collect(),
        ..Features::default()
    };
    let mut index = CampaignIndex::default();
    assert_ne!(
        index.add(&base("請求書", &[])),
        index.add(&base("納品書", &[]))
    );
    let mut index = CampaignIndex::default();
    let rules = ["yara:team:Stub", "yara:team:Loader"];
    assert_eq!(
        index.add(&base("請求書", &rules)),
        index.add(&base("納品書", &rules))
    );
}

#[test]
fn failures_and_budget_are_findings_not_malformations() {
    let mut failing = Stub::new(b"x");
    failing.fail = true;
    let a = analyze_with(&fixture("ppap_jp.eml"), &with(&Arc::new(failing)));
    assert!(a.findings.iter().any(|f| f.id == "scan.timeout"));
    assert!(!a.verdict.signals.iter().any(|s| s.id == "parse.problem"));
    assert!(a.scan_matches.is_empty());

    let stub = Arc::new(Stub::new(b"cannot be run in DOS mode"));
    let mut o = with(&stub);
    o.limits.max_scans = 2;
    let a = analyze_with(&fixture("ppap_jp.eml"), &o);
    assert_eq!(stub.seen.lock().unwrap().len(), 2);
    assert!(a.findings.iter().any(|f| f.id == "limit.scan"));
    assert!(a.scan_matches.is_empty());
}
