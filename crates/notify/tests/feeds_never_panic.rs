//! Any bytes given as a feed yield a report or a typed error, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn urlhaus(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = mamori_notify::feed::parse_urlhaus(&bytes);
    }

    #[test]
    fn urlhaus_like(rows in prop::collection::vec("[ -~]{0,80}", 0..20)) {
        let text = format!("# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n{}", rows.join("\n"));
        let _ = mamori_notify::feed::parse_urlhaus(text.as_bytes());
    }

    #[test]
    fn shadowserver(rows in prop::collection::vec("[ -~]{0,80}", 0..20)) {
        let text = format!("timestamp,ip,protocol,port,hostname,asn\n{}", rows.join("\n"));
        let _ = mamori_notify::feed::parse_shadowserver("scan_telnet", text.as_bytes());
    }
}
