//! Monitoring pages: the alerts routed to the reader's organisation (with charts by level and
//! status), one alert with its evidence and the triage actions, and event search.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use mamori_store::alerts::{ALERT_STATUSES, Alert};
use serde::Deserialize;

use super::{Console, Flash, Frame, back, chart, fmt_time, render, urlencode};
use crate::AppState;
use crate::monitor::{self, AlertView, EventSearch, FalsePositiveInput, TriageInput};
use crate::ops::Actor;

const LEVELS: [&str; 5] = ["critical", "high", "medium", "low", "informational"];

#[derive(Debug, Default, Deserialize)]
pub struct AlertFilter {
    #[serde(default)]
    status: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    ok: Option<String>,
    #[serde(default)]
    err: Option<String>,
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    f: Frame,
    alerts: Vec<(Alert, String)>,
    status: String,
    level: String,
    statuses: Vec<&'static str>,
    levels: Vec<&'static str>,
    level_chart: String,
    status_chart: String,
}

pub async fn list(
    State(state): State<AppState>,
    c: Console,
    Query(q): Query<AlertFilter>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actor = Actor::from_auth(auth);
    let all = match monitor::list_alerts(&state, &actor, &monitor::AlertFilter::default()).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let count = |f: &dyn Fn(&Alert) -> bool| all.iter().filter(|a| f(a)).count() as i64;
    let level_rows: Vec<(String, i64)> = LEVELS
        .iter()
        .map(|l| ((*l).to_owned(), count(&|a: &Alert| a.level == *l)))
        .collect();
    let status_rows: Vec<(String, i64)> = ALERT_STATUSES
        .iter()
        .map(|s| {
            (
                c.t.get(&format!("alert.status.{s}")).to_owned(),
                count(&|a: &Alert| a.status == *s),
            )
        })
        .collect();
    let alerts = all
        .iter()
        .filter(|a| q.status.is_empty() || a.status == q.status)
        .filter(|a| q.level.is_empty() || a.level == q.level)
        .map(|a| (a.clone(), fmt_time(a.last_seen)))
        .collect();
    render(AlertsPage {
        level_chart: chart::bars(c.t.get("alert.by_level"), &level_rows),
        status_chart: chart::bars(c.t.get("alert.by_status"), &status_rows),
        f: c.frame(
            "alerts",
            Flash {
                ok: q.ok,
                err: q.err,
            },
        ),
        alerts,
        status: q.status,
        level: q.level,
        statuses: ALERT_STATUSES.to_vec(),
        levels: LEVELS.to_vec(),
    })
}

#[derive(Template)]
#[template(path = "alert.html")]
struct AlertPage {
    f: Frame,
    v: AlertView,
    first_seen: String,
    last_seen: String,
    evidence: Vec<(String, String)>,
    can_write: bool,
    statuses: Vec<&'static str>,
}

pub async fn view(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let v = match monitor::get_alert(&state, &Actor::from_auth(auth), &id).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    let evidence = v
        .evidence
        .iter()
        .map(|e| {
            (
                fmt_time(e.ts),
                serde_json::to_string_pretty(&e.doc).unwrap_or_default(),
            )
        })
        .collect();
    render(AlertPage {
        f: c.frame("alerts", flash),
        first_seen: fmt_time(v.alert.first_seen),
        last_seen: fmt_time(v.alert.last_seen),
        evidence,
        can_write: mamori_access::may_write(&auth.principal),
        statuses: ALERT_STATUSES.to_vec(),
        v,
    })
}

#[derive(Debug, Deserialize)]
pub struct TriageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    assignee: String,
}

pub async fn triage(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<TriageForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let input = TriageInput {
        status: Some(form.status).filter(|s| !s.is_empty()),
        assignee: Some(form.assignee.trim().to_owned()),
    };
    let r = monitor::triage(&state, &Actor::from_auth(auth), &id, &input)
        .await
        .map(|_| "alert.updated");
    back(&format!("/alerts/{id}"), r)
}

#[derive(Debug, Deserialize)]
pub struct FalsePositiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    all_hosts: Option<String>,
}

pub async fn false_positive(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<FalsePositiveForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let input = FalsePositiveInput {
        reason: form.reason,
        all_hosts: form.all_hosts.is_some(),
    };
    let r = monitor::false_positive(&state, &Actor::from_auth(auth), &id, &input)
        .await
        .map(|_| "alert.suppressed");
    back(&format!("/alerts/{id}"), r)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn escalate(
    State(state): State<AppState>,
    c: Console,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let auth = match c.require_post(&form.csrf) {
        Ok(a) => a,
        Err(r) => return r,
    };
    match monitor::escalate(&state, &Actor::from_auth(auth), &id).await {
        Ok(a) => Redirect::to(&format!(
            "/cases/{}?ok={}",
            a.case_id.unwrap_or_default(),
            urlencode("alert.escalated")
        ))
        .into_response(),
        Err(e) => back(&format!("/alerts/{id}"), Err(e)),
    }
}

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    f: Frame,
    q: String,
    fields: String,
    rows: Vec<(String, String, String, String, String)>,
    next: Option<String>,
    error: Option<String>,
    searched: bool,
}

/// A one-line summary of an event for the result table.
fn summary(doc: &serde_json::Value) -> String {
    let get = |k: &str| {
        doc.get(k).and_then(|v| {
            v.as_str()
                .map(str::to_owned)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
        })
    };
    let s = get("message")
        .or_else(|| get("Event.EventData.CommandLine"))
        .or_else(|| get("dns.question.name"))
        .or_else(|| get("url.full"))
        .or_else(|| get("destination.ip"))
        .or_else(|| get("Event.System.EventID").map(|id| format!("EventID {id}")))
        .unwrap_or_default();
    s.chars().take(200).collect()
}

