//! # sextant-store: the storage layer of the Sextant web server
//!
//! Accounts, sessions, uploaded medical records, the person's profile and saved personal
//! answers are protected health information (PHI; HIPAA §164.312, OWASP ASVS L2). This crate
//! is the only code that touches them at rest. It runs on SQLite (one file, WAL) or
//! PostgreSQL (several replicas) through sqlx's runtime `Any` driver with portable SQL and one
//! migration directory per backend (`migrations/sqlite`, `migrations/postgres`).
//!
//! ## Envelope encryption
//!
//! - A 256-bit **master key** ([`MasterKey`]) lives outside the database (a 0600 file or an
//!   environment variable). It is used only to wrap data keys and, through HMAC-derived
//!   sub-keys, to seal the account email and compute its keyed lookup hash.
//! - Each user gets a random 256-bit **data key**, stored only wrapped (XChaCha20-Poly1305)
//!   under the master key in `users.wrapped_key`.
//! - Record bytes, record names, profile JSON and saved answers (question and answer) are
//!   sealed under the data key with a fresh random 24-byte nonce each. The associated data
//!   binds kind, owner id, row id and what else the row is bound to (a record's format, the
//!   profile's version), so a ciphertext copied to another user, another row or another
//!   column, or a relabelled record, fails to open. The wrapped data key is bound to the
//!   profile's version and the set of the user's record ids, so an older copy of the profile
//!   or a deleted record put back makes the key fail to open. Every read checks the tag: a
//!   tampered, swapped or rolled-back ciphertext is [`StoreError::Integrity`] (code
//!   `"integrity"`), never garbage. Session rows carry a MAC keyed from the master key.
//! - Deleting an account deletes its rows *and* its wrapped key (crypto-shredding): copies of
//!   ciphertexts left in backups can no longer be opened. SQLite runs with `secure_delete`.
//!
//! ## The access layer
//!
//! [`Store::user`] returns a [`UserScope`] for an authenticated [`SessionInfo`]. It is the
//! single access-control layer: every PHI query lives in `scope.rs`, takes its owner id from
//! the scope and filters on it (`WHERE user_id = $owner`), so another user's id yields `None`
//! or `false`, exactly like an id that does not exist. Ids handed to clients are random
//! 128-bit hex strings, never sequential.
//!
//! ## The audit chain
//!
//! Every [`UserScope`] call and every register, login, logout and account deletion appends one
//! row to `audit_log`: sequence number, time, actor, subject, target id, action, outcome — ids
//! and action names only, never PHI. Each row's `hash` is SHA-256 over the previous row's hash
//! and the row's length-prefixed canonical fields, keyed: HMAC-SHA256 with a key derived from the
//! master key, which lives outside the database, so whoever can write the database cannot
//! recompute the chain (rows from before the key, `v = 1`, are plain SHA-256 and accepted only
//! before the first keyed row). The chain head (`audit_head`) holds the last
//! sequence number and hash, and is also written after every audited write to a file outside
//! the database when one is set ([`Store::export_audit_head_to`]); `audit_verify_against`
//! checks the chain still reaches that head, so deleting the last rows is detected. An append runs in the same transaction as the change it records
//! (a failed call is recorded in its own transaction, with the error code as outcome) and
//! serializes on the head: `SELECT … FOR UPDATE` on PostgreSQL, a `BEGIN IMMEDIATE` write
//! transaction on SQLite, so concurrent replicas keep one chain. [`Store::audit_verify`] walks
//! the chain and reports the first row that was edited, deleted or reordered.
//!
//! ## Sessions and logins
//!
//! Session tokens are 256-bit random, base64url; only their SHA-256 is stored. Sessions expire
//! 30 minutes after last use and 12 hours after login. Passwords are hashed with argon2id.
//! Unknown email and wrong password give the same error (`"bad_credentials"`) after the same
//! work; each attempt is counted before the password is checked, and five failures within
//! 15 minutes for one account (or twenty for one client) give `"too_many_attempts"`.
//!
//! Nothing in this crate logs, and sqlx statement logging is switched off.

mod audit;
mod auth;
mod crypto;
mod error;
mod public;
mod scope;
#[cfg(feature = "test-support")]
pub mod testing;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions};

pub use audit::{with_request, AuditHead, AuditReport};
pub use crypto::{ct_eq, MasterKey};
pub use error::{Result, StoreError};
pub use public::{Review, MAX_PENDING};
pub use scope::{Access, NewRecord, RowCheck, UserScope};

