//! A report as STIX 2.1 objects: the author's identity (or an anonymous member identity), the
//! report SDO, one indicator per Mamori indicator (a pattern built from the typed value, or the
//! given STIX pattern), and one SCO per observable. Every object carries the TLP 2.0 marking.
//! Ids are stable: they derive from Mamori's ids, so a changed report yields new versions of the
//! same objects.

use mamori_model::{Indicator, Observable, OrgId, Report, ValueKind};
use mamori_stix::timestamp::Timestamp;
use mamori_stix::{StixId, StixObject};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// Namespace for Mamori-derived STIX ids (UUIDv5 of Mamori's own ids).
const NAMESPACE: Uuid = Uuid::from_u128(0x6d61_6d6f_7269_4000_8000_0000_7374_6978);

fn id(object_type: &str, seed: &str) -> Option<StixId> {
    StixId::parse(&format!(
        "{object_type}--{}",
        Uuid::new_v5(&NAMESPACE, seed.as_bytes())
    ))
    .ok()
}

/// The identity object id of an organisation (or of the anonymous member).
pub fn identity_id(org: Option<OrgId>) -> Option<StixId> {
    id(
        "identity",
        &org.map_or_else(|| "anonymous".to_owned(), |o| o.to_string()),
    )
}

fn quote(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The STIX pattern for a typed value, if STIX can express it.
pub fn pattern_for(kind: ValueKind, value: &str) -> Option<String> {
    let v = quote(value);
    Some(match kind {
        ValueKind::Ipv4 => format!("[ipv4-addr:value = '{v}']"),
        ValueKind::Ipv6 => format!("[ipv6-addr:value = '{v}']"),
        ValueKind::Cidr if value.contains(':') => format!("[ipv6-addr:value ISSUBSET '{v}']"),
        ValueKind::Cidr => format!("[ipv4-addr:value ISSUBSET '{v}']"),
        ValueKind::Domain => format!("[domain-name:value = '{v}']"),
        ValueKind::Url => format!("[url:value = '{v}']"),
        ValueKind::Email => format!("[email-addr:value = '{v}']"),
        ValueKind::Md5 => format!("[file:hashes.MD5 = '{v}']"),
        ValueKind::Sha1 => format!("[file:hashes.'SHA-1' = '{v}']"),
        ValueKind::Sha256 => format!("[file:hashes.'SHA-256' = '{v}']"),
        ValueKind::Ssdeep => format!("[file:hashes.SSDEEP = '{v}']"),
        ValueKind::Tlsh => format!("[file:hashes.TLSH = '{v}']"),
        ValueKind::FileName => format!("[file:name = '{v}']"),
        ValueKind::Mutex => format!("[mutex:name = '{v}']"),
        ValueKind::RegistryKey => format!("[windows-registry-key:key = '{v}']"),
        ValueKind::UserAgent => {
            format!(
                "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '{v}']"
            )
        }
        ValueKind::Asn => format!(
            "[autonomous-system:number = {}]",
            value.trim_start_matches("AS")
        ),
        ValueKind::Cve => return None,
    })
}

/// The SCO for an observable value: its type and properties.
fn sco_for(kind: ValueKind, value: &str) -> Option<(&'static str, Map<String, Value>)> {
    let mut m = Map::new();
    let t = match kind {
        ValueKind::Ipv4 => {
            m.insert("value".into(), json!(value));
            "ipv4-addr"
        }
        ValueKind::Cidr if !value.contains(':') => {
            m.insert("value".into(), json!(value));
            "ipv4-addr"
        }
        ValueKind::Ipv6 | ValueKind::Cidr => {
            m.insert("value".into(), json!(value));
            "ipv6-addr"
        }
        ValueKind::Domain => {
            m.insert("value".into(), json!(value));
            "domain-name"
        }
        ValueKind::Url => {
            m.insert("value".into(), json!(value));
            "url"
        }
        ValueKind::Email => {
            m.insert("value".into(), json!(value));
            "email-addr"
        }
        ValueKind::Md5
        | ValueKind::Sha1
        | ValueKind::Sha256
        | ValueKind::Ssdeep
        | ValueKind::Tlsh => {
            let algo = match kind {
                ValueKind::Md5 => "MD5",
                ValueKind::Sha1 => "SHA-1",
                ValueKind::Sha256 => "SHA-256",
                ValueKind::Ssdeep => "SSDEEP",
                _ => "TLSH",
            };
            m.insert("hashes".into(), json!({ algo: value }));
            "file"
        }
        ValueKind::FileName => {
            m.insert("name".into(), json!(value));
            "file"
        }
        ValueKind::Mutex => {
            m.insert("name".into(), json!(value));
            "mutex"
        }
        ValueKind::RegistryKey => {
            m.insert("key".into(), json!(value));
            "windows-registry-key"
        }
        ValueKind::Asn => {
            let n: u64 = value.trim_start_matches("AS").parse().ok()?;
            m.insert("number".into(), json!(n));
            "autonomous-system"
        }
        ValueKind::UserAgent | ValueKind::Cve => return None,
    };
    Some((t, m))
}

/// All objects for a report. `author` is the organisation shown (None for anonymous) with its
/// display name.
pub fn report_objects(
    report: &Report,
    author: Option<(OrgId, String)>,
    indicators: &[Indicator],
    observables: &[Observable],
) -> Vec<StixObject> {
    let created = Timestamp::from_unix_millis(report.created_at);
    let modified = Timestamp::from_unix_millis(report.modified_at.max(report.created_at));
    let marking = mamori_stix::tlp::tlp_marking_id(report.tlp);
    let author_id = identity_id(author.as_ref().map(|a| a.0));
    let mut out = Vec::new();
    let mut refs: Vec<Value> = Vec::new();
    let common = |o: StixObject| -> StixObject {
        let mut o = o;
        o.created = Some(created.clone());
        o.modified = Some(modified.clone());
        o.created_by_ref = author_id.clone();
        o.object_marking_refs = Some(vec![marking.clone()]);
        o
    };
    if let Some(aid) = &author_id {
        let mut ident = StixObject::new(aid.clone());
        ident.created = Some(Timestamp::from_unix_millis(0));
        ident.modified = Some(Timestamp::from_unix_millis(0));
        let name = author
            .as_ref()
            .map_or("Anonymous member organisation".to_owned(), |a| a.1.clone());
        ident = ident
            .with("name", json!(name))
            .with("identity_class", json!("organization"));
        out.push(ident);
    }
    for i in indicators {
        let pattern = match (&i.pattern, i.kind, &i.value) {
            (Some(p), _, _) => p.clone(),
            (None, Some(k), Some(v)) => match pattern_for(k, v) {
                Some(p) => p,
                None => continue,
            },
            _ => continue,
        };
        let Some(iid) = id("indicator", &i.id.to_string()) else {
            continue;
        };
        let mut o = common(StixObject::new(iid.clone()))
            .with("pattern", json!(pattern))
            .with("pattern_type", json!("stix"))
            .with(
                "valid_from",
                json!(Timestamp::from_unix_millis(i.valid_from).as_str()),
            )
            .with("indicator_types", json!(["malicious-activity"]));
        if let Some(u) = i.valid_until {
            o = o.with(
                "valid_until",
                json!(Timestamp::from_unix_millis(u).as_str()),
            );
        }
        if !i.description.is_empty() {
            o = o.with("description", json!(i.description));
        }
        if let Some(name) = &i.value {
            o = o.with("name", json!(name));
        }
        o.confidence = i.confidence.or(report.confidence);
        refs.push(json!(iid.as_str()));
        out.push(o);
    }
    for ob in observables {
        let Some((t, props)) = sco_for(ob.kind, &ob.value) else {
            continue;
        };
        let Some(sid) = id(t, &format!("{}:{}", report.id, ob.id)) else {
            continue;
        };
        let mut o = StixObject::new(sid.clone());
        o.object_marking_refs = Some(vec![marking.clone()]);
        for (k, v) in props {
            o = o.with(&k, v);
        }
        refs.push(json!(sid.as_str()));
        out.push(o);
    }
    for t in report.attack_techniques.iter() {
        if let Some(aid) = id("attack-pattern", t) {
            let ap = common(StixObject::new(aid.clone()))
                .with("name", json!(t))
                .with(
                    "external_references",
                    json!([{"source_name": "mitre-attack", "external_id": t}]),
                );
            refs.push(json!(aid.as_str()));
            out.push(ap);
        }
    }
    if let Some(rid) = id("report", &report.id.to_string()) {
        if refs.is_empty() {
            // A report must refer to something; it refers to its author.
            if let Some(a) = &author_id {
                refs.push(json!(a.as_str()));
            }
        }
        let mut r = common(StixObject::new(rid))
            .with("name", json!(report.title))
            .with("report_types", json!(["threat-report"]))
            .with("published", json!(created.as_str()))
            .with("object_refs", Value::Array(refs));
        if !report.description.is_empty() {
            r = r.with("description", json!(report.description));
        }
        if !report.labels.is_empty() {
            r.labels = Some(report.labels.clone());
        }
        r.confidence = report.confidence;
        if report.revoked {
            r.revoked = Some(true);
        }
        out.push(r);
    }
    out
}

/// The STIX id of a Mamori report.
pub fn report_stix_id(report: mamori_model::ReportId) -> Option<StixId> {
    id("report", &report.to_string())
}

/// A report's notes as STIX `note` objects referring to the report, under its marking. Notes
/// name no author (a note on an anonymous report must not reveal its organisation).
pub fn note_objects(report: &Report, notes: &[mamori_store::notes::Note]) -> Vec<StixObject> {
    let Some(rid) = report_stix_id(report.id) else {
        return Vec::new();
    };
    let marking = mamori_stix::tlp::tlp_marking_id(report.tlp);
    notes
        .iter()
        .filter_map(|n| {
            let nid = StixId::parse(&n.stix_id).ok()?;
            let at = Timestamp::from_unix_millis(n.created_at);
            let mut o = StixObject::new(nid)
                .with("content", json!(n.body))
                .with("object_refs", json!([rid.as_str()]));
            o.created = Some(at.clone());
            o.modified = Some(at);
            o.object_marking_refs = Some(vec![marking.clone()]);
            Some(o)
        })
        .collect()
}

/// The STIX id a new note gets (derived from its Mamori id).
pub fn note_stix_id(note_id: &str) -> Option<StixId> {
    id("note", note_id)
}
