//! The single access-control layer for PHI. Every query here takes its owner from the scope
//! and filters on it; every method writes one audit row.

use crate::audit::Event;
use crate::crypto::{DataKey, Sealed};
use crate::error::{Result, StoreError};
use crate::{
    AnswerId, RecordId, RecordMeta, SavedAnswer, SessionInfo, Store, Tx, UserId, MAX_JSON_BYTES,
    MAX_NAME_BYTES, MAX_QUESTION_BYTES, MAX_RECORDS, MAX_RECORD_BYTES, MAX_SAVED_ANSWERS,
};

// Associated-data kinds: a ciphertext opens only under the same kind, owner and row.
const K_RECORD_NAME: &str = "record.name";
const K_RECORD_DATA: &str = "record.data";
const K_RECORD_EXTRACT: &str = "record.extract";
const K_PROFILE: &str = "profile";
const K_QUESTION: &str = "answer.question";
const K_ANSWER: &str = "answer.body";

/// Everything one user may do with their own PHI. Obtain with [`Store::user`].
pub struct UserScope<'a> {
    store: &'a Store,
    user: UserId,
    /// The session's reference on audit rows.
    session: String,
}

fn found<T>(v: &Option<T>) -> &'static str {
    if v.is_some() {
        "ok"
    } else {
        "not_found"
    }
}

/// The outcome of a change that finds its row (`true`) or not.
fn found_row(done: &bool) -> &'static str {
    if *done {
        "ok"
    } else {
        "not_found"
    }
}

fn check_format(format: &str) -> Result<()> {
    let ok = !format.is_empty()
        && format.len() <= 64
        && format
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/+.-_".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidInput("record format"))
    }
}

/// id, name_enc, format, size, created_at, unpacked, extract_enc
type RecordRow = (String, Vec<u8>, String, i64, i64, i64, Option<Vec<u8>>);
/// name_enc, format, size, created_at, data_enc, unpacked
type RecordBody = (Vec<u8>, String, i64, i64, Vec<u8>, i64);

/// One row of a person's access log ([`UserScope::access_log`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Access {
    /// Unix seconds.
    pub at: i64,
    /// Whether the owner's own session did it.
    pub by_owner: bool,
    /// Whether the session reading the log did it.
    pub this_session: bool,
    /// The row acted on (a record's or answer's id), if any.
    pub target: String,
    /// What was done: `record.read`, `profile.write`, `login`...
    pub action: String,
    /// `ok`, `not_found` or an error code.
    pub outcome: String,
    /// The session it happened in (a reference, not the token), or empty.
    pub session: String,
    /// The request it happened in (the server's correlation id), or empty.
    pub request: String,
}

type AccessRow = (i64, String, String, String, String, String, String);

/// A record to store: see [`UserScope::add_read_record`].
#[derive(Clone, Copy, Debug)]
pub struct NewRecord<'a> {
    /// The file's name, as the person gave it.
    pub name: &'a str,
    /// What it is, like `fhir+json`, `pdf`, `text/plain`.
    pub format: &'a str,
    /// The bytes as uploaded.
    pub bytes: &'a [u8],
    /// What the bytes unpack to (a gzip's contents, a PDF's streams); quotas
    /// count this, or the bytes themselves when larger.
    pub unpacked: u64,
    /// What was read from the record (JSON), kept so that later changes
    /// never parse it again.
    pub extract: Option<&'a str>,
}

/// A data key with the profile version it was wrapped for.
struct UserKey {
    dk: DataKey,
    profile_version: i64,
}

/// Whether a listing opens what was read from each record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extracts {
    Open,
    Leave,
}

/// What a user's rows must look like for their data key to open: the
/// profile's version and the set of the user's record ids (a digest).
/// Saved answers are not in it: they are never rewritten, and one put back
/// after its deletion shows only what the person once saw.
pub(crate) async fn state(tx: &mut Tx, user: &str, profile_version: i64) -> Result<String> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM records WHERE user_id = $1 ORDER BY id")
            .bind(user)
            .fetch_all(&mut **tx)
            .await?;
    Ok(state_of(profile_version, &ids))
}

/// [`state`] from the profile's version and the record ids, sorted.
pub(crate) fn state_of(profile_version: i64, sorted_ids: &[String]) -> String {
    let joined = sorted_ids.join(",");
    format!(
        "profile={profile_version};records={}",
        crate::crypto::sha256_hex(&[joined.as_bytes()])
    )
}
type AnswerRow = (String, Vec<u8>, Vec<u8>, i64);

