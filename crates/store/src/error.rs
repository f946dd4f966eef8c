//! The crate's one error type. Messages never contain PHI (no emails, names, record contents).

/// Everything that can go wrong in the store. [`StoreError::code`] is a stable string the
/// server maps to an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The email address is not plausible.
    #[error("invalid email address")]
    InvalidEmail,
    /// The password is too short or too long.
    #[error("password must be between {min} and {max} characters")]
    WeakPassword { min: usize, max: usize },
    /// The password is long enough but easy to guess (repeated characters,
    /// a run, a common password).
    #[error("this password is too easy to guess; use a few unrelated words")]
    GuessablePassword,
    /// An account with this email already exists.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Unknown email or wrong password (deliberately indistinguishable).
    #[error("wrong email or password")]
    BadCredentials,
    /// Too many failed logins for this account or client, or accounts made
    /// by this client; try again after `retry_after` seconds.
    #[error("too many attempts; try again in {retry_after} seconds")]
    TooManyAttempts { retry_after: i64 },
    /// A per-user limit (record count, total size, saved answers) would be exceeded.
    #[error("quota exceeded: {0}")]
    QuotaExceeded(&'static str),
    /// An argument is out of range or malformed (which one, never its value).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The session or account the call relies on no longer exists.
    #[error("not found")]
    NotFound,
    /// A ciphertext failed authentication: tampered, swapped between rows, or wrong master key.
    #[error("stored data failed its integrity check")]
    Integrity,
    /// The master key is missing, unreadable, malformed or unsafely stored.
    #[error("master key: {0}")]
    Key(String),
    /// The database URL is not understood.
    #[error("configuration: {0}")]
    Config(String),
    /// A schema migration failed.
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    /// Any other database failure.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// File-system failure (master key file, database directory).
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// Randomness, hashing or a background task failed.
    #[error("internal: {0}")]
    Internal(&'static str),
}

impl StoreError {
    /// Stable machine-readable code; the server maps these to HTTP statuses.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidEmail => "invalid_email",
            StoreError::WeakPassword { .. } | StoreError::GuessablePassword => "weak_password",
            StoreError::EmailTaken => "email_taken",
            StoreError::BadCredentials => "bad_credentials",
            StoreError::TooManyAttempts { .. } => "too_many_attempts",
            StoreError::QuotaExceeded(_) => "quota_exceeded",
            StoreError::InvalidInput(_) => "invalid_input",
            StoreError::NotFound => "not_found",
            StoreError::Integrity => "integrity",
            StoreError::Key(_) => "master_key",
            StoreError::Config(_) => "config",
            StoreError::Migration { .. } => "migration",
            StoreError::Database(_) => "database",
            StoreError::Io(_) => "io",
            StoreError::Internal(_) => "internal",
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
