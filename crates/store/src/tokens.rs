//! API tokens: created with a secret shown once, stored as a hash, scoped, expiring, revocable.

use mamori_model::{ApiToken, GroupId, Scope, TokenId, User, UserId};

use crate::users::{USER_COLUMNS, UserRow};
use crate::{Store, StoreError, now_millis, on_pool, secret};

/// The prefix of every API token, so that leaked tokens are easy to find (secret scanners).
pub const TOKEN_PREFIX: &str = "mmr_";

/// How precisely `last_used_at` is kept (ms).
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    user_id: String,
    name: String,
    scopes: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
}

impl TokenRow {
    fn into_token(self) -> Result<ApiToken, StoreError> {
        Ok(ApiToken {
            id: self
                .id
                .parse()
                .map_err(|e| StoreError::corrupt("api_tokens.id", e))?,
            user_id: self
                .user_id
                .parse()
                .map_err(|e| StoreError::corrupt("api_tokens.user_id", e))?,
            name: self.name,
            scopes: parse_scopes(&self.scopes)?,
            created_at: self.created_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            last_used_at: self.last_used_at,
        })
    }
}

fn parse_scopes(s: &str) -> Result<Vec<Scope>, StoreError> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse()
                .map_err(|e| StoreError::corrupt("api_tokens.scopes", e))
        })
        .collect()
}

const COLUMNS: &str =
    "t.id, t.user_id, t.name, t.scopes, t.created_at, t.expires_at, t.revoked_at, t.last_used_at";

impl Store {
    /// Creates a token and returns it with its secret, which is not stored and can not be shown
    /// again.
    pub async fn create_token(
        &self,
        user: UserId,
        name: &str,
        scopes: &[Scope],
        expires_at: Option<i64>,
    ) -> Result<(ApiToken, String), StoreError> {
        if name.trim().is_empty() || name.len() > 100 {
            return Err(StoreError::Invalid(
                "a token needs a name of 1-100 characters".into(),
            ));
        }
        if scopes.is_empty() {
            return Err(StoreError::Invalid(
                "a token needs at least one scope".into(),
            ));
        }
        let now = now_millis();
        if expires_at.is_some_and(|e| e <= now) {
            return Err(StoreError::Invalid("the expiry lies in the past".into()));
        }
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let token = ApiToken {
            id: TokenId::new(),
            user_id: user,
            name: name.trim().to_owned(),
            scopes,
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        let secret = secret::generate(TOKEN_PREFIX)?;
        let scopes_text = token
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        const SQL: &str = "INSERT INTO api_tokens (id, user_id, name, secret_hash, scopes, \
            created_at, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(token.id.to_string())
            .bind(user.to_string())
            .bind(&token.name)
            .bind(secret::hash(&secret))
            .bind(&scopes_text)
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Reference(_) => StoreError::NotFound("user"),
            other => other,
        })?;
        Ok((token, secret))
    }

    /// Finds the live token with this secret and its (enabled) user, and notes its use.
    /// Returns `None` for unknown, revoked or expired tokens and disabled users alike.
    pub async fn authenticate_token(
        &self,
        secret: &str,
    ) -> Result<Option<(ApiToken, User)>, StoreError> {
        Ok(self
            .authenticate_token_with_groups(secret)
            .await?
            .map(|(token, user, _)| (token, user)))
    }

    /// [`Store::authenticate_token`] plus the sharing groups of the user's organisation, all in
    /// one round trip (this runs on every API and TAXII request).
    pub async fn authenticate_token_with_groups(
        &self,
        secret: &str,
    ) -> Result<Option<(ApiToken, User, Vec<GroupId>)>, StoreError> {
        if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 100 {
            return Ok(None);
        }
        // The token and its user in one round trip: this runs on every API and TAXII request.
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            t_id: String,
            t_user_id: String,
            t_name: String,
            t_scopes: String,
            t_created_at: i64,
            t_expires_at: Option<i64>,
            t_revoked_at: Option<i64>,
            t_last_used_at: Option<i64>,
            t_groups: Option<String>,
        }
        let groups = match self.db() {
            crate::Db::Sqlite(_) => {
                "(SELECT group_concat(group_id, ',') FROM group_members WHERE org_id = u.org_id)"
            }
            crate::Db::Postgres(_) => {
                "(SELECT string_agg(group_id, ',') FROM group_members WHERE org_id = u.org_id)"
            }
        };
        let sql = format!(
            "SELECT {USER_COLUMNS}, {groups} AS t_groups, t.id AS t_id, t.user_id AS t_user_id, t.name AS t_name, \
             t.scopes AS t_scopes, t.created_at AS t_created_at, t.expires_at AS t_expires_at, \
             t.revoked_at AS t_revoked_at, t.last_used_at AS t_last_used_at \
             FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = $1"
        );
        let row: Option<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(secret::hash(secret))
        .fetch_optional(pool)
        .await)?;
        let Some(row) = row else { return Ok(None) };
        let token = TokenRow {
            id: row.t_id,
            user_id: row.t_user_id,
            name: row.t_name,
            scopes: row.t_scopes,
            created_at: row.t_created_at,
            expires_at: row.t_expires_at,
            revoked_at: row.t_revoked_at,
            last_used_at: row.t_last_used_at,
        }
        .into_token()?;
        let user = row.user.into_user()?;
        let mut groups = row
            .t_groups
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|g| !g.is_empty())
            .map(|g| {
                g.parse()
                    .map_err(|e| StoreError::corrupt("group_members.group_id", e))
            })
            .collect::<Result<Vec<GroupId>, _>>()?;
        groups.sort();
        let now = now_millis();
        if !token.is_live(now) || user.disabled {
            return Ok(None);
        }
        // Noted at most once a minute: a write on every request would put every API read
        // behind SQLite's single writer (and cost PostgreSQL a row version per request).
        if token
            .last_used_at
            .is_some_and(|t| now.saturating_sub(t) < LAST_USED_RESOLUTION_MS)
        {
            return Ok(Some((token, user, groups)));
        }
        on_pool!(self, |pool| sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2"
        )
        .bind(now)
        .bind(token.id.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(Some((token, user, groups)))
    }

    pub async fn list_tokens(&self, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens t WHERE t.user_id = $1 ORDER BY t.id");
        let rows: Vec<TokenRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(user.to_string())
        .fetch_all(pool)
        .await)?;
        rows.into_iter().map(TokenRow::into_token).collect()
    }

    pub async fn get_token(&self, id: TokenId) -> Result<ApiToken, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens t WHERE t.id = $1");
        let row: Option<TokenRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
        row.ok_or(StoreError::NotFound("token"))?.into_token()
    }

    /// Revokes a token; revoking twice keeps the first time.
    pub async fn revoke_token(&self, id: TokenId) -> Result<ApiToken, StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL"
        )
        .bind(now_millis())
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        self.get_token(id).await
    }
}