/// Session idle timeout (seconds since last use).
pub const SESSION_IDLE_SECS: i64 = 30 * 60;
/// Session absolute lifetime (seconds since login).
pub const SESSION_ABSOLUTE_SECS: i64 = 12 * 60 * 60;
/// Window over which failed logins are counted.
pub const LOGIN_WINDOW_SECS: i64 = 15 * 60;
/// Failed logins per account within the window before its logins are
/// refused (until the window passes, or `sextant account unlock`).
pub const LOGIN_MAX_FAILURES: i64 = 5;
/// Failed logins per client (IP) within the window, over all accounts,
/// before that client's logins are refused.
pub const CLIENT_MAX_FAILURES: i64 = 20;
/// Accounts one client may create within the window.
pub const REGISTER_MAX_PER_CLIENT: i64 = 5;
/// Minimum password length, in characters.
pub const PASSWORD_MIN_CHARS: usize = 10;
/// Maximum password length, in characters.
pub const PASSWORD_MAX_CHARS: usize = 1024;
/// Maximum records per user.
pub const MAX_RECORDS: i64 = 20;
/// Maximum total record bytes per user.
pub const MAX_RECORD_BYTES: i64 = 50 * 1024 * 1024;
/// Maximum saved personal answers per user.
pub const MAX_SAVED_ANSWERS: i64 = 1000;
/// Maximum size of a profile JSON, a saved or published answer JSON.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Maximum size of a question.
pub const MAX_QUESTION_BYTES: usize = 4096;
/// Maximum length of a record name.
pub const MAX_NAME_BYTES: usize = 255;

/// A source of the current time, in unix seconds.
pub trait Clock: Send + Sync {
    /// Now, in unix seconds.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A settable clock for tests.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock reading `now`.
    pub fn new(now: i64) -> ManualClock {
        ManualClock(AtomicI64::new(now))
    }
    /// Sets the time.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

macro_rules! random_id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as sent to clients (32 lowercase hex digits).
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub(crate) fn random() -> Result<$name> {
                crypto::random_id().map($name)
            }
            pub(crate) fn from_db(s: String) -> $name {
                $name(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = StoreError;
            /// Accepts only the store's own id shape (32 lowercase hex digits).
            fn from_str(s: &str) -> Result<$name> {
                if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    Ok($name(s.to_owned()))
                } else {
                    Err(StoreError::InvalidInput("malformed id"))
                }
            }
        }
    };
}

random_id_type!(
    /// A user's id (random, 128-bit, hex).
    UserId
);
random_id_type!(
    /// A record's id (random, 128-bit, hex).
    RecordId
);
random_id_type!(
    /// A saved answer's id (random, 128-bit, hex).
    AnswerId
);

/// A fresh login. Give `token` to the client (cookie) and forget it: only its hash is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSession {
    /// 256-bit random, base64url without padding.
    pub token: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// Who logged in.
    pub user: UserId,
    /// Absolute expiry (unix seconds); the session also ends after 30 idle minutes.
    pub expires_at: i64,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"<redacted>")
            .field("csrf", &"<redacted>")
            .field("user", &self.user)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// An authenticated session, as returned by [`Store::session`].
#[derive(Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The account.
    pub user: UserId,
    /// The account's email (normalized to lower case).
    pub email: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// SHA-256 of the session token, hex.
    pub token_hash: String,
    /// Whether the person allows answers personalized from their records.
    pub personalize: bool,
}

impl fmt::Debug for SessionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionInfo")
            .field("user", &self.user)
            .field("email", &"<redacted>")
            .field("csrf", &"<redacted>")
            .field("personalize", &self.personalize)
            .finish()
    }
}

/// A stored record's metadata (the name is decrypted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMeta {
    pub id: RecordId,
    pub name: String,
    pub format: String,
    /// Plaintext size in bytes.
    pub size: i64,
    /// What it unpacks to, in bytes (what quotas count).
    pub unpacked: i64,
    /// Unix seconds.
    pub created: i64,
}

/// A saved personal answer (decrypted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAnswer {
    pub id: AnswerId,
    pub question: String,
    pub answer_json: String,
    /// Unix seconds.
    pub created: i64,
}

/// An answer in the public library (general, non-personal; stored in clear).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAnswer {
    pub slug: String,
    pub question: String,
    pub answer_json: String,
    /// Unix seconds.
    pub created: i64,
    /// Unix seconds.
    pub updated: i64,
}

