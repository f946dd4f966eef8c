//! The append-only, hash-chained audit log. Rows hold ids and action names, never PHI.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::hex;
use crate::error::Result;
use crate::{Store, Tx};

/// `prev_hash` of the first row.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

tokio::task_local! {
    /// The id of the request being served, put on every audit row written
    /// while it is (see [`with_request`]).
    static REQUEST: String;
}

/// Runs `fut` with `id` as the request id of every audit row it writes
/// (the server's correlation id), so a row leads to the request's log line.
pub async fn with_request<F: std::future::Future>(id: String, fut: F) -> F::Output {
    REQUEST.scope(id, fut).await
}

fn request_id() -> String {
    REQUEST.try_with(Clone::clone).unwrap_or_default()
}

/// One audit event; `outcome` is `"ok"`, `"not_found"` or an error code.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event<'a> {
    /// The session it happened in ([`crate::crypto`]'s session reference,
    /// never the token or its hash), or empty.
    pub session: &'a str,
    pub actor: &'a str,
    pub subject: &'a str,
    pub target: &'a str,
    pub action: &'static str,
    pub outcome: &'a str,
}

/// The result of [`Store::audit_verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Rows read.
    pub rows: i64,
    /// The sequence number of the first row found broken (edited, missing, out of place);
    /// `None` when the whole chain checks.
    pub first_broken: Option<i64>,
    /// What is wrong there.
    pub problem: Option<String>,
    /// The chain head's hash: store it elsewhere to detect a rewrite of the whole tail.
    pub head_hash: String,
}

impl AuditReport {
    /// Whether the chain is intact.
    pub fn ok(&self) -> bool {
        self.first_broken.is_none()
    }
}

/// The fields of a row its hash covers, with the hash before it.
#[derive(Clone, Copy)]
struct Hashed<'a> {
    /// The row's version: 2 hashes the eight fields, 3 also the session and
    /// the request.
    v: i64,
    prev: &'a str,
    seq: i64,
    at: i64,
    actor: &'a str,
    subject: &'a str,
    target: &'a str,
    action: &'a str,
    outcome: &'a str,
    session: &'a str,
    request: &'a str,
}

impl<'a> Hashed<'a> {
    /// `row`'s fields, chained after `prev`.
    fn of(row: &'a AuditRow, prev: &'a str) -> Hashed<'a> {
        let (seq, v, at, actor, subject, target, action, outcome, _, _, session, request) = row;
        Hashed {
            v: *v,
            session,
            request,
            prev,
            seq: *seq,
            at: *at,
            actor,
            subject,
            target,
            action,
            outcome,
        }
    }

    /// The length-prefixed canonical fields, after a domain tag.
    fn canonical(&self, tag: &[u8]) -> Vec<u8> {
        let mut m = tag.to_vec();
        let (seq, at) = (self.seq.to_string(), self.at.to_string());
        for field in [
            self.prev,
            seq.as_str(),
            at.as_str(),
            self.actor,
            self.subject,
            self.target,
            self.action,
            self.outcome,
        ] {
            m.extend((field.len() as u64).to_be_bytes());
            m.extend(field.as_bytes());
        }
        if self.v >= 3 {
            for field in [self.session, self.request] {
                m.extend((field.len() as u64).to_be_bytes());
                m.extend(field.as_bytes());
            }
        }
        m
    }

    /// Version 1 (rows written before the chain was keyed): SHA-256 of the
    /// canonical fields.
    fn unkeyed_hash(&self) -> String {
        hex(&Sha256::digest(self.canonical(b"sextant-audit/v1")))
    }
}

/// Where the chain ends: the last row's sequence number and hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

impl AuditHead {
    /// The head file's text: `seq hash`.
    pub fn to_line(&self) -> String {
        format!("{} {}\n", self.seq, self.hash)
    }

    /// Reads a head file's text.
    pub fn parse(text: &str) -> Option<AuditHead> {
        let mut it = text.split_whitespace();
        let seq = it.next()?.parse().ok()?;
        let hash = it.next()?.to_string();
        (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
            .then_some(AuditHead { seq, hash })
    }
}

/// The migration that keys the chain ([`Store::key_legacy_chain`]).
pub(crate) const KEYED_SINCE_MIGRATION: i64 = 3;

/// seq, v, at, actor, subject, target, action, outcome, prev_hash, hash,
/// session, request.
type AuditRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

impl Store {
    /// Versions 2 and 3: the canonical fields, HMAC-keyed from the master
    /// key (3 adds the session and the request).
    fn keyed_hash(&self, f: Hashed<'_>) -> String {
        let tag: &[u8] = if f.v >= 3 {
            b"sextant-audit/v3"
        } else {
            b"sextant-audit/v2"
        };
        self.key().audit_mac(&f.canonical(tag))
    }

    /// Writes the audit chain's head to `path` after every audited write
    /// from now on (atomically: a temporary file renamed over it), so a
    /// chain cut short in the database no longer reaches it
    /// ([`Store::audit_verify_against`]). Keep the file where whoever can
    /// write the database cannot (another volume, another host's mount).
    pub fn export_audit_head_to(&self, path: std::path::PathBuf) -> Result<()> {
        let _ = self.audit_head_file().set(path);
        Ok(())
    }

