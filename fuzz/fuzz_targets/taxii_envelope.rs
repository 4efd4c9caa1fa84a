//! Any bytes as a TAXII envelope, through the steps `taxii::handlers::ingest` takes before
//! storage: depth check, JSON, the `objects` array wrapped as a bundle and validated. Each step
//! returns a typed error or a bundle; nothing panics, and an accepted bundle re-parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_stix::{Bundle, Limits};

fuzz_target!(|data: &[u8]| {
    if mamori_stix::limits::check_depth(data, Limits::default().max_depth).is_err() {
        return;
    }
    let Ok(envelope) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Some(objects) = envelope.get("objects").cloned() else {
        return;
    };
    let v = serde_json::json!({"type": "bundle",
        "id": "bundle--6d616d6f-7269-4000-8000-000000000001", "objects": objects});
    if let Ok(b) = Bundle::from_json_value(v, Limits::default()) {
        let again = Bundle::parse(b.to_json().as_bytes(), Limits::default());
        assert!(again.is_ok_and(|a| a == b));
    }
});
