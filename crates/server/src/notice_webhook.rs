//! Notices by webhook: the JSON document a webhook notice posts. It is built when the notice
//! is issued and stored with it, so every delivery attempt (and `mamori notify deliver
//! --retry-failed` days later) posts the same document; the notice id is added at delivery,
//! and receivers de-duplicate on it (delivery is at least once: a hub stopped between the
//! receiver's answer and the status update posts the notice again).
//!
//! ```json
//! {"type": "mamori.notice", "id": "…", "kind": "notice|reminder|takedown", "escalated": false,
//!  "hub": "Mamori", "language": "ja", "organisation": {"id", "slug", "name"},
//!  "period": {"date": "20261125", "first_seen": ms, "last_seen": ms},
//!  "subject": "…", "text": "…", "csv_name": "…", "items": [{"id", "kind", "value", …}],
//!  "acknowledge_url": "https://hub/notices/ack/mma_…", "created_at": ms}
//! ```

use mamori_model::Org;
use mamori_notify::Observation;
use mamori_notify::notice::{Notice, NoticeKind};
use mamori_notify::webhook::Webhook;
use mamori_store::Store;
use mamori_store::notices::NoticeRecord;
use serde_json::{Value, json};

use crate::error::ApiError;

/// What the payload is built from.
pub struct PayloadInput<'a> {
    pub org: &'a Org,
    pub message: &'a Notice,
    pub kind: NoticeKind,
    pub escalated: bool,
    pub hub_name: &'a str,
    /// The issue date, `YYYYMMDD`.
    pub date: &'a str,
    /// Feed item ids, parallel to `observations`.
    pub item_ids: &'a [String],
    pub observations: &'a [&'a Observation],
    pub ack_url: Option<&'a str>,
    pub now: i64,
}

/// The document a webhook notice posts (without its id, which the store assigns).
pub fn payload(i: &PayloadInput<'_>) -> Result<Value, ApiError> {
    let mut items = Vec::with_capacity(i.observations.len());
    for (id, o) in i.item_ids.iter().zip(i.observations) {
        let mut v = serde_json::to_value(o)
            .map_err(|e| ApiError::Internal(format!("observation as JSON: {e}")))?;
        if let Some(m) = v.as_object_mut() {
            m.insert("id".into(), json!(id));
        }
        items.push(v);
    }
    let seen = i.observations.iter().filter_map(|o| o.seen_at);
    Ok(json!({
        "type": "mamori.notice",
        "kind": i.kind.as_str(),
        "escalated": i.escalated,
        "hub": i.hub_name,
        "language": i.message.lang.as_str(),
        "organisation": {
            "id": i.org.id,
            "slug": i.org.slug,
            "name": i.message.org_name,
        },
        "period": {
            "date": i.date,
            "first_seen": seen.clone().min(),
            "last_seen": seen.max(),
        },
        "subject": i.message.subject,
        "text": i.message.body,
        "csv_name": i.message.csv_name,
        "items": items,
        "acknowledge_url": i.ack_url,
        "created_at": i.now,
    }))
}

/// Posts a stored webhook notice to its organisation's webhook as it is now (an administrator
/// may have corrected the URL since the notice was issued).
pub async fn post(
    store: &Store,
    webhook: &Webhook,
    n: &NoticeRecord,
    payload: Option<&Value>,
) -> Result<String, String> {
    let url = store
        .org_webhook(n.org_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the organisation has no webhook (any more)".to_owned())?;
    let mut body = payload
        .cloned()
        .ok_or_else(|| "the notice has no webhook document".to_owned())?;
    if let Some(m) = body.as_object_mut() {
        m.insert("id".into(), json!(n.id));
    }
    webhook
        .post(&url, &body)
        .await
        .map(|_| url)
        .map_err(|e| e.to_string())
}
