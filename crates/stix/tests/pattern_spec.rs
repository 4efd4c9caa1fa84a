//! Patterns from the STIX 2.1 specification: parsing, printing, errors, matching and IOC
//! extraction.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use mamori_stix::pattern::{Pattern, PatternError};

#[test]
fn spec_table_matches_as_expected() {
    let sets = common::observation_sets();
    let mut failures = Vec::new();
    for (pattern, set, expected, _) in common::cases() {
        let p = Pattern::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        let observations = &sets.iter().find(|(n, _)| *n == set).unwrap().1;
        if p.matches(observations) != expected {
            failures.push(format!("{pattern} on {set}: expected {expected}"));
        }
        let printed = p.to_string();
        assert_eq!(Pattern::parse(&printed).unwrap(), p, "{printed}");
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn more_spec_patterns_parse() {
    for p in [
        "[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
        "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
        "[windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\CryptoLocker\\\\Files' OR windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\Microsoft\\\\CurrentVersion\\\\Run\\\\CryptoLocker_0388']",
        "[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS",
        "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
        "[artifact:payload_bin = b'1MOyoQIABAA=']",
        "[file:size IN (1, 2, 3)]",
        "[file:x_custom[-1] = 1.5 AND file:y = -2 AND file:z = +3 AND file:w = -.5]",
        "[a-b:c != true] START t'2016-01-01T00:00:00.000Z' STOP t'2016-01-02T00:00:00.123456Z' REPEATS 2 TIMES",
        "[x:y <> 'a'] WITHIN 1.5 SECONDS",
        "[x:y == 'a']",
        "[file:name = 'a' AND (file:size = 3 OR file:size = 4)]",
        "[x:'quoted key'.'another'[*] ISSUPERSET '10.0.0.1']",
        "[x:y IN ()]",
        "(([a:b = 1]))",
    ] {
        let parsed = Pattern::parse(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert_eq!(Pattern::parse(&parsed.to_string()).unwrap(), parsed, "{p}");
    }
}

#[test]
fn errors_carry_offset_and_expectation() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 0, "'[' or '('"),
        ("[ipv4-addr:value = ]", 19, "a literal"),
        ("[ipv4-addr:value '1.2.3.4']", 17, "comparison operator"),
        ("[ipv4-addr:value = '1'", 22, "']'"),
        ("[ipv4-addr:value = '1'] AND", 27, "'[' or '('"),
        ("[file:hashes.SHA-256 = 'x']", 13, "without '-'"),
        ("[x:y = 'unterminated]", 21, "closing quote"),
        (
            "[x:y = t'2016-13-01T00:00:00Z']",
            7,
            "invalid STIX timestamp",
        ),
        ("[x:y = h'abc']", 7, "hex"),
        ("[x:y = b'!!']", 7, "base64"),
        ("[x:y MATCHES '(?<=a)b']", 13, "regular expression"),
        ("[x:y = 1] REPEATS 0 TIMES", 18, "positive integer"),
        ("[file:hashes.MD5 = 'abc']", 19, "not a valid MD5 hash"),
        ("[x:y = 1] WITHIN 0 SECONDS", 17, "positive number"),
        ("[x:y = 1] WITHIN 5", 18, "SECONDS"),
        ("[x:y = 'a\\n']", 10, "after a backslash"),
        ("[x:y < true]", 7, "a literal"),
        ("[x:y = 007]", 7, "leading zeros"),
        ("[x:y = 1] €", 10, "a token"),
    ];
    for (src, offset, needle) in cases {
        let e = Pattern::parse(src).expect_err(src);
        assert_eq!(e.offset(), *offset, "{src}: {e}");
        assert!(e.to_string().contains(needle), "{src}: {e}");
    }
    let deep = format!("{}[a:b = 1]{}", "(".repeat(500), ")".repeat(500));
    assert!(matches!(
        Pattern::parse(&deep),
        Err(PatternError::TooDeep { .. })
    ));
    let deep = format!("[{}a:b = 1{}]", "(".repeat(500), ")".repeat(500));
    assert!(matches!(
        Pattern::parse(&deep),
        Err(PatternError::TooDeep { .. })
    ));
}

