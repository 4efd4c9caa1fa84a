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

    #[test]
    fn phishing_feeds(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let _ = mamori_notify::feed::parse_phishtank(&bytes);
        let _ = mamori_notify::feed::parse_openphish(&bytes);
    }

    #[test]
    fn phishtank_like(rows in prop::collection::vec("[ -~]{0,80}", 0..20)) {
        let text = format!("phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n{}", rows.join("\n"));
        let _ = mamori_notify::feed::parse_phishtank(text.as_bytes());
    }

    #[test]
    fn generic_feeds(rows in prop::collection::vec("[ -~]{0,80}", 0..20), fmt in 0usize..3) {
        let format = ["csv", "json", "jsonl"][fmt];
        let m = mamori_notify::feed::FeedMapping::from_toml(&format!(
            "name = \"p\"\nformat = \"{format}\"\nvalue = \"v\"\ntime = \"t\"\nport = \"p\"\nasn = \"a\"\n"
        )).unwrap();
        let text = format!("v,t,p,a\n{}", rows.join("\n"));
        let _ = mamori_notify::feed::parse_generic(&m, text.as_bytes());
    }

    #[test]
    fn generic_mappings(text in "[ -~\n]{0,300}") {
        let _ = mamori_notify::feed::FeedMapping::from_toml(&text);
    }
}
