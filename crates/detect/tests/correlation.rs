//! Correlation rules over hand-made event streams, including windows that straddle the
//! timespan boundary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mamori_detect::correlation::{CorrelationHit, Observation};
use mamori_detect::{CompiledRule, EventView, RulesetBuilder};

const BASE: &str = r#"
title: Failed logon
id: 11111111-0000-0000-0000-000000000001
name: failed_logon
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 4625
  condition: sel
level: low
---
title: Process A
id: 11111111-0000-0000-0000-000000000002
name: proc_a
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 1
  condition: sel
level: low
---
title: Process B
id: 11111111-0000-0000-0000-000000000003
name: proc_b
logsource:
  product: windows
  service: security
detection:
  sel:
    EventID: 2
  condition: sel
level: low
"#;

/// (time, event id, user, ip, computer); the time is in seconds for `run`, in milliseconds
/// for `run_ms` and `event_ms`.
type Ev<'a> = (i64, u32, &'a str, &'a str, &'a str);

/// (milliseconds, event id, user, ip, computer) as a Security event.
fn event_ms((ms, id, user, ip, host): Ev<'_>) -> EventView {
    let s = ms / 1000;
    let mut e = EventView::new();
    e.push_str("Channel", "Security");
    e.push_str("EventID", &id.to_string());
    e.push_str("TargetUserName", user);
    e.push_str("IpAddress", ip);
    e.push_str("Computer", host);
    e.push_str(
        "TimeCreated",
        &format!(
            "2024-01-01T00:{:02}:{:02}.{:03}Z",
            s / 60,
            s % 60,
            ms % 1000
        ),
    );
    e.finish();
    e
}

fn run(correlation: &str, events: &[Ev<'_>]) -> Vec<CorrelationHit> {
    let ms: Vec<Ev<'_>> = events
        .iter()
        .map(|&(s, id, user, ip, host)| (s * 1000, id, user, ip, host))
        .collect();
    run_ms(correlation, &ms)
}

/// Like [`run`], with event times in milliseconds.
fn run_ms(correlation: &str, events: &[Ev<'_>]) -> Vec<CorrelationHit> {
    let mut b = RulesetBuilder::new();
    b.add_source("base.yml", BASE);
    b.add_source("corr.yml", correlation);
    let (rs, errors) = b.build();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(rs.correlations().len(), 1);
    let mut obs: Vec<Observation> = Vec::new();
    for (n, e) in events.iter().enumerate() {
        let ev = event_ms(*e);
        rs.scan(&ev, &mut |i: usize, _: &CompiledRule, ev: &EventView| {
            for &c in rs.correlations_of(i) {
                if let Some(o) = rs.correlations()[c].observe(i, ev, n) {
                    obs.push(o);
                }
            }
            true
        });
    }
    rs.correlations()[0].evaluate(0, obs)
}

const EVENT_COUNT: &str = r#"
title: Brute force
id: 22222222-0000-0000-0000-000000000001
correlation:
  type: event_count
  rules:
    - failed_logon
  group-by:
    - TargetUserName
  timespan: 1m
  condition:
    gte: 3
level: high
"#;

#[test]
fn event_count_inside_window_fires() {
    let hits = run(
        EVENT_COUNT,
        &[
            (0, 4625, "alice", "", "h"),
            (30, 4625, "alice", "", "h"),
            (59, 4625, "alice", "", "h"),
        ],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].count, 3);
    assert_eq!(
        hits[0].key,
        vec![("TargetUserName".to_owned(), "alice".to_owned())]
    );
}

#[test]
fn event_count_on_the_boundary_is_inclusive() {
    let hits = run(
        EVENT_COUNT,
        &[
            (0, 4625, "alice", "", "h"),
            (30, 4625, "alice", "", "h"),
            (60, 4625, "alice", "", "h"),
        ],
    );
    assert_eq!(hits.len(), 1);
}

#[test]
fn event_count_across_the_boundary_does_not_fire() {
    let hits = run(
        EVENT_COUNT,
        &[
            (0, 4625, "bob", "", "h"),
            (40, 4625, "bob", "", "h"),
            (61, 4625, "bob", "", "h"),
        ],
    );
    assert!(hits.is_empty(), "{hits:?}");
    // Sliding window: a fourth event within 1m of the second and third fires.
    let hits = run(
        EVENT_COUNT,
        &[
            (0, 4625, "bob", "", "h"),
            (40, 4625, "bob", "", "h"),
            (61, 4625, "bob", "", "h"),
            (99, 4625, "bob", "", "h"),
        ],
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].detections, vec![1, 2, 3]);
}

