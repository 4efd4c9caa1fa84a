//! MISP interchange on top of the sharing operations: importing a MISP event as a report of the
//! caller's organisation, and the MISP feed (`manifest.json` + one event per report) of what the
//! caller may see. Feeds leave the hub, so they carry CLEAR, GREEN and AMBER only: AMBER+STRICT
//! and RED are never exported (TLP 2.0 forbids passing them on).

use mamori_misp::export::to_event;
use mamori_misp::{EventDocument, ImportLimits, Org as MispOrg, Skipped};
use mamori_model::{ReportId, Tlp};
use mamori_store::PageRequest;
use mamori_store::reports::ReportQuery;
use serde::Serialize;

use crate::ApiError;
use crate::ops::Actor;
use crate::sharing::{self, IndicatorInput, ObservableInput, ReportInput, ReportView, ShareCtx};

/// The outcome of a MISP import.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MispImport {
    pub report: ReportView,
    /// Attributes that did not become values, with the reason.
    #[schema(value_type = Vec<Object>)]
    pub skipped: Vec<Skipped>,
}

/// Whether material at this level may leave the hub in an export.
pub fn exportable(t: Tlp) -> bool {
    t <= Tlp::Amber
}

/// Imports one MISP event. `tlp` applies when the event carries no `tlp:` tag (default AMBER).
pub async fn import_misp_event(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    bytes: &[u8],
    tlp: Option<Tlp>,
    sharing_group: Option<mamori_model::GroupId>,
) -> Result<MispImport, ApiError> {
    let imported = mamori_misp::parse_event(bytes, ImportLimits::default())
        .map_err(|e| ApiError::Invalid(e.to_string()))?;
    let mut skipped = imported.skipped.clone();
    let mut indicators = Vec::new();
    let mut observables = Vec::new();
    let mut keep = |kind, value: &str, comment: &str, indicator: bool| {
        match mamori_share::normalise::normalise(kind, value) {
            Ok(v) if indicator => indicators.push(IndicatorInput {
                kind: Some(kind),
                value: Some(v),
                pattern: None,
                description: comment.to_owned(),
                valid_from: None,
                valid_until: None,
                kill_chain_phases: vec![],
                confidence: None,
            }),
            Ok(v) => observables.push(ObservableInput {
                kind,
                value: v,
                comment: comment.to_owned(),
            }),
            Err(e) => skipped.push(Skipped {
                misp_type: kind.as_str().to_owned(),
                value: value.chars().take(200).collect(),
                reason: e.to_string(),
            }),
        }
    };
    for v in &imported.indicators {
        keep(v.kind, &v.value, &v.comment, true);
    }
    for v in &imported.observables {
        keep(v.kind, &v.value, &v.comment, false);
    }
    for p in &imported.patterns {
        // A pattern that does not parse is reported like any other value left out.
        if let Err(e) = mamori_stix::Pattern::parse(p) {
            skipped.push(Skipped {
                misp_type: "stix2-pattern".into(),
                value: p.chars().take(200).collect(),
                reason: e.to_string(),
            });
            continue;
        }
        indicators.push(IndicatorInput {
            kind: None,
            value: None,
            pattern: Some(p.clone()),
            description: String::new(),
            valid_from: None,
            valid_until: None,
            kill_chain_phases: vec![],
            confidence: None,
        });
    }
    let input = ReportInput {
        title: imported.title.clone(),
        description: imported.description.clone(),
        tlp: imported.tlp.or(tlp).unwrap_or(Tlp::Amber),
        sharing_group,
        recipients: vec![],
        confidence: None,
        labels: imported.labels.clone(),
        attack_techniques: imported.attack_techniques.clone(),
        anonymous: false,
        indicators,
        observables,
    };
    let report = sharing::create_report(cx, actor, &input).await?;
    Ok(MispImport { report, skipped })
}

/// Every report the actor may see and may export, as MISP events.
pub async fn misp_feed(cx: &ShareCtx<'_>, actor: &Actor) -> Result<Vec<EventDocument>, ApiError> {
    let mut docs = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = sharing::list_reports(
            cx,
            actor,
            &ReportQuery::default(),
            &PageRequest::from_cursor(cursor.as_deref(), Some(500))?,
        )
        .await?;
        let done = page.next_cursor.is_none() || page.items.is_empty();
        for r in page.items.into_iter().filter(|r| exportable(r.tlp)) {
            docs.push(misp_event(cx, r).await?);
        }
        if done {
            return Ok(docs);
        }
        cursor = page.next_cursor;
    }
}

/// One report as a MISP event, if the actor may see and export it.
pub async fn misp_feed_event(
    cx: &ShareCtx<'_>,
    actor: &Actor,
    id: ReportId,
) -> Result<EventDocument, ApiError> {
    let view = sharing::get_report(cx, actor, id).await?;
    if !exportable(view.report.tlp) {
        return Err(ApiError::NotFound("event".into()));
    }
    misp_event(cx, view.report).await
}

async fn misp_event(
    cx: &ShareCtx<'_>,
    report: mamori_model::Report,
) -> Result<EventDocument, ApiError> {
    let org = match report.author_org {
        Some(o) => {
            let org = cx.store.get_org(o).await?;
            MispOrg {
                name: org.name_en.clone(),
                uuid: org.id.to_string(),
            }
        }
        None => MispOrg {
            name: "Anonymous member".into(),
            uuid: String::new(),
        },
    };
    let indicators = cx.store.report_indicators(report.id).await?;
    let observables = cx.store.report_observables(report.id).await?;
    Ok(to_event(&report, org, &indicators, &observables))
}
