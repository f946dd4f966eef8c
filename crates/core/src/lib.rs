//! Sextant's shared vocabulary: passages and pages of the knowledge base, the
//! cancer-type catalog, plain-text helpers (sentences, tokens) and the answer
//! shape that every front end prints. This crate does no I/O.

pub mod answer;
pub mod cancer;
pub mod passage;
pub mod readability;
pub mod text;

pub use answer::{
    Answer, AnswerKind, BiomarkerEvidence, CitedSentence, Contact, FactUsed, Generation, Generator,
    Personalization, Reading, Section, SourceRef, Urgency, Urgent,
};
pub use cancer::{CancerType, CATALOG};
pub use passage::{Audience, Page, PageKind, Passage};

/// A problem found while reading untrusted input. Parsers return these next
/// to a best-effort value instead of failing hard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    /// Where the problem is (a file, a line, a field).
    pub at: String,
    /// What is wrong, in plain words.
    pub message: String,
}

impl Issue {
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            at: at.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}
