//! Pages of the corpus and the passages they are cut into.

use serde::{Deserialize, Serialize};

/// Who a page is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Patient,
    HealthProfessional,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Patient => "patient",
            Audience::HealthProfessional => "health_professional",
        }
    }
}

/// What sort of page a passage comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// A PDQ® cancer information summary (patient or health-professional).
    PdqSummary,
    /// A page about one cancer type (overview, causes, diagnosis, treatment...).
    CancerType,
    /// An NCI drug information page.
    Drug,
    /// A page about a side effect of treatment.
    SideEffect,
    /// Coping, feelings, caregiving, survivorship.
    Coping,
    /// Complementary and alternative medicine.
    Cam,
    /// A type of treatment (surgery, chemotherapy, immunotherapy...).
    TreatmentType,
    /// Dictionaries and other reference pages.
    Reference,
    /// Research news and articles (`/research/`): dated, written for the news.
    News,
    Other,
}

impl PageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PageKind::PdqSummary => "pdq_summary",
            PageKind::CancerType => "cancer_type",
            PageKind::Drug => "drug",
            PageKind::SideEffect => "side_effect",
            PageKind::Coping => "coping",
            PageKind::Cam => "cam",
            PageKind::TreatmentType => "treatment_type",
            PageKind::Reference => "reference",
            PageKind::News => "news",
            PageKind::Other => "other",
        }
    }
}

/// One source page of the corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// Canonical URL (https://www.cancer.gov/...).
    pub url: String,
    /// Page title without the " - NCI" suffix.
    pub title: String,
    pub audience: Audience,
    pub kind: PageKind,
    /// Cancer-type ids from [`crate::cancer::CATALOG`], derived from the URL and title.
    pub cancer_types: Vec<String>,
    /// `lastReviewed` from the front matter (YYYY-MM-DD), when present.
    pub last_reviewed: Option<String>,
    /// The file it was read from, relative to the corpus root.
    pub source_path: String,
}

/// A passage: a run of text under one heading, the unit of retrieval and citation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    /// Stable id: a hash of the page URL, section path and text.
    pub id: String,
    /// Index of the page in the knowledge base's page list.
    pub page: u32,
    /// Headings from the page's top heading down to the passage's own.
    pub section_path: Vec<String>,
    /// A URL fragment that scrolls to the passage's section, when one can be derived.
    pub fragment: Option<String>,
    /// Plain text, markup removed; paragraphs separated by blank lines.
    pub text: String,
    /// Glossary term ids (cancer.gov dictionary) linked from the passage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<u32>,
    /// Other pages on which the very same passage text appears (duplicates dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<u32>,
}

impl Passage {
    /// The section path joined the way it is displayed: "A › B › C".
    pub fn section_label(&self) -> String {
        self.section_path.join(" › ")
    }

    /// Number of words in the text.
    pub fn word_count(&self) -> usize {
        self.text.split_whitespace().count()
    }
}
