//! `mamori case report`: the after-action report of a case from the command line, as HTML and as
//! PDF (headless Chromium; text checked with pdftotext when poppler-utils is installed).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::{mamori, text};

use std::process::Command;

#[test]
fn case_report_html_and_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db?mode=rwc", dir.path().display());
    let run = |args: &[&str]| {
        let mut all = vec!["--database", url.as_str(), "--data", "data"];
        all.extend_from_slice(args);
        mamori(&all, dir.path())
    };
    let o = run(&[
        "admin",
        "org",
        "create",
        "--slug",
        "nisc",
        "--name-ja",
        "内閣サイバー",
        "--name-en",
        "NISC",
        "--kind",
        "ministry",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let id = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = mamori_store::Store::connect(&url, &Default::default())
            .await
            .unwrap();
        let org = store.find_org("nisc").await.unwrap().id;
        let c = store
            .create_case(&mamori_store::cases::NewCase {
                title: "政府機関へのDDoS攻撃".into(),
                description: "複数省庁のウェブサイトが応答不能".into(),
                severity: "high".into(),
                tlp: mamori_model::Tlp::Green,
                owner_org: org,
                created_by: None,
                tasks: vec![("ISPへの緩和要請 / Request mitigation".into(), None)],
                incident_type: "ddos".into(),
            })
            .await
            .unwrap();
        store
            .add_timeline_entry(
                &c.id,
                1_795_600_000_000,
                "manual",
                "攻撃トラフィックを観測",
                None,
            )
            .await
            .unwrap();
        store.close().await;
        c.id
    });

    let o = run(&["case", "report", &id, "--lang", "ja", "-o", "aar.html"]);
    assert!(o.status.success(), "{}", text(&o));
    let html = std::fs::read_to_string(dir.path().join("aar.html")).unwrap();
    for want in [
        "インシデント事後報告書",
        "政府機関へのDDoS攻撃",
        "攻撃トラフィックを観測",
        "内閣サイバー",
        "ISPへの緩和要請",
    ] {
        assert!(html.contains(want), "report lacks {want}");
    }
    let o = run(&["case", "report", &id, "--lang", "en"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("After-action report"));
    let o = run(&["case", "report", "no-such-case"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not found"), "{}", text(&o));

    if Command::new("chromium").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no chromium; the PDF report was not rendered");
        return;
    }
    let o = run(&[
        "case", "report", &id, "--format", "pdf", "--lang", "ja", "-o", "aar.pdf",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let pdf = std::fs::read(dir.path().join("aar.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    match Command::new("pdftotext")
        .arg(dir.path().join("aar.pdf"))
        .arg("-")
        .output()
    {
        Ok(t) if t.status.success() => {
            let t = String::from_utf8_lossy(&t.stdout);
            assert!(t.contains("インシデント事後報告書"), "{t}");
        }
        _ => eprintln!("SKIPPED: pdftotext (poppler-utils) missing; PDF text not checked"),
    }
}
