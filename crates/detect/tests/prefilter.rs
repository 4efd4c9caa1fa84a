//! The literal prefilter never changes what matches: keyword literals are looked for in the
//! values of all fields without an automaton of their own, scanned joined in one call, and a
//! literal must not be found across two values.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mamori_detect::{CompiledRule, EventView, Ruleset, RulesetBuilder};

const RULES: &[(&str, &str)] = &[
    (
        "keywords.yml",
        "title: keywords\nid: 00000000-0000-0000-0000-0000000000a1\nlogsource:\n  product: windows\ndetection:\n  keywords:\n    - 'sekurlsa::logonpasswords'\n    - 'mimikatz'\n  condition: keywords\nlevel: high\n",
    ),
    (
        "field.yml",
        "title: field\nid: 00000000-0000-0000-0000-0000000000a2\nlogsource:\n  product: windows\n  category: process_creation\ndetection:\n  s:\n    CommandLine|contains: ' -encodedcommand '\n  condition: s\nlevel: high\n",
    ),
    (
        "both.yml",
        "title: both\nid: 00000000-0000-0000-0000-0000000000a3\nlogsource:\n  product: windows\ndetection:\n  s:\n    Image|endswith: '\\\\rundll32.exe'\n  keywords:\n    - 'comsvcs'\n  condition: s and keywords\nlevel: high\n",
    ),
];

fn ruleset() -> Ruleset {
    let mut b = RulesetBuilder::new();
    for (name, text) in RULES {
        b.add_source(name, text);
    }
    let (rs, errors) = b.build();
    assert!(errors.iter().all(|e| e.warning), "{errors:?}");
    assert_eq!(rs.rules().len(), RULES.len());
    assert_eq!(rs.prefiltered_rules(), RULES.len());
    rs
}

fn matched(rs: &Ruleset, ev: &EventView, prefilter: bool) -> Vec<usize> {
    let mut out = Vec::new();
    let mut sink = |i: usize, _: &CompiledRule, _: &EventView| {
        out.push(i);
        true
    };
    if prefilter {
        rs.scan(ev, &mut sink);
    } else {
        rs.scan_without_prefilter(ev, &mut sink);
    }
    out
}

fn event(fields: &[(&str, &str)]) -> EventView {
    let mut ev = EventView::new();
    for (k, v) in fields {
        ev.push_str(k, v);
    }
    ev.finish();
    ev
}

#[test]
fn a_keyword_is_found_in_any_field_and_position() {
    let rs = ruleset();
    for at in 0..4 {
        let mut fields = vec![
            ("Channel", "Security"),
            ("SubjectUserName", "taro"),
            ("Message", "a logon"),
        ];
        fields.insert(at.min(fields.len()), ("Payload", "run MimiKatz now"));
        let ev = event(&fields);
        assert_eq!(matched(&rs, &ev, true), vec![0], "keyword at field {at}");
        assert_eq!(matched(&rs, &ev, false), vec![0]);
    }
    // A keyword that fills a whole value, a multi-valued field, and one in a field that has
    // an automaton of its own (CommandLine).
    for ev in [
        event(&[("Channel", "Security"), ("X", "mimikatz")]),
        event(&[("Channel", "Security"), ("X", "a"), ("X", "mimikatz")]),
        event(&[
            ("Channel", "Security"),
            ("CommandLine", "x sekurlsa::logonpasswords"),
        ]),
    ] {
        assert_eq!(matched(&rs, &ev, true), vec![0]);
    }
}

#[test]
fn a_keyword_split_across_two_values_is_not_a_candidate() {
    let rs = ruleset();
    let ev = event(&[
        ("Channel", "Security"),
        ("A", "xx mimi"),
        ("B", "katz yy"),
        ("C", "sekurlsa::"),
        ("D", "logonpasswords"),
    ]);
    assert!(matched(&rs, &ev, false).is_empty());
    assert!(rs.candidate_rules(&ev).is_empty());
}

#[test]
fn rules_needing_a_field_and_a_keyword_match_as_without_the_prefilter() {
    let rs = ruleset();
    let cases = [
        (
            vec![
                ("Channel", "Security"),
                ("Image", "C:\\Windows\\System32\\rundll32.exe"),
                ("CommandLine", "rundll32 comsvcs.dll MiniDump"),
            ],
            vec![2],
        ),
        (
            vec![
                ("Channel", "Security"),
                ("Image", "C:\\Windows\\System32\\rundll32.exe"),
                ("Other", "COMSVCS"),
            ],
            vec![2],
        ),
        (
            vec![
                ("Channel", "Security"),
                ("Image", "C:\\Windows\\System32\\rundll32.exe"),
                ("Other", "coms"),
                ("More", "vcs"),
            ],
            vec![],
        ),
        // Shorter than every literal: skipped by the scan, and no rule can need it.
        (vec![("Channel", "Security"), ("EventID", "1")], vec![]),
    ];
    for (fields, want) in cases {
        let ev = event(&fields);
        assert_eq!(matched(&rs, &ev, true), want, "{fields:?}");
        assert_eq!(matched(&rs, &ev, false), want, "{fields:?}");
    }
}