/// Which database the store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub(crate) type Tx = sqlx::Transaction<'static, Any>;

/// The store: a connection pool, the master key and a clock. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    key: MasterKey,
    clock: Arc<dyn Clock>,
    /// An argon2 hash of a random password, verified against for unknown emails.
    dummy_hash: OnceLock<String>,
    /// Bounds concurrent argon2 work (each hash holds its memory cost).
    hashing: tokio::sync::Semaphore,
    /// Where the audit chain's head is written after every audited write
    /// ([`Store::export_audit_head_to`]).
    audit_head_file: OnceLock<std::path::PathBuf>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .finish_non_exhaustive()
    }
}

const MIGRATIONS_SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../migrations/sqlite/0002_library_review.sql"),
    ),
    (3, include_str!("../migrations/sqlite/0003_keyed_audit.sql")),
    (4, include_str!("../migrations/sqlite/0004_bound_rows.sql")),
];
const MIGRATIONS_POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_library_review.sql"),
    ),
    (
        3,
        include_str!("../migrations/postgres/0003_keyed_audit.sql"),
    ),
    (
        4,
        include_str!("../migrations/postgres/0004_bound_rows.sql"),
    ),
];

/// Splits `sqlite://PATH?params` into the path, for file permissions and
/// directories; `None` for an in-memory database or another backend.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        None
    } else {
        Some(std::path::PathBuf::from(path))
    }
}

