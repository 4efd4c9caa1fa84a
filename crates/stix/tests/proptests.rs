//! Property tests: serialise-then-parse is the identity on generated objects; no input makes
//! the bundle parser or the pattern parser/matcher panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use mamori_stix::{Bundle, ExternalReference, Limits, Pattern, StixId, StixObject, Timestamp};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn uuid() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
}

fn timestamp() -> impl Strategy<Value = Timestamp> {
    (0i64..4_102_444_800_000, prop::option::of("[0-9]{1,6}")).prop_map(|(ms, frac)| {
        let t = Timestamp::from_unix_millis(ms);
        match frac {
            // Same instant to the second, with a different fraction precision.
            Some(f) => Timestamp::parse(&format!("{}.{f}Z", &t.as_str()[..19])).unwrap(),
            None => t,
        }
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z]{1,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn custom_key() -> impl Strategy<Value = String> {
    "x_[a-z]{1,8}"
}

fn object() -> impl Strategy<Value = StixObject> {
    (
        "[a-z]{3,8}",
        uuid(),
        timestamp(),
        prop::option::of(prop::collection::vec("[a-z ]{0,8}", 0..3)),
        prop::option::of(0u8..=100),
        prop::option::of("[a-z]{2}"),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::collection::vec(uuid(), 1..3)),
        prop::option::of(("[a-z]{1,8}", prop::option::of("[a-z:/.]{1,20}"))),
        prop::collection::vec((custom_key(), json_value()), 0..5),
    )
        .prop_map(
            |(ty, id, at, labels, confidence, lang, revoked, markings, ext_ref, props)| {
                let ty = format!("x-{ty}");
                let mut o = StixObject::new_sdo(StixId::parse(&format!("{ty}--{id}")).unwrap(), at);
                o.labels = labels;
                o.confidence = confidence;
                o.lang = lang;
                o.revoked = revoked;
                o.object_marking_refs = markings.map(|m| {
                    m.iter()
                        .map(|u| StixId::parse(&format!("marking-definition--{u}")).unwrap())
                        .collect()
                });
                o.external_references = ext_ref.map(|(source_name, url)| {
                    vec![ExternalReference {
                        source_name,
                        description: None,
                        url,
                        hashes: None,
                        external_id: None,
                        extra: Map::new(),
                    }]
                });
                for (k, v) in props {
                    o.properties.insert(k, v);
                }
                o
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn bundle_round_trip(objects in prop::collection::vec(object(), 0..6), id in uuid()) {
        let b = Bundle::with_id(StixId::parse(&format!("bundle--{id}")).unwrap(), objects);
        let parsed = Bundle::parse(b.to_json().as_bytes(), Limits::default()).unwrap();
        prop_assert_eq!(&parsed, &b);
        for (o, p) in b.objects().iter().zip(parsed.objects()) {
            let back: StixObject = serde_json::from_value(o.to_json_value()).unwrap();
            prop_assert_eq!(&back, p);
        }
    }

    #[test]
    fn bundle_parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Bundle::parse(&bytes, Limits::default());
    }

    #[test]
    fn bundle_parse_never_panics_on_jsonish(v in json_value(), objs in prop::collection::vec(json_value(), 0..4)) {
        let doc = serde_json::json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": objs, "x": v});
        let _ = Bundle::parse(doc.to_string().as_bytes(), Limits::default());
    }

    #[test]
    fn pattern_parse_never_panics(s in "\\PC{0,64}") {
        let _ = Pattern::parse(&s);
    }

    #[test]
    fn pattern_parse_never_panics_on_token_soup(
        toks in prop::collection::vec(prop::sample::select(vec![
            "[", "]", "(", ")", ":", ".", ",", "*", "=", "!=", "<", "<=", ">", ">=", "AND", "OR", "NOT",
            "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS", "IN", "START", "STOP",
            "WITHIN", "SECONDS", "REPEATS", "TIMES", "true", "ipv4-addr", "value", "'x'", "'%a_'",
            "1", "-2", "3.5", "t'2016-01-01T00:00:00Z'", "h'ff'", "b'AA=='", "file", "hashes", "'SHA-256'",
        ]), 0..30)
    ) {
        let src = toks.join(" ");
        if let Ok(p) = Pattern::parse(&src) {
            let printed = p.to_string();
            prop_assert_eq!(Pattern::parse(&printed).unwrap(), p.clone(), "{}", printed);
            for (_, obs) in common::observation_sets() {
                let _ = p.matches(&obs);
            }
        }
    }
}
