//! Validates bundles exported through the public API with the OASIS `stix2-validator`.
//! Skipped, with a message, when the validator is not installed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/export.rs"]
mod export;
#[path = "common/python.rs"]
mod python;

use mamori_model::Tlp;
use mamori_stix::{Bundle, tlp_marking_object, tlp1_marking_object};

const SCRIPT: &str = r#"
import json, sys
from stix2validator import validate_string, ValidationOptions
opts = ValidationOptions(version="2.1", strict=False)
out = []
for doc in json.load(open(sys.argv[1])):
    r = validate_string(doc, opts)
    errors = ["%s: %s" % (r.object_id, e) for e in r.errors]
    warnings = ["%s: %s" % (r.object_id, w) for w in (r.warnings or [])]
    out.append({"valid": r.is_valid, "errors": errors, "warnings": warnings})
print(json.dumps(out))
"#;

#[test]
fn exported_bundles_pass_stix2_validator() {
    let Some(py) = python::python_with("stix2validator") else {
        eprintln!(
            "SKIPPED exported_bundles_pass_stix2_validator: no Python with stix2-validator \
             (run .ci/setup)"
        );
        return;
    };
    let docs: Vec<String> = vec![
        export::exported_bundle().to_json_pretty(),
        Bundle::new(Tlp::ALL.iter().map(|t| tlp_marking_object(*t)).collect()).to_json(),
        Bundle::new(
            Tlp::ALL
                .iter()
                .filter_map(|t| tlp1_marking_object(*t))
                .collect(),
        )
        .to_json(),
        // Negative control: the validator must reject an indicator without a pattern.
        export::exported_bundle()
            .to_json()
            .replace("\"pattern\":", "\"patternX\":"),
    ];
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("stix-validator-docs-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec(&docs).unwrap()).unwrap();
    let out = std::process::Command::new(&py)
        .args(["-c", SCRIPT])
        .arg(&file)
        // The validator must not reach the network: any proxy-aware fetch fails locally.
        .env("http_proxy", "http://127.0.0.1:9")
        .env("https_proxy", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(
        results[3]["valid"],
        serde_json::json!(false),
        "negative control"
    );
    for (doc, r) in docs.iter().zip(&results).take(3) {
        assert_eq!(r["valid"], serde_json::json!(true), "{r}\n{doc}");
        eprintln!("stix2-validator warnings: {}", r["warnings"]);
    }
    eprintln!(
        "stix2-validator accepted {} exported bundles",
        docs.len() - 1
    );
}
