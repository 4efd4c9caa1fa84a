//! What every store test starts from: a migrated store on a fresh SQLite file or a fresh
//! database of the shared loopback PostgreSQL server (mamori-testkit).

use mamori_store::{ConnectOptions, Store};

/// A migrated store; the SQLite file's directory lives as long as this does.
pub struct Db {
    pub store: Store,
    _guard: Option<tempfile::TempDir>,
}

pub async fn sqlite() -> Db {
    let (dir, url) = mamori_testkit::fresh_sqlite_url();
    let store = Store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Db {
        store,
        _guard: Some(dir),
    }
}

pub async fn postgres() -> Db {
    let url = mamori_testkit::Postgres::shared().fresh_database_url();
    let store = Store::connect(&url, &ConnectOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    Db {
        store,
        _guard: None,
    }
}
