//! User accounts. Passwords arrive already hashed (argon2id, by `mamori-auth`); the store never
//! sees a clear-text password.

use mamori_model::{Lang, OrgId, Role, User, UserId};
use serde::Deserialize;

use crate::{Page, PageRequest, Store, StoreError, now_millis, on_pool};

/// What is needed to create a user.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub org_id: OrgId,
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: String,
    pub role: Role,
    #[serde(default = "default_lang")]
    pub lang: Lang,
}

fn default_lang() -> Lang {
    Lang::Ja
}

/// A partial update of a user.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<Role>,
    pub lang: Option<Lang>,
    pub disabled: Option<bool>,
}

/// Checks a username: 2–64 characters of `a-z`, `0-9`, `.`, `_`, `-` and `@`.
pub fn validate_username(u: &str) -> Result<(), StoreError> {
    let ok = (2..=64).contains(&u.len())
        && u.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'@')
        });
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "username {u:?}: use 2-64 characters a-z, 0-9, '.', '_', '-', '@'"
        )))
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: String,
    org_id: String,
    username: String,
    display_name: String,
    email: String,
    role: String,
    lang: String,
    disabled: bool,
    created_at: i64,
}

impl UserRow {
    pub(crate) fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: self
                .id
                .parse()
                .map_err(|e| StoreError::corrupt("users.id", e))?,
            org_id: self
                .org_id
                .parse()
                .map_err(|e| StoreError::corrupt("users.org_id", e))?,
            username: self.username,
            display_name: self.display_name,
            email: self.email,
            role: self
                .role
                .parse()
                .map_err(|e| StoreError::corrupt("users.role", e))?,
            lang: self
                .lang
                .parse()
                .map_err(|e| StoreError::corrupt("users.lang", e))?,
            disabled: self.disabled,
            created_at: self.created_at,
        })
    }
}

pub(crate) const USER_COLUMNS: &str =
    "u.id, u.org_id, u.username, u.display_name, u.email, u.role, u.lang, u.disabled, u.created_at";

impl Store {
    pub async fn create_user(
        &self,
        new: &NewUser,
        password_hash: Option<&str>,
    ) -> Result<User, StoreError> {
        validate_username(&new.username)?;
        if new.display_name.chars().count() > 200 || new.email.len() > 254 {
            return Err(StoreError::Invalid(
                "display name or e-mail too long".into(),
            ));
        }
        let user = User {
            id: UserId::new(),
            org_id: new.org_id,
            username: new.username.clone(),
            display_name: if new.display_name.trim().is_empty() {
                new.username.clone()
            } else {
                new.display_name.trim().to_owned()
            },
            email: new.email.trim().to_owned(),
            role: new.role,
            lang: new.lang,
            disabled: false,
            created_at: now_millis(),
        };
        const SQL: &str = "INSERT INTO users (id, org_id, username, display_name, email, role, \
            lang, password_hash, disabled, created_at, updated_at) \
            VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(user.id.to_string())
            .bind(user.org_id.to_string())
            .bind(&user.username)
            .bind(&user.display_name)
            .bind(&user.email)
            .bind(user.role.as_str())
            .bind(user.lang.as_str())
            .bind(password_hash)
            .bind(false)
            .bind(user.created_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("the username {:?} is taken", user.username))
            }
            StoreError::Reference(_) => StoreError::NotFound("organisation"),
            other => other,
        })?;
        Ok(user)
    }

    pub async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1");
        let row: Option<UserRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(id.to_string())
        .fetch_optional(pool)
        .await)?;
        row.ok_or(StoreError::NotFound("user"))?.into_user()
    }

    /// The user and their password hash (None when they may not log in with a password).
    pub async fn get_user_for_login(
        &self,
        username: &str,
    ) -> Result<Option<(User, Option<String>)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: Option<String>,
        }
        let sql =
            format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1");
        let row: Option<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(username)
        .fetch_optional(pool)
        .await)?;
        row.map(|r| Ok((r.user.into_user()?, r.password_hash)))
            .transpose()
    }

    /// Resolves a user given by id or by username.
    pub async fn find_user(&self, id_or_name: &str) -> Result<User, StoreError> {
        if let Ok(id) = id_or_name.parse::<UserId>() {
            return self.get_user(id).await;
        }
        self.get_user_for_login(id_or_name)
            .await?
            .map(|(u, _)| u)
            .ok_or(StoreError::NotFound("user"))
    }

    /// Lists users, optionally of one organisation only.
    pub async fn list_users(
        &self,
        org: Option<OrgId>,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id > $1 AND ($2 = '' OR u.org_id = $2) \
             ORDER BY u.id LIMIT $3"
        );
        let org = org.map(|o| o.to_string()).unwrap_or_default();
        let rows: Vec<UserRow> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(page.after_key())
        .bind(&org)
        .bind(page.fetch_limit())
        .fetch_all(pool)
        .await)?;
        let users = rows
            .into_iter()
            .map(UserRow::into_user)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(users, page, |u| u.id.to_string()))
    }

    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, |pool| sqlx::query_as("SELECT COUNT(*) FROM users")
            .fetch_one(pool)
            .await)?;
        Ok(n)
    }

    pub async fn update_user(&self, id: UserId, patch: &UserPatch) -> Result<User, StoreError> {
        let mut user = self.get_user(id).await?;
        if let Some(v) = &patch.display_name {
            user.display_name = v.trim().to_owned();
        }
        if let Some(v) = &patch.email {
            user.email = v.trim().to_owned();
        }
        if let Some(v) = patch.role {
            user.role = v;
        }
        if let Some(v) = patch.lang {
            user.lang = v;
        }
        if let Some(v) = patch.disabled {
            user.disabled = v;
        }
        const SQL: &str = "UPDATE users SET display_name=$1, email=$2, role=$3, lang=$4, \
            disabled=$5, updated_at=$6 WHERE id=$7";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(&user.display_name)
            .bind(&user.email)
            .bind(user.role.as_str())
            .bind(user.lang.as_str())
            .bind(user.disabled)
            .bind(now_millis())
            .bind(id.to_string())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        if user.disabled {
            self.delete_sessions_of(id).await?;
        }
        Ok(user)
    }

    /// Replaces a user's password hash and ends their sessions.
    pub async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<(), StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "UPDATE users SET password_hash=$1, updated_at=$2 WHERE id=$3"
        )
        .bind(hash)
        .bind(now_millis())
        .bind(id.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        if done == 0 {
            return Err(StoreError::NotFound("user"));
        }
        self.delete_sessions_of(id).await
    }
}