#[test]
fn simple_equalities_for_the_ioc_index() {
    let p = Pattern::parse(
        "[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '203.0.113.33' OR domain-name:value = 'evil.example']",
    )
    .unwrap();
    assert_eq!(
        p.simple_equalities(),
        vec![
            ("ipv4-addr:value".to_owned(), "198.51.100.1".to_owned()),
            ("ipv4-addr:value".to_owned(), "203.0.113.33".to_owned()),
            ("domain-name:value".to_owned(), "evil.example".to_owned()),
        ]
    );
    assert!(p.is_simple_disjunction());

    let p = Pattern::parse("[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:name = 'x.exe']").unwrap();
    assert_eq!(
        p.simple_equalities(),
        vec![
            (
                "file:hashes.'SHA-256'".to_owned(),
                "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f".to_owned()
            ),
            ("file:name".to_owned(), "x.exe".to_owned()),
        ]
    );
    assert!(!p.is_simple_disjunction());

    let p = Pattern::parse("[autonomous-system:number = 15139]").unwrap();
    assert_eq!(
        p.simple_equalities(),
        vec![("autonomous-system:number".to_owned(), "15139".to_owned())]
    );

    for not_simple in [
        "[ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value = '1.2.3.5']",
        "[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS",
        "[ipv4-addr:value ISSUBSET '1.2.3.0/24']",
        "[ipv4-addr:value NOT = '1.2.3.4']",
        "[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value != '1.2.3.5']",
    ] {
        let p = Pattern::parse(not_simple).unwrap();
        assert!(p.simple_equalities().is_empty(), "{not_simple}");
        assert!(!p.is_simple_disjunction(), "{not_simple}");
    }
}

#[test]
fn alternative_equalities_span_observations_joined_by_or() {
    let p = Pattern::parse(
        "[ipv4-addr:value = '1.2.3.4'] OR [domain-name:value = 'a.example' OR url:value = 'http://b.example/']",
    )
    .unwrap();
    assert_eq!(
        p.alternative_equalities(),
        vec![
            ("ipv4-addr:value".to_owned(), "1.2.3.4".to_owned()),
            ("domain-name:value".to_owned(), "a.example".to_owned()),
            ("url:value".to_owned(), "http://b.example/".to_owned()),
        ]
    );
    let one = Pattern::parse("[domain-name:value = 'a.example']").unwrap();
    assert_eq!(one.alternative_equalities(), one.simple_equalities());
    for not_alternative in [
        "[ipv4-addr:value = '1.2.3.4'] AND [ipv4-addr:value = '1.2.3.5']",
        "[ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value = '1.2.3.5' AND domain-name:value = 'x']",
        "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.5']",
        "([ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value = '1.2.3.5']) WITHIN 5 SECONDS",
        "[ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value ISSUBSET '1.2.3.0/24']",
    ] {
        let p = Pattern::parse(not_alternative).unwrap();
        assert!(p.alternative_equalities().is_empty(), "{not_alternative}");
    }
}

#[test]
fn equality_patterns_escape_values() {
    use mamori_stix::pattern::equality_pattern;
    let p = equality_pattern("windows-registry-key:key", "HKLM\\Run\\it's").unwrap();
    assert_eq!(
        p.to_string(),
        "[windows-registry-key:key = 'HKLM\\\\Run\\\\it\\'s']"
    );
    assert_eq!(
        p.simple_equalities(),
        vec![(
            "windows-registry-key:key".to_owned(),
            "HKLM\\Run\\it's".to_owned()
        )]
    );
    assert!(equality_pattern("file:hashes.SHA-256", "x").is_err());
    assert!(equality_pattern("ipv4-addr:value = 'a'] OR [x:y", "x").is_err());
    assert!(equality_pattern("x:y = 'a' OR x:z", "x").is_err());
}

