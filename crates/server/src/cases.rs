//! Incident response: cases with participating organisations, playbook tasks and a timeline.
//! Each party sees only the cases it takes part in (hub administrators see all); changes are
//! checked through the access policy (`mamori_access::may_see_case`) and audited like every other
//! operation; refused reads are audited too. Evidence, coordination requests, SLA clocks,
//! notifications and the after-action report live in their own modules beside this one.

use std::path::Path;

use mamori_config::CasesConfig;
use mamori_model::{OrgId, Role, Scope, Tlp};
use mamori_store::Store;
use mamori_store::case_requests::CaseRequest;
use mamori_store::cases::{Case, NewCase, Task, TimelineEntry};
use mamori_store::evidence::Evidence;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ApiError;
use crate::case_notify::{CaseEvent, Notifier};
use crate::ops::{Actor, audit};
use crate::sla::Sla;

/// What case operations need: storage, the case settings, the data directory (evidence files)
/// and the notification sender.
pub struct CaseCtx<'a> {
    pub store: &'a Store,
    pub config: &'a CasesConfig,
    pub data_dir: &'a Path,
    pub notifier: &'a Notifier,
}

impl crate::AppState {
    /// The case context of the running hub.
    pub fn cases(&self) -> CaseCtx<'_> {
        CaseCtx {
            store: &self.store,
            config: &self.config.cases,
            data_dir: &self.config.data_dir,
            notifier: &self.notifier,
        }
    }
}

/// The statuses a case moves through.
pub const STATUSES: &[&str] = &[
    "new",
    "triage",
    "containment",
    "eradication",
    "recovery",
    "closed",
];
/// The roles an organisation can have in a case.
pub const ROLES: &[&str] = &[
    "victim",
    "coordinator",
    "rescue-team",
    "external-csirt",
    "expert",
];
pub const SEVERITIES: &[&str] = &["low", "medium", "high", "critical"];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default = "medium")]
    pub severity: String,
    #[serde(default = "amber")]
    pub tlp: Tlp,
    /// A playbook (built in or edited by administrators) whose tasks the case starts with.
    pub playbook: Option<String>,
}

fn medium() -> String {
    "medium".into()
}
fn amber() -> Tlp {
    Tlp::Amber
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub case: Case,
    /// Time to acknowledge and to contain, with overdue warnings (computed on read).
    pub sla: Sla,
    pub tasks: Vec<Task>,
    pub timeline: Vec<TimelineEntry>,
    pub evidence: Vec<Evidence>,
    /// The coordination requests the caller's organisation sends or receives.
    pub requests: Vec<CaseRequest>,
}

pub(crate) fn org_scope(actor: &Actor) -> Option<OrgId> {
    actor
        .principal
        .as_ref()
        .filter(|p| p.role != Role::Admin)
        .map(|p| p.org_id)
}

pub(crate) fn require_write(actor: &Actor) -> Result<(), ApiError> {
    match &actor.principal {
        Some(p) if !p.has_scope(Scope::Write) || !mamori_access::may_write(p) => Err(
            ApiError::forbidden("work cases (analysts and administrators may)"),
        ),
        _ => Ok(()),
    }
}

/// The case if the actor takes part in it (or runs the hub); otherwise "not found", and the
/// refused attempt is audited.
pub(crate) async fn load(store: &Store, actor: &Actor, id: &str) -> Result<Case, ApiError> {
    let c = store.get_case(id).await?;
    let orgs: Vec<OrgId> = c.participants.iter().map(|p| p.org).collect();
    match &actor.principal {
        Some(p) if !mamori_access::may_see_case(p, &orgs) => {
            audit(
                store,
                actor,
                "case.denied",
                "case",
                id,
                None,
                json!({"reason": "not a participant"}),
            )
            .await?;
            Err(ApiError::NotFound("case".into()))
        }
        _ => Ok(c),
    }
}

/// The organisations taking part in a case (the recipients of its notifications).
pub(crate) fn participant_orgs(c: &Case) -> Vec<OrgId> {
    c.participants.iter().map(|p| p.org).collect()
}

/// The owner organisation (or a hub administrator) steers the case.
fn require_owner(actor: &Actor, c: &Case) -> Result<(), ApiError> {
    match org_scope(actor) {
        Some(org) if org != c.owner_org => Err(ApiError::forbidden(
            "change a case your organisation does not own",
        )),
        _ => Ok(()),
    }
}

