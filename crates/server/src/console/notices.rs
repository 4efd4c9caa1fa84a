//! The notices page: the notices sent to the reader's organisation (hub administrators: all)
//! with a chart by status, the organisation's open feed items (its queue), and for
//! administrators a status change (a bounce reported by the mail system, a remediation
//! confirmed by hand), the feed collectors' health and the review queue of unowned items.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use mamori_store::notices::NOTICE_STATUSES;
use serde::Deserialize;

use super::{Console, Flash, Frame, back, chart, fmt_time, render};
use crate::AppState;
use crate::notices;
use crate::ops::Actor;

/// One notice as the page lists it.
struct NoticeLine {
    id: String,
    created: String,
    org: String,
    kind: String,
    channel: String,
    status: String,
    items: i64,
    subject: String,
    escalated: bool,
}

#[derive(Template)]
#[template(path = "notices.html")]
struct NoticesPage {
    f: Frame,
    status_chart: String,
    notices: Vec<NoticeLine>,
    statuses: &'static [&'static str],
    /// (last seen, source, category, value)
    review: Vec<(String, String, String, String)>,
    /// The reader's organisation's open items: (last seen, source, category, value, notified)
    queue: Vec<(String, String, String, String, String)>,
    /// Feed collectors (administrators): (name, location, last run, status, items, error)
    feeds: Vec<(String, String, String, String, String, String)>,
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
    let actor = Actor::from_auth(auth);
    let list = match notices::list(&state.store, &actor, 200).await {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let is_admin = c.frame("notices", Flash::default()).is_admin;
    let (review, feeds) = if is_admin {
        (
            notices::review_queue(&state.store, &actor, 100)
                .await
                .unwrap_or_default(),
            state.store.feed_sources().await.unwrap_or_default(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let queue = state
        .store
        .feed_items_of(auth.principal.org_id, 200)
        .await
        .unwrap_or_default();
    let counts: Vec<(String, i64)> = NOTICE_STATUSES
        .iter()
        .map(|s| {
            (
                c.t.get(&format!("notice.status.{s}")).to_owned(),
                list.iter().filter(|n| n.status == *s).count() as i64,
            )
        })
        .collect();
    let mut rows = Vec::new();
    for n in list {
        let org = state
            .store
            .get_org(n.org_id)
            .await
            .map(|o| o.name(c.t.lang).to_owned())
            .unwrap_or_else(|_| n.org_id.to_string());
        rows.push(NoticeLine {
            id: n.id,
            created: fmt_time(n.created_at),
            org,
            kind: c.t.get(&format!("notice.kind.{}", n.kind)).to_owned(),
            channel: n.channel,
            status: n.status,
            items: n.items,
            subject: n.subject,
            escalated: n.escalated,
        });
    }
    render(NoticesPage {
        status_chart: chart::bars(c.t.get("notice.by_status"), &counts),
        f: c.frame("notices", flash),
        notices: rows,
        statuses: NOTICE_STATUSES,
        review: review
            .into_iter()
            .map(|i| (fmt_time(i.last_seen), i.source, i.category, i.value))
            .collect(),
        queue: queue
            .into_iter()
            .map(|i| {
                (
                    fmt_time(i.last_seen),
                    i.source,
                    i.category,
                    i.value,
                    i.notified_at.map(fmt_time).unwrap_or_default(),
                )
            })
            .collect(),
        feeds: feeds
            .into_iter()
            .map(|f| {
                (
                    f.name,
                    f.location,
                    f.last_run.map(fmt_time).unwrap_or_default(),
                    f.last_status.unwrap_or_default(),
                    f.last_items.map(|n| n.to_string()).unwrap_or_default(),
                    f.last_error.unwrap_or_default(),
                )
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
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
    let r = notices::set_status_checked(
        &state.store,
        &Actor::from_auth(auth),
        &id,
        &form.status,
        mamori_store::now_millis(),
    )
    .await
    .map(|_| "notice.updated");
    back("/notices", r)
}
