//! The public answer library: general answers (never personal ones), kept
//! behind a trait so that the store can hold them later.

use std::collections::HashMap;
use std::sync::RwLock;

use sextant_core::{Answer, AnswerKind};

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

/// Where public answers live.
pub trait AnswerLibrary: Send + Sync {
    /// Publishes (or refreshes) the answer to a question when it is
    /// [`publishable`]; returns its slug.
    fn publish<'a>(
        &'a self,
        question: &'a str,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Option<String>>;
    fn get<'a>(&'a self, slug: &'a str) -> BoxFuture<'a, Option<PublicAnswer>>;
    /// Newest first.
    fn list(&self, limit: usize) -> BoxFuture<'_, Vec<PublicAnswer>>;
}

/// Whether an answer may be published: a cited, general answer with no
/// personalization, to a question in which the de-identification pass
/// (`sextant_deid`) finds no identifying detail (a name, a date, a record
/// or phone number, a contact, a place, an age over 89).
pub fn publishable(answer: &Answer) -> bool {
    if answer.kind != AnswerKind::Answer
        || answer.personalization.is_some()
        || answer.urgent.is_some()
        || answer.also.is_some()
    {
        return false;
    }
    let q = answer.question.to_lowercase();
    // Saying one's name or birth date without the name itself.
    let telling = q.contains("my name") || q.contains("born on") || q.contains("date of birth");
    !telling && sextant_deid::find(&answer.question).is_empty()
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
    /// Slugs, oldest first.
    order: Vec<String>,
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
    fn publish_now(&self, question: &str, answer: &Answer) -> Option<String> {
        if !publishable(answer) {
            return None;
        }
        let slug = slugify(question);
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        inner.order.retain(|s| s != &slug);
        inner.order.push(slug.clone());
        inner.by_slug.insert(
            slug.clone(),
            PublicAnswer {
                slug: slug.clone(),
                question: question.to_string(),
                date: today(),
                answer: answer.clone(),
            },
        );
        while inner.order.len() > self.cap {
            let old = inner.order.remove(0);
            inner.by_slug.remove(&old);
        }
        Some(slug)
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
    fn publish<'a>(
        &'a self,
        question: &'a str,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Option<String>> {
        Box::pin(std::future::ready(self.publish_now(question, answer)))
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
        assert!(lib.publish_now(&a.question.clone(), &a).is_some());
        a.question = "My name is Ann, how is liver cancer treated?".into();
        assert!(lib.publish_now(&a.question.clone(), &a).is_none());
        a.question = "call me at 555 123 4567 about liver cancer".into();
        assert!(lib.publish_now(&a.question.clone(), &a).is_none());
        // The review's example (issue 19, finding 1), and details the old
        // filter let through: a name with no "my name", a date, a place.
        for q in [
            "I am Jane Doe, DOB 03/14/1962, MRN A-12345, is surgery an option for liver cancer?",
            "my dad Robert, 74, has liver cancer, is surgery an option?",
            "scan on 14 March at St Mary's in Leeds showed liver cancer, is surgery an option?",
        ] {
            a.question = q.into();
            assert!(lib.publish_now(q, &a).is_none(), "{q}");
        }
        a.question = "Is surgery an option for Hodgkin lymphoma stage 2A?".into();
        assert!(lib.publish_now(&a.question.clone(), &a).is_some());
        a.question = "How is colon cancer treated?".into();
        a.personalization = Some(Default::default());
        assert!(lib.publish_now(&a.question.clone(), &a).is_none());
        a.personalization = None;
        a.kind = AnswerKind::Emergency;
        assert!(lib.publish_now(&a.question.clone(), &a).is_none());
        a.kind = AnswerKind::Answer;
        for q in ["a b", "c d", "e f"] {
            lib.publish_now(q, &a);
        }
        assert_eq!(lib.list_now(10).len(), 2);
        assert_eq!(lib.list_now(10)[0].slug, "e-f");
    }
}
