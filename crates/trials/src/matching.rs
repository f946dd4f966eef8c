//! A trial's criteria judged against a person's profile.
//!
//! Every criterion gets `met`, `not_met` or `unknown`:
//! - `met` and `not_met` always name the profile fact that decided them,
//!   with that fact's sources (file and place in it).
//! - `unknown` says, in plain words, what the records do not say and what
//!   test or record would settle it.
//!
//! Some unknowns are settled at screening by the trial team, whatever the
//! records say: blood counts, pregnancy tests, consent, the dates of the
//! last treatment. They are marked [`CheckedCriterion::screening`] and do
//! not count against a trial.
//!
//! A criterion can touch several categories ("measurable, histologically
//! confirmed HER2-positive breast cancer"). Each category is checked on its
//! own ([`Aspect`]); the criterion is `not_met` when one aspect is,
//! `met` when all are, and `unknown` otherwise. For an exclusion criterion
//! `met` means "this exclusion does not apply to you".
//!
//! Rules err towards `unknown`: a treatment missing from the records is not
//! proof it was never given, so "must have had X" never becomes `not_met`
//! from absence: it is `unknown`, and the reason says what the records do
//! list. A treatment the records do list decides an exclusion of it.

use serde::{Deserialize, Serialize};
use sextant_core::cancer::{self, CancerType, Matching};
use sextant_core::Issue;
use sextant_records::{FactStatus, Profile, Provenance};

use crate::criteria::{self, Category, Criterion};
use crate::model::{SexEligible, Trial};
use crate::vocab::{self, Class, Drug, Marker};

/// The judgement of one criterion or aspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    NotMet,
    Unknown,
}

/// A profile fact that decided a judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The fact in words ("ECOG 0", "spread to liver").
    pub fact: String,
    pub sources: Vec<Provenance>,
}

/// One category of a criterion, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aspect {
    pub category: Category,
    pub status: Status,
    /// Why, in plain words addressed to the person.
    pub reason: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// For `unknown`: the test or record that would settle it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle: Option<String>,
    /// Settled by the trial team at screening, not by records.
    #[serde(default)]
    pub screening: bool,
}

/// A criterion with its judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedCriterion {
    pub criterion: Criterion,
    pub status: Status,
    /// The deciding aspect's reason.
    pub reason: String,
    pub aspects: Vec<Aspect>,
    /// Every unknown aspect is settled at screening.
    pub screening: bool,
    /// The criterion is for people with other cancers (a basket trial's
    /// other cohorts); it neither counts for nor against.
    #[serde(default)]
    pub other_group: bool,
}

/// The overall judgement of a trial for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    LikelyEligible,
    Possibly,
    LikelyExcluded,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::LikelyEligible => "likely eligible",
            Verdict::Possibly => "possibly eligible",
            Verdict::LikelyExcluded => "likely excluded",
        }
    }
}

/// A trial judged for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialMatch {
    pub trial_id: String,
    pub title: String,
    pub url: String,
    /// The brief summary's opening, cleaned.
    pub summary: String,
    /// The phase in words ("Phase 2: does the treatment work?").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Recruitment status as recorded, true as of [`TrialMatch::as_of`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// "as of 2025-07-31", or "as of an unknown date".
    pub as_of: String,
    pub conditions: Vec<String>,
    /// Where it enrolls, as recorded (at most [`MAX_SITES_SHOWN`]), true as
    /// of [`TrialMatch::as_of`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<String>,
    /// How many sites the record lists in all.
    #[serde(default)]
    pub site_count: usize,
    pub verdict: Verdict,
    /// Why that verdict, most important first.
    pub reasons: Vec<String>,
    /// The cohort whose criteria were used, when the trial has cohorts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_cohorts: Vec<String>,
    pub checklist: Vec<CheckedCriterion>,
    pub met: usize,
    pub not_met: usize,
    pub unknown: usize,
    /// Tests or records that would settle the unknowns, de-duplicated.
    pub to_settle: Vec<String>,
    pub questions: Vec<String>,
    /// How closely the trial is about the person's cancer.
    pub relevance: f32,
    /// How well the person fits the criteria.
    pub fit: f32,
    /// The ranking score: relevance + fit + text similarity.
    pub score: f32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
}

/// Sites listed with a match; the rest are counted.
pub const MAX_SITES_SHOWN: usize = 10;

/// A site in words: "Name, City, State, Country (recruiting)".
fn site_words(s: &crate::model::TrialSite) -> String {
    let mut parts = vec![s.name.clone()];
    parts.extend(
        [&s.city, &s.state, &s.country]
            .into_iter()
            .flatten()
            .cloned(),
    );
    let mut w = parts.join(", ");
    if let Some(st) = &s.status {
        w.push_str(&format!(" ({})", st.to_lowercase().replace('_', " ")));
    }
    w
}

/// What the matcher needs from a profile, read once.
pub struct Person {
    cancers: Vec<(String, Vec<&'static CancerType>, Vec<Provenance>)>,
    types: Vec<&'static str>,
    histology: Vec<String>,
    metastatic: Option<Evidence>,
    early: Option<Evidence>,
    age: Option<(f32, Evidence)>,
    sex: Option<(String, Evidence)>,
    ecog: Option<(u8, Evidence)>,
    karnofsky: Option<(u8, Evidence)>,
    drugs: Vec<(&'static Drug, Evidence)>,
    other_treatments: Vec<Evidence>,
    markers: Vec<(String, String, Evidence)>,
    brain: Option<Evidence>,
    regimens: usize,
}

fn live(s: FactStatus) -> bool {
    s != FactStatus::Removed
}

/// Cancer types named in a text, including "carcinoma" spelled where the
/// catalog says "cancer" ("cervical carcinoma").
pub fn types_in(text: &str) -> Vec<&'static CancerType> {
    let mut out = cancer::detect(text, Matching::Exact);
    let lower = text.to_lowercase();
    let normalized = [
        "adenocarcinoma",
        "carcinomas",
        "carcinoma",
        "neoplasms",
        "neoplasm",
        "malignancies",
        "malignancy",
        "tumours",
        "tumors",
        "tumour",
        "tumor",
    ]
    .iter()
    .fold(lower, |t, w| t.replace(w, "cancer"));
    for t in cancer::detect(&normalized, Matching::Exact) {
        if !out.iter().any(|o| o.id == t.id) {
            out.push(t);
        }
    }
    // "Small cell carcinoma of the bladder": the organ after "of (the)".
    let words: Vec<&str> = normalized
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut organs_of: Vec<&str> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if *w != "cancer" || words.get(i + 1) != Some(&"of") {
            continue;
        }
        let at = if words.get(i + 2) == Some(&"the") {
            i + 3
        } else {
            i + 2
        };
        if let Some(organ) = words.get(at) {
            for t in cancer::detect(&format!("{organ} cancer"), Matching::Exact) {
                organs_of.push(organ);
                if !out.iter().any(|o| o.id == t.id) {
                    out.push(t);
                }
            }
        }
    }
    // A neuroendocrine or small cell cancer of a named organ outside the
    // gut is that organ's, not a gastrointestinal neuroendocrine tumor.
    if !organs_of.is_empty()
        && !organs_of.iter().any(|o| GUT.contains(o))
        && (normalized.contains("neuroendocrine") || normalized.contains("small cell"))
    {
        out.retain(|t| t.id != "gi-neuroendocrine");
    }
    // "Liver metastases" is a place the cancer spread to, not liver cancer.
    if normalized.contains("metasta") || normalized.contains(" mets") {
        let primary = [
            "hepatocellular",
            "primary liver",
            "cholangio",
            "osteosarcoma",
            "primary bone",
            "glioma",
            "glioblastoma",
            "primary brain",
            "ewing",
        ];
        if !primary.iter().any(|w| normalized.contains(w)) {
            out.retain(|t| !matches!(t.id, "liver" | "bone" | "brain"));
        }
    }
    // Families trials name as one ("HPV-associated cancers").
    for (phrase, ids) in GROUPS {
        if normalized.contains(phrase) {
            for id in *ids {
                if let Some(t) = cancer::by_id(id) {
                    if !out.iter().any(|o| o.id == t.id) {
                        out.push(t);
                    }
                }
            }
        }
    }
    out
}

/// Organs of the gut, where a neuroendocrine tumor is the catalog's
/// gastrointestinal one.
const GUT: &[&str] = &[
    "stomach",
    "gastric",
    "small",
    "intestine",
    "intestinal",
    "bowel",
    "colon",
    "rectum",
    "rectal",
    "appendix",
    "pancreas",
    "pancreatic",
    "duodenum",
    "ileum",
    "jejunum",
];

/// Cancer families by the types they hold.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "hpv associated",
        &[
            "cervical",
            "oropharyngeal",
            "anal",
            "vulvar",
            "vaginal",
            "penile",
        ],
    ),
    (
        "hpv-associated",
        &[
            "cervical",
            "oropharyngeal",
            "anal",
            "vulvar",
            "vaginal",
            "penile",
        ],
    ),
    (
        "hpv-related",
        &[
            "cervical",
            "oropharyngeal",
            "anal",
            "vulvar",
            "vaginal",
            "penile",
        ],
    ),
    (
        "hpv positive cancer",
        &[
            "cervical",
            "oropharyngeal",
            "anal",
            "vulvar",
            "vaginal",
            "penile",
        ],
    ),
    (
        "gynecologic",
        &["ovarian", "cervical", "uterine", "vulvar", "vaginal"],
    ),
    (
        "gynaecologic",
        &["ovarian", "cervical", "uterine", "vulvar", "vaginal"],
    ),
    (
        "female reproductive",
        &["ovarian", "cervical", "uterine", "vulvar", "vaginal"],
    ),
    (
        "genitourinary",
        &[
            "bladder",
            "kidney",
            "prostate",
            "testicular",
            "penile",
            "urethral",
        ],
    ),
    ("urothelial", &["bladder"]),
    (
        "head and neck",
        &[
            "oral",
            "laryngeal",
            "hypopharyngeal",
            "oropharyngeal",
            "nasopharyngeal",
        ],
    ),
    (
        "gastrointestinal cancer",
        &[
            "colorectal",
            "anal",
            "stomach",
            "esophageal",
            "pancreatic",
            "liver",
            "gallbladder",
        ],
    ),
    ("thoracic", &["lung", "mesothelioma", "thymoma"]),
];

