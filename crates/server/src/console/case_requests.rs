//! Coordination requests in the console: sending one from the case page, and a request's own
//! page with its thread, a reply box and the status buttons its parties may use.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Console, Flash, Frame, back, fmt_time, render, urlencode};
use crate::case_requests::{self, RequestInput, RequestView};
use crate::ops::Actor;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize)]
pub struct NewRequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    /// `YYYY-MM-DD` (UTC, end of day), optional.
    #[serde(default)]
    due: String,
}

/// `YYYY-MM-DD` → the end of that day (UTC) in ms.
fn due_ms(s: &str) -> Result<Option<i64>, ApiError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::Invalid(format!("due date {s:?}: use YYYY-MM-DD"));
    let mut it = s.split('-').map(|p| p.parse::<i64>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d)), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return Err(bad());
    };
    let date = time::Date::from_calendar_date(
        i32::try_from(y).map_err(|_| bad())?,
        time::Month::try_from(u8::try_from(m).map_err(|_| bad())?).map_err(|_| bad())?,
        u8::try_from(d).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    let end = date
        .with_hms(23, 59, 59)
        .map_err(|_| bad())?
        .assume_utc()
        .unix_timestamp();
    Ok(Some(end * 1000))
}

pub async fn create(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<NewRequestForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let page = format!("/cases/{id}");
    let r = async {
        let to = state.store.find_org(&form.to).await?.id;
        let input = RequestInput {
            to: form.to.clone(),
            kind: form.kind.clone(),
            title: form.title.clone(),
            body: form.body.clone(),
            due_at: due_ms(&form.due)?,
            from: None,
        };
        case_requests::create(
            &state.cases(),
            &Actor::from_auth(auth),
            &id,
            to,
            None,
            &input,
        )
        .await
    }
    .await;
    match r {
        Ok(req) => Redirect::to(&format!(
            "/cases/{id}/requests/{}?ok={}",
            req.id,
            urlencode("case.request_sent")
        ))
        .into_response(),
        Err(e) => back(&page, Err(e)),
    }
}

#[derive(Template)]
#[template(path = "case_request.html")]
struct RequestPage {
    f: Frame,
    case_id: String,
    v: RequestView,
    from: String,
    to: String,
    due: String,
    messages: Vec<(String, String, String)>,
    statuses: Vec<&'static str>,
    can_write: bool,
}

pub async fn view(
    State(state): State<AppState>,
    c: Console,
    Path((id, rid)): Path<(String, String)>,
    Query(flash): Query<Flash>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let v = match case_requests::get(&state.cases(), &Actor::from_auth(auth), &id, &rid).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let name = |org: mamori_model::OrgId| {
        let store = state.store.clone();
        let lang = c.t.lang;
        async move {
            store
                .get_org(org)
                .await
                .map(|o| o.name(lang).to_owned())
                .unwrap_or_else(|_| org.to_string())
        }
    };
    let (from, to) = (name(v.request.from_org).await, name(v.request.to_org).await);
    let messages = v
        .messages
        .iter()
        .map(|m| (fmt_time(m.created_at), m.author.clone(), m.body.clone()))
        .collect();
    render(RequestPage {
        f: c.frame("cases", flash),
        case_id: id,
        from,
        to,
        due: v.request.due_at.map(fmt_time).unwrap_or_default(),
        messages,
        statuses: case_requests::STATUSES.to_vec(),
        can_write: mamori_access::may_write(&auth.principal),
        v,
    })
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    version: Option<i64>,
}

pub async fn set_status(
    State(state): State<AppState>,
    c: Console,
    Path((id, rid)): Path<(String, String)>,
    Form(form): Form<StatusForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = case_requests::set_status(
        &state.cases(),
        &Actor::from_auth(auth),
        &id,
        &rid,
        &form.status,
        form.version,
    )
    .await
    .map(|_| "case.updated");
    back(&format!("/cases/{id}/requests/{rid}"), r)
}

#[derive(Debug, Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
}

pub async fn add_message(
    State(state): State<AppState>,
    c: Console,
    Path((id, rid)): Path<(String, String)>,
    Form(form): Form<MessageForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = case_requests::add_message(
        &state.cases(),
        &Actor::from_auth(auth),
        &id,
        &rid,
        &form.body,
    )
    .await
    .map(|_| "case.updated");
    back(&format!("/cases/{id}/requests/{rid}"), r)
}

#[cfg(test)]
mod tests {
    #[test]
    fn due_dates() {
        assert_eq!(super::due_ms("").unwrap(), None);
        assert_eq!(
            super::due_ms("2026-12-01").unwrap(),
            Some(1_796_169_599_000)
        );
        assert!(super::due_ms("2026-13-01").is_err());
        assert!(super::due_ms("tomorrow").is_err());
    }
}
