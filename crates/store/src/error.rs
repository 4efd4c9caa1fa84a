//! The storage error type and its mapping from sqlx errors.

use crate::Backend;

#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("invalid database URL: {0}")]
    BadUrl(String),
    #[error("{backend} database unreachable: {message}")]
    Unavailable { backend: Backend, message: String },
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("refers to something that does not exist or is still referenced: {0}")]
    Reference(String),
    #[error("invalid value stored in column {column}: {message}")]
    Corrupt {
        column: &'static str,
        message: String,
    },
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    pub(crate) fn unavailable(backend: Backend, e: sqlx::Error) -> Self {
        StoreError::Unavailable {
            backend,
            message: e.to_string(),
        }
    }

    pub(crate) fn corrupt(column: &'static str, e: impl std::fmt::Display) -> Self {
        StoreError::Corrupt {
            column,
            message: e.to_string(),
        }
    }

    /// A stable code for the API layer to map to an HTTP status.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::BadUrl(_) => "bad_url",
            StoreError::Unavailable { .. } => "unavailable",
            StoreError::Migration(_) => "migration",
            StoreError::NotFound(_) => "not_found",
            StoreError::Conflict(_) => "conflict",
            StoreError::Reference(_) => "reference",
            StoreError::Corrupt { .. } => "corrupt",
            StoreError::Invalid(_) => "invalid",
            StoreError::Database(_) => "database",
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound("row"),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            sqlx::Error::Database(db)
                if db.is_foreign_key_violation()
                    || db.message().contains("FOREIGN KEY constraint failed") =>
            {
                StoreError::Reference(db.message().to_owned())
            }
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Database(format!("connection: {e}"))
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}
