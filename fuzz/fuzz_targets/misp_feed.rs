//! Any bytes as a MISP event and as a feed manifest: both return a typed result, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mamori_misp::parse_event(data, mamori_misp::ImportLimits::default());
    if let Ok(entries) = mamori_misp::feed::parse_manifest(data, 1 << 20) {
        for e in entries {
            // Names built from entries stay inside the feed directory.
            assert!(!e.uuid.contains('/') && !e.uuid.contains('.') && !e.uuid.is_empty());
        }
    }
});
