//! Property test: analysing arbitrary bytes, and mail-shaped bytes with random MIME structure,
//! never panics and always reports the input size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use mamori_mail::analyze;
use proptest::prelude::*;

fn mailish() -> impl Strategy<Value = Vec<u8>> {
    let header = prop_oneof![
        Just("Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n".to_owned()),
        Just("Content-Type: multipart/mixed; boundary=\"b\"\r\n".to_owned()),
        Just("Content-Type: message/rfc822\r\n".to_owned()),
        Just("Content-Transfer-Encoding: base64\r\n".to_owned()),
        Just("Received: from x ([1.2.3.4]) by y; Tue, 1 Apr 2025 10:00:00 +0900\r\n".to_owned()),
        Just("--b\r\n".to_owned()),
        Just("--b--\r\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("Content-Disposition: attachment; filename*=UTF-8''%E8%AB%8B.zip\r\n".to_owned()),
        Just("<a href=\"http://x\">y</a> hxxp://a[.]b PK\u{3}\u{4}\r\n".to_owned()),
        "[ -~]{0,40}\r\n",
    ];
    (
        prop::collection::vec(header, 0..40),
        prop::collection::vec(any::<u8>(), 0..256),
    )
        .prop_map(|(h, tail)| {
            let mut v = h.concat().into_bytes();
            v.extend(tail);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let a = analyze(&bytes);
        prop_assert_eq!(a.size, bytes.len());
        prop_assert!(!a.findings.iter().any(|f| f.id == "parse.panic"));
    }

    #[test]
    fn mail_shaped_bytes_never_panic(bytes in mailish()) {
        let a = analyze(&bytes);
        prop_assert_eq!(a.size, bytes.len());
        prop_assert!(a.verdict.score <= 100);
    }
}
