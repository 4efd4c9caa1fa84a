//! Playbooks edited by administrators: task templates per incident type. A stored playbook
//! replaces the built-in one of the same name (the server holds the built-in set) or adds a new
//! one; removing it brings the built-in back.

use serde::{Deserialize, Serialize};

use crate::{Store, StoreError, now_millis, on_pool};

/// One task template: its title and the hours until it is due after the case opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaybookTask {
    pub title: String,
    pub hours: u32,
}

/// A stored playbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StoredPlaybook {
    pub name: String,
    pub tasks: Vec<PlaybookTask>,
    pub updated_by: String,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    tasks: String,
    updated_by: String,
    updated_at: i64,
}

impl TryFrom<Row> for StoredPlaybook {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self, StoreError> {
        Ok(StoredPlaybook {
            tasks: serde_json::from_str(&r.tasks)
                .map_err(|e| StoreError::corrupt("case_playbooks.tasks", e))?,
            name: r.name,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
        })
    }
}

impl Store {
    /// All stored playbooks, by name.
    pub async fn stored_playbooks(&self) -> Result<Vec<StoredPlaybook>, StoreError> {
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT name, tasks, updated_by, updated_at FROM case_playbooks ORDER BY name"
        )
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Creates or replaces a stored playbook.
    pub async fn put_playbook(
        &self,
        name: &str,
        tasks: &[PlaybookTask],
        by: &str,
    ) -> Result<StoredPlaybook, StoreError> {
        let json = serde_json::to_string(tasks).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = now_millis();
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO case_playbooks (name, tasks, updated_by, updated_at) VALUES ($1,$2,$3,$4) \
             ON CONFLICT (name) DO UPDATE SET tasks = $2, updated_by = $3, updated_at = $4"
        )
        .bind(name)
        .bind(&json)
        .bind(by)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))?;
        Ok(StoredPlaybook {
            name: name.to_owned(),
            tasks: tasks.to_vec(),
            updated_by: by.to_owned(),
            updated_at: now,
        })
    }

    /// Removes a stored playbook; false when there was none.
    pub async fn delete_playbook(&self, name: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM case_playbooks WHERE name = $1"
        )
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
