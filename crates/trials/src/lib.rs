//! Sextant's clinical trials: read trial records (NIH-TrialBench,
//! NCI Clinical Trials Search API v2, ClinicalTrials.gov API v2) into one
//! [`Trial`] model, fetch them from the live APIs, split eligibility text
//! into atomic criteria and classify them, and judge each criterion against
//! a person's [`Profile`](sextant_records::Profile): `met`, `not_met` or
//! `unknown`, always with the fact (and its source) that decided it or the
//! information that is missing.
//!
//! Trial records are untrusted input: readers return what they could read
//! with the [`Issue`](sextant_core::Issue)s they met and never panic.

pub mod connect;
pub mod criteria;
pub mod matching;
pub mod model;
pub mod read;
pub mod store;
mod vocab;

pub use model::{
    parse_age, registry_url, CodedBiomarker, Eligibility, Format, ListedCriterion, SexEligible,
    Trial, TrialSite, TrialSource,
};

/// Errors of the trials crate. A record that parses but has odd parts is
/// not an error: those parts become issues.
#[derive(Debug, thiserror::Error)]
pub enum TrialsError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {size} bytes is over the {limit}-byte limit for one trial file")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path}: not a trial record Sextant reads ({why})")]
    Unrecognized { path: String, why: String },
    #[error("{path}: malformed {format}: {detail}")]
    Malformed {
        path: String,
        format: &'static str,
        detail: String,
    },
    #[error("trial API {url}: {detail}")]
    Api { url: String, detail: String },
    #[error("no trial index under {0}: run `sextant trials ingest` first")]
    NotIngested(String),
    #[error("trial index: {0}")]
    Index(String),
    #[error(transparent)]
    Kb(#[from] sextant_kb::KbError),
}

pub type Result<T> = std::result::Result<T, TrialsError>;
