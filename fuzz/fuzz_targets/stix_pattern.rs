//! Any text: `Pattern::parse` returns, never panics; a parsed pattern prints to text that
//! parses back to the same tree, and matching it does not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_stix::{Observation, Pattern, Timestamp};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    if let Ok(p) = Pattern::parse(src) {
        assert_eq!(Pattern::parse(&p.to_string()).ok().as_ref(), Some(&p));
        let t = Timestamp::from_unix_millis(0);
        let obs = Observation {
            first_observed: t.clone(),
            last_observed: t,
            number_observed: 2,
            objects: serde_json_map(),
        };
        let _ = p.matches(&[obs]);
        let _ = p.simple_equalities();
    }
});

fn serde_json_map() -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert(
        "ipv4-addr--00000000-0000-4000-8000-000000000001".into(),
        serde_json::json!({"type": "ipv4-addr", "value": "198.51.100.1"}),
    );
    m
}
