//! Report pages: list and full-text search, share a report, view one with its scored
//! indicators, warning-list hits and related reports, revoke; and the value search.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_model::{OrgId, Report, ReportId, Tlp, ValueKind};
use mamori_store::PageRequest;
use mamori_store::reports::ReportQuery;
use serde::Deserialize;

use super::{Console, CsrfOnly, Flash, Frame, back, fmt_time, render, urlencode};
use crate::ops::Actor;
use crate::sharing::{
    self, IndicatorInput, ObservableInput, ReportInput, ReportView, SearchResult,
};
use crate::{ApiError, AppState};

/// CSS class suffix for a TLP badge.
pub fn tlp_class(t: Tlp) -> &'static str {
    match t {
        Tlp::Clear => "CLEAR",
        Tlp::Green => "GREEN",
        Tlp::Amber => "AMBER",
        Tlp::AmberStrict => "AMBER-STRICT",
        Tlp::Red => "RED",
    }
}

pub struct ReportRow {
    pub report: Report,
    pub tlp_class: &'static str,
    pub modified: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    f: Frame,
    rows: Vec<ReportRow>,
    q: String,
    next: Option<String>,
    can_share: bool,
    groups: Vec<(String, String)>,
    tlps: Vec<&'static str>,
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    cursor: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

pub async fn reports_page(
    State(state): State<AppState>,
    c: Console,
    Query(p): Query<ListParams>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actor = Actor::from_auth(auth);
    let result: Result<ReportsPage, ApiError> = async {
        let page = PageRequest::from_cursor(p.cursor.as_deref(), Some(50))?;
        let query = ReportQuery {
            text: p.q.clone(),
            ..Default::default()
        };
        let page = sharing::list_reports(&state.share(), &actor, &query, &page).await?;
        let groups = groups_of(&state, auth.user.org_id).await?;
        let flash = Flash {
            ok: p.ok.clone(),
            err: p.err.clone(),
        };
        Ok(ReportsPage {
            f: c.frame("reports", flash),
            rows: page
                .items
                .into_iter()
                .rev()
                .map(|r| ReportRow {
                    tlp_class: tlp_class(r.tlp),
                    modified: fmt_time(r.modified_at),
                    report: r,
                })
                .collect(),
            q: p.q.clone().unwrap_or_default(),
            next: page.next_cursor,
            can_share: mamori_access::may_write(&auth.principal),
            groups,
            tlps: Tlp::ALL.iter().map(|t| t.as_str()).collect(),
        })
    }
    .await;
    match result {
        Ok(page) => render(page),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    sharing_group: String,
    #[serde(default)]
    anonymous: Option<String>,
    #[serde(default)]
    confidence: String,
    #[serde(default)]
    labels: String,
    #[serde(default)]
    attack_techniques: String,
    #[serde(default)]
    indicators: String,
    #[serde(default)]
    observables: String,
}

/// `kind value` or a bare value (kind guessed), one per line.
pub(super) fn parse_values(text: &str, what: &str) -> Result<Vec<(ValueKind, String)>, ApiError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (kind, value) = match line.split_once(char::is_whitespace) {
            Some((k, v)) if k.parse::<ValueKind>().is_ok() => {
                (k.parse::<ValueKind>().ok(), v.trim())
            }
            _ => (None, line),
        };
        let kind = kind
            .or_else(|| mamori_share::normalise::guess_kind(value))
            .ok_or_else(|| {
                ApiError::Invalid(format!(
                    "{what}, line {}: cannot tell the kind of {value:?}; write `kind value`",
                    n + 1
                ))
            })?;
        out.push((kind, value.to_owned()));
    }
    Ok(out)
}

