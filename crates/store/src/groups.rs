//! Sharing groups and their member organisations.

use mamori_model::{GroupId, OrgId, SharingGroup};
use serde::Deserialize;

use crate::{Store, StoreError, now_millis, on_pool};

/// What is needed to create a sharing group.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub owner_org: OrgId,
    /// Members besides the owner (the owner is always a member).
    #[serde(default)]
    pub members: Vec<OrgId>,
}

#[derive(sqlx::FromRow)]
struct GroupRow {
    id: String,
    name: String,
    description: String,
    owner_org: String,
    created_at: i64,
}

impl Store {
    pub async fn create_group(&self, new: &NewGroup) -> Result<SharingGroup, StoreError> {
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Invalid(
                "a group needs a name of 1-100 characters".into(),
            ));
        }
        let id = GroupId::new();
        let now = now_millis();
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO sharing_groups (id, name, description, owner_org, created_at) \
             VALUES ($1,$2,$3,$4,$5)"
        )
        .bind(id.to_string())
        .bind(name)
        .bind(new.description.trim())
        .bind(new.owner_org.to_string())
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("a group named {name:?} exists"))
            }
            StoreError::Reference(_) => StoreError::NotFound("organisation"),
            other => other,
        })?;
        self.add_group_member(id, new.owner_org).await?;
        for m in &new.members {
            self.add_group_member(id, *m).await?;
        }
        self.get_group(id).await
    }

    pub async fn add_group_member(&self, group: GroupId, org: OrgId) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "INSERT INTO group_members (group_id, org_id) VALUES ($1,$2) ON CONFLICT DO NOTHING"
        )
        .bind(group.to_string())
        .bind(org.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("group or organisation"),
            other => other,
        })?;
        Ok(())
    }

    /// Removes a member; the owner organisation can not be removed.
    pub async fn remove_group_member(&self, group: GroupId, org: OrgId) -> Result<(), StoreError> {
        let g = self.get_group(group).await?;
        if g.owner_org == org {
            return Err(StoreError::Invalid(
                "the owner organisation can not leave its own group".into(),
            ));
        }
        on_pool!(self, |pool| sqlx::query(
            "DELETE FROM group_members WHERE group_id = $1 AND org_id = $2"
        )
        .bind(group.to_string())
        .bind(org.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn get_group(&self, id: GroupId) -> Result<SharingGroup, StoreError> {
        let row: Option<GroupRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, name, description, owner_org, created_at FROM sharing_groups WHERE id = $1"
        )
        .bind(id.to_string())
        .fetch_optional(pool)
        .await
        })?;
        let row = row.ok_or(StoreError::NotFound("sharing group"))?;
        self.group_from_row(row).await
    }

    /// Resolves a group given by id or by name.
    pub async fn find_group(&self, id_or_name: &str) -> Result<SharingGroup, StoreError> {
        if let Ok(id) = id_or_name.parse::<GroupId>() {
            return self.get_group(id).await;
        }
        let row: Option<GroupRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, name, description, owner_org, created_at FROM sharing_groups WHERE name = $1"
        )
        .bind(id_or_name)
        .fetch_optional(pool)
        .await
        })?;
        self.group_from_row(row.ok_or(StoreError::NotFound("sharing group"))?)
            .await
    }

    pub async fn list_groups(&self) -> Result<Vec<SharingGroup>, StoreError> {
        let rows: Vec<GroupRow> = on_pool!(self, |pool| {
            sqlx::query_as(
            "SELECT id, name, description, owner_org, created_at FROM sharing_groups ORDER BY name"
        )
        .fetch_all(pool)
        .await
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(self.group_from_row(r).await?);
        }
        Ok(out)
    }

    /// The sharing groups an organisation belongs to.
    pub async fn groups_of_org(&self, org: OrgId) -> Result<Vec<GroupId>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT group_id FROM group_members WHERE org_id = $1 ORDER BY group_id"
        )
        .bind(org.to_string())
        .fetch_all(pool)
        .await)?;
        rows.into_iter()
            .map(|(g,)| {
                g.parse()
                    .map_err(|e| StoreError::corrupt("group_members.group_id", e))
            })
            .collect()
    }

    pub async fn delete_group(&self, id: GroupId) -> Result<(), StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM sharing_groups WHERE id = $1"
        )
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound("sharing group"));
        }
        Ok(())
    }

    async fn group_from_row(&self, row: GroupRow) -> Result<SharingGroup, StoreError> {
        let members: Vec<(String,)> = on_pool!(self, |pool| sqlx::query_as(
            "SELECT org_id FROM group_members WHERE group_id = $1 ORDER BY org_id"
        )
        .bind(&row.id)
        .fetch_all(pool)
        .await)?;
        Ok(SharingGroup {
            id: row
                .id
                .parse()
                .map_err(|e| StoreError::corrupt("sharing_groups.id", e))?,
            name: row.name,
            description: row.description,
            owner_org: row
                .owner_org
                .parse()
                .map_err(|e| StoreError::corrupt("sharing_groups.owner_org", e))?,
            members: members
                .into_iter()
                .map(|(m,)| {
                    m.parse()
                        .map_err(|e| StoreError::corrupt("group_members.org_id", e))
                })
                .collect::<Result<_, _>>()?,
            created_at: row.created_at,
        })
    }
}
