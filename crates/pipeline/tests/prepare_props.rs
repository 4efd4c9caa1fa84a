//! Property: whatever a sender posts, `prepare` never panics, and every non-blank line becomes
//! exactly one stored event or one dead letter (nothing is lost silently). The same inputs are
//! the cargo-fuzz target `ingest_batch`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use mamori_pipeline::{BatchHeader, Engine, OrgTable, RawBatch, Routing, Settings};
use proptest::prelude::*;

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| s.replace('\n', " ")),
        "\\{\"[a-z.@]{1,8}\":(\"[^\"\\\\\n]{0,12}\"|[0-9]{1,6}|\\{\"x\":1\\}|\\[1,\"a\"\\])\\}",
        "<[0-9]{1,3}>1 2026-11-25T10:00:00Z [a-z]{1,5} app - - - [^\n]{0,30}",
        "CEF:0\\|[^\n]{0,40}",
        "\\{\"Event\":\\{\"System\":\\{\"EventID\":[0-9]{1,4}\\}\\}\\}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn every_line_is_an_event_or_a_dead_letter(lines in proptest::collection::vec(line(), 0..20), fmt in 0usize..3) {
        let format = ["json", "auto", "syslog"][fmt];
        let engine = Engine::new(mamori_detect::RulesetBuilder::new().build().0);
        let batch = RawBatch {
            header: BatchHeader {
                source: "p".into(),
                batch_id: "1".into(),
                org_id: mamori_model::OrgId::new(),
                routing: Routing::Address,
                format: format.into(),
                received_at: 0,
            },
            body: lines.join("\n").into_bytes(),
        };
        let out = mamori_pipeline::process::prepare(&engine, &OrgTable::default(), &Settings::default(), &batch);
        let non_blank = lines.iter().filter(|l| !l.trim().is_empty()).count();
        prop_assert_eq!(out.events.len() + out.dead_letters.len(), non_blank);
        for e in &out.events {
            prop_assert!(serde_json::from_str::<serde_json::Value>(&e.doc).is_ok(), "doc is JSON: {}", e.doc);
        }
    }
}