#[test]
fn event_count_one_millisecond_past_the_boundary_does_not_fire() {
    let at = |ms| (ms, 4625, "carol", "", "h");
    assert_eq!(
        run_ms(EVENT_COUNT, &[at(0), at(30_000), at(60_000)]).len(),
        1
    );
    assert!(run_ms(EVENT_COUNT, &[at(0), at(30_000), at(60_001)]).is_empty());
    // Out-of-order input is windowed by event time, not arrival order.
    assert_eq!(
        run_ms(EVENT_COUNT, &[at(60_000), at(0), at(30_000)]).len(),
        1
    );
    assert!(run_ms(EVENT_COUNT, &[at(60_001), at(0), at(30_000)]).is_empty());
}

#[test]
fn event_count_groups_are_separate() {
    let hits = run(
        EVENT_COUNT,
        &[
            (0, 4625, "alice", "", "h"),
            (1, 4625, "bob", "", "h"),
            (2, 4625, "alice", "", "h"),
        ],
    );
    assert!(hits.is_empty());
}

#[test]
fn value_count() {
    let corr = r#"
title: Spray
id: 22222222-0000-0000-0000-000000000002
correlation:
  type: value_count
  rules: [failed_logon]
  group-by: [IpAddress]
  timespan: 5m
  condition:
    field: TargetUserName
    gte: 3
level: high
"#;
    let same_user = [
        (0, 4625, "a", "10.0.0.1", "h"),
        (10, 4625, "a", "10.0.0.1", "h"),
        (20, 4625, "a", "10.0.0.1", "h"),
    ];
    assert!(run(corr, &same_user).is_empty());
    let spray = [
        (0, 4625, "a", "10.0.0.1", "h"),
        (100, 4625, "b", "10.0.0.1", "h"),
        (299, 4625, "c", "10.0.0.1", "h"),
    ];
    assert_eq!(run(corr, &spray).len(), 1);
    let slow = [
        (0, 4625, "a", "10.0.0.1", "h"),
        (100, 4625, "b", "10.0.0.1", "h"),
        (301, 4625, "c", "10.0.0.1", "h"),
    ];
    assert!(run(corr, &slow).is_empty());
    // Exactly on the boundary: inclusive, like event_count.
    let edge = [
        (0, 4625, "a", "10.0.0.1", "h"),
        (100, 4625, "b", "10.0.0.1", "h"),
        (300, 4625, "c", "10.0.0.1", "h"),
    ];
    assert_eq!(run(corr, &edge).len(), 1);
}

const TEMPORAL: &str = r#"
title: A and B
id: 22222222-0000-0000-0000-000000000003
correlation:
  type: TYPE
  rules: [proc_a, proc_b]
  group-by: [Computer]
  timespan: 30s
level: high
"#;

#[test]
fn temporal_any_order_within_timespan() {
    let c = TEMPORAL.replace("TYPE", "temporal");
    assert_eq!(
        run(&c, &[(0, 2, "", "", "h"), (29, 1, "", "", "h")]).len(),
        1
    );
    assert!(run(&c, &[(0, 2, "", "", "h"), (31, 1, "", "", "h")]).is_empty());
    assert!(run(&c, &[(0, 2, "", "", "h1"), (1, 1, "", "", "h2")]).is_empty());
    // On the boundary (inclusive) and one millisecond past it.
    assert_eq!(
        run(&c, &[(0, 2, "", "", "h"), (30, 1, "", "", "h")]).len(),
        1
    );
    assert!(run_ms(&c, &[(0, 2, "", "", "h"), (30_001, 1, "", "", "h")]).is_empty());
}

#[test]
fn temporal_ordered() {
    let c = TEMPORAL.replace("TYPE", "temporal_ordered");
    assert_eq!(
        run(&c, &[(0, 1, "", "", "h"), (10, 2, "", "", "h")]).len(),
        1
    );
    assert!(run(&c, &[(0, 2, "", "", "h"), (10, 1, "", "", "h")]).is_empty());
    assert!(run(&c, &[(0, 1, "", "", "h"), (31, 2, "", "", "h")]).is_empty());
    assert_eq!(
        run(&c, &[(0, 1, "", "", "h"), (30, 2, "", "", "h")]).len(),
        1
    );
    assert!(run_ms(&c, &[(0, 1, "", "", "h"), (30_001, 2, "", "", "h")]).is_empty());
    // The window slides: A at 0 is too old for B at 45, but A at 20 is not.
    assert_eq!(
        run(
            &c,
            &[
                (0, 1, "", "", "h"),
                (20, 1, "", "", "h"),
                (45, 2, "", "", "h")
            ]
        )
        .len(),
        1
    );
}

