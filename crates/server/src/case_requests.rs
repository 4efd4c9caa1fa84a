//! Coordination requests inside a case: one participating organisation asks another for support,
//! log collection, a takedown or information. A request is seen only by the organisation that
//! sent it and the one it is addressed to (and hub administrators): `mamori_access::may_see_request`
//! decides, and refused reads are audited. The recipient accepts, declines, works and completes
//! it; the sender may cancel it. Status changes carry the version the caller saw, so that two
//! people answering at once get a conflict instead of overwriting each other.

use mamori_model::OrgId;
use mamori_store::case_requests::{CaseRequest, NewRequest, RequestMessage};
use mamori_store::cases::Case;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::ApiError;
use crate::case_notify::CaseEvent;
use crate::cases::{CaseCtx, load, require_write};
use crate::ops::{Actor, audit};

/// The kinds of request.
pub const KINDS: &[&str] = &["support", "log_collection", "takedown", "information"];
/// The statuses of a request.
pub const STATUSES: &[&str] = &[
    "open",
    "accepted",
    "declined",
    "in_progress",
    "done",
    "cancelled",
];
/// Statuses the recipient sets.
const RECIPIENT_STATUSES: &[&str] = &["accepted", "declined", "in_progress", "done"];
/// Statuses after which nothing changes.
const FINAL: &[&str] = &["declined", "done", "cancelled"];

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// Organisation id or slug of the recipient (a participant of the case).
    pub to: String,
    /// support, log_collection, takedown, information
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub body: String,
    /// Due date (ms since the epoch).
    pub due_at: Option<i64>,
    /// The sending organisation; only for hub administrators, who belong to no party.
    pub from: Option<String>,
}

/// A request with its thread.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    pub request: CaseRequest,
    pub messages: Vec<RequestMessage>,
}

fn is_participant(c: &Case, org: OrgId) -> bool {
    c.participants.iter().any(|p| p.org == org)
}

async fn load_request(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    id: &str,
) -> Result<(Case, CaseRequest), ApiError> {
    let c = load(cx.store, actor, case).await?;
    let r = cx.store.get_request(case, id).await?;
    if let Some(p) = &actor.principal
        && !mamori_access::may_see_request(p, r.from_org, r.to_org)
    {
        audit(
            cx.store,
            actor,
            "case.request.denied",
            "case_request",
            id,
            None,
            json!({"case": case}),
        )
        .await?;
        return Err(ApiError::NotFound("request".into()));
    }
    Ok((c, r))
}

pub async fn create(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    to: OrgId,
    from: Option<OrgId>,
    input: &RequestInput,
) -> Result<CaseRequest, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, case).await?;
    let from = match (&actor.principal, from) {
        (Some(p), _) if p.role != mamori_model::Role::Admin => p.org_id,
        (Some(p), None) => p.org_id,
        (_, Some(f)) => f,
        (None, None) => {
            return Err(ApiError::Invalid(
                "name the sending organisation (from)".into(),
            ));
        }
    };
    if !KINDS.contains(&input.kind.as_str()) {
        return Err(ApiError::Invalid(format!("kind must be one of {KINDS:?}")));
    }
    if !is_participant(&c, from) || !is_participant(&c, to) {
        return Err(ApiError::Invalid(
            "both organisations must take part in the case".into(),
        ));
    }
    if from == to {
        return Err(ApiError::Invalid(
            "a request goes to another organisation".into(),
        ));
    }
    let r = cx
        .store
        .create_request(&NewRequest {
            case_id: case.to_owned(),
            from_org: from,
            to_org: to,
            kind: input.kind.clone(),
            title: input.title.clone(),
            body: input.body.clone(),
            due_at: input.due_at,
            created_by: actor.principal.as_ref().map(|p| p.user_id),
        })
        .await?;
    audit(
        cx.store,
        actor,
        "case.request.create",
        "case_request",
        &r.id,
        Some(c.tlp),
        json!({"case": case, "from": from, "to": to, "kind": r.kind}),
    )
    .await?;
    cx.notifier.send(
        cx.store,
        &c,
        vec![to],
        Vec::new(),
        CaseEvent::NewRequest {
            kind: r.kind.clone(),
            title: r.title.clone(),
        },
    );
    Ok(r)
}

/// The requests of a case the actor's organisation sends or receives.
pub async fn list(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
) -> Result<Vec<CaseRequest>, ApiError> {
    load(cx.store, actor, case).await?;
    let scope = actor
        .principal
        .as_ref()
        .and_then(mamori_access::request_scope);
    Ok(cx.store.list_requests(case, scope).await?)
}

pub async fn get(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    id: &str,
) -> Result<RequestView, ApiError> {
    let (c, request) = load_request(cx, actor, case, id).await?;
    crate::ops::audit_read(cx.store, actor, "case_request", id, c.tlp).await?;
    let messages = cx.store.request_messages(id).await?;
    Ok(RequestView { request, messages })
}

/// Changes a request's status. `version` is the version the caller saw (`None`: don't check).
pub async fn set_status(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    id: &str,
    status: &str,
    version: Option<i64>,
) -> Result<CaseRequest, ApiError> {
    require_write(actor)?;
    let (c, r) = load_request(cx, actor, case, id).await?;
    if !STATUSES.contains(&status) {
        return Err(ApiError::Invalid(format!(
            "status must be one of {STATUSES:?}"
        )));
    }
    if FINAL.contains(&r.status.as_str()) {
        return Err(ApiError::Conflict(format!(
            "the request is {} and can no longer change",
            r.status
        )));
    }
    let allowed = match actor
        .principal
        .as_ref()
        .and_then(mamori_access::request_scope)
    {
        None => true,
        Some(org) if org == r.to_org => RECIPIENT_STATUSES.contains(&status),
        Some(org) if org == r.from_org => status == "cancelled",
        Some(_) => false,
    };
    if !allowed {
        return Err(ApiError::forbidden(
            "set this status (the recipient accepts, declines, works and completes a request; the sender may cancel it)",
        ));
    }
    let r = cx
        .store
        .set_request_status(case, id, status, version)
        .await?;
    audit(
        cx.store,
        actor,
        "case.request.status",
        "case_request",
        id,
        Some(c.tlp),
        json!({"case": case, "status": status, "version": r.version}),
    )
    .await?;
    cx.notifier.send(
        cx.store,
        &c,
        vec![r.from_org, r.to_org],
        Vec::new(),
        CaseEvent::RequestStatus {
            title: r.title.clone(),
            status: status.to_owned(),
        },
    );
    Ok(r)
}

/// Adds a message to a request's thread (either party).
pub async fn add_message(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    id: &str,
    body: &str,
) -> Result<RequestMessage, ApiError> {
    require_write(actor)?;
    let (c, r) = load_request(cx, actor, case, id).await?;
    if body.trim().is_empty() {
        return Err(ApiError::Invalid("a message needs text".into()));
    }
    let m = cx
        .store
        .add_request_message(
            &r.id,
            &actor.name,
            actor.principal.as_ref().map(|p| p.org_id),
            body,
        )
        .await?;
    audit(
        cx.store,
        actor,
        "case.request.message",
        "case_request",
        id,
        Some(c.tlp),
        json!({"case": case, "message": m.id}),
    )
    .await?;
    Ok(m)
}
