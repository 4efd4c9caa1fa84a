//! Observables of a case: values the responders collected (addresses, domains, URLs, hashes),
//! normalised with the sharing rules (`mamori_share::normalise`) so that they compare with shared
//! indicators. Any participant adds them; they appear in the case and its after-action report.

use mamori_model::ValueKind;
use mamori_store::case_observables::CaseObservable;
use serde::Deserialize;
use serde_json::json;

use crate::ApiError;
use crate::cases::{CaseCtx, load, require_write};
use crate::ops::{Actor, audit};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservableInput {
    /// ipv4, ipv6, cidr, domain, url, email, md5, sha1, sha256, file-name, ... (guessed when absent)
    pub kind: Option<String>,
    pub value: String,
    #[serde(default)]
    pub note: String,
}

pub async fn add(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
    input: &ObservableInput,
) -> Result<CaseObservable, ApiError> {
    require_write(actor)?;
    let c = load(cx.store, actor, case).await?;
    let kind = match &input.kind {
        Some(k) => k
            .parse::<ValueKind>()
            .map_err(|e| ApiError::Invalid(e.to_string()))?,
        None => mamori_share::normalise::guess_kind(&mamori_share::normalise::refang(&input.value))
            .ok_or_else(|| {
                ApiError::Invalid(format!(
                    "cannot tell what kind of value {:?} is",
                    input.value
                ))
            })?,
    };
    let value = mamori_share::normalise::normalise(kind, &input.value)
        .map_err(|e| ApiError::Invalid(e.to_string()))?;
    let (o, fresh) = cx
        .store
        .add_case_observable(case, kind.as_str(), &value, &input.note, &actor.name)
        .await?;
    if fresh {
        audit(
            cx.store,
            actor,
            "case.observable",
            "case",
            case,
            Some(c.tlp),
            json!({"kind": o.kind, "value": o.value}),
        )
        .await?;
    }
    Ok(o)
}

pub async fn list(
    cx: &CaseCtx<'_>,
    actor: &Actor,
    case: &str,
) -> Result<Vec<CaseObservable>, ApiError> {
    let c = load(cx.store, actor, case).await?;
    crate::ops::audit_read(cx.store, actor, "case", case, c.tlp).await?;
    Ok(cx.store.case_observables(case).await?)
}
