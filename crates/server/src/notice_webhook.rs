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
        .map(|_| shown_url(&url))
        .map_err(|e| e.to_string())
}

/// How a webhook address is shown as a notice's recipient: scheme, host and port only.
/// Webhook addresses often carry their secret in the path or query (chat services do), and
/// members of the organisation read their notices; the full address stays in the
/// organisation's settings, which only hub administrators manage.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "webhook".to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if end < rest.len() && rest[end..] != *"/" {
        format!("{scheme}://{host}/…")
    } else {
        format!("{scheme}://{host}/")
    }
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn webhook_secrets_are_not_shown() {
        assert_eq!(
            shown_url("https://hooks.example.jp/services/T000/B000/XXXXSECRET"),
            "https://hooks.example.jp/…"
        );
        assert_eq!(
            shown_url("http://user:pw@127.0.0.1:8080/hook?token=abc"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(
            shown_url("https://soc.example.jp/"),
            "https://soc.example.jp/"
        );
        assert_eq!(
            shown_url("https://soc.example.jp"),
            "https://soc.example.jp/"
        );
        assert_eq!(shown_url("not a url"), "webhook");
    }
}
