//! Bundles: parsing, validation errors that name the object and property, limits, dangling
//! references, typed views, TLP and lossless round trips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/export.rs"]
mod export;

use mamori_model::Tlp;
use mamori_stix::tlp::{TLP1_AMBER, TLP1_WHITE, TLP2_AMBER_STRICT};
use mamori_stix::{
    Bundle, Limits, Observation, StixError, StixId, View, Warning, tlp_of, tlp_of_refs,
};
use serde_json::{Value, json};

const IND: &str = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";

fn indicator() -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": IND,
        "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
        "created": "2016-04-06T20:03:48.000Z",
        "modified": "2016-04-06T20:03:48.000Z",
        "indicator_types": ["malicious-activity"],
        "name": "Poison Ivy Malware",
        "description": "This file is part of Poison Ivy",
        "pattern": "[ file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877' ]",
        "pattern_type": "stix",
        "valid_from": "2016-01-01T00:00:00Z",
        "kill_chain_phases": [{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}],
        "object_marking_refs": [TLP1_AMBER],
        "x_acme_score": {"b": 1, "a": [1.5, null, "z"]},
        "external_references": [{"source_name": "capec", "external_id": "CAPEC-163", "x_extra": true}],
        "granular_markings": [{"marking_ref": TLP2_AMBER_STRICT, "selectors": ["description"]}]
    })
}

fn bundle_of(objects: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": objects
    }))
    .unwrap()
}

#[test]
fn parses_views_and_round_trips_losslessly() {
    let bytes = bundle_of(vec![indicator()]);
    let b = Bundle::parse(&bytes, Limits::default()).unwrap();
    assert_eq!(b.objects().len(), 1);
    let o = &b.objects()[0];
    let View::Indicator(i) = o.view() else {
        panic!("not an indicator")
    };
    assert_eq!(i.name(), Some("Poison Ivy Malware"));
    assert_eq!(i.pattern_type(), Some("stix"));
    assert_eq!(i.valid_from().unwrap().as_str(), "2016-01-01T00:00:00Z");
    assert_eq!(i.kill_chain_phases()[0].phase_name, "delivery");
    assert_eq!(i.indicator_types(), vec!["malicious-activity"]);
    assert!(i.parsed_pattern().unwrap().is_ok());
    assert_eq!(
        o.created.as_ref().unwrap().as_str(),
        "2016-04-06T20:03:48.000Z"
    );
    assert_eq!(
        o.external_references.as_ref().unwrap()[0].extra["x_extra"],
        json!(true)
    );
    assert_eq!(tlp_of(o), Some(Tlp::Amber));

    // Nothing dropped: the JSON we write is the JSON we read (as values).
    let original: Value = serde_json::from_slice(&bytes).unwrap();
    let written: Value = serde_json::from_str(&b.to_json()).unwrap();
    assert_eq!(written, original);
    // Custom property order is kept.
    assert!(b.to_json().contains(r#"{"b":1,"a":[1.5,null,"z"]}"#));
    let again = Bundle::parse(b.to_json().as_bytes(), Limits::default()).unwrap();
    assert_eq!(again, b);

    // The identity is not in the bundle: a warning, not an error. TLP ids are not reported.
    assert_eq!(
        b.warnings(),
        &[Warning::DanglingRef {
            object: StixId::parse(IND).unwrap(),
            path: "created_by_ref".into(),
            target: StixId::parse("identity--f431f809-377b-45e0-aa1c-6a4751cae5ff").unwrap(),
        }]
    );
}

fn err_of(mut obj: Value, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> StixError {
    f(obj.as_object_mut().unwrap());
    Bundle::parse(
        &bundle_of(vec![
            json!({"type": "identity", "spec_version": "2.1",
        "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff", "name": "x",
        "created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z"}),
            obj,
        ]),
        Limits::default(),
    )
    .expect_err("should fail")
}

#[test]
fn errors_name_object_and_path() {
    let cases: Vec<(StixError, &str)> = vec![
        (
            err_of(indicator(), |m| {
                m.remove("pattern");
            }),
            "$.objects[1].pattern",
        ),
        (
            err_of(indicator(), |m| {
                m.remove("modified");
            }),
            "$.objects[1].modified",
        ),
        (
            err_of(indicator(), |m| {
                m.insert("created".into(), json!("2016-04-06 20:03:48"));
            }),
            "$.objects[1].created",
        ),
        (
            err_of(indicator(), |m| {
                m.insert("valid_until".into(), json!("2015-01-01T00:00:00Z"));
            }),
            "$.objects[1].valid_until",
        ),
        (
            err_of(indicator(), |m| {
                m.insert("confidence".into(), json!(101));
            }),
            "$.objects[1].confidence",
        ),
        (
            err_of(indicator(), |m| {
                m.insert("sample_ref".into(), json!("not-an-id"));
            }),
            "$.objects[1].sample_ref",
        ),
        (
            err_of(indicator(), |m| {
                m.insert("object_refs".into(), json!(["report--bad"]));
            }),
            "$.objects[1].object_refs[0]",
        ),
        (
            err_of(indicator(), |m| {
                m.insert("object_marking_refs".into(), json!([IND]));
            }),
            "$.objects[1].object_marking_refs[0]",
        ),
        (
            err_of(indicator(), |m| {
                m.insert("pattern".into(), json!("[ipv4-addr:value = "));
            }),
            "$.objects[1].pattern",
        ),
        (
            err_of(indicator(), |m| {
                m.insert("type".into(), json!("malware"));
            }),
            "$.objects[1].type",
        ),
    ];
    for (e, path) in cases {
        let s = e.to_string();
        assert!(s.contains(path), "{s} should name {path}");
        if path != "$.objects[1].type" {
            assert!(s.contains(IND), "{s} should name the object");
        }
    }
    let e = err_of(indicator(), |m| {
        m.insert("id".into(), json!("indicator--nope"));
    });
    assert!(e.to_string().contains("$.objects[1].id"), "{e}");
}

#[test]
fn limits_are_enforced_before_parsing() {
    let bytes = bundle_of(vec![indicator(), indicator()]);
    let small = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        Bundle::parse(&bytes, small),
        Err(StixError::TooLarge { .. })
    ));
    let few = Limits {
        max_objects: 1,
        ..Limits::default()
    };
    assert!(matches!(
        Bundle::parse(&bytes, few),
        Err(StixError::TooManyObjects { count: 2, max: 1 })
    ));
    let shallow = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert!(matches!(
        Bundle::parse(&bytes, shallow),
        Err(StixError::TooDeep { .. })
    ));
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        Bundle::parse(deep.as_bytes(), Limits::default()),
        Err(StixError::TooDeep { max: 64, .. })
    ));
    assert!(matches!(
        Bundle::parse(b"{", Limits::default()),
        Err(StixError::Json { .. })
    ));
    assert!(Bundle::parse(b"[]", Limits::default()).is_err());
    assert!(
        Bundle::parse(
            br#"{"type":"bundle","id":"report--5d0092c5-5f74-4287-9642-33f4c354e56d"}"#,
            Limits::default()
        )
        .is_err()
    );
}