pub async fn events(
    State(state): State<AppState>,
    c: Console,
    Query(s): Query<EventSearch>,
) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let searched = s.q.is_some() || s.fields.is_some();
    let (rows, next, error) =
        match monitor::search_events(&state, &Actor::from_auth(auth), &s).await {
            Ok(p) => {
                let rows = p
                    .items
                    .iter()
                    .map(|e| {
                        let host = ["host.name", "Event.System.Computer"]
                            .iter()
                            .find_map(|k| e.doc.get(*k).and_then(|v| v.as_str()))
                            .unwrap_or("")
                            .to_owned();
                        let ds = ["event.dataset", "Event.System.Channel"]
                            .iter()
                            .find_map(|k| e.doc.get(*k).and_then(|v| v.as_str()))
                            .unwrap_or("")
                            .to_owned();
                        (fmt_time(e.ts), host, ds, summary(&e.doc), e.id.to_string())
                    })
                    .collect();
                let next = p.next.map(|n| {
                    format!(
                        "/events?q={}&fields={}&before={}",
                        urlencode(s.q.as_deref().unwrap_or("")),
                        urlencode(s.fields.as_deref().unwrap_or("")),
                        urlencode(&n)
                    )
                });
                (rows, next, None)
            }
            Err(e) => (Vec::new(), None, Some(e.to_string())),
        };
    render(EventsPage {
        f: c.frame("events", Flash::default()),
        q: s.q.clone().unwrap_or_default(),
        fields: s.fields.clone().unwrap_or_default(),
        rows,
        next,
        error,
        searched,
    })
}

#[derive(Template)]
#[template(path = "sensors.html")]
struct SensorsPage {
    f: Frame,
    /// (name, organisation, last seen, state class, state text)
    sensors: Vec<(String, String, String, &'static str, String)>,
    /// (received, origin, reason, text)
    dead: Vec<(String, String, String, String)>,
    health_chart: String,
    /// Hub administrators only.
    hunts: Option<Vec<HuntRow>>,
}

/// One retro-hunt on the sensors page.
struct HuntRow {
    started: String,
    indicators: i64,
    events: i64,
    alerts: i64,
    sightings: i64,
    state: String,
    /// `running` or `finished` (the row's class).
    class: &'static str,
}

/// Sensors with their health (a sensor not heard from for 15 minutes is stale) and the
/// newest dead letters, for the reader's organisation (hub administrators: all).
pub async fn sensors(State(state): State<AppState>, c: Console) -> Response {
    let auth = match c.require_login() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let actor = Actor::from_auth(auth);
    let (list, dead) = match (
        monitor::list_sensors(&state.store, &actor).await,
        monitor::dead_letters(&state, &actor).await,
    ) {
        (Ok(l), Ok(d)) => (l, d),
        (Err(e), _) | (_, Err(e)) => return e.into_response(),
    };
    let now = mamori_store::now_millis();
    let mut counts = [0i64; 4];
    let mut sensors = Vec::new();
    for s in &list {
        let org = state
            .store
            .get_org(s.org_id)
            .await
            .map(|o| o.name(c.t.lang).to_owned())
            .unwrap_or_else(|_| s.org_id.to_string());
        let (class, key, slot) = match (s.revoked_at, s.last_seen_at) {
            (Some(_), _) => ("revoked", "sensor.revoked", 3),
            (None, None) => ("never", "sensor.never", 2),
            (None, Some(t)) if now - t > 15 * 60_000 => ("stale", "sensor.stale", 1),
            (None, Some(_)) => ("active", "sensor.active", 0),
        };
        counts[slot] += 1;
        sensors.push((
            s.name.clone(),
            org,
            s.last_seen_at.map(fmt_time).unwrap_or_default(),
            class,
            c.t.get(key).to_owned(),
        ));
    }
    let rows: Vec<(String, i64)> = [
        "sensor.active",
        "sensor.stale",
        "sensor.never",
        "sensor.revoked",
    ]
    .iter()
    .zip(counts)
    .map(|(k, n)| (c.t.get(k).to_owned(), n))
    .collect();
    let dead = dead
        .into_iter()
        .take(50)
        .map(|d| {
            (
                fmt_time(d.received_at),
                d.origin,
                d.reason,
                d.text.chars().take(300).collect(),
            )
        })
        .collect();
    // Retro-hunts are hub-wide work: only hub administrators see them (the API refuses
    // everyone else the same way).
    let hunts = monitor::retro_hunts(&state, &actor).await.ok().map(|list| {
        list.into_iter()
            .filter(|h| h.id != mamori_store::retro::BASELINE)
            .take(20)
            .map(|h| {
                let (state_text, class) = match h.finished_at {
                    Some(_) => (c.t.get("retro.finished").to_owned(), "finished"),
                    None => (
                        format!(
                            "{} ({} {})",
                            c.t.get("retro.running"),
                            h.blocks,
                            c.t.get("retro.blocks")
                        ),
                        "running",
                    ),
                };
                HuntRow {
                    started: fmt_time(h.created_at),
                    indicators: h.indicators,
                    events: h.events,
                    alerts: h.alerts,
                    sightings: h.sightings,
                    state: state_text,
                    class,
                }
            })
            .collect()
    });
    render(SensorsPage {
        hunts,
        health_chart: chart::bars(c.t.get("sensor.health"), &rows),
        f: c.frame("sensors", Flash::default()),
        sensors,
        dead,
    })
}
