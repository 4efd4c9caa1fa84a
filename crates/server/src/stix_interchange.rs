//! STIX 2.1 bundles in and out of the sharing model. Export: a report as a bundle (the objects
//! TAXII serves for it, plus its TLP marking definition). Import: every `report` object of a
//! bundle becomes a Mamori report of the caller's organisation, its indicators becoming typed
//! values when the pattern is one `path = value` test and pattern indicators otherwise, its SCOs
//! observables; indicators no report refers to are gathered in one more report. The bundle's
//! objects are also kept verbatim in the organisation's TAXII collection, so nothing is lost.

use std::collections::BTreeSet;

use mamori_model::{ReportId, Tlp, ValueKind};
use mamori_stix::{Bundle, Limits, Pattern, StixObject};
use serde::Serialize;

use crate::ApiError;
use crate::ops::Actor;
use crate::sharing::{self, IndicatorInput, ObservableInput, ReportInput, ShareCtx};

/// The Mamori value kind of a STIX object path, for `path = value` indicators.
pub fn kind_of_path(path: &str) -> Option<ValueKind> {
    let p = path.replace('\'', "");
    Some(match p.as_str() {
        "ipv4-addr:value" => ValueKind::Ipv4,
        "ipv6-addr:value" => ValueKind::Ipv6,
        "domain-name:value" => ValueKind::Domain,
        "url:value" => ValueKind::Url,
        "email-addr:value" => ValueKind::Email,
        "file:hashes.MD5" => ValueKind::Md5,
        "file:hashes.SHA-1" => ValueKind::Sha1,
        "file:hashes.SHA-256" => ValueKind::Sha256,
        "file:hashes.SSDEEP" => ValueKind::Ssdeep,
        "file:hashes.TLSH" => ValueKind::Tlsh,
        "file:name" => ValueKind::FileName,
        "mutex:name" => ValueKind::Mutex,
        "windows-registry-key:key" => ValueKind::RegistryKey,
        "autonomous-system:number" => ValueKind::Asn,
        _ => return None,
    })
}

/// The value of a simple SCO as a Mamori observable.
fn observable_of(o: &StixObject) -> Option<(ValueKind, String)> {
    let s = |k: &str| o.str_prop(k).map(str::to_owned);
    match o.object_type.as_str() {
        "ipv4-addr" => s("value").map(|v| {
            (
                if v.contains('/') {
                    ValueKind::Cidr
                } else {
                    ValueKind::Ipv4
                },
                v,
            )
        }),
        "ipv6-addr" => s("value").map(|v| {
            (
                if v.contains('/') {
                    ValueKind::Cidr
                } else {
                    ValueKind::Ipv6
                },
                v,
            )
        }),
        "domain-name" => s("value").map(|v| (ValueKind::Domain, v)),
        "url" => s("value").map(|v| (ValueKind::Url, v)),
        "email-addr" => s("value").map(|v| (ValueKind::Email, v)),
        "mutex" => s("name").map(|v| (ValueKind::Mutex, v)),
        "windows-registry-key" => s("key").map(|v| (ValueKind::RegistryKey, v)),
        "autonomous-system" => o
            .get("number")
            .and_then(|n| n.as_u64())
            .map(|n| (ValueKind::Asn, format!("AS{n}"))),
        "file" => {
            let hashes = o.get("hashes")?;
            for (algo, kind) in [
                ("SHA-256", ValueKind::Sha256),
                ("SHA-1", ValueKind::Sha1),
                ("MD5", ValueKind::Md5),
            ] {
                if let Some(h) = hashes.get(algo).and_then(|h| h.as_str()) {
                    return Some((kind, h.to_owned()));
                }
            }
            s("name").map(|v| (ValueKind::FileName, v))
        }
        _ => None,
    }
}

