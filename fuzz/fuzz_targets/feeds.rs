//! Any bytes as a feed: URLhaus, Shadowserver, PhishTank, OpenPhish and a generic CSV/JSON
//! mapping return a report or an error; any text as a mapping file parses or is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = mamori_notify::feed::parse_urlhaus(data);
    let _ = mamori_notify::feed::parse_shadowserver("scan_telnet", data);
    let _ = mamori_notify::feed::parse_phishtank(data);
    let _ = mamori_notify::feed::parse_openphish(data);
    for format in ["csv", "json", "jsonl"] {
        if let Ok(m) = mamori_notify::feed::FeedMapping::from_toml(&format!(
            "name = \"f\"\nformat = \"{format}\"\nvalue = \"v\"\ntime = \"t\"\nasn = \"a\"\n"
        )) {
            let _ = mamori_notify::feed::parse_generic(&m, data);
        }
    }
    let _ = mamori_notify::feed::FeedMapping::from_toml(&String::from_utf8_lossy(data));
});
