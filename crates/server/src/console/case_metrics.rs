//! The response-metrics page: median minutes to acknowledge, contain and close, charted per
//! owner organisation and per incident type.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use super::{Console, Flash, Frame, chart, render};
use crate::AppState;
use crate::case_metrics::{self, Durations};
use crate::ops::Actor;

#[derive(Template)]
#[template(path = "case_metrics.html")]
struct MetricsPage {
    f: Frame,
    org_ack: String,
    org_contain: String,
    org_close: String,
    type_ack: String,
    type_contain: String,
    type_close: String,
    rows: Vec<Durations>,
}

impl MetricsPage {
    fn min(&self, m: &Option<i64>) -> String {
        m.map(|m| format!("{m} min")).unwrap_or_else(|| "—".into())
    }
}

fn chart_of(title: &str, ds: &[Durations], f: fn(&Durations) -> Option<i64>) -> String {
    let rows: Vec<(String, i64)> = ds
        .iter()
        .filter_map(|d| f(d).map(|m| (d.group.clone(), m)))
        .collect();
    chart::bars(title, &rows)
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
    let m = match case_metrics::metrics(&state.cases(), &Actor::from_auth(auth)).await {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    let t = c.t;
    let (ack, contain, close) = (
        t.get("case.sla_ack"),
        t.get("case.sla_contain"),
        t.get("metrics.close"),
    );
    render(MetricsPage {
        org_ack: chart_of(ack, &m.by_org, |d| d.acknowledge_minutes),
        org_contain: chart_of(contain, &m.by_org, |d| d.contain_minutes),
        org_close: chart_of(close, &m.by_org, |d| d.close_minutes),
        type_ack: chart_of(ack, &m.by_type, |d| d.acknowledge_minutes),
        type_contain: chart_of(contain, &m.by_type, |d| d.contain_minutes),
        type_close: chart_of(close, &m.by_type, |d| d.close_minutes),
        rows: m.by_org.into_iter().chain(m.by_type).collect(),
        f: c.frame("cases", flash),
    })
}
