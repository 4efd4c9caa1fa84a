//! Property: whatever fields and values an event carries, mapping it to STIX observables and
//! matching pattern indicators against it never panics, and every string the observation
//! holds is a lookup key of the literal index (what makes the index exact).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use mamori_detect::event::{EventView, FieldValue, ValueKind};
use mamori_model::{Marking, OrgId, Tlp};
use mamori_pipeline::observe::Observables;
use mamori_pipeline::patterns::PatternSet;
use proptest::prelude::*;
use serde_json::Value;

const NAMES: &[&str] = &[
    "source.ip",
    "destination.ip",
    "source.port",
    "destination.port",
    "network.transport",
    "dns.question.name",
    "url.full",
    "url.original",
    "file.name",
    "file.directory",
    "file.hash.sha256",
    "Hashes",
    "process.executable",
    "Image",
    "process.pid",
    "process.command_line",
    "user.name",
    "email.from.address",
    "email.to.address",
    "email.subject",
    "registry.path",
    "source.mac",
    "tls.server.hash.sha1",
    "message",
];

fn field() -> impl Strategy<Value = (String, String, u8)> {
    (
        prop_oneof![
            proptest::sample::select(NAMES).prop_map(str::to_owned),
            "[a-zA-Z.]{1,12}"
        ],
        prop_oneof![
            any::<String>(),
            "[0-9a-fA-F:.]{0,40}",
            "(MD5|SHA256|SHA1|x)=[0-9A-F]{0,8}(,[A-Z0-9]{1,6}=[0-9a-f]{0,6}){0,3}",
            "-?[0-9]{1,20}",
            "[A-Z]:\\\\[a-z\\\\/]{0,12}",
        ],
        0u8..4,
    )
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.to_lowercase()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| *k != "type" && !k.ends_with("_ref") && !k.ends_with("_refs"))
            .for_each(|(_, x)| strings(x, out)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn mapping_never_panics(fields in proptest::collection::vec(field(), 0..24), ts in any::<i64>()) {
        let mut view = EventView::new();
        for (name, value, kind) in &fields {
            let kind = [ValueKind::Str, ValueKind::Num, ValueKind::Bool, ValueKind::Null][*kind as usize];
            view.push(name, FieldValue::new(value.as_str(), kind));
        }
        let obs = Observables::extract(&view);
        let keys: Vec<String> = obs.keys().map(|k| k.into_owned()).collect();
        let o = obs.observation(ts);
        let mut all = Vec::new();
        o.objects.values().for_each(|x| strings(x, &mut all));
        for s in all {
            prop_assert!(keys.contains(&s), "{} not a key", s);
        }
        let m = Marking { tlp: Tlp::Clear, owner_org: OrgId::new(), sharing_group: None, recipients: vec![] };
        let set = PatternSet::build([
            "[ipv4-addr:value = '1.2.3.4']",
            "[url:value MATCHES 'a.*b']",
            "[url:value LIKE '%/evil/%' OR domain-name:value = 'bad.example']",
            "[process:command_line LIKE '%x%' AND process:pid > 3]",
            "[email-message:from_ref.value = 'A@B.C']",
        ].map(|p| (p.to_owned(), m.clone())));
        let _ = set.scan(&view, ts);
    }
}
