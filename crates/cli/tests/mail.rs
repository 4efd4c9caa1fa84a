//! `mamori mail analyze` driven as a user would: table, jsonl and json output, mbox splitting,
//! a directory walk, PPAP companions found in the same batch, YARA rules from a directory and a
//! bad rule named by file and line, and usage errors (exit 2).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_mamori");

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mail/testdata")
}

fn mamori(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(testdata())
        .env_remove("MAMORI_CONFIG")
        .output()
        .expect("run mamori")
}

#[test]
fn table_output_with_summary() {
    let o = mamori(&["mail", "analyze", "ppap_jp.eml", "sample.mbox"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("SCORE"), "{out}");
    assert!(
        lines[1].contains("【請求書】 No.12345 ご確認のお願い"),
        "{out}"
    );
    assert!(
        lines[2].contains("first") && lines[3].contains("second") && lines[4].contains("third"),
        "{out}"
    );
    assert!(lines[5].starts_with("4 message(s) from 2 file(s)"), "{out}");
}

#[test]
fn jsonl_names_sources_and_finds_companion_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let o = mamori(&[
        "mail",
        "analyze",
        "--format",
        "jsonl",
        "-o",
        out.to_str().unwrap(),
        "ppap_archive_only.eml",
        "ppap_password_only.eml",
        "sample.mbox",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let reports: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 5);
    assert_eq!(reports[0]["source"], "ppap_archive_only.eml");
    assert_eq!(reports[2]["source"], "sample.mbox#1");
    let archive = &reports[0]["analysis"]["attachments"][0]["archive"];
    assert_eq!(archive["password"], "k9Rt2wQa", "{archive}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("5 message(s)"));
}

#[test]
fn json_document_over_a_directory() {
    let o = mamori(&["mail", "analyze", "--format", "json", "."]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let reports = v["reports"].as_array().unwrap();
    // 6 .eml fixtures + 3 messages in sample.mbox (found by content, not by extension).
    assert_eq!(
        reports.len(),
        9,
        "{:?}",
        reports.iter().map(|r| &r["source"]).collect::<Vec<_>>()
    );
    assert_eq!(v["summary"]["messages"], 9);
    assert!(
        reports
            .iter()
            .any(|r| r["analysis"]["verdict"]["score"].as_u64().unwrap() >= 90)
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(mamori(&["mail", "analyze"]).status.code(), Some(2));
    assert_eq!(
        mamori(&["mail", "analyze", "--format", "xml", "a.eml"])
            .status
            .code(),
        Some(2)
    );
    let o = mamori(&["mail", "analyze", "does-not-exist.eml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does-not-exist.eml"));
}

const YARA_RULES: &str = r#"rule DosStub : pe {
    meta:
        description = "Windows executable"
    strings:
        $stub = "This program cannot be run in DOS mode"
    condition:
        uint16(0) == 0x5A4D and $stub
}
"#;

#[test]
fn yara_rules_scan_encrypted_zip_members() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("team")).unwrap();
    std::fs::write(dir.path().join("team/loaders.yar"), YARA_RULES).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a rule file").unwrap();
    let o = mamori(&[
        "mail",
        "analyze",
        "--format",
        "json",
        "--yara",
        dir.path().to_str().unwrap(),
        "ppap_jp.eml",
        "html_phish.eml",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("YARA: 1 rule(s) from 1 file(s)"),
        "{stderr}"
    );
    assert!(stderr.contains("1 with YARA matches"), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let a = &v["reports"][0]["analysis"];
    let m = &a["scan_matches"][0];
    assert_eq!(m["rule"], "DosStub");
    assert_eq!(m["namespace"], "team/loaders.yar");
    assert_eq!(m["target"], "archive_member");
    assert_eq!(m["name"], "invoice.pdf.exe");
    assert!(
        a["verdict"]["signals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == "scan.yara"
                && s["en"]
                    .as_str()
                    .unwrap()
                    .contains("team/loaders.yar:DosStub")),
        "{}",
        a["verdict"]
    );
    assert_eq!(
        v["reports"][0]["features"]["scan_rules"][0],
        "yara:team/loaders.yar:DosStub"
    );
    assert_eq!(
        v["reports"][1]["analysis"]["scan_matches"],
        serde_json::json!([])
    );
    assert_eq!(v["summary"]["yara_matched"], 1);
}

#[test]
fn a_bad_yara_rule_names_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yar");
    std::fs::write(
        &bad,
        "rule Ok { condition: true }\n\nrule Bad {\n  condition: nosuchthing\n}\n",
    )
    .unwrap();
    let o = mamori(&[
        "mail",
        "analyze",
        "--yara",
        bad.to_str().unwrap(),
        "ppap_jp.eml",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.yar:4:14: E009 unknown identifier `nosuchthing`"),
        "{stderr}"
    );
    assert!(o.stdout.is_empty());
    let o = mamori(&[
        "mail",
        "analyze",
        "--yara",
        dir.path().join("none").to_str().unwrap(),
        "ppap_jp.eml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("none"));
}

/// `mamori admin yara`: rule sets in the hub's store, compiled before they are saved, audited.
#[test]
fn admin_yara_manages_the_hubs_rule_sets() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .current_dir(dir.path())
            .env_remove("MAMORI_CONFIG")
            .env_remove("MAMORI_DATABASE_URL")
            .env_remove("MAMORI_DATA_DIR")
            .output()
            .unwrap()
    };
    let text = |o: &Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert!(run(&["migrate"]).status.success());
    let good = dir.path().join("ppap.yar");
    std::fs::write(
        &good,
        "rule ppap_notice { strings: $a = \"パスワード\" condition: $a }\n\
         rule macro_hint { strings: $m = \"AutoOpen\" nocase condition: $m }\n",
    )
    .unwrap();
    let o = run(&["admin", "yara", "add", "ppap", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("added YARA rule set ppap (2 rules, enabled)"),
        "{}",
        text(&o)
    );

    let bad = dir.path().join("bad.yar");
    std::fs::write(
        &bad,
        "rule ok { condition: true }\nrule broken { condition: $nope }\n",
    )
    .unwrap();
    let o = run(&["admin", "yara", "add", "broken", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("broken"), "{}", text(&o));

    let o = run(&["admin", "yara", "disable", "ppap"]);
    assert!(
        text(&o).contains("disabled YARA rule set ppap"),
        "{}",
        text(&o)
    );
    let list = text(&run(&["admin", "yara", "list"]));
    assert!(list.contains("ppap") && list.contains("disabled"), "{list}");
    assert!(!list.contains("broken"), "{list}");
    let shown = text(&run(&["admin", "yara", "show", "ppap"]));
    assert!(shown.contains("rule ppap_notice"), "{shown}");
    assert!(run(&["admin", "yara", "delete", "ppap"]).status.success());
    assert!(text(&run(&["admin", "yara", "list"])).contains("no YARA rule sets"));
    let audit = text(&run(&["audit", "list", "--limit", "20"]));
    for action in ["yara.create", "yara.disable", "yara.delete"] {
        assert!(audit.contains(action), "{action} not audited: {audit}");
    }
}

#[test]
fn html_report_shows_each_message_with_its_attachment_tree_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = dir.path().join("hostile.eml");
    // A hostile subject and name, and a forwarded message with an attachment of its own.
    std::fs::write(
        &hostile,
        "From: \"<b>x</b>\" <a@example.net>\r\nSubject: <script>alert(1)</script>\r\n\
         Content-Type: multipart/mixed; boundary=O\r\n\r\n--O\r\nContent-Type: text/plain\r\n\r\n\
         fwd\r\n--O\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@example.org\r\n\
         Subject: inner lure\r\nContent-Type: multipart/mixed; boundary=I\r\n\r\n--I\r\n\
         Content-Type: text/plain\r\n\r\nopen it\r\n--I\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"inner.exe\"\r\n\r\nMZ payload\r\n--I--\r\n\r\n--O--\r\n",
    )
    .unwrap();
    let out = dir.path().join("report.html");
    let o = mamori(&[
        "mail",
        "analyze",
        "--format",
        "html",
        "-o",
        out.to_str().unwrap(),
        "ppap_jp.eml",
        hostile.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!doctype html>"), "{html}");
    // ppap_jp.eml, the hostile message, and the message forwarded inside it.
    assert_eq!(html.matches("<section").count(), 3, "{html}");
    assert!(
        html.contains("hostile.eml › 1") && html.contains("inner lure"),
        "{html}"
    );
    assert!(html.contains("inner.exe"), "{html}");
    // Decoded Japanese subject, bilingual signals, the archive and its members under it.
    assert!(html.contains("【請求書】 No.12345 ご確認のお願い"));
    assert!(html.contains("PPAP") && html.contains("二重拡張子"));
    assert!(
        html.contains("opened with the password from the text: Zx81pQ7m"),
        "{html}"
    );
    assert!(html.contains("class=\"d1\">└ invoice.pdf.exe"), "{html}");
    // Values from the message are escaped, never markup.
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<b>x</b>"));
}