fn report_from_form(f: &ReportForm) -> Result<ReportInput, ApiError> {
    let tlp: Tlp = f
        .tlp
        .parse()
        .map_err(|e: mamori_model::ParseEnumError| ApiError::Invalid(e.to_string()))?;
    let confidence = match f.confidence.trim() {
        "" => None,
        c => Some(
            c.parse::<u8>()
                .ok()
                .filter(|c| *c <= 100)
                .ok_or_else(|| ApiError::Invalid("confidence is 0-100".into()))?,
        ),
    };
    Ok(ReportInput {
        title: f.title.clone(),
        description: f.description.clone(),
        tlp,
        sharing_group: match f.sharing_group.trim() {
            "" => None,
            g => Some(
                g.parse()
                    .map_err(|_| ApiError::Invalid("unknown sharing group".into()))?,
            ),
        },
        recipients: Vec::<OrgId>::new(),
        confidence,
        labels: f.labels.split_whitespace().map(str::to_owned).collect(),
        attack_techniques: f
            .attack_techniques
            .split([' ', ','])
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        anonymous: f.anonymous.is_some(),
        indicators: parse_values(&f.indicators, "indicators")?
            .into_iter()
            .map(|(kind, value)| IndicatorInput {
                kind: Some(kind),
                value: Some(value),
                pattern: None,
                description: String::new(),
                valid_from: None,
                valid_until: None,
                kill_chain_phases: vec![],
                confidence: None,
            })
            .collect(),
        observables: parse_values(&f.observables, "observables")?
            .into_iter()
            .map(|(kind, value)| ObservableInput {
                kind,
                value,
                comment: String::new(),
            })
            .collect(),
    })
}

pub async fn create_report(
    State(state): State<AppState>,
    c: Console,
    Form(form): Form<ReportForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let input = match report_from_form(&form) {
        Ok(i) => i,
        Err(e) => return back("/reports", Err(e)),
    };
    match sharing::create_report(&state.share(), &Actor::from_auth(auth), &input).await {
        Ok(v) => Redirect::to(&format!(
            "/reports/{}?ok={}",
            v.report.id,
            urlencode("report.created")
        ))
        .into_response(),
        Err(e) => back("/reports", Err(e)),
    }
}

pub struct IndicatorRow {
    pub kind: String,
    pub value: String,
    pub score: u8,
    pub bar: u32,
    pub warnings: String,
    pub sightings: i64,
    /// For a pattern: how the monitoring stream matches it.
    pub stream: String,
}

/// A window as `90 s`, `5 min`, `24 h` or `7 d`.
fn window_text(secs: i64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// How the stream matches a pattern indicator, in the reader's language.
fn stream_text(s: &crate::sharing::PatternStream, t: &super::i18n::Tr) -> String {
    let mut parts: Vec<String> = Vec::new();
    if s.per_event {
        parts.push(t.get("report.stream_per_event").to_owned());
    }
    if s.cross_event {
        let w = s.window_secs.map(window_text).unwrap_or_default();
        let within = t.get("report.stream_within");
        parts.push(if t.lang == mamori_model::Lang::Ja {
            format!("{}（{w}{within}）", t.get("report.stream_cross"))
        } else {
            format!("{} ({within} {w})", t.get("report.stream_cross"))
        });
    }
    match s.problem {
        Some("invalid") => parts.push(t.get("report.stream_invalid").to_owned()),
        Some("unmapped_types") => parts.push(t.get("report.stream_unmapped").to_owned()),
        Some(_) => parts.push(t.get("report.stream_partly").to_owned()),
        None => {}
    }
    parts.join(" · ")
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    f: Frame,
    tlps: Vec<&'static str>,
    v: ReportView,
    tlp_class: &'static str,
    author: String,
    indicators: Vec<IndicatorRow>,
    modified: String,
    notes: Vec<NoteRow>,
    attachments: Vec<mamori_store::notes::Attachment>,
}

struct NoteRow {
    body: String,
    at: String,
}

impl ReportPage {
    fn tlp(&self, t: &Tlp) -> &'static str {
        tlp_class(*t)
    }
}

