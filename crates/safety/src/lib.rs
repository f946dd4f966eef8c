//! Safety routing before anything else: emergencies the person reports, at
//! three levels of oncology telephone triage (UKONS red / amber / green),
//! requests for an individual dose, questions about neither cancer nor
//! health, and messages too short or garbled to answer.
//!
//! Knowledge is data (`data/`): word lists with lay and clinical wordings
//! (`lexicon.tsv`), respellings (`spelling.tsv`), the situations with their
//! level, escalation and source (`situations.tsv`), how each is recognised
//! (`triggers.tsv`), and the guidelines cited (`guidelines.tsv`). A learned
//! layer (`classifier`) reads a sentence embedding the caller computed and
//! adds what the rules do not name. No knowledge base, no model.

mod classifier;
mod gate;
mod lexicon;
mod rules;
mod situations;

pub use classifier::{input, Classifier, Scores, CLASSES};
pub use gate::ScopeGate;
pub use rules::{
    dosing, emergency, features, looks_like_cancer_drug, looks_like_drug, out_of_scope,
    out_of_scope_with, triage, unclear, Detector, DosingAsk, Emergency, FEATURES,
};
pub use sextant_core::Urgency;
pub use situations::{
    data_issues, guidelines, situation, situations, Escalation, Guideline, Situation,
};
