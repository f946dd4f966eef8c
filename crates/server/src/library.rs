//! The public answer library: general answers (never personal ones), kept
//! behind a trait so that the store can hold them later.

use std::collections::HashMap;
use std::sync::RwLock;

use sextant_core::{Answer, AnswerKind};

use crate::error::ApiError;

/// One published answer.
#[derive(Debug, Clone)]
pub struct PublicAnswer {
    pub slug: String,
    pub question: String,
    /// `YYYY-MM-DD`, UTC, when it was (last) published.
    pub date: String,
    pub answer: Answer,
}

/// A boxed future, for the library's object-safe async methods.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Where public answers live. Only answers a person chose to share reach
/// it ([`AnswerLibrary::submit`]), and they wait for a reviewer before
/// [`AnswerLibrary::get`] and [`AnswerLibrary::list`] show them.
pub trait AnswerLibrary: Send + Sync {
    /// Queues a shared answer for review when it is [`publishable`];
    /// returns its slug.
    fn submit<'a>(
        &'a self,
        question: &'a str,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Result<String, ApiError>>;
    /// A published (approved) answer.
    fn get<'a>(&'a self, slug: &'a str) -> BoxFuture<'a, Option<PublicAnswer>>;
    /// Published answers, newest first.
    fn list(&self, limit: usize) -> BoxFuture<'_, Vec<PublicAnswer>>;
}

/// Whether an answer's kind may be offered for sharing: a cited, general
/// answer (not personalized, not an emergency, urgent or refusal).
pub fn shareable_kind(answer: &Answer) -> bool {
    answer.kind == AnswerKind::Answer
        && answer.personalization.is_none()
        && answer.urgent.is_none()
        && answer.also.is_none()
}

/// Whether an answer may be published: a [`shareable_kind`] of answer, to a
/// question in which the de-identification pass (`sextant_deid`) finds no
/// identifying detail (a name, a date, a record or phone number, a
/// contact, a place, an age over 89).
pub fn publishable(answer: &Answer) -> bool {
    shareable_kind(answer) && sextant_deid::find(&answer.question).is_empty()
}

/// What sharing a question would publish: the question with identifying
/// details replaced, and the kinds removed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Preview {
    pub question: String,
    pub removed: Vec<&'static str>,
}

/// A shared answer, queued for review.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Shared {
    pub slug: String,
    /// The question as it will be published.
    pub question: String,
    /// `pending`: a reviewer approves it before it is shown.
    pub status: &'static str,
}

/// The preview of a question to share.
pub fn preview(question: &str) -> Preview {
    let d = sextant_deid::deidentify(question.trim());
    let mut removed: Vec<&'static str> = d.found.iter().map(|f| f.kind.as_str()).collect();
    removed.sort_unstable();
    removed.dedup();
    Preview {
        question: d.text,
        removed,
    }
}

/// A URL slug: lower-case words joined by `-`, at most 80 characters.
pub fn slugify(question: &str) -> String {
    let mut s = String::new();
    for w in question
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if s.len() + w.len() + 1 > 80 {
            break;
        }
        if !s.is_empty() {
            s.push('-');
        }
        s.push_str(&w.to_ascii_lowercase());
    }
    if s.is_empty() {
        s.push_str("answer");
    }
    s
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_date((secs / 86_400) as i64)
}

/// Days since 1970-01-01 as a civil date (Howard Hinnant's algorithm).
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", if m <= 2 { y + 1 } else { y })
}

/// The library in memory (lost on restart), capped.
pub struct MemoryLibrary {
    inner: RwLock<Inner>,
    cap: usize,
}

#[derive(Default)]
struct Inner {
    by_slug: HashMap<String, PublicAnswer>,
    /// Published slugs, oldest first.
    order: Vec<String>,
    /// Shared answers waiting for review, by slug.
    pending: HashMap<String, PublicAnswer>,
}

impl MemoryLibrary {
    pub fn new(cap: usize) -> MemoryLibrary {
        MemoryLibrary {
            inner: RwLock::new(Inner::default()),
            cap: cap.max(1),
        }
    }
}

impl MemoryLibrary {
    /// Queues a shared answer (at most `cap` wait).
    fn submit_now(&self, question: &str, answer: &Answer) -> Result<String, ApiError> {
        if !publishable(answer) {
            return Err(ApiError::NotShareable);
        }
        let slug = slugify(question);
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.pending.len() >= self.cap && !inner.pending.contains_key(&slug) {
            return Err(ApiError::LibraryFull);
        }
        let entry = PublicAnswer {
            slug: slug.clone(),
            question: question.to_string(),
            date: today(),
            answer: answer.clone(),
        };
        if inner.by_slug.contains_key(&slug) {
            // Already published: the new text replaces the old.
            inner.by_slug.insert(slug.clone(), entry);
        } else {
            inner.pending.insert(slug.clone(), entry);
        }
        Ok(slug)
    }

