//! The dashboard: the hub at a glance, with charts.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use mamori_model::{OrgKind, Role};
use mamori_store::PageRequest;

use super::{Console, Flash, Frame, chart, render, role_key};
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    f: Frame,
    orgs: i64,
    users: i64,
    groups: usize,
    audit_rows: Option<i64>,
    kind_chart: String,
    role_chart: String,
    tlp_chart: String,
}

fn kind_key(k: OrgKind) -> String {
    format!("kind.{}", k.as_str())
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
    let result: Result<DashboardPage, ApiError> = async {
        let store = &state.store;
        let mut by_kind: BTreeMap<OrgKind, i64> = BTreeMap::new();
        let mut by_role: BTreeMap<Role, i64> = BTreeMap::new();
        let mut orgs = 0;
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .list_orgs(&PageRequest::from_cursor(cursor.as_deref(), Some(500))?)
                .await?;
            for o in &page.items {
                *by_kind.entry(o.kind).or_default() += 1;
                orgs += 1;
            }
            match page.next_cursor {
                Some(c) if !page.items.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        let all_users = mamori_access::may_administer(&auth.principal)
            || mamori_access::may_read_audit(&auth.principal);
        let user_scope = (!all_users).then_some(auth.user.org_id);
        let mut users = 0;
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .list_users(
                    user_scope,
                    &PageRequest::from_cursor(cursor.as_deref(), Some(500))?,
                )
                .await?;
            for u in &page.items {
                *by_role.entry(u.role).or_default() += 1;
                users += 1;
            }
            match page.next_cursor {
                Some(c) if !page.items.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        let groups = store.list_groups().await?.len();
        let audit_rows = if mamori_access::may_read_audit(&auth.principal) {
            store
                .list_audit(None, 1)
                .await?
                .items
                .first()
                .map(|r| r.seq)
        } else {
            None
        };
        // Reports the reader may see, by TLP.
        let mut by_tlp: BTreeMap<mamori_model::Tlp, i64> = BTreeMap::new();
        let actor = crate::ops::Actor::from_auth(auth);
        let mut cursor: Option<String> = None;
        loop {
            let page = crate::sharing::list_reports(
                &state.share(),
                &actor,
                &mamori_store::reports::ReportQuery::default(),
                &PageRequest::from_cursor(cursor.as_deref(), Some(500))?,
            )
            .await?;
            for r in &page.items {
                *by_tlp.entry(r.tlp).or_default() += 1;
            }
            match page.next_cursor {
                Some(c) if !page.items.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        let t = c.t;
        let tlp_rows: Vec<(String, i64)> = mamori_model::Tlp::ALL
            .iter()
            .map(|l| {
                (
                    format!("TLP:{}", l.as_str()),
                    by_tlp.get(l).copied().unwrap_or(0),
                )
            })
            .collect();
        let kind_rows: Vec<(String, i64)> = OrgKind::ALL
            .iter()
            .map(|k| {
                (
                    t.get(&kind_key(*k)).to_owned(),
                    by_kind.get(k).copied().unwrap_or(0),
                )
            })
            .collect();
        let role_rows: Vec<(String, i64)> = Role::ALL
            .iter()
            .map(|r| {
                (
                    t.get(role_key(*r)).to_owned(),
                    by_role.get(r).copied().unwrap_or(0),
                )
            })
            .collect();
        Ok(DashboardPage {
            kind_chart: chart::bars(t.get("dash.by_kind"), &kind_rows),
            role_chart: chart::bars(t.get("dash.by_role"), &role_rows),
            tlp_chart: chart::bars(t.get("dash.by_tlp"), &tlp_rows),
            f: c.frame("dashboard", flash),
            orgs,
            users,
            groups,
            audit_rows,
        })
    }
    .await;
    match result {
        Ok(p) => render(p),
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}
