//! The audit log page: recent entries and the state of the hash chain.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use mamori_store::audit::{AuditRecord, VerifyReport};

use super::{Console, Flash, Frame, fmt_time, forbidden, render};
use crate::AppState;

pub struct Row {
    pub rec: AuditRecord,
    pub at: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    f: Frame,
    rows: Vec<Row>,
    verify: VerifyReport,
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
    if !mamori_access::may_read_audit(&auth.principal) {
        return forbidden(c.t);
    }
    let page = match state.store.list_audit(None, 200).await {
        Ok(p) => p,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    let verify = match state.store.verify_audit().await {
        Ok(v) => v,
        Err(e) => return crate::ApiError::from(e).into_response(),
    };
    render(AuditPage {
        f: c.frame("audit", flash),
        rows: page
            .items
            .into_iter()
            .map(|r| Row {
                at: fmt_time(r.at),
                rec: r,
            })
            .collect(),
        verify,
    })
}
