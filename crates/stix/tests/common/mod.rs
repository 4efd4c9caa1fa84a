//! Shared fixtures: observation sets and a table of patterns (most from the STIX 2.1
//! specification's examples) with the expected match result for each set.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use mamori_stix::{Observation, Timestamp};
use serde_json::{Map, Value, json};

/// An SCO with a deterministic-looking id built from a short tag.
pub fn sco(ty: &str, n: u32, mut props: Value) -> (String, Value) {
    let id = format!("{ty}--00000000-0000-4000-8000-{n:012}");
    if let Some(m) = props.as_object_mut() {
        m.insert("type".into(), json!(ty));
        m.insert("id".into(), json!(id));
        m.insert("spec_version".into(), json!("2.1"));
    }
    (id, props)
}

pub fn obs(first: &str, last: &str, n: u64, objects: Vec<(String, Value)>) -> Observation {
    Observation {
        first_observed: Timestamp::parse(first).unwrap(),
        last_observed: Timestamp::parse(last).unwrap(),
        number_observed: n,
        objects: objects.into_iter().collect::<Map<String, Value>>(),
    }
}

const SHA_A: &str = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f";
const SHA_B: &str = "bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c";

/// Named observation sets.
pub fn observation_sets() -> Vec<(&'static str, Vec<Observation>)> {
    let t = |s: &str| format!("2016-06-01T00:{s}Z");
    vec![
        (
            "file-a",
            vec![obs(
                &t("00:00"),
                &t("00:00"),
                1,
                vec![sco(
                    "file",
                    1,
                    json!({"name": "pdf.exe", "size": 371712, "mime_type": "application/x-pdf",
                           "hashes": {"SHA-256": SHA_A, "MD5": "cead3f77f6cda6ec00f57d76c9a6879f"},
                           "magic_number_hex": "ffd8",
                           "created": "2014-01-13T07:03:17Z",
                           "extensions": {"windows-pebinary-ext": {"pe_type": "exe",
                               "sections": [{"name": ".text", "entropy": 7.5}, {"name": ".data", "entropy": 2.0}]}}}),
                )],
            )],
        ),
        (
            "two-files",
            vec![
                obs(
                    &t("00:00"),
                    &t("00:00"),
                    1,
                    vec![sco("file", 2, json!({"hashes": {"SHA-256": SHA_B}}))],
                ),
                obs(
                    &t("01:00"),
                    &t("01:00"),
                    1,
                    vec![sco("file", 3, json!({"hashes": {"SHA-256": SHA_A}}))],
                ),
            ],
        ),
        (
            "ip-domain",
            vec![obs(
                &t("00:00"),
                &t("05:00"),
                1,
                vec![
                    sco("ipv4-addr", 1, json!({"value": "198.51.100.1"})),
                    sco("ipv4-addr", 2, json!({"value": "203.0.113.33"})),
                    sco(
                        "domain-name",
                        1,
                        json!({"value": "www.5z8.info",
                        "resolves_to_refs": ["ipv4-addr--00000000-0000-4000-8000-000000000001"]}),
                    ),
                    sco(
                        "network-traffic",
                        1,
                        json!({"protocols": ["tcp"], "dst_port": 25,
                        "src_ref": "ipv4-addr--00000000-0000-4000-8000-000000000001",
                        "dst_ref": "ipv4-addr--00000000-0000-4000-8000-000000000002"}),
                    ),
                ],
            )],
        ),
        (
            "email",
            vec![obs(
                &t("00:00"),
                &t("00:00"),
                1,
                vec![
                    sco("email-addr", 1, json!({"value": "jdoe@example.com"})),
                    sco("file", 9, json!({"name": "Final Report 2016.exe"})),
                    sco(
                        "email-message",
                        1,
                        json!({"is_multipart": true, "subject": "Conference Info",
                        "from_ref": "email-addr--00000000-0000-4000-8000-000000000001",
                        "sender_ref": "email-addr--00000000-0000-4000-8000-000000000001",
                        "body_multipart": [{"body": "hi"},
                            {"body_raw_ref": "file--00000000-0000-4000-8000-000000000009"}]}),
                    ),
                ],
            )],
        ),
        (
            "md5-then-reg",
            vec![
                obs(
                    &t("00:00"),
                    &t("00:00"),
                    1,
                    vec![sco(
                        "file",
                        4,
                        json!({"hashes": {"MD5": "79054025255fb1a26e4bc422aef54eb4"}}),
                    )],
                ),
                obs(
                    &t("02:00"),
                    &t("02:00"),
                    1,
                    vec![sco(
                        "windows-registry-key",
                        1,
                        json!({"key": "HKEY_LOCAL_MACHINE\\foo\\bar"}),
                    )],
                ),
            ],
        ),
        (
            "reg-then-md5-late",
            vec![
                obs(
                    &t("00:00"),
                    &t("00:00"),
                    1,
                    vec![sco(
                        "windows-registry-key",
                        2,
                        json!({"key": "HKEY_LOCAL_MACHINE\\foo\\bar"}),
                    )],
                ),
                obs(
                    "2016-06-01T01:00:00Z",
                    "2016-06-01T01:00:00Z",
                    1,
                    vec![sco(
                        "file",
                        5,
                        json!({"hashes": {"MD5": "79054025255fb1a26e4bc422aef54eb4"}}),
                    )],
                ),
            ],
        ),
        (
            "dns-x5",
            vec![obs(
                &t("00:00"),
                &t("02:00"),
                5,
                vec![
                    sco("domain-name", 2, json!({"value": "example.com"})),
                    sco(
                        "network-traffic",
                        2,
                        json!({"protocols": ["udp"],
                        "dst_ref": "domain-name--00000000-0000-4000-8000-000000000002"}),
                    ),
                ],
            )],
        ),
        (
            "dns-x3",
            vec![obs(
                &t("00:00"),
                &t("02:00"),
                3,
                vec![
                    sco("domain-name", 3, json!({"value": "example.com"})),
                    sco(
                        "network-traffic",
                        3,
                        json!({"protocols": ["udp"],
                        "dst_ref": "domain-name--00000000-0000-4000-8000-000000000003"}),
                    ),
                ],
            )],
        ),
        (
            "accounts",
            vec![
                obs(
                    &t("00:00"),
                    &t("00:00"),
                    1,
                    vec![sco(
                        "user-account",
                        1,
                        json!({"account_type": "unix", "user_id": "1007", "account_login": "Peter"}),
                    )],
                ),
                obs(
                    &t("00:10"),
                    &t("00:10"),
                    1,
                    vec![sco(
                        "user-account",
                        2,
                        json!({"account_type": "unix", "user_id": "1008", "account_login": "Paul"}),
                    )],
                ),
                obs(
                    &t("00:20"),
                    &t("00:20"),
                    1,
                    vec![sco(
                        "user-account",
                        3,
                        json!({"account_type": "unix", "user_id": "1009", "account_login": "Mary"}),
                    )],
                ),
            ],
        ),
        (
            "artifact",
            vec![obs(
                &t("00:00"),
                &t("00:00"),
                1,
                vec![sco(
                    "artifact",
                    1,
                    json!({"mime_type": "application/vnd.tcpdump.pcap",
                    "payload_bin": "1MOyoQIABAAAAAAAAAAAAP//AAABAAAA"}),
                )],
            )],
        ),
        (
            "dll",
            vec![obs(
                &t("00:00"),
                &t("00:00"),
                1,
                vec![
                    sco("directory", 1, json!({"path": "C:\\Windows\\System32"})),
                    sco(
                        "file",
                        6,
                        json!({"name": "foo.dll",
                        "parent_directory_ref": "directory--00000000-0000-4000-8000-000000000001"}),
                    ),
                ],
            )],
        ),
        (
            "june-traffic",
            vec![obs(
                "2016-06-15T10:00:00Z",
                "2016-06-15T10:05:00Z",
                1,
                vec![
                    sco("ipv4-addr", 3, json!({"value": "203.0.113.10"})),
                    sco(
                        "network-traffic",
                        4,
                        json!({"protocols": ["tcp"], "dst_port": 25,
                        "src_ref": "ipv4-addr--00000000-0000-4000-8000-000000000003"}),
                    ),
                ],
            )],
        ),
    ]
}

