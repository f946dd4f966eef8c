//! Tailoring an answer to the person's records: which cancer types to
//! favour, which reading of an ambiguous question the records support, the
//! facts to restate under "For your situation" (each with its source), and
//! questions for the care team that name their situation.
//!
//! The profile only steers retrieval and chooses among readings; every
//! medical sentence of the answer is still a cited sentence of a source.
//! The restated facts are the person's own records, attributed to them.

use sextant_core::{CancerType, FactUsed, CATALOG};
use sextant_records::{FactStatus, Profile, Provenance};

use crate::ambiguity::{Detected, ReadingSpec};

/// A reading to answer: a catalog spec, or one the profile made specific.
#[derive(Debug, Clone)]
pub struct Plan {
    pub label: String,
    pub rewrite: String,
    pub exclude_types: Vec<&'static str>,
    pub focus: &'static [&'static str],
    pub require_types: Vec<&'static str>,
    /// A wider focus to retry with when `focus` leaves too little: the
    /// sources may say little about breast cancer in the liver, but much
    /// about metastatic breast cancer.
    pub fallback_focus: Option<&'static [&'static str]>,
    /// Words from the records that retrieval favours ([`retrieval_terms`]).
    pub terms: Vec<String>,
}

impl From<&ReadingSpec> for Plan {
    fn from(s: &ReadingSpec) -> Plan {
        Plan {
            label: s.label.to_string(),
            rewrite: s.rewrite.to_string(),
            exclude_types: s.exclude_types.to_vec(),
            focus: s.focus,
            require_types: s.require_types.to_vec(),
            fallback_focus: None,
            terms: Vec::new(),
        }
    }
}

fn live<T>(facts: &[sextant_records::Fact<T>]) -> impl Iterator<Item = &sextant_records::Fact<T>> {
    facts.iter().filter(|f| f.status != FactStatus::Removed)
}

/// The lower-case result of the profile's first live `name` biomarker.
fn biomarker_result(p: &Profile, name: &str) -> Option<String> {
    live(&p.biomarkers)
        .find(|f| f.value.name.eq_ignore_ascii_case(name))
        .map(|f| f.value.result.to_lowercase())
}

/// The catalog types of the profile's primary cancers.
pub fn cancer_types(p: &Profile) -> Vec<&'static CancerType> {
    let mut out: Vec<&'static CancerType> = Vec::new();
    for f in live(&p.primary_cancers) {
        if let Some(ct) = f
            .value
            .type_id
            .as_deref()
            .and_then(|id| CATALOG.iter().find(|c| c.id == id))
        {
            if !out.iter().any(|c| c.id == ct.id) {
                out.push(ct);
            }
        }
    }
    out
}

/// Whether the records list spread to a place named by one of `words`.
fn spread_to(p: &Profile, words: &[&str]) -> bool {
    live(&p.metastatic_sites).any(|f| {
        let n = f.value.name.to_lowercase();
        words.iter().any(|w| n.contains(w))
    })
}

