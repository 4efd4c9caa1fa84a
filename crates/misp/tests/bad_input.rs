//! Property tests: arbitrary bytes and arbitrary JSON give MISP events and feed manifests a
//! typed result (`Ok` or a `MispError`), never a panic; manifest entries are always safe file
//! names.

use mamori_misp::feed::parse_manifest;
use mamori_misp::{ImportLimits, parse_event};
use proptest::prelude::*;

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|n| serde_json::json!(n)),
        ".{0,20}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("Event".to_owned()),
                    Just("Attribute".to_owned()),
                    Just("Tag".to_owned()),
                    Just("info".to_owned()),
                    Just("timestamp".to_owned()),
                    Just("type".to_owned()),
                    Just("value".to_owned()),
                    "[a-f0-9-]{1,40}",
                    ".{0,10}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_event(&data, ImportLimits::default());
        let _ = parse_manifest(&data, 1 << 20);
    }

    #[test]
    fn json_never_panics_and_manifest_names_are_safe(v in json_value()) {
        let text = v.to_string();
        let _ = parse_event(text.as_bytes(), ImportLimits::default());
        let wrapped = serde_json::json!({"Event": v}).to_string();
        let _ = parse_event(wrapped.as_bytes(), ImportLimits::default());
        if let Ok(entries) = parse_manifest(text.as_bytes(), 1 << 20) {
            for e in entries {
                prop_assert!(!e.uuid.is_empty() && e.uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
            }
        }
    }

    #[test]
    fn oversized_input_is_a_typed_error(n in 1usize..64) {
        let data = vec![b' '; n + 1];
        let too_large = matches!(
            parse_manifest(&data, n),
            Err(mamori_misp::MispError::TooLarge { limit: _ })
        );
        prop_assert!(too_large);
    }
}
