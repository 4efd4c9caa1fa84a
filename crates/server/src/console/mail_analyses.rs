//! Console pages of stored mail analyses: the list the reader may see, and one analysis with
//! its verdict reasons (in the reader's language), URLs, attachment tree, sample files and the
//! button that downloads them as the encrypted ZIP (served by the API route, which checks and
//! audits).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use mamori_store::PageRequest;
use mamori_store::mail_analyses::{MailAnalysisQuery, MailAnalysisSummary};
use serde::Deserialize;

use super::mail_files::{FileTree, file_lines};
use super::sharing::tlp_class;
use super::{Console, Flash, Frame, fmt_time, render};
use crate::mail_store;
use crate::ops::Actor;
use crate::{ApiError, AppState};

/// A stored analysis as a table row.
pub struct AnalysisRow {
    pub id: String,
    pub tlp: &'static str,
    pub tlp_class: &'static str,
    pub subject: String,
    pub from: String,
    pub score: i64,
    pub seen: String,
    pub campaign: String,
    pub campaign_short: String,
}

impl AnalysisRow {
    pub fn of(a: &MailAnalysisSummary) -> Self {
        AnalysisRow {
            id: a.id.clone(),
            tlp: a.tlp.as_str(),
            tlp_class: tlp_class(a.tlp),
            subject: if a.subject.is_empty() {
                "—".into()
            } else {
                a.subject.clone()
            },
            from: a.mail_from.clone(),
            score: a.score,
            seen: fmt_time(a.seen_at),
            campaign: a.campaign_id.clone(),
            campaign_short: a
                .campaign_id
                .chars()
                .rev()
                .take(8)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "mail_analyses.html")]
struct ListPage {
    f: Frame,
    rows: Vec<AnalysisRow>,
    q: String,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    cursor: Option<String>,
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
    let result: Result<ListPage, ApiError> = async {
        let page = PageRequest::from_cursor(p.cursor.as_deref(), Some(50))?;
        let query = MailAnalysisQuery {
            text: p.q.clone(),
            ..Default::default()
        };
        let page = mail_store::list(&state.mail(), &Actor::from_auth(auth), &query, &page).await?;
        Ok(ListPage {
            f: c.frame("mail", Flash::default()),
            rows: page.items.iter().map(AnalysisRow::of).collect(),
            q: p.q.clone().unwrap_or_default(),
            next: page.next_cursor,
        })
    }
    .await;
    match result {
        Ok(page) => render(page),
        Err(e) => e.into_response(),
    }
}

/// A sample file as a table row.
pub struct FileRow {
    pub role_key: String,
    pub name: String,
    pub sha256: String,
    pub size: i64,
}

#[derive(Template)]
#[template(path = "mail_analysis.html")]
struct ViewPage {
    f: Frame,
    row: AnalysisRow,
    submitted: String,
    submitter: String,
    sha256: String,
    signals: Vec<String>,
    urls: Vec<String>,
    /// The attachment tree, read back from the stored analysis.
    files: FileTree,
    /// The sample store's files of the analysis.
    samples: Vec<FileRow>,
    dropped: i64,
    targets: Vec<String>,
}

pub async fn view(State(state): State<AppState>, c: Console, Path(id): Path<String>) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let v = match mail_store::get(&state.mail(), &Actor::from_auth(auth), &id).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    // Stored analyses read back as the report type (fields added since take their defaults).
    let analysis: mamori_mail::Analysis = match serde_json::from_str(v.analysis.get()) {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!(id = %id, error = %e, "stored mail analysis does not read back");
            mamori_mail::Analysis::default()
        }
    };
    let signals = super::mail::signal_lines(&analysis.verdict, c.t.lang);
    let urls = analysis.urls.iter().map(|u| u.url.clone()).collect();
    render(ViewPage {
        f: c.frame("mail", Flash::default()),
        row: AnalysisRow::of(&v.summary),
        submitted: fmt_time(v.summary.submitted_at),
        submitter: v.summary.submitter_name.clone(),
        sha256: v.summary.sha256.clone(),
        signals,
        urls,
        files: file_lines(&analysis, &c.t),
        samples: v
            .files
            .iter()
            .map(|f| FileRow {
                role_key: format!("mail.role.{}", f.role),
                name: f.name.clone().unwrap_or_default(),
                sha256: f.sha256.clone(),
                size: f.size,
            })
            .collect(),
        dropped: v.summary.samples_dropped,
        targets: v.target_orgs.iter().map(|t| t.shown(c.t.lang)).collect(),
    })
}