/// (pattern, observation set, expected, also checked against stix2-matcher).
pub fn cases() -> Vec<(&'static str, &'static str, bool, bool)> {
    vec![
        (
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "file-a",
            true,
            true,
        ),
        (
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "ip-domain",
            false,
            true,
        ),
        (
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f' AND file:mime_type = 'application/x-pdf']",
            "file-a",
            true,
            true,
        ),
        (
            "[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "two-files",
            true,
            true,
        ),
        (
            "[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f'] AND [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "file-a",
            false,
            true,
        ),
        (
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] FOLLOWEDBY [file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c']",
            "two-files",
            false,
            true,
        ),
        (
            "[file:hashes.'SHA-256' = 'bf07a7fbb825fc0aae7bf4a1177b2b31fcf8a3feeaf7092761e18c859ee52a9c'] FOLLOWEDBY [file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
            "two-files",
            true,
            true,
        ),
        (
            "([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 300 SECONDS",
            "md5-then-reg",
            true,
            true,
        ),
        (
            "([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 300 SECONDS",
            "reg-then-md5-late",
            false,
            true,
        ),
        (
            "([file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) WITHIN 60 SECONDS",
            "md5-then-reg",
            false,
            true,
        ),
        (
            "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar'] AND [file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] WITHIN 3600 SECONDS",
            "reg-then-md5-late",
            true,
            true,
        ),
        (
            "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
            "email",
            true,
            true,
        ),
        (
            "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.org$']",
            "email",
            false,
            true,
        ),
        (
            "[email-message:sender_ref.value = 'jdoe@example.com' AND email-message:subject = 'Conference Info']",
            "email",
            true,
            true,
        ),
        (
            "[email-message:body_multipart[1].body_raw_ref.name LIKE 'Final%.exe']",
            "email",
            true,
            true,
        ),
        (
            "[email-message:body_multipart[0].body_raw_ref.name LIKE 'Final%.exe']",
            "email",
            false,
            true,
        ),
        (
            "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 180 SECONDS",
            "dns-x5",
            true,
            true,
        ),
        (
            "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES WITHIN 180 SECONDS",
            "dns-x3",
            false,
            true,
        ),
        (
            "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 3 TIMES",
            "dns-x3",
            true,
            true,
        ),
        (
            "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1']",
            "ip-domain",
            true,
            true,
        ),
        (
            "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.2']",
            "ip-domain",
            false,
            true,
        ),
        (
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
            "ip-domain",
            true,
            true,
        ),
        (
            "[ipv4-addr:value ISSUBSET '192.0.2.0/24']",
            "ip-domain",
            false,
            true,
        ),
        (
            "[ipv4-addr:value NOT ISSUBSET '198.51.100.0/24']",
            "ip-domain",
            true,
            true,
        ),
        (
            "[ipv4-addr:value = '198.51.100.1' AND ipv4-addr:value = '203.0.113.33']",
            "ip-domain",
            false,
            true,
        ),
        (
            "[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '192.0.2.1']",
            "ip-domain",
            true,
            true,
        ),
        (
            "[ipv4-addr:value IN ('192.0.2.1', '203.0.113.33')]",
            "ip-domain",
            true,
            true,
        ),
        (
            "[ipv4-addr:value NOT IN ('198.51.100.1', '203.0.113.33')]",
            "ip-domain",
            false,
            true,
        ),
        (
            "[network-traffic:dst_ref.value = '203.0.113.33' AND network-traffic:dst_port = 25]",
            "ip-domain",
            true,
            true,
        ),
        (
            "[network-traffic:dst_port > 24 AND network-traffic:dst_port <= 25]",
            "ip-domain",
            true,
            true,
        ),
        ("[network-traffic:dst_port < 25]", "ip-domain", false, true),
        ("[network-traffic:dst_port != 80]", "ip-domain", true, true),
        (
            "[network-traffic:dst_port = '25']",
            "ip-domain",
            false,
            true,
        ),
        (
            "[network-traffic:protocols[*] = 'tcp']",
            "ip-domain",
            true,
            true,
        ),
        (
            "[network-traffic:protocols[0] = 'udp']",
            "ip-domain",
            false,
            true,
        ),
        (
            "[file:name = 'foo.dll' AND file:parent_directory_ref.path = 'C:\\\\Windows\\\\System32']",
            "dll",
            true,
            true,
        ),
        (
            "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
            "file-a",
            true,
            true,
        ),
        (
            "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.9]",
            "file-a",
            false,
            true,
        ),
        (
            "[file:mime_type = 'application/x-pdf' AND file:magic_number_hex = h'ffd8']",
            "file-a",
            true,
            true,
        ),
        ("[file:magic_number_hex = h'ffd9']", "file-a", false, true),
        (
            "[(file:name = 'pdf.exe' OR file:size = 371712) AND file:created = t'2014-01-13T07:03:17Z']",
            "file-a",
            true,
            true,
        ),
        (
            "[file:created > t'2014-01-13T07:03:17.001Z']",
            "file-a",
            false,
            true,
        ),
        ("[file:size >= 371712.0]", "file-a", true, true),
        ("[file:name LIKE 'pdf._xe']", "file-a", true, true),
        ("[file:name LIKE 'PDF%']", "file-a", false, true),
        ("[file:name NOT LIKE 'pdf%']", "file-a", false, true),
        (
            "[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\\\xd4\\\\xc3\\\\xb2\\\\xa1\\\\x02\\\\x00\\\\x04\\\\x00']",
            "artifact",
            true,
            true,
        ),
        (
            "[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1009' AND user-account:account_login = 'Mary']",
            "accounts",
            true,
            true,
        ),
        (
            "[user-account:account_login = 'Peter'] FOLLOWEDBY [user-account:account_login = 'Paul'] FOLLOWEDBY [user-account:account_login = 'Mary']",
            "accounts",
            true,
            true,
        ),
        (
            "[user-account:account_login = 'Mary'] FOLLOWEDBY [user-account:account_login = 'Peter']",
            "accounts",
            false,
            true,
        ),
        (
            "[user-account:account_type = 'unix'] REPEATS 3 TIMES",
            "accounts",
            true,
            true,
        ),
        (
            "[user-account:account_type = 'unix'] REPEATS 4 TIMES",
            "accounts",
            false,
            true,
        ),
        (
            "[user-account:account_type = 'unix'] REPEATS 3 TIMES WITHIN 20 SECONDS",
            "accounts",
            true,
            true,
        ),
        (
            "[user-account:account_type = 'unix'] REPEATS 3 TIMES WITHIN 19.5 SECONDS",
            "accounts",
            false,
            true,
        ),
        (
            "[network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '203.0.113.10' AND network-traffic:dst_port = 25] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
            "june-traffic",
            true,
            true,
        ),
        (
            "[network-traffic:src_ref.value = '203.0.113.10'] START t'2016-07-01T00:00:00Z' STOP t'2016-08-01T00:00:00Z'",
            "june-traffic",
            false,
            true,
        ),
        (
            "[network-traffic:src_ref.value = '203.0.113.10'] START t'2016-06-15T10:05:00Z' STOP t'2016-08-01T00:00:00Z'",
            "june-traffic",
            true,
            true,
        ),
        (
            "[network-traffic:src_ref.value = '203.0.113.10'] START t'2016-06-01T00:00:00Z' STOP t'2016-06-15T10:00:00Z'",
            "june-traffic",
            false,
            true,
        ),
        (
            "[ipv4-addr:value = '198.51.100.1'] OR [file:name = 'nothing']",
            "ip-domain",
            true,
            true,
        ),
        (
            "([ipv4-addr:value = '198.51.100.1'] OR [file:name = 'nothing']) AND [domain-name:value = 'www.5z8.info']",
            "ip-domain",
            false,
            true,
        ),
        (
            "[ipv4-addr:value = '198.51.100.1'] AND [domain-name:value = 'www.5z8.info']",
            "ip-domain",
            false,
            true,
        ),
        (
            "[file:name = 'pdf.exe'] AND [file:size = 371712]",
            "file-a",
            false,
            true,
        ),
        (
            "[network-traffic:dst_ref.value = 'example.com'] AND [network-traffic:dst_ref.value = 'example.com']",
            "dns-x3",
            true,
            true,
        ),
        ("[EXISTS file:hashes.MD5]", "file-a", true, false),
        ("[EXISTS file:hashes.'SHA-1']", "file-a", false, false),
        (
            "[NOT EXISTS file:hashes.'SHA-1' AND file:name = 'pdf.exe']",
            "file-a",
            true,
            false,
        ),
        ("[NOT EXISTS file:hashes.MD5]", "file-a", false, false),
        (
            "[ipv6-addr:value ISSUBSET '2001:db8::/32']",
            "ip-domain",
            false,
            false,
        ),
    ]
}