    /// A reviewer's approval: the pending answer is published. (The store's
    /// library is reviewed with `sextant library review`; this one, in
    /// memory, only by its owner in code.)
    pub fn approve(&self, slug: &str) -> bool {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = inner.pending.remove(slug) else {
            return false;
        };
        inner.order.retain(|s| s != slug);
        inner.order.push(slug.to_string());
        inner.by_slug.insert(slug.to_string(), entry);
        while inner.order.len() > self.cap {
            let old = inner.order.remove(0);
            inner.by_slug.remove(&old);
        }
        true
    }

    /// Slugs waiting for review.
    pub fn pending(&self) -> Vec<String> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let mut v: Vec<String> = inner.pending.keys().cloned().collect();
        v.sort();
        v
    }

    fn get_now(&self, slug: &str) -> Option<PublicAnswer> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.by_slug.get(slug).cloned()
    }

    fn list_now(&self, limit: usize) -> Vec<PublicAnswer> {
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner
            .order
            .iter()
            .rev()
            .take(limit)
            .filter_map(|s| inner.by_slug.get(s).cloned())
            .collect()
    }
}

impl AnswerLibrary for MemoryLibrary {
    fn submit<'a>(
        &'a self,
        question: &'a str,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Result<String, ApiError>> {
        Box::pin(std::future::ready(self.submit_now(question, answer)))
    }
    fn get<'a>(&'a self, slug: &'a str) -> BoxFuture<'a, Option<PublicAnswer>> {
        Box::pin(std::future::ready(self.get_now(slug)))
    }
    fn list(&self, limit: usize) -> BoxFuture<'_, Vec<PublicAnswer>> {
        Box::pin(std::future::ready(self.list_now(limit)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_slugs() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_454), "2026-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(
            slugify("Is surgery an option for HCC?"),
            "is-surgery-an-option-for-hcc"
        );
        assert_eq!(slugify("???"), "answer");
        assert!(slugify(&"word ".repeat(100)).len() <= 80);
    }

    #[test]
    fn personal_or_identifying_answers_are_not_published() {
        let lib = MemoryLibrary::new(2);
        let mut a = Answer {
            question: "How is liver cancer treated?".into(),
            ..Default::default()
        };
        let slug = lib.submit_now(&a.question.clone(), &a).unwrap();
        // Shared, it waits for review.
        assert!(lib.get_now(&slug).is_none());
        assert!(lib.approve(&slug));
        assert!(lib.get_now(&slug).is_some());
        let refused = |lib: &MemoryLibrary, a: &Answer| {
            lib.submit_now(&a.question.clone(), a) == Err(ApiError::NotShareable)
        };
        a.question = "My name is Ann, how is liver cancer treated?".into();
        assert!(refused(&lib, &a));
        a.question = "call me at 555 123 4567 about liver cancer".into();
        assert!(refused(&lib, &a));
        // The review's example (issue 19, finding 1), and details the old
        // filter let through: a name with no "my name", a date, a place.
        for q in [
            "I am Jane Doe, DOB 03/14/1962, MRN A-12345, is surgery an option for liver cancer?",
            "my dad Robert, 74, has liver cancer, is surgery an option?",
            "scan on 14 March at St Mary's in Leeds showed liver cancer, is surgery an option?",
        ] {
            a.question = q.into();
            assert!(refused(&lib, &a), "{q}");
            // Its preview (what the person is shown) is publishable.
            a.question = preview(q).question;
            assert!(publishable(&a), "{}", a.question);
        }
        a.question = "Is surgery an option for Hodgkin lymphoma stage 2A?".into();
        assert!(lib.submit_now(&a.question.clone(), &a).is_ok());
        a.question = "How is colon cancer treated?".into();
        a.personalization = Some(Default::default());
        assert!(refused(&lib, &a));
        a.personalization = None;
        a.kind = AnswerKind::Emergency;
        assert!(refused(&lib, &a));
        a.kind = AnswerKind::Answer;
        // The queue is capped (2 here), and so is the library.
        assert!(lib.submit_now("a b", &a).is_ok());
        assert_eq!(lib.submit_now("c d", &a), Err(ApiError::LibraryFull));
        for s in lib.pending() {
            assert!(lib.approve(&s));
        }
        // Three approved, two kept: the oldest went.
        let kept: Vec<String> = lib.list_now(10).into_iter().map(|p| p.slug).collect();
        assert_eq!(kept.len(), 2);
        assert!(
            !kept.contains(&"how-is-liver-cancer-treated".to_string()),
            "{kept:?}"
        );
    }

    #[test]
    fn the_preview_names_what_it_removed() {
        let p = preview("I am Jane Doe, DOB 03/14/1962: is surgery an option for liver cancer?");
        assert!(
            !p.question.contains("Jane") && !p.question.contains("1962"),
            "{}",
            p.question
        );
        assert_eq!(p.removed, vec!["date", "name"]);
        let p = preview("Is surgery an option for liver cancer?");
        assert_eq!(p.question, "Is surgery an option for liver cancer?");
        assert!(p.removed.is_empty());
    }
}
