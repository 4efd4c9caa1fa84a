//! Webhooks of member organisations: where case notifications are POSTed as JSON, besides the
//! e-mail to the organisation's contacts. One URL per organisation.

use mamori_model::OrgId;

use crate::{Store, StoreError, now_millis, on_pool};

impl Store {
    /// Sets (or with `None` removes) an organisation's webhook URL.
    pub async fn set_org_webhook(&self, org: OrgId, url: Option<&str>) -> Result<(), StoreError> {
        let r = match url {
            Some(u) => on_pool!(self, |pool| sqlx::query(
                "INSERT INTO org_webhooks (org_id, url, created_at) VALUES ($1,$2,$3) \
                 ON CONFLICT (org_id) DO UPDATE SET url = $2, created_at = $3"
            )
            .bind(org.to_string())
            .bind(u)
            .bind(now_millis())
            .execute(pool)
            .await
            .map(|_| ())),
            None => on_pool!(self, |pool| sqlx::query(
                "DELETE FROM org_webhooks WHERE org_id = $1"
            )
            .bind(org.to_string())
            .execute(pool)
            .await
            .map(|_| ())),
        };
        r.map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("organisation"),
            other => other,
        })
    }

    /// An organisation's webhook URL, if it has one.
    pub async fn org_webhook(&self, org: OrgId) -> Result<Option<String>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT url FROM org_webhooks WHERE org_id = $1"
        )
        .bind(org.to_string())
        .fetch_optional(pool)
        .await)?)
    }
}