#[test]
fn tlp_one_and_two() {
    assert_eq!(tlp_of_refs(&[TLP1_WHITE]), Some(Tlp::Clear));
    assert_eq!(tlp_of_refs(&[TLP2_AMBER_STRICT]), Some(Tlp::AmberStrict));
    let bytes = bundle_of(vec![json!({
        "type": "marking-definition", "spec_version": "2.1", "id": TLP1_WHITE,
        "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": "TLP:WHITE",
        "definition": {"tlp": "white"}
    })]);
    let b = Bundle::parse(&bytes, Limits::default()).unwrap();
    assert_eq!(tlp_of(&b.objects()[0]), Some(Tlp::Clear));
}

#[test]
fn exported_report_round_trips_and_matches() {
    let b = export::exported_bundle();
    assert!(b.warnings().is_empty(), "{:?}", b.warnings());
    let parsed = Bundle::parse(b.to_json_pretty().as_bytes(), Limits::default()).unwrap();
    assert_eq!(parsed, b);
    assert!(parsed.warnings().is_empty());
    let observations = Observation::from_bundle(&parsed);
    assert_eq!(observations.len(), 1);
    assert_eq!(observations[0].number_observed, 3);
    let hits: Vec<_> = parsed
        .of_type("indicator")
        .filter(|o| {
            o.as_indicator()
                .and_then(|i| i.parsed_pattern())
                .and_then(Result::ok)
                .is_some_and(|p| p.matches(&observations))
        })
        .collect();
    assert_eq!(hits.len(), 1);
    let report = parsed
        .of_type("report")
        .next()
        .unwrap()
        .as_report()
        .unwrap();
    assert_eq!(report.object_refs().len(), 4);
    assert!(matches!(
        parsed.objects()[0].view(),
        View::MarkingDefinition(_)
    ));
}

#[test]
fn streaming_and_value_serialisations_agree() {
    let b = export::exported_bundle();
    let via_value = b.to_json_value().to_string();
    assert_eq!(b.to_json(), via_value);
    for o in b.objects() {
        assert_eq!(
            serde_json::to_string(o).unwrap(),
            o.to_json_value().to_string()
        );
    }
}

#[test]
fn embedded_observed_data_with_local_references() {
    let bytes = bundle_of(vec![json!({
        "type": "observed-data", "spec_version": "2.1",
        "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
        "created": "2016-04-06T19:58:16.000Z", "modified": "2016-04-06T19:58:16.000Z",
        "first_observed": "2015-12-21T19:00:00Z", "last_observed": "2015-12-21T19:00:00Z",
        "number_observed": 50,
        "objects": {
            "0": {"type": "ipv4-addr", "value": "198.51.100.2"},
            "1": {"type": "network-traffic", "dst_ref": "0", "protocols": ["tcp"], "dst_port": 443}
        }
    })]);
    let b = Bundle::parse(&bytes, Limits::default()).unwrap();
    let obs = Observation::from_bundle(&b);
    assert_eq!(obs[0].number_observed, 50);
    let p = mamori_stix::Pattern::parse(
        "[network-traffic:dst_ref.value = '198.51.100.2' AND network-traffic:dst_port = 443] REPEATS 50 TIMES",
    )
    .unwrap();
    assert!(p.matches(&obs));
    let p = mamori_stix::Pattern::parse(
        "[network-traffic:dst_ref.value = '198.51.100.2'] REPEATS 51 TIMES",
    )
    .unwrap();
    assert!(!p.matches(&obs));
}
