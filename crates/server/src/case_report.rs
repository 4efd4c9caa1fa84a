//! The after-action report of a case: summary, participants, SLA, timeline, observables, tasks,
//! coordination requests, evidence and lessons learned, as one self-contained HTML page in
//! Japanese or English (labels from the console catalogue), and as PDF through [`crate::pdf`].
//! It is built from what the reader may see: requests between other organisations stay out.

use askama::Template;
use mamori_model::Lang;
use mamori_store::case_observables::CaseObservable;
use mamori_store::case_requests::CaseRequest;
use mamori_store::cases::{Case, Task, TimelineEntry};
use mamori_store::evidence::Evidence;
use serde_json::json;

use crate::ApiError;
use crate::cases::{CaseCtx, load};
use crate::console::fmt_time;
use crate::console::i18n::Tr;
use crate::ops::{Actor, audit};
use crate::sla::Sla;

/// Everything the report shows.
pub struct ReportData {
    pub case: Case,
    pub owner: String,
    pub participants: Vec<(String, String)>,
    pub sla: Sla,
    pub tasks: Vec<Task>,
    pub timeline: Vec<TimelineEntry>,
    pub observables: Vec<CaseObservable>,
    /// Requests with the names of sender and recipient.
    pub requests: Vec<(CaseRequest, String, String)>,
    pub evidence: Vec<Evidence>,
    pub generated_at: i64,
}

/// Gathers the report for the actor (participants and hub administrators only) in `lang` (for
/// organisation names) and audits that it was produced.
pub async fn collect(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    id: &str,
    lang: Lang,
) -> Result<ReportData, ApiError> {
    let case = load(cx.store, actor, id).await?;
    let name = |org: mamori_model::OrgId| async move {
        cx.store
            .get_org(org)
            .await
            .map(|o| o.name(lang).to_owned())
            .unwrap_or_else(|_| org.to_string())
    };
    let mut participants = Vec::new();
    for p in &case.participants {
        participants.push((name(p.org).await, p.role.clone()));
    }
    let scope = actor
        .principal
        .as_ref()
        .and_then(mamori_access::request_scope);
    let mut requests = Vec::new();
    for r in cx.store.list_requests(id, scope).await? {
        let (from, to) = (name(r.from_org).await, name(r.to_org).await);
        requests.push((r, from, to));
    }
    let now = mamori_store::now_millis();
    let data = ReportData {
        owner: name(case.owner_org).await,
        participants,
        sla: crate::sla::compute(&case, cx.config, now),
        tasks: cx.store.case_tasks(id).await?,
        timeline: cx.store.case_timeline(id).await?,
        observables: cx.store.case_observables(id).await?,
        requests,
        evidence: cx.store.list_evidence(id).await?,
        generated_at: now,
        case,
    };
    audit(
        cx.store,
        actor,
        "case.report",
        "case",
        id,
        Some(data.case.tlp),
        json!({"lang": lang}),
    )
    .await?;
    Ok(data)
}

#[derive(Template)]
#[template(path = "case_report.html")]
struct ReportPage<'a> {
    t: Tr,
    d: &'a ReportData,
    tlp_class: &'static str,
}

impl ReportPage<'_> {
    fn time(&self, ms: &i64) -> String {
        fmt_time(*ms)
    }
    fn opt_time(&self, ms: &Option<i64>) -> String {
        ms.map(fmt_time).unwrap_or_else(|| "—".to_owned())
    }
    fn duration(&self, from: &i64, to: &Option<i64>) -> String {
        match to {
            Some(t) => {
                let mins = (t - from).max(0) / 60_000;
                format!("{}h {:02}m", mins / 60, mins % 60)
            }
            None => "—".to_owned(),
        }
    }
}

/// The report as a self-contained HTML page (inline styles, no scripts, no external resources).
pub fn html(d: &ReportData, lang: Lang) -> Result<String, ApiError> {
    ReportPage {
        t: Tr { lang },
        d,
        tlp_class: crate::console::sharing::tlp_class(d.case.tlp),
    }
    .render()
    .map_err(|e| ApiError::Internal(format!("report template: {e}")))
}