/// The reading the records support, if they settle it: the plan to answer.
pub fn choose(d: &Detected, p: &Profile) -> Option<Plan> {
    let types = cancer_types(p);
    let ids: Vec<&str> = types.iter().map(|c| c.id).collect();
    let has = |list: &[&str]| ids.iter().any(|i| list.contains(i));
    let readings = d.ambiguity.readings;
    // "Spread" ambiguities: started here (reading 0), or spread here from
    // the profile's primary cancer (reading 1, made specific to it).
    let spread = |here: &[&str], organ: &str, words: &[&str]| -> Option<Plan> {
        if has(here) {
            return Some(Plan::from(&readings[0]));
        }
        let primary = types.iter().find(|c| !here.contains(&c.id))?;
        if !spread_to(p, words) {
            return None;
        }
        let base = &readings[1];
        Some(Plan {
            label: format!(
                "Your records: {} that has spread to the {organ}",
                primary.name
            ),
            rewrite: format!(
                "{} that has spread to the {organ} ({organ} metastases)",
                primary.name
            ),
            exclude_types: base.exclude_types.to_vec(),
            focus: base.focus,
            require_types: vec![primary.id],
            fallback_focus: Some(&["metasta", "spread", "stage iv", "advanced", "distant"]),
            terms: Vec::new(),
        })
    };
    match d.ambiguity.id {
        "liver_spread" => spread(&["liver", "bile-duct"], "liver", &["liver", "hepat"]),
        "bone" => spread(&["bone", "osteosarcoma", "ewing"], "bone", &["bone"]),
        "brain" => spread(
            &["brain", "glioma", "ependymoma", "cns-embryonal"],
            "brain",
            &["brain"],
        ),
        "lung_spread" => spread(&["lung", "nsclc", "sclc"], "lung", &["lung", "pulmon"]),
        "skin" => {
            if has(&["melanoma"]) {
                Some(Plan::from(&readings[0]))
            } else if has(&["skin"]) {
                Some(Plan::from(&readings[1]))
            } else {
                None
            }
        }
        "blood" => {
            let pick = if has(&["leukemia", "all", "aml", "cll", "cml", "hairy-cell"]) {
                0
            } else if has(&["lymphoma", "hodgkin", "nhl"]) {
                1
            } else if has(&["myeloma"]) {
                2
            } else {
                return None;
            };
            Some(Plan::from(&readings[pick]))
        }
        _ => None,
    }
}

/// Words the sources use for the person's stage and biomarkers, for
/// retrieval to favour a little ([`crate::boosts::PROFILE_WEIGHT`]): a
/// stage IV, ER-positive, HER2-negative breast cancer brings up passages on
/// metastatic, hormone receptor-positive, HER2-negative disease first.
/// The person's cancer type is boosted separately, as a named type.
pub fn retrieval_terms(p: &Profile) -> Vec<String> {
    let mut out: Vec<&str> = Vec::new();
    let groups = live(&p.stages).filter_map(|f| f.value.group.as_deref());
    let mut stage_iv = live(&p.stages).any(|f| {
        f.value
            .m
            .as_deref()
            .is_some_and(|m| m.trim_start_matches(['c', 'p']).starts_with("M1"))
    }) || live(&p.metastatic_sites).next().is_some();
    for g in groups {
        let g = g.trim().to_uppercase();
        let roman = g.trim_start_matches("STAGE").trim();
        let base =
            roman.trim_end_matches(|c: char| c.is_ascii_alphabetic() && c != 'I' && c != 'V');
        match base {
            "IV" => stage_iv = true,
            "III" => out.extend(["stage iii", "locally advanced"]),
            "II" => out.push("stage ii"),
            "I" => out.extend(["stage i", "early stage"]),
            "0" => out.push("stage 0"),
            _ => {}
        }
    }
    if stage_iv {
        out.extend(["stage iv", "metastatic", "advanced"]);
    }
    let result = |name: &str| biomarker_result(p, name);
    let (er, pr, her2) = (result("ER"), result("PR"), result("HER2"));
    let pos = |r: &Option<String>| r.as_deref() == Some("positive");
    let neg = |r: &Option<String>| r.as_deref() == Some("negative");
    if pos(&er) || pos(&pr) {
        out.extend(["hormone receptor positive", "hormone therapy"]);
    }
    if pos(&her2) {
        out.extend(["her2 positive", "targeted therapy"]);
    } else if neg(&her2) {
        out.push("her2 negative");
    }
    if neg(&er) && neg(&pr) && neg(&her2) {
        out.push("triple negative");
    }
    let msi = result("MSI");
    if msi
        .as_deref()
        .is_some_and(|r| r.contains("high") || r == "positive")
    {
        out.extend(["microsatellite instability", "immunotherapy"]);
    }
    if result("PD-L1").as_deref().is_some_and(|r| r != "negative") {
        out.extend(["pd-l1", "immunotherapy"]);
    }
    let mut terms: Vec<String> = out.into_iter().map(str::to_string).collect();
    // Genes with a finding ("KRAS", "EGFR"): pages name the gene.
    for (gene, _) in gene_findings(p) {
        let g = gene.to_lowercase();
        if !terms.contains(&g) {
            terms.push(g);
        }
    }
    terms.dedup();
    terms
}

