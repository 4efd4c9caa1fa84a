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
