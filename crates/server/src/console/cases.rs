//! Case pages: the cases the organisation takes part in, opening one from a playbook, and a case
//! with its participants, SLA warnings, tasks, observables, coordination requests, evidence,
//! timeline, lessons and after-action report links.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_model::Tlp;
use mamori_store::cases::Case;
use serde::Deserialize;

use super::sharing::tlp_class;
use super::{Console, Flash, Frame, back, fmt_time, render, urlencode};
use crate::cases::{self, CaseInput, CaseView};
use crate::ops::Actor;
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage {
    f: Frame,
    cases: Vec<Case>,
    can_write: bool,
    severities: Vec<&'static str>,
    tlps: Vec<&'static str>,
    playbooks: Vec<String>,
    is_admin: bool,
    /// Members may report incidents even when they may not work cases.
    can_report: bool,
}

impl CasesPage {
    fn tlp(&self, t: &Tlp) -> &'static str {
        tlp_class(*t)
    }
}

pub async fn list(
    State(state): State<AppState>,
    c: Console,
    Query(flash): Query<Flash>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let cases = match cases::list(&state.cases(), &Actor::from_auth(auth)).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let playbooks = match crate::playbooks::list(&state.store).await {
        Ok(p) => p.into_iter().map(|p| p.name).collect(),
        Err(e) => return e.into_response(),
    };
    render(CasesPage {
        f: c.frame("cases", flash),
        cases,
        can_write: mamori_access::may_write(&auth.principal),
        severities: cases::SEVERITIES.to_vec(),
        tlps: Tlp::ALL.iter().map(|t| t.as_str()).collect(),
        playbooks,
        is_admin: mamori_access::may_administer(&auth.principal),
        can_report: auth.principal.role != mamori_model::Role::Auditor
            && auth.principal.has_scope(mamori_model::Scope::Write),
    })
}

#[derive(Debug, Deserialize)]
pub struct CaseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    playbook: String,
}

pub async fn create(
    State(state): State<AppState>,
    c: Console,
    Form(form): Form<CaseForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let tlp = match form.tlp.parse::<Tlp>() {
        Ok(t) => t,
        Err(e) => return back("/cases", Err(ApiError::Invalid(e.to_string()))),
    };
    let input = CaseInput {
        title: form.title.clone(),
        description: String::new(),
        severity: form.severity.clone(),
        tlp,
        playbook: Some(form.playbook.clone()).filter(|p| !p.is_empty()),
    };
    match cases::create(&state.cases(), &Actor::from_auth(auth), &input).await {
        Ok(v) => Redirect::to(&format!(
            "/cases/{}?ok={}",
            v.case.id,
            urlencode("case.created")
        ))
        .into_response(),
        Err(e) => back("/cases", Err(e)),
    }
}

struct TaskRow {
    id: String,
    title: String,
    status: String,
    due: String,
    assignee: String,
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    f: Frame,
    v: CaseView,
    tlp_class: &'static str,
    participants: Vec<String>,
    tasks: Vec<TaskRow>,
    timeline: Vec<(String, String, String)>,
    /// Sources present on the timeline, for the filter.
    sources: Vec<String>,
    tl_source: String,
    tl_q: String,
    tl_desc: bool,
    /// The CSV export of the filtered timeline.
    export: String,
    can_write: bool,
    is_owner: bool,
    statuses: Vec<&'static str>,
    sla_ack_due: String,
    sla_contain_due: String,
    observables: Vec<mamori_store::case_observables::CaseObservable>,
    /// id, title, kind, from → to, status, due
    requests: Vec<(String, String, String, String, String, String)>,
    /// Organisations a request may go to: slug, name.
    other_orgs: Vec<(String, String)>,
    request_kinds: Vec<&'static str>,
    /// Evidence with its custody lines.
    evidence: Vec<(mamori_store::evidence::Evidence, Vec<String>)>,
}

