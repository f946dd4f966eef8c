//! The append-only, hash-chained audit log. Rows hold ids and action names, never PHI.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::hex;
use crate::error::Result;
use crate::{Store, Tx};

/// `prev_hash` of the first row.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit event; `outcome` is `"ok"`, `"not_found"` or an error code.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event<'a> {
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

/// SHA-256 over a domain tag, the previous hash and the length-prefixed canonical fields.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row_hash(
    prev: &str,
    seq: i64,
    at: i64,
    actor: &str,
    subject: &str,
    target: &str,
    action: &str,
    outcome: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(b"sextant-audit/v1");
    let seq = seq.to_string();
    let at = at.to_string();
    for field in [
        prev,
        seq.as_str(),
        at.as_str(),
        actor,
        subject,
        target,
        action,
        outcome,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex(&h.finalize())
}

type AuditRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

impl Store {
    /// Appends one event inside `tx`, serialized on the chain head.
    pub(crate) async fn append_audit(&self, tx: &mut Tx, ev: Event<'_>) -> Result<()> {
        let head_sql = if self.is_pg() {
            "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
        } else {
            "SELECT seq, hash FROM audit_head WHERE id = 1"
        };
        let (last, prev): (i64, String) = sqlx::query_as(head_sql).fetch_one(&mut **tx).await?;
        let seq = last + 1;
        let at = self.now();
        let hash = row_hash(
            &prev, seq, at, ev.actor, ev.subject, ev.target, ev.action, ev.outcome,
        );
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, subject, target, action, outcome, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Appends one event in its own transaction (for calls that failed and rolled back).
    pub(crate) async fn audit_alone(&self, ev: Event<'_>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        self.append_audit(&mut tx, ev).await?;
        tx.commit().await?;
        Ok(())
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
                self.append_audit(
                    &mut tx,
                    Event {
                        outcome: outcome(&v),
                        ..ev
                    },
                )
                .await?;
                tx.commit().await?;
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

    /// Walks the audit chain and reports the first row that was edited, deleted or reordered.
    pub async fn audit_verify(&self) -> Result<AuditReport> {
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
                "SELECT seq, at, actor, subject, target, action, outcome, prev_hash, hash \
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(self.pool())
            .await?;
            let n = batch.len() as i64;
            for (seq, at, actor, subject, target, action, outcome, prev_hash, hash) in batch {
                rows += 1;
                if seq != expected_seq {
                    let what = if seq > expected_seq {
                        "row missing (deleted)"
                    } else {
                        "row out of order"
                    };
                    return Ok(broken(rows, expected_seq, what, &head_hash));
                }
                if prev_hash != prev {
                    return Ok(broken(
                        rows,
                        seq,
                        "prev_hash does not match the previous row (reordered or replaced)",
                        &head_hash,
                    ));
                }
                if row_hash(
                    &prev_hash, seq, at, &actor, &subject, &target, &action, &outcome,
                ) != hash
                {
                    return Ok(broken(
                        rows,
                        seq,
                        "hash does not match the row (edited)",
                        &head_hash,
                    ));
                }
                prev = hash;
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
