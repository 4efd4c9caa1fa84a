//! Case evidence: the record of each file (its hashes, size and who added it; the bytes live
//! content-addressed on disk, see the server's `evidence` module) and its chain of custody, an
//! append-only list of who added or downloaded it, when and from which address. Database triggers
//! refuse changes to custody entries.

use serde::Serialize;

use crate::BeginWrite;
use crate::{Store, StoreError, now_millis, on_pool};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct Evidence {
    pub id: String,
    pub case_id: String,
    pub sha256: String,
    pub sha1: String,
    pub md5: String,
    pub size: i64,
    pub filename: String,
    pub content_type: String,
    pub description: String,
    /// Who added it (`user` or `cli:user`).
    pub added_by: String,
    pub added_org: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct CustodyEntry {
    pub id: String,
    pub evidence_id: String,
    /// `added`, `added-again` or `downloaded`.
    pub action: String,
    pub actor: String,
    pub actor_org: Option<String>,
    /// The address the request came from (`cli`, `system` outside HTTP).
    pub source: String,
    pub at: i64,
}

/// A file to record as evidence of a case.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    pub case_id: String,
    pub sha256: String,
    pub sha1: String,
    pub md5: String,
    pub size: i64,
    pub filename: String,
    pub content_type: String,
    pub description: String,
}

/// Who touched a piece of evidence, and from where.
#[derive(Debug, Clone)]
pub struct Custodian {
    pub actor: String,
    pub org: Option<String>,
    pub source: String,
}

const COLUMNS: &str = "id, case_id, sha256, sha1, md5, size, filename, content_type, description, added_by, added_org, created_at";

impl Store {
    /// Records evidence and its first custody entry in one transaction. The same content added
    /// to the same case again keeps the first record and appends an `added-again` entry.
    /// Returns the record and whether it is new.
    pub async fn add_evidence(
        &self,
        new: &NewEvidence,
        by: &Custodian,
    ) -> Result<(Evidence, bool), StoreError> {
        if new.filename.trim().is_empty() || new.filename.chars().count() > 255 {
            return Err(StoreError::Invalid(
                "evidence needs a file name of 1-255 characters".into(),
            ));
        }
        let now = now_millis();
        let id = uuid::Uuid::now_v7().to_string();
        let find =
            format!("SELECT {COLUMNS} FROM case_evidence WHERE case_id = $1 AND sha256 = $2");
        let r: Result<(String, bool), sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin_write().await?;
                let inserted = sqlx::query(
                    "INSERT INTO case_evidence (id, case_id, sha256, sha1, md5, size, filename, content_type, description, added_by, added_org, created_at) \
                     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) ON CONFLICT (case_id, sha256) DO NOTHING",
                )
                .bind(&id)
                .bind(&new.case_id)
                .bind(&new.sha256)
                .bind(&new.sha1)
                .bind(&new.md5)
                .bind(new.size)
                .bind(new.filename.trim())
                .bind(&new.content_type)
                .bind(&new.description)
                .bind(&by.actor)
                .bind(&by.org)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                let row: Evidence = sqlx::query_as(sqlx::AssertSqlSafe(find.as_str()))
                    .bind(&new.case_id)
                    .bind(&new.sha256)
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO case_custody (id, evidence_id, action, actor, actor_org, source, at) VALUES ($1,$2,$3,$4,$5,$6,$7)",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(&row.id)
                .bind(if inserted { "added" } else { "added-again" })
                .bind(&by.actor)
                .bind(&by.org)
                .bind(&by.source)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok((row.id, inserted))
            }
            .await
        });
        let (id, inserted) = r.map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("case"),
            other => other,
        })?;
        Ok((self.get_evidence(&new.case_id, &id).await?, inserted))
    }

    /// One piece of evidence of a case.
    pub async fn get_evidence(&self, case: &str, id: &str) -> Result<Evidence, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM case_evidence WHERE case_id = $1 AND id = $2");
        let row: Option<Evidence> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(case)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        row.ok_or(StoreError::NotFound("evidence"))
    }

    /// The evidence of a case, oldest first.
    pub async fn list_evidence(&self, case: &str) -> Result<Vec<Evidence>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM case_evidence WHERE case_id = $1 ORDER BY created_at, id"
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(case)
        .fetch_all(pool)
        .await)?)
    }

    /// Whether any evidence record (of any case) refers to this content.
    pub async fn evidence_content_known(&self, sha256: &str) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(self, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM case_evidence WHERE sha256 = $1"
        )
        .bind(sha256)
        .fetch_one(pool)
        .await)?;
        Ok(n > 0)
    }

    /// Appends a custody entry (`downloaded`, ...).
    pub async fn add_custody(
        &self,
        evidence: &str,
        action: &str,
        by: &Custodian,
    ) -> Result<CustodyEntry, StoreError> {
        let e = CustodyEntry {
            id: uuid::Uuid::now_v7().to_string(),
            evidence_id: evidence.to_owned(),
            action: action.to_owned(),
            actor: by.actor.clone(),
            actor_org: by.org.clone(),
            source: by.source.clone(),
            at: now_millis(),
        };
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO case_custody (id, evidence_id, action, actor, actor_org, source, at) VALUES ($1,$2,$3,$4,$5,$6,$7)"
        )
        .bind(&e.id)
        .bind(&e.evidence_id)
        .bind(&e.action)
        .bind(&e.actor)
        .bind(&e.actor_org)
        .bind(&e.source)
        .bind(e.at)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("evidence"),
            other => other,
        })?;
        Ok(e)
    }

    /// The chain of custody of one piece of evidence, in order.
    pub async fn custody(&self, evidence: &str) -> Result<Vec<CustodyEntry>, StoreError> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, evidence_id, action, actor, actor_org, source, at FROM case_custody WHERE evidence_id = $1 ORDER BY at, id"
        )
        .bind(evidence)
        .fetch_all(pool)
        .await
        })?)
    }
}