fn indicator_input(o: &StixObject) -> Option<IndicatorInput> {
    let pattern = o.str_prop("pattern")?;
    let (kind, value, pattern) = match Pattern::parse(pattern) {
        Ok(p) => {
            let eqs = p.simple_equalities();
            match eqs.as_slice() {
                [(path, value)] if p.is_simple_disjunction() => match kind_of_path(path) {
                    Some(k) => (Some(k), Some(value.clone()), None),
                    None => (None, None, Some(pattern.to_owned())),
                },
                _ => (None, None, Some(pattern.to_owned())),
            }
        }
        Err(_) => return None,
    };
    Some(IndicatorInput {
        kind,
        value,
        pattern,
        description: o
            .str_prop("description")
            .or(o.str_prop("name"))
            .unwrap_or("")
            .to_owned(),
        valid_from: o.timestamp_prop("valid_from").map(|t| t.unix_millis()),
        valid_until: o.timestamp_prop("valid_until").map(|t| t.unix_millis()),
        kill_chain_phases: o.view_kill_chain(),
        confidence: o.confidence,
    })
}

trait KillChain {
    fn view_kill_chain(&self) -> Vec<String>;
}

impl KillChain for StixObject {
    fn view_kill_chain(&self) -> Vec<String> {
        self.get("kill_chain_phases")
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|k| {
                let chain = k.get("kill_chain_name")?.as_str()?;
                let phase = k.get("phase_name")?.as_str()?;
                Some(format!("{chain}:{phase}"))
            })
            .collect()
    }
}

/// The outcome of a bundle import.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StixImport {
    #[schema(value_type = Vec<String>)]
    pub reports: Vec<ReportId>,
    /// Objects kept verbatim in the organisation's TAXII collection.
    pub objects_kept: usize,
    pub warnings: Vec<String>,
}

