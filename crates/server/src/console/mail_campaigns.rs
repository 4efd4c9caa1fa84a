//! Console pages of mail campaigns: those with members the reader may see, and one campaign
//! with its members, the features they share and a timeline chart of when they were seen.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use mamori_store::PageRequest;
use serde::Deserialize;

use super::mail_analyses::AnalysisRow;
use super::{Console, Flash, Frame, chart, fmt_time, render};
use crate::mail_campaigns;
use crate::ops::Actor;
use crate::{ApiError, AppState};

/// A campaign as a table row.
pub struct CampaignRow {
    pub id: String,
    pub members: i64,
    pub first: String,
    pub last: String,
    pub max_score: i64,
}

#[derive(Template)]
#[template(path = "mail_campaigns.html")]
struct ListPage {
    f: Frame,
    rows: Vec<CampaignRow>,
    next: Option<String>,
    all: bool,
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    cursor: Option<String>,
    /// Also campaigns of one visible member.
    all: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    c: Console,
    Query(p): Query<ListParams>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let all = p.all.is_some();
    let result: Result<ListPage, ApiError> = async {
        let page = PageRequest::from_cursor(p.cursor.as_deref(), Some(50))?;
        let min = if all { 1 } else { 2 };
        let page = mail_campaigns::list(&state.mail(), &Actor::from_auth(auth), min, &page).await?;
        Ok(ListPage {
            f: c.frame("mail", Flash::default()),
            rows: page
                .items
                .into_iter()
                .map(|c| CampaignRow {
                    first: fmt_time(c.first_seen),
                    last: fmt_time(c.last_seen),
                    id: c.id,
                    members: c.members,
                    max_score: c.max_score,
                })
                .collect(),
            next: page.next_cursor,
            all,
        })
    }
    .await;
    match result {
        Ok(page) => render(page),
        Err(e) => e.into_response(),
    }
}

/// A shared feature as a table row: the kind's message key and the value.
pub struct FeatureRow {
    pub kind_key: String,
    pub value: String,
    pub members: i64,
}

#[derive(Template)]
#[template(path = "mail_campaign.html")]
struct ViewPage {
    f: Frame,
    id: String,
    first: String,
    last: String,
    rows: Vec<AnalysisRow>,
    shared: Vec<FeatureRow>,
    timeline: String,
    targets: Vec<String>,
}

/// Feature kinds the catalogue names (`mail.feature.<kind>`); others show as "other".
const KINDS: &[&str] = &[
    "ip", "mailer", "tz", "charset", "lang", "subject", "from", "att", "tlsh", "host",
];

pub async fn view(State(state): State<AppState>, c: Console, Path(id): Path<String>) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let v = match mail_campaigns::get(&state.mail(), &Actor::from_auth(auth), &id).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let events: Vec<(i64, String)> = v
        .members
        .iter()
        .map(|m| (m.seen_at, m.subject.clone()))
        .collect();
    let timeline = chart::timeline(c.t.get("mail.timeline"), &events, fmt_time);
    render(ViewPage {
        f: c.frame("mail", Flash::default()),
        first: fmt_time(v.first_seen),
        last: fmt_time(v.last_seen),
        rows: v.members.iter().map(AnalysisRow::of).collect(),
        shared: v
            .shared_features
            .into_iter()
            .map(|s| {
                let (kind, value) = s.token.split_once(':').unwrap_or(("other", &s.token));
                let kind = if KINDS.contains(&kind) { kind } else { "other" };
                FeatureRow {
                    kind_key: format!("mail.feature.{kind}"),
                    value: value.to_owned(),
                    members: s.members,
                }
            })
            .collect(),
        timeline,
        targets: v.target_orgs.iter().map(|t| t.shown(c.t.lang)).collect(),
        id: v.id,
    })
}
