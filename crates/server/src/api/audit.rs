//! `/api/v1/audit`: reading and verifying the audit log (administrators and auditors).

use axum::Json;
use axum::extract::State;
use mamori_store::audit::{AuditRecord, VerifyReport};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::PageOf;
use crate::auth::Auth;
use crate::error::{ApiQuery, Problem};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// The `next_cursor` of the previous page (a sequence number).
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn require_auditor(auth: &Auth) -> Result<(), ApiError> {
    if mamori_access::may_read_audit(&auth.principal) {
        Ok(())
    } else {
        Err(ApiError::forbidden("read the audit log"))
    }
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = PageOf<AuditRecord>), (status = 403, body = Problem)))]
async fn list_audit(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<PageOf<AuditRecord>>, ApiError> {
    require_auditor(&auth)?;
    let before = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::Invalid("malformed cursor".into()))?,
        ),
    };
    let page = state
        .store
        .list_audit(before, q.limit.unwrap_or(50))
        .await?;
    Ok(Json(page.into()))
}

/// Verifies the hash chain and reports the first broken link.
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = VerifyReport), (status = 403, body = Problem)))]
async fn verify_audit(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<VerifyReport>, ApiError> {
    require_auditor(&auth)?;
    Ok(Json(state.store.verify_audit().await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(verify_audit))
}
