//! The answer shape printed by `sextant ask --json` and, later, the HTTP API.
//! Fields are only ever added, never renamed.

use serde::{Deserialize, Serialize};

/// What kind of reply this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// A cited answer from the knowledge base.
    #[default]
    Answer,
    /// The sources do not cover the question well enough to answer it.
    NoEvidence,
    /// The person reports a situation that needs the emergency number (or,
    /// for a fever during chemotherapy, the care team's 24-hour line) now:
    /// `urgent` says what to do, before anything else.
    Emergency,
    /// The person reports something their cancer care team should hear
    /// about today: `urgent` says so first, then the question is answered.
    Urgent,
    /// The question asks for an individual dosing decision, which only the
    /// person's care team can make.
    Dosing,
    /// The question is about neither cancer nor health.
    OutOfScope,
    /// The question is too short or garbled to answer without guessing.
    Unclear,
}

impl AnswerKind {
    pub const ALL: [AnswerKind; 7] = [
        AnswerKind::Answer,
        AnswerKind::NoEvidence,
        AnswerKind::Emergency,
        AnswerKind::Urgent,
        AnswerKind::Dosing,
        AnswerKind::OutOfScope,
        AnswerKind::Unclear,
    ];

    /// The JSON name (`no_evidence`).
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Answer => "answer",
            AnswerKind::NoEvidence => "no_evidence",
            AnswerKind::Emergency => "emergency",
            AnswerKind::Urgent => "urgent",
            AnswerKind::Dosing => "dosing",
            AnswerKind::OutOfScope => "out_of_scope",
            AnswerKind::Unclear => "unclear",
        }
    }
}

/// How soon a message needs care, in the three levels of oncology
/// telephone triage (UKONS red / amber / green).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Answer the question.
    #[default]
    Routine,
    /// Contact the cancer care team's 24-hour line now (today).
    Urgent,
    /// Call the emergency number now (for a fever during chemotherapy: the
    /// care team's 24-hour line now, else the emergency department).
    Emergency,
}

impl Urgency {
    pub const ALL: [Urgency; 3] = [Urgency::Routine, Urgency::Urgent, Urgency::Emergency];

    /// The JSON name (`routine`, `urgent`, `emergency`).
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Routine => "routine",
            Urgency::Urgent => "urgent",
            Urgency::Emergency => "emergency",
        }
    }

    pub fn parse(s: &str) -> Option<Urgency> {
        Urgency::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

/// What to do now about a reported emergency or urgent problem. Sextant's
/// own words, not a source's: they are fixed, reviewed text (see
/// `sextant_safety` and `sextant_answer::routes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Urgent {
    /// `emergency` or `urgent`.
    #[serde(default = "emergency_level")]
    pub level: Urgency,
    /// Stable id of the situation (`neutropenic_fever`, `self_harm`, ...).
    pub category: String,
    /// The situation in plain words ("a fever during chemotherapy").
    pub situation: String,
    /// The person's own words that triggered the routing.
    pub evidence: Vec<String>,
    /// What to do now, in order.
    pub do_now: Vec<String>,
    /// Why it is urgent, in one plain sentence.
    pub why: String,
    /// Numbers to call, for the configured locale.
    pub contacts: Vec<Contact>,
}

fn emergency_level() -> Urgency {
    Urgency::Emergency
}

/// A phone line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    /// What to dial or text ("911", "988").
    pub number: String,
}

/// One meaning of an ambiguous question, answered on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The heading: "If the cancer started in the liver (primary liver cancer) and has spread".
    pub label: String,
    pub sections: Vec<Section>,
    /// The reading's strongest sentence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bottom_line: Vec<CitedSentence>,
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub question: String,
    pub kind: AnswerKind,
    /// How soon the message needs care: `routine`, `urgent` or `emergency`.
    #[serde(default)]
    pub urgency: Urgency,
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
    /// For an emergency: what to do now. Shown before everything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgent: Option<Urgent>,
    /// For an ambiguous question: each meaning answered under its own heading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<Reading>,
    /// Flesch–Kincaid grade of the cited body (sections, readings and bottom
    /// line); `null` when there is no body.
    #[serde(default)]
    pub reading_grade: Option<f32>,
    /// The rest of a mixed message ("...and also what is HER2?"), answered
    /// after the emergency part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub also: Option<Box<Answer>>,
    /// When the answer was tailored to the person's records: the facts it
    /// used and, for an ambiguous question, the reading they chose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personalization: Option<Personalization>,
    /// What wrote the body: `extractive` (sentences copied from passages,
    /// the default) or `llm` (a language model, every shown sentence
    /// verified against the passages it cites).
    #[serde(default)]
    pub generator: Generator,
    /// For a body written by a language model: which, and what verification
    /// dropped. Also present when the model was asked but its answer fell
    /// back to the extractive one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<Generation>,
}

