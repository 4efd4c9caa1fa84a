//! Any bytes as an ingested batch: the NATS intake envelope is opened and verified (or
//! refused), the bus wire form is decoded (or refused), and the body is
//! parsed, normalised and scanned by the pipeline's `prepare` in every format; nothing panics
//! and every non-empty line ends up as an event or a dead letter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_pipeline::{BatchHeader, Engine, OrgTable, RawBatch, Routing, Settings};

fuzz_target!(|data: &[u8]| {
    let _ = RawBatch::decode(data);
    if let Ok(env) = mamori_bus::intake::Envelope::open(data) {
        let _ = mamori_bus::intake::IntakeKey::from_token("mms_fuzz").verify(&env);
    }
    let engine = Engine::new(mamori_detect::RulesetBuilder::new().build().0);
    let orgs = OrgTable::default();
    for format in ["json", "auto", "syslog", "cef", "zeek-tsv"] {
        let batch = RawBatch {
            header: BatchHeader {
                source: "fuzz".into(),
                batch_id: "1".into(),
                org_id: mamori_model::OrgId::new(),
                routing: Routing::Address,
                format: format.into(),
                received_at: 0,
            },
            body: data.to_vec(),
        };
        let _ = mamori_pipeline::process::prepare(&engine, &orgs, &Settings::default(), &batch);
    }
});
