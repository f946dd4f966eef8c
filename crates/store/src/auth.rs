//! Accounts, logins, sessions and account deletion.

use zeroize::Zeroizing;

use crate::audit::Event;
use crate::crypto::{self, DataKey};
use crate::error::{Result, StoreError};
use crate::{
    NewSession, SessionInfo, Store, UserId, CLIENT_MAX_FAILURES, LOGIN_MAX_FAILURES,
    LOGIN_WINDOW_SECS, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, REGISTER_MAX_PER_CLIENT,
    SESSION_ABSOLUTE_SECS, SESSION_IDLE_SECS,
};

/// Trims and lower-cases an email; rejects implausible ones (no value in the error).
pub(crate) fn normalize_email(email: &str) -> Result<String> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && match e.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local.len() <= 64
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if ok {
        Ok(e)
    } else {
        Err(StoreError::InvalidEmail)
    }
}

fn check_password(password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&n) {
        return Err(StoreError::WeakPassword {
            min: PASSWORD_MIN_CHARS,
            max: PASSWORD_MAX_CHARS,
        });
    }
    if guessable(password) {
        return Err(StoreError::GuessablePassword);
    }
    Ok(())
}

const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// A password long enough but easy to guess (issue 19, finding 10:
/// "aaaaaaaaaa" passed): fewer than five different characters, a run
/// ("1234567890", "abcdefghij", "9876543210"), or a common password from
/// `data/common-passwords.txt`, also with digits or symbols added at the end.
fn guessable(password: &str) -> bool {
    let lower = password.to_lowercase();
    let mut distinct: Vec<char> = lower.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 5 {
        return true;
    }
    let cs: Vec<u32> = lower.chars().map(u32::from).collect();
    let run = |step: i64| {
        cs.windows(2)
            .all(|w| i64::from(w[1]) - i64::from(w[0]) == step)
    };
    if run(1) || run(-1) {
        return true;
    }
    let base = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    COMMON_PASSWORDS
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .any(|common| {
            lower == common
                || base == common.trim_end_matches(|c: char| !c.is_alphabetic())
                    && !base.is_empty()
                    && base.len() >= 6
        })
}

