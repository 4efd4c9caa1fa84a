//! Audit records for changes that were refused. Successful changes are recorded by [`crate::ops`]
//! with their objects; this middleware records every mutating request that ended in a client
//! error (401, 403, 404, 409, 413, 422, 429, ...) with who asked (when known), the method, path
//! and status, so that probing and failed attempts are visible in the same hash-chained log.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use mamori_model::{OrgId, UserId};

use crate::AppState;
use crate::auth::RequestCtx;
use crate::ops::Actor;

/// Filled by the [`crate::auth::Auth`] extractor so that this middleware learns who asked.
#[derive(Debug, Clone, Default)]
pub struct WhoSlot(pub Arc<Mutex<Option<(UserId, OrgId, String)>>>);

impl WhoSlot {
    pub fn set(&self, user: UserId, org: OrgId, name: &str) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some((user, org, name.to_owned()));
        }
    }
}

/// Paths whose handlers audit their own failures.
fn self_audited(path: &str) -> bool {
    path == "/login"
}

pub async fn record(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !unsafe_method || self_audited(req.uri().path()) {
        return next.run(req).await;
    }
    let slot = WhoSlot::default();
    req.extensions_mut().insert(slot.clone());
    let (parts, body) = req.into_parts();
    let ctx = RequestCtx::from_parts(&parts);
    let method = parts.method.to_string();
    let path: String = parts.uri.path().chars().take(300).collect();
    let resp = next.run(Request::from_parts(parts, body)).await;
    let status = resp.status();
    if status.is_client_error() {
        let who = slot.0.lock().ok().and_then(|g| g.clone());
        let actor = Actor {
            principal: None,
            name: who
                .as_ref()
                .map_or_else(|| "anonymous".to_owned(), |w| w.2.clone()),
            source: ctx.source,
            request_id: ctx.request_id,
        };
        let entry = mamori_store::audit::AuditEntry {
            actor_user: who.as_ref().map(|w| w.0),
            actor_org: who.as_ref().map(|w| w.1),
            actor_name: actor.name.clone(),
            action: "request.rejected".into(),
            object_type: "http".into(),
            object_id: format!("{method} {path}"),
            tlp: None,
            source: actor.source.clone(),
            request_id: actor.request_id.clone(),
            detail: serde_json::json!({"status": status.as_u16()}),
        };
        if let Err(e) = state.store.append_audit(&entry).await {
            tracing::error!(error = %e, "cannot audit a rejected request");
        }
    }
    resp
}