pub async fn create(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    input: &CaseInput,
) -> Result<CaseView, ApiError> {
    require_write(actor)?;
    let Some(p) = &actor.principal else {
        return Err(ApiError::Invalid(
            "cases are opened by a user of a member organisation".into(),
        ));
    };
    if !SEVERITIES.contains(&input.severity.as_str()) {
        return Err(ApiError::Invalid(format!(
            "severity must be one of {SEVERITIES:?}"
        )));
    }
    let now = mamori_store::now_millis();
    let tasks = match &input.playbook {
        Some(name) => crate::playbooks::find(cx.store, name)
            .await?
            .ok_or_else(|| ApiError::Invalid(format!("unknown playbook {name:?}")))?
            .tasks
            .into_iter()
            .map(|t| (t.title, Some(now + i64::from(t.hours) * 3_600_000)))
            .collect(),
        None => Vec::new(),
    };
    let case = cx
        .store
        .create_case(&NewCase {
            title: input.title.clone(),
            description: input.description.clone(),
            severity: input.severity.clone(),
            tlp: input.tlp,
            owner_org: p.org_id,
            created_by: Some(p.user_id),
            tasks,
            incident_type: input.playbook.clone().unwrap_or_default(),
        })
        .await?;
    audit(
        cx.store,
        actor,
        "case.create",
        "case",
        &case.id,
        Some(case.tlp),
        json!({"playbook": input.playbook}),
    )
    .await?;
    view(cx, actor, case).await
}

async fn view(cx: &CaseCtx<'_>, actor: &Actor, case: Case) -> Result<CaseView, ApiError> {
    let tasks = cx.store.case_tasks(&case.id).await?;
    let timeline = cx.store.case_timeline(&case.id).await?;
    let evidence = cx.store.list_evidence(&case.id).await?;
    let scope = actor
        .principal
        .as_ref()
        .and_then(mamori_access::request_scope);
    let requests = cx.store.list_requests(&case.id, scope).await?;
    let sla = crate::sla::compute(&case, cx.config, mamori_store::now_millis());
    Ok(CaseView {
        case,
        sla,
        tasks,
        timeline,
        evidence,
        requests,
    })
}

pub async fn get(cx: &CaseCtx<'_>, actor: &Actor, id: &str) -> Result<CaseView, ApiError> {
    let c = load(cx.store, actor, id).await?;
    crate::ops::audit_read(cx.store, actor, "case", id, c.tlp).await?;
    view(cx, actor, c).await
}

pub async fn list(cx: &CaseCtx<'_>, actor: &Actor) -> Result<Vec<Case>, ApiError> {
    Ok(cx.store.list_cases(org_scope(actor)).await?)
}

pub async fn set_status(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    id: &str,
    status: &str,
    resolution: Option<&str>,
    version: Option<i64>,
) -> Result<CaseView, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, id).await?;
    require_owner(actor, &c)?;
    if !STATUSES.contains(&status) {
        return Err(ApiError::Invalid(format!(
            "status must be one of {STATUSES:?}"
        )));
    }
    if status == "closed" && resolution.is_none_or(|r| r.trim().is_empty()) {
        return Err(ApiError::Invalid(
            "closing a case needs a resolution".into(),
        ));
    }
    let c = cx
        .store
        .set_case_status(id, status, resolution, version)
        .await?;
    audit(
        cx.store,
        actor,
        "case.status",
        "case",
        id,
        Some(c.tlp),
        json!({"status": status}),
    )
    .await?;
    cx.notifier.send(
        cx.store,
        &c,
        participant_orgs(&c),
        Vec::new(),
        CaseEvent::StatusChanged {
            status: status.to_owned(),
        },
    );
    view(cx, actor, c).await
}

pub async fn add_participant(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    id: &str,
    org: OrgId,
    role: &str,
) -> Result<CaseView, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, id).await?;
    require_owner(actor, &c)?;
    if !ROLES.contains(&role) {
        return Err(ApiError::Invalid(format!("role must be one of {ROLES:?}")));
    }
    cx.store.get_org(org).await?;
    let c = cx.store.add_case_participant(id, org, role).await?;
    audit(
        cx.store,
        actor,
        "case.participant",
        "case",
        id,
        Some(c.tlp),
        json!({"org": org, "role": role}),
    )
    .await?;
    view(cx, actor, c).await
}

