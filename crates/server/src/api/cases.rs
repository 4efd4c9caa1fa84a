//! `/api/v1/cases`: incident-response cases, visible to the organisations taking part: tasks,
//! timeline, lessons, observables and the after-action report (HTML and PDF). Evidence and
//! coordination requests have their own modules.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mamori_model::{Lang, OrgId, Tlp};
use mamori_store::case_observables::CaseObservable;
use mamori_store::cases::{Case, TimelineEntry};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::auth::Auth;
use crate::case_intake::IncidentReport;
use crate::case_observables::{self, ObservableInput};
use crate::case_report;
use crate::cases::{self, CaseInput, CaseView};
use crate::error::{ApiJson, ApiPath, ApiQuery, Problem};
use crate::ops::Actor;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// new, triage, containment, eradication, recovery, closed
    pub status: String,
    /// Required when closing.
    pub resolution: Option<String>,
    /// The case version you saw; a case changed since answers 409.
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    /// Organisation id or slug.
    pub org: String,
    /// victim, coordinator, rescue-team, external-csirt, expert
    pub role: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineInput {
    pub text: String,
    /// When it happened (ms since the epoch); defaults to now.
    pub at: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    /// open, in-progress, done, skipped
    pub status: Option<String>,
    /// Username to assign the task to (a user of a participating organisation); "" clears it.
    pub assignee: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonsInput {
    pub lessons: String,
    /// The case version you saw; a case changed since answers 409.
    pub version: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ReportQuery {
    /// ja or en (default: the Accept-Language header, else Japanese).
    pub lang: Option<String>,
}

/// Cases the caller's organisation takes part in.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", responses((status = 200, body = Vec<Case>)))]
async fn list_cases(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<Case>>, ApiError> {
    Ok(Json(
        cases::list(&state.cases(), &Actor::from_auth(&auth)).await?,
    ))
}

/// Opens a case, optionally with a playbook's tasks (targeted-mail, ransomware, web-defacement,
/// ddos, data-leak, iot-botnet).
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases", request_body = CaseInput,
    responses((status = 201, body = CaseView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_case(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<CaseInput>,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(cases::create(&state.cases(), &Actor::from_auth(&auth), &input).await?),
    ))
}

/// A case with its tasks and timeline (not found for organisations not taking part).
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = Problem)))]
async fn get_case(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        cases::get(&state.cases(), &Actor::from_auth(&auth), &id).await?,
    ))
}

/// Moves a case to another status (the owner organisation).
#[utoipa::path(put, path = "/api/v1/cases/{id}/status", tag = "cases", params(("id" = String, Path)), request_body = StatusInput,
    responses((status = 200, body = CaseView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn set_status(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<StatusInput>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        cases::set_status(
            &state.cases(),
            &Actor::from_auth(&auth),
            &id,
            &i.status,
            i.resolution.as_deref(),
            i.version,
        )
        .await?,
    ))
}

/// Adds an organisation to a case with a role (the owner organisation).
#[utoipa::path(post, path = "/api/v1/cases/{id}/participants", tag = "cases", params(("id" = String, Path)), request_body = ParticipantInput,
    responses((status = 200, body = CaseView), (status = 403, body = Problem)))]
async fn add_participant(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<ParticipantInput>,
) -> Result<Json<CaseView>, ApiError> {
    let org: OrgId = state.store.find_org(&i.org).await?.id;
    Ok(Json(
        cases::add_participant(&state.cases(), &Actor::from_auth(&auth), &id, org, &i.role).await?,
    ))
}

/// Adds a manual entry to the case timeline (any participant).
#[utoipa::path(post, path = "/api/v1/cases/{id}/timeline", tag = "cases", params(("id" = String, Path)), request_body = TimelineInput,
    responses((status = 201, body = TimelineEntry), (status = 404, body = Problem)))]
async fn add_timeline(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<TimelineInput>,
) -> Result<(StatusCode, Json<TimelineEntry>), ApiError> {
    let e = cases::add_timeline(
        &state.cases(),
        &Actor::from_auth(&auth),
        &id,
        i.at,
        &i.text,
        "manual",
    )
    .await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// Sets a task's status and/or assignee (any participant); the assignee is notified.
#[utoipa::path(put, path = "/api/v1/cases/{id}/tasks/{task}", tag = "cases", params(("id" = String, Path), ("task" = String, Path)), request_body = TaskInput,
    responses((status = 200, body = CaseView), (status = 404, body = Problem)))]
