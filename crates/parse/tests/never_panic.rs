//! Any input yields an event or a typed error, never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn syslog_any(s in "\\PC{0,300}") {
        let _ = mamori_parse::syslog::parse(&s);
    }

    #[test]
    fn syslog_shaped(pri in 0u16..300, body in "[ -~\\[\\]\"=\\\\]{0,200}") {
        let _ = mamori_parse::syslog::parse(&format!("<{pri}>1 {body}"));
        let _ = mamori_parse::syslog::parse(&format!("<{pri}>{body}"));
    }

    #[test]
    fn cef_any(s in "\\PC{0,300}") {
        let _ = mamori_parse::cef::parse(&s);
    }

    #[test]
    fn cef_shaped(h in prop::collection::vec("[ -~]{0,10}", 7), ext in "[ -~]{0,200}") {
        let _ = mamori_parse::cef::parse(&format!("CEF:{}|{ext}", h.join("|")));
    }

    #[test]
    fn others_any(s in "\\PC{0,300}") {
        let _ = mamori_parse::leef::parse(&s);
        let _ = mamori_parse::access_log::parse(&s);
        let _ = mamori_parse::squid::parse(&s);
        let _ = mamori_parse::dns_query::parse(&s);
        let _ = mamori_parse::eve::parse(&s);
        let _ = mamori_parse::zeek::parse_json(&s);
        let mut r = mamori_parse::zeek::TsvReader::new();
        let _ = r.line("#fields\tts\tid.orig_h");
        let _ = r.line(&s);
    }

    #[test]
    fn access_log_shaped(ip in "[0-9.]{0,15}", t in "[ -~]{0,30}", r in "[ -~]{0,60}", rest in "[ -~]{0,60}") {
        let _ = mamori_parse::access_log::parse(&format!("{ip} - - [{t}] \"{r}\" {rest}"));
    }
}
