//! Web console sessions: a random session id in a cookie (stored hashed) and a CSRF token bound
//! to the session.

use mamori_model::{User, UserId};

use crate::users::{USER_COLUMNS, UserRow};
use crate::{Store, StoreError, now_millis, on_pool, secret};

/// A new session: the cookie value and the CSRF token to embed in forms.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub secret: String,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// A live session's user and CSRF token.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: i64,
}

impl Store {
    pub async fn create_session(
        &self,
        user: UserId,
        ttl_millis: i64,
        source_ip: &str,
        user_agent: &str,
    ) -> Result<NewSession, StoreError> {
        let now = now_millis();
        let session = NewSession {
            secret: secret::generate("")?,
            csrf_token: secret::generate("")?,
            expires_at: now.saturating_add(ttl_millis),
        };
        let ua: String = user_agent.chars().take(300).collect();
        const SQL: &str = "INSERT INTO sessions (secret_hash, user_id, csrf_token, created_at, \
            expires_at, source_ip, user_agent) VALUES ($1,$2,$3,$4,$5,$6,$7)";
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(secret::hash(&session.secret))
            .bind(user.to_string())
            .bind(&session.csrf_token)
            .bind(now)
            .bind(session.expires_at)
            .bind(source_ip)
            .bind(&ua)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(session)
    }

    /// The session's user, if the session exists, has not expired and the user is enabled.
    pub async fn resolve_session(&self, secret: &str) -> Result<Option<SessionInfo>, StoreError> {
        if secret.is_empty() || secret.len() > 100 {
            return Ok(None);
        }
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            user: UserRow,
            csrf_token: String,
            expires_at: i64,
        }
        let sql = format!(
            "SELECT {USER_COLUMNS}, s.csrf_token, s.expires_at FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.secret_hash = $1 AND s.expires_at > $2"
        );
        let row: Option<Row> = on_pool!(self, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            sql.as_str()
        ))
        .bind(secret::hash(secret))
        .bind(now_millis())
        .fetch_optional(pool)
        .await)?;
        let Some(row) = row else { return Ok(None) };
        let user = row.user.into_user()?;
        if user.disabled {
            return Ok(None);
        }
        Ok(Some(SessionInfo {
            user,
            csrf_token: row.csrf_token,
            expires_at: row.expires_at,
        }))
    }

    pub async fn delete_session(&self, secret: &str) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "DELETE FROM sessions WHERE secret_hash = $1"
        )
        .bind(secret::hash(secret))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn delete_sessions_of(&self, user: UserId) -> Result<(), StoreError> {
        on_pool!(self, |pool| sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1"
        )
        .bind(user.to_string())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Removes expired sessions; returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64, StoreError> {
        let done = on_pool!(self, |pool| sqlx::query(
            "DELETE FROM sessions WHERE expires_at <= $1"
        )
        .bind(now_millis())
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(done)
    }
}