/// A session token's stored form; `None` if it cannot be one of ours.
fn token_hash(token: &str) -> Option<String> {
    (token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then(|| crypto::sha256_hex(&[token.as_bytes()]))
}

type SessionRow = (String, String, i64, i64, Vec<u8>, i64, String);

impl Store {
    /// Creates an account. Errors: `invalid_email`, `weak_password` (under 10 characters),
    /// `email_taken`.
    pub async fn register(&self, email: &str, password: &str) -> Result<UserId> {
        self.register_inner(email, password, None).await
    }

    /// [`Store::register`] for a request from `client` (its IP): at most
    /// [`REGISTER_MAX_PER_CLIENT`] accounts per client within the login
    /// window, counted before any hashing.
    pub async fn register_from(&self, email: &str, password: &str, client: &str) -> Result<UserId> {
        self.register_inner(email, password, Some(client)).await
    }

    async fn register_inner(
        &self,
        email: &str,
        password: &str,
        client: Option<&str>,
    ) -> Result<UserId> {
        let email = normalize_email(email)?;
        check_password(password)?;
        if let Some(client) = client {
            let key = crypto::sha256_hex(&[b"register-client/v1|", client.as_bytes()]);
            self.reserve_attempt(&[(&key, REGISTER_MAX_PER_CLIENT)], "register", "")
                .await?;
        }
        let lookup = self.key().email_lookup(&email);
        let id = UserId::random()?;
        let wrapped = self.key().wrap(
            id.as_str(),
            &crate::scope::state_of(0, &[]),
            &DataKey::generate()?,
        )?;
        let email_enc = self.key().seal_email(id.as_str(), &email)?;
        let pw = Zeroizing::new(password.to_owned());
        let permit = self.hashing_permit().await?;
        let hash = tokio::task::spawn_blocking(move || crypto::hash_password(&pw))
            .await
            .map_err(|_| StoreError::Internal("password hashing task failed"))??;
        drop(permit);
        let mut tx = self.begin_write().await?;
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM users WHERE email_lookup = $1")
                .bind(&lookup)
                .fetch_optional(&mut *tx)
                .await?;
        let res = if taken.is_some() {
            Err(StoreError::EmailTaken)
        } else {
            sqlx::query(
                "INSERT INTO users (id, email_lookup, email_enc, password_hash, wrapped_key, personalize, created_at) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6)",
            )
            .bind(id.as_str())
            .bind(&lookup)
            .bind(email_enc)
            .bind(hash)
            .bind(wrapped)
            .bind(self.now())
            .execute(&mut *tx)
            .await
            .map(|_| ())
            .map_err(|e| match e.as_database_error() {
                Some(d) if d.is_unique_violation() => StoreError::EmailTaken,
                _ => StoreError::Database(e),
            })
        };
        let ok = res.is_ok();
        let who = if ok { id.as_str() } else { "" };
        let ev = Event {
            session: "",
            actor: who,
            subject: who,
            target: "",
            action: "register",
            outcome: "ok",
        };
        self.finish(tx, res, ev, |_| "ok").await?;
        Ok(id)
    }

    /// Logs in. Unknown email and wrong password both give `bad_credentials`, after the same
    /// argon2 work. Each attempt is counted before the password is checked, in one write
    /// transaction, against the account ([`LOGIN_MAX_FAILURES`] within
    /// [`LOGIN_WINDOW_SECS`]) and against `client` (its IP; [`CLIENT_MAX_FAILURES`]); over
    /// either, `too_many_attempts` with the seconds until the oldest counted attempt leaves
    /// the window. So concurrent guesses cannot all be checked, many IPs cannot share one
    /// account's budget, and an owner is never locked out for longer than the window
    /// (`sextant account unlock` ends it at once).
    pub async fn login(&self, email: &str, password: &str, client: &str) -> Result<NewSession> {
        let now = self.now();
        // An implausible email is just bad credentials; it is still throttled and timed alike.
        let email = normalize_email(email).unwrap_or_else(|_| email.to_owned());
        let lookup = self.key().email_lookup(&email);
        let account_key = account_throttle_key(&lookup);
        let client_key = crypto::sha256_hex(&[b"login-client/v2|", client.as_bytes()]);
        let user: Option<(String, String)> =
            sqlx::query_as("SELECT id, password_hash FROM users WHERE email_lookup = $1")
                .bind(&lookup)
                .fetch_optional(self.pool())
                .await?;
        let subject = user.as_ref().map(|u| u.0.clone()).unwrap_or_default();
        self.reserve_attempt(
            &[
                (&account_key, LOGIN_MAX_FAILURES),
                (&client_key, CLIENT_MAX_FAILURES),
            ],
            "login",
            &subject,
        )
        .await?;
        let pw = Zeroizing::new(password.to_owned());
        let stored = user.as_ref().map(|u| u.1.clone());
        let inner = self.inner.clone();
        let permit = self.hashing_permit().await?;
        let verified = tokio::task::spawn_blocking(move || match stored {
            Some(h) => crypto::verify_password(&pw, &h),
            None => {
                let dummy = inner.dummy_hash.get_or_init(|| {
                    let random =
                        crypto::random_token().unwrap_or_else(|_| "sextant-dummy-password".into());
                    crypto::hash_password(&random).unwrap_or_default()
                });
                let _ = crypto::verify_password(&pw, dummy);
                false
            }
        })
        .await
        .map_err(|_| StoreError::Internal("password verification task failed"))?;
        drop(permit);

        let mut tx = self.begin_write().await?;
        let Some((uid, _)) = user.filter(|_| verified) else {
            // The attempt was counted when it was reserved.
            let ev = Event {
                session: "",
                actor: "",
                subject: &subject,
                target: "",
                action: "login",
                outcome: "bad_credentials",
            };
            let head = self.append_audit(&mut tx, ev).await?;
            self.commit_audited(tx, head).await?;
            return Err(StoreError::BadCredentials);
        };
        let token = crypto::random_token()?;
        let csrf = crypto::random_token()?;
        // The owner proved the password: their account's count starts again.
        sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1")
            .bind(&account_key)
            .execute(&mut *tx)
            .await?;
        let th = crypto::sha256_hex(&[token.as_bytes()]);
        let mac = self.key().session_mac(&th, &uid, &csrf, now);
        let sref = self.key().session_ref(&th);
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen, mac) VALUES ($1, $2, $3, $4, $4, $5)")
            .bind(&th)
            .bind(&uid)
            .bind(&csrf)
            .bind(now)
            .bind(mac)
            .execute(&mut *tx)
            .await?;
        let ev = Event {
            session: &sref,
            actor: &uid,
            subject: &uid,
            target: "",
            action: "login",
            outcome: "ok",
        };
        let head = self.append_audit(&mut tx, ev).await?;
        self.commit_audited(tx, head).await?;
        Ok(NewSession {
            token,
            csrf,
            user: UserId::from_db(uid),
            expires_at: now + SESSION_ABSOLUTE_SECS,
        })
    }

    /// The session for a token, or `None` if unknown or expired (30 minutes idle, 12 hours
    /// absolute). Refreshes its last use.
    pub async fn session(&self, token: &str) -> Result<Option<SessionInfo>> {
        let Some(th) = token_hash(token) else {
            return Ok(None);
        };
        let now = self.now();
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.user_id, s.csrf, s.created_at, s.last_seen, u.email_enc, u.personalize, s.mac \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(&th)
        .fetch_optional(self.pool())
        .await?;
        let Some((uid, csrf, created, last_seen, email_enc, personalize, mac)) = row else {
            return Ok(None);
        };
        // A row the store did not write (issue 19, finding 8: an injected
        // session was honoured) is no session.
        if !crypto::ct_eq(&mac, &self.key().session_mac(&th, &uid, &csrf, created)) {
            return Ok(None);
        }
        if now - last_seen > SESSION_IDLE_SECS || now - created > SESSION_ABSOLUTE_SECS {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(&th)
                .execute(self.pool())
                .await?;
            return Ok(None);
        }
        if now > last_seen {
            sqlx::query(
                "UPDATE sessions SET last_seen = $1 WHERE token_hash = $2 AND last_seen < $1",
            )
            .bind(now)
            .bind(&th)
            .execute(self.pool())
            .await?;
        }
        let email = self.key().open_email(&uid, &email_enc)?;
        Ok(Some(SessionInfo {
            user: UserId::from_db(uid),
            email,
            csrf,
            token_hash: th,
            personalize: personalize != 0,
        }))
    }

    /// Ends a session. Unknown tokens are fine (nothing to do).
    pub async fn logout(&self, token: &str) -> Result<()> {
        let Some(th) = token_hash(token) else {
            return Ok(());
        };
        let mut tx = self.begin_write().await?;
        let uid: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM sessions WHERE token_hash = $1")
                .bind(&th)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(uid) = uid else { return Ok(()) };
        let sref = self.key().session_ref(&th);
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(&th)
            .execute(&mut *tx)
            .await?;
        let ev = Event {
            session: &sref,
            actor: &uid,
            subject: &uid,
            target: "",
            action: "logout",
            outcome: "ok",
        };
        let head = self.append_audit(&mut tx, ev).await?;
        self.commit_audited(tx, head).await
    }

    /// Deletes the account of `s` and everything it owns: records, profile, saved answers,
    /// sessions and the wrapped data key (crypto-shredding), in one transaction. The audit log
    /// keeps a `delete_account` row (ids only). `not_found` if the session has ended.
    pub async fn delete_account(&self, s: &SessionInfo) -> Result<()> {
        let uid = s.user.as_str();
        let sref = self.key().session_ref(&s.token_hash);
        let mut tx = self.begin_write().await?;
        let live: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM sessions WHERE token_hash = $1 AND user_id = $2",
        )
        .bind(&s.token_hash)
        .bind(uid)
        .fetch_optional(&mut *tx)
        .await?;
        let res = match live {
            None => Err(StoreError::NotFound),
            Some(_) => self.delete_user_rows(&mut tx, uid).await,
        };
        let ev = Event {
            session: &sref,
            actor: uid,
            subject: uid,
            target: "",
            action: "delete_account",
            outcome: "ok",
        };
        self.finish(tx, res, ev, |_| "ok").await
    }

    async fn delete_user_rows(&self, tx: &mut crate::Tx, uid: &str) -> Result<()> {
        for sql in [
            "DELETE FROM records WHERE user_id = $1",
            "DELETE FROM answers WHERE user_id = $1",
            "DELETE FROM profiles WHERE user_id = $1",
            "DELETE FROM sessions WHERE user_id = $1",
            "DELETE FROM users WHERE id = $1",
        ] {
            sqlx::query(sql).bind(uid).execute(&mut **tx).await?;
        }
        Ok(())
    }
}