impl<'a> UserScope<'a> {
    pub(crate) fn new(store: &'a Store, s: &SessionInfo) -> UserScope<'a> {
        UserScope {
            store,
            user: s.user.clone(),
            session: store.key().session_ref(&s.token_hash),
        }
    }

    /// The owner of this scope.
    pub fn user_id(&self) -> &UserId {
        &self.user
    }

    fn uid(&self) -> &str {
        self.user.as_str()
    }

    fn ev(&self, target: &'a str, action: &'static str) -> Event<'_> {
        Event {
            session: &self.session,
            actor: self.uid(),
            subject: self.uid(),
            target,
            action,
            outcome: "ok",
        }
    }

    /// The owner's data key, unwrapped, and the profile's version. On
    /// PostgreSQL the user row is locked for the rest of the transaction,
    /// which serializes every change per user. The key opens only while the
    /// user's rows are in the state it was wrapped for ([`Self::state`]): a
    /// profile rolled back to an older copy, or a record deleted and put
    /// back, fails as [`StoreError::Integrity`] before anything is read.
    async fn data_key(&self, tx: &mut Tx) -> Result<UserKey> {
        let sql = if self.store.is_pg() {
            "SELECT wrapped_key, profile_version FROM users WHERE id = $1 FOR UPDATE"
        } else {
            "SELECT wrapped_key, profile_version FROM users WHERE id = $1"
        };
        let row: Option<(Vec<u8>, i64)> = sqlx::query_as(sql)
            .bind(self.uid())
            .fetch_optional(&mut **tx)
            .await?;
        let (wrapped, profile_version) = row.ok_or(StoreError::NotFound)?;
        let state = state(tx, self.uid(), profile_version).await?;
        let dk = self.store.key().unwrap(self.uid(), &state, &wrapped)?;
        Ok(UserKey {
            dk,
            profile_version,
        })
    }

