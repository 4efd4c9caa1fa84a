//! Storage for the hub. [`Store`] holds a pool on one of two backends ([`Db`]), SQLite (the embedded
//! default, WAL mode, one file) and PostgreSQL, chosen by the database URL. Every repository
//! method runs the same SQL text on either backend (the statements are written in the common
//! dialect, with `$n` parameters that both accept); only the migrations differ per backend.
//!
//! Repositories: organisations ([`orgs`]), users ([`users`]), API tokens ([`tokens`]), web
//! sessions ([`sessions`]), sharing groups ([`groups`]), the hash-chained audit log ([`audit`]),
//! incident cases ([`cases`]) with their evidence ([`evidence`]), observables
//! ([`case_observables`]) and coordination requests
//! ([`case_requests`]), playbooks ([`playbooks`]), organisation webhooks ([`webhooks`]), stored
//! mail analyses with their sample files ([`mail_analyses`]) and the campaigns they cluster into
//! ([`mail_campaigns`]).
//! [`visibility`] renders the access policy's list filter as SQL for tables of marked objects.

pub mod alerts;
pub mod audit;
mod block_reindex;
pub mod blocklist_profiles;
pub mod blocks;
pub mod case_observables;
pub mod case_requests;
pub mod cases;
mod error;
pub mod events;
pub mod evidence;
pub mod feeds;
pub mod fts;
pub mod groups;
pub mod ingest;
mod legacy_events;
pub mod mail_analyses;
pub mod mail_campaigns;
pub mod misp_feed;
pub mod notes;
pub mod notices;
pub mod orgs;
mod page;
pub mod playbooks;
pub mod reports;
pub mod retro;
mod secret;
pub mod sensors;
pub mod sessions;
pub mod stix;
mod table_stats;
pub mod tokens;
pub mod users;
pub mod visibility;
pub mod webhooks;
pub mod yara_rules;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

pub use error::StoreError;
pub use page::{Page, PageRequest};

/// Runs `$body` with `$pool` bound to whichever backend pool `$store` holds. The body is compiled
/// once per backend, so the same statement text and row types serve both.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store.db() {
            $crate::Db::Sqlite(p) => {
                let $pool = p;
                $body
            }
            $crate::Db::Postgres(p) => {
                let $pool = p;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// Starts a transaction that will write. On SQLite it begins `IMMEDIATE`: a deferred
/// transaction that reads first and writes later fails at once with "database is locked" when
/// another connection wrote in between (SQLite cannot upgrade its stale read snapshot, and the
/// busy timeout does not apply), which concurrent TAXII posts hit; an immediate one takes the
/// write lock up front and waits for it under the busy timeout. PostgreSQL needs nothing.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for sqlx::SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// Which database a [`Store`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        })
    }
}

/// The hub's storage: a connection pool on one of the supported backends, the audit appends
/// waiting for their group commit, and the growth of tables whose statistics it refreshes
/// (all shared by every clone).
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    audit: std::sync::Arc<audit::AppendQueue>,
    stats: std::sync::Arc<table_stats::TableStats>,
}

/// A connection pool on one of the supported backends.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl From<Db> for Store {
    fn from(db: Db) -> Store {
        Store {
            db,
            audit: std::sync::Arc::default(),
            stats: std::sync::Arc::default(),
        }
    }
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The GIN pending list a hub connection lets grow before it merges it into the index
/// (PostgreSQL's default is 4MB). Event blocks add about 11,000 terms each; merging eight
/// times fewer, larger lists does about 7 % less index work per block and stalls a commit
/// for a merge less often (docs/benchmarks.md, "Bus: PostgreSQL's share of a block"). Queries
/// read the pending list whole: at this size that costs a few milliseconds.
const GIN_PENDING_LIST_LIMIT: &str = "32MB";

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// What [`Store::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions applied by this call.
    pub applied: Vec<i64>,
    /// The newest version now in the database.
    pub current: i64,
}

impl Store {
    /// Opens the database named by `url` (`sqlite://PATH` or `postgres://...`). An SQLite file
    /// and its parent directory are created when missing. Does not migrate.
    pub async fn connect(url: &str, opts: &ConnectOptions) -> Result<Store, StoreError> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let path = rest.split('?').next().unwrap_or(rest);
            if let Some(parent) = std::path::Path::new(path).parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| StoreError::Unavailable {
                    backend: Backend::Sqlite,
                    message: format!("cannot create {}: {e}", parent.display()),
                })?;
            }
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::BadUrl(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                // SQLite's defaults (a 2 MiB page cache, statement journals in files) send a
                // 100,000-item feed run through the kernel page by page. (mmap reads were tried
                // too: each pooled connection's mapping counts in the hub's RSS, 2 GiB after a
                // million TAXII objects, for no measurable gain.)
                .pragma("cache_size", "-16384")
                .pragma("temp_store", "memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.connect_timeout)
                .connect_with(options)
                .await
                .map_err(|e| StoreError::unavailable(Backend::Sqlite, e))?;
            Ok(Db::Sqlite(pool).into())
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)
                .map_err(|e| StoreError::BadUrl(e.to_string()))?
                .options([("gin_pending_list_limit", GIN_PENDING_LIST_LIMIT)]);
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.connect_timeout)
                .connect_with(options)
                .await
                .map_err(|e| StoreError::unavailable(Backend::Postgres, e))?;
            Ok(Db::Postgres(pool).into())
        } else {
            Err(StoreError::BadUrl(format!(
                "unsupported database URL scheme in {:?}: use sqlite:// or postgres://",
                redact_url(url)
            )))
        }
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The connection pool.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Applies every pending migration of this backend.
    pub async fn migrate(&self) -> Result<MigrationReport, StoreError> {
        let before = self.applied_versions().await.unwrap_or_default();
        let result = match &self.db {
            Db::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await,
            Db::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await,
        };
        result.map_err(|e| StoreError::Migration(e.to_string()))?;
        self.move_legacy_events().await?;
        self.reindex_event_blocks().await?;
        let after = self.applied_versions().await?;
        Ok(MigrationReport {
            applied: after
                .iter()
                .filter(|v| !before.contains(v))
                .copied()
                .collect(),
            current: after.iter().copied().max().unwrap_or(0),
        })
    }

    /// Versions recorded as applied (empty before the first migration).
    pub async fn applied_versions(&self) -> Result<Vec<i64>, StoreError> {
        const SQL: &str = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        let rows: Vec<(i64,)> = on_pool!(self, |pool| sqlx::query_as(SQL)
            .fetch_all(pool)
            .await
            .map_err(StoreError::from)?);
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: (i64,) = on_pool!(self, |pool| sqlx::query_as("SELECT CAST(1 AS BIGINT)")
            .fetch_one(pool)
            .await
            .map_err(|e| StoreError::unavailable(self.backend(), e))?);
        Ok(())
    }

    /// Runs one statement as given, with no parameters. For maintenance scripts and tests (the
    /// tamper tests use it to edit the audit log behind the hub's back); never for user input.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        let sql = sql.to_owned();
        Ok(on_pool!(self, |pool| sqlx::raw_sql(sqlx::AssertSqlSafe(
            sql
        ))
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?)
    }

    /// Closes every connection (on shutdown).
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

/// The URL with any password replaced, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Milliseconds since the epoch, now.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_password() {
        assert_eq!(
            super::redact_url("postgres://mamori:s3cret@127.0.0.1:5432/db"),
            "postgres://mamori:***@127.0.0.1:5432/db"
        );
        assert_eq!(super::redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
