//! Runs the spec pattern table through the OASIS reference matcher (Python `stix2-matcher`)
//! and asserts it agrees with `Pattern::matches`. Skipped, with a message, when the matcher
//! is not installed (`.ci/setup` installs it into `.venv`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/python.rs"]
mod python;

use mamori_stix::{Observation, Pattern};
use serde_json::{Value, json};

const SCRIPT: &str = r#"
import json, sys
from stix2matcher.matcher import match
out = []
for c in json.load(open(sys.argv[1])):
    try:
        out.append(bool(match(c["pattern"], [c["bundle"]], stix_version="2.1")))
    except Exception as e:
        out.append("error: %s" % e)
print(json.dumps(out))
"#;

fn as_bundle(observations: &[Observation]) -> Value {
    let mut objects = Vec::new();
    for (i, o) in observations.iter().enumerate() {
        objects.push(json!({
            "type": "observed-data",
            "spec_version": "2.1",
            "id": format!("observed-data--00000000-0000-4000-8000-{i:012}"),
            "created": "2016-01-01T00:00:00.000Z",
            "modified": "2016-01-01T00:00:00.000Z",
            "first_observed": o.first_observed.as_str(),
            "last_observed": o.last_observed.as_str(),
            "number_observed": o.number_observed,
            "object_refs": o.objects.keys().collect::<Vec<_>>(),
        }));
        objects.extend(o.objects.values().cloned());
    }
    json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objects})
}

/// Runs `(pattern, observations)` pairs through stix2-matcher.
fn reference_results(py: &std::path::Path, cases: &[(String, Vec<Observation>)]) -> Vec<Value> {
    let input: Vec<Value> = cases
        .iter()
        .map(|(p, obs)| json!({"pattern": p, "bundle": as_bundle(obs)}))
        .collect();
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "stix-matcher-generated-{}.json",
        std::process::id()
    ));
    std::fs::write(&file, serde_json::to_vec(&input).unwrap()).unwrap();
    let out = std::process::Command::new(py)
        .args(["-c", SCRIPT])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const ATOMS: [&str; 22] = [
    "ipv4-addr:value = '198.51.100.1'",
    "ipv4-addr:value ISSUBSET '198.51.100.0/24'",
    "ipv4-addr:value NOT = '203.0.113.33'",
    "ipv4-addr:value ISSUBSET '203.0.113.0/25'",
    "domain-name:value LIKE '%.info'",
    "domain-name:value = 'example.com'",
    "domain-name:resolves_to_refs[*].value = '198.51.100.1'",
    "network-traffic:dst_port >= 25",
    "network-traffic:protocols[*] = 'udp'",
    "network-traffic:dst_ref.value = 'example.com'",
    "network-traffic:src_ref.value ISSUBSET '203.0.113.0/24'",
    "file:name MATCHES '^pdf'",
    "file:size < 400000",
    "file:hashes.MD5 != 'cead3f77f6cda6ec00f57d76c9a6879f'",
    "file:extensions.'windows-pebinary-ext'.sections[0].entropy > 7.0",
    "file:created < t'2015-01-01T00:00:00Z'",
    "file:parent_directory_ref.path LIKE 'C:%'",
    "user-account:account_login IN ('Peter', 'Mary')",
    "user-account:user_id > '1007'",
    "email-message:from_ref.value LIKE 'jdoe@%'",
    "email-message:body_multipart[*].body_raw_ref.name MATCHES 'exe$'",
    "windows-registry-key:key LIKE 'HKEY_LOCAL_MACHINE%'",
];

const QUALIFIERS: [&str; 8] = [
    " WITHIN 1 SECONDS",
    " WITHIN 30 SECONDS",
    " WITHIN 3600 SECONDS",
    " REPEATS 2 TIMES",
    " REPEATS 3 TIMES",
    " START t'2016-06-01T00:00:00Z' STOP t'2016-06-01T00:01:00Z'",
    " START t'2016-06-01T00:00:30Z' STOP t'2016-07-01T00:00:00Z'",
    " START t'2016-06-15T10:05:00Z' STOP t'2016-06-16T00:00:00Z'",
];

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn comparison(rng: &mut Rng) -> String {
    let mut s = ATOMS[rng.below(ATOMS.len())].to_owned();
    for _ in 0..rng.below(3) {
        let op = if rng.below(2) == 0 { "AND" } else { "OR" };
        let atom = ATOMS[rng.below(ATOMS.len())];
        s = if rng.below(3) == 0 {
            format!("({s}) {op} {atom}")
        } else {
            format!("{s} {op} {atom}")
        };
    }
    format!("[{s}]")
}

