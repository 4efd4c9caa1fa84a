//! Observables of a case: typed values (addresses, domains, URLs, hashes...) the responders
//! collected, normalised by the caller, one row per (kind, value) in a case.

use serde::Serialize;

use crate::{Store, StoreError, now_millis, on_pool};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct CaseObservable {
    pub id: String,
    pub case_id: String,
    pub kind: String,
    pub value: String,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
}

impl Store {
    /// Adds an observable; the same (kind, value) in the same case is kept once. Returns it and
    /// whether it is new.
    pub async fn add_case_observable(
        &self,
        case: &str,
        kind: &str,
        value: &str,
        note: &str,
        by: &str,
    ) -> Result<(CaseObservable, bool), StoreError> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO case_observables (id, case_id, kind, value, note, created_by, created_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (case_id, kind, value) DO NOTHING"
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(case)
        .bind(kind)
        .bind(value)
        .bind(note.chars().take(2_000).collect::<String>())
        .bind(by)
        .bind(now_millis())
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
        })
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("case"),
            other => other,
        })?;
        let row: CaseObservable = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, case_id, kind, value, note, created_by, created_at FROM case_observables WHERE case_id = $1 AND kind = $2 AND value = $3"
        )
        .bind(case)
        .bind(kind)
        .bind(value)
        .fetch_one(pool)
        .await
        })?;
        Ok((row, n == 1))
    }

    /// The observables of a case, oldest first.
    pub async fn case_observables(&self, case: &str) -> Result<Vec<CaseObservable>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, case_id, kind, value, note, created_by, created_at FROM case_observables WHERE case_id = $1 ORDER BY created_at, id"
        )
        .bind(case)
        .fetch_all(pool)
        .await
        })?)
    }
}
