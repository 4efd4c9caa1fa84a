//! Named block-list profiles (migration 0011): what a kind of device is given — the TLP
//! ceiling, the lowest score, the kinds of value and the allow-list exceptions. Devices poll
//! `/api/v1/blocklists/{format}?profile=NAME`; the console previews each profile.

use mamori_model::{Tlp, ValueKind};
use serde::Serialize;

use crate::{Store, StoreError, on_pool};

/// A stored profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BlocklistProfile {
    /// Lower-case letters, digits and `-`.
    pub name: String,
    pub description: String,
    #[schema(value_type = String)]
    pub max_tlp: Tlp,
    pub min_score: u8,
    /// Empty: every blockable kind.
    #[schema(value_type = Vec<String>)]
    pub kinds: Vec<ValueKind>,
    pub allow: Vec<String>,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    description: String,
    max_tlp: String,
    min_score: i64,
    kinds: String,
    allow_list: String,
    updated_at: i64,
}

impl Row {
    fn into_profile(self) -> Result<BlocklistProfile, StoreError> {
        let kinds = self
            .kinds
            .split(',')
            .filter(|k| !k.is_empty())
            .map(|k| {
                k.parse::<ValueKind>()
                    .map_err(|e| StoreError::corrupt("blocklist_profiles.kinds", e))
            })
            .collect::<Result<_, _>>()?;
        Ok(BlocklistProfile {
            max_tlp: self
                .max_tlp
                .parse()
                .map_err(|e| StoreError::corrupt("blocklist_profiles.max_tlp", e))?,
            min_score: u8::try_from(self.min_score.clamp(0, 100)).unwrap_or(100),
            kinds,
            allow: self
                .allow_list
                .split('\n')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            name: self.name,
            description: self.description,
            updated_at: self.updated_at,
        })
    }
}

const COLUMNS: &str = "name, description, max_tlp, min_score, kinds, allow_list, updated_at";

impl Store {
    /// Every profile, by name.
    pub async fn blocklist_profiles(&self) -> Result<Vec<BlocklistProfile>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM blocklist_profiles ORDER BY name");
        let rows: Vec<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(Row::into_profile).collect()
    }

    /// One profile.
    pub async fn blocklist_profile(
        &self,
        name: &str,
    ) -> Result<Option<BlocklistProfile>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM blocklist_profiles WHERE name = $1");
        let row: Option<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(name)
        .fetch_optional(pool)
        .await)?;
        row.map(Row::into_profile).transpose()
    }

    /// Creates or replaces a profile (its `updated_at` is taken as given).
    pub async fn save_blocklist_profile(&self, p: &BlocklistProfile) -> Result<(), StoreError> {
        let kinds = p
            .kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",");
        on_pool!(self, |pool| {
            sqlx::query(
            "INSERT INTO blocklist_profiles (name, description, max_tlp, min_score, kinds, allow_list, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
             max_tlp = excluded.max_tlp, min_score = excluded.min_score, kinds = excluded.kinds, \
             allow_list = excluded.allow_list, updated_at = excluded.updated_at"
        )
        .bind(&p.name)
        .bind(&p.description)
        .bind(p.max_tlp.as_str())
        .bind(i64::from(p.min_score))
        .bind(&kinds)
        .bind(p.allow.join("\n"))
        .bind(p.updated_at)
        .execute(pool)
        .await
        .map(|_| ())
        })?;
        Ok(())
    }

    /// Deletes a profile; whether it existed.
    pub async fn delete_blocklist_profile(&self, name: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM blocklist_profiles WHERE name = $1"
        )
        .bind(name)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n > 0)
    }
}
