//! The public library of general (non-personal) answers, stored in clear.

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
    /// Publishes a general answer to the public library and returns its slug. Publishing the
    /// same question again replaces the answer and keeps the slug. The caller guarantees the
    /// answer is general (not personalized).
    pub async fn publish_answer(&self, question: &str, answer_json: &str) -> Result<String> {
        let question = question.trim();
        if question.is_empty() || question.len() > MAX_QUESTION_BYTES {
            return Err(StoreError::InvalidInput("question"));
        }
        if answer_json.len() > MAX_JSON_BYTES {
            return Err(StoreError::InvalidInput("answer larger than 1 MiB"));
        }
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT slug FROM public_answers WHERE question = $1")
                .bind(question)
                .fetch_optional(&mut *tx)
                .await?;
        let slug = match existing {
            Some(slug) => {
                sqlx::query(
                    "UPDATE public_answers SET answer_json = $1, updated_at = $2 WHERE slug = $3",
                )
                .bind(answer_json)
                .bind(now)
                .bind(&slug)
                .execute(&mut *tx)
                .await?;
                slug
            }
            None => {
                let slug = slug_for(question)?;
                sqlx::query(
                    "INSERT INTO public_answers (slug, question, answer_json, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(&slug)
                .bind(question)
                .bind(answer_json)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                slug
            }
        };
        tx.commit().await?;
        Ok(slug)
    }

    /// One public answer by slug.
    pub async fn public_answer(&self, slug: &str) -> Result<Option<PublicAnswer>> {
        if slug.is_empty() || slug.len() > 128 {
            return Ok(None);
        }
        let row: Option<PublicRow> = sqlx::query_as(
            "SELECT slug, question, answer_json, created_at, updated_at FROM public_answers WHERE slug = $1",
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
             ORDER BY updated_at DESC, slug LIMIT $1",
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
