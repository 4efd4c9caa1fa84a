//! The YARA rule-set page: the sets with their rule counts and state, what the hub scans with
//! now, a set's source (`?edit=NAME`), and for hub administrators a form that creates a set or
//! replaces its source (typed in, or a `.yar` file uploaded) plus enable, disable and delete
//! buttons. Every form carries the CSRF token and calls the same `yara_rules` operations as
//! the API; a rule that does not compile comes back on the page with its line and the source
//! as typed.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Console, CsrfOnly, Flash, Frame, back, fmt_time, render, urlencode};
use crate::ops::Actor;
use crate::yara_rules::{self, CompiledStatus, NewRuleSet, RuleSetUpdate};
use crate::{ApiError, AppState};

/// One set as the page lists it.
struct Line {
    name: String,
    description: String,
    rules: i64,
    enabled: bool,
    updated: String,
    updated_by: String,
}

#[derive(Template)]
#[template(path = "yara.html")]
struct YaraPage {
    f: Frame,
    sets: Vec<Line>,
    compiled: CompiledStatus,
    /// The set being shown or edited (empty for a new one).
    edit: String,
    description: String,
    source: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    edit: Option<String>,
    #[serde(flatten)]
    flash: Flash,
}

/// What the form sent.
#[derive(Debug, Default)]
struct Form {
    csrf: String,
    name: String,
    description: String,
    source: String,
}

async fn build(
    state: &AppState,
    c: &Console,
    flash: Flash,
    edit: Option<String>,
    form: Option<Form>,
) -> Result<YaraPage, ApiError> {
    let auth = c.auth.as_ref().ok_or(ApiError::Unauthenticated)?;
    let actor = Actor::from_auth(auth);
    let sets = yara_rules::list(&state.store, &actor).await?;
    // Bring the compiled rules up to date with storage before showing them.
    state.yara.scanner(&state.store).await?;
    let (edit, description, source) = match (form, edit) {
        (Some(f), e) => (e.unwrap_or(f.name), f.description, f.source),
        (None, Some(name)) => {
            let rs = yara_rules::get(&state.store, &actor, &name).await?;
            (name, rs.info.description, rs.source)
        }
        (None, None) => (String::new(), String::new(), String::new()),
    };
    Ok(YaraPage {
        f: c.frame("yara", flash),
        sets: sets
            .into_iter()
            .map(|s| Line {
                updated: fmt_time(s.updated_at),
                name: s.name,
                description: s.description,
                rules: s.rule_count,
                enabled: s.enabled,
                updated_by: s.updated_by,
            })
            .collect(),
        compiled: state.yara.status(),
        edit,
        description,
        source,
    })
}

pub async fn page(
    State(state): State<AppState>,
    c: Console,
    Query(q): Query<PageQuery>,
) -> Response {
    if let Err(r) = c.require_login() {
        return r;
    }
    match build(&state, &c, q.flash, q.edit, None).await {
        Ok(p) => render(p),
        Err(ApiError::Forbidden(_)) => super::forbidden(c.t),
        Err(e) => e.into_response(),
    }
}

async fn read_form(mut form: Multipart) -> Result<Form, ApiError> {
    let mut f = Form::default();
    let mut file: Option<String> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(ApiError::Invalid(format!("upload: {e}"))),
        };
        let name = field.name().unwrap_or("").to_owned();
        let has_file = field.file_name().is_some_and(|n| !n.is_empty());
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::Invalid(format!("upload: {e}")))?;
        let text = || {
            String::from_utf8(bytes.to_vec())
                .map_err(|_| ApiError::Invalid(format!("{name}: not UTF-8 text")))
        };
        match name.as_str() {
            "csrf" => f.csrf = text()?,
            "name" => f.name = text()?.trim().to_owned(),
            "description" => f.description = text()?,
            "source" => f.source = text()?.replace("\r\n", "\n"),
            "file" if has_file && !bytes.is_empty() => file = Some(text()?),
            _ => {}
        }
    }
    if let Some(file) = file {
        f.source = file;
    }
    Ok(f)
}

/// The page again with the form as sent and the error, so nothing typed is lost.
async fn refused(
    state: &AppState,
    c: &Console,
    edit: Option<String>,
    f: Form,
    e: ApiError,
) -> Response {
    if matches!(e, ApiError::Internal(_) | ApiError::Unavailable) {
        return e.into_response();
    }
    let flash = Flash {
        ok: None,
        err: Some(e.to_string()),
    };
    match build(state, c, flash, edit, Some(f)).await {
        Ok(p) => (StatusCode::UNPROCESSABLE_ENTITY, render(p)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Creates a rule set (hub administrators).
pub async fn create(State(state): State<AppState>, c: Console, form: Multipart) -> Response {
    let f = match read_form(form).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let auth = match c.require_post(&f.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let input = NewRuleSet {
        name: f.name.clone(),
        description: f.description.clone(),
        source: f.source.clone(),
    };
    match yara_rules::create(&state.store, &state.yara, &Actor::from_auth(auth), &input).await {
        Ok(s) => Redirect::to(&format!(
            "/yara?edit={}&ok=yara.created",
            urlencode(&s.rule_set.name)
        ))
        .into_response(),
        Err(e) => refused(&state, &c, None, f, e).await,
    }
}

/// Replaces a rule set's source (hub administrators).
pub async fn update(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    form: Multipart,
) -> Response {
    let f = match read_form(form).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let auth = match c.require_post(&f.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let input = RuleSetUpdate {
        source: f.source.clone(),
        description: Some(f.description.clone()),
    };
    match yara_rules::update(
        &state.store,
        &state.yara,
        &Actor::from_auth(auth),
        &name,
        &input,
    )
    .await
    {
        Ok(_) => {
            Redirect::to(&format!("/yara?edit={}&ok=yara.saved", urlencode(&name))).into_response()
        }
        Err(e) => refused(&state, &c, Some(name), f, e).await,
    }
}

/// Enables a rule set (hub administrators).
pub async fn enable(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Response {
    set_enabled(state, c, name, form, true).await
}

/// Disables a rule set (hub administrators).
pub async fn disable(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Response {
    set_enabled(state, c, name, form, false).await
}

async fn set_enabled(
    state: AppState,
    c: Console,
    name: String,
    form: CsrfOnly,
    on: bool,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = yara_rules::set_enabled(
        &state.store,
        &state.yara,
        &Actor::from_auth(auth),
        &name,
        on,
    )
    .await
    .map(|_| {
        if on {
            "yara.enabled_ok"
        } else {
            "yara.disabled_ok"
        }
    });
    back("/yara", r)
}

/// Deletes a rule set (hub administrators).
pub async fn delete(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    axum::Form(form): axum::Form<CsrfOnly>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = yara_rules::delete(&state.store, &state.yara, &Actor::from_auth(auth), &name)
        .await
        .map(|()| "yara.deleted");
    back("/yara", r)
}
