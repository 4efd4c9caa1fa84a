//! Any bytes as a feed: URLhaus and Shadowserver parsing return a report or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mamori_notify::feed::parse_urlhaus(data);
    let _ = mamori_notify::feed::parse_shadowserver("scan_telnet", data);
});
