//! Case page forms beyond the basics: evidence upload (multipart, streamed to the evidence store;
//! the CSRF field must come before the file), `mamori hunt` timelines, observables, task
//! assignment, lessons learned, cases from a suspicious mail and members' incident reports.

use axum::Form;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Console, back};
use crate::cases;
use crate::evidence::{self, EvidenceMeta};
use crate::ops::Actor;
use crate::{ApiError, AppState};

pub async fn upload_evidence(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let page = format!("/cases/{id}");
    let (cx, actor) = (state.cases(), Actor::from_auth(auth));
    let mut csrf_ok = false;
    let mut meta = EvidenceMeta::default();
    let mut stored = None;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return back(&page, Err(ApiError::Invalid(format!("upload: {e}")))),
        };
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            if !csrf_ok {
                return back(&page, Err(ApiError::Csrf));
            }
            meta.filename = field.file_name().unwrap_or("").to_owned();
            meta.content_type = field.content_type().unwrap_or("").to_owned();
            let (case, mut writer) = match evidence::begin_upload(&cx, &actor, &id).await {
                Ok(x) => x,
                Err(e) => return back(&page, Err(e)),
            };
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if let Err(e) = writer.write(&chunk).await {
                            return back(&page, Err(e.into()));
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        return back(&page, Err(ApiError::Invalid(format!("upload: {e}"))));
                    }
                }
            }
            stored = Some((case, writer));
            continue;
        }
        let text = match field.text().await {
            Ok(t) => t,
            Err(e) => return back(&page, Err(ApiError::Invalid(format!("upload: {e}")))),
        };
        match name.as_str() {
            "csrf" => {
                if let Err(r) = c.check_csrf(&text) {
                    return r;
                }
                csrf_ok = true;
            }
            "description" => meta.description = text,
            _ => {}
        }
    }
    let Some((case, writer)) = stored else {
        return back(&page, Err(ApiError::Invalid("choose a file".into())));
    };
    let r = evidence::finish_upload(&cx, &actor, &case, writer, &meta)
        .await
        .map(|_| "case.updated");
    back(&page, r)
}

#[derive(Debug, Deserialize)]
pub struct ObservableForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    note: String,
}

pub async fn add_observable(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<ObservableForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let input = crate::case_observables::ObservableInput {
        kind: None,
        value: form.value,
        note: form.note,
    };
    let r = crate::case_observables::add(&state.cases(), &Actor::from_auth(auth), &id, &input)
        .await
        .map(|_| "case.updated");
    back(&format!("/cases/{id}"), r)
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    assignee: String,
}

pub async fn assign(
    State(state): State<AppState>,
    c: Console,
    Path((id, task)): Path<(String, String)>,
    Form(form): Form<AssignForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = cases::assign_task(
        &state.cases(),
        &Actor::from_auth(auth),
        &id,
        &task,
        Some(form.assignee.as_str()),
    )
    .await
    .map(|_| "case.updated");
    back(&format!("/cases/{id}"), r)
}

#[derive(Debug, Deserialize)]
pub struct LessonsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    lessons: String,
    version: Option<i64>,
}

pub async fn lessons(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<LessonsForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = cases::set_lessons(
        &state.cases(),
        &Actor::from_auth(auth),
        &id,
        &form.lessons,
        form.version,
    )
    .await
    .map(|_| "case.updated");
    back(&format!("/cases/{id}"), r)
}

/// A `mamori hunt` output file (JSONL or CSV) onto the timeline.
pub async fn import_hunt(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let page = format!("/cases/{id}");
    let (mut csrf, mut body) = (String::new(), None);
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                match field.bytes().await {
                    Ok(b) if name == "csrf" => csrf = String::from_utf8_lossy(&b).into_owned(),
                    Ok(b) if name == "file" => {
                        body = Some(String::from_utf8_lossy(&b).into_owned())
                    }
                    Ok(_) => {}
                    Err(e) => return back(&page, Err(ApiError::Invalid(format!("upload: {e}")))),
                }
            }
            Ok(None) => break,
            Err(e) => return back(&page, Err(ApiError::Invalid(format!("upload: {e}")))),
        }
    }
    if let Err(r) = c.check_csrf(&csrf) {
        return r;
    }
    let Some(body) = body else {
        return back(&page, Err(ApiError::Invalid("choose a file".into())));
    };
    let r = cases::import_hunt(&state.cases(), &Actor::from_auth(auth), &id, &body)
        .await
        .map(|_| "case.updated");
    back(&page, r)
}

/// A suspicious message (multipart field `message`) becomes a case.
pub async fn from_mail(State(state): State<AppState>, c: Console, form: Multipart) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let mut form =
        match crate::mail_upload::read_form(form, state.config.mail.max_message_bytes).await {
            Ok(f) => f,
            Err(e) => return back("/cases", Err(e)),
        };
    if let Err(r) = c.check_csrf(form.get("csrf")) {
        return r;
    }
    let Some(raw) = form.message.take() else {
        return back(
            "/cases",
            Err(ApiError::Invalid("choose a message file".into())),
        );
    };
    match crate::case_intake::from_mail(
        &state.cases(),
        &state.mail(),
        &Actor::from_auth(auth),
        raw,
        mamori_model::Tlp::Amber,
    )
    .await
    {
        Ok(v) => axum::response::Redirect::to(&format!(
            "/cases/{}?ok={}",
            v.case.id,
            super::urlencode("case.created")
        ))
        .into_response(),
        Err(e) => back("/cases", Err(e)),
    }
}

#[derive(Debug, Deserialize)]
pub struct IncidentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    severity: String,
}

/// A member's incident report becomes a case of the hub operator.
pub async fn report_incident(
    State(state): State<AppState>,
    c: Console,
    Form(form): Form<IncidentForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let input = crate::case_intake::IncidentReport {
        title: form.title,
        description: form.description,
        category: Some(form.category).filter(|c| !c.is_empty()),
        severity: Some(form.severity).filter(|s| !s.is_empty()),
        tlp: None,
        occurred_at: None,
    };
    match crate::case_intake::report_incident(&state.cases(), &Actor::from_auth(auth), &input).await
    {
        Ok(v) => axum::response::Redirect::to(&format!(
            "/cases/{}?ok={}",
            v.case.id,
            super::urlencode("case.created")
        ))
        .into_response(),
        Err(e) => back("/cases", Err(e)),
    }
}

/// One click: the case's observables become a shared report at the case's TLP.
pub async fn share_observables(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<super::CsrfOnly>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match crate::case_observables::share(
        &state.cases(),
        &state.share(),
        &Actor::from_auth(auth),
        &id,
        None,
    )
    .await
    {
        Ok(v) => axum::response::Redirect::to(&format!(
            "/reports/{}?ok={}",
            v.report.id,
            super::urlencode("case.shared")
        ))
        .into_response(),
        Err(e) => back(&format!("/cases/{id}"), Err(e)),
    }
}
