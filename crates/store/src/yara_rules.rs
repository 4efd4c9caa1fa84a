//! YARA rule sets managed in the hub (migration 0012): the source as written, its hash and rule
//! count from the compile that accepted it, enabled or not, and who changed it. The server
//! compiles before it stores; this module only keeps rows.

use serde::Serialize;

use crate::{Store, StoreError, on_pool};

/// A rule set without its source (what lists show).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct YaraRuleSetInfo {
    /// Also the YARA namespace of its rules.
    pub name: String,
    pub description: String,
    /// SHA-256 of the source text.
    pub sha256: String,
    pub rule_count: i64,
    pub enabled: bool,
    /// Characters of source.
    pub size: i64,
    pub created_by: String,
    pub created_at: i64,
    pub updated_by: String,
    pub updated_at: i64,
}

/// A rule set with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct YaraRuleSet {
    #[serde(flatten)]
    pub info: YaraRuleSetInfo,
    pub source: String,
}

/// What to store for a new or replaced source (already compiled by the caller).
#[derive(Debug, Clone)]
pub struct YaraSourceWrite {
    pub source: String,
    pub sha256: String,
    pub rule_count: i64,
}

/// A change to a stored rule set; `None` keeps the field.
#[derive(Debug, Clone, Default)]
pub struct YaraRuleSetPatch {
    pub description: Option<String>,
    pub source: Option<YaraSourceWrite>,
    pub enabled: Option<bool>,
}

/// What decides whether compiled rules are current: name and source hash of an enabled set.
pub type YaraStamp = (String, String);

/// An enabled set as compiled: name, source, source hash.
pub type YaraEnabled = (String, String, String);

#[derive(sqlx::FromRow)]
struct InfoRow {
    name: String,
    description: String,
    sha256: String,
    rule_count: i64,
    enabled: bool,
    size: i64,
    created_by: String,
    created_at: i64,
    updated_by: String,
    updated_at: i64,
}

impl From<InfoRow> for YaraRuleSetInfo {
    fn from(r: InfoRow) -> Self {
        YaraRuleSetInfo {
            name: r.name,
            description: r.description,
            sha256: r.sha256,
            rule_count: r.rule_count,
            enabled: r.enabled,
            size: r.size,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_by: r.updated_by,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct FullRow {
    #[sqlx(flatten)]
    info: InfoRow,
    source: String,
}

const INFO: &str = "name, description, sha256, rule_count, enabled, \
     CAST(LENGTH(source) AS BIGINT) AS size, created_by, created_at, updated_by, updated_at";

impl Store {
    /// Every rule set by name, without sources.
    pub async fn yara_rule_sets(&self) -> Result<Vec<YaraRuleSetInfo>, StoreError> {
        let sql = format!("SELECT {INFO} FROM yara_rule_sets ORDER BY name");
        let rows: Vec<InfoRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// One rule set with its source.
    pub async fn yara_rule_set(&self, name: &str) -> Result<Option<YaraRuleSet>, StoreError> {
        let sql = format!("SELECT {INFO}, source FROM yara_rule_sets WHERE name = $1");
        let row: Option<FullRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(name)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(|r| YaraRuleSet {
            info: r.info.into(),
            source: r.source,
        }))
    }

    /// The enabled rule sets as (name, source, sha256), by name: what the hub compiles.
    pub async fn enabled_yara_sources(&self) -> Result<Vec<YaraEnabled>, StoreError> {
        let rows: Vec<YaraEnabled> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT name, source, sha256 FROM yara_rule_sets WHERE enabled ORDER BY name"
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// (name, sha256) of the enabled rule sets, by name: cheap to compare with what a hub
    /// process compiled.
    pub async fn yara_stamps(&self) -> Result<Vec<YaraStamp>, StoreError> {
        let rows: Vec<YaraStamp> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT name, sha256 FROM yara_rule_sets WHERE enabled ORDER BY name"
        )
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }

    /// Stores a new rule set (enabled); a taken name is a conflict.
    pub async fn create_yara_rule_set(
        &self,
        name: &str,
        description: &str,
        w: &YaraSourceWrite,
        by: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO yara_rule_sets (name, description, source, sha256, rule_count, enabled, \
             created_by, created_at, updated_by, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$7,$8)"
        )
        .bind(name)
        .bind(description)
        .bind(&w.source)
        .bind(&w.sha256)
        .bind(w.rule_count)
        .bind(true)
        .bind(by)
        .bind(now)
        .execute(pool)
        .await
        .map(|_| ()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a YARA rule set named {name:?} exists"))
            }
            other => other,
        })
    }

    /// Changes a rule set; whether it existed.
    pub async fn update_yara_rule_set(
        &self,
        name: &str,
        p: &YaraRuleSetPatch,
        by: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (source, sha256, count) = match &p.source {
            Some(w) => (
                Some(w.source.as_str()),
                Some(w.sha256.as_str()),
                Some(w.rule_count),
            ),
            None => (None, None, None),
        };
        let n = on_pool!(self, |pool| sqlx::query(
            "UPDATE yara_rule_sets SET description = COALESCE($2, description), \
             source = COALESCE($3, source), sha256 = COALESCE($4, sha256), \
             rule_count = COALESCE($5, rule_count), enabled = COALESCE($6, enabled), \
             updated_by = $7, updated_at = $8 WHERE name = $1"
        )
        .bind(name)
        .bind(p.description.as_deref())
        .bind(source)
        .bind(sha256)
        .bind(count)
        .bind(p.enabled)
        .bind(by)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }

    /// Deletes a rule set; whether it existed.
    pub async fn delete_yara_rule_set(&self, name: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM yara_rule_sets WHERE name = $1"
        )
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