pub async fn add_timeline(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    id: &str,
    at: Option<i64>,
    text: &str,
    source: &str,
) -> Result<TimelineEntry, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, id).await?;
    if text.trim().is_empty() {
        return Err(ApiError::Invalid("a timeline entry needs text".into()));
    }
    let e = cx
        .store
        .add_timeline_entry(
            id,
            at.unwrap_or_else(mamori_store::now_millis),
            source,
            text,
            actor.principal.as_ref().map(|p| p.user_id),
        )
        .await?;
    audit(
        cx.store,
        actor,
        "case.timeline",
        "case",
        id,
        Some(c.tlp),
        json!({"entry": e.id}),
    )
    .await?;
    Ok(e)
}

pub async fn set_task(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    id: &str,
    task: &str,
    status: &str,
) -> Result<CaseView, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, id).await?;
    if !["open", "in-progress", "done", "skipped"].contains(&status) {
        return Err(ApiError::Invalid(
            "task status: open, in-progress, done, skipped".into(),
        ));
    }
    cx.store.set_task_status(id, task, status).await?;
    audit(
        cx.store,
        actor,
        "case.task",
        "case",
        id,
        Some(c.tlp),
        json!({"task": task, "status": status}),
    )
    .await?;
    view(cx, actor, c).await
}

/// Assigns a task to a user of a participating organisation (or clears it with `None`); the
/// assignee and their organisation are notified.
pub async fn assign_task(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    id: &str,
    task: &str,
    assignee: Option<&str>,
) -> Result<CaseView, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, id).await?;
    let user = match assignee.map(str::trim).filter(|a| !a.is_empty()) {
        Some(name) => {
            let u = cx.store.find_user(name).await.map_err(|_| {
                ApiError::Invalid(format!("no user {name:?} in the case's organisations"))
            })?;
            if !c.participants.iter().any(|p| p.org == u.org_id) {
                return Err(ApiError::Invalid(format!(
                    "no user {name:?} in the case's organisations"
                )));
            }
            Some(u)
        }
        None => None,
    };
    let title = cx
        .store
        .case_tasks(id)
        .await?
        .into_iter()
        .find(|t| t.id == task)
        .map(|t| t.title)
        .ok_or_else(|| ApiError::NotFound("task".into()))?;
    cx.store
        .set_task_assignee(id, task, user.as_ref().map(|u| u.username.as_str()))
        .await?;
    audit(
        cx.store,
        actor,
        "case.task.assign",
        "case",
        id,
        Some(c.tlp),
        json!({"task": task, "assignee": user.as_ref().map(|u| &u.username)}),
    )
    .await?;
    if let Some(u) = &user {
        let emails = if u.email.is_empty() {
            Vec::new()
        } else {
            vec![(u.email.clone(), u.lang)]
        };
        cx.notifier.send(
            cx.store,
            &c,
            vec![u.org_id],
            emails,
            CaseEvent::Assigned {
                task: title,
                assignee: u.username.clone(),
            },
        );
    }
    view(cx, actor, c).await
}

/// Records the lessons learned (the owner organisation), shown in the after-action report.
pub async fn set_lessons(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    id: &str,
    lessons: &str,
    version: Option<i64>,
) -> Result<CaseView, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, id).await?;
    require_owner(actor, &c)?;
    let c = cx.store.set_case_lessons(id, lessons, version).await?;
    audit(
        cx.store,
        actor,
        "case.lessons",
        "case",
        id,
        Some(c.tlp),
        json!({"chars": lessons.chars().count()}),
    )
    .await?;
    view(cx, actor, c).await
}

/// Imports a `mamori hunt` timeline (`--format jsonl` or `--format csv`) into a case (source
/// `hunt`), one entry per detection; lines that are not detections are counted and skipped.
/// Returns (imported, skipped).
pub async fn import_hunt(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    id: &str,
    body: &str,
) -> Result<(usize, usize), ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, id).await?;
    let (entries, bad) = crate::hunt_import::parse(body);
    let ok = entries.len();
    for e in entries {
        cx.store
            .add_timeline_entry(
                id,
                e.at,
                "hunt",
                &e.text,
                actor.principal.as_ref().map(|p| p.user_id),
            )
            .await?;
    }
    audit(
        cx.store,
        actor,
        "case.timeline.import",
        "case",
        id,
        Some(c.tlp),
        json!({"imported": ok, "skipped": bad}),
    )
    .await?;
    Ok((ok, bad))
}
