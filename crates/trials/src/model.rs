//! What a trial is, whatever format it was read from.

use serde::{Deserialize, Serialize};

/// The record formats Sextant reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// NIH-TrialBench `trials/<NCT>.json` (ClinicalTrials.gov fields,
    /// flattened, with raw eligibility text).
    TrialBench,
    /// NCI Clinical Trials Search API v2 trial document (ordered, already
    /// split criteria; NCIt-coded diseases and biomarkers).
    NciCts,
    /// ClinicalTrials.gov API v2 study (`protocolSection`...).
    CtGov,
}

impl Format {
    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Format::TrialBench => "NIH-TrialBench",
            Format::NciCts => "NCI Clinical Trials Search API v2",
            Format::CtGov => "ClinicalTrials.gov API v2",
        }
    }
}

/// Where a trial record came from and how current it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialSource {
    pub format: Format,
    /// The file or URL it was read from.
    pub origin: String,
    /// The date the record's facts (status, sites) were true, `YYYY-MM-DD`
    /// or `YYYY-MM`: the record's own last-update or verification date, or
    /// the date given at ingest. `None` when nobody said; status and sites
    /// are then shown as "as of an unknown date".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_date: Option<String>,
}

/// Eligibility text as the record gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "shape", content = "value")]
pub enum Eligibility {
    /// One text holding inclusion and exclusion criteria
    /// (ClinicalTrials.gov's `eligibilityCriteria`).
    Text(String),
    /// Criteria already split by the source (NCI CTS `unstructured`), in
    /// the source's order. An item's text may still hold several criteria.
    Listed(Vec<ListedCriterion>),
    /// The record has no criteria.
    None,
}

/// One criterion as a source lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedCriterion {
    pub inclusion: bool,
    pub text: String,
}

/// A place where the trial enrolls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialSite {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Recruitment status at this site, as recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Sexes a trial enrolls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SexEligible {
    All,
    Female,
    Male,
}

/// A biomarker a source codes for the trial (NCI CTS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodedBiomarker {
    pub name: String,
    /// `inclusion` or `exclusion`, as the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criterion: Option<String>,
    /// NCIt concept id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// A clinical trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// The NCT number when the record has one, else the source's id.
    pub id: String,
    /// Other ids (`NCI-2014-01507`, protocol ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_ids: Vec<String>,
    pub title: String,
    /// Brief summary, as given (may be truncated upstream).
    #[serde(default)]
    pub summary: String,
    /// Conditions or diseases studied, as named.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Drugs, procedures... tested.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interventions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub biomarkers: Vec<CodedBiomarker>,
    /// `PHASE2`, `Phase I/II`... as recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<String>,
    /// `INTERVENTIONAL`, `OBSERVATIONAL`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study_type: Option<String>,
    /// `TREATMENT`, `DIAGNOSTIC`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Overall recruitment status as recorded (`RECRUITING`, `Active`...),
    /// true as of [`TrialSource::data_date`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<SexEligible>,
    /// Age limits in years.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<f32>,
    pub eligibility: Eligibility,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<TrialSite>,
    /// Where a person can read the registry entry.
    pub url: String,
    pub source: TrialSource,
}

impl Trial {
    /// An empty trial with an id and title, for sources to fill in.
    pub fn new(id: &str, title: &str, source: TrialSource) -> Trial {
        Trial {
            id: id.to_string(),
            other_ids: Vec::new(),
            title: title.to_string(),
            summary: String::new(),
            conditions: Vec::new(),
            interventions: Vec::new(),
            biomarkers: Vec::new(),
            phases: Vec::new(),
            study_type: None,
            purpose: None,
            status: None,
            sex: None,
            min_age: None,
            max_age: None,
            eligibility: Eligibility::None,
            sites: Vec::new(),
            url: registry_url(id),
            source,
        }
    }
}

/// The public page of a trial: ClinicalTrials.gov for NCT numbers, the NCI
/// trial page for NCI ids.
pub fn registry_url(id: &str) -> String {
    if id.starts_with("NCT") {
        format!("https://clinicaltrials.gov/study/{id}")
    } else {
        format!("https://www.cancer.gov/research/participate/clinical-trials-search/v?id={id}")
    }
}

/// Parses an age limit as registries write it ("18 Years", "6 Months",
/// "N/A", "65"). `None` for no limit or what cannot be read.
pub fn parse_age(s: &str) -> Option<f32> {
    let s = s.trim();
    let mut parts = s.split_whitespace();
    let n: f32 = parts.next()?.parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let unit = parts.next().unwrap_or("years").to_ascii_lowercase();
    let years = if unit.starts_with("year") {
        n
    } else if unit.starts_with("month") {
        n / 12.0
    } else if unit.starts_with("week") {
        n / 52.0
    } else if unit.starts_with("day") {
        n / 365.0
    } else if unit.starts_with("hour") || unit.starts_with("minute") {
        0.0
    } else {
        return None;
    };
    Some(years)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(parse_age("18 Years"), Some(18.0));
        assert_eq!(parse_age("6 Months"), Some(0.5));
        assert_eq!(parse_age("N/A"), None);
        assert_eq!(parse_age("65"), Some(65.0));
        assert_eq!(parse_age("-3 Years"), None);
        assert_eq!(parse_age("3 Fortnights"), None);
    }
}