    /// Commits `tx`, which appended `head`, then writes the head file.
    pub(crate) async fn commit_audited(&self, tx: Tx, head: AuditHead) -> Result<()> {
        tx.commit().await?;
        if let Some(path) = self.audit_head_file().get() {
            // Replicas sharing one head file never move it back: a head
            // older than the one written is not written.
            let newer = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| AuditHead::parse(&t))
                .is_none_or(|on_file| head.seq > on_file.seq);
            if newer {
                let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
                // A failure to write the anchor must not fail the change it
                // records; `audit verify --head` will report the gap.
                let _ =
                    std::fs::write(&tmp, head.to_line()).and_then(|_| std::fs::rename(&tmp, path));
            }
        }
        Ok(())
    }

    /// Appends one event inside `tx`, serialized on the chain head; commit
    /// with [`Store::commit_audited`].
    pub(crate) async fn append_audit(&self, tx: &mut Tx, ev: Event<'_>) -> Result<AuditHead> {
        let head_sql = if self.is_pg() {
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
        } else {
            "SELECT seq, hash FROM audit_head WHERE id = 1"
        };
        let (last, prev): (i64, String) = sqlx::query_as(head_sql).fetch_one(&mut **tx).await?;
        let seq = last + 1;
        let at = self.now();
        let request = request_id();
        let hash = self.keyed_hash(Hashed {
            v: 3,
            prev: &prev,
            seq,
            at,
            actor: ev.actor,
            subject: ev.subject,
            target: ev.target,
            action: ev.action,
            outcome: ev.outcome,
            session: ev.session,
            request: &request,
        });
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, subject, target, action, outcome, prev_hash, hash, v, session, request) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 3, $10, $11)",
        )
        .bind(seq)
        .bind(at)
        .bind(ev.actor)
        .bind(ev.subject)
        .bind(ev.target)
        .bind(ev.action)
        .bind(ev.outcome)
        .bind(&prev)
        .bind(&hash)
        .bind(ev.session)
        .bind(&request)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&mut **tx)
            .await?;
        Ok(AuditHead { seq, hash })
    }

    /// Appends one event in its own transaction (for calls that failed and rolled back).
    pub(crate) async fn audit_alone(&self, ev: Event<'_>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let head = self.append_audit(&mut tx, ev).await?;
        self.commit_audited(tx, head).await
    }

    /// Commits `tx` with an audit row when `res` is `Ok`; otherwise rolls back and records the
    /// failure (outcome = error code) in a transaction of its own. Returns `res`.
    pub(crate) async fn finish<T>(
        &self,
        mut tx: Tx,
        res: Result<T>,
        ev: Event<'_>,
        outcome: impl FnOnce(&T) -> &'static str,
    ) -> Result<T> {
        match res {
            Ok(v) => {
                let head = self
                    .append_audit(
                        &mut tx,
                        Event {
                            outcome: outcome(&v),
                            ..ev
                        },
                    )
                    .await?;
                self.commit_audited(tx, head).await?;
                Ok(v)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                // The original error matters more than a failure to record it.
                let _ = self
                    .audit_alone(Event {
                        outcome: e.code(),
                        ..ev
                    })
                    .await;
                Err(e)
            }
        }
    }

    /// [`Store::audit_verify`], and the chain must still reach `anchor`
    /// (the head file written outside the database): its row must be there
    /// with the same hash, so rows deleted at the end, or a chain rewritten
    /// from before it, are reported.
    pub async fn audit_verify_against(&self, anchor: &AuditHead) -> Result<AuditReport> {
        let report = self.audit_verify().await?;
        if !report.ok() {
            return Ok(report);
        }
        let at: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(anchor.seq)
            .fetch_optional(self.pool())
            .await?;
        let problem = match at {
            None => "the chain ends before the anchored head (rows deleted at the end)",
            Some(h) if h != anchor.hash => "the anchored head's row differs (chain rewritten)",
            Some(_) => return Ok(report),
        };
        Ok(AuditReport {
            first_broken: Some(anchor.seq),
            problem: Some(problem.to_owned()),
            ..report
        })
    }

    /// Walks the audit chain and reports the first row that was edited, deleted or reordered.
    pub async fn audit_verify(&self) -> Result<AuditReport> {
        self.walk_audit().await
    }

    /// Keys a chain written before the audit key existed, once, in the
    /// transaction of the migration that brings the key
    /// ([`KEYED_SINCE_MIGRATION`]): if its unkeyed rows verify as they are,
    /// every row's hash is recomputed with the key (`v = 2`) and the upgrade
    /// is itself audited; a broken unkeyed chain is left as it is, for
    /// `audit verify` to report. After that migration an unkeyed row is
    /// never accepted, so a chain rewritten without the key cannot pass as
    /// an old one.
    pub(crate) async fn key_legacy_chain(&self, tx: &mut Tx) -> Result<()> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT seq, v, at, actor, subject, target, action, outcome, prev_hash, hash, \
             '' AS session, '' AS request FROM audit_log ORDER BY seq",
        )
        .fetch_all(&mut **tx)
        .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let (head_seq, head_hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(&mut **tx)
                .await?;
        let mut prev = GENESIS.to_owned();
        for (i, row) in rows.iter().enumerate() {
            let (seq, prev_hash, hash) = (row.0, &row.8, &row.9);
            let intact = seq == i as i64 + 1
                && *prev_hash == prev
                && Hashed::of(row, &prev).unkeyed_hash() == *hash;
            if !intact {
                return Ok(());
            }
            prev = hash.clone();
        }
        if head_seq != rows.len() as i64 || head_hash != prev {
            return Ok(());
        }
        self.rekey_as_v2(tx, &rows).await?;
        let ev = Event {
            session: "",
            actor: "",
            subject: "",
            target: "",
            action: "audit.keyed",
            outcome: "ok",
        };
        self.append_audit(tx, ev).await?;
        Ok(())
    }

    /// Hashes `rows` (the whole chain, in order) again as version 2 rows,
    /// keyed, without session or request, and points the head at the last.
    async fn rekey_as_v2(&self, tx: &mut Tx, rows: &[AuditRow]) -> Result<()> {
        let mut prev = GENESIS.to_owned();
        for row in rows {
            let hash = self.keyed_hash(Hashed {
                v: 2,
                ..Hashed::of(row, &prev)
            });
            sqlx::query(
                "UPDATE audit_log SET v = 2, prev_hash = $1, hash = $2, session = '', request = '' \
                 WHERE seq = $3",
            )
            .bind(&prev)
            .bind(&hash)
            .bind(row.0)
            .execute(&mut **tx)
            .await?;
            prev = hash;
        }
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&prev)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Hashes the whole chain again as schema 3 wrote it: version 2 rows,
    /// no session or request (tests of the upgrade only).
    #[cfg(feature = "test-support")]
    pub(crate) async fn rehash_as_v2(&self, tx: &mut Tx) -> Result<()> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT seq, v, at, actor, subject, target, action, outcome, prev_hash, hash, \
             session, request FROM audit_log ORDER BY seq",
        )
        .fetch_all(&mut **tx)
        .await?;
        self.rekey_as_v2(tx, &rows).await
    }

    async fn walk_audit(&self) -> Result<AuditReport> {
        const BATCH: i64 = 5000;
        let (head_seq, head_hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(self.pool())
                .await?;
        let mut rows = 0i64;
        let mut expected_seq = 1i64;
        let mut prev = GENESIS.to_owned();
        let mut after = i64::MIN;
        let broken = |rows: i64, seq: i64, problem: &str, head_hash: &str| AuditReport {
            rows,
            first_broken: Some(seq),
            problem: Some(problem.to_owned()),
            head_hash: head_hash.to_owned(),
        };
        loop {
            let batch: Vec<AuditRow> = sqlx::query_as(
                "SELECT seq, v, at, actor, subject, target, action, outcome, prev_hash, hash, \
                 session, request FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(self.pool())
            .await?;
            let n = batch.len() as i64;
            for row in &batch {
                let (seq, v, prev_hash, hash) = (row.0, row.1, &row.8, &row.9);
                rows += 1;
                if seq != expected_seq {
                    let what = if seq > expected_seq {
                        "row missing (deleted)"
                    } else {
                        "row out of order"
                    };
                    return Ok(broken(rows, expected_seq, what, &head_hash));
                }
                if *prev_hash != prev {
                    return Ok(broken(
                        rows,
                        seq,
                        "prev_hash does not match the previous row (reordered or replaced)",
                        &head_hash,
                    ));
                }
                // Every row is keyed since the key's migration
                // ([`Store::key_legacy_chain`]): an unkeyed row is a forgery.
                if v != 2 && v != 3 {
                    return Ok(broken(
                        rows,
                        seq,
                        "unkeyed row (the chain was rewritten without the key)",
                        &head_hash,
                    ));
                }
                // A version 2 row was written before rows named their
                // session and request: one that names them was edited.
                if v == 2 && !(row.10.is_empty() && row.11.is_empty()) {
                    return Ok(broken(
                        rows,
                        seq,
                        "a row from before sessions were recorded names one (edited)",
                        &head_hash,
                    ));
                }
                if self.keyed_hash(Hashed::of(row, prev_hash)) != *hash {
                    return Ok(broken(
                        rows,
                        seq,
                        "hash does not match the row (edited)",
                        &head_hash,
                    ));
                }
                prev = hash.clone();
                expected_seq += 1;
                after = seq;
            }
            if n < BATCH {
                break;
            }
        }
        if head_seq != expected_seq - 1 || head_hash != prev {
            return Ok(broken(
                rows,
                expected_seq,
                "chain head does not match the last row (rows deleted at the end)",
                &head_hash,
            ));
        }
        Ok(AuditReport {
            rows,
            first_broken: None,
            problem: None,
            head_hash,
        })
    }
}