pub async fn report_page(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<ReportId>() else {
        return ApiError::NotFound("report".into()).into_response();
    };
    let actor = Actor::from_auth(auth);
    let v = match sharing::get_report(&state.share(), &actor, id).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let t = c.t;
    let author = match v.report.author_org {
        Some(o) => state
            .store
            .get_org(o)
            .await
            .map(|o| o.name(t.lang).to_owned())
            .unwrap_or_else(|_| o.to_string()),
        None => t.get("report.anonymous_author").to_owned(),
    };
    let indicators = v
        .indicators
        .iter()
        .map(|i| IndicatorRow {
            kind: i
                .indicator
                .kind
                .map_or_else(|| "pattern".to_owned(), |k| k.as_str().to_owned()),
            value: i
                .indicator
                .value
                .clone()
                .or_else(|| i.indicator.pattern.clone())
                .unwrap_or_default(),
            score: i.score,
            bar: u32::from(i.score) * 8 / 10,
            warnings: i
                .warnings
                .iter()
                .map(|w| w.list.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            sightings: i.sightings.count,
            stream: i
                .stream
                .as_ref()
                .map(|s| stream_text(s, &c.t))
                .unwrap_or_default(),
        })
        .collect();
    render(ReportPage {
        f: c.frame("reports", flash),
        tlps: Tlp::ALL.iter().map(|t| t.as_str()).collect(),
        tlp_class: tlp_class(v.report.tlp),
        author,
        indicators,
        modified: fmt_time(v.report.modified_at),
        notes: crate::report_extras::list_notes(&state.share(), &actor, id)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|n| NoteRow {
                body: n.body,
                at: fmt_time(n.created_at),
            })
            .collect(),
        attachments: crate::report_extras::list_attachments(&state.share(), &actor, id)
            .await
            .unwrap_or_default(),
        v,
    })
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

/// Adds a note from the report page.
pub async fn add_note(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(rid) = id.parse::<ReportId>() else {
        return ApiError::NotFound("report".into()).into_response();
    };
    let result =
        crate::report_extras::add_note(&state.share(), &Actor::from_auth(auth), rid, &form.body)
            .await
            .map(|_| "report.note_added");
    back(&format!("/reports/{rid}"), result)
}

#[derive(Debug, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tlp: String,
    #[serde(default)]
    labels: String,
}

pub async fn edit_report(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<EditForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(rid) = id.parse::<ReportId>() else {
        return ApiError::NotFound("report".into()).into_response();
    };
    let tlp = match form.tlp.parse::<Tlp>() {
        Ok(t) => t,
        Err(e) => {
            return back(
                &format!("/reports/{rid}"),
                Err(ApiError::Invalid(e.to_string())),
            );
        }
    };
    let patch = crate::sharing::ReportPatchInput {
        title: Some(form.title.clone()),
        description: Some(form.description.clone()),
        tlp: Some(tlp),
        labels: Some(form.labels.split_whitespace().map(str::to_owned).collect()),
        ..Default::default()
    };
    let result = sharing::update_report(&state.share(), &Actor::from_auth(auth), rid, &patch)
        .await
        .map(|_| "report.updated");
    back(&format!("/reports/{rid}"), result)
}

pub async fn revoke_report(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Ok(rid) = id.parse::<ReportId>() else {
        return ApiError::NotFound("report".into()).into_response();
    };
    let result = sharing::revoke_report(&state.share(), &Actor::from_auth(auth), rid)
        .await
        .map(|_| "report.revoked_ok");
    back(&format!("/reports/{rid}"), result)
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    f: Frame,
    value: String,
    result: Option<SearchResult>,
}

impl SearchPage {
    fn tlp(&self, t: &Tlp) -> &'static str {
        tlp_class(*t)
    }
}

#[derive(Debug, Deserialize)]
pub struct SearchParams {
    value: Option<String>,
}

pub async fn search_page(
    State(state): State<AppState>,
    c: Console,
    Query(p): Query<SearchParams>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let value = p.value.unwrap_or_default();
    let (result, err) = if value.trim().is_empty() {
        (None, None)
    } else {
        match sharing::search_value(&state.share(), &Actor::from_auth(auth), &value, None).await {
            Ok(r) => (Some(r), None),
            Err(ApiError::Invalid(m)) => (None, Some(m)),
            Err(e) => return e.into_response(),
        }
    };
    render(SearchPage {
        f: c.frame("search", Flash { ok: None, err }),
        value,
        result,
    })
}

/// (id, name) of the sharing groups an organisation belongs to: the choices a form offers.
pub(super) async fn groups_of(
    state: &AppState,
    org: mamori_model::OrgId,
) -> Result<Vec<(String, String)>, ApiError> {
    Ok(state
        .store
        .list_groups()
        .await?
        .into_iter()
        .filter(|g| g.members.contains(&org))
        .map(|g| (g.id.to_string(), g.name))
        .collect())
}
