//! Any bytes as a log line: the syslog and CEF parsers return an event or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    let _ = mamori_parse::syslog::parse(&line);
    let _ = mamori_parse::cef::parse(&line);
});
