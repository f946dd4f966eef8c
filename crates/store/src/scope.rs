//! The single access-control layer for PHI. Every query here takes its owner from the scope
//! and filters on it; every method writes one audit row.

use crate::audit::Event;
use crate::crypto::DataKey;
use crate::error::{Result, StoreError};
use crate::{
    AnswerId, RecordId, RecordMeta, SavedAnswer, Store, Tx, UserId, MAX_JSON_BYTES, MAX_NAME_BYTES,
    MAX_QUESTION_BYTES, MAX_RECORDS, MAX_RECORD_BYTES, MAX_SAVED_ANSWERS,
};

// Associated-data kinds: a ciphertext opens only under the same kind, owner and row.
const K_RECORD_NAME: &str = "record.name";
const K_RECORD_DATA: &str = "record.data";
const K_PROFILE: &str = "profile";
const K_QUESTION: &str = "answer.question";
const K_ANSWER: &str = "answer.body";

/// Everything one user may do with their own PHI. Obtain with [`Store::user`].
pub struct UserScope<'a> {
    store: &'a Store,
    user: UserId,
}

fn found<T>(v: &Option<T>) -> &'static str {
    if v.is_some() {
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

type RecordRow = (String, Vec<u8>, String, i64, i64);
/// name_enc, format, size, created_at, data_enc
type RecordBody = (Vec<u8>, String, i64, i64, Vec<u8>);
type AnswerRow = (String, Vec<u8>, Vec<u8>, i64);

impl<'a> UserScope<'a> {
    pub(crate) fn new(store: &'a Store, user: UserId) -> UserScope<'a> {
        UserScope { store, user }
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
            actor: self.uid(),
            subject: self.uid(),
            target,
            action,
            outcome: "ok",
        }
    }

    /// The owner's data key, unwrapped. On PostgreSQL the user row is locked for the rest of
    /// the transaction, which serializes quota checks per user.
    async fn data_key(&self, tx: &mut Tx) -> Result<DataKey> {
        let sql = if self.store.is_pg() {
            "SELECT wrapped_key FROM users WHERE id = $1 FOR UPDATE"
        } else {
            "SELECT wrapped_key FROM users WHERE id = $1"
        };
        let wrapped: Option<Vec<u8>> = sqlx::query_scalar(sql)
            .bind(self.uid())
            .fetch_optional(&mut **tx)
            .await?;
        let wrapped = wrapped.ok_or(StoreError::NotFound)?;
        self.store.key().unwrap(self.uid(), &wrapped)
    }

    /// Stores a record, encrypted, in one transaction. Limits: 20 records and 50 MiB per user
    /// (`quota_exceeded`); name 1–255 bytes; format like `fhir+json`, `pdf`, `text/plain`.
    pub async fn add_record(&self, name: &str, format: &str, bytes: &[u8]) -> Result<RecordId> {
        let id = RecordId::random()?;
        let mut tx = self.store.begin_write().await?;
        let res = self.add_record_tx(&mut tx, &id, name, format, bytes).await;
        self.store
            .finish(tx, res, self.ev(id.as_str(), "record.add"), |_| "ok")
            .await?;
        Ok(id)
    }

    async fn add_record_tx(
        &self,
        tx: &mut Tx,
        id: &RecordId,
        name: &str,
        format: &str,
        bytes: &[u8],
    ) -> Result<()> {
        if name.trim().is_empty() || name.len() > MAX_NAME_BYTES {
            return Err(StoreError::InvalidInput("record name"));
        }
        check_format(format)?;
        let size = i64::try_from(bytes.len())
            .map_err(|_| StoreError::QuotaExceeded("record too large"))?;
        if size > MAX_RECORD_BYTES {
            return Err(StoreError::QuotaExceeded(
                "at most 50 MiB of records per person",
            ));
        }
        let dk = self.data_key(tx).await?;
        let (count, total): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM records WHERE user_id = $1")
                .bind(self.uid())
                .fetch_one(&mut **tx)
                .await?;
        if count >= MAX_RECORDS {
            return Err(StoreError::QuotaExceeded("at most 20 records per person"));
        }
        if total + size > MAX_RECORD_BYTES {
            return Err(StoreError::QuotaExceeded(
                "at most 50 MiB of records per person",
            ));
        }
        let name_enc = dk.seal(K_RECORD_NAME, self.uid(), id.as_str(), name.as_bytes())?;
        let data_enc = dk.seal(K_RECORD_DATA, self.uid(), id.as_str(), bytes)?;
        sqlx::query(
            "INSERT INTO records (id, user_id, name_enc, format, size, data_enc, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.as_str())
        .bind(self.uid())
        .bind(name_enc)
        .bind(format)
        .bind(size)
        .bind(data_enc)
        .bind(self.store.now())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The owner's records (metadata, names decrypted), oldest first.
    pub async fn records(&self) -> Result<Vec<RecordMeta>> {
        let mut tx = self.store.begin_write().await?;
        let res = self.records_tx(&mut tx).await;
        self.store
            .finish(tx, res, self.ev("", "record.list"), |_| "ok")
            .await
    }

    async fn records_tx(&self, tx: &mut Tx) -> Result<Vec<RecordMeta>> {
        let dk = self.data_key(tx).await?;
        let rows: Vec<RecordRow> = sqlx::query_as(
            "SELECT id, name_enc, format, size, created_at FROM records WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(self.uid())
        .fetch_all(&mut **tx)
        .await?;
        rows.into_iter()
            .map(|(id, name_enc, format, size, created)| {
                let name = dk.open_string(K_RECORD_NAME, self.uid(), &id, &name_enc)?;
                Ok(RecordMeta {
                    id: RecordId::from_db(id),
                    name,
                    format,
                    size,
                    created,
                })
            })
            .collect()
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
            "SELECT name_enc, format, size, created_at, data_enc FROM records WHERE id = $1 AND user_id = $2",
        )
        .bind(id.as_str())
        .bind(self.uid())
        .fetch_optional(&mut **tx)
        .await?;
        let Some((name_enc, format, size, created, data_enc)) = row else {
            return Ok(None);
        };
        let dk = self.data_key(tx).await?;
        let name = dk.open_string(K_RECORD_NAME, self.uid(), id.as_str(), &name_enc)?;
        let data = dk.open(K_RECORD_DATA, self.uid(), id.as_str(), &data_enc)?;
        if data.len() as i64 != size {
            return Err(StoreError::Integrity);
        }
        Ok(Some((
            RecordMeta {
                id: id.clone(),
                name,
                format,
                size,
                created,
            },
            data,
        )))
    }

    /// Deletes one of the owner's records; `false` if there was none with this id.
    pub async fn delete_record(&self, id: RecordId) -> Result<bool> {
        self.delete_owned(
            "DELETE FROM records WHERE id = $1 AND user_id = $2",
            id.as_str(),
            "record.delete",
        )
        .await
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
            .finish(tx, res, self.ev(id, action), |d| {
                if *d {
                    "ok"
                } else {
                    "not_found"
                }
            })
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
        let enc: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT json_enc FROM profiles WHERE user_id = $1")
                .bind(self.uid())
                .fetch_optional(&mut **tx)
                .await?;
        let Some(enc) = enc else { return Ok(None) };
        let dk = self.data_key(tx).await?;
        dk.open_string(K_PROFILE, self.uid(), self.uid(), &enc)
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
        let dk = self.data_key(tx).await?;
        let enc = dk.seal(K_PROFILE, self.uid(), self.uid(), json.as_bytes())?;
        sqlx::query(
            "INSERT INTO profiles (user_id, json_enc, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET json_enc = excluded.json_enc, updated_at = excluded.updated_at",
        )
        .bind(self.uid())
        .bind(enc)
        .bind(self.store.now())
        .execute(&mut **tx)
        .await?;
        Ok(())
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
        let dk = self.data_key(tx).await?;
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
        let q = dk.seal(K_QUESTION, self.uid(), id.as_str(), question.as_bytes())?;
        let a = dk.seal(K_ANSWER, self.uid(), id.as_str(), answer_json.as_bytes())?;
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
        let dk = self.data_key(tx).await?;
        rows.into_iter()
            .map(|(id, q, a, created)| {
                Ok(SavedAnswer {
                    question: dk.open_string(K_QUESTION, self.uid(), &id, &q)?,
                    answer_json: dk.open_string(K_ANSWER, self.uid(), &id, &a)?,
                    id: AnswerId::from_db(id),
                    created,
                })
            })
            .collect()
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