    /// Wraps the data key again for the user's rows as they now are, in the
    /// transaction that changed them.
    async fn rewrap(&self, tx: &mut Tx, key: &UserKey) -> Result<()> {
        let state = state(tx, self.uid(), key.profile_version).await?;
        let wrapped = self.store.key().wrap(self.uid(), &state, &key.dk)?;
        sqlx::query("UPDATE users SET wrapped_key = $1, profile_version = $2 WHERE id = $3")
            .bind(wrapped)
            .bind(key.profile_version)
            .bind(self.uid())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Stores a record, encrypted, in one transaction, counting its bytes
    /// as they are (nothing unpacked, nothing read from it yet). See
    /// [`UserScope::add_read_record`].
    pub async fn add_record(&self, name: &str, format: &str, bytes: &[u8]) -> Result<RecordId> {
        self.add_read_record(&NewRecord {
            name,
            format,
            bytes,
            unpacked: bytes.len() as u64,
            extract: None,
        })
        .await
    }

    /// Stores a record, encrypted, with what was read from it, in one
    /// transaction. Limits: 20 records per user, and 50 MiB per user counted
    /// as the records unpack (`quota_exceeded`); name 1–255 bytes; format
    /// like `fhir+json`, `pdf`, `text/plain`.
    pub async fn add_read_record(&self, new: &NewRecord<'_>) -> Result<RecordId> {
        let id = RecordId::random()?;
        let mut tx = self.store.begin_write().await?;
        let res = self.add_record_tx(&mut tx, &id, new).await;
        self.store
            .finish(tx, res, self.ev(id.as_str(), "record.add"), |_| "ok")
            .await?;
        Ok(id)
    }

    async fn add_record_tx(&self, tx: &mut Tx, id: &RecordId, new: &NewRecord<'_>) -> Result<()> {
        if new.name.trim().is_empty() || new.name.len() > MAX_NAME_BYTES {
            return Err(StoreError::InvalidInput("record name"));
        }
        check_format(new.format)?;
        let size = i64::try_from(new.bytes.len())
            .map_err(|_| StoreError::QuotaExceeded("record too large"))?;
        // What a record costs is what it unpacks to, never less than what
        // it is (issue 19, finding 3: a 214 KB gzip of 60 MiB of text).
        let unpacked = i64::try_from(new.unpacked).unwrap_or(i64::MAX).max(size);
        if unpacked > MAX_RECORD_BYTES {
            return Err(StoreError::QuotaExceeded(
                "at most 50 MiB of records per person, counted unpacked",
            ));
        }
        if new.extract.is_some_and(|e| e.len() > MAX_JSON_BYTES) {
            return Err(StoreError::QuotaExceeded(
                "what was read from the record is larger than 1 MiB",
            ));
        }
        let key = self.data_key(tx).await?;
        let (count, total): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(unpacked), 0) AS BIGINT) FROM records WHERE user_id = $1",
        )
        .bind(self.uid())
        .fetch_one(&mut **tx)
        .await?;
        if count >= MAX_RECORDS {
            return Err(StoreError::QuotaExceeded("at most 20 records per person"));
        }
        if total.saturating_add(unpacked) > MAX_RECORD_BYTES {
            return Err(StoreError::QuotaExceeded(
                "at most 50 MiB of records per person, counted unpacked",
            ));
        }
        let at = |kind| self.at(kind, id.as_str(), new.format);
        let name_enc = key.dk.seal(&at(K_RECORD_NAME), new.name.as_bytes())?;
        let data_enc = key.dk.seal(&at(K_RECORD_DATA), new.bytes)?;
        let extract_enc = match new.extract {
            Some(e) => Some(key.dk.seal(&at(K_RECORD_EXTRACT), e.as_bytes())?),
            None => None,
        };
        sqlx::query(
            "INSERT INTO records (id, user_id, name_enc, format, size, data_enc, created_at, unpacked, extract_enc) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.as_str())
        .bind(self.uid())
        .bind(name_enc)
        .bind(new.format)
        .bind(size)
        .bind(data_enc)
        .bind(self.store.now())
        .bind(unpacked)
        .bind(extract_enc)
        .execute(&mut **tx)
        .await?;
        self.rewrap(tx, &key).await
    }

    /// Where a ciphertext of this owner belongs.
    fn at<'s>(&'s self, kind: &'s str, row: &'s str, bound: &'s str) -> Sealed<'s> {
        Sealed {
            kind,
            owner: self.uid(),
            row,
            bound,
        }
    }

    /// The owner's records (metadata, names decrypted), oldest first.
    pub async fn records(&self) -> Result<Vec<RecordMeta>> {
        let mut tx = self.store.begin_write().await?;
        let res = self.records_tx(&mut tx, Extracts::Leave).await;
        self.store
            .finish(tx, res, self.ev("", "record.list"), |_| "ok")
            .await
            .map(|v| v.into_iter().map(|(m, _)| m).collect())
    }

    /// The owner's records, oldest first, each with what was read from it
    /// when it was added (`None` for a record stored before that was kept:
    /// read it and keep it with [`UserScope::set_record_extract`]).
    pub async fn record_extracts(&self) -> Result<Vec<(RecordMeta, Option<String>)>> {
        let mut tx = self.store.begin_write().await?;
        let res = self.records_tx(&mut tx, Extracts::Open).await;
        self.store
            .finish(tx, res, self.ev("", "record.extracts"), |_| "ok")
            .await
    }

    async fn records_tx(
        &self,
        tx: &mut Tx,
        extracts: Extracts,
    ) -> Result<Vec<(RecordMeta, Option<String>)>> {
        let key = self.data_key(tx).await?;
        let rows: Vec<RecordRow> = sqlx::query_as(
            "SELECT id, name_enc, format, size, created_at, unpacked, extract_enc FROM records \
             WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(self.uid())
        .fetch_all(&mut **tx)
        .await?;
        rows.into_iter()
            .map(
                |(id, name_enc, format, size, created, unpacked, extract_enc)| {
                    let name = key
                        .dk
                        .open_string(&self.at(K_RECORD_NAME, &id, &format), &name_enc)?;
                    let extract = match (extracts, extract_enc) {
                        (Extracts::Open, Some(e)) => Some(
                            key.dk
                                .open_string(&self.at(K_RECORD_EXTRACT, &id, &format), &e)?,
                        ),
                        _ => None,
                    };
                    Ok((
                        RecordMeta {
                            id: RecordId::from_db(id),
                            name,
                            format,
                            size,
                            unpacked,
                            created,
                        },
                        extract,
                    ))
                },
            )
            .collect()
    }

    /// Keeps what was read from one of the owner's records (one stored
    /// before extracts were kept); `false` if there is no such record.
    pub async fn set_record_extract(&self, id: RecordId, extract: &str) -> Result<bool> {
        let mut tx = self.store.begin_write().await?;
        let res = self.set_extract_tx(&mut tx, &id, extract).await;
        self.store
            .finish(tx, res, self.ev(id.as_str(), "record.extract"), found_row)
            .await
    }

    async fn set_extract_tx(&self, tx: &mut Tx, id: &RecordId, extract: &str) -> Result<bool> {
        if extract.len() > MAX_JSON_BYTES {
            return Err(StoreError::QuotaExceeded(
                "what was read from the record is larger than 1 MiB",
            ));
        }
        let key = self.data_key(tx).await?;
        let format: Option<String> =
            sqlx::query_scalar("SELECT format FROM records WHERE id = $1 AND user_id = $2")
                .bind(id.as_str())
                .bind(self.uid())
                .fetch_optional(&mut **tx)
                .await?;
        let Some(format) = format else {
            return Ok(false);
        };
        let enc = key.dk.seal(
            &self.at(K_RECORD_EXTRACT, id.as_str(), &format),
            extract.as_bytes(),
        )?;
        sqlx::query("UPDATE records SET extract_enc = $1 WHERE id = $2 AND user_id = $3")
            .bind(enc)
            .bind(id.as_str())
            .bind(self.uid())
            .execute(&mut **tx)
            .await?;
        Ok(true)
    }

    /// One record, decrypted and integrity-checked; `None` if it does not exist or is not the
    /// owner's.
    pub async fn record(&self, id: RecordId) -> Result<Option<(RecordMeta, Vec<u8>)>> {
        let mut tx = self.store.begin_write().await?;
        let res = self.record_tx(&mut tx, &id).await;
        self.store
            .finish(tx, res, self.ev(id.as_str(), "record.read"), found)
            .await
    }

    async fn record_tx(&self, tx: &mut Tx, id: &RecordId) -> Result<Option<(RecordMeta, Vec<u8>)>> {
        let row: Option<RecordBody> = sqlx::query_as(
            "SELECT name_enc, format, size, created_at, data_enc, unpacked FROM records WHERE id = $1 AND user_id = $2",
        )
        .bind(id.as_str())
        .bind(self.uid())
        .fetch_optional(&mut **tx)
        .await?;
        let Some((name_enc, format, size, created, data_enc, unpacked)) = row else {
            return Ok(None);
        };
        let key = self.data_key(tx).await?;
        let at = |kind| self.at(kind, id.as_str(), &format);
        let name = key.dk.open_string(&at(K_RECORD_NAME), &name_enc)?;
        let data = key.dk.open(&at(K_RECORD_DATA), &data_enc)?;
        if data.len() as i64 != size {
            return Err(StoreError::Integrity);
        }
        Ok(Some((
            RecordMeta {
                id: id.clone(),
                name,
                format,
                size,
                unpacked,
                created,
            },
            data,
        )))
    }

    /// Deletes one of the owner's records; `false` if there was none with this id.
    pub async fn delete_record(&self, id: RecordId) -> Result<bool> {
        let mut tx = self.store.begin_write().await?;
        let res = self.delete_record_tx(&mut tx, &id).await;
        self.store
            .finish(tx, res, self.ev(id.as_str(), "record.delete"), found_row)
            .await
    }

    async fn delete_record_tx(&self, tx: &mut Tx, id: &RecordId) -> Result<bool> {
        let key = self.data_key(tx).await?;
        let gone = sqlx::query("DELETE FROM records WHERE id = $1 AND user_id = $2")
            .bind(id.as_str())
            .bind(self.uid())
            .execute(&mut **tx)
            .await?
            .rows_affected()
            > 0;
        if gone {
            self.rewrap(tx, &key).await?;
        }
        Ok(gone)
    }

    /// Deletes the owner's row `id` with `sql` (its `$1` the id, `$2` the
    /// owner), audited as `action`; `false` when there was none.
    async fn delete_owned(
        &self,
        sql: &'static str,
        id: &str,
        action: &'static str,
    ) -> Result<bool> {
        let mut tx = self.store.begin_write().await?;
        let res = sqlx::query(sql)
            .bind(id)
            .bind(self.uid())
            .execute(&mut *tx)
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(StoreError::from);
        self.store
            .finish(tx, res, self.ev(id, action), found_row)
            .await
    }

    /// The owner's profile JSON, if saved.
    pub async fn profile(&self) -> Result<Option<String>> {
        let mut tx = self.store.begin_write().await?;
        let res = self.profile_tx(&mut tx).await;
        self.store
            .finish(tx, res, self.ev("", "profile.read"), found)
            .await
    }

    async fn profile_tx(&self, tx: &mut Tx) -> Result<Option<String>> {
        let key = self.data_key(tx).await?;
        let row: Option<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT json_enc, version FROM profiles WHERE user_id = $1")
                .bind(self.uid())
                .fetch_optional(&mut **tx)
                .await?;
        let Some((enc, version)) = row else {
            return if key.profile_version == 0 {
                Ok(None)
            } else {
                // The profile was deleted behind the store's back.
                Err(StoreError::Integrity)
            };
        };
        // An older copy of the row carries an older version: the key was
        // wrapped for this one only.
        if version != key.profile_version {
            return Err(StoreError::Integrity);
        }
        let v = version.to_string();
        key.dk
            .open_string(&self.at(K_PROFILE, self.uid(), &v), &enc)
            .map(Some)
    }

    /// Saves (replaces) the owner's profile JSON (at most 1 MiB).
    pub async fn save_profile(&self, json: &str) -> Result<()> {
        let mut tx = self.store.begin_write().await?;
        let res = self.save_profile_tx(&mut tx, json).await;
        self.store
            .finish(tx, res, self.ev("", "profile.write"), |_| "ok")
            .await
    }

    async fn save_profile_tx(&self, tx: &mut Tx, json: &str) -> Result<()> {
        if json.len() > MAX_JSON_BYTES {
            return Err(StoreError::QuotaExceeded("profile larger than 1 MiB"));
        }
        let mut key = self.data_key(tx).await?;
        key.profile_version += 1;
        let v = key.profile_version.to_string();
        let enc = key
            .dk
            .seal(&self.at(K_PROFILE, self.uid(), &v), json.as_bytes())?;
        sqlx::query(
            "INSERT INTO profiles (user_id, json_enc, updated_at, version) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET json_enc = excluded.json_enc, \
             updated_at = excluded.updated_at, version = excluded.version",
        )
        .bind(self.uid())
        .bind(enc)
        .bind(self.store.now())
        .bind(key.profile_version)
        .execute(&mut **tx)
        .await?;
        self.rewrap(tx, &key).await
    }

    /// Saves a personal answer (question up to 4 KiB, answer JSON up to 1 MiB; the newest
    /// 1000 per person are kept).
    pub async fn save_answer(&self, question: &str, answer_json: &str) -> Result<AnswerId> {
        let id = AnswerId::random()?;
        let mut tx = self.store.begin_write().await?;
        let res = self
            .save_answer_tx(&mut tx, &id, question, answer_json)
            .await;
        self.store
            .finish(tx, res, self.ev(id.as_str(), "answer.save"), |_| "ok")
            .await?;
        Ok(id)
    }

    async fn save_answer_tx(
        &self,
        tx: &mut Tx,
        id: &AnswerId,
        question: &str,
        answer_json: &str,
    ) -> Result<()> {
        if question.trim().is_empty() || question.len() > MAX_QUESTION_BYTES {
            return Err(StoreError::InvalidInput("question"));
        }
        if answer_json.len() > MAX_JSON_BYTES {
            return Err(StoreError::QuotaExceeded("answer larger than 1 MiB"));
        }
        let key = self.data_key(tx).await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM answers WHERE user_id = $1")
            .bind(self.uid())
            .fetch_one(&mut **tx)
            .await?;
        // Full: the oldest answers make room (issue 19, finding 15: every
        // question failed with 409 after the 1,000th).
        if count >= MAX_SAVED_ANSWERS {
            sqlx::query(
                "DELETE FROM answers WHERE id IN (SELECT id FROM answers WHERE user_id = $1 \
                 ORDER BY created_at, id LIMIT $2)",
            )
            .bind(self.uid())
            .bind(count - MAX_SAVED_ANSWERS + 1)
            .execute(&mut **tx)
            .await?;
        }
        let q = key
            .dk
            .seal(&self.at(K_QUESTION, id.as_str(), ""), question.as_bytes())?;
        let a = key
            .dk
            .seal(&self.at(K_ANSWER, id.as_str(), ""), answer_json.as_bytes())?;
        sqlx::query(
            "INSERT INTO answers (id, user_id, question_enc, answer_enc, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_str())
        .bind(self.uid())
        .bind(q)
        .bind(a)
        .bind(self.store.now())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The owner's saved answers, newest first.
    pub async fn answers(&self) -> Result<Vec<SavedAnswer>> {
        let mut tx = self.store.begin_write().await?;
        let res = self.answers_tx(&mut tx, None).await;
        self.store
            .finish(tx, res, self.ev("", "answer.list"), |_| "ok")
            .await
    }

    /// Deletes one of the owner's saved answers; `false` if there is none
    /// by that id (or it is someone else's).
    pub async fn delete_answer(&self, id: AnswerId) -> Result<bool> {
        self.delete_owned(
            "DELETE FROM answers WHERE id = $1 AND user_id = $2",
            id.as_str(),
            "answer.delete",
        )
        .await
    }

    /// One saved answer; `None` if it does not exist or is not the owner's.
    pub async fn answer(&self, id: AnswerId) -> Result<Option<SavedAnswer>> {
        let mut tx = self.store.begin_write().await?;
        let res = self
            .answers_tx(&mut tx, Some(&id))
            .await
            .map(|mut v| v.pop());
        self.store
            .finish(tx, res, self.ev(id.as_str(), "answer.read"), found)
            .await
    }

    async fn answers_tx(&self, tx: &mut Tx, one: Option<&AnswerId>) -> Result<Vec<SavedAnswer>> {
        let rows: Vec<AnswerRow> = match one {
            Some(id) => sqlx::query_as(
                "SELECT id, question_enc, answer_enc, created_at FROM answers WHERE id = $1 AND user_id = $2",
            )
            .bind(id.as_str())
            .bind(self.uid())
            .fetch_all(&mut **tx)
            .await?,
            None => sqlx::query_as(
                "SELECT id, question_enc, answer_enc, created_at FROM answers WHERE user_id = $1 \
                 ORDER BY created_at DESC, id",
            )
            .bind(self.uid())
            .fetch_all(&mut **tx)
            .await?,
        };
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.data_key(tx).await?;
        rows.into_iter()
            .map(|(id, q, a, created)| {
                Ok(SavedAnswer {
                    question: key.dk.open_string(&self.at(K_QUESTION, &id, ""), &q)?,
                    answer_json: key.dk.open_string(&self.at(K_ANSWER, &id, ""), &a)?,
                    id: AnswerId::from_db(id),
                    created,
                })
            })
            .collect()
    }

    /// The newest `limit` (at most 1,000) audit rows about the owner,
    /// newest first: every access to their data, by whom (an id) and how
    /// it ended. Reading it is audited too.
    pub async fn access_log(&self, limit: i64) -> Result<Vec<Access>> {
        let mut tx = self.store.begin_write().await?;
        let res = sqlx::query_as(
            "SELECT at, actor, target, action, outcome, session, request FROM audit_log \
             WHERE subject = $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(self.uid())
        .bind(limit.clamp(0, 1000))
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)
        .map(|rows: Vec<AccessRow>| {
            rows.into_iter()
                .map(
                    |(at, actor, target, action, outcome, session, request)| Access {
                        at,
                        by_owner: actor == self.uid(),
                        this_session: !session.is_empty() && session == self.session,
                        target,
                        action,
                        outcome,
                        session,
                        request,
                    },
                )
                .collect()
        });
        self.store
            .finish(tx, res, self.ev("", "audit.read"), |_| "ok")
            .await
    }

    /// Turns personalization from records on or off.
    pub async fn set_personalize(&self, on: bool) -> Result<()> {
        let mut tx = self.store.begin_write().await?;
        let res = sqlx::query("UPDATE users SET personalize = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(self.uid())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)
            .and_then(|r| {
                if r.rows_affected() == 1 {
                    Ok(())
                } else {
                    Err(StoreError::NotFound)
                }
            });
        let action = if on {
            "personalize.on"
        } else {
            "personalize.off"
        };
        self.store
            .finish(tx, res, self.ev("", action), |_| "ok")
            .await
    }
}

/// id, name_enc, format, data_enc, size, extract_enc
type CheckedRecordRow = (String, Vec<u8>, String, Vec<u8>, i64, Option<Vec<u8>>);

/// What [`Store::check_every_row`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowCheck {
    pub users: usize,
    pub records: usize,
    pub profiles: usize,
    pub answers: usize,
    /// Rows (or data keys) that did not open: `kind id`, never their text.
    pub failed: Vec<String>,
}

impl RowCheck {
    /// Whether every row opened.
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

impl Store {
    /// Opens every sealed row of every user, as a restore drill does, and
    /// reports what did not open. No plaintext leaves this function. The
    /// check is audited as one `store.check` row.
    pub async fn check_every_row(&self) -> Result<RowCheck> {
        let mut tx = self.begin_write().await?;
        let res = self.check_rows_tx(&mut tx).await;
        self.finish(
            tx,
            res,
            Event {
                session: "",
                actor: "operator",
                subject: "",
                target: "",
                action: "store.check",
                outcome: "ok",
            },
            |c: &RowCheck| if c.ok() { "ok" } else { "integrity" },
        )
        .await
    }

    async fn check_rows_tx(&self, tx: &mut Tx) -> Result<RowCheck> {
        let mut out = RowCheck::default();
        let users: Vec<(String, Vec<u8>, i64)> =
            sqlx::query_as("SELECT id, wrapped_key, profile_version FROM users ORDER BY id")
                .fetch_all(&mut **tx)
                .await?;
        for (uid, wrapped, pv) in users {
            out.users += 1;
            let st = state(tx, &uid, pv).await?;
            let Ok(dk) = self.key().unwrap(&uid, &st, &wrapped) else {
                out.failed.push(format!("data-key {uid}"));
                continue;
            };
            let rows = UserRows::load(tx, &uid).await?;
            for (id, name, format, data, size, extract) in rows.records {
                out.records += 1;
                let opened = dk
                    .open(&at_of(K_RECORD_NAME, &uid, &id, &format), &name)
                    .is_ok()
                    && dk
                        .open(&at_of(K_RECORD_DATA, &uid, &id, &format), &data)
                        .is_ok_and(|d| d.len() as i64 == size)
                    && extract.is_none_or(|e| {
                        dk.open(&at_of(K_RECORD_EXTRACT, &uid, &id, &format), &e)
                            .is_ok()
                    });
                if !opened {
                    out.failed.push(format!("record {id}"));
                }
            }
            match rows.profile {
                Some((enc, v)) => {
                    out.profiles += 1;
                    let ok = v == pv
                        && dk
                            .open(&at_of(K_PROFILE, &uid, &uid, &v.to_string()), &enc)
                            .is_ok();
                    if !ok {
                        out.failed.push(format!("profile {uid}"));
                    }
                }
                None if pv != 0 => out.failed.push(format!("profile {uid}")),
                None => {}
            }
            for (id, q, a, _) in rows.answers {
                out.answers += 1;
                if dk.open(&at_of(K_QUESTION, &uid, &id, ""), &q).is_err()
                    || dk.open(&at_of(K_ANSWER, &uid, &id, ""), &a).is_err()
                {
                    out.failed.push(format!("answer {id}"));
                }
            }
        }
        Ok(out)
    }
}

/// The migration after which rows are sealed with bound associated data.
pub(crate) const BOUND_SINCE_MIGRATION: i64 = 4;

/// Seals every user's rows again with bound associated data (schema 4), in
/// the migration's transaction. A row or a key that no longer opens under
/// the old associated data was tampered with before: it is left as it is,
/// and reads of it keep failing as [`StoreError::Integrity`].
pub(crate) async fn seal_again(store: &Store, tx: &mut Tx) -> Result<()> {
    let users: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT id, wrapped_key FROM users")
        .fetch_all(&mut **tx)
        .await?;
    for (uid, wrapped) in users {
        let Ok(dk) = store.key().unwrap_v1(&uid, &wrapped) else {
            continue;
        };
        let rows = UserRows::load(tx, &uid).await?;
        let kept = reseal(
            tx,
            &uid,
            &rows,
            ("0", "1"),
            &|at, c| dk.open_v1(at, c),
            &|at, p| dk.seal(at, p),
        )
        .await?;
        let profile_version = i64::from(kept);
        let state = state(tx, &uid, profile_version).await?;
        let wrapped = store.key().wrap(&uid, &state, &dk)?;
        sqlx::query("UPDATE users SET wrapped_key = $1, profile_version = $2 WHERE id = $3")
            .bind(wrapped)
            .bind(profile_version)
            .bind(&uid)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// One user's sealed rows, as stored.
struct UserRows {
    records: Vec<CheckedRecordRow>,
    /// json_enc, version
    profile: Option<(Vec<u8>, i64)>,
    answers: Vec<AnswerRow>,
}

impl UserRows {
    async fn load(tx: &mut Tx, uid: &str) -> Result<UserRows> {
        let records = sqlx::query_as(
            "SELECT id, name_enc, format, data_enc, size, extract_enc FROM records WHERE user_id = $1",
        )
        .bind(uid)
        .fetch_all(&mut **tx)
        .await?;
        let profile = sqlx::query_as("SELECT json_enc, version FROM profiles WHERE user_id = $1")
            .bind(uid)
            .fetch_optional(&mut **tx)
            .await?;
        let answers = sqlx::query_as(
            "SELECT id, question_enc, answer_enc, created_at FROM answers WHERE user_id = $1",
        )
        .bind(uid)
        .fetch_all(&mut **tx)
        .await?;
        Ok(UserRows {
            records,
            profile,
            answers,
        })
    }
}

type Crypt<'a> = &'a dyn Fn(&Sealed<'_>, &[u8]) -> Result<Vec<u8>>;

/// Seals one user's records, profile and saved answers again (not the
/// records' extracts, which schema 4 brought): each row is opened with
/// `open` and sealed with `seal`, both told where it belongs (a record's
/// bound is its format; the profile's is `versions.0` when opened and
/// `versions.1` when sealed, written to its row). A row that does not open
/// is left as it is. Whether a profile was sealed again.
async fn reseal(
    tx: &mut Tx,
    uid: &str,
    rows: &UserRows,
    versions: (&str, &str),
    open: Crypt<'_>,
    seal: Crypt<'_>,
) -> Result<bool> {
    for (id, name, format, data, _, _) in &rows.records {
        let at = |kind| at_of(kind, uid, id, format);
        let (Ok(name), Ok(data)) = (
            open(&at(K_RECORD_NAME), name),
            open(&at(K_RECORD_DATA), data),
        ) else {
            continue;
        };
        sqlx::query("UPDATE records SET name_enc = $1, data_enc = $2 WHERE id = $3")
            .bind(seal(&at(K_RECORD_NAME), &name)?)
            .bind(seal(&at(K_RECORD_DATA), &data)?)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let mut kept = false;
    if let Some((enc, _)) = &rows.profile {
        if let Ok(json) = open(&at_of(K_PROFILE, uid, uid, versions.0), enc) {
            sqlx::query("UPDATE profiles SET json_enc = $1, version = $2 WHERE user_id = $3")
                .bind(seal(&at_of(K_PROFILE, uid, uid, versions.1), &json)?)
                .bind(versions.1.parse::<i64>().unwrap_or(0))
                .bind(uid)
                .execute(&mut **tx)
                .await?;
            kept = true;
        }
    }
    for (id, q, a, _) in &rows.answers {
        let at = |kind| at_of(kind, uid, id, "");
        let (Ok(q), Ok(a)) = (open(&at(K_QUESTION), q), open(&at(K_ANSWER), a)) else {
            continue;
        };
        sqlx::query("UPDATE answers SET question_enc = $1, answer_enc = $2 WHERE id = $3")
            .bind(seal(&at(K_QUESTION), &q)?)
            .bind(seal(&at(K_ANSWER), &a)?)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(kept)
}

fn at_of<'s>(kind: &'s str, owner: &'s str, row: &'s str, bound: &'s str) -> Sealed<'s> {
    Sealed {
        kind,
        owner,
        row,
        bound,
    }
}

/// Puts a database back as schema 3 left it: rows sealed with the old
/// associated data, no bound columns (tests of the upgrade only).
#[cfg(feature = "test-support")]
pub(crate) async fn seal_as_schema_3(store: &Store) -> Result<()> {
    let mut tx = store.begin_write().await?;
    let users: Vec<(String, Vec<u8>, i64)> =
        sqlx::query_as("SELECT id, wrapped_key, profile_version FROM users")
            .fetch_all(&mut *tx)
            .await?;
    for (uid, wrapped, pv) in users {
        let st = state(&mut tx, &uid, pv).await?;
        let dk = store.key().unwrap(&uid, &st, &wrapped)?;
        let rows = UserRows::load(&mut tx, &uid).await?;
        let version = pv.to_string();
        reseal(
            &mut tx,
            &uid,
            &rows,
            (&version, "0"),
            &|at, c| dk.open(at, c),
            &|at, p| dk.seal_v1(at, p),
        )
        .await?;
        sqlx::query("UPDATE users SET wrapped_key = $1 WHERE id = $2")
            .bind(store.key().wrap_v1(&uid, &dk)?)
            .bind(&uid)
            .execute(&mut *tx)
            .await?;
    }
    store.rehash_as_v2(&mut tx).await?;
    for sql in [
        "ALTER TABLE records DROP COLUMN unpacked",
        "ALTER TABLE records DROP COLUMN extract_enc",
        "ALTER TABLE profiles DROP COLUMN version",
        "ALTER TABLE users DROP COLUMN profile_version",
        "ALTER TABLE sessions DROP COLUMN mac",
        "DROP INDEX audit_log_subject",
        "ALTER TABLE audit_log DROP COLUMN session",
        "ALTER TABLE audit_log DROP COLUMN request",
        "DELETE FROM sextant_schema WHERE version = 4",
    ] {
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
