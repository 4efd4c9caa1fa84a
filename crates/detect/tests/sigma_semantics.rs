//! Sigma semantics: one test per modifier and condition form, on hand-made events.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mamori_detect::{EventView, FieldValue, RulesetBuilder, ValueKind};

fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n{detection}\nlevel: high\n"
    )
}

fn ev(fields: &[(&str, &str)]) -> EventView {
    let mut e = EventView::new();
    for (k, v) in fields {
        e.push_str(k, v);
    }
    e.finish();
    e
}

/// Whether the detection (indented YAML body) matches the event.
fn matches(detection: &str, e: &EventView) -> bool {
    let mut b = RulesetBuilder::new();
    b.add_source("t.yml", &rule(detection));
    let (rs, errors) = b.build();
    assert!(errors.iter().all(|e| e.warning), "{errors:?}");
    assert_eq!(rs.rules().len(), 1);
    let mut hit = false;
    rs.scan_unrouted(e, &mut |_: usize,
                              _: &mamori_detect::CompiledRule,
                              _: &EventView| {
        hit = true;
        false
    });
    hit
}

fn rejects(detection: &str) -> String {
    let mut b = RulesetBuilder::new();
    b.add_source("t.yml", &rule(detection));
    let (rs, errors) = b.build();
    assert_eq!(rs.rules().len(), 0, "rule should be rejected");
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn exact_is_case_insensitive() {
    let e = ev(&[("Image", "C:\\Windows\\CMD.exe")]);
    assert!(matches(
        "  sel:\n    Image: 'c:\\windows\\cmd.EXE'\n  condition: sel",
        &e
    ));
    assert!(!matches(
        "  sel:\n    Image: 'cmd.exe'\n  condition: sel",
        &e
    ));
}

#[test]
fn contains_startswith_endswith() {
    let e = ev(&[("CommandLine", "powershell -Enc AAAA")]);
    assert!(matches(
        "  s:\n    CommandLine|contains: ' -enc '\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    CommandLine|startswith: 'POWERSHELL'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    CommandLine|endswith: 'aaaa'\n  condition: s",
        &e
    ));
    assert!(!matches(
        "  s:\n    CommandLine|endswith: 'power'\n  condition: s",
        &e
    ));
}

#[test]
fn lists_or_and_all() {
    let e = ev(&[("CommandLine", "net user admin /add")]);
    assert!(matches(
        "  s:\n    CommandLine|contains:\n      - 'nope'\n      - '/add'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    CommandLine|contains|all:\n      - 'user'\n      - '/add'\n  condition: s",
        &e
    ));
    assert!(!matches(
        "  s:\n    CommandLine|contains|all:\n      - 'user'\n      - '/del'\n  condition: s",
        &e
    ));
}

#[test]
fn wildcards_and_escapes() {
    let e = ev(&[("Image", "C:\\a\\b*c.exe"), ("X", "abc")]);
    // `\\` is one backslash, `\*` a literal star, a lone `\` before other chars is literal.
    assert!(matches(
        "  s:\n    Image: 'C:\\\\*\\b\\*c.exe'\n  condition: s",
        &e
    ));
    assert!(!matches(
        "  s:\n    Image: 'C:\\*\\b\\*c.exe'\n  condition: s",
        &e
    ));
    assert!(!matches(
        "  s:\n    Image: 'C:\\\\*\\bx\\*c.exe'\n  condition: s",
        &e
    ));
    assert!(matches("  s:\n    X: 'a?c'\n  condition: s", &e));
    assert!(!matches("  s:\n    X: 'a\\?c'\n  condition: s", &e));
    assert!(matches("  s:\n    X: '*'\n  condition: s", &e));
}

#[test]
fn regex_and_flags() {
    let e = ev(&[("CommandLine", "Foo\nBAR")]);
    assert!(matches(
        "  s:\n    CommandLine|re: 'Foo'\n  condition: s",
        &e
    ));
    assert!(!matches(
        "  s:\n    CommandLine|re: 'foo'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    CommandLine|re|i: 'foo'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    CommandLine|re|m: '^BAR$'\n  condition: s",
        &e
    ));
    assert!(!matches(
        "  s:\n    CommandLine|re: 'Foo.BAR'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    CommandLine|re|s: 'Foo.BAR'\n  condition: s",
        &e
    ));
    let err = rejects("  s:\n    CommandLine|re: '(unclosed'\n  condition: s");
    assert!(err.contains("t.yml:8"), "{err}");
}

#[test]
fn base64_and_offset() {
    // base64("/bin/sh") = L2Jpbi9zaA==
    let e = ev(&[("CommandLine", "echo L2Jpbi9zaA== | base64 -d")]);
    assert!(matches(
        "  s:\n    CommandLine|base64|contains: '/bin/sh'\n  condition: s",
        &e
    ));
    let e2 = ev(&[("CommandLine", "xx9iaW4vc2yy")]);
    assert!(matches(
        "  s:\n    CommandLine|base64offset|contains: '/bin/sh'\n  condition: s",
        &e2
    ));
    assert!(!matches(
        "  s:\n    CommandLine|base64offset|contains: '/bin/bash'\n  condition: s",
        &e2
    ));
}

#[test]
fn utf16_wide_base64() {
    use base64::Engine;
    let enc = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let le: Vec<u8> = "ping".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = "ping".encode_utf16().flat_map(u16::to_be_bytes).collect();
    let mut bom = vec![0xFF, 0xFE];
    bom.extend(&le);
    let e = ev(&[("A", &enc(&le)), ("B", &enc(&be)), ("C", &enc(&bom))]);
    assert!(matches(
        "  s:\n    A|wide|base64: 'ping'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    A|utf16le|base64: 'ping'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    B|utf16be|base64: 'ping'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    C|utf16|base64: 'ping'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    A|wide|base64offset|contains: 'ping'\n  condition: s",
        &e
    ));
    rejects("  s:\n    A|wide: 'ping'\n  condition: s");
}

#[test]
fn windash() {
    for cl in [
        "x -enc y",
        "x /enc y",
        "x \u{2013}enc y",
        "x \u{2014}enc y",
        "x \u{2015}enc y",
    ] {
        let e = ev(&[("CommandLine", cl)]);
        assert!(
            matches(
                "  s:\n    CommandLine|windash|contains: ' -enc '\n  condition: s",
                &e
            ),
            "{cl}"
        );
    }
    let e = ev(&[("CommandLine", "x +enc y")]);
    assert!(!matches(
        "  s:\n    CommandLine|windash|contains: ' -enc '\n  condition: s",
        &e
    ));
}

#[test]
fn cidr() {
    let e = ev(&[("DestinationIp", "10.1.2.3"), ("V6", "fe80::1")]);
    assert!(matches(
        "  s:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: s",
        &e
    ));
    assert!(!matches(
        "  s:\n    DestinationIp|cidr: '192.168.0.0/16'\n  condition: s",
        &e
    ));
    assert!(matches(
        "  s:\n    V6|cidr: 'fe80::/10'\n  condition: s",
        &e
    ));
    rejects("  s:\n    DestinationIp|cidr: 'nonsense'\n  condition: s");
}

#[test]
fn exists() {
    let e = ev(&[("A", "1")]);
    assert!(matches("  s:\n    A|exists: true\n  condition: s", &e));
    assert!(matches("  s:\n    B|exists: false\n  condition: s", &e));
    assert!(!matches("  s:\n    B|exists: true\n  condition: s", &e));
}

#[test]
fn numeric_comparisons() {
    let mut e = EventView::new();
    e.push("Port", FieldValue::new("445", ValueKind::Num));
    e.finish();
    assert!(matches("  s:\n    Port|gt: 400\n  condition: s", &e));
    assert!(matches("  s:\n    Port|gte: 445\n  condition: s", &e));
    assert!(!matches("  s:\n    Port|lt: 445\n  condition: s", &e));
    assert!(matches("  s:\n    Port|lte: 445\n  condition: s", &e));
    rejects("  s:\n    Port|gt: abc\n  condition: s");
}

#[test]
fn fieldref() {
    let e = ev(&[("A", "Same"), ("B", "same"), ("C", "xsamex")]);
    assert!(matches("  s:\n    A|fieldref: B\n  condition: s", &e));
    assert!(!matches("  s:\n    A|fieldref: C\n  condition: s", &e));
    assert!(matches(
        "  s:\n    C|fieldref|contains: A\n  condition: s",
        &e
    ));
    assert!(!matches(
        "  s:\n    A|fieldref|cased: B\n  condition: s",
        &e
    ));
}

#[test]
fn expand_with_placeholders() {
    let mut b = RulesetBuilder::new();
    let mut ph = std::collections::HashMap::new();
    ph.insert(
        "admins".to_owned(),
        vec!["root".to_owned(), "admin".to_owned()],
    );
    b.placeholders(ph);
    b.add_source(
        "t.yml",
        &rule("  s:\n    User|expand: '%admins%'\n  condition: s"),
    );
    let (rs, errors) = b.build();
    assert!(errors.is_empty());
    let mut n = 0;
    for u in ["ADMIN", "root", "bob"] {
        rs.scan_unrouted(
            &ev(&[("User", u)]),
            &mut |_: usize, _: &mamori_detect::CompiledRule, _: &EventView| {
                n += 1;
                true
            },
        );
    }
    assert_eq!(n, 2);
    // Without placeholder values the rule loads with a warning and the value matches nothing.
    let mut b = RulesetBuilder::new();
    b.add_source(
        "t.yml",
        &rule("  s:\n    User|expand: '%admins%'\n  condition: s"),
    );
    let (rs, errors) = b.build();
    assert_eq!(rs.rules().len(), 1);
    assert!(errors.iter().all(|e| e.warning) && errors.len() == 1);
}

#[test]
fn cased() {
    let e = ev(&[("A", "MiXed")]);
    assert!(matches("  s:\n    A|cased: 'MiXed'\n  condition: s", &e));
    assert!(!matches("  s:\n    A|cased: 'mixed'\n  condition: s", &e));
    assert!(matches(
        "  s:\n    A|contains|cased: 'Xe'\n  condition: s",
        &e
    ));
}

#[test]
fn null_and_empty() {
    let e = ev(&[("A", ""), ("B", "x")]);
    assert!(matches("  s:\n    C: null\n  condition: s", &e));
    assert!(matches("  s:\n    A: null\n  condition: s", &e));
    assert!(!matches("  s:\n    B: null\n  condition: s", &e));
    assert!(matches("  s:\n    A: ''\n  condition: s", &e));
    let mut n = EventView::new();
    n.push("N", FieldValue::new("", ValueKind::Null));
    n.finish();
    assert!(matches("  s:\n    N: null\n  condition: s", &n));
}

#[test]
fn keywords() {
    let e = ev(&[("A", "some mimikatz here"), ("B", "other")]);
    assert!(matches(
        "  keywords:\n    - 'MIMIKATZ'\n    - 'nothing'\n  condition: keywords",
        &e
    ));
    assert!(!matches(
        "  keywords:\n    - 'nothing'\n  condition: keywords",
        &e
    ));
    assert!(matches(
        "  keywords:\n    '|all':\n      - 'mimi'\n      - 'other'\n  condition: keywords",
        &e
    ));
}

#[test]
fn list_of_maps_is_or() {
    let e = ev(&[("A", "1"), ("B", "2")]);
    assert!(matches("  s:\n    - A: 9\n    - B: 2\n  condition: s", &e));
    assert!(!matches("  s:\n    - A: 9\n    - B: 9\n  condition: s", &e));
    assert!(!matches("  s:\n    A: 1\n    B: 9\n  condition: s", &e));
}

#[test]
fn condition_forms() {
    let e = ev(&[("A", "1"), ("B", "2")]);
    let d = "  sel_a:\n    A: 1\n  sel_b:\n    B: 2\n  sel_c:\n    C: 3\n  filter:\n    B: 9\n";
    let c = |cond: &str| matches(&format!("{d}  condition: {cond}"), &e);
    assert!(c("sel_a and sel_b"));
    assert!(!c("sel_a and sel_c"));
    assert!(c("sel_a or sel_c"));
    assert!(c("sel_a and not sel_c"));
    assert!(!c("not sel_a"));
    assert!(c("(sel_c or sel_a) and (sel_b)"));
    assert!(c("1 of sel_*"));
    assert!(!c("all of sel_*"));
    assert!(c("all of sel_a*"));
    assert!(c("1 of them"));
    assert!(!c("all of them"));
    assert!(c("sel_a and not 1 of filter*"));
    assert!(c("not sel_c and not filter"));
    // A list of conditions is OR-ed.
    assert!(matches(
        &format!("{d}  condition:\n    - sel_c\n    - sel_a"),
        &e
    ));
}

#[test]
fn condition_errors_have_lines() {
    let err = rejects("  s:\n    A: 1\n  condition: s and nope");
    assert!(err.contains("t.yml:9") && err.contains("nope"), "{err}");
    let err = rejects("  s:\n    A: 1\n  condition: s | count() > 5");
    assert!(err.contains("aggregation"), "{err}");
    let err = rejects("  s:\n    A|frobnicate: 1\n  condition: s");
    assert!(
        err.contains("frobnicate") && err.contains("t.yml:8"),
        "{err}"
    );
}

#[test]
fn bad_rules_do_not_stop_others() {
    let mut b = RulesetBuilder::new();
    b.add_source("good.yml", &rule("  s:\n    A: 1\n  condition: s"));
    b.add_source("bad.yml", "title: [unclosed\n");
    b.add_source("bad2.yml", &rule("  s:\n    A: 1\n  condition: t"));
    let (rs, errors) = b.build();
    assert_eq!(rs.rules().len(), 1);
    assert_eq!(errors.len(), 2);
    assert!(errors[0].file == "bad.yml" && errors[0].line >= 1);
}

#[test]
fn collections_global_and_repeat() {
    let text = "action: global\ntitle: g\nlogsource:\n  product: windows\ndetection:\n  s:\n    A: 1\n  condition: s\n---\nid: r1\nlogsource:\n  category: process_creation\n---\nid: r2\ndetection:\n  s:\n    A: 2\n---\naction: repeat\nid: r3\n";
    let mut b = RulesetBuilder::new();
    b.add_source("c.yml", text);
    let (rs, errors) = b.build();
    assert!(errors.is_empty(), "{errors:?}");
    let ids: Vec<&str> = rs.rules().iter().map(|r| r.meta.id.as_str()).collect();
    assert_eq!(ids, ["r1", "r2", "r3"]);
    let mut hits = Vec::new();
    rs.scan_unrouted(
        &ev(&[("A", "2")]),
        &mut |_: usize, r: &mamori_detect::CompiledRule, _: &EventView| {
            hits.push(r.meta.id.clone());
            true
        },
    );
    assert_eq!(hits, ["r2", "r3"]);
}

#[test]
fn meta_filter_rules() {
    let base = rule("  s:\n    A: 1\n  condition: s");
    let filter = "title: f\nlogsource:\n  product: windows\nfilter:\n  rules:\n    - 00000000-0000-0000-0000-000000000001\n  selection:\n    User: svc\n  condition: not selection\n";
    let mut b = RulesetBuilder::new();
    b.add_source("r.yml", &base);
    b.add_source("f.yml", filter);
    let (rs, errors) = b.build();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(rs.filter_count(), 1);
    let count = |e: &EventView| {
        let mut n = 0;
        rs.scan_unrouted(e, &mut |_: usize,
                                  _: &mamori_detect::CompiledRule,
                                  _: &EventView| {
            n += 1;
            true
        });
        n
    };
    // The filter's condition is AND-ed to the rule's: "not selection" drops svc's events.
    assert_eq!(count(&ev(&[("A", "1"), ("User", "svc")])), 0);
    assert_eq!(count(&ev(&[("A", "1"), ("User", "bob")])), 1);
}

#[test]
fn logsource_routing() {
    let mut b = RulesetBuilder::new();
    b.add_source("r.yml", &rule("  s:\n    A: 1\n  condition: s"));
    let (rs, _) = b.build();
    let count = |fields: &[(&str, &str)]| {
        let mut n = 0;
        rs.scan(
            &ev(fields),
            &mut |_: usize, _: &mamori_detect::CompiledRule, _: &EventView| {
                n += 1;
                true
            },
        );
        n
    };
    assert_eq!(
        count(&[
            ("Channel", "Microsoft-Windows-Sysmon/Operational"),
            ("EventID", "1"),
            ("A", "1")
        ]),
        1
    );
    assert_eq!(
        count(&[("Channel", "Security"), ("EventID", "4688"), ("A", "1")]),
        1
    );
    assert_eq!(
        count(&[
            ("Channel", "Microsoft-Windows-Sysmon/Operational"),
            ("EventID", "3"),
            ("A", "1")
        ]),
        0
    );
    assert_eq!(
        count(&[("Channel", "System"), ("EventID", "1"), ("A", "1")]),
        0
    );
}

#[test]
fn many_contains_values_use_one_automaton() {
    let list: String = (0..12).map(|i| format!("      - 'needle{i}x'\n")).collect();
    let det = format!("  s:\n    CommandLine|contains:\n{list}      - 'end*here'\n  condition: s");
    assert!(matches(&det, &ev(&[("CommandLine", "a NEEDLE7X b")])));
    assert!(matches(&det, &ev(&[("CommandLine", "the end is here")])));
    assert!(!matches(&det, &ev(&[("CommandLine", "needle7 b")])));
    let cased = format!("  s:\n    CommandLine|contains|cased:\n{list}  condition: s");
    assert!(matches(&cased, &ev(&[("CommandLine", "needle3x")])));
    assert!(!matches(&cased, &ev(&[("CommandLine", "NEEDLE3X")])));
}
