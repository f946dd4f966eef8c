//! Sextant's records: read what people have — FHIR R4 and mCODE JSON,
//! C-CDA XML, text reports, clinical notes ([`read_note`]), PDF reports with
//! a text layer — and extract a patient [`Profile`]: cancers, metastatic
//! sites, stage, grade, biomarkers, treatments, performance
//! status, age and sex, each fact with its source ([`Provenance`]).
//!
//! Records are untrusted input: every reader returns what it could read
//! together with the [`Issue`]s it met, and never panics. Records are also
//! personal health information: nothing here logs what it reads.

pub mod ccda;
pub mod edit;
pub mod fhir;
pub mod note;
pub mod pdf;
pub mod profile;
pub mod render;
pub mod sniff;
pub mod text;
mod vocab;

pub use note::read_note;
pub use profile::{
    Biomarker, Cancer, Code, Fact, FactStatus, Method, Performance, Profile, Provenance, Site,
    Stage, Treatment, TreatmentKind,
};
pub use sextant_core::Issue;
pub use sniff::{gunzip, read_bytes, read_file, sniff, Format, MAX_RECORD_BYTES};

/// Errors reading records. A record that parses but holds odd parts is not
/// an error: those parts become [`Issue`]s.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {size} bytes is over the {limit}-byte limit for one record file")]
    TooLarge { path: String, size: u64, limit: u64 },
    #[error("{path}: its compressed content unpacks to more than the {limit}-byte limit for one record file")]
    UnpacksTooLarge { path: String, limit: u64 },
    #[error("{path}: not a record Sextant reads ({why})")]
    Unrecognized { path: String, why: String },
    #[error("{path}: malformed {format}: {detail}")]
    Malformed {
        path: String,
        format: &'static str,
        detail: String,
    },
    #[error(
        "{path}: this PDF has no text layer (a scanned image?); Sextant does not read images \
         — upload the text report, or a FHIR/C-CDA export"
    )]
    NoTextLayer { path: String },
    #[error(
        "{path}: this PDF is password-protected; save an unprotected copy, or upload the text \
         report or a FHIR/C-CDA export"
    )]
    EncryptedPdf { path: String },
}

pub type Result<T> = std::result::Result<T, RecordsError>;