/// What wrote an answer's body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Generator {
    /// Sentences copied verbatim from the cited passages.
    #[default]
    Extractive,
    /// Sentences written by a language model and verified against the
    /// passages they cite.
    Llm,
}

/// How a language model took part in an answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// `openai` or `local`.
    pub backend: String,
    /// The model's name.
    pub model: String,
    /// Generated sentences shown (each passed verification).
    pub verified_sentences: usize,
    /// Generated sentences dropped by verification.
    pub dropped_sentences: usize,
    /// Why the extractive answer was shown instead, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// How an answer used the person's records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Personalization {
    /// The facts restated under "For your situation", each with its source.
    pub facts_used: Vec<FactUsed>,
    /// The label of the reading the records chose, when the question was
    /// ambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading_chosen: Option<String>,
    /// What published studies say about the person's gene findings in
    /// their cancer type (CIViC), strongest evidence first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub biomarker_evidence: Vec<BiomarkerEvidence>,
}

/// One CIViC evidence item about a person's gene finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiomarkerEvidence {
    pub gene: String,
    pub variant: String,
    pub disease: String,
    /// Therapies, when the evidence is about treatment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub therapies: Vec<String>,
    /// `Predictive`, `Prognostic`, `Diagnostic`, `Predisposing`.
    pub evidence_type: String,
    /// A (validated) to E (inferential).
    pub level: String,
    /// As CIViC says it: `Sensitivity/Response`, `Resistance`, `Poor Outcome`...
    pub significance: String,
    /// The item in plain words.
    pub summary: String,
    /// PubMed id of the study.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmid: Option<String>,
    /// The data release ("CIViC, 1 August 2021").
    pub source: String,
}

/// One fact from the records, in plain words, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactUsed {
    /// "The cancer is invasive ductal carcinoma of the breast."
    pub text: String,
    /// "TrialMatching_Patient01.json, Condition/abc code".
    pub source: String,
}

/// The heading of the section that opens an answer with what answers the
/// question; the bottom line repeats its first sentence.
pub const SHORT_ANSWER: &str = "In short";

/// The heading of the section that opens an answer whose question takes
/// something as given that the sources dispute.
pub const CHECK_FIRST: &str = "Something to check first";

/// The notice that closes every answer.
pub const NOTICE: &str = "This information is for education only and is not medical advice. \
It cannot replace a conversation with your own doctor or care team, who know your situation. \
If you have symptoms that worry you, or think you may have an emergency, contact your care team \
or emergency services right away.";

impl Answer {
    /// Every cited sentence of the body (sections, then each reading's
    /// sections and bottom line) and the bottom line, in order. Not those of
    /// [`Answer::also`], which cites its own sources.
    pub fn cited_sentences(&self) -> impl Iterator<Item = &CitedSentence> {
        self.sections
            .iter()
            .flat_map(|s| s.sentences.iter())
            .chain(self.readings.iter().flat_map(|r| {
                r.sections
                    .iter()
                    .flat_map(|s| s.sentences.iter())
                    .chain(r.bottom_line.iter())
            }))
            .chain(self.bottom_line.iter())
    }

    /// Sets [`Answer::reading_grade`] from the cited body. The items of a
    /// list sentence ("may include: a; b; c.") are graded as the separate
    /// statements a reader takes them as.
    pub fn grade_reading(&mut self) {
        let body: Vec<&str> = self
            .cited_sentences()
            .flat_map(|s| s.text.split([';', ':']))
            .collect();
        // One decimal: finer is noise for a rule-based syllable count.
        self.reading_grade =
            crate::readability::grade_sentences(&body).map(|g| (g * 10.0).round() / 10.0);
    }

    /// Word count of the sections and bottom line.
    pub fn body_words(&self) -> usize {
        self.cited_sentences()
            .map(|s| s.text.split_whitespace().count())
            .sum()
    }
}
