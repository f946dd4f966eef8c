//! The public library of general (non-personal) answers, stored in clear.
//! A question reaches it only when the person who asked chose to share it
//! ([`Store::submit_answer`], status `pending`) and a reviewer approved it
//! ([`Store::review_answer`], status `published`); only published rows are
//! ever read back for the public.

use crate::crypto;
use crate::error::{Result, StoreError};
use crate::{PublicAnswer, Store, MAX_JSON_BYTES, MAX_QUESTION_BYTES};

/// `what-is-stage-2-breast-cancer-1a2b3c4d`: readable words, then a random suffix.
fn slug_for(question: &str) -> Result<String> {
    let mut s = String::new();
    for c in question.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
        if s.len() >= 60 {
            break;
        }
    }
    let s = s.trim_end_matches('-');
    let mut r = [0u8; 4];
    crypto::random_bytes(&mut r)?;
    let suffix = crypto::hex(&r);
    Ok(if s.is_empty() {
        format!("answer-{suffix}")
    } else {
        format!("{s}-{suffix}")
    })
}

type PublicRow = (String, String, String, i64, i64);

/// Most shared answers waiting for review; past it, sharing is refused
/// until a reviewer catches up.
pub const MAX_PENDING: i64 = 500;

/// A row's place in the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Published,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Published => "published",
        }
    }
}

/// A reviewer's decision on a shared answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    Approve,
    Reject,
}

fn to_public((slug, question, answer_json, created, updated): PublicRow) -> PublicAnswer {
    PublicAnswer {
        slug,
        question,
        answer_json,
        created,
        updated,
    }
}

impl Store {
    /// Publishes a general answer to the public library at once (no review)
    /// and returns its slug: for an operator's own entries and tests.
    /// Publishing the same question again replaces the answer and keeps the
    /// slug.
    pub async fn publish_answer(&self, question: &str, answer_json: &str) -> Result<String> {
        self.put_answer(question, answer_json, Status::Published)
            .await
    }

    /// Puts a shared answer in the review queue (status `pending`) and
    /// returns its slug. An answer already published stays published with
    /// the new text. The queue holds at most [`MAX_PENDING`] rows.
    pub async fn submit_answer(&self, question: &str, answer_json: &str) -> Result<String> {
        self.put_answer(question, answer_json, Status::Pending)
            .await
    }

    async fn put_answer(
        &self,
        question: &str,
        answer_json: &str,
        status: Status,
    ) -> Result<String> {
        let question = question.trim();
        if question.is_empty() || question.len() > MAX_QUESTION_BYTES {
            return Err(StoreError::InvalidInput("question"));
        }
        if answer_json.len() > MAX_JSON_BYTES {
            return Err(StoreError::InvalidInput("answer larger than 1 MiB"));
        }
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let existing: Option<(String, String)> =
            sqlx::query_as("SELECT slug, status FROM public_answers WHERE question = $1")
                .bind(question)
                .fetch_optional(&mut *tx)
                .await?;
        let slug = match existing {
            Some((slug, old)) => {
                // A new submission never takes a published answer down.
                let status = if old == Status::Published.as_str() {
                    Status::Published
                } else {
                    status
                };
                sqlx::query(
                    "UPDATE public_answers SET answer_json = $1, updated_at = $2, status = $3 WHERE slug = $4",
                )
                .bind(answer_json)
                .bind(now)
                .bind(status.as_str())
                .bind(&slug)
                .execute(&mut *tx)
                .await?;
                slug
            }
            None => {
                if status == Status::Pending {
                    let pending: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM public_answers WHERE status = 'pending'",
                    )
                    .fetch_one(&mut *tx)
                    .await?;
                    if pending >= MAX_PENDING {
                        return Err(StoreError::QuotaExceeded(
                            "the library's review queue is full",
                        ));
                    }
                }
                let slug = slug_for(question)?;
                sqlx::query(
                    "INSERT INTO public_answers (slug, question, answer_json, created_at, updated_at, status) \
                     VALUES ($1, $2, $3, $4, $4, $5)",
                )
                .bind(&slug)
                .bind(question)
                .bind(answer_json)
                .bind(now)
                .bind(status.as_str())
                .execute(&mut *tx)
                .await?;
                slug
            }
        };
        tx.commit().await?;
        Ok(slug)
    }

    /// The review queue, oldest first (`limit` clamped to 1..=1000).
    pub async fn pending_answers(&self, limit: i64) -> Result<Vec<PublicAnswer>> {
        let rows: Vec<PublicRow> = sqlx::query_as(
            "SELECT slug, question, answer_json, created_at, updated_at FROM public_answers \
             WHERE status = 'pending' ORDER BY updated_at, slug LIMIT $1",
        )
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(to_public).collect())
    }

    /// A reviewer's decision on a pending answer: approved, it is published;
    /// rejected, it is deleted. [`StoreError::NotFound`] when no pending
    /// answer has the slug.
    pub async fn review_answer(&self, slug: &str, decision: Review) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let n = match decision {
            Review::Approve => sqlx::query(
                "UPDATE public_answers SET status = 'published', updated_at = $1 \
                 WHERE slug = $2 AND status = 'pending'",
            )
            .bind(self.now())
            .bind(slug)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            Review::Reject => {
                sqlx::query("DELETE FROM public_answers WHERE slug = $1 AND status = 'pending'")
                    .bind(slug)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            }
        };
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// One public answer by slug.
    pub async fn public_answer(&self, slug: &str) -> Result<Option<PublicAnswer>> {
        if slug.is_empty() || slug.len() > 128 {
            return Ok(None);
        }
        let row: Option<PublicRow> = sqlx::query_as(
            "SELECT slug, question, answer_json, created_at, updated_at FROM public_answers \
             WHERE slug = $1 AND status = 'published'",
        )
        .bind(slug)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(to_public))
    }

    /// The most recently updated public answers (`limit` clamped to 1..=1000).
    pub async fn public_answers(&self, limit: i64) -> Result<Vec<PublicAnswer>> {
        let rows: Vec<PublicRow> = sqlx::query_as(
            "SELECT slug, question, answer_json, created_at, updated_at FROM public_answers \
             WHERE status = 'published' ORDER BY updated_at DESC, slug LIMIT $1",
        )
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(to_public).collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn slugs() {
        let s = super::slug_for("What is Stage II breast cancer?").unwrap();
        assert!(s.starts_with("what-is-stage-ii-breast-cancer-"), "{s}");
        assert_eq!(s.len(), "what-is-stage-ii-breast-cancer-".len() + 8);
        assert!(super::slug_for("???").unwrap().starts_with("answer-"));
    }
}
