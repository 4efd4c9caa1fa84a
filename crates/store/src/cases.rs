//! Incident-response cases: the organisations taking part (with their roles), tasks and the
//! timeline. A case is visible to its owner organisation and its participants only (and to hub
//! administrators); list queries apply that in SQL.

use mamori_model::{OrgId, Tlp, UserId};
use serde::Serialize;

use crate::BeginWrite;
use crate::{Store, StoreError, now_millis, on_pool};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Case {
    pub id: String,
    pub title: String,
    pub description: String,
    pub severity: String,
    pub tlp: Tlp,
    pub status: String,
    pub resolution: Option<String>,
    #[schema(value_type = String)]
    pub owner_org: OrgId,
    pub participants: Vec<Participant>,
    /// When the case first left `new` (the time-to-acknowledge clock stops).
    pub acknowledged_at: Option<i64>,
    /// When the case first reached containment or a later status (time-to-contain stops).
    pub contained_at: Option<i64>,
    /// When the case was first closed.
    pub closed_at: Option<i64>,
    /// The incident type (the playbook it was opened with; empty when none).
    pub incident_type: String,
    /// Lessons learned, for the after-action report.
    pub lessons: String,
    /// Incremented on every change of status, lessons or participants; send it back to change
    /// the case safely.
    pub version: i64,
    pub created_at: i64,
    pub modified_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Participant {
    #[schema(value_type = String)]
    pub org: OrgId,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub status: String,
    pub due_at: Option<i64>,
    /// Username of the person the task is assigned to.
    pub assignee: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct TimelineEntry {
    pub id: String,
    pub at: i64,
    pub source: String,
    pub text: String,
    pub created_by: Option<String>,
}

/// A new case.
#[derive(Debug, Clone)]
pub struct NewCase {
    pub title: String,
    pub description: String,
    pub severity: String,
    pub tlp: Tlp,
    pub owner_org: OrgId,
    pub created_by: Option<UserId>,
    pub tasks: Vec<(String, Option<i64>)>,
    /// The incident type (playbook name), for metrics; empty when none.
    pub incident_type: String,
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: String,
    title: String,
    description: String,
    severity: String,
    tlp_rank: i64,
    status: String,
    resolution: Option<String>,
    owner_org: String,
    acknowledged_at: Option<i64>,
    contained_at: Option<i64>,
    closed_at: Option<i64>,
    incident_type: String,
    lessons: String,
    version: i64,
    created_at: i64,
    modified_at: i64,
}

const COLUMNS: &str = "c.id, c.title, c.description, c.severity, c.tlp_rank, c.status, c.resolution, c.owner_org, c.acknowledged_at, c.contained_at, c.closed_at, c.incident_type, c.lessons, c.version, c.created_at, c.modified_at";

/// Statuses at or after containment: reaching one stops the time-to-contain clock.
pub const CONTAINED_STATUSES: &[&str] = &["containment", "eradication", "recovery", "closed"];

impl Store {
    pub async fn create_case(&self, new: &NewCase) -> Result<Case, StoreError> {
        if new.title.trim().is_empty() || new.title.chars().count() > 500 {
            return Err(StoreError::Invalid(
                "a case needs a title of 1-500 characters".into(),
            ));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_millis();
        let r: Result<(), sqlx::Error> = on_pool!(self, |pool| {
            async {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO cases (id, title, description, severity, tlp_rank, status, owner_org, created_by, created_at, modified_at, incident_type) \
                 VALUES ($1,$2,$3,$4,$5,'new',$6,$7,$8,$8,$9)",
            )
            .bind(&id)
            .bind(new.title.trim())
            .bind(&new.description)
            .bind(&new.severity)
            .bind(new.tlp.rank())
            .bind(new.owner_org.to_string())
            .bind(new.created_by.map(|u| u.to_string()))
            .bind(now)
            .bind(&new.incident_type)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO case_participants (case_id, org_id, role) VALUES ($1,$2,'coordinator')")
                .bind(&id)
                .bind(new.owner_org.to_string())
                .execute(&mut *tx)
                .await?;
            for (title, due) in &new.tasks {
                sqlx::query("INSERT INTO case_tasks (id, case_id, title, status, due_at, created_at) VALUES ($1,$2,$3,'open',$4,$5)")
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(&id)
                    .bind(title)
                    .bind(*due)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        }
        .await
        });
        r?;
        self.get_case(&id).await
    }

    pub async fn get_case(&self, id: &str) -> Result<Case, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cases c WHERE c.id = $1");
        let row: Option<CaseRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        let row = row.ok_or(StoreError::NotFound("case"))?;
        self.case_from_row(row).await
    }

    async fn case_from_row(&self, row: CaseRow) -> Result<Case, StoreError> {
        let parts: Vec<(String, String)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT org_id, role FROM case_participants WHERE case_id = $1 ORDER BY org_id"
        )
        .bind(&row.id)
        .fetch_all(pool)
        .await)?;
        Ok(Case {
            id: row.id,
            title: row.title,
            description: row.description,
            severity: row.severity,
            tlp: Tlp::from_rank(row.tlp_rank)
                .ok_or_else(|| StoreError::corrupt("cases.tlp_rank", row.tlp_rank))?,
            status: row.status,
            resolution: row.resolution,
            owner_org: row
                .owner_org
                .parse()
                .map_err(|e| StoreError::corrupt("cases.owner_org", e))?,
            participants: parts
                .into_iter()
                .map(|(o, role)| {
                    Ok(Participant {
                        org: o
                            .parse()
                            .map_err(|e| StoreError::corrupt("case_participants.org_id", e))?,
                        role,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            acknowledged_at: row.acknowledged_at,
            contained_at: row.contained_at,
            closed_at: row.closed_at,
            incident_type: row.incident_type,
            lessons: row.lessons,
            version: row.version,
            created_at: row.created_at,
            modified_at: row.modified_at,
        })
    }

    /// Cases an organisation takes part in (all of them for `None`: hub administrators).
    pub async fn list_cases(&self, org: Option<OrgId>) -> Result<Vec<Case>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM cases c WHERE $1 = '' OR EXISTS \
             (SELECT 1 FROM case_participants p WHERE p.case_id = c.id AND p.org_id = $1) ORDER BY c.id DESC LIMIT 500"
        );
        let rows: Vec<CaseRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(org.map(|o| o.to_string()).unwrap_or_default())
        .fetch_all(pool)
        .await)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.case_from_row(r).await?);
        }
        Ok(out)
    }

    /// Sets the status if the case is still at `expected_version` (any version for `None`).
    pub async fn set_case_status(
        &self,
        id: &str,
        status: &str,
        resolution: Option<&str>,
        expected_version: Option<i64>,
    ) -> Result<Case, StoreError> {
        let now = now_millis();
        let acknowledged = status != "new";
        let contained = CONTAINED_STATUSES.contains(&status);
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE cases SET status = $1, resolution = $2, modified_at = $3, version = version + 1, \
                 acknowledged_at = CASE WHEN $5 THEN COALESCE(acknowledged_at, $3) ELSE acknowledged_at END, \
                 contained_at = CASE WHEN $6 THEN COALESCE(contained_at, $3) ELSE contained_at END, \
                 closed_at = CASE WHEN $1 = 'closed' THEN COALESCE(closed_at, $3) ELSE closed_at END \
                 WHERE id = $4 AND ($7 < 0 OR version = $7)",
            )
            .bind(status)
            .bind(resolution)
            .bind(now)
            .bind(id)
            .bind(acknowledged)
            .bind(contained)
            .bind(expected_version.unwrap_or(-1))
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if n == 0 {
            return Err(self.version_conflict(id).await);
        }
        self.get_case(id).await
    }

    /// Why a versioned update changed nothing: the case is missing or was changed meanwhile.
    async fn version_conflict(&self, id: &str) -> StoreError {
        match self.get_case(id).await {
            Ok(c) => StoreError::Conflict(format!(
                "the case was changed meanwhile (now version {}, status {}); reload and try again",
                c.version, c.status
            )),
            Err(e) => e,
        }
    }

    pub async fn add_case_participant(
        &self,
        id: &str,
        org: OrgId,
        role: &str,
    ) -> Result<Case, StoreError> {
        let r: Result<(), sqlx::Error> = on_pool!(self, |pool| {
            async {
                sqlx::query(
                    "INSERT INTO case_participants (case_id, org_id, role) VALUES ($1,$2,$3) \
                     ON CONFLICT (case_id, org_id) DO UPDATE SET role = $3",
                )
                .bind(id)
                .bind(org.to_string())
                .bind(role)
                .execute(pool)
                .await?;
                sqlx::query(
                    "UPDATE cases SET version = version + 1, modified_at = $1 WHERE id = $2",
                )
                .bind(now_millis())
                .bind(id)
                .execute(pool)
                .await?;
                Ok(())
            }
            .await
        });
        r.map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("case or organisation"),
            other => other,
        })?;
        self.get_case(id).await
    }

    pub async fn case_tasks(&self, id: &str) -> Result<Vec<Task>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, title, status, due_at, assignee, created_at FROM case_tasks WHERE case_id = $1 ORDER BY created_at, id"
        )
        .bind(id)
        .fetch_all(pool)
        .await
        })?)
    }

    pub async fn set_task_status(
        &self,
        case: &str,
        task: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        let n = on_pool!(self, |pool| sqlx::query(
            "UPDATE case_tasks SET status = $1 WHERE id = $2 AND case_id = $3"
        )
        .bind(status)
        .bind(task)
        .bind(case)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound("task"));
        }
        Ok(())
    }

    /// Assigns a task to a user (by username) or clears the assignment.
    pub async fn set_task_assignee(
        &self,
        case: &str,
        task: &str,
        assignee: Option<&str>,
    ) -> Result<(), StoreError> {
        let n = on_pool!(self, |pool| sqlx::query(
            "UPDATE case_tasks SET assignee = $1 WHERE id = $2 AND case_id = $3"
        )
        .bind(assignee)
        .bind(task)
        .bind(case)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(StoreError::NotFound("task"));
        }
        Ok(())
    }

    /// Sets the lessons learned of a case if it is still at `expected_version` (any for `None`).
    pub async fn set_case_lessons(
        &self,
        id: &str,
        lessons: &str,
        expected_version: Option<i64>,
    ) -> Result<Case, StoreError> {
        let text: String = lessons.chars().take(50_000).collect();
        let n = on_pool!(self, |pool| sqlx::query(
            "UPDATE cases SET lessons = $1, modified_at = $2, version = version + 1 \
             WHERE id = $3 AND ($4 < 0 OR version = $4)"
        )
        .bind(&text)
        .bind(now_millis())
        .bind(id)
        .bind(expected_version.unwrap_or(-1))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(self.version_conflict(id).await);
        }
        self.get_case(id).await
    }

    /// Cases that are not closed, for the SLA check.
    pub async fn open_cases(&self) -> Result<Vec<Case>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM cases c WHERE c.status <> 'closed' ORDER BY c.id");
        let rows: Vec<CaseRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .fetch_all(pool)
        .await)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.case_from_row(r).await?);
        }
        Ok(out)
    }

    /// Records that a case breached an SLA (`kind`: acknowledge or contain). True only the first
    /// time, so that each breach is notified once whichever hub process sees it first.
    pub async fn record_sla_breach(
        &self,
        case: &str,
        kind: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO case_sla_breaches (case_id, kind, at) VALUES ($1,$2,$3) ON CONFLICT (case_id, kind) DO NOTHING"
        )
        .bind(case)
        .bind(kind)
        .bind(at)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    /// The SLA breaches recorded for a case: (kind, when noticed).
    pub async fn sla_breaches(&self, case: &str) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_pool!(self, |pool| sqlx::query_as(
            "SELECT kind, at FROM case_sla_breaches WHERE case_id = $1 ORDER BY kind"
        )
        .bind(case)
        .fetch_all(pool)
        .await)?)
    }

    pub async fn add_timeline_entry(
        &self,
        case: &str,
        at: i64,
        source: &str,
        text: &str,
        by: Option<UserId>,
    ) -> Result<TimelineEntry, StoreError> {
        let e = TimelineEntry {
            id: uuid::Uuid::now_v7().to_string(),
            at,
            source: source.to_owned(),
            text: text.chars().take(10_000).collect(),
            created_by: by.map(|u| u.to_string()),
        };
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO case_timeline (id, case_id, at, source, text, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7)"
        )
        .bind(&e.id)
        .bind(case)
        .bind(e.at)
        .bind(&e.source)
        .bind(&e.text)
        .bind(&e.created_by)
        .bind(now_millis())
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("case"),
            other => other,
        })?;
        Ok(e)
    }

    /// The timeline, in time order.
    pub async fn case_timeline(&self, case: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, at, source, text, created_by FROM case_timeline WHERE case_id = $1 ORDER BY at, id"
        )
        .bind(case)
        .fetch_all(pool)
        .await
        })?)
    }
}
