//! End-to-end tests of `mamori rules check` and `mamori hunt` through the built binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mamori"))
}

/// A scratch directory, removed when the guard drops.
fn tmpdir(name: &str) -> (tempfile::TempDir, PathBuf) {
    let g = tempfile::Builder::new()
        .prefix(&format!("mamori-cli-test-{name}-"))
        .tempdir()
        .unwrap();
    let d = g.path().to_owned();
    (g, d)
}

const GOOD: &str = "title: Whoami\nid: 9f1b0000-0000-0000-0000-000000000001\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\nlevel: medium\ntags:\n  - attack.discovery\n";
const BAD: &str = "title: Broken\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image|nosuchmod: x\n  condition: sel\n";

fn write_events(dir: &Path) -> PathBuf {
    let p = dir.join("events.jsonl");
    let lines = [
        r##"{"Event":{"System":{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Computer":"ws1","EventRecordID":7,"TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T10:00:00.000Z"}}},"EventData":{"Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all"}}}"##,
        r#"{"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"computer_name":"ws2","record_id":8,"event_data":{"Image":"C:\\Windows\\System32\\WHOAMI.EXE"}},"@timestamp":"2024-05-01T11:00:00.000Z"}"#,
        r#"{"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":1,"event_data":{"Image":"C:\\Windows\\notepad.exe"}}}"#,
        "this line is not json",
    ];
    std::fs::write(&p, lines.join("\n")).unwrap();
    p
}

#[test]
fn rules_check_reports_file_line_and_counts() {
    let (_guard, d) = tmpdir("check");
    std::fs::write(d.join("good.yml"), GOOD).unwrap();
    std::fs::write(d.join("bad.yml"), BAD).unwrap();
    let out = bin().args(["rules", "check"]).arg(&d).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("bad.yml:6: error"), "{stdout}");
    assert!(stdout.contains("nosuchmod"), "{stdout}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.contains("1 rules loaded") && last.contains("1 rejected"),
        "{last}"
    );

    std::fs::remove_file(d.join("bad.yml")).unwrap();
    let out = bin().args(["rules", "check"]).arg(&d).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn hunt_formats_and_exit_codes() {
    let (_guard, d) = tmpdir("hunt");
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("good.yml"), GOOD).unwrap();
    let ev = write_events(&d);

    let out = bin()
        .args(["hunt", "--format", "jsonl", "--rules"])
        .arg(&rules)
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[0].contains("\"computer\":\"ws1\"") && lines[0].contains("\"record_id\":\"7\""));
    assert!(
        lines[0].contains("\"rule_title\":\"Whoami\"") && lines[0].contains("attack.discovery")
    );
    assert!(lines[1].contains("\"computer\":\"ws2\""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipped invalid JSON"), "{stderr}");
    assert!(stderr.contains("detections: 2"), "{stderr}");

    let csv = d.join("out.csv");
    let out = bin()
        .args(["hunt", "-q", "--format", "csv", "-o"])
        .arg(&csv)
        .arg("--rules")
        .arg(&rules)
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("timestamp,computer,channel,event_id,record_id,file,rule_id"));
    assert_eq!(text.lines().count(), 3);

    let out = bin()
        .args([
            "hunt",
            "-q",
            "--format",
            "table",
            "--min-level",
            "high",
            "--rules",
        ])
        .arg(&rules)
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "medium detections are below --min-level high"
    );

    let out = bin()
        .args(["hunt", "--rules"])
        .arg(&rules)
        .arg(d.join("missing"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn hunt_with_iocs() {
    let (_guard, d) = tmpdir("ioc");
    let ev = write_events(&d);
    let ioc = d.join("iocs.txt");
    std::fs::write(&ioc, "# test list\nws9.example\n").unwrap();
    let out = bin()
        .args(["hunt", "-q", "--ioc"])
        .arg(&ioc)
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    std::fs::write(&ioc, "url:http://x.example/\nc:\\windows\\notepad.exe\n").unwrap();
    let out = bin()
        .args(["hunt", "-q", "--ioc"])
        .arg(&ioc)
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "invalid indicator lines are errors"
    );
}

#[test]
fn hunt_reports_correlations() {
    let (_guard, d) = tmpdir("corr");
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("base.yml"),
        "title: Failed logon\nid: 3f1b0000-0000-0000-0000-000000000001\nname: failed_logon\nlogsource:\n  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel\nlevel: low\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("corr.yml"),
        "title: Brute force\nid: 3f1b0000-0000-0000-0000-000000000002\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [TargetUserName]\n  timespan: 1m\n  condition:\n    gte: 3\nlevel: high\n",
    )
    .unwrap();
    let line = |s: u32, user: &str| {
        format!(
            r#"{{"winlog":{{"channel":"Security","event_id":4625,"computer_name":"dc1","event_data":{{"TargetUserName":"{user}"}}}},"@timestamp":"2024-05-01T10:00:{s:02}.000Z"}}"#
        )
    };
    let ev = d.join("logons.jsonl");
    let lines = [
        line(0, "alice"),
        line(20, "alice"),
        line(50, "alice"),
        line(55, "bob"),
    ];
    std::fs::write(&ev, lines.join("\n")).unwrap();
    let out = bin()
        .args([
            "hunt",
            "-q",
            "--format",
            "jsonl",
            "--min-level",
            "high",
            "--rules",
        ])
        .arg(&rules)
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // Base matches are below --min-level (and feed the correlation only).
    assert_eq!(lines.len(), 1, "{stdout}");
    assert!(
        lines[0].contains("\"rule_title\":\"Brute force\""),
        "{stdout}"
    );
    assert!(
        lines[0].contains("\"TargetUserName\":\"alice\"") && lines[0].contains("\"count\":\"3\"")
    );
    assert!(lines[0].contains("\"source\":\"correlation\""));
}

