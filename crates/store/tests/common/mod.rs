//! Test harness: every test body runs against a fresh SQLite file and, when `initdb` is
//! available, a fresh database in the throwaway PostgreSQL cluster of
//! [`sextant_store::testing`] (one per test binary, unix socket only, stopped and removed at
//! exit; `SEXTANT_REQUIRE_PG=1` makes a missing cluster a failure).

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use sextant_store::{testing, Backend, ManualClock, MasterKey, Store};
use sqlx::AnyPool;

pub use sextant_store::testing::{contains, files_under};

pub const T0: i64 = 1_800_000_000;

pub struct H {
    pub name: &'static str,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub raw: AnyPool,
    pub url: String,
    pub key_b64: String,
    /// SQLite: the database file. PostgreSQL: the cluster's data directory.
    pub files: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl H {
    pub fn is_pg(&self) -> bool {
        self.store.backend() == Backend::Postgres
    }

    /// A second store on the same database with the same key and clock (a "replica").
    pub async fn reopen(&self) -> Store {
        let key = MasterKey::parse(&self.key_b64).unwrap();
        Store::open(&self.url, key, self.clock.clone())
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &'static str, bind: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(bind)
            .fetch_one(&self.raw)
            .await
            .unwrap()
    }

    pub async fn exec(&self, sql: &'static str) {
        sqlx::raw_sql(sql).execute(&self.raw).await.unwrap();
    }
}

/// Fresh stores: SQLite always, PostgreSQL when a cluster could be started.
pub async fn harnesses() -> Vec<H> {
    sqlx::any::install_default_drivers();
    let mut out = vec![sqlite().await];
    if let Some(url) = testing::postgres_url().await {
        let files = testing::pg_cluster()
            .expect("a database URL implies a cluster")
            .data_dir();
        out.push(open("postgres", url, files, None).await);
    }
    out
}

async fn open(
    name: &'static str,
    url: String,
    files: PathBuf,
    dir: Option<tempfile::TempDir>,
) -> H {
    let key = MasterKey::generate();
    let key_b64 = key.to_base64().to_string();
    let clock = Arc::new(ManualClock::new(T0));
    let store = Store::open(&url, key, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: open: {e}"));
    let raw = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .unwrap();
    H {
        name,
        store,
        clock,
        raw,
        url,
        key_b64,
        files,
        _dir: dir,
    }
}

async fn sqlite() -> H {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("sextant.db");
    let url = format!("sqlite://{}", path.display());
    open("sqlite", url, path, Some(dir)).await
}