#[test]
fn long_chains_stay_shallow_and_qualifiers_are_bounded() {
    let n = 20_000;
    let big = format!(
        "[{}]",
        (0..n)
            .map(|i| format!(
                "ipv4-addr:value = '10.{}.{}.{}'",
                i >> 16 & 255,
                i >> 8 & 255,
                i & 255
            ))
            .collect::<Vec<_>>()
            .join(" OR ")
    );
    let p = Pattern::parse(&big).unwrap();
    assert_eq!(p.simple_equalities().len(), n);
    assert_eq!(p.simple_equalities()[n - 1].1, "10.0.78.31");
    assert!(p.is_simple_disjunction());
    assert_eq!(Pattern::parse(&p.to_string()).unwrap(), p);
    let obs = common::obs(
        "2016-01-01T00:00:00Z",
        "2016-01-01T00:00:00Z",
        1,
        vec![common::sco(
            "ipv4-addr",
            1,
            serde_json::json!({"value": "10.0.78.31"}),
        )],
    );
    assert!(p.matches(&[obs]));

    let observations = (0..5_000)
        .map(|i| format!("[a:b = {i}]"))
        .collect::<Vec<_>>();
    for op in [" AND ", " OR ", " FOLLOWEDBY "] {
        assert!(Pattern::parse(&observations.join(op)).is_ok());
    }
    let stacked = format!("[a:b = 1]{}", " WITHIN 1 SECONDS".repeat(10_000));
    assert!(matches!(
        Pattern::parse(&stacked),
        Err(PatternError::TooDeep { .. })
    ));
    assert!(Pattern::parse(&format!("[a:b = 1]{}", " REPEATS 2 TIMES".repeat(3))).is_ok());
}

#[test]
fn hostile_matching_is_bounded() {
    // Many identical observations and a pattern with large joins: must finish quickly.
    let observations: Vec<_> = (0..400)
        .map(|i| {
            common::obs(
                "2016-01-01T00:00:00Z",
                "2016-01-01T00:00:00Z",
                64,
                vec![common::sco(
                    "ipv4-addr",
                    i,
                    serde_json::json!({"value": "10.0.0.1"}),
                )],
            )
        })
        .collect();
    let p = Pattern::parse(
        "([ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.2']) REPEATS 40 TIMES",
    )
    .unwrap();
    let start = std::time::Instant::now();
    assert!(!p.matches(&observations));
    assert!(
        start.elapsed() < std::time::Duration::from_secs(60),
        "{:?}",
        start.elapsed()
    );
    let p = Pattern::parse("[ipv4-addr:value = '10.0.0.1'] REPEATS 1000 TIMES").unwrap();
    assert!(p.matches(&observations));
}

#[test]
fn large_number_observed_counts_as_many_instances() {
    let o = |n| {
        vec![common::obs(
            "2016-01-01T00:00:00Z",
            "2016-01-01T00:05:00Z",
            n,
            vec![common::sco(
                "ipv4-addr",
                1,
                serde_json::json!({"value": "10.0.0.1"}),
            )],
        )]
    };
    let p = Pattern::parse("[ipv4-addr:value = '10.0.0.1'] REPEATS 1000 TIMES WITHIN 300 SECONDS")
        .unwrap();
    assert!(p.matches(&o(5000)));
    assert!(p.matches(&o(1000)));
    assert!(!p.matches(&o(999)));
    let p = Pattern::parse(
        "([ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value LIKE '10.%']) REPEATS 3 TIMES",
    )
    .unwrap();
    assert!(p.matches(&o(6)));
    assert!(!p.matches(&o(5)));
}

#[test]
fn repeats_within_a_window_over_a_long_stream() {
    // The monitoring stream's shape: one observation a minute for five hours, each seen once.
    let t = |m: i64| {
        mamori_stix::Timestamp::from_unix_millis(1_451_606_400_000 + m * 60_000)
            .as_str()
            .to_owned()
    };
    let observations: Vec<_> = (0..300)
        .map(|m| {
            common::obs(
                &t(m),
                &t(m),
                1,
                vec![common::sco(
                    "ipv4-addr",
                    m as u32,
                    serde_json::json!({"value": "10.0.0.1"}),
                )],
            )
        })
        .collect();
    // Five observations span four minutes: not within 200 s, within 240 s, and so is the
    // sequence of two of them followed by a third.
    let within = |n: u32, secs: u32| {
        Pattern::parse(&format!(
            "([ipv4-addr:value = '10.0.0.1'] REPEATS {n} TIMES) WITHIN {secs} SECONDS"
        ))
        .unwrap()
        .matches(&observations)
    };
    assert!(!within(5, 200));
    assert!(within(5, 240));
    assert!(within(300, 299 * 60));
    assert!(!within(300, 299 * 60 - 1));
    assert!(!within(301, 400 * 60));
    let seq = Pattern::parse(
        "(([ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.1']) \
         FOLLOWEDBY [ipv4-addr:value = '10.0.0.1']) WITHIN 119 SECONDS",
    )
    .unwrap();
    assert!(!seq.matches(&observations));
}
