//! Fuzz target: `mamori_mail::analyze` must never panic (a caught parser panic is reported as
//! a `parse.panic` finding, which the fuzzer treats as a crash so it gets fixed upstream).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let a = mamori_mail::analyze(data);
    assert!(!a.findings.iter().any(|f| f.id == "parse.panic"));
    let _ = a.verdict.score;
});
