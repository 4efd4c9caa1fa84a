//! A report with indicators, observables, markings and relationships built through the public
//! API, as another Mamori crate would export it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use mamori_model::Tlp;
use mamori_stix::tlp::tlp_marking_id;
use mamori_stix::{Bundle, KillChainPhase, StixId, StixObject, Timestamp, tlp_marking_object};
use serde_json::json;

pub fn exported_bundle() -> Bundle {
    let at = Timestamp::parse("2026-11-25T21:00:00.000Z").unwrap();
    let sdo = |ty: &str| StixObject::new_sdo(StixId::new_random(ty).unwrap(), at.clone());
    let identity = sdo("identity")
        .with("name", "Mamori CERT")
        .with("identity_class", "organization");
    let marking = vec![tlp_marking_id(Tlp::Amber)];
    let mut ind = sdo("indicator")
        .with("name", "C2 address")
        .with("indicator_types", json!(["malicious-activity"]))
        .with("pattern", "[ipv4-addr:value = '198.51.100.7']")
        .with("pattern_type", "stix")
        .with("pattern_version", "2.1")
        .with("valid_from", "2026-11-25T21:00:00Z")
        .with(
            "kill_chain_phases",
            serde_json::to_value(vec![KillChainPhase {
                kill_chain_name: "mitre-attack".into(),
                phase_name: "command-and-control".into(),
            }])
            .unwrap(),
        );
    ind.created_by_ref = Some(identity.id.clone());
    ind.object_marking_refs = Some(marking.clone());
    ind.confidence = Some(80);
    ind.labels = Some(vec!["c2".into()]);
    let mut hash_ind = sdo("indicator")
        .with("pattern", "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']")
        .with("pattern_type", "stix")
        .with("valid_from", "2026-11-25T21:00:00.000Z")
        .with("valid_until", "2027-11-25T21:00:00.000Z");
    hash_ind.object_marking_refs = Some(marking.clone());
    let malware = sdo("malware").with("name", "Evil").with("is_family", true);
    let rel = sdo("relationship")
        .with("relationship_type", "indicates")
        .with("source_ref", ind.id.to_string())
        .with("target_ref", malware.id.to_string());
    let ip = mamori_stix::builders::observable("ipv4-addr", "198.51.100.7").unwrap();
    let od = sdo("observed-data")
        .with("first_observed", "2026-11-25T20:00:00.000Z")
        .with("last_observed", "2026-11-25T20:05:00.000Z")
        .with("number_observed", 3)
        .with("object_refs", json!([ip.id.to_string()]));
    let sighting = sdo("sighting")
        .with("sighting_of_ref", ind.id.to_string())
        .with("observed_data_refs", json!([od.id.to_string()]))
        .with("where_sighted_refs", json!([identity.id.to_string()]))
        .with("count", 3);
    let report = mamori_stix::builders::report(
        "C2 infrastructure",
        at.clone(),
        &[
            ind.id.clone(),
            hash_ind.id.clone(),
            malware.id.clone(),
            rel.id.clone(),
        ],
        at.clone(),
    )
    .with("report_types", json!(["threat-report"]));
    let p = mamori_stix::pattern::equality_pattern("domain-name:value", "evil.example").unwrap();
    let domain_ind = mamori_stix::builders::indicator(&p, at.clone(), at.clone());
    Bundle::new(vec![
        tlp_marking_object(Tlp::Amber),
        identity,
        ind,
        hash_ind,
        malware,
        rel,
        ip,
        od,
        sighting,
        report,
        domain_ind,
    ])
}
