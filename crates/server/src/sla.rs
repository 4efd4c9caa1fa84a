//! SLA clocks of cases: time to acknowledge (the case leaves `new`) and time to contain (it
//! reaches `containment` or later), per severity from `[cases]` in the configuration. Overdue is
//! computed on every read; [`check_once`] (run every minute by [`sla_task`]) records each breach
//! once, puts it on the timeline, audits it and notifies the participants.

use mamori_config::CasesConfig;
use mamori_store::cases::Case;
use serde::Serialize;
use serde_json::json;

use crate::ApiError;
use crate::case_notify::CaseEvent;
use crate::cases::{CaseCtx, participant_orgs};
use crate::ops::{Actor, audit};

/// The two clocks of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Sla {
    /// When the case must be acknowledged by (ms since the epoch).
    pub acknowledge_due_at: i64,
    pub acknowledged_at: Option<i64>,
    /// Not acknowledged and past due, or acknowledged late.
    pub acknowledge_overdue: bool,
    /// When the case must be contained by.
    pub contain_due_at: i64,
    pub contained_at: Option<i64>,
    /// Not contained and past due, or contained late.
    pub contain_overdue: bool,
}

fn minutes(m: Option<u64>) -> i64 {
    i64::try_from(m.unwrap_or(1440)).unwrap_or(i64::MAX / 60_000) * 60_000
}

fn overdue(done: Option<i64>, due: i64, now: i64) -> bool {
    match done {
        Some(at) => at > due,
        None => now > due,
    }
}

/// The clocks of `case` at `now`. An unknown severity counts as one day for both.
pub fn compute(case: &Case, config: &CasesConfig, now: i64) -> Sla {
    let ack_due = case
        .created_at
        .saturating_add(minutes(config.sla_acknowledge_minutes.get(&case.severity)));
    let contain_due = case
        .created_at
        .saturating_add(minutes(config.sla_contain_minutes.get(&case.severity)));
    Sla {
        acknowledge_due_at: ack_due,
        acknowledged_at: case.acknowledged_at,
        acknowledge_overdue: overdue(case.acknowledged_at, ack_due, now),
        contain_due_at: contain_due,
        contained_at: case.contained_at,
        contain_overdue: overdue(case.contained_at, contain_due, now),
    }
}

/// Finds open cases whose clocks ran out unmet at `now` and handles each breach once: recorded
/// in storage (so several hub processes notify once between them), written to the timeline,
/// audited and notified. Returns the number of new breaches.
pub async fn check_once(cx: &CaseCtx<'_>, now: i64) -> Result<usize, ApiError> {
    let actor = Actor::system();
    let mut found = 0;
    for case in cx.store.open_cases().await? {
        let sla = compute(&case, cx.config, now);
        let breaches = [
            (
                "acknowledge",
                case.acknowledged_at.is_none() && sla.acknowledge_overdue,
                sla.acknowledge_due_at,
            ),
            (
                "contain",
                case.contained_at.is_none() && sla.contain_overdue,
                sla.contain_due_at,
            ),
        ];
        for (kind, breached, due) in breaches {
            if !breached || !cx.store.record_sla_breach(&case.id, kind, now).await? {
                continue;
            }
            found += 1;
            let text = match kind {
                "acknowledge" => {
                    "SLA超過: 受付期限を過ぎました / SLA breach: not acknowledged in time"
                }
                _ => "SLA超過: 封じ込め期限を過ぎました / SLA breach: not contained in time",
            };
            cx.store
                .add_timeline_entry(&case.id, now, "sla", text, None)
                .await?;
            audit(
                cx.store,
                &actor,
                "case.sla_breach",
                "case",
                &case.id,
                Some(case.tlp),
                json!({"kind": kind, "due_at": due}),
            )
            .await?;
            cx.notifier.send(
                cx.store,
                &case,
                participant_orgs(&case),
                Vec::new(),
                CaseEvent::SlaBreach {
                    kind: kind.to_owned(),
                    due_at: due,
                },
            );
        }
    }
    Ok(found)
}

/// Runs [`check_once`] every minute until `shutdown` turns true.
pub async fn sla_task(state: crate::AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        if let Err(e) = check_once(&state.cases(), mamori_store::now_millis()).await {
            tracing::error!(error = %e, "case SLA check failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(60)) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