impl Store {
    /// Opens (creating if needed) the database and runs pending migrations.
    ///
    /// `sqlite://PATH` (file created if missing, with mode 0600; WAL, foreign keys, busy
    /// timeout, secure delete) or `postgres://…` / `postgresql://…`.
    pub async fn open(database_url: &str, key: MasterKey, clock: Arc<dyn Clock>) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if database_url.starts_with("sqlite:") {
            let mut url = database_url.to_owned();
            if !url.contains("mode=") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
            if let Some(path) = sqlite_path(&url) {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
            }
            (Backend::Sqlite, url)
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            if !cfg!(feature = "postgres") {
                return Err(StoreError::Config(
                    "built without PostgreSQL support (feature `postgres`)".into(),
                ));
            }
            (Backend::Postgres, database_url.to_owned())
        } else {
            return Err(StoreError::Config(
                "database URL must start with sqlite:// or postgres://".into(),
            ));
        };
        let opts = AnyConnectOptions::from_str(&url)
            .map_err(|_| StoreError::Config("malformed database URL".into()))?
            .log_statements(log::LevelFilter::Off)
            .log_slow_statements(log::LevelFilter::Off, Duration::from_secs(3600));
        let memory = backend == Backend::Sqlite && sqlite_path(&url).is_none();
        let pool = AnyPoolOptions::new()
            .max_connections(if memory { 1 } else { 8 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::raw_sql(
                            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 15000; \
                             PRAGMA secure_delete = ON; PRAGMA synchronous = FULL;",
                        )
                        .execute(&mut *conn)
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        if backend == Backend::Sqlite {
            sqlx::raw_sql("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
            #[cfg(unix)]
            if let Some(path) = sqlite_path(&url) {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
        }
        let store = Store {
            inner: Arc::new(Inner {
                pool,
                backend,
                key,
                clock,
                dummy_hash: OnceLock::new(),
                hashing: tokio::sync::Semaphore::new(
                    std::thread::available_parallelism().map_or(2, |n| n.get()),
                ),
                audit_head_file: OnceLock::new(),
            }),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Writes a consistent copy of a SQLite database to `dest` while it
    /// serves (`VACUUM INTO`), with mode 0600. `dest` must not exist. The
    /// copy is as sealed as the database: it opens only with the master
    /// key, which is kept apart and never in a backup. On PostgreSQL this
    /// is `config` (use `pg_dump`, as `sextant backup` does).
    pub async fn backup_sqlite_to(&self, dest: &std::path::Path) -> Result<()> {
        if self.is_pg() {
            return Err(StoreError::Config(
                "a PostgreSQL database is backed up with pg_dump".into(),
            ));
        }
        let dest_str = dest
            .to_str()
            .ok_or_else(|| StoreError::Config("the backup path is not UTF-8".into()))?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(dest)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dest.display())))?;
        let res = sqlx::query("VACUUM INTO $1")
            .bind(dest_str)
            .execute(&self.inner.pool)
            .await;
        if let Err(e) = res {
            let _ = std::fs::remove_file(dest);
            return Err(e.into());
        }
        Ok(())
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    /// Checks that the database answers.
    pub async fn health(&self) -> Result<()> {
        let one: i64 = sqlx::query_scalar("SELECT CAST(1 AS BIGINT)")
            .fetch_one(&self.inner.pool)
            .await?;
        if one == 1 {
            Ok(())
        } else {
            Err(StoreError::Internal("health check returned a wrong value"))
        }
    }

    /// The access layer for an authenticated session: every PHI query goes through it.
    pub fn user(&self, s: &SessionInfo) -> UserScope<'_> {
        UserScope::new(self, s)
    }

    pub(crate) fn now(&self) -> i64 {
        self.inner.clock.now()
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.inner.pool
    }

    pub(crate) fn audit_head_file(&self) -> &OnceLock<std::path::PathBuf> {
        &self.inner.audit_head_file
    }

    pub(crate) fn key(&self) -> &MasterKey {
        &self.inner.key
    }

    pub(crate) fn is_pg(&self) -> bool {
        self.inner.backend == Backend::Postgres
    }

    /// A write transaction: `BEGIN IMMEDIATE` on SQLite (takes the write lock up front, so
    /// read-then-write never deadlocks), plain `BEGIN` on PostgreSQL (rows are locked with
    /// `FOR UPDATE`).
    pub(crate) async fn begin_write(&self) -> Result<Tx> {
        Ok(match self.inner.backend {
            Backend::Sqlite => self.inner.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.inner.pool.begin().await?,
        })
    }

    async fn migrate(&self) -> Result<()> {
        let migrations = match self.inner.backend {
            Backend::Sqlite => MIGRATIONS_SQLITE,
            Backend::Postgres => MIGRATIONS_POSTGRES,
        };
        if self.is_pg() {
            // Serialize concurrent replicas starting at once.
            let mut tx = self.inner.pool.begin().await?;
            sqlx::raw_sql("SELECT pg_advisory_xact_lock(7351746580193)")
                .execute(&mut *tx)
                .await?;
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS sextant_schema (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *tx)
            .await?;
            self.apply_migrations(&mut tx, migrations).await?;
            tx.commit().await?;
        } else {
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS sextant_schema (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            )
            .execute(&self.inner.pool)
            .await?;
            let mut tx = self.begin_write().await?;
            self.apply_migrations(&mut tx, migrations).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    async fn apply_migrations(
        &self,
        tx: &mut Tx,
        migrations: &[(i64, &'static str)],
    ) -> Result<()> {
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM sextant_schema")
            .fetch_all(&mut **tx)
            .await?;
        let known = migrations.last().map(|m| m.0).unwrap_or(0);
        if let Some(v) = applied.iter().find(|v| **v > known) {
            return Err(StoreError::Config(format!(
                "database schema version {v} is newer than this program knows ({known})"
            )));
        }
        // The scripts run first, then the steps in Rust of the versions
        // applied now, so each step sees the whole schema it writes to.
        let mut steps = Vec::new();
        for (version, sql) in migrations {
            if applied.contains(version) {
                continue;
            }
            steps.push(*version);
            sqlx::raw_sql(*sql)
                .execute(&mut **tx)
                .await
                .map_err(|source| StoreError::Migration {
                    version: *version,
                    source,
                })?;
            sqlx::query("INSERT INTO sextant_schema (version, applied_at) VALUES ($1, $2)")
                .bind(*version)
                .bind(self.now())
                .execute(&mut **tx)
                .await?;
        }
        for version in steps {
            if version == audit::KEYED_SINCE_MIGRATION {
                self.key_legacy_chain(tx).await?;
            }
            if version == scope::BOUND_SINCE_MIGRATION {
                scope::seal_again(self, tx).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_their_shape() {
        let id = RecordId::random().unwrap();
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(id.as_str().parse::<RecordId>().unwrap(), id);
        assert!("1".parse::<RecordId>().is_err());
        assert!("../../etc/passwd".parse::<AnswerId>().is_err());
        assert!(id.as_str().to_uppercase().parse::<UserId>().is_err());
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db?mode=rwc").unwrap(),
            std::path::Path::new("/tmp/a.db")
        );
        assert_eq!(
            sqlite_path("sqlite://data/a.db").unwrap(),
            std::path::Path::new("data/a.db")
        );
        assert!(sqlite_path("sqlite::memory:").is_none());
    }
}