async fn set_task(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath((id, task)): ApiPath<(String, String)>,
    ApiJson(i): ApiJson<TaskInput>,
) -> Result<Json<CaseView>, ApiError> {
    let (cx, actor) = (state.cases(), Actor::from_auth(&auth));
    let mut view = None;
    if let Some(a) = &i.assignee {
        view = Some(cases::assign_task(&cx, &actor, &id, &task, Some(a.as_str())).await?);
    }
    if let Some(st) = &i.status {
        view = Some(cases::set_task(&cx, &actor, &id, &task, st).await?);
    }
    view.map(Json)
        .ok_or_else(|| ApiError::Invalid("give a status or an assignee".into()))
}

/// Records the lessons learned (the owner organisation).
#[utoipa::path(put, path = "/api/v1/cases/{id}/lessons", tag = "cases", params(("id" = String, Path)), request_body = LessonsInput,
    responses((status = 200, body = CaseView), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn set_lessons(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<LessonsInput>,
) -> Result<Json<CaseView>, ApiError> {
    Ok(Json(
        cases::set_lessons(
            &state.cases(),
            &Actor::from_auth(&auth),
            &id,
            &i.lessons,
            i.version,
        )
        .await?,
    ))
}

/// Adds an observable (value normalised like shared indicators; kind guessed when absent).
#[utoipa::path(post, path = "/api/v1/cases/{id}/observables", tag = "cases", params(("id" = String, Path)), request_body = ObservableInput,
    responses((status = 201, body = CaseObservable), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_observable(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<ObservableInput>,
) -> Result<(StatusCode, Json<CaseObservable>), ApiError> {
    let o = case_observables::add(&state.cases(), &Actor::from_auth(&auth), &id, &i).await?;
    Ok((StatusCode::CREATED, Json(o)))
}

/// The observables of a case.
#[utoipa::path(get, path = "/api/v1/cases/{id}/observables", tag = "cases", params(("id" = String, Path)),
    responses((status = 200, body = Vec<CaseObservable>), (status = 404, body = Problem)))]
async fn list_observables(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<CaseObservable>>, ApiError> {
    Ok(Json(
        case_observables::list(&state.cases(), &Actor::from_auth(&auth), &id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareObservablesInput {
    /// Default: the case's TLP (a lower level is refused).
    pub tlp: Option<Tlp>,
}

/// Shares the case's observables as a report, in one step: the case's TLP, addressed to the
/// other participating organisations at AMBER and above.
#[utoipa::path(post, path = "/api/v1/cases/{id}/observables/share", tag = "cases", params(("id" = String, Path)), request_body = ShareObservablesInput,
    responses((status = 201, body = crate::sharing::ReportView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn share_observables(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiJson(i): ApiJson<ShareObservablesInput>,
) -> Result<(StatusCode, Json<crate::sharing::ReportView>), ApiError> {
    let v = case_observables::share(
        &state.cases(),
        &state.share(),
        &Actor::from_auth(&auth),
        &id,
        i.tlp,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ExportFormat {
    /// json (default) or csv.
    pub format: Option<String>,
}

/// The case timeline, filtered and ordered; `format=csv` exports it as CSV.
#[utoipa::path(get, path = "/api/v1/cases/{id}/timeline", tag = "cases", params(("id" = String, Path), crate::case_timeline::TimelineQuery, ExportFormat),
    responses((status = 200, body = Vec<TimelineEntry>), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn read_timeline(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<crate::case_timeline::TimelineQuery>,
    ApiQuery(f): ApiQuery<ExportFormat>,
) -> Result<Response, ApiError> {
    let entries =
        crate::case_timeline::read(&state.cases(), &Actor::from_auth(&auth), &id, &q).await?;
    match f.format.as_deref() {
        None | Some("") | Some("json") => Ok(Json(entries).into_response()),
        Some("csv") => Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"case-{id}-timeline.csv\""),
                ),
            ],
            crate::case_timeline::to_csv(&entries),
        )
            .into_response()),
        Some(other) => Err(ApiError::Invalid(format!(
            "format {other:?}: use json or csv"
        ))),
    }
}

/// Median minutes to acknowledge, contain and close, per owner organisation and per incident
/// type, over the cases the caller takes part in.
#[utoipa::path(get, path = "/api/v1/cases/metrics", tag = "cases",
    responses((status = 200, body = crate::case_metrics::CaseMetrics)))]
async fn metrics(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<crate::case_metrics::CaseMetrics>, ApiError> {
    Ok(Json(
        crate::case_metrics::metrics(&state.cases(), &Actor::from_auth(&auth)).await?,
    ))
}

fn report_lang(q: &ReportQuery, headers: &HeaderMap) -> Result<Lang, ApiError> {
    match &q.lang {
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::Invalid("lang must be ja or en".into())),
        None => Ok(crate::console::i18n::choose(headers)),
    }
}

/// The after-action report as a self-contained HTML page.
#[utoipa::path(get, path = "/api/v1/cases/{id}/report.html", tag = "cases", params(("id" = String, Path), ReportQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, body = Problem)))]
async fn report_html(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = report_lang(&q, &headers)?;
    let d = case_report::collect(&state.cases(), &Actor::from_auth(&auth), &id, lang).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        case_report::html(&d, lang)?,
    )
        .into_response())
}

/// The after-action report as PDF (headless Chromium).
#[utoipa::path(get, path = "/api/v1/cases/{id}/report.pdf", tag = "cases", params(("id" = String, Path), ReportQuery),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem), (status = 503, body = Problem)))]
async fn report_pdf(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = report_lang(&q, &headers)?;
    let d = case_report::collect(&state.cases(), &Actor::from_auth(&auth), &id, lang).await?;
    let html = case_report::html(&d, lang)?;
    // A few at a time: each print starts a Chromium.
    let _slot = state
        .pdf_slots
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable)?;
    let pdf = crate::pdf::render(&html).await.map_err(|e| {
        tracing::error!(error = %e, "after-action report PDF");
        ApiError::Unavailable
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"case-{id}-{}.pdf\"", lang.as_str()),
            ),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImportResult {
    pub imported: usize,
    pub skipped: usize,
}

/// Imports a `mamori hunt --format jsonl` or `--format csv` timeline into the case (source
/// `hunt`); the format is recognised from the content.
#[utoipa::path(post, path = "/api/v1/cases/{id}/timeline/hunt", tag = "cases", params(("id" = String, Path)),
    request_body(content = String, content_type = "application/x-ndjson"),
    responses((status = 200, body = ImportResult), (status = 404, body = Problem)))]
