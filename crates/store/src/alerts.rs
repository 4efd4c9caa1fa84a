//! Alerts raised by streaming detection: listing for the organisation they are routed to (hub
//! administrators see all), evidence, triage (status, assignee, the case they were escalated
//! to) and the false-positive suppressions that triage feeds back into detection.

use mamori_model::OrgId;
use serde::Serialize;

use crate::{Store, StoreError, now_millis, on_pool};

/// Triage states of an alert.
pub const ALERT_STATUSES: [&str; 5] = [
    "new",
    "acknowledged",
    "false_positive",
    "escalated",
    "closed",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Alert {
    pub id: String,
    /// The organisation the alert is routed to.
    pub org_id: String,
    /// How the owner was found: sensor, ip, domain, unrouted, hub.
    pub route: String,
    /// sigma, ioc or correlation.
    pub kind: String,
    pub rule_id: String,
    pub title: String,
    pub level: String,
    pub host: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub event_count: i64,
    pub status: String,
    pub assignee: Option<String>,
    pub case_id: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Evidence {
    pub seq: i64,
    pub ts: i64,
    #[schema(value_type = Object)]
    pub doc: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Suppression {
    pub org_id: String,
    pub rule_id: String,
    pub host: String,
    pub reason: String,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub hits: i64,
}

/// Filters for [`Store::list_alerts`].
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Only alerts routed to this organisation (`None`: all).
    pub org: Option<OrgId>,
    pub status: Option<String>,
    pub level: Option<String>,
    /// Only alerts about this host.
    pub host: Option<String>,
    pub limit: i64,
}

/// A change made in triage; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AlertChange {
    pub status: Option<String>,
    /// `Some("")` clears the assignee.
    pub assignee: Option<String>,
    pub case_id: Option<String>,
}

const COLUMNS: &str = "id, org_id, route, kind, rule_id, title, level, host, first_seen, last_seen, \
     event_count, status, assignee, case_id, created_at, modified_at";

impl Store {
    /// Alerts, newest activity first.
    pub async fn list_alerts(&self, q: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM alerts WHERE ($1 = '' OR org_id = $1) AND ($2 = '' OR status = $2) \
             AND ($3 = '' OR level = $3) AND ($5 = '' OR host = $5) \
             ORDER BY last_seen DESC, id DESC LIMIT $4"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(q.org.map(|o| o.to_string()).unwrap_or_default())
        .bind(q.status.clone().unwrap_or_default())
        .bind(q.level.clone().unwrap_or_default())
        .bind(q.limit.clamp(1, 1000))
        .bind(q.host.clone().unwrap_or_default())
        .fetch_all(pool)
        .await)?)
    }

    pub async fn get_alert(&self, id: &str) -> Result<Alert, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM alerts WHERE id = $1");
        let a: Option<Alert> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        a.ok_or(StoreError::NotFound("alert"))
    }

    /// The evidence events copied into an alert, in order.
    pub async fn alert_evidence(&self, id: &str) -> Result<Vec<Evidence>, StoreError> {
        let rows: Vec<(i64, i64, String)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT seq, ts, doc FROM alert_evidence WHERE alert_id = $1 ORDER BY seq"
        )
        .bind(id)
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(seq, ts, doc)| {
                Ok(Evidence {
                    seq,
                    ts,
                    doc: serde_json::from_str(&doc)
                        .map_err(|e| StoreError::corrupt("alert_evidence.doc", e))?,
                })
            })
            .collect()
    }

    /// Applies a triage change.
    pub async fn update_alert(&self, id: &str, c: &AlertChange) -> Result<Alert, StoreError> {
        if let Some(s) = &c.status
            && !ALERT_STATUSES.contains(&s.as_str())
        {
            return Err(StoreError::Invalid(format!(
                "unknown alert status {s:?}; one of {}",
                ALERT_STATUSES.join(", ")
            )));
        }
        let n = on_pool!(self, |pool| sqlx::query(
            "UPDATE alerts SET status = COALESCE($1, status), \
             assignee = CASE WHEN $2 IS NULL THEN assignee WHEN $2 = '' THEN NULL ELSE $2 END, \
             case_id = COALESCE($3, case_id), modified_at = $4 WHERE id = $5"
        )
        .bind(&c.status)
        .bind(&c.assignee)
        .bind(&c.case_id)
        .bind(now_millis())
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound("alert"));
        }
        self.get_alert(id).await
    }

    /// Suppresses a rule on a host (`*`: every host) for an organisation.
    pub async fn add_suppression(
        &self,
        org: OrgId,
        rule_id: &str,
        host: &str,
        reason: &str,
        created_by: Option<&str>,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO alert_suppressions (org_id, rule_id, host, reason, created_by, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (org_id, rule_id, host) DO UPDATE SET reason = excluded.reason"
        )
        .bind(org.to_string())
        .bind(rule_id)
        .bind(host)
        .bind(reason)
        .bind(created_by)
        .bind(now_millis())
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn list_suppressions(
        &self,
        org: Option<OrgId>,
    ) -> Result<Vec<Suppression>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT org_id, rule_id, host, reason, created_by, created_at, hits FROM alert_suppressions \
             WHERE $1 = '' OR org_id = $1 ORDER BY created_at DESC"
        )
        .bind(org.map(|o| o.to_string()).unwrap_or_default())
        .fetch_all(pool)
        .await
        })?)
    }

    /// Alerts per UTC day and level since `since` (ms), for charts.
    pub async fn alert_counts_by_day(
        &self,
        org: Option<OrgId>,
        since: i64,
    ) -> Result<Vec<(i64, String, i64)>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT (first_seen / 86400000) AS day, level, COUNT(*) FROM alerts \
             WHERE ($1 = '' OR org_id = $1) AND first_seen >= $2 GROUP BY day, level ORDER BY day"
        )
        .bind(org.map(|o| o.to_string()).unwrap_or_default())
        .bind(since)
        .fetch_all(pool)
        .await)?)
    }
}