fn with_parents(types: &[&'static CancerType]) -> Vec<&'static str> {
    let mut out = Vec::new();
    for t in types {
        out.push(t.id);
        if let Some(p) = t.parent {
            out.push(p);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

const HEME: &[&str] = &[
    "leukemia",
    "all",
    "aml",
    "cll",
    "cml",
    "hodgkin",
    "nhl",
    "myeloma",
    "myeloproliferative",
    "langerhans",
];

const HISTOLOGIES: &[&str] = &[
    "squamous",
    "adenocarcinoma",
    "serous",
    "endometrioid",
    "clear cell",
    "small cell",
    "non-small cell",
    "neuroendocrine",
    "urothelial",
    "ductal",
    "lobular",
    "mucinous",
    "carcinosarcoma",
    "hepatocellular",
    "cholangiocarcinoma",
    "melanoma",
    "sarcoma",
    "glioblastoma",
    "triple-negative",
    "triple negative",
];

impl Person {
    /// Reads the facts matching needs. `today_year` turns a birth date into
    /// an age when no age is recorded.
    pub fn from_profile(p: &Profile, today_year: i32) -> Person {
        let mut cancers = Vec::new();
        let mut histology = Vec::new();
        for f in p.primary_cancers.iter().filter(|f| live(f.status)) {
            let c = &f.value;
            let words = format!(
                "{} {} {}",
                c.name,
                c.histology.clone().unwrap_or_default(),
                c.site.clone().unwrap_or_default()
            );
            let mut types: Vec<&'static CancerType> = c
                .type_id
                .as_deref()
                .and_then(cancer::by_id)
                .into_iter()
                .collect();
            for t in types_in(&words) {
                if !types.iter().any(|x| x.id == t.id) {
                    types.push(t);
                }
            }
            let lw = words.to_lowercase();
            for h in HISTOLOGIES {
                if lw.contains(h) && !histology.contains(&h.to_string()) {
                    histology.push(h.to_string());
                }
            }
            cancers.push((c.name.clone(), types, f.provenance.clone()));
        }
        let all: Vec<&'static CancerType> =
            cancers.iter().flat_map(|c| c.1.iter().copied()).collect();
        let types = with_parents(&all);
        let sites: Vec<_> = p
            .metastatic_sites
            .iter()
            .filter(|f| live(f.status))
            .collect();
        let brain = sites
            .iter()
            .find(|f| {
                let n = f.value.name.to_lowercase();
                [
                    "brain",
                    "cns",
                    "central nervous",
                    "leptomening",
                    "intracranial",
                    "cerebr",
                ]
                .iter()
                .any(|w| n.contains(w))
            })
            .map(|f| Evidence {
                fact: format!("spread to the {}", f.value.name),
                sources: f.provenance.clone(),
            });
        let stage4 = p.stages.iter().filter(|f| live(f.status)).find(|f| {
            f.value
                .group
                .as_deref()
                .is_some_and(|g| g.starts_with("IV"))
                || f.value.m.as_deref().is_some_and(|m| m.contains("M1"))
        });
        let metastatic = if !sites.is_empty() {
            let names: Vec<&str> = sites.iter().map(|f| f.value.name.as_str()).collect();
            Some(Evidence {
                fact: format!("spread to {}", names.join(", ")),
                sources: sites.iter().flat_map(|f| f.provenance.clone()).collect(),
            })
        } else if let Some(f) = stage4 {
            Some(Evidence {
                fact: format!("stage {}", stage_words(&f.value)),
                sources: f.provenance.clone(),
            })
        } else {
            p.primary_cancers
                .iter()
                .filter(|f| live(f.status))
                .find(|f| f.value.name.to_lowercase().contains("metastatic"))
                .map(|f| Evidence {
                    fact: f.value.name.clone(),
                    sources: f.provenance.clone(),
                })
        };
        let early = if metastatic.is_none() {
            p.stages
                .iter()
                .filter(|f| live(f.status))
                .find(|f| {
                    f.value
                        .group
                        .as_deref()
                        .is_some_and(|g| g.starts_with('I') && !g.starts_with("IV"))
                })
                .map(|f| Evidence {
                    fact: format!("stage {}", stage_words(&f.value)),
                    sources: f.provenance.clone(),
                })
        } else {
            None
        };
        let age = p
            .age
            .iter()
            .find(|f| live(f.status))
            .map(|f| {
                (
                    f.value as f32,
                    Evidence {
                        fact: format!("age {}", f.value),
                        sources: f.provenance.clone(),
                    },
                )
            })
            .or_else(|| {
                p.birth_date.iter().find(|f| live(f.status)).and_then(|f| {
                    let y: i32 = f.value.get(..4)?.parse().ok()?;
                    let age = today_year - y;
                    (0..=120).contains(&age).then(|| {
                        (
                            age as f32,
                            Evidence {
                                fact: format!("born {} (about {age} years old)", f.value),
                                sources: f.provenance.clone(),
                            },
                        )
                    })
                })
            });
        let sex = p
            .sex
            .iter()
            .find(|f| live(f.status) && matches!(f.value.as_str(), "female" | "male"))
            .map(|f| {
                (
                    f.value.clone(),
                    Evidence {
                        fact: format!("sex {}", f.value),
                        sources: f.provenance.clone(),
                    },
                )
            });
        let mut ecog = None;
        let mut karnofsky = None;
        for f in p.performance.iter().filter(|f| live(f.status)) {
            let digits: String = f
                .value
                .value
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '-')
                .collect();
            // "0-1": the worse value counts.
            let v: Option<u8> = digits.split('-').filter_map(|d| d.parse().ok()).max();
            let Some(v) = v else { continue };
            let ev = Evidence {
                fact: format!("{} {}", f.value.scale, f.value.value),
                sources: f.provenance.clone(),
            };
            if f.value.scale.eq_ignore_ascii_case("ecog") && v <= 5 && ecog.is_none() {
                ecog = Some((v, ev));
            } else if f.value.scale.to_lowercase().starts_with("karnofsky")
                && v <= 100
                && karnofsky.is_none()
            {
                karnofsky = Some((v, ev));
            }
        }
        let mut drugs: Vec<(&'static Drug, Evidence)> = Vec::new();
        let mut other_treatments = Vec::new();
        let mut starts = Vec::new();
        for f in p.treatments.iter().filter(|f| live(f.status)) {
            let t = &f.value;
            let found = vocab::drug(&t.name)
                .map(|d| vec![d])
                .unwrap_or_else(|| vocab::drugs_in(&t.name));
            let ev = Evidence {
                fact: format!("treatment: {}", t.name),
                sources: f.provenance.clone(),
            };
            if found.is_empty() {
                other_treatments.push(ev);
                continue;
            }
            if let Some(s) = &t.start {
                starts.push(s.clone());
            }
            for d in found {
                if !drugs.iter().any(|(x, _)| x.name == d.name) {
                    drugs.push((d, ev.clone()));
                }
            }
        }
        starts.sort();
        starts.dedup();
        // Regimens: distinct start dates when recorded, else drugs given
        // together counted once (about two drugs a regimen).
        let regimens = if starts.len() >= 2 {
            starts.len()
        } else {
            drugs.len().div_ceil(2)
        };
        let markers = p
            .biomarkers
            .iter()
            .filter(|f| live(f.status))
            .map(|f| {
                let b = &f.value;
                let mut result = b.result.clone();
                if let Some(v) = &b.variant {
                    result = format!("{result} ({v})");
                }
                if let Some(d) = &b.detail {
                    result = format!("{result}, {d}");
                }
                (
                    b.name.clone(),
                    result.clone(),
                    Evidence {
                        fact: format!("{} {}", b.name, result),
                        sources: f.provenance.clone(),
                    },
                )
            })
            .collect();
        Person {
            cancers,
            types,
            histology,
            metastatic,
            early,
            age,
            sex,
            ecog,
            karnofsky,
            drugs,
            other_treatments,
            markers,
            brain,
            regimens,
        }
    }

    fn cancer_words(&self) -> String {
        let names: Vec<String> = self
            .cancers
            .iter()
            .map(|(n, types, _)| match types.first() {
                Some(t)
                    if !n
                        .to_lowercase()
                        .contains(&t.name.to_lowercase().replace(" cancer", "")) =>
                {
                    format!("{n} ({})", t.name)
                }
                _ => n.clone(),
            })
            .collect();
        names.join(" and ")
    }

    fn cancer_evidence(&self) -> Vec<Evidence> {
        self.cancers
            .iter()
            .map(|(n, _, p)| Evidence {
                fact: n.clone(),
                sources: p.clone(),
            })
            .collect()
    }

    fn has_treatment_history(&self) -> bool {
        !self.drugs.is_empty() || !self.other_treatments.is_empty()
    }

    fn drugs_of(
        &self,
        classes: &[Class],
        named: &[&'static Drug],
    ) -> Vec<&(&'static Drug, Evidence)> {
        self.drugs
            .iter()
            .filter(|(d, _)| {
                named.iter().any(|n| n.name == d.name)
                    || d.classes.iter().any(|c| classes.contains(c))
            })
            .collect()
    }

    /// A words-only list of what the records hold, for a search query.
    pub fn query_text(&self) -> String {
        let mut q = Vec::new();
        for (n, types, _) in &self.cancers {
            q.push(n.clone());
            for t in types {
                q.push(t.name.to_string());
            }
        }
        q.extend(self.histology.iter().cloned());
        if self.metastatic.is_some() {
            q.push("metastatic advanced".into());
        }
        for (n, r, _) in &self.markers {
            if positive(r) == Some(true) {
                q.push(n.clone());
            }
        }
        for (d, _) in &self.drugs {
            q.push(d.name.to_string());
        }
        q.join(" ")
    }
}

fn stage_words(s: &sextant_records::Stage) -> String {
    let mut parts = Vec::new();
    if let Some(g) = &s.group {
        parts.push(g.clone());
    }
    for x in [&s.t, &s.n, &s.m].into_iter().flatten() {
        parts.push(x.clone());
    }
    parts.join(" ")
}

/// Is a recorded result positive (true), negative (false) or neither?
fn positive(result: &str) -> Option<bool> {
    let r = result.to_lowercase();
    let first = r.split([',', '(']).next().unwrap_or("").trim();
    if [
        "negative",
        "absent",
        "not detected",
        "wild-type",
        "wild type",
        "stable",
        "proficient",
        "intact",
        "retained",
        "low",
        "0",
        "not amplified",
        "normal",
    ]
    .iter()
    .any(|w| first.starts_with(w))
    {
        return Some(false);
    }
    if [
        "positive",
        "present",
        "detected",
        "high",
        "deficient",
        "amplified",
        "mutated",
        "mutation",
        "3+",
        "loss",
        "lost",
    ]
    .iter()
    .any(|w| first.starts_with(w))
    {
        return Some(true);
    }
    if first.starts_with("1+") || first.starts_with("2+") {
        return Some(false);
    }
    // A number (PD-L1 CPS 10, 30%) above zero is an expression.
    let num: String = first
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.parse::<f32>().ok().map(|v| v > 0.0)
}

fn number_in(result: &str) -> Option<f32> {
    let num: String = result
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.parse().ok()
}

// ---------------------------------------------------------------------
// Number patterns shared with classification.

/// The ages an age rule describes: inside `min..=max`, or, for "younger
/// than 8 or older than 80", outside it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeRule {
    pub min: Option<f32>,
    pub max: Option<f32>,
    /// "under 18", "< 18": the maximum itself is not in the set.
    pub max_strict: bool,
    /// The set is the ages below `max` or above `min` (`max < min`).
    pub outside: bool,
}

impl AgeRule {
    /// Whether an age in whole years is in the set the rule describes.
    pub fn contains(&self, age: f32) -> bool {
        let above_min = self.min.is_none_or(|m| age >= m);
        let below_max = self
            .max
            .is_none_or(|m| if self.max_strict { age < m } else { age <= m });
        if self.outside {
            // min > max here: "under 8 or over 80".
            let low = self
                .max
                .is_some_and(|m| if self.max_strict { age < m } else { age <= m });
            let high = self.min.is_some_and(|m| age > m);
            low || high
        } else {
            above_min && below_max
        }
    }

    /// The set in words: "18 or older", "18–74 years", "under 18",
    /// "under 8 or over 80".
    pub fn words(&self) -> String {
        let under = |m: f32| {
            if self.max_strict {
                format!("under {m}")
            } else {
                format!("{m} or younger")
            }
        };
        match (self.min, self.max, self.outside) {
            (Some(a), Some(b), true) => format!("{} or over {a}", under(b)),
            (Some(a), Some(b), false) => format!("{a}–{b} years"),
            (Some(a), None, _) => format!("{a} or older"),
            (None, Some(b), _) => under(b),
            (None, None, _) => String::new(),
        }
    }
}

/// The age rule a criterion states ("18 years of age or older", "aged 18
/// to 75", "age >= 18", "age less than 8 or greater than 80"), or `None`
/// when it states none or its ages are about someone else (a donor, the
/// parents who consent for a child).
pub fn age_limits(text: &str) -> Option<AgeRule> {
    // The first statement only: "... >= 18 years of age. Because ... in
    // patients < 18 years ..." explains the limit, it does not add one.
    let first = sextant_core::text::sentences(text)
        .first()
        .copied()
        .unwrap_or(text);
    let mut l = first.to_lowercase();
    if let Some(i) = l.find("because") {
        l.truncate(i);
    }
    let age_word = vocab::has_word(&l, "age")
        || vocab::has_word(&l, "aged")
        || vocab::has_word(&l, "ages")
        || l.contains("years old")
        || l.contains("year old")
        || l.contains("year-old")
        || l.contains("years of age");
    if !age_word {
        return None;
    }
    // Ages of a donor, or of children whose parents consent for them.
    if contains_any(&l, &["donor", "guardian", "parent", "assent"]) {
        return None;
    }
    let toks = simple_tokens(&l);
    let num = |j: usize| {
        toks.get(j)
            .and_then(|t| t.parse::<f32>().ok())
            .filter(|n| (0.0..=120.0).contains(n))
    };
    let mut min: Option<f32> = None;
    let mut max: Option<f32> = None;
    let mut max_strict = false;
    // Which came first, for "under 8 or over 80" against ">= 18 ...
    // under the age of 18".
    let mut max_first = false;
    for (i, t) in toks.iter().enumerate() {
        let Some(n) = num(i) else { continue };
        if !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
            continue;
        }
        let next = toks.get(i + 1).map(String::as_str).unwrap_or("");
        let prev = |k: usize| {
            i.checked_sub(k)
                .and_then(|j| toks.get(j))
                .map(String::as_str)
        };
        let near_age = (1..=4).any(|k| matches!(prev(k), Some("age" | "aged" | "ages")));
        let yearsish = |w: &str| w.starts_with("year") || w == "yrs" || w == "yo";
        // "between 18 and 75", "18-75 years", "18 to 75", "ages 10 to 75".
        if matches!(next, "to" | "-" | "and" | "through") {
            if let Some(m) = num(i + 2).filter(|m| *m > n) {
                let after_m = toks.get(i + 3).map(String::as_str).unwrap_or("");
                if near_age || yearsish(after_m) || prev(1) == Some("between") {
                    return Some(AgeRule {
                        min: Some(n),
                        max: Some(m),
                        max_strict: false,
                        outside: false,
                    });
                }
            }
        }
        if !yearsish(next) && !near_age {
            continue;
        }
        // Durations ("within 5 years", "for 3 years") are not ages.
        if matches!(prev(1), Some("within" | "for" | "past" | "last")) && !near_age {
            continue;
        }
        let before: Vec<&str> = (1..=3).filter_map(prev).collect();
        let after: Vec<&str> = toks[i + 1..toks.len().min(i + 7)]
            .iter()
            .map(String::as_str)
            .collect();
        let after_s = after.join(" ");
        let is_min = before
            .iter()
            .any(|b| matches!(*b, ">=" | ">" | "least" | "over" | "minimum" | "above"))
            || before.windows(2).any(|w| w == ["than", "older"])
            || contains_any(
                &after_s,
                &[
                    "or older",
                    "and older",
                    "or over",
                    "or above",
                    "and above",
                    "or more",
                    "or greater",
                ],
            );
        let strict = before
            .iter()
            .any(|b| matches!(*b, "<" | "under" | "below" | "younger"))
            || before.windows(2).any(|w| w == ["than", "younger"]);
        let is_max = strict
            || before.iter().any(|b| matches!(*b, "<=" | "maximum"))
            || contains_any(&after_s, &["or younger", "or less", "or under"]);
        if is_max && !is_min {
            if max.is_none() {
                max = Some(n);
                max_strict = strict;
                max_first = min.is_none();
            }
        } else if min.is_none() {
            min = Some(n);
        }
    }
    let (min, max) = match (min, max) {
        // "younger than 8 or older than 80": the ages outside 8..80.
        (Some(a), Some(b)) if b <= a && max_first => {
            return Some(AgeRule {
                min: Some(a),
                max: Some(b),
                max_strict,
                outside: true,
            })
        }
        // ">= 18 ... under the age of 18": the second restates the first.
        (Some(a), Some(b)) if b <= a => (Some(a), None),
        other => other,
    };
    if min.is_none() && max.is_none() {
        return None;
    }
    Some(AgeRule {
        min,
        max,
        max_strict: max_strict && max.is_some(),
        outside: false,
    })
}

/// Comparison words as signs ("less than or equal to 2" → "<= 2").
fn normalize_ops(l: &str) -> String {
    let mut s = l.to_lowercase();
    for (from, to) in [
        ("less than or equal to", "<="),
        ("greater than or equal to", ">="),
        ("equal to or less than", "<="),
        ("equal to or greater than", ">="),
        ("equal or less than", "<="),
        ("equal or greater than", ">="),
        ("no more than", "<="),
        ("not more than", "<="),
        ("no greater than", "<="),
        ("at most", "<="),
        ("less than", "<"),
        ("greater than", ">"),
        ("more than", ">"),
        ("=<", "<="),
        ("=>", ">="),
    ] {
        s = s.replace(from, to);
    }
    s
}

/// Lower-case tokens: words, numbers and comparison signs.
fn simple_tokens(l: &str) -> Vec<String> {
    let l = &normalize_ops(l);
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = l.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric()
            || (c == '.' && !cur.is_empty() && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit()))
        {
            cur.push(c);
        } else {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            match c {
                '>' | '<' | '=' | '≥' | '≤' => {
                    let op = match (c, chars.get(i + 1)) {
                        ('>', Some('=')) | ('≥', _) => ">=",
                        ('<', Some('=')) | ('≤', _) => "<=",
                        ('>', _) => ">",
                        ('<', _) => "<",
                        _ => "=",
                    };
                    if matches!((c, chars.get(i + 1)), ('>' | '<', Some('='))) {
                        i += 1;
                    }
                    out.push(op.to_string());
                }
                '-' | '+' | '%' | '/' => out.push(c.to_string()),
                _ => {}
            }
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// ECOG values a criterion allows (`0..=1` for "ECOG 0-1").
fn ecog_allowed(text: &str) -> Option<(u8, u8)> {
    let l = text.to_lowercase();
    let at = [
        "ecog",
        "zubrod",
        "who performance",
        "performance status",
        "who ps",
    ]
    .iter()
    .filter_map(|k| l.find(k).map(|i| i + k.len()))
    .min()?;
    let window: String = normalize_ops(&l[at..]).chars().take(70).collect();
    if window.trim_start().starts_with("karnofsky") {
        return None;
    }
    let toks = simple_tokens(&window);
    let mut nums = Vec::new();
    let mut op: Option<&str> = None;
    for (i, t) in toks.iter().enumerate() {
        if matches!(t.as_str(), ">=" | "<=" | "<" | ">") && nums.is_empty() {
            op = Some(match t.as_str() {
                ">=" => ">=",
                "<=" => "<=",
                "<" => "<",
                _ => ">",
            });
        }
        if let Ok(v) = t.parse::<u8>() {
            if v > 5 || t.len() > 1 {
                break;
            }
            // "1 or less", "2 or better"
            let next2 = toks[i + 1..toks.len().min(i + 3)].join(" ");
            if next2.starts_with("or less")
                || next2.starts_with("or lower")
                || next2.starts_with("or better")
            {
                op = Some("<=");
            }
            if next2.starts_with("or more")
                || next2.starts_with("or higher")
                || next2.starts_with("or greater")
            {
                op = Some(">=");
            }
            nums.push(v);
            if nums.len() >= 4 {
                break;
            }
        } else if (!nums.is_empty() && !matches!(t.as_str(), "-" | "to" | "or" | "and" | "," | "/"))
            || (nums.is_empty() && matches!(t.as_str(), "karnofsky" | "kps" | "lansky"))
        {
            break;
        }
    }
    let (lo, hi) = (*nums.iter().min()?, *nums.iter().max()?);
    Some(match op {
        Some("<=") => (0, hi),
        Some("<") => (0, hi.saturating_sub(1)),
        Some(">=") => (lo, 5),
        Some(">") => (lo + 1, 5),
        _ => (lo, hi),
    })
}

/// The lowest Karnofsky score a criterion allows.
fn karnofsky_min(text: &str) -> Option<u8> {
    let l = text.to_lowercase();
    let at = ["karnofsky", "kps", "lansky"]
        .iter()
        .filter_map(|k| l.find(k).map(|i| i + k.len()))
        .min()?;
    let window: String = l[at..].chars().take(60).collect();
    simple_tokens(&window)
        .iter()
        .filter_map(|t| t.parse::<u8>().ok())
        .find(|v| (10..=100).contains(v))
}

/// ECOG range matching a Karnofsky score (KPS 80 is ECOG 1).
fn ecog_of_karnofsky(k: u8) -> u8 {
    match k {
        90..=100 => 0,
        70..=89 => 1,
        50..=69 => 2,
        30..=49 => 3,
        _ => 4,
    }
}

// ---------------------------------------------------------------------
// Aspect checks.

fn aspect(category: Category, status: Status, reason: impl Into<String>) -> Aspect {
    Aspect {
        category,
        status,
        reason: reason.into(),
        evidence: Vec::new(),
        settle: None,
        screening: false,
    }
}

impl Aspect {
    fn with(mut self, ev: Vec<Evidence>) -> Aspect {
        self.evidence = ev;
        self
    }
    fn settle(mut self, s: impl Into<String>) -> Aspect {
        self.settle = Some(s.into());
        self
    }
    fn screening(mut self) -> Aspect {
        self.screening = true;
        self
    }
}

fn negated_requirement(l: &str) -> bool {
    contains_any(
        l,
        &[
            "no prior",
            "no previous",
            "no history of",
            "not have received",
            "not have been treated",
            "not been treated",
            "not received",
            "not previously",
            "must not",
            "without prior",
            "without previous",
            "naive",
            "naïve",
            "untreated",
            "not be eligible for",
            "not allowed",
            "not permitted",
            "are excluded",
            "is excluded",
            "are not eligible",
            "is not eligible",
            "ineligible",
            "no known",
            "no active",
            "no evidence of",
            "do not have",
            "does not have",
        ],
    ) || l.starts_with("no ")
}

/// Checks one category of a criterion. `inclusion` is the criterion's side,
/// already flipped for negated inclusions ("no prior X" reads as excluding X).
fn check(cat: Category, text: &str, inclusion: bool, person: &Person) -> Aspect {
    match cat {
        Category::Age => check_age(text, inclusion, person),
        Category::Sex => aspect(
            cat,
            Status::Unknown,
            "The trial team checks this at screening.",
        )
        .screening(),
        Category::Performance => check_performance(text, inclusion, person),
        Category::CancerType => check_cancer(text, inclusion, person),
        Category::Stage => check_stage(text, inclusion, person),
        Category::Biomarker => check_markers(text, inclusion, person),
        Category::PriorTherapy => check_therapy(text, inclusion, person),
        Category::BrainMetastases => check_brain(text, inclusion, person),
        Category::Pregnancy => aspect(
            cat,
            Status::Unknown,
            "The trial team will ask about pregnancy, breastfeeding and birth control.",
        )
        .settle("a pregnancy test at screening, for anyone who could become pregnant")
        .screening(),
        Category::OrganFunction => {
            let l = text.to_lowercase();
            let settle = if l.contains("lvef") || l.contains("ejection fraction") {
                "a heart ultrasound (echocardiogram) or MUGA scan"
            } else if l.contains("qtc") {
                "an ECG (heart tracing)"
            } else {
                "recent blood tests (blood counts, liver and kidney function)"
            };
            aspect(
                cat,
                Status::Unknown,
                "Your records do not include the lab results this needs; the trial team checks them at screening.",
            )
            .settle(settle)
            .screening()
        }
        Category::Other => {
            let l = text.to_lowercase();
            let reason = if l.contains("consent") || l.contains("willing") || l.contains("able to")
            {
                "This is about your consent and ability to take part; you can answer it."
            } else {
                "Your records do not say; the trial team checks this at screening."
            };
            aspect(cat, Status::Unknown, reason).screening()
        }
    }
}

fn check_age(text: &str, inclusion: bool, person: &Person) -> Aspect {
    let cat = Category::Age;
    let Some(rule) = age_limits(text) else {
        return aspect(
            cat,
            Status::Unknown,
            "The trial team checks age at screening.",
        )
        .screening();
    };
    let Some((age, ev)) = &person.age else {
        return aspect(cat, Status::Unknown, "Your records do not say your age.")
            .settle("your date of birth");
    };
    let ages = rule.words();
    let inside = rule.contains(*age);
    if inclusion {
        let status = if inside { Status::Met } else { Status::NotMet };
        return aspect(
            cat,
            status,
            format!("Your records say {}; the trial asks for {ages}.", ev.fact),
        )
        .with(vec![ev.clone()]);
    }
    if !inside {
        return aspect(
            cat,
            Status::Met,
            format!(
                "Your records say {}; the trial excludes people {ages}.",
                ev.fact
            ),
        )
        .with(vec![ev.clone()]);
    }
    // "Patients < 18 years old who have hepatitis B": the age alone does
    // not exclude.
    let l = text.to_lowercase();
    if contains_any(&l, &[" who ", " with ", " whose ", " if ", ","]) {
        return aspect(
            cat,
            Status::Unknown,
            format!(
                "Your records say {}; the trial excludes some people {ages}, depending on the rest of this rule.",
                ev.fact
            ),
        )
        .with(vec![ev.clone()]);
    }
    aspect(
        cat,
        Status::NotMet,
        format!(
            "Your records say {}; the trial excludes people {ages}.",
            ev.fact
        ),
    )
    .with(vec![ev.clone()])
}

fn check_performance(text: &str, inclusion: bool, person: &Person) -> Aspect {
    let cat = Category::Performance;
    let settle = "your care team's note of your performance status (ECOG), a measure of how active you are day to day";
    let lower = text.to_lowercase();
    if lower.contains("recover") || lower.contains("surg") {
        return aspect(cat, Status::Unknown, "This is about recovery from a recent treatment; the trial team checks it at screening.").screening();
    }
    if let Some((lo, hi)) = ecog_allowed(text) {
        let (value, ev, note) = match (&person.ecog, &person.karnofsky) {
            (Some((v, ev)), _) => (*v, ev, String::new()),
            (None, Some((k, ev))) => (
                ecog_of_karnofsky(*k),
                ev,
                format!(" (Karnofsky {k} is about ECOG {})", ecog_of_karnofsky(*k)),
            ),
            (None, None) => {
                return aspect(
                    cat,
                    Status::Unknown,
                    "Your records do not state your performance status (ECOG).",
                )
                .settle(settle)
            }
        };
        let inside = (lo..=hi).contains(&value);
        let ok = inside == inclusion;
        let range = if lo == hi {
            format!("{lo}")
        } else {
            format!("{lo}–{hi}")
        };
        let reason = format!(
            "Your records say {}{note}; the trial {} ECOG {range}.",
            ev.fact,
            if inclusion { "asks for" } else { "excludes" }
        );
        return aspect(cat, if ok { Status::Met } else { Status::NotMet }, reason)
            .with(vec![ev.clone()]);
    }
    if let Some(min) = karnofsky_min(text) {
        let (range, ev) = match (&person.karnofsky, &person.ecog) {
            (Some((k, ev)), _) => ((*k, *k), ev),
            (None, Some((e, ev))) => {
                let r = match e {
                    0 => (90, 100),
                    1 => (70, 80),
                    2 => (50, 60),
                    3 => (30, 40),
                    _ => (10, 20),
                };
                (r, ev)
            }
            (None, None) => {
                return aspect(
                    cat,
                    Status::Unknown,
                    "Your records do not state your performance status.",
                )
                .settle(settle)
            }
        };
        let reason = format!(
            "Your records say {}; the trial asks for Karnofsky {min} or more.",
            ev.fact
        );
        let status = if range.0 >= min {
            Status::Met
        } else if range.1 < min {
            Status::NotMet
        } else {
            Status::Unknown
        };
        let status = if inclusion { status } else { flip(status) };
        return aspect(cat, status, reason).with(vec![ev.clone()]);
    }
    aspect(
        cat,
        Status::Unknown,
        "The trial team judges how active you are at screening.",
    )
    .screening()
}

fn flip(s: Status) -> Status {
    match s {
        Status::Met => Status::NotMet,
        Status::NotMet => Status::Met,
        Status::Unknown => Status::Unknown,
    }
}

/// Whether a lower-case text contains any of the words or word parts.
fn contains_any(lower: &str, words: &[&str]) -> bool {
    words.iter().any(|w| lower.contains(w))
}

fn type_names(types: &[&'static CancerType]) -> String {
    let names: Vec<&str> = types.iter().map(|t| t.name).collect();
    names.join(", ")
}

fn is_generic_cancer(l: &str) -> bool {
    contains_any(
        l,
        &[
            "solid tumor",
            "solid tumour",
            "solid malignan",
            "solid neoplasm",
            "malignant solid",
            "malignancies",
            "all cancers",
            "advanced cancers",
            "any cancer",
            "advanced cancer",
            "metastatic cancer",
            "any tumor type",
            "tumor agnostic",
            "tumor-agnostic",
        ],
    )
}

/// How a set of cancer types named by a trial relates to the person's.
enum TypeFit {
    Match,
    /// The person's type is the broader one ("lung cancer" for a trial on NSCLC).
    Broader,
    Mismatch,
    NoneNamed,
    PersonUnknown,
}

fn type_fit(named: &[&'static CancerType], person: &Person) -> TypeFit {
    if named.is_empty() {
        return TypeFit::NoneNamed;
    }
    if person.types.is_empty() {
        return TypeFit::PersonUnknown;
    }
    let named_ids: Vec<&str> = named.iter().map(|t| t.id).collect();
    let hits: Vec<&str> = named_ids
        .iter()
        .copied()
        .filter(|id| person.types.contains(id))
        .collect();
    if !hits.is_empty() {
        // The person has "nsclc" (+ parent "lung"); a trial naming only
        // "lung" matches. A trial naming "sclc" with a person with only
        // "lung" is the broader case below.
        let person_specific = person
            .cancers
            .iter()
            .flat_map(|c| c.1.iter())
            .any(|t| named_ids.contains(&t.id));
        if person_specific {
            return TypeFit::Match;
        }
    }
    if named
        .iter()
        .any(|t| t.parent.is_some_and(|p| person.types.contains(&p)))
    {
        return TypeFit::Broader;
    }
    if !hits.is_empty() {
        return TypeFit::Match;
    }
    // Blood cancers: the catalog's lines (leukemia, lymphoma, myeloma) are
    // coarser than trials' ("mature T-cell malignancies", transplant
    // studies for several), so one blood cancer against another is open.
    if named.iter().any(|t| HEME.contains(&t.id)) && person.types.iter().any(|t| HEME.contains(t)) {
        return TypeFit::Broader;
    }
    TypeFit::Mismatch
}

fn check_cancer(text: &str, inclusion: bool, person: &Person) -> Aspect {
    let cat = Category::CancerType;
    let l = text.to_lowercase();
    let settle = "your pathology report (it names the kind of cancer)";
    let named = types_in(text);
    let other_cancer = contains_any(
        &l,
        &[
            "other malignan",
            "another malignan",
            "second malignan",
            "prior malignan",
            "previous malignan",
            "additional malignan",
            "concurrent malignan",
            "other cancer",
            "another cancer",
            "second primary",
            "other primary",
            "prior cancer",
            "history of malignan",
            "other active malignan",
            "other invasive malignan",
            "other prior malignan",
            "other tumor",
        ],
    );
    if other_cancer {
        return if person.cancers.len() >= 2 {
            aspect(
                cat,
                Status::Unknown,
                format!("Your records list more than one cancer ({}); ask the trial team whether this applies.", person.cancer_words()),
            )
            .with(person.cancer_evidence())
        } else {
            aspect(
                cat,
                Status::Unknown,
                "The trial team will ask about any other cancer you have had.",
            )
            .screening()
        };
    }
    if person.cancers.is_empty() {
        return aspect(
            cat,
            Status::Unknown,
            "Your records do not say what kind of cancer you have.",
        )
        .settle(settle);
    }
    let fit = type_fit(&named, person);
    let mine = person.cancer_words();
    let decided = |met: bool, reason: String| {
        aspect(cat, if met { Status::Met } else { Status::NotMet }, reason)
            .with(person.cancer_evidence())
    };
    match fit {
        TypeFit::Match => {
            if inclusion {
                decided(true, format!("Your records say {mine}."))
            } else {
                // Exclusions name subtypes and situations ("CNS lymphoma",
                // "lymphoma after transplant") the catalog cannot tell apart.
                aspect(
                    cat,
                    Status::Unknown,
                    format!("This excludes some people with {}; your records say {mine}. Ask whether it applies to you.", type_names(&named)),
                )
                .with(person.cancer_evidence())
                .settle("your pathology report")
            }
        }
        TypeFit::Broader => aspect(
            cat,
            Status::Unknown,
            format!(
                "The trial is for {}; your records say {mine} without saying which kind.",
                type_names(&named)
            ),
        )
        .with(person.cancer_evidence())
        .settle(settle),
        TypeFit::Mismatch => {
            if inclusion {
                // A criterion may name other cancers as examples next to a
                // generic "solid tumor".
                if is_generic_cancer(&l) {
                    generic(person, &mine)
                } else {
                    decided(
                        false,
                        format!(
                            "This is for {}; your records say {mine}.",
                            type_names(&named)
                        ),
                    )
                }
            } else {
                decided(
                    true,
                    format!(
                        "This excludes {}; your records say {mine}.",
                        type_names(&named)
                    ),
                )
            }
        }
        TypeFit::NoneNamed | TypeFit::PersonUnknown => {
            if !inclusion {
                return aspect(
                    cat,
                    Status::Unknown,
                    "The trial team will check this against your diagnosis.",
                )
                .screening();
            }
            if is_generic_cancer(&l) {
                return generic(person, &mine);
            }
            let diagnosis = contains_any(
                &l,
                &["histolog", "cytolog", "confirmed", "diagnos", "patholog"],
            );
            if !diagnosis {
                return aspect(
                    cat,
                    Status::Unknown,
                    "The trial team will check this against your diagnosis.",
                )
                .screening();
            }
            if person.types.is_empty() {
                return aspect(
                    cat,
                    Status::Unknown,
                    format!("Your records say {mine}; the trial team will confirm it fits."),
                )
                .settle(settle);
            }
            // "Histologically confirmed diagnosis" with no type named.
            decided(
                true,
                format!("Your records say {mine}, confirmed by a diagnosis."),
            )
        }
    }
}

fn generic(person: &Person, mine: &str) -> Aspect {
    let heme = person.types.iter().any(|t| HEME.contains(t));
    aspect(
        Category::CancerType,
        if heme { Status::NotMet } else { Status::Met },
        if heme {
            format!("This is for solid tumors; your records say {mine}, a blood cancer.")
        } else {
            format!("This is for solid tumors; your records say {mine}.")
        },
    )
    .with(person.cancer_evidence())
}

/// "Advanced" about cancer ("advanced solid tumors", "locally advanced or
/// metastatic", "advanced NSCLC"), not about something else ("advanced
/// heart block", "advanced liver disease", "advanced age").
pub fn advanced_disease(l: &str) -> bool {
    const CANCER_NEXT: &[&str] = &[
        "cancer",
        "cancers",
        "carcinoma",
        "carcinomas",
        "disease",
        "stage",
        "solid",
        "tumor",
        "tumors",
        "tumour",
        "tumours",
        "malignancy",
        "malignancies",
        "or",
        "and",
        "unresectable",
        "metastatic",
        "refractory",
        "recurrent",
        "relapsed",
        "neoplasm",
        "neoplasms",
        "/",
    ];
    const NOT_CANCER: &[&str] = &[
        "heart",
        "liver",
        "kidney",
        "renal",
        "hepatic",
        "cardiac",
        "lung",
        "pulmonary",
        "age",
        "cirrhosis",
        "copd",
        "dementia",
        "av",
        "atrioventricular",
        "directive",
        "directives",
        "care",
        "practice",
        "practitioner",
        "imaging",
    ];
    let words: Vec<&str> = l
        .split(|c: char| !(c.is_alphanumeric() || c == '/'))
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        if *w != "advanced" {
            return false;
        }
        let next: Vec<&str> = words[i + 1..words.len().min(i + 4)].to_vec();
        if next.first().is_some_and(|n| NOT_CANCER.contains(n)) {
            return false;
        }
        i > 0 && words[i - 1] == "locally"
            || next.is_empty()
            || next.iter().any(|n| CANCER_NEXT.contains(n))
            || !types_in(&next.join(" ")).is_empty()
    })
}

/// Spread described by where it is or what it does ("untreated spinal
/// cord metastases", "symptomatic", "close to vital organs", "liver
/// metastases"), not spread as such.
fn qualified_spread(l: &str) -> bool {
    contains_any(
        l,
        &[
            "untreated",
            "symptomatic",
            "uncontrolled",
            "unstable",
            "active ",
            "spinal",
            "cord compression",
            "close to",
            "near ",
            "adjacent",
            "vital organ",
            "impending",
            "requiring",
            "visceral crisis",
            "bulky",
            "lymphangitic",
            "invad",
            "leptomening",
            "liver metasta",
            "hepatic metasta",
            "bone metasta",
            "lung metasta",
            "pulmonary metasta",
            "peritoneal",
            "pleural",
            "% of the liver",
            "% of liver",
        ],
    )
}

fn check_stage(text: &str, inclusion: bool, person: &Person) -> Aspect {
    let cat = Category::Stage;
    let l = format!(" {} ", text.to_lowercase());
    // "Stage III or IV", "stage III-IV", "stage 3/4".
    let stage_four = l.contains("stage")
        && contains_any(&l, &[" or iv", "-iv", "/iv", "–iv", " or 4 ", "-4 ", "/4 "]);
    let advanced = (advanced_disease(&l)
        || stage_four
        || contains_any(
            &l,
            &[
                "metasta",
                "unresectable",
                "stage iv",
                "stage 4",
                "recurren",
                "inoperable",
                "not amenable to curative",
                "incurable",
                "persistent",
            ],
        ))
        && !l.contains("non-metasta")
        && !l.contains("nonmetasta")
        && !l.contains("without metasta")
        && !l.contains("no metasta")
        && !l.contains("no evidence of metasta");
    let early = (contains_any(&l, &[
        "early-stage",
        "early stage",
        "localized disease",
        "non-metasta",
        "nonmetasta",
        "no evidence of metasta",
        "without metasta",
        "no metasta",
        "no distant metasta",
    ])
        // "At least one lesion that is resectable" in a trial for
        // metastatic cancer is about the lesion, not an early stage.
        || (!l.contains("metasta")
            && ["resectable", "operable"]
                .iter()
                .any(|w| vocab::has_word(&l, w)))
        || [
            "stage i",
            "stage ii",
            "stage iii",
            "stage 1",
            "stage 2",
            "stage 3",
        ]
        .iter()
        .any(|w| vocab::has_word(&l, w)))
        && !l.contains("stage iv")
        && !l.contains("unresectable")
        && !l.contains("non-resectable")
        && !l.contains("inoperable");
    let settle = "your stage, or a recent scan report";
    // "Locally advanced" alone is cancer that has grown nearby, not spread
    // far: a trial for it is not for metastatic disease.
    let locally_only = l.contains("locally advanced")
        && !contains_any(
            &l,
            &[
                "metasta",
                "unresectable",
                "recurren",
                "advanced or",
                "or advanced",
                "stage iv",
            ],
        );
    if locally_only && inclusion {
        if let Some(ev) = &person.metastatic {
            return aspect(cat, Status::NotMet, format!("This is for cancer that has grown nearby but not spread far; your records say {}.", ev.fact))
                .with(vec![ev.clone()]);
        }
    }
    // "Stage III or IV", "resectable or metastatic": either will do.
    if advanced && early {
        if !inclusion {
            return aspect(
                cat,
                Status::Unknown,
                "The trial team will check this against your scans and stage.",
            )
            .settle(settle);
        }
        return match (&person.metastatic, &person.early) {
            (Some(ev), _) | (None, Some(ev)) => {
                aspect(cat, Status::Met, format!("Your records say {}.", ev.fact))
                    .with(vec![ev.clone()])
            }
            (None, None) => {
                aspect(cat, Status::Unknown, "Your records do not give your stage.").settle(settle)
            }
        };
    }
    // "Untreated spinal cord metastases", "metastases close to vital
    // organs": an exclusion of some metastases, not of all spread.
    if advanced && !inclusion && qualified_spread(&l) {
        return aspect(
            cat,
            Status::Unknown,
            "This excludes some kinds of spread only (where it is, or whether it is treated or causing symptoms); your records do not say enough to tell.",
        )
        .settle("your latest scan report and your care team's view of where the cancer has spread");
    }
    if advanced && !early {
        return match (&person.metastatic, &person.early) {
            (Some(ev), _) => aspect(
                cat,
                if inclusion { Status::Met } else { Status::NotMet },
                format!("Your records say {}.", ev.fact),
            )
            .with(vec![ev.clone()]),
            (None, Some(ev)) => aspect(
                cat,
                Status::Unknown,
                format!("Your records say {} at diagnosis and do not say whether it has spread or come back since.", ev.fact),
            )
            .with(vec![ev.clone()])
            .settle(settle),
            (None, None) => aspect(cat, Status::Unknown, "Your records do not say whether the cancer has spread.").settle(settle),
        };
    }
    if early {
        return match (&person.metastatic, &person.early) {
            (Some(ev), _) => aspect(
                cat,
                if inclusion {
                    Status::NotMet
                } else {
                    Status::Met
                },
                format!(
                    "This is for cancer that has not spread; your records say {}.",
                    ev.fact
                ),
            )
            .with(vec![ev.clone()]),
            (None, Some(ev)) => aspect(
                cat,
                if inclusion {
                    Status::Met
                } else {
                    Status::NotMet
                },
                format!("Your records say {}.", ev.fact),
            )
            .with(vec![ev.clone()]),
            (None, None) => {
                aspect(cat, Status::Unknown, "Your records do not give your stage.").settle(settle)
            }
        };
    }
    if l.contains("measurable") || l.contains("evaluable") || l.contains("recist") {
        return aspect(
            cat,
            Status::Unknown,
            "The trial team measures the tumors on your scans at screening.",
        )
        .settle("a recent CT or MRI report")
        .screening();
    }
    aspect(
        cat,
        Status::Unknown,
        "The trial team will check this against your scans and stage.",
    )
    .screening()
}

/// What state of a marker a criterion asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Positive,
    Negative,
    Low,
    /// "PD-L1 CPS >= 10", "TPS >= 50%".
    AtLeast(f32),
    Tested,
}

fn wanted(text: &str, m: &Marker) -> Want {
    let l = text.to_lowercase();
    let name = m.name.to_lowercase();
    // Look near the marker's first mention.
    let at = m
        .symbols
        .iter()
        .map(|s| s.to_lowercase())
        .chain(m.phrases.iter().map(|p| p.to_string()))
        .chain(std::iter::once(name.clone()))
        .filter_map(|s| l.find(&s))
        .min()
        .unwrap_or(0);
    let start = l[..at]
        .char_indices()
        .rev()
        .nth(25)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let end = l[at..]
        .char_indices()
        .nth(60)
        .map(|(i, _)| at + i)
        .unwrap_or(l.len());
    let w = &l[start..end];
    if m.name == "HER2"
        && (w.contains("her2-low")
            || w.contains("her2 low")
            || w.contains("ihc 1+")
            || w.contains("ihc1+"))
    {
        return Want::Low;
    }
    if (m.name == "PD-L1") || m.name == "TMB" {
        let toks = simple_tokens(w);
        for (i, t) in toks.iter().enumerate() {
            if matches!(t.as_str(), ">=" | ">") {
                if let Some(v) = toks.get(i + 1).and_then(|v| v.parse::<f32>().ok()) {
                    return Want::AtLeast(if t == ">" { v + 0.001 } else { v });
                }
            }
        }
    }
    let neg = [
        "negative",
        "wild-type",
        "wild type",
        "wildtype",
        " wt",
        "without",
        "no known",
        "stable",
        "mss",
        "pmmr",
        "proficient",
        "absence",
        "non-mutated",
        "not amplified",
        "-negative",
        "her2-",
        "er-",
        "pr-",
    ];
    let pos = [
        "positive",
        "mutation",
        "mutated",
        "mutant",
        "amplif",
        "fusion",
        "rearrange",
        "overexpress",
        "high",
        "-h ",
        "msi-h",
        "dmmr",
        "deficien",
        "alteration",
        "altered",
        "variant",
        "deletion",
        "insertion",
        "express",
        "+",
        "loss",
        "g12c",
        "v600",
        "exon",
    ];
    let has_neg = neg.iter().any(|n| w.contains(n));
    let has_pos = pos.iter().any(|p| w.contains(p));
    match (has_pos, has_neg) {
        (true, false) => Want::Positive,
        (false, true) => Want::Negative,
        // "HER2-negative (IHC 0 or 1+)": the named state wins.
        (true, true) => {
            if w.contains("negative") && !w.contains("positive") {
                Want::Negative
            } else if w.contains("positive") && !w.contains("negative") {
                Want::Positive
            } else {
                Want::Tested
            }
        }
        (false, false) => Want::Tested,
    }
}

/// The person's result for a marker: (positive?, result words, evidence).
fn person_marker<'a>(person: &'a Person, m: &Marker) -> Option<(&'a str, &'a Evidence)> {
    let matches_name = |n: &str| {
        let n = n.to_uppercase();
        let mn = m.name.to_uppercase();
        n == mn
            || m.symbols.iter().any(|s| s.eq_ignore_ascii_case(&n))
            || (m.name == "MSI" && n == "MSI-H")
            || (m.name == "BRCA" && n.starts_with("BRCA"))
            || (m.name == "IDH" && n.starts_with("IDH"))
            || (m.name == "FGFR" && n.starts_with("FGFR"))
            || (m.name == "NTRK" && n.starts_with("NTRK"))
            || (m.name == "HR" && (n == "ER" || n == "PR"))
            || (m.name == "PD-L1" && (n == "CPS" || n == "TPS"))
    };
    person
        .markers
        .iter()
        .find(|(n, _, _)| matches_name(n))
        .map(|(_, r, ev)| (r.as_str(), ev))
}

fn check_markers(text: &str, inclusion: bool, person: &Person) -> Aspect {
    let cat = Category::Biomarker;
    let markers = vocab::markers_in(text);
    if markers.is_empty() {
        let named_state = contains_any(
            &text.to_lowercase(),
            &[
                "positive",
                "+",
                "mutation",
                "amplif",
                "fusion",
                "deficien",
                "high",
                "overexpress",
            ],
        );
        let a = aspect(
            cat,
            Status::Unknown,
            "The trial team will check this against your tumor test results.",
        )
        .settle("your tumor's biomarker or genomic test report");
        return if named_state { a } else { a.screening() };
    }
    let l = text.to_lowercase();
    let any = l.contains(" or ") || l.contains('/');
    let classes = vocab::classes_in(text);
    let drugs = vocab::drugs_in(text);
    let targeted = |m: &Marker| {
        let by_class = match m.name {
            "PD-L1" => classes.contains(&Class::Checkpoint) || l.contains("ici"),
            "HER2" => classes.contains(&Class::AntiHer2) || classes.contains(&Class::Adc),
            "EGFR" => classes.contains(&Class::EgfrInhibitor),
            "ALK" => classes.contains(&Class::AlkInhibitor),
            "BRCA" | "HRD" => classes.contains(&Class::Parp),
            "TROP2" | "FRα" | "B7-H3" => classes.contains(&Class::Adc),
            _ => false,
        };
        by_class || (!drugs.is_empty() && m.name == "PD-L1")
    };
    let markers: Vec<&Marker> = markers
        .into_iter()
        .filter(|m| !(targeted(m) && wanted(text, m) == Want::Tested))
        .collect();
    if markers.is_empty() {
        return aspect(
            cat,
            Status::Unknown,
            "This names a marker as a treatment target; the trial team checks it at screening.",
        )
        .screening();
    }
    let mut results = Vec::new();
    for m in &markers {
        let want = wanted(text, m);
        let Some((result, ev)) = person_marker(person, m) else {
            results.push(
                aspect(
                    cat,
                    Status::Unknown,
                    format!(
                        "Your records do not say whether your tumor was tested for {}.",
                        m.name
                    ),
                )
                .settle(m.test),
            );
            continue;
        };
        let pos = positive(result);
        let lower = result.to_lowercase();
        let holds: Option<bool> = match want {
            Want::Tested if inclusion => Some(true),
            Want::Tested => None,
            Want::Positive => pos,
            Want::Negative => pos.map(|p| !p),
            Want::Low => {
                if lower.starts_with("1+") || lower.starts_with("2+") || lower.contains("low") {
                    Some(true)
                } else if lower.starts_with("3+")
                    || lower.starts_with("positive")
                    || lower.starts_with('0')
                {
                    Some(false)
                } else {
                    None
                }
            }
            Want::AtLeast(v) => number_in(result).map(|x| x >= v).or(match pos {
                Some(false) => Some(false),
                _ => None,
            }),
        };
        let asked = match want {
            Want::Positive => format!("{} positive", m.name),
            Want::Negative => format!("{} negative", m.name),
            Want::Low => "HER2-low (IHC 1+ or 2+ without amplification)".to_string(),
            Want::AtLeast(v) => format!("{} at or above {}", m.name, (v * 1000.0).round() / 1000.0),
            Want::Tested => format!("a {} result", m.name),
        };
        let verb = if inclusion { "asks for" } else { "excludes" };
        let reason = format!("Your records say {}; the trial {verb} {asked}.", ev.fact);
        results.push(match holds {
            Some(h) => aspect(
                cat,
                if h == inclusion {
                    Status::Met
                } else {
                    Status::NotMet
                },
                reason,
            )
            .with(vec![ev.clone()]),
            None => aspect(cat, Status::Unknown, reason)
                .with(vec![ev.clone()])
                .settle(m.test),
        });
    }
    // "EGFR or ALK" in an inclusion: one is enough; in an exclusion: any
    // present excludes (met needs all absent).
    let one_suffices = if inclusion { any } else { false };
    combine_alternatives(results, one_suffices)
}

/// Several results for one aspect: with `one_suffices`, met if any is met;
/// otherwise not met if any is not met, met when all are.
fn combine_alternatives(mut results: Vec<Aspect>, one_suffices: bool) -> Aspect {
    let pick = |rs: &mut Vec<Aspect>, s: Status| {
        rs.iter()
            .position(|a| a.status == s)
            .map(|i| rs.swap_remove(i))
    };
    if one_suffices {
        if let Some(a) = pick(&mut results, Status::Met) {
            return a;
        }
        if results.iter().all(|a| a.status == Status::NotMet) {
            return results.swap_remove(0);
        }
        return pick(&mut results, Status::Unknown).unwrap_or_else(|| results.swap_remove(0));
    }
    if let Some(a) = pick(&mut results, Status::NotMet) {
        return a;
    }
    if let Some(a) = pick(&mut results, Status::Unknown) {
        return a;
    }
    results.swap_remove(0)
}

fn number_word(w: &str) -> Option<usize> {
    Some(match w {
        "one" | "1" | "first" => 1,
        "two" | "2" | "second" => 2,
        "three" | "3" | "third" => 3,
        "four" | "4" => 4,
        "five" | "5" => 5,
        "six" | "6" => 6,
        _ => return None,
    })
}

/// "at least 2 prior lines" → (Some(2), None); "no more than 3 prior
/// regimens" → (None, Some(3)).
fn line_limits(l: &str) -> Option<(Option<usize>, Option<usize>)> {
    let toks = simple_tokens(l);
    let unit = |i: usize| {
        toks[i + 1..toks.len().min(i + 6)].iter().any(|t| {
            t.starts_with("line")
                || t.starts_with("regimen")
                || t.starts_with("therap")
                || t.starts_with("treatment")
        })
    };
    for (i, t) in toks.iter().enumerate() {
        let Some(n) = number_word(t) else { continue };
        if !unit(i) {
            continue;
        }
        let before = toks[i.saturating_sub(3)..i].join(" ");
        let after = toks[i + 1..toks.len().min(i + 4)].join(" ");
        if before.ends_with("up to")
            || before.ends_with("<=")
            || before.ends_with("maximum of")
            || after.starts_with("or fewer")
            || after.starts_with("or less")
        {
            return Some((None, Some(n)));
        }
        // "must not have received > 3 lines": at most 3; "> 2 prior lines": at least 3.
        if before.ends_with('>') {
            let negated = l.contains(" not ") || l.starts_with("no ") || l.contains(" no ");
            return Some(if negated {
                (None, Some(n))
            } else {
                (Some(n + 1), None)
            });
        }
        if before.ends_with("at least")
            || before.ends_with(">=")
            || before.ends_with("minimum of")
            || after.starts_with("or more")
            || before.ends_with("after")
            || before.ends_with("received")
        {
            return Some((Some(n), None));
        }
    }
    None
}

fn check_therapy(text: &str, inclusion: bool, person: &Person) -> Aspect {
    let cat = Category::PriorTherapy;
    let l = text.to_lowercase();
    let listed: Vec<String> = person
        .drugs
        .iter()
        .map(|(d, _)| d.name.to_string())
        .collect();
    let history = if listed.is_empty() {
        "no cancer drugs".to_string()
    } else {
        listed.join(", ")
    };
    let timing = contains_any(
        &l,
        &[
            "within",
            "washout",
            "last dose",
            "prior to enrollment",
            "prior to registration",
            "before enrollment",
            "before registration",
            "prior to the first dose",
            "before the first dose",
            "prior to study",
            "prior to day 1",
            "weeks prior",
            "days prior",
            "weeks before",
            "days before",
            "recovered from",
            "toxicit",
            "adverse event",
        ],
    );
    if timing {
        return aspect(cat, Status::Unknown, "This depends on when you last had treatment and how you recovered; the trial team checks the dates.")
            .settle("the dates of your most recent treatments")
            .screening();
    }
    // A drug named for another reason than having had it: allergies,
    // reactions, planned or ongoing treatment, interactions, what is allowed.
    let guarded = contains_any(
        &l,
        &[
            "hypersensitiv",
            "allerg",
            "intoleran",
            "toxicit",
            "adverse",
            "immune-related",
            "irae",
            "will be receiving",
            "will receive",
            "planned",
            "plan is",
            "may continue",
            "concurrent",
            "concomitant",
            "currently receiving",
            "ongoing",
            "discontinu",
            "interaction",
            "contraindicat",
            "may be enrolled",
            "may participate",
            "acceptable",
            "are eligible",
            "is eligible",
            "candidate for",
            "eligible for",
        ],
    ) || (l.contains("permitted") && !l.contains("not permitted"))
        || (l.contains("allowed") && !l.contains("not allowed"));
    let received = contains_any(
        &l,
        &[
            "prior",
            "previous",
            "received",
            "treated with",
            "treatment with",
            "therapy with",
            "exposure to",
            "exposed to",
            "progressed on",
            "progressed after",
            "progression on",
            "progression after",
            "refractory to",
            "resistant to",
            "naive",
            "naïve",
            "had ",
        ],
    );
    let named = vocab::drugs_in(text);
    let classes = vocab::classes_in(text);
    if (!named.is_empty() || !classes.is_empty()) && (guarded || !received) {
        return aspect(cat, Status::Unknown, "This is about how you react to, or are now taking, a treatment; the trial team checks it at screening.")
            .settle("your medication list")
            .screening();
    }
    let negated_req = contains_any(
        &l,
        &[
            "no prior",
            "no previous",
            "not have received",
            "not have been treated",
            "not been treated",
            "not received",
            "not previously",
            "must not have",
            "without prior",
            "without previous",
            "naive",
            "naïve",
            "no history of treatment",
            "not be treated",
        ],
    ) || l.starts_with("no ");
    let inclusion = if inclusion && negated_req {
        false
    } else {
        inclusion
    };
    // Generic "chemotherapy" next to a named drug adds nothing.
    let classes: Vec<Class> = if classes.len() > 1 || !named.is_empty() {
        classes
            .into_iter()
            .filter(|c| *c != Class::Chemotherapy)
            .collect()
    } else {
        classes
    };
    let escape = contains_any(
        &l,
        &[
            "not eligible",
            "ineligible",
            "intoleran",
            "unless",
            "contraindicat",
            "refused",
            "declined",
            "not a candidate",
            "not appropriate",
            "not suitable",
            "unable to receive",
            "could not receive",
            "or not",
        ],
    );
    if !named.is_empty() || !classes.is_empty() {
        let what: Vec<String> = named
            .iter()
            .map(|d| d.name.to_string())
            .chain(classes.iter().map(|c| c.label().to_string()))
            .collect();
        let what = what.join(" or ");
        let had = person.drugs_of(&classes, &named);
        let generic_exclusion =
            !inclusion && named.is_empty() && classes.iter().all(|c| *c == Class::Chemotherapy);
        if !had.is_empty() && !generic_exclusion {
            let names: Vec<&str> = had.iter().map(|(d, _)| d.name).collect();
            let ev: Vec<Evidence> = had.iter().map(|(_, e)| e.clone()).collect();
            return if inclusion {
                aspect(
                    cat,
                    Status::Met,
                    format!("Your records list {} ({what}).", names.join(", ")),
                )
                .with(ev)
            } else {
                aspect(
                    cat,
                    Status::NotMet,
                    format!(
                        "Your records list {}; the trial excludes people who had {what}.",
                        names.join(", ")
                    ),
                )
                .with(ev)
            };
        }
        if !person.has_treatment_history() {
            return aspect(cat, Status::Unknown, format!("Your records do not list your past treatments, so it is not known whether you had {what}."))
                .settle("a list of your past cancer treatments");
        }
        if person.drugs.is_empty() {
            return aspect(
                cat,
                Status::Unknown,
                format!(
                    "Your records list no cancer drugs, so it is not known whether you had {what}."
                ),
            )
            .settle("a list of your past cancer treatments");
        }
        let required = contains_any(
            &l,
            &[
                "must have",
                "must be refractory",
                "required",
                "refractory to",
                "progressed on",
                "progressed after",
                "progression on",
                "progression after",
                "progressed following",
                "previously treated with",
                "after failure",
                "failed",
                "resistant to",
                "relapsed after",
                "received at least",
                "must be previously",
            ],
        );
        // Exclusions naming only "chemotherapy" are about timing or the same
        // illness, not any chemotherapy ever.
        let generic_only = named.is_empty() && classes.iter().all(|c| *c == Class::Chemotherapy);
        if (inclusion && !required) || (!inclusion && generic_only) {
            return aspect(cat, Status::Unknown, format!("Your records list {history}; the trial team will judge this against your treatment history."))
                .settle("a list of your past cancer treatments with dates")
                .screening();
        }
        return if inclusion {
            if escape {
                aspect(cat, Status::Unknown, format!("Your records list {history} but not {what}; the trial also takes some people who could not have it — ask."))
                    .settle("your care team's note on why you did not have it")
            } else {
                // Records are rarely a complete treatment history: a
                // missing treatment is a question for the care team.
                aspect(
                    cat,
                    Status::Unknown,
                    format!("The trial asks for prior {what}; your records list {history} but not {what}."),
                )
                .settle("a full list of your past cancer treatments (your care team can confirm whether you had it)")
            }
        } else {
            aspect(
                cat,
                Status::Met,
                format!("Your records list {history}, not {what}."),
            )
        };
    }
    if let Some((min, max)) = line_limits(&l).filter(|_| inclusion) {
        let k = person.regimens;
        if k == 0 {
            return aspect(cat, Status::Unknown, "Your records do not list your past treatments, so the number of prior lines is not known.")
                .settle("a list of your past cancer treatments");
        }
        let ev: Vec<Evidence> = person.drugs.iter().map(|(_, e)| e.clone()).collect();
        if let Some(n) = min {
            let ok = k >= n;
            return aspect(
                cat,
                if ok == inclusion { Status::Met } else { Status::Unknown },
                format!("Your records list about {k} treatment regimen(s) ({history}); the trial asks for at least {n}."),
            )
            .with(ev)
            .settle("your care team's count of your prior lines of treatment");
        }
        if let Some(n) = max {
            let status = if k <= n {
                Status::Met
            } else if k >= n + 2 {
                Status::NotMet
            } else {
                Status::Unknown
            };
            let status = if inclusion { status } else { flip(status) };
            return aspect(cat, status, format!("Your records list about {k} treatment regimen(s) ({history}); the trial allows at most {n}."))
                .with(ev)
                .settle("your care team's count of your prior lines of treatment");
        }
    }
    let wants_prior = contains_any(
        &l,
        &[
            "refractory",
            "progressed",
            "progression",
            "previously treated",
            "relapsed",
            "after standard",
            "at least one prior",
            "failed",
            "prior systemic",
            "prior therapy",
            "prior treatment",
            "resistant",
            "intolerant to",
        ],
    );
    let systemic = contains_any(
        &l,
        &[
            "systemic",
            "chemotherapy",
            "therapy",
            "treatment",
            "regimen",
        ],
    );
    let negated =
        negated_requirement(&l) || l.contains("treatment-naive") || l.contains("first-line");
    if inclusion && wants_prior && !negated {
        if let Some((d, ev)) = person.drugs.first() {
            let _ = d;
            let ev: Vec<Evidence> = std::iter::once(ev.clone())
                .chain(person.drugs.iter().skip(1).map(|(_, e)| e.clone()))
                .collect();
            return aspect(
                cat,
                Status::Met,
                format!("Your records list past treatment: {history}."),
            )
            .with(ev);
        }
        return aspect(
            cat,
            Status::Unknown,
            "Your records do not list past treatments.",
        )
        .settle("a list of your past cancer treatments");
    }
    let naive = contains_any(
        &l,
        &[
            "no prior systemic",
            "no prior chemotherapy",
            "no previous systemic",
            "treatment-naive",
            "treatment naive",
            "previously untreated",
            "not received prior systemic",
            "not have received prior systemic",
            "first-line",
        ],
    );
    if systemic
        && naive
        && c_is_inclusion(inclusion, negated_req)
        && !l.contains("radiation")
        && !l.contains("surgery")
    {
        // "No prior systemic therapy for metastatic disease".
        if person.metastatic.is_some()
            && person.drugs.len() >= 2
            && (l.contains("systemic") || l.contains("chemotherapy"))
            && !l.contains("adjuvant")
        {
            let ev: Vec<Evidence> = person.drugs.iter().map(|(_, e)| e.clone()).collect();
            return aspect(cat, Status::NotMet, format!("The trial is for people not yet treated this way; your records list {history}.")).with(ev);
        }
    }
    aspect(
        cat,
        Status::Unknown,
        "The trial team checks your treatment history against this at screening.",
    )
    .settle("a list of your past cancer treatments with dates")
    .screening()
}

fn c_is_inclusion(inclusion: bool, negated: bool) -> bool {
    // `inclusion` was flipped for a negated requirement; the original side
    // was an inclusion when it was flipped or still is one without negation.
    negated || inclusion
}

fn check_brain(text: &str, inclusion: bool, person: &Person) -> Aspect {
    let cat = Category::BrainMetastases;
    let l = text.to_lowercase();
    // "No untreated brain metastases" as an inclusion excludes them.
    let inclusion = inclusion && !negated_requirement(&l);
    let allowance = contains_any(
        &l,
        &[
            "treated",
            "stable",
            "unless",
            "asymptomatic",
            "allowed",
            "permitted",
            "eligible",
            "untreated",
            "active",
            "symptomatic",
            "progressing",
        ],
    );
    match &person.brain {
        Some(ev) => {
            if inclusion {
                aspect(cat, Status::Met, format!("Your records say {}.", ev.fact)).with(vec![ev.clone()])
            } else if allowance {
                aspect(cat, Status::Unknown, format!("Your records say {}; whether it counts depends on whether it was treated and is stable.", ev.fact))
                    .with(vec![ev.clone()])
                    .settle("a recent brain MRI report and the treatment you had for it")
            } else {
                aspect(cat, Status::NotMet, format!("Your records say {}; the trial excludes this.", ev.fact)).with(vec![ev.clone()])
            }
        }
        None => aspect(cat, Status::Unknown, "Your records do not mention spread to the brain; the trial team may check with a brain scan.")
            .settle("a recent brain MRI or CT report")
            .screening(),
    }
}

// ---------------------------------------------------------------------
// Whole trials.

fn combine(aspects: &[Aspect]) -> (Status, String, bool) {
    let screening = aspects
        .iter()
        .filter(|a| a.status == Status::Unknown)
        .all(|a| a.screening);
    if let Some(a) = aspects.iter().find(|a| a.status == Status::NotMet) {
        return (Status::NotMet, a.reason.clone(), screening);
    }
    if let Some(a) = aspects
        .iter()
        .find(|a| a.status == Status::Unknown && !a.screening)
    {
        return (Status::Unknown, a.reason.clone(), false);
    }
    if let Some(a) = aspects.iter().find(|a| a.status == Status::Unknown) {
        // Decided aspects plus screening-only unknowns: the records say
        // what they can; the rest is checked at screening.
        let decided: Vec<&str> = aspects
            .iter()
            .filter(|x| x.status == Status::Met)
            .map(|x| x.reason.as_str())
            .collect();
        let reason = if decided.is_empty() {
            a.reason.clone()
        } else {
            format!("{} {}", decided.join(" "), a.reason)
        };
        return (Status::Unknown, reason, screening);
    }
    match aspects.first() {
        Some(a) => {
            let reasons: Vec<&str> = aspects.iter().map(|x| x.reason.as_str()).collect();
            let mut r = reasons.join(" ");
            if reasons.len() > 1 {
                r = dedup_sentences(&r);
            }
            let _ = a;
            (Status::Met, r, false)
        }
        None => (Status::Unknown, "Not checked.".into(), true),
    }
}

fn dedup_sentences(s: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for part in s.split_inclusive(". ") {
        let p = part.trim();
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    seen.join(" ")
}

/// Words that make a criterion about one part of a trial ("Cohort 2",
/// "Arm 3", "Phase II:").
fn subgroup(l: &str) -> bool {
    contains_any(
        l,
        &[
            "cohort",
            "arm ",
            "arms ",
            "part ",
            "parts ",
            "phase i:",
            "phase ii:",
            "phase 1:",
            "phase 2:",
            "phase i-",
            "phase ii portion",
            "expansion",
            "group a:",
            "group b:",
            "group c:",
            "group 1:",
            "group 2:",
            "group 3:",
        ],
    )
}

/// "... is not needed", "... are eligible", "... is allowed": a criterion
/// that relaxes a rule rather than setting one.
fn permissive(l: &str) -> bool {
    let says = contains_any(
        l,
        &[
            "not needed",
            "not required",
            "is allowed",
            "are allowed",
            "is permitted",
            "are permitted",
            "are eligible",
            "is eligible",
            "may be eligible",
            "may be enrolled",
            "may enroll",
            "may participate",
        ],
    );
    let forbids = contains_any(
        l,
        &[
            "not eligible",
            "ineligible",
            "not allowed",
            "not permitted",
            "are excluded",
        ],
    );
    says && !forbids
}

/// A criterion that names an organ's cancer "or metastasis" there, or
/// metastases to an organ: any cancer spread there may qualify.
fn spread_there(l: &str) -> bool {
    contains_any(
        l,
        &[
            "or metasta",
            "or other metasta",
            "metastasis to the",
            "metastases to the",
            "metastatic to the",
            "metastatic disease to the",
            "or secondary",
        ],
    ) || [
        "liver",
        "hepatic",
        "lung",
        "pulmonary",
        "bone",
        "brain",
        "peritoneal",
    ]
    .iter()
    .any(|o| l.contains(&format!("{o} metasta")))
}

/// "Patients who ... must", "for participants with ...": a rule that
/// applies under a condition.
fn conditional(l: &str) -> bool {
    if l.starts_with("if ") || l.starts_with("for patients") || l.starts_with("for participants") {
        return true;
    }
    let conditions = [
        "patients who",
        "participants who",
        "subjects who",
        "patients with",
        "participants with",
        "subjects with",
        "those with",
        "those who",
        "for patients",
        "for participants",
        "if ",
        "women who",
        "men who",
        "patients on ",
        "participants on ",
        "specifically",
        "all other",
    ];
    let mut from = 0;
    while let Some(i) = l[from..].find(" must ") {
        let at = from + i;
        let mut start = at.saturating_sub(80);
        while !l.is_char_boundary(start) {
            start -= 1;
        }
        let head = &l[start..at];
        // The condition must come after the criterion's start ("Patients
        // with X must..." as the whole criterion is its main rule).
        if (start > 0 || head.split_whitespace().count() > 4)
            && conditions.iter().any(|w| head.contains(w))
        {
            return true;
        }
        from = at + 1;
    }
    false
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{}…", cut.trim_end())
}

/// Judges one criterion.
pub fn check_criterion(c: &Criterion, person: &Person) -> CheckedCriterion {
    let full = c.full_text();
    let l = full.to_lowercase();
    // A criterion that names only cancers other than the person's is for
    // people with those cancers (a basket trial's cohort, a note about
    // prostate cancer patients): shown apart, not held for or against.
    let named = types_in(&full);
    let mismatch = !person.types.is_empty()
        && !named.is_empty()
        && matches!(type_fit(&named, person), TypeFit::Mismatch)
        && !is_generic_cancer(&l);
    // "Liver neoplasms or metastasis": open to any cancer that has spread
    // to that organ.
    if mismatch && c.inclusion && spread_there(&l) {
        let a = aspect(
            Category::CancerType,
            Status::Unknown,
            format!(
                "This is for {} or for cancer that has spread there; your records say {}.",
                type_names(&named),
                person.cancer_words()
            ),
        )
        .with(person.cancer_evidence())
        .settle("your latest scan report (it says where the cancer is)");
        return CheckedCriterion {
            criterion: c.clone(),
            status: Status::Unknown,
            reason: a.reason.clone(),
            aspects: vec![a],
            screening: false,
            other_group: false,
        };
    }
    if mismatch {
        let a = aspect(
            Category::CancerType,
            Status::Unknown,
            format!(
                "This applies to people with {}, not to your cancer.",
                type_names(&named)
            ),
        )
        .screening();
        return CheckedCriterion {
            criterion: c.clone(),
            status: Status::Unknown,
            reason: a.reason.clone(),
            aspects: vec![a],
            screening: true,
            other_group: true,
        };
    }
    let inclusion = c.inclusion;
    let aspects: Vec<Aspect> = if c.any_of.is_empty() {
        aspects_of(&c.text, &c.categories, inclusion, person)
    } else {
        // Alternatives: the best of them.
        let mut best: Option<Vec<Aspect>> = None;
        for alt in &c.any_of {
            let text = format!("{} {alt}", c.text);
            let cats = criteria::classify(&text);
            let a = aspects_of(&text, &cats, inclusion, person);
            let rank = |v: &Vec<Aspect>| match combine(v).0 {
                Status::Met => 0,
                Status::Unknown => 1,
                Status::NotMet => 2,
            };
            if best.as_ref().is_none_or(|b| rank(&a) < rank(b)) {
                best = Some(a);
            }
        }
        best.unwrap_or_default()
    };
    let (mut status, mut reason, screening) = combine(&aspects);
    // "Prior checkpoint therapy is not needed where ... (e.g., PD-L1
    // negative cervical)": a rule that relaxes a requirement rules no one
    // out.
    if status == Status::NotMet && c.inclusion && permissive(&l) {
        status = Status::Unknown;
        reason = format!(
            "This relaxes a rule for some people (\"{}\"); ask the trial team whether it applies to you.",
            shorten(&c.text, 90)
        );
    }
    // A rule for some cohorts or arms only may not be the one that applies.
    if status == Status::NotMet && subgroup(&l) {
        status = Status::Unknown;
        reason =
            format!("For some groups in this trial only: {reason} Ask which group you would join.");
    }
    // "Participants with BRCA2 mutations must have received a PARP
    // inhibitor": a rule for people the condition describes.
    if status == Status::NotMet && conditional(&l) {
        let decided_by = aspects
            .iter()
            .find(|a| a.status == Status::NotMet)
            .map(|a| a.category);
        if !matches!(decided_by, Some(Category::CancerType | Category::Stage)) {
            status = Status::Unknown;
            reason = format!(
                "Only for some people (\"{}\"): {reason}",
                shorten(&c.text, 90)
            );
        }
    }
    CheckedCriterion {
        criterion: c.clone(),
        status,
        reason,
        aspects,
        screening: screening && status != Status::NotMet,
        other_group: false,
    }
}

fn aspects_of(text: &str, cats: &[Category], inclusion: bool, person: &Person) -> Vec<Aspect> {
    let mut cats: Vec<Category> = cats.to_vec();
    // Brain metastases criteria are about the brain, not the cancer type or
    // stage their words also touch.
    if cats.contains(&Category::BrainMetastases) {
        cats.retain(|c| matches!(c, Category::BrainMetastases | Category::PriorTherapy));
        cats.retain(|c| *c != Category::PriorTherapy || vocab::drugs_in(text).is_empty());
    }
    if !inclusion && cats.contains(&Category::PriorTherapy) {
        cats.retain(|c| !matches!(c, Category::CancerType | Category::Stage));
    }
    // An exclusion that mentions spread in passing ("effusions from
    // metastatic disease") is not an exclusion of metastatic disease.
    if !inclusion
        && cats.first() != Some(&Category::Stage)
        && cats.first() != Some(&Category::CancerType)
    {
        cats.retain(|c| *c != Category::Stage);
    }
    if cats.contains(&Category::Pregnancy) {
        cats.retain(|c| *c == Category::Pregnancy);
    }
    // An age inside another rule ("LVEF >= 45% for patients 50 or older",
    // "sudden death under 40 in the family") is not an age limit.
    if cats.contains(&Category::Age)
        && cats.iter().any(|c| {
            matches!(
                c,
                Category::OrganFunction
                    | Category::PriorTherapy
                    | Category::Performance
                    | Category::Biomarker
            )
        })
    {
        cats.retain(|c| *c != Category::Age);
    }
    if cats.contains(&Category::OrganFunction) {
        cats.retain(|c| {
            !matches!(
                c,
                Category::Biomarker | Category::CancerType | Category::Stage
            )
        });
    }
    cats.iter()
        .map(|c| check(*c, text, inclusion, person))
        .collect()
}

/// Options for matching.
#[derive(Debug, Clone, Copy)]
pub struct MatchOptions {
    /// The current year, for ages from birth dates.
    pub today_year: i32,
}

fn plain_phase(phases: &[String]) -> Option<String> {
    let p = phases.join(" ").to_uppercase();
    let has = |n: &str| {
        p.contains(&format!("PHASE{n}"))
            || p.contains(&format!("PHASE {n}"))
            || p.contains(&format!("PHASE_{n}"))
    };
    let words = if p.contains("EARLY") {
        "Early phase 1: a first small test in people"
    } else if has("1") && has("2") || p.contains("I/II") {
        "Phase 1/2: tests safety, then whether the treatment works"
    } else if has("2") && has("3") || p.contains("II/III") {
        "Phase 2/3: tests whether the treatment works and compares it with standard care"
    } else if has("1") || p.ends_with(" I") || p == "I" {
        "Phase 1: tests safety and the right dose"
    } else if has("2") || p.ends_with(" II") || p == "II" {
        "Phase 2: tests whether the treatment works"
    } else if has("3") || p.ends_with(" III") || p == "III" {
        "Phase 3: compares the treatment with standard care"
    } else if has("4") || p.ends_with(" IV") {
        "Phase 4: studies an approved treatment further"
    } else {
        return None;
    };
    Some(words.to_string())
}

/// The opening of a summary: up to two sentences, headings dropped.
pub fn plain_summary(summary: &str) -> String {
    let text = criteria::clean(summary);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !(l.is_empty() || l.ends_with(':') && l.split_whitespace().count() <= 3))
        .collect();
    let joined = sextant_core::text::normalize_ws(&lines.join(" "));
    let sentences = sextant_core::text::sentences(&joined);
    let mut out = String::new();
    for s in sentences.iter().take(2) {
        if out.len() + s.len() > 500 {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(s);
    }
    if out.is_empty() {
        out = joined.chars().take(400).collect();
    }
    out
}

fn registry_criteria(trial: &Trial) -> Vec<Criterion> {
    let mut out = Vec::new();
    let registry = |text: String, cat: Category| Criterion {
        inclusion: true,
        text,
        any_of: Vec::new(),
        categories: vec![cat],
        cohort: None,
        origin: "registry".into(),
    };
    match (trial.min_age, trial.max_age) {
        (Some(a), Some(b)) if b < 120.0 => out.push(registry(
            format!("Age {a} to {b} years of age"),
            Category::Age,
        )),
        (Some(a), _) if a > 0.0 => out.push(registry(
            format!("Age {a} years or older (age >= {a})"),
            Category::Age,
        )),
        (None, Some(b)) if b < 120.0 => out.push(registry(
            format!("Age {b} years or younger (age <= {b})"),
            Category::Age,
        )),
        _ => {}
    }
    match trial.sex {
        Some(SexEligible::Female) => {
            out.push(registry("Female participants only".into(), Category::Sex))
        }
        Some(SexEligible::Male) => {
            out.push(registry("Male participants only".into(), Category::Sex))
        }
        _ => {}
    }
    if !trial.conditions.is_empty() {
        out.push(registry(
            format!("The trial studies: {}", trial.conditions.join("; ")),
            Category::CancerType,
        ));
    }
    out
}

fn check_registry(c: &Criterion, trial: &Trial, person: &Person) -> CheckedCriterion {
    let a = match c.category() {
        Category::Sex => {
            let want = match trial.sex {
                Some(SexEligible::Female) => "female",
                _ => "male",
            };
            match &person.sex {
                Some((s, ev)) => aspect(
                    Category::Sex,
                    if s == want { Status::Met } else { Status::NotMet },
                    format!("Your records say {}; the trial enrolls {want} participants only.", ev.fact),
                )
                .with(vec![ev.clone()]),
                None => aspect(Category::Sex, Status::Unknown, format!("The trial enrolls {want} participants only; your records do not say your sex."))
                    .settle("your records' sex field"),
            }
        }
        Category::CancerType => check_conditions(trial, person),
        _ => check_age(&c.text, true, person),
    };
    let (status, reason, screening) = combine(std::slice::from_ref(&a));
    CheckedCriterion {
        criterion: c.clone(),
        status,
        reason,
        aspects: vec![a],
        screening,
        other_group: false,
    }
}

const CANCER_WORDS: &[&str] = &[
    "cancer",
    "carcinoma",
    "tumor",
    "tumour",
    "neoplasm",
    "malignan",
    "lymphoma",
    "leukemia",
    "leukaemia",
    "myeloma",
    "sarcoma",
    "melanoma",
    "glioma",
    "blastoma",
    "metasta",
    "oncolog",
    "mesothelioma",
];

/// Is the trial about cancer at all, judging by its conditions and title?
pub fn about_cancer(trial: &Trial) -> bool {
    let t = format!("{} {}", trial.title, trial.conditions.join(" ")).to_lowercase();
    CANCER_WORDS.iter().any(|w| t.contains(w)) || !types_in(&t).is_empty()
}

fn check_conditions(trial: &Trial, person: &Person) -> Aspect {
    let cat = Category::CancerType;
    let conditions = trial.conditions.join("; ");
    if !about_cancer(trial) {
        // Clinicians judge people with cancer eligible for many such
        // studies (imaging, healthy-volunteer cohorts); what it is not is a
        // cancer trial, which ranking reflects.
        return aspect(
            cat,
            Status::Unknown,
            format!("This study is not about cancer: it studies {conditions}. Ask whether it is right for you."),
        )
        .settle("a conversation with the study team about why you would take part");
    }
    if person.cancers.is_empty() {
        return aspect(
            cat,
            Status::Unknown,
            "Your records do not say what kind of cancer you have.",
        )
        .settle("your pathology report (it names the kind of cancer)");
    }
    let named = types_in(&format!("{} {}", conditions, trial.title));
    let mine = person.cancer_words();
    let mut generic_words = format!("{} {}", conditions, trial.title).to_lowercase();
    // A title about cancer that names no type ("... to Treat Cancer").
    let title = trial.title.to_lowercase();
    if types_in(&trial.title).is_empty() && CANCER_WORDS.iter().any(|w| title.contains(w)) {
        generic_words.push_str(" any cancer");
    }
    match type_fit(&named, person) {
        TypeFit::Match => aspect(cat, Status::Met, format!("The trial studies {conditions}; your records say {mine}."))
            .with(person.cancer_evidence()),
        TypeFit::Broader => aspect(cat, Status::Unknown, format!("The trial studies {conditions}; your records say {mine} without saying which kind."))
            .with(person.cancer_evidence())
            .settle("your pathology report (it names the kind of cancer)"),
        // A condition that names a cancer without a type ("Adenocarcinoma",
        // "Neoplasms") leaves the door open.
        TypeFit::Mismatch
            if !is_generic_cancer(&generic_words)
                && !trial.conditions.iter().any(|c| {
                    let l = c.to_lowercase();
                    types_in(c).is_empty() && CANCER_WORDS.iter().any(|w| l.contains(w))
                }) =>
        {
            aspect(
            cat,
            Status::NotMet,
            format!("The trial studies {conditions}; your records say {mine}."),
        )
        .with(person.cancer_evidence())
        }
        _ => {
            let heme_trial = named.iter().any(|t| HEME.contains(&t.id))
                || ["lymphoma", "leukemia", "myeloma"].iter().any(|w| generic_words.contains(w));
            let heme_person = person.types.iter().any(|t| HEME.contains(t));
            if is_generic_cancer(&generic_words) || !heme_trial || heme_person {
                aspect(cat, Status::Met, format!("The trial studies {conditions}, which can include {mine}."))
                    .with(person.cancer_evidence())
            } else {
                aspect(cat, Status::NotMet, format!("The trial studies {conditions}; your records say {mine}."))
                    .with(person.cancer_evidence())
            }
        }
    }
}

/// The registry's age range is the whole trial's. An age rule in the
/// criteria text that is narrower ("for Group B, ages 8 to 80", "the
/// dose-escalation part enrolls patients under 18") is for some
/// participants only, so it cannot rule out a person the registry range
/// admits: it becomes a question for the trial team.
fn within_registry_ages(
    mut c: CheckedCriterion,
    trial: &Trial,
    person: &Person,
) -> CheckedCriterion {
    let Some((age, _)) = &person.age else {
        return c;
    };
    if c.status != Status::NotMet || (trial.min_age.is_none() && trial.max_age.is_none()) {
        return c;
    }
    let only_age = c
        .aspects
        .iter()
        .filter(|a| a.status == Status::NotMet)
        .all(|a| a.category == Category::Age);
    let admitted =
        trial.min_age.is_none_or(|m| *age >= m) && trial.max_age.is_none_or(|m| *age <= m);
    // Which side the text rule holds the person on, and whether the
    // registry states a limit on that side (a registry with no maximum says
    // nothing against "18 to 74").
    let Some(rule) = age_limits(&c.criterion.text) else {
        return c;
    };
    let too_old = if c.criterion.inclusion {
        rule.max.is_some_and(|m| *age > m) && !rule.min.is_some_and(|m| *age < m)
    } else {
        rule.min.is_some_and(|m| *age >= m)
    };
    let stated = if too_old {
        trial.max_age.is_some()
    } else {
        trial.min_age.is_some()
    };
    if only_age && admitted && stated {
        let range = match (trial.min_age, trial.max_age) {
            (Some(a), Some(b)) => format!("{a}–{b}"),
            (Some(a), None) => format!("{a} and older"),
            (None, Some(b)) => format!("up to {b}"),
            (None, None) => String::new(),
        };
        c.status = Status::Unknown;
        c.reason = format!(
            "{} The registry lists ages {range} for the whole trial, so this rule is for some participants only; ask the trial team whether it applies to you.",
            c.reason
        );
    }
    c
}

/// Judges a trial for a person.
pub fn match_trial(trial: &Trial, person: &Person) -> TrialMatch {
    let (criteria_list, mut issues) = criteria::parse(&trial.eligibility);
    let mut checked: Vec<CheckedCriterion> = registry_criteria(trial)
        .iter()
        .map(|c| check_registry(c, trial, person))
        .collect();
    let from_text: Vec<CheckedCriterion> = criteria_list
        .iter()
        .map(|c| within_registry_ages(check_criterion(c, person), trial, person))
        .collect();
    // Cohorts: keep the cohort that fits best.
    let mut cohorts: Vec<String> = Vec::new();
    for c in &from_text {
        if let Some(k) = &c.criterion.cohort {
            if !cohorts.contains(k) {
                cohorts.push(k.clone());
            }
        }
    }
    let mut chosen = None;
    if cohorts.len() > 1 {
        let score = |k: &str| {
            let mine: Vec<&CheckedCriterion> = from_text
                .iter()
                .filter(|c| c.criterion.cohort.as_deref() == Some(k))
                .collect();
            let not_met = mine.iter().filter(|c| c.status == Status::NotMet).count() as i64;
            let met = mine.iter().filter(|c| c.status == Status::Met).count() as i64;
            (not_met, -met)
        };
        chosen = cohorts.iter().min_by_key(|k| score(k)).cloned();
    }
    let other_cohorts: Vec<String> = cohorts
        .iter()
        .filter(|k| Some(*k) != chosen.as_ref())
        .cloned()
        .collect();
    for c in from_text {
        match (&c.criterion.cohort, &chosen) {
            (Some(k), Some(ch)) if k != ch => continue,
            _ => checked.push(c),
        }
    }
    // The registry's conditions are a summary; criteria that name cancer
    // types and admit the person's ("... or metastasis" to the organ, a
    // rare-histology cohort) are the rule.
    let text_admits = checked.iter().any(|c| {
        c.criterion.origin == "text"
            && c.criterion.inclusion
            && !c.other_group
            && c.status != Status::NotMet
            && !types_in(&c.criterion.full_text()).is_empty()
            && c.aspects.iter().any(|a| {
                a.category == Category::CancerType && a.status != Status::NotMet && !a.screening
            })
    });
    // A basket whose registry lists several cancers, with criteria that ask
    // for any confirmed cancer, names examples rather than limits.
    let basket = types_in(&trial.conditions.join("; ")).len() >= 3
        && checked.iter().all(|c| {
            c.criterion.origin != "text"
                || !c.criterion.inclusion
                || types_in(&c.criterion.full_text()).is_empty()
        })
        && checked.iter().any(|c| {
            c.criterion.origin == "text"
                && c.criterion.inclusion
                && c.aspects
                    .iter()
                    .any(|a| a.category == Category::CancerType && a.status == Status::Met)
        });
    if text_admits || basket {
        for c in checked.iter_mut().filter(|c| {
            c.criterion.origin == "registry"
                && c.criterion.category() == Category::CancerType
                && c.status == Status::NotMet
        }) {
            c.status = Status::Unknown;
            c.reason = format!(
                "{} But the trial's criteria may admit you; ask the trial team.",
                c.reason
            );
            for a in &mut c.aspects {
                if a.status == Status::NotMet {
                    a.status = Status::Unknown;
                    a.settle = Some(
                        "a conversation with the trial team about whether your cancer fits".into(),
                    );
                }
            }
        }
    }
    // A trial whose own words name no cancer the person has, and whose
    // cancer-type criteria are all for other cancers, is not for them.
    let conditions_met = checked.iter().any(|c| {
        c.criterion.origin == "registry"
            && c.criterion.category() == Category::CancerType
            && c.status == Status::Met
    });
    let typed: Vec<&CheckedCriterion> = checked
        .iter()
        .filter(|c| {
            c.criterion.inclusion
                && c.criterion.origin == "text"
                && c.criterion.categories.contains(&Category::CancerType)
        })
        .filter(|c| !types_in(&c.criterion.full_text()).is_empty())
        .collect();
    if about_cancer(trial)
        && !conditions_met
        && !typed.is_empty()
        && typed.iter().all(|c| c.other_group)
        && !person.types.is_empty()
    {
        let mut names: Vec<String> = Vec::new();
        for c in &typed {
            for t in types_in(&c.criterion.full_text()) {
                if !names.iter().any(|n| n == t.name) {
                    names.push(t.name.to_string());
                }
            }
        }
        let a = aspect(
            Category::CancerType,
            Status::NotMet,
            format!(
                "The trial's criteria name {}; your records say {}.",
                names.join(", "),
                person.cancer_words()
            ),
        )
        .with(person.cancer_evidence());
        checked.insert(
            0,
            CheckedCriterion {
                criterion: Criterion {
                    inclusion: true,
                    text: "The trial's cancer types (from its criteria)".into(),
                    any_of: Vec::new(),
                    categories: vec![Category::CancerType],
                    cohort: None,
                    origin: "registry".into(),
                },
                status: Status::NotMet,
                reason: a.reason.clone(),
                aspects: vec![a],
                screening: false,
                other_group: false,
            },
        );
    }
    if matches!(trial.eligibility, crate::model::Eligibility::None) {
        issues.push(Issue::new(
            trial.id.clone(),
            "no eligibility criteria in the record; only the registry fields were checked",
        ));
    }
    let met = checked.iter().filter(|c| c.status == Status::Met).count();
    let not_met = checked
        .iter()
        .filter(|c| c.status == Status::NotMet)
        .count();
    let unknown = checked.len() - met - not_met;
    let key = |c: &CheckedCriterion| c.status == Status::Unknown && !c.screening;
    let key_unknowns: Vec<&CheckedCriterion> = checked.iter().filter(|c| key(c)).collect();
    let verdict = if not_met > 0 {
        Verdict::LikelyExcluded
    } else if key_unknowns.is_empty() && met > 0 {
        Verdict::LikelyEligible
    } else {
        Verdict::Possibly
    };
    let mut reasons = Vec::new();
    match verdict {
        Verdict::LikelyExcluded => {
            for c in checked
                .iter()
                .filter(|c| c.status == Status::NotMet)
                .take(3)
            {
                reasons.push(c.reason.clone());
            }
        }
        Verdict::LikelyEligible => {
            reasons.push(format!(
                "Your records fit {met} of the criteria, and none rules you out; {} more are checked at screening.",
                unknown
            ));
        }
        Verdict::Possibly => {
            if met == 0 && key_unknowns.is_empty() {
                reasons
                    .push("Your records do not say enough to check this trial's criteria.".into());
            }
            for c in key_unknowns.iter().take(3) {
                reasons.push(format!("Not yet known: {}", c.reason));
            }
        }
    }
    let mut to_settle: Vec<String> = Vec::new();
    for c in &checked {
        for a in &c.aspects {
            if a.status == Status::Unknown && !a.screening {
                if let Some(s) = &a.settle {
                    if !to_settle.contains(s) {
                        to_settle.push(s.clone());
                    }
                }
            }
        }
    }
    let (relevance, fit) = scores(trial, person, &checked, verdict);
    let as_of = match &trial.source.data_date {
        Some(d) => format!("as of {d}"),
        None => "as of an unknown date".to_string(),
    };
    let questions = questions(trial, &checked, &as_of);
    TrialMatch {
        trial_id: trial.id.clone(),
        title: trial.title.clone(),
        url: trial.url.clone(),
        summary: plain_summary(&trial.summary),
        phase: plain_phase(&trial.phases),
        status: trial.status.clone(),
        as_of,
        conditions: trial.conditions.clone(),
        sites: trial
            .sites
            .iter()
            .take(MAX_SITES_SHOWN)
            .map(site_words)
            .collect(),
        site_count: trial.sites.len(),
        verdict,
        reasons,
        cohort: chosen,
        other_cohorts,
        checklist: checked,
        met,
        not_met,
        unknown,
        to_settle,
        questions,
        relevance,
        fit,
        score: relevance + fit,
        issues,
    }
}

/// Relevance (is this trial about the person's cancer, markers and
/// treatment history?) and fit (how the criteria came out).
fn scores(
    trial: &Trial,
    person: &Person,
    checked: &[CheckedCriterion],
    verdict: Verdict,
) -> (f32, f32) {
    let mut relevance = 0.0f32;
    let head = format!("{} {}", trial.title, trial.conditions.join(" "));
    let named = types_in(&head);
    match type_fit(&named, person) {
        TypeFit::Match => {
            // A trial about few types is more specific than a basket.
            relevance += if named.len() <= 3 { 3.0 } else { 2.0 };
        }
        TypeFit::Broader => relevance += 1.5,
        TypeFit::Mismatch => {
            relevance -= if is_generic_cancer(&head.to_lowercase()) {
                0.0
            } else {
                3.0
            }
        }
        TypeFit::NoneNamed | TypeFit::PersonUnknown => {
            if is_generic_cancer(&head.to_lowercase()) {
                relevance += 1.0;
            } else if !about_cancer(trial) {
                relevance -= 4.0;
            }
        }
    }
    let lh = head.to_lowercase();
    if person.histology.iter().any(|h| lh.contains(h.as_str())) {
        relevance += 0.5;
    }
    let mut marker_bonus = 0.0f32;
    let mut therapy_bonus = 0.0f32;
    for c in checked.iter().filter(|c| c.criterion.inclusion) {
        for a in &c.aspects {
            if a.status != Status::Met {
                continue;
            }
            match a.category {
                Category::Biomarker if !a.evidence.is_empty() => marker_bonus += 1.0,
                Category::PriorTherapy if !a.evidence.is_empty() => therapy_bonus += 0.5,
                _ => {}
            }
        }
    }
    relevance += marker_bonus.min(2.0) + therapy_bonus.min(1.5);
    let purpose = trial.purpose.as_deref().unwrap_or("").to_uppercase();
    if purpose.contains("TREATMENT") {
        relevance += 0.5;
    } else if !purpose.is_empty() {
        relevance -= 1.0;
    }
    if trial
        .study_type
        .as_deref()
        .is_some_and(|s| s.to_uppercase().contains("OBSERVATIONAL"))
    {
        relevance -= 0.5;
    }
    let key_unknown = checked
        .iter()
        .filter(|c| c.status == Status::Unknown && !c.screening)
        .count() as f32;
    let fit = match verdict {
        Verdict::LikelyEligible => 2.0,
        Verdict::Possibly => 0.0,
        Verdict::LikelyExcluded => -4.0,
    } - (0.25 * key_unknown).min(2.0);
    (relevance, fit)
}

fn questions(trial: &Trial, checked: &[CheckedCriterion], as_of: &str) -> Vec<String> {
    let mut q = Vec::new();
    let status = trial.status.as_deref().unwrap_or("not stated");
    q.push(format!(
        "Is the trial still enrolling? (Its status was \"{status}\" {as_of}.) Where is the site nearest to me?"
    ));
    let unknown: Vec<&CheckedCriterion> = checked
        .iter()
        .filter(|c| c.status == Status::Unknown && !c.screening)
        .collect();
    if !unknown.is_empty() {
        q.push("Which of my test results or records do you need to confirm that I qualify?".into());
    }
    if checked.iter().any(|c| c.status == Status::NotMet) {
        q.push("My records seem to rule me out on some criteria — could you check whether they really apply to me?".into());
    }
    if trial.conditions.len() > 1 || checked.iter().any(|c| c.criterion.cohort.is_some()) {
        q.push("Which group or cohort of the trial would I be in?".into());
    }
    q.push(
        "What does taking part involve: the treatment, how often I would visit, and which tests?"
            .into(),
    );
    q.push("What are the possible benefits and risks compared with the standard treatment I could have?".into());
    q.push("Who pays for the study treatment, tests and travel?".into());
    q
}

/// Sorts matches best first: score, then fewer not-met, then id.
pub fn rank(matches: &mut [TrialMatch]) {
    matches.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.not_met.cmp(&b.not_met))
            .then(a.trial_id.cmp(&b.trial_id))
    });
}