async fn import_hunt(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<String>,
    body: String,
) -> Result<Json<ImportResult>, ApiError> {
    let (imported, skipped) =
        cases::import_hunt(&state.cases(), &Actor::from_auth(&auth), &id, &body).await?;
    Ok(Json(ImportResult { imported, skipped }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct FromMailQuery {
    /// TLP of the case (default AMBER).
    pub tlp: Option<Tlp>,
}

/// Opens a case from a suspicious message (the raw RFC 5322 bytes): analysed, kept as
/// evidence, its sender domain, URLs and attachment hashes as observables, under the
/// targeted-mail playbook.
#[utoipa::path(post, path = "/api/v1/cases/from-mail", tag = "cases", params(FromMailQuery),
    request_body(content = Vec<u8>, content_type = "message/rfc822"),
    responses((status = 201, body = CaseView), (status = 403, body = Problem), (status = 413, body = Problem)))]
async fn from_mail(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<FromMailQuery>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    let mcx = state.mail();
    let raw = crate::mail_upload::read_body(body, mcx.limits.max_message_bytes).await?;
    let v = crate::case_intake::from_mail(
        &state.cases(),
        &mcx,
        &Actor::from_auth(&auth),
        raw,
        q.tlp.unwrap_or(Tlp::Amber),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Reports an incident to the hub (any member user): a case owned by the hub operator with the
/// reporting organisation taking part as the victim.
#[utoipa::path(post, path = "/api/v1/incident-reports", tag = "cases", request_body = IncidentReport,
    responses((status = 201, body = CaseView), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn report_incident(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(input): ApiJson<IncidentReport>,
) -> Result<(StatusCode, Json<CaseView>), ApiError> {
    let v = crate::case_intake::report_incident(&state.cases(), &Actor::from_auth(&auth), &input)
        .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_cases, create_case))
        .routes(routes!(get_case))
        .routes(routes!(set_status))
        .routes(routes!(add_participant))
        .routes(routes!(add_timeline, read_timeline))
        .routes(routes!(set_task))
        .routes(routes!(import_hunt))
        .routes(routes!(set_lessons))
        .routes(routes!(add_observable, list_observables))
        .routes(routes!(share_observables))
        .routes(routes!(report_html))
        .routes(routes!(report_pdf))
        .routes(routes!(report_incident))
        .routes(routes!(metrics))
        .merge(
            // Messages with attachments exceed the API's general body limit; the handler
            // stops at `[mail] max_message_bytes` instead.
            OpenApiRouter::new()
                .routes(routes!(from_mail))
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
}