#[test]
fn invalid_correlations_are_reported() {
    let mut b = RulesetBuilder::new();
    b.add_source("base.yml", BASE);
    b.add_source(
        "bad.yml",
        "title: x\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 1m\n  condition:\n    gte: 1\n",
    );
    b.add_source(
        "bad2.yml",
        "title: y\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  timespan: forever\n  condition:\n    gte: 1\n",
    );
    let (rs, errors) = b.build();
    assert_eq!(rs.correlations().len(), 0);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].to_string().contains("unknown rule 'nope'"));
}

const CHAIN: &str = r#"
title: Brute force
id: 33333333-0000-0000-0000-000000000001
name: brute_force
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 1m
  condition:
    gte: 3
level: medium
---
title: Success after brute force
id: 33333333-0000-0000-0000-000000000002
correlation:
  type: temporal_ordered
  rules: [brute_force, proc_a]
  group-by: [TargetUserName]
  timespan: 5m
level: critical
"#;

fn hunt(rules: &str, events: &[Ev<'_>]) -> Vec<mamori_detect::hunt::Detection> {
    use std::sync::Arc;
    let mut b = RulesetBuilder::new();
    b.add_source("base.yml", BASE);
    b.add_source("corr.yml", rules);
    let (rs, errors) = b.build();
    assert!(errors.is_empty(), "{errors:?}");
    let lines: Vec<String> = events
        .iter()
        .map(|&(s, id, user, ip, host)| {
            format!(
                r#"{{"winlog":{{"channel":"Security","event_id":{id},"computer_name":"{host}","event_data":{{"TargetUserName":"{user}","IpAddress":"{ip}"}}}},"@timestamp":"2024-01-01T00:{:02}:{:02}.000Z"}}"#,
                s / 60,
                s % 60
            )
        })
        .collect();
    let p = std::env::temp_dir().join(format!(
        "mamori-corr-{}-{}.jsonl",
        std::process::id(),
        lines.len()
    ));
    std::fs::write(&p, lines.join("\n")).unwrap();
    let h = mamori_detect::hunt::Hunter {
        ruleset: Arc::new(rs),
        iocs: None,
        min_level: mamori_detect::Level::Medium,
        extra: None,
    };
    let (dets, _) = h.run(std::slice::from_ref(&p), &|_, _| {});
    std::fs::remove_file(&p).unwrap();
    dets
}

#[test]
fn chained_correlation_fires_on_correlation_hits() {
    let titles = |d: &[mamori_detect::hunt::Detection]| -> Vec<String> {
        d.iter().map(|x| x.rule_title.clone()).collect()
    };
    // Three failures then a success for alice: both correlations fire; the referenced
    // brute-force correlation is suppressed (generate: false) and only the chain reports.
    let d = hunt(
        CHAIN,
        &[
            (0, 4625, "alice", "", "h"),
            (10, 4625, "alice", "", "h"),
            (20, 4625, "alice", "", "h"),
            (100, 1, "alice", "", "h"),
        ],
    );
    assert_eq!(titles(&d), ["Success after brute force"]);
    assert!(
        d[0].matched
            .iter()
            .any(|(k, v)| k == "TargetUserName" && v == "alice")
    );
    // Success before the brute force: no chain.
    let d = hunt(
        CHAIN,
        &[
            (0, 1, "alice", "", "h"),
            (10, 4625, "alice", "", "h"),
            (20, 4625, "alice", "", "h"),
            (30, 4625, "alice", "", "h"),
        ],
    );
    assert!(d.is_empty(), "{:?}", titles(&d));
    // Success for another user: no chain.
    let d = hunt(
        CHAIN,
        &[
            (0, 4625, "alice", "", "h"),
            (10, 4625, "alice", "", "h"),
            (20, 4625, "alice", "", "h"),
            (100, 1, "bob", "", "h"),
        ],
    );
    assert!(d.is_empty(), "{:?}", titles(&d));
}

#[test]
fn correlation_cycles_are_rejected() {
    let cyc = "title: a\nname: ca\ncorrelation:\n  type: temporal\n  rules: [cb, proc_a]\n  timespan: 1m\n---\ntitle: b\nname: cb\ncorrelation:\n  type: temporal\n  rules: [ca, proc_b]\n  timespan: 1m\n";
    let mut b = RulesetBuilder::new();
    b.add_source("base.yml", BASE);
    b.add_source("cyc.yml", cyc);
    let (rs, errors) = b.build();
    assert_eq!(rs.correlations().len(), 0);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].message.contains("cycle"));
}
