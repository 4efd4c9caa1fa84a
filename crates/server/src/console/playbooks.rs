//! The playbook editor (hub administrators): each playbook as lines of `hours | title`, saved
//! whole; edited built-ins can be reset, added playbooks removed.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use mamori_store::playbooks::PlaybookTask;
use serde::Deserialize;

use super::{Console, Flash, Frame, back, forbidden, render};
use crate::ops::Actor;
use crate::playbooks::{self, Playbook};
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "playbooks.html")]
struct PlaybooksPage {
    f: Frame,
    playbooks: Vec<Playbook>,
}

impl PlaybooksPage {
    fn lines(&self, p: &Playbook) -> String {
        p.tasks
            .iter()
            .map(|t| format!("{} | {}", t.hours, t.title))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `hours | title` per line; blank lines are skipped.
fn parse_lines(text: &str) -> Result<Vec<PlaybookTask>, ApiError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, l)| {
            let (h, t) = l.split_once('|').ok_or_else(|| {
                ApiError::Invalid(format!("line {}: write \"hours | title\"", i + 1))
            })?;
            let hours = h.trim().parse::<u32>().map_err(|_| {
                ApiError::Invalid(format!("line {}: hours must be a number", i + 1))
            })?;
            Ok(PlaybookTask {
                title: t.trim().to_owned(),
                hours,
            })
        })
        .collect()
}

pub async fn page(
    State(state): State<AppState>,
    c: Console,
    Query(flash): Query<Flash>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    if !mamori_access::may_administer(&auth.principal) {
        return forbidden(c.t);
    }
    match playbooks::list(&state.store).await {
        Ok(playbooks) => render(PlaybooksPage {
            f: c.frame("cases", flash),
            playbooks,
        }),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct PlaybookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    tasks: String,
}

async fn save(
    state: &AppState,
    actor: &Actor,
    name: &str,
    tasks: &str,
) -> Result<&'static str, ApiError> {
    let tasks = parse_lines(tasks)?;
    playbooks::put(&state.store, actor, name, &tasks).await?;
    Ok("playbook.saved")
}

pub async fn create(
    State(state): State<AppState>,
    c: Console,
    Form(form): Form<PlaybookForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = save(
        &state,
        &Actor::from_auth(auth),
        form.name.trim(),
        &form.tasks,
    )
    .await;
    back("/playbooks", r)
}

pub async fn update(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    Form(form): Form<PlaybookForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = save(&state, &Actor::from_auth(auth), &name, &form.tasks).await;
    back("/playbooks", r)
}

pub async fn reset(
    State(state): State<AppState>,
    c: Console,
    Path(name): Path<String>,
    Form(form): Form<super::CsrfOnly>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let r = playbooks::reset(&state.store, &Actor::from_auth(auth), &name)
        .await
        .map(|()| "playbook.saved");
    back("/playbooks", r)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines() {
        let t = super::parse_lines("2 | 隔離 / Isolate\n\n 24|報告\n").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!((t[1].hours, t[1].title.as_str()), (24, "報告"));
        assert!(super::parse_lines("soon | x").is_err());
        assert!(super::parse_lines("no bar").is_err());
    }
}
