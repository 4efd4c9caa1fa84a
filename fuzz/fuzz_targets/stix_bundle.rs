//! Any bytes: `Bundle::parse` returns, never panics; a parsed bundle re-parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_stix::{Bundle, Limits};

fuzz_target!(|data: &[u8]| {
    if let Ok(b) = Bundle::parse(data, Limits::default()) {
        let again = Bundle::parse(b.to_json().as_bytes(), Limits::default());
        assert!(again.is_ok_and(|a| a == b));
    }
});