/// "TrialMatching_Patient01.json, Condition/abc code".
fn source(p: &[Provenance]) -> String {
    p.first()
        .map(|p| {
            let file = p.file.rsplit(['/', '\\']).next().unwrap_or(&p.file);
            format!("{file}, {}", p.locator)
        })
        .unwrap_or_default()
}

/// The facts to restate, in plain words, each with its source.
pub fn facts(p: &Profile) -> Vec<FactUsed> {
    let mut out = Vec::new();
    for f in live(&p.primary_cancers) {
        let c = &f.value;
        let what = c.histology.clone().unwrap_or_else(|| c.name.to_lowercase());
        let text = match (&c.site, &c.histology) {
            (Some(site), Some(_)) => format!("The cancer is {what} of the {site}."),
            _ => format!("The cancer is {what}."),
        };
        out.push(FactUsed {
            text,
            source: source(&f.provenance),
        });
    }
    let sites: Vec<&sextant_records::Fact<sextant_records::Site>> =
        live(&p.metastatic_sites).collect();
    if !sites.is_empty() {
        let names: Vec<&str> = sites.iter().map(|f| f.value.name.as_str()).collect();
        out.push(FactUsed {
            text: format!("It has spread to: {}.", names.join(", ")),
            source: sites
                .iter()
                .map(|f| source(&f.provenance))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    for f in live(&p.stages) {
        if let Some(g) = &f.value.group {
            out.push(FactUsed {
                text: format!("The stage is {g}."),
                source: source(&f.provenance),
            });
            break;
        }
    }
    for f in live(&p.biomarkers) {
        let b = &f.value;
        let mut text = format!("{}: {}", b.name, b.result);
        if let Some(v) = &b.variant {
            text.push_str(&format!(" ({v})"));
        }
        text.push('.');
        out.push(FactUsed {
            text,
            source: source(&f.provenance),
        });
    }
    let current: Vec<&sextant_records::Fact<sextant_records::Treatment>> = live(&p.treatments)
        .filter(|f| f.value.status.as_deref() == Some("active"))
        .collect();
    if !current.is_empty() {
        let names: Vec<String> = current
            .iter()
            .map(|f| {
                f.value
                    .name
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_lowercase()
            })
            .collect();
        out.push(FactUsed {
            text: format!("Current treatment: {}.", names.join(", ")),
            source: current
                .iter()
                .map(|f| source(&f.provenance))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    if let Some(f) = live(&p.performance).next() {
        out.push(FactUsed {
            text: format!("{} performance status: {}.", f.value.scale, f.value.value),
            source: source(&f.provenance),
        });
    }
    out
}

/// Questions for the care team that name the person's situation.
pub fn questions(p: &Profile) -> Vec<String> {
    let result = |name: &str| biomarker_result(p, name);
    let mut out = Vec::new();
    let hr_pos = ["ER", "PR"]
        .iter()
        .any(|m| result(m).as_deref() == Some("positive"));
    match (hr_pos, result("HER2").as_deref()) {
        (true, Some("negative")) => out.push(
            "My tumor is hormone receptor-positive and HER2-negative: is a CDK4/6 inhibitor or other hormone therapy part of my plan?"
                .to_string(),
        ),
        (_, Some("positive")) => {
            out.push("My tumor is HER2-positive: which HER2-targeted treatments fit my situation?".to_string())
        }
        _ => {}
    }
    if matches!(
        result("MSI").as_deref(),
        Some("positive" | "high" | "msi-h")
    ) {
        out.push("My tumor is MSI-high: could immunotherapy be an option for me?".to_string());
    }
    for gene in [
        "PIK3CA", "ESR1", "BRCA1", "BRCA2", "KRAS", "EGFR", "BRAF", "ALK", "ROS1",
    ] {
        if matches!(
            result(gene).as_deref(),
            Some("present" | "positive" | "detected")
        ) {
            out.push(format!(
                "My records show a {gene} change: is there a treatment or a clinical trial that targets it?"
            ));
            break;
        }
    }
    let sites: Vec<String> = live(&p.metastatic_sites)
        .map(|f| f.value.name.clone())
        .collect();
    if !sites.is_empty() {
        out.push(format!(
            "The cancer has spread to the {}: which treatments are aimed at those places, and what are their goals?",
            sites.join(", ")
        ));
    }
    out
}

/// Biomarker names that are not genes (receptors, scores, blood markers).
const NOT_GENES: &[&str] = &[
    "ER", "PR", "HER2", "MSI", "MMR", "TMB", "KI-67", "PD-L1", "PSA", "CEA", "CA-125", "CA 19-9",
    "CA 15-3",
];

/// The person's gene findings that are present: (gene, variant if stated).
pub fn gene_findings(p: &Profile) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for f in live(&p.biomarkers) {
        let b = &f.value;
        let present = matches!(
            b.result.to_lowercase().as_str(),
            "present" | "positive" | "detected" | "mutated" | "amplified"
        );
        if !present || NOT_GENES.iter().any(|n| n.eq_ignore_ascii_case(&b.name)) {
            continue;
        }
        // Without a named change, the kind of change picks CIViC's general
        // item: a point mutation is not an overexpression.
        let detail = b.detail.as_deref().unwrap_or("").to_lowercase();
        let general = if detail.contains("mutation") {
            Some("MUTATION".to_string())
        } else if detail.contains("amplification") {
            Some("AMPLIFICATION".to_string())
        } else {
            None
        };
        let item = (b.name.clone(), b.variant.clone().or(general));
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// Words CIViC's disease names use for the person's cancers ("breast").
pub fn disease_words(p: &Profile) -> Vec<&'static str> {
    let mut out = Vec::new();
    for ct in cancer_types(p) {
        let words: &[&'static str] = match ct.id {
            "colorectal" => &["colorectal", "colon", "rectal"],
            "nsclc" => &["non-small cell lung", "lung"],
            "sclc" => &["small cell lung", "lung"],
            "melanoma" => &["melanoma"],
            "aml" => &["acute myeloid"],
            "cml" => &["chronic myeloid"],
            "all" => &["acute lymphoblastic", "acute lymphoid"],
            "cll" => &["chronic lymphocytic"],
            "gist" => &["gastrointestinal stromal"],
            _ => &[],
        };
        if words.is_empty() {
            // The catalog name's first word: "breast", "ovarian", "prostate".
            if let Some(w) = ct.name.split_whitespace().next() {
                out.push(w);
            }
        }
        out.extend(words.iter().copied());
    }
    out
}

/// CIViC disease subtypes that do not fit the person's receptors
/// ("HER2-receptor positive breast cancer" for a HER2-negative tumor).
pub fn subtypes_to_avoid(p: &Profile) -> Vec<&'static str> {
    let result = |name: &str| biomarker_result(p, name);
    let mut out = Vec::new();
    if result("HER2").as_deref() == Some("negative") {
        out.push("her2-receptor positive");
    }
    if result("HER2").as_deref() == Some("positive") {
        out.push("her2-receptor negative");
    }
    if result("ER").as_deref() == Some("positive") || result("PR").as_deref() == Some("positive") {
        out.push("triple-receptor negative");
        out.push("estrogen-receptor negative");
    }
    if result("ER").as_deref() == Some("negative") {
        out.push("estrogen-receptor positive");
    }
    out
}