pub async fn view(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
    Query(tq): Query<crate::case_timeline::TimelineQuery>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let v = match cases::get(&state.cases(), &Actor::from_auth(auth), &id).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let mut participants = Vec::new();
    let mut names = std::collections::HashMap::new();
    let mut other_orgs = Vec::new();
    for p in &v.case.participants {
        let (name, slug) = state
            .store
            .get_org(p.org)
            .await
            .map(|o| (o.name(c.t.lang).to_owned(), o.slug))
            .unwrap_or_else(|_| (p.org.to_string(), p.org.to_string()));
        participants.push(format!("{name} ({})", p.role));
        if p.org != auth.principal.org_id {
            other_orgs.push((slug, name.clone()));
        }
        names.insert(p.org, name);
    }
    let name_of = |o: &mamori_model::OrgId| names.get(o).cloned().unwrap_or_else(|| o.to_string());
    let requests = v
        .requests
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                r.title.clone(),
                r.kind.clone(),
                format!("{} → {}", name_of(&r.from_org), name_of(&r.to_org)),
                r.status.clone(),
                r.due_at.map(fmt_time).unwrap_or_default(),
            )
        })
        .collect();
    let mut evidence = Vec::new();
    for e in &v.evidence {
        let custody = state
            .store
            .custody(&e.id)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|cu| {
                format!(
                    "{} {} {} ({})",
                    fmt_time(cu.at),
                    cu.action,
                    cu.actor,
                    cu.source
                )
            })
            .collect();
        evidence.push((e.clone(), custody));
    }
    let observables = state
        .store
        .case_observables(&v.case.id)
        .await
        .unwrap_or_default();
    let tasks = v
        .tasks
        .iter()
        .map(|t| TaskRow {
            id: t.id.clone(),
            title: t.title.clone(),
            status: t.status.clone(),
            due: t.due_at.map(fmt_time).unwrap_or_default(),
            assignee: t.assignee.clone().unwrap_or_default(),
        })
        .collect();
    let mut sources: Vec<String> = v.timeline.iter().map(|e| e.source.clone()).collect();
    sources.sort();
    sources.dedup();
    let timeline = crate::case_timeline::filter(v.timeline.clone(), &tq)
        .unwrap_or_else(|_| v.timeline.clone())
        .iter()
        .map(|e| (fmt_time(e.at), e.source.clone(), e.text.clone()))
        .collect();
    let export = format!(
        "/api/v1/cases/{}/timeline?format=csv&source={}&q={}&order={}",
        v.case.id,
        urlencode(tq.source.as_deref().unwrap_or("")),
        urlencode(tq.q.as_deref().unwrap_or("")),
        urlencode(tq.order.as_deref().unwrap_or("")),
    );
    let is_owner = auth.principal.role == mamori_model::Role::Admin
        || auth.principal.org_id == v.case.owner_org;
    render(CasePage {
        f: c.frame("cases", flash),
        tlp_class: tlp_class(v.case.tlp),
        participants,
        tasks,
        timeline,
        can_write: mamori_access::may_write(&auth.principal),
        is_owner,
        statuses: cases::STATUSES.to_vec(),
        sources,
        tl_source: tq.source.clone().unwrap_or_default(),
        tl_q: tq.q.clone().unwrap_or_default(),
        tl_desc: tq.order.as_deref() == Some("desc"),
        export,
        sla_ack_due: fmt_time(v.sla.acknowledge_due_at),
        sla_contain_due: fmt_time(v.sla.contain_due_at),
        observables,
        requests,
        other_orgs,
        request_kinds: crate::case_requests::KINDS.to_vec(),
        evidence,
        v,
    })
}

#[derive(Debug, Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
}

pub async fn add_entry(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<EntryForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = cases::add_timeline(
        &state.cases(),
        &Actor::from_auth(auth),
        &id,
        None,
        &form.text,
        "manual",
    )
    .await
    .map(|_| "case.updated");
    back(&format!("/cases/{id}"), r)
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    resolution: String,
    version: Option<i64>,
}

pub async fn set_status(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let resolution = Some(form.resolution.as_str()).filter(|r| !r.trim().is_empty());
    let r = cases::set_status(
        &state.cases(),
        &Actor::from_auth(auth),
        &id,
        &form.status,
        resolution,
        form.version,
    )
    .await
    .map(|_| "case.updated");
    back(&format!("/cases/{id}"), r)
}