impl Store {
    /// A turn at argon2: one per core at a time, each holding its memory.
    async fn hashing_permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        self.inner
            .hashing
            .acquire()
            .await
            .map_err(|_| StoreError::Internal("password hashing closed"))
    }
}

/// The throttle key of an account's logins (by its email lookup hash).
fn account_throttle_key(lookup: &str) -> String {
    crypto::sha256_hex(&[b"login-account/v2|", lookup.as_bytes()])
}

impl Store {
    /// Counts one attempt against each `(key, limit)`, in one write
    /// transaction (on PostgreSQL under an advisory lock, so concurrent
    /// attempts are counted one after another): over any limit, nothing is
    /// counted and [`StoreError::TooManyAttempts`] says when to retry. A
    /// refusal is audited once per key and window, not once per attempt.
    async fn reserve_attempt(
        &self,
        keys: &[(&str, i64)],
        action: &'static str,
        subject: &str,
    ) -> Result<()> {
        let now = self.now();
        let since = now - LOGIN_WINDOW_SECS;
        let mut tx = self.begin_write().await?;
        if self.is_pg() {
            sqlx::raw_sql("SELECT pg_advisory_xact_lock(7351746580194)")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(since)
            .execute(&mut *tx)
            .await?;
        for (key, limit) in keys {
            let (count, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT COUNT(*), MIN(at) FROM login_failures WHERE throttle_key = $1 AND at > $2",
            )
            .bind(*key)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
            if count >= *limit {
                let retry_after = (oldest.unwrap_or(now) + LOGIN_WINDOW_SECS - now).max(1);
                let marker = format!("refused|{key}");
                let marked: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM login_failures WHERE throttle_key = $1 AND at > $2",
                )
                .bind(&marker)
                .bind(since)
                .fetch_one(&mut *tx)
                .await?;
                if marked == 0 {
                    sqlx::query("INSERT INTO login_failures (throttle_key, at) VALUES ($1, $2)")
                        .bind(&marker)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    let ev = Event {
                        session: "",
                        actor: "",
                        subject,
                        target: "",
                        action,
                        outcome: "too_many_attempts",
                    };
                    let head = self.append_audit(&mut tx, ev).await?;
                    self.commit_audited(tx, head).await?;
                } else {
                    tx.commit().await?;
                }
                return Err(StoreError::TooManyAttempts { retry_after });
            }
        }
        for (key, _) in keys {
            sqlx::query("INSERT INTO login_failures (throttle_key, at) VALUES ($1, $2)")
                .bind(*key)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends an account's login lockout at once (`sextant account unlock`):
    /// its counted failures are forgotten. Returns whether there were any.
    pub async fn unlock_account(&self, email: &str) -> Result<bool> {
        let email = normalize_email(email)?;
        let key = account_throttle_key(&self.key().email_lookup(&email));
        let mut tx = self.begin_write().await?;
        let n =
            sqlx::query("DELETE FROM login_failures WHERE throttle_key = $1 OR throttle_key = $2")
                .bind(&key)
                .bind(format!("refused|{key}"))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        let ev = Event {
            session: "",
            actor: "",
            subject: "",
            target: "",
            action: "unlock",
            outcome: "ok",
        };
        let head = self.append_audit(&mut tx, ev).await?;
        self.commit_audited(tx, head).await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email("  Ann@Example.ORG ").unwrap(),
            "ann@example.org"
        );
        for bad in [
            "",
            "ann",
            "@x.org",
            "ann@",
            "a b@x.org",
            "a@b@c",
            "ann@.org",
            "ann@org.",
        ] {
            assert_eq!(
                normalize_email(bad).unwrap_err().code(),
                "invalid_email",
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords() {
        assert!(check_password("123456789").is_err());
        // Long enough, but guessable: refused with the same code.
        assert_eq!(
            check_password("1234567890").unwrap_err().code(),
            "weak_password"
        );
        assert!(check_password("tulips at noon 7").is_ok());
        assert!(check_password("ééééééééé").is_err());
    }

    #[test]
    fn token_shape() {
        assert!(token_hash("short").is_none());
        assert!(token_hash(&"a".repeat(43)).is_some());
        assert!(token_hash(&"=".repeat(43)).is_none());
    }
}

#[cfg(test)]
mod password_tests {
    use super::guessable;

    #[test]
    fn guessable_passwords_are_refused_and_good_ones_pass() {
        for p in [
            "aaaaaaaaaa",
            "abababababab",
            "1234567890",
            "abcdefghij",
            "9876543210",
            "password123",
            "Password123!",
            "qwertyuiop",
            "iloveyou2024!!",
        ] {
            assert!(guessable(p), "{p}");
        }
        for p in [
            "correct horse battery staple",
            "my dog eats tulips at noon",
            "Tr0ub4dor&3xyz",
            "sunflower meadow 42",
        ] {
            assert!(!guessable(p), "{p}");
        }
    }
}