#[test]
fn hunt_fails_when_no_input_is_readable() {
    let (_guard, d) = tmpdir("unreadable");
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("good.yml"), GOOD).unwrap();
    let bad = d.join("bad.evtx");
    std::fs::write(&bad, b"ElfFile\0not really").unwrap();
    let out = bin()
        .args(["hunt", "--rules"])
        .arg(&rules)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.evtx"), "{stderr}");
}

/// STIX indicators from a bundle (as J-CSIP or an ISAC shares them) and a pattern list sweep
/// collected logs: Sysmon network and DNS events, a process started from a path, and a
/// sequence of two events that only together satisfy an indicator.
#[test]
fn hunt_with_stix_indicators() {
    let (_guard, d) = tmpdir("stix");
    let ev = d.join("sysmon.jsonl");
    let lines = [
        r#"{"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":22,"computer_name":"ws1","record_id":1,"event_data":{"QueryName":"c2.example.org","Image":"C:\\Users\\a\\dropper.exe"}},"@timestamp":"2024-05-01T10:00:00.000Z"}"#,
        r#"{"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":3,"computer_name":"ws1","record_id":2,"event_data":{"DestinationIp":"203.0.113.50","DestinationPort":"443","Image":"C:\\Users\\a\\dropper.exe"}},"@timestamp":"2024-05-01T10:00:30.000Z"}"#,
        r#"{"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":3,"computer_name":"ws2","record_id":3,"event_data":{"DestinationIp":"198.51.100.1","DestinationPort":"80"}},"@timestamp":"2024-05-01T10:01:00.000Z"}"#,
    ];
    std::fs::write(&ev, lines.join("\n")).unwrap();
    let bundle = d.join("bundle.json");
    let ind = |n: u32, name: &str, pattern: &str| {
        serde_json::json!({
            "type": "indicator", "spec_version": "2.1",
            "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
            "created": "2024-04-01T00:00:00.000Z", "modified": "2024-04-01T00:00:00.000Z",
            "name": name, "pattern": pattern, "pattern_type": "stix",
            "valid_from": "2024-04-01T00:00:00Z"
        })
    };
    std::fs::write(
        &bundle,
        serde_json::json!({
            "type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
            "objects": [
                ind(1, "C2 domain", "[domain-name:value = 'C2.example.org']"),
                ind(2, "Beacon after lookup",
                    "([domain-name:value = 'c2.example.org'] FOLLOWEDBY \
                      [network-traffic:dst_ref.value = '203.0.113.50' AND network-traffic:dst_port = 443]) \
                     WITHIN 60 SECONDS"),
                ind(3, "Not seen", "[ipv4-addr:value = '192.0.2.99']"),
            ]
        })
        .to_string(),
    )
    .unwrap();
    let out = bin()
        .args(["hunt", "--format", "jsonl", "--stix"])
        .arg(&bundle)
        .arg(&ev)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("3 STIX patterns (1 across events"),
        "{stderr}"
    );
    let dets: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, &str)> = dets
        .iter()
        .map(|d| {
            (
                d["rule_id"].as_str().unwrap(),
                d["record_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("indicator--00000000-0000-4000-8000-000000000001", "1"),
            ("indicator--00000000-0000-4000-8000-000000000002", "2"),
        ],
        "{stdout}"
    );
    assert!(
        dets.iter()
            .all(|d| d["source"] == "pattern" && d["level"] == "high")
    );
    assert_eq!(dets[1]["rule_title"], "STIX indicator Beacon after lookup");

    // The same patterns from a plain list; a window too short for the sequence.
    let list = d.join("patterns.txt");
    std::fs::write(
        &list,
        "# shared patterns\n\
         ([domain-name:value = 'c2.example.org'] FOLLOWEDBY [ipv4-addr:value = '203.0.113.50']) WITHIN 10 SECONDS\n",
    )
    .unwrap();
    let out = bin()
        .args(["hunt", "-q", "--patterns"])
        .arg(&list)
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(
        &list,
        "([domain-name:value = 'c2.example.org'] FOLLOWEDBY [ipv4-addr:value = '203.0.113.50']) WITHIN 30 SECONDS\n",
    )
    .unwrap();
    let out = bin()
        .args(["hunt", "-q", "--format", "jsonl", "--patterns"])
        .arg(&list)
        .arg(&ev)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("stix-pattern:([domain-name"));
}