fn observation(rng: &mut Rng, depth: usize) -> String {
    let mut s = if depth > 0 && rng.below(3) == 0 {
        format!("({})", observation(rng, depth - 1))
    } else {
        comparison(rng)
    };
    if rng.below(3) == 0 {
        s.push_str(QUALIFIERS[rng.below(QUALIFIERS.len())]);
    }
    for _ in 0..rng.below(3) {
        let op = ["AND", "OR", "FOLLOWEDBY"][rng.below(3)];
        let rhs = if depth > 0 && rng.below(4) == 0 {
            format!("({})", observation(rng, depth - 1))
        } else {
            comparison(rng)
        };
        s = format!("{s} {op} {rhs}");
    }
    s
}

#[test]
fn generated_patterns_agree_with_stix2_matcher() {
    let Some(py) = python::python_with("stix2matcher") else {
        eprintln!("SKIPPED generated_patterns_agree_with_stix2_matcher: no stix2-matcher");
        return;
    };
    let sets = common::observation_sets();
    let all: Vec<Observation> = sets.iter().flat_map(|(_, o)| o.clone()).collect();
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut cases = Vec::new();
    for _ in 0..1000 {
        let p = observation(&mut rng, 2);
        Pattern::parse(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
        cases.push((p.clone(), all.clone()));
        let (_, one) = &sets[rng.below(sets.len())];
        cases.push((p, one.clone()));
    }
    let theirs = reference_results(&py, &cases);
    let mut disagreements = Vec::new();
    let mut matched = 0;
    for ((p, obs), t) in cases.iter().zip(&theirs) {
        let ours = Pattern::parse(p).unwrap().matches(obs);
        matched += usize::from(ours);
        if t != &Value::Bool(ours) {
            disagreements.push(format!(
                "{p} ({} observations): ours {ours}, reference {t}",
                obs.len()
            ));
        }
    }
    eprintln!(
        "stix2-matcher: {} generated cases, {matched} matches, {} disagreements",
        cases.len(),
        disagreements.len()
    );
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn agrees_with_stix2_matcher() {
    let Some(py) = python::python_with("stix2matcher") else {
        eprintln!(
            "SKIPPED agrees_with_stix2_matcher: no Python with stix2-matcher \
             (run .ci/setup or `pip install stix2-matcher` into .venv)"
        );
        return;
    };
    let sets = common::observation_sets();
    let cases: Vec<_> = common::cases()
        .into_iter()
        .filter(|c| c.3)
        .map(|(pattern, set, expected, _)| {
            let obs = sets.iter().find(|(n, _)| *n == set).unwrap().1.clone();
            (pattern, set, expected, obs)
        })
        .collect();
    let input: Vec<Value> = cases
        .iter()
        .map(|(p, _, _, obs)| json!({"pattern": p, "bundle": as_bundle(obs)}))
        .collect();
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("stix-matcher-cases-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&input).unwrap()).unwrap();
    let out = std::process::Command::new(&py)
        .args(["-c", SCRIPT])
        .arg(&file)
        .env("http_proxy", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), cases.len());
    let mut disagreements = Vec::new();
    for ((pattern, set, expected, obs), theirs) in cases.iter().zip(&results) {
        let ours = Pattern::parse(pattern).unwrap().matches(obs);
        if theirs != &Value::Bool(ours) {
            disagreements.push(format!(
                "{pattern} on {set}: ours {ours}, stix2-matcher {theirs}"
            ));
        }
        assert_eq!(ours, *expected, "{pattern} on {set}");
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    eprintln!("stix2-matcher agreed on {} cases", cases.len());
}