/// Imports a bundle; `tlp` applies to objects without a TLP marking (default AMBER).
pub async fn import_bundle(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    bytes: &[u8],
    tlp: Option<Tlp>,
) -> Result<StixImport, ApiError> {
    let bundle =
        Bundle::parse(bytes, Limits::default()).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let Some(principal) = actor.principal.clone() else {
        return Err(ApiError::Invalid(
            "bundles are imported by a user of a member organisation".into(),
        ));
    };
    let default_tlp = tlp.unwrap_or(Tlp::Amber);
    let tlp_of = |o: &StixObject| mamori_stix::tlp::tlp_of(o).unwrap_or(default_tlp);
    let mut warnings: Vec<String> = bundle.warnings().iter().map(|w| format!("{w:?}")).collect();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut reports = Vec::new();
    let mut inputs = Vec::new();
    let mut stix_reports: Vec<String> = Vec::new();
    for r in bundle.of_type("report") {
        stix_reports.push(r.id.as_str().to_owned());
        let refs = r.refs_prop("object_refs");
        let mut indicators = Vec::new();
        let mut observables = Vec::new();
        for id in &refs {
            used.insert(id.as_str().to_owned());
            let Some(o) = bundle.get(id) else { continue };
            if o.object_type == "indicator" {
                match indicator_input(o) {
                    Some(i) => indicators.push(i),
                    None => warnings.push(format!("{}: pattern not usable", o.id.as_str())),
                }
            } else if let Some((kind, value)) = observable_of(o) {
                observables.push(ObservableInput {
                    kind,
                    value,
                    comment: String::new(),
                });
            }
        }
        inputs.push(ReportInput {
            title: r
                .str_prop("name")
                .unwrap_or("STIX report")
                .chars()
                .take(500)
                .collect(),
            description: r.str_prop("description").unwrap_or("").to_owned(),
            tlp: tlp_of(r),
            sharing_group: None,
            recipients: vec![],
            confidence: r.confidence,
            labels: r.labels.clone().unwrap_or_default(),
            attack_techniques: vec![],
            anonymous: false,
            indicators,
            observables,
        });
    }
    let loose: Vec<&StixObject> = bundle
        .of_type("indicator")
        .filter(|o| !used.contains(o.id.as_str()))
        .collect();
    if !loose.is_empty() {
        let tlp = loose.iter().map(|o| tlp_of(o)).max().unwrap_or(default_tlp);
        inputs.push(ReportInput {
            title: format!("STIX import {}", bundle.id.as_str()),
            description: String::new(),
            tlp,
            sharing_group: None,
            recipients: vec![],
            confidence: None,
            labels: vec!["stix-import".into()],
            attack_techniques: vec![],
            anonymous: false,
            indicators: loose.iter().filter_map(|o| indicator_input(o)).collect(),
            observables: vec![],
        });
    }
    // Values that do not normalise are reported, not fatal: drop them before creating.
    for input in &mut inputs {
        input.indicators.retain(|i| match (i.kind, &i.value) {
            (Some(k), Some(v)) => match mamori_share::normalise::normalise(k, v) {
                Ok(_) => true,
                Err(e) => {
                    warnings.push(e.to_string());
                    false
                }
            },
            _ => true,
        });
        input.observables.retain(
            |o| match mamori_share::normalise::normalise(o.kind, &o.value) {
                Ok(_) => true,
                Err(e) => {
                    warnings.push(e.to_string());
                    false
                }
            },
        );
    }
    for input in &inputs {
        reports.push(sharing::create_report(cx, actor, input).await?.report.id);
    }
    // STIX notes on an imported report become its notes (kept with their STIX id).
    for n in bundle.of_type("note") {
        let Some(content) = n.str_prop("content").or(n.str_prop("abstract")) else {
            continue;
        };
        let targets: Vec<ReportId> = n
            .refs_prop("object_refs")
            .iter()
            .filter_map(|r| stix_reports.iter().position(|s| s == r.as_str()))
            .filter_map(|i| reports.get(i).copied())
            .collect();
        for rid in targets {
            let body: String = content
                .chars()
                .take(crate::report_extras::MAX_NOTE_CHARS)
                .collect();
            cx.store
                .add_note(
                    rid,
                    principal.org_id,
                    Some(&principal.user_id.to_string()),
                    &body,
                    n.id.as_str(),
                )
                .await?;
            crate::taxii::sync::sync_report(cx, rid).await?;
        }
    }
    // Keep every object verbatim in the organisation's collection (lossless).
    let marking = |o: &StixObject| mamori_model::Marking {
        tlp: tlp_of(o),
        owner_org: principal.org_id,
        sharing_group: None,
        recipients: vec![],
    };
    let now = mamori_stix::timestamp::Timestamp::from_unix_millis(mamori_store::now_millis());
    let rows: Vec<_> = bundle
        .objects()
        .iter()
        .map(|o| crate::taxii::sync::row(o, &marking(o), now.as_str()))
        .collect();
    let kept = cx
        .store
        .insert_posted_objects(&format!("org:{}", principal.org_id), &rows)
        .await?;
    crate::ops::audit(
        cx.store,
        actor,
        "stix.import",
        "bundle",
        bundle.id.as_str(),
        rows.iter().map(|r| r.tlp).max(),
        serde_json::json!({"objects": rows.len(), "reports": reports.len()}),
    )
    .await?;
    Ok(StixImport {
        reports,
        objects_kept: kept,
        warnings,
    })
}

/// A report as a STIX bundle (CLEAR, GREEN and AMBER only: AMBER+STRICT and RED do not leave the
/// hub).
pub async fn export_report(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
) -> Result<Bundle, ApiError> {
    let view = sharing::get_report(cx, actor, id).await?;
    if !crate::interchange::exportable(view.report.tlp) {
        return Err(ApiError::Forbidden(format!(
            "TLP:{} material is not exported; read it in the hub",
            view.report.tlp.as_str()
        )));
    }
    let author = match view.report.author_org {
        Some(o) => Some((o, cx.store.get_org(o).await?.name_en)),
        None => None,
    };
    let stored = cx.store.get_report(id).await?;
    let mut report = view.report.clone();
    report.author_org = author.as_ref().map(|a| a.0);
    let indicators = cx.store.report_indicators(id).await?;
    let observables = cx.store.report_observables(id).await?;
    let mut objects = crate::taxii::export::report_objects(
        &report,
        if stored.report.anonymous {
            None
        } else {
            author
        },
        &indicators,
        &observables,
    );
    let notes = cx.store.report_notes(id).await?;
    objects.extend(crate::taxii::export::note_objects(&report, &notes));
    objects.push(mamori_stix::tlp_marking_object(report.tlp));
    Ok(Bundle::new(objects))
}
