//! The answer shape printed by `sextant ask --json` and, later, the HTTP API.
//! Fields are only ever added, never renamed.

use serde::{Deserialize, Serialize};

/// What kind of reply this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// A cited answer from the knowledge base.
    Answer,
    /// The sources do not cover the question well enough to answer it.
    NoEvidence,
}

/// A sentence copied verbatim from one or more cited passages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CitedSentence {
    pub text: String,
    /// Passage ids; every one of them contains `text` verbatim.
    pub citations: Vec<String>,
}

/// A headed group of cited sentences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub heading: String,
    pub sentences: Vec<CitedSentence>,
}

/// A cited passage with what a reader needs to check it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    /// Passage id, as used in citations.
    pub id: String,
    pub title: String,
    /// Page URL, with a fragment pointing at the section when one is known.
    pub url: String,
    /// Section path, "A › B".
    pub section: String,
    pub last_reviewed: Option<String>,
    /// The passage text.
    pub passage: String,
}

/// A complete answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub question: String,
    pub kind: AnswerKind,
    /// Display names of the cancer types the answer is about.
    pub cancer_types: Vec<String>,
    pub title: String,
    pub opener: String,
    pub sections: Vec<Section>,
    pub questions_to_ask: Vec<String>,
    pub bottom_line: Vec<CitedSentence>,
    pub sources: Vec<SourceRef>,
    pub notice: String,
    /// The retrieval that found the passages: `bm25`, `dense` or `hybrid`.
    #[serde(default)]
    pub retriever: String,
    /// What the person should know about how this answer was made (such as
    /// dense retrieval being unavailable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The notice that closes every answer.
pub const NOTICE: &str = "This information is for education only and is not medical advice. \
It cannot replace a conversation with your own doctor or care team, who know your situation. \
If you have symptoms that worry you, or think you may have an emergency, contact your care team \
or emergency services right away.";

impl Answer {
    /// Every cited sentence of the body and the bottom line, in order.
    pub fn cited_sentences(&self) -> impl Iterator<Item = &CitedSentence> {
        self.sections
            .iter()
            .flat_map(|s| s.sentences.iter())
            .chain(self.bottom_line.iter())
    }

    /// Word count of the sections and bottom line.
    pub fn body_words(&self) -> usize {
        self.cited_sentences()
            .map(|s| s.text.split_whitespace().count())
            .sum()
    }
}
