//! The words both record readers (FHIR, C-CDA) use to tell what a coded
//! entry is: which conditions are cancers and which are spread to a site,
//! histologies, staging and tumor-marker codes, cancer medicines, and
//! cancer surgery and radiation. One list, so the readers cannot drift.

/// "Infiltrating duct carcinoma of breast (disorder)" → without the
/// SNOMED semantic tag.
pub(crate) fn untag(s: &str) -> String {
    let s = s.trim();
    match s.rfind(" (") {
        Some(i) if s.ends_with(')') => s[..i].trim().to_string(),
        _ => s.to_string(),
    }
}

/// Words of a condition that make it a cancer.
#[rustfmt::skip]
pub(crate) const CANCER_WORDS: &[&str] = &[
    "carcinoma", "cancer", "malignant", "neoplasm", "tumor", "tumour", "lymphoma", "leukemia",
    "leukaemia", "melanoma", "sarcoma", "myeloma", "glioma", "glioblastoma", "blastoma",
    "mesothelioma", "adenoma",
];

pub(crate) fn is_cancer(display: &str) -> bool {
    let l = display.to_lowercase();
    CANCER_WORDS.iter().any(|w| l.contains(w))
        && !l.contains("benign")
        && !l.contains("screening")
        && !l.contains("history of")
}

/// How names of a spread to a site begin.
pub(crate) const SECONDARY_PREFIXES: &[&str] = &[
    "secondary malignant neoplasm of ",
    "metastatic malignant neoplasm to ",
    "metastasis to ",
    "metastasis from malignant tumor of ",
    "secondary carcinoma of ",
];

pub(crate) fn is_secondary(display: &str) -> bool {
    let l = untag(display).to_lowercase();
    l.starts_with("secondary malignant")
        || l.contains("metastatic malignant neoplasm to")
        || SECONDARY_PREFIXES.iter().any(|p| l.starts_with(p))
}

/// "Secondary malignant neoplasm of liver" → "liver".
pub(crate) fn secondary_site(display: &str) -> String {
    let l = untag(display).to_lowercase();
    SECONDARY_PREFIXES
        .iter()
        .find_map(|p| l.find(p).map(|i| l[i + p.len()..].trim().to_string()))
        .filter(|s| !s.is_empty())
        .unwrap_or(l)
}

/// Sextant's catalog id: from the name (and site) as is, else from the
/// organ with "cancer" added, since "Malignant neoplasm of colon,
/// unspecified" names its organ only.
pub(crate) fn type_id(name: &str, site: Option<&str>) -> Option<String> {
    use sextant_core::cancer::{detect, Matching};
    let text = format!("{name} {}", site.unwrap_or_default()).to_lowercase();
    let organ = name.to_lowercase().rsplit_once(" of ").and_then(|(_, o)| {
        o.split([',', '(', ';'])
            .next()
            .map(str::trim)
            .map(str::to_string)
    });
    [
        Some(text.clone()),
        organ.map(|o| format!("{o} cancer")),
        Some(format!("{text} cancer")),
    ]
    .into_iter()
    .flatten()
    .find_map(|t| {
        detect(&t, Matching::Exact)
            .first()
            .map(|c| c.id.to_string())
    })
}

pub(crate) fn laterality(words: &str) -> Option<String> {
    ["left", "right", "bilateral"]
        .into_iter()
        .find(|l| words.split(|c: char| !c.is_alphabetic()).any(|w| w == *l))
        .map(str::to_string)
}

/// The histology a problem's name states ("Infiltrating duct carcinoma").
pub(crate) fn histology_of(name: &str) -> Option<String> {
    let lower = name.to_lowercase();
    [
        ("infiltrating duct", "invasive ductal carcinoma"),
        ("invasive ductal", "invasive ductal carcinoma"),
        ("lobular", "lobular carcinoma"),
        ("ductal carcinoma in situ", "ductal carcinoma in situ"),
        ("adenocarcinoma", "adenocarcinoma"),
        ("squamous cell", "squamous cell carcinoma"),
        ("small cell", "small cell carcinoma"),
        ("transitional cell", "urothelial carcinoma"),
        ("urothelial", "urothelial carcinoma"),
        ("hepatocellular", "hepatocellular carcinoma"),
        ("melanoma", "melanoma"),
        ("glioblastoma", "glioblastoma"),
    ]
    .into_iter()
    .find(|(cue, _)| lower.contains(cue))
    .map(|(_, hist)| hist.to_string())
}

/// LOINC codes of staging observations: (code, which part, clinical or
/// pathologic).
pub(crate) type Staging = (&'static str, &'static str, &'static str);

pub(crate) const STAGING: &[Staging] = &[
    ("21908-9", "group", "clinical"),
    ("21902-2", "group", "pathologic"),
    ("21905-5", "t", "clinical"),
    ("21906-3", "n", "clinical"),
    ("21907-1", "m", "clinical"),
    ("21899-0", "t", "pathologic"),
    ("21900-6", "n", "pathologic"),
    ("21901-4", "m", "pathologic"),
];

/// Tumor markers by LOINC code, then by words of their names.
pub(crate) const MARKER_CODES: &[(&str, &str)] = &[
    ("40556-3", "ER"),
    ("16112-5", "ER"),
    ("85337-4", "ER"),
    ("40557-1", "PR"),
    ("16113-3", "PR"),
    ("85339-0", "PR"),
    ("18474-7", "HER2"),
    ("48676-1", "HER2"),
    ("85319-2", "HER2"),
    ("85318-4", "HER2"),
    ("72383-3", "HER2"),
    ("62862-8", "MSI"),
    ("81695-9", "MSI"),
    ("85147-7", "Ki-67"),
    ("94076-7", "TMB"),
    ("83052-1", "PD-L1"),
    ("2857-1", "PSA"),
    ("2039-6", "CEA"),
    ("10334-1", "CA-125"),
    ("24108-3", "CA 19-9"),
    ("6875-9", "CA 15-3"),
    ("1695-6", "5-HIAA"),
    ("31203-3", "5-HIAA"),
];
pub(crate) const MARKER_WORDS: &[(&str, &str)] = &[
    ("estrogen receptor", "ER"),
    ("progesterone receptor", "PR"),
    ("her2", "HER2"),
    ("erbb2", "HER2"),
    ("microsatellite", "MSI"),
    ("mismatch repair", "MMR"),
    ("ki-67", "Ki-67"),
    ("ki67", "Ki-67"),
    ("pd-l1", "PD-L1"),
    ("tumor mutational burden", "TMB"),
    ("tumor mutation burden", "TMB"),
    ("prostate specific", "PSA"),
    ("carcinoembryonic", "CEA"),
    ("ca 125", "CA-125"),
    ("ca-125", "CA-125"),
    ("ca125", "CA-125"),
    ("cancer ag 125", "CA-125"),
    ("ca 19-9", "CA 19-9"),
    ("cancer ag 19-9", "CA 19-9"),
    ("ca 15-3", "CA 15-3"),
    ("cancer ag 15-3", "CA 15-3"),
    ("hydroxyindoleacetate", "5-HIAA"),
];
/// Abbreviations that name a marker only as a whole word.
pub(crate) const MARKER_ABBREVIATIONS: &[(&str, &str)] = &[
    ("psa", "PSA"),
    ("cea", "CEA"),
    ("msi", "MSI"),
    ("tmb", "TMB"),
];

pub(crate) fn marker_name(code: Option<&str>, names: &[String]) -> Option<&'static str> {
    if let Some(m) = MARKER_CODES.iter().find(|(c, _)| Some(*c) == code) {
        return Some(m.1);
    }
    names.iter().find_map(|n| {
        let lower = n.to_lowercase();
        MARKER_WORDS
            .iter()
            .find(|(w, _)| lower.contains(w))
            .or_else(|| {
                let words = || lower.split(|c: char| !c.is_alphanumeric());
                MARKER_ABBREVIATIONS
                    .iter()
                    .find(|(a, _)| words().any(|w| w == *a))
            })
            .map(|(_, m)| *m)
    })
}

/// Stems of cancer medicines, for records that list every prescription
/// without saying which are cancer-related (as in the FHIR reader).
#[rustfmt::skip]
pub(crate) const CANCER_DRUGS: &[&str] = &[
    "platin", "taxel", "rubicin", "fluorouracil", "capecitabine", "gemcitabine",
    "cyclophosphamide", "methotrexate", "tamoxifen", "letrozole", "anastrozole", "exemestane",
    "fulvestrant", "leuprolide", "goserelin", "abiraterone", "enzalutamide", "bicalutamide",
    "mab", "nib", "ciclib", "parib", "etoposide", "vincristine", "vinorelbine", "irinotecan",
    "topotecan", "temozolomide", "lenalidomide", "bortezomib", "pemetrexed", "dacarbazine",
    "bleomycin", "ifosfamide", "cytarabine", "fludarabine", "bendamustine", "mitomycin",
    "hydroxyurea", "megestrol", "palbociclib", "ribociclib", "abemaciclib",
];

pub(crate) fn is_cancer_drug(name: &str) -> bool {
    let lower = name.to_lowercase();
    CANCER_DRUGS.iter().any(|d| lower.contains(d))
}

/// Words of procedure names that make them cancer treatments (as in the
/// FHIR reader).
#[rustfmt::skip]
pub(crate) const RADIATION_WORDS: &[&str] =
    &["radiation", "radiotherapy", "brachytherapy", "teleradiotherapy", "irradiation"];
#[rustfmt::skip]
pub(crate) const SURGERY_WORDS: &[&str] =
    &["ectomy", "resection", "excision", "lumpectomy", "amputation", "whipple"];

/// Whether a code system is ICD-10 (WHO or CM, by URI or OID).
pub(crate) fn is_icd10(system: &str) -> bool {
    let s = system.to_lowercase();
    s.contains("icd-10")
        || s.contains("icd10")
        || s == "urn:oid:2.16.840.1.113883.6.90"
        || s == "urn:oid:2.16.840.1.113883.6.3"
}

/// The site of a primary malignant neoplasm by its ICD-10 category
/// (C00-C75, C80): "C50.211" → "breast". Secondary neoplasms (C77-C79)
/// and the blood cancers are not here.
#[rustfmt::skip]
const ICD10_SITES: &[(&str, &str)] = &[
    ("C00", "lip"), ("C01", "base of tongue"), ("C02", "tongue"), ("C03", "gum"),
    ("C04", "floor of mouth"), ("C05", "palate"), ("C06", "mouth"), ("C07", "parotid gland"),
    ("C08", "salivary gland"), ("C09", "tonsil"), ("C10", "oropharynx"),
    ("C11", "nasopharynx"), ("C12", "pyriform sinus"), ("C13", "hypopharynx"),
    ("C15", "esophagus"), ("C16", "stomach"), ("C17", "small intestine"), ("C18", "colon"),
    ("C19", "rectosigmoid junction"), ("C20", "rectum"), ("C21", "anus"), ("C22", "liver"),
    ("C23", "gallbladder"), ("C24", "bile duct"), ("C25", "pancreas"),
    ("C30", "nasal cavity"), ("C31", "paranasal sinus"), ("C32", "larynx"),
    ("C33", "trachea"), ("C34", "lung"), ("C37", "thymus"), ("C40", "bone"), ("C41", "bone"),
    ("C43", "skin"), ("C44", "skin"), ("C45", "mesothelium"), ("C48", "peritoneum"),
    ("C49", "soft tissue"), ("C50", "breast"), ("C51", "vulva"), ("C52", "vagina"),
    ("C53", "cervix"), ("C54", "uterus"), ("C55", "uterus"), ("C56", "ovary"),
    ("C60", "penis"), ("C61", "prostate"), ("C62", "testis"), ("C64", "kidney"),
    ("C65", "renal pelvis"), ("C66", "ureter"), ("C67", "bladder"), ("C68", "urethra"),
    ("C69", "eye"), ("C70", "meninges"), ("C71", "brain"), ("C72", "spinal cord"),
    ("C73", "thyroid"), ("C74", "adrenal gland"), ("C80", "unknown primary"),
];

pub(crate) fn icd10_site(code: &str) -> Option<&'static str> {
    let cat = code.get(..3)?.to_uppercase();
    ICD10_SITES.iter().find(|(c, _)| *c == cat).map(|(_, s)| *s)
}

/// The organ a cancer's name states when no body site is given: the words
/// after its last "of", without side or sex ("Malignant neoplasm of
/// upper-inner quadrant of right female breast" → "breast"), when they
/// name an organ Sextant knows cancers of.
pub(crate) fn site_from_name(name: &str) -> Option<String> {
    let lower = untag(name).to_lowercase();
    let (_, organ) = lower.rsplit_once(" of ")?;
    let organ = organ.split([',', '(', ';']).next()?;
    let organ: Vec<&str> = organ
        .split_whitespace()
        .filter(|w| !["right", "left", "bilateral", "female", "male", "the"].contains(w))
        .collect();
    let organ = organ.join(" ");
    (!organ.is_empty() && type_id(&format!("{organ} cancer"), None).is_some()).then_some(organ)
}

/// SNOMED qualifier values that results are coded with, for codes given
/// without a display.
#[rustfmt::skip]
const RESULT_CODES: &[(&str, &str)] = &[
    ("10828004", "Positive"), ("260385009", "Negative"), ("52101004", "Present"),
    ("2667000", "Absent"), ("260373001", "Detected"), ("260415000", "Not detected"),
    ("42425007", "Equivocal"), ("75540009", "High"), ("62482003", "Low"),
];

pub(crate) fn coded_result(code: &str) -> Option<&'static str> {
    RESULT_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, w)| *w)
}

/// Whether a procedure is a surgery or a radiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcedureKind {
    Surgery,
    Radiation,
}

/// SNOMED codes of cancer surgeries and radiation, for codes given without
/// a display.
#[rustfmt::skip]
const PROCEDURE_CODES: &[(&str, &str, ProcedureKind)] = &[
    ("152198000", "Brachytherapy", ProcedureKind::Radiation),
    ("10611004", "Teleradiotherapy protons", ProcedureKind::Radiation),
    ("173170008", "Bilobectomy of lung", ProcedureKind::Surgery),
    ("173171007", "Lobectomy of lung", ProcedureKind::Surgery),
    ("359615001", "Partial lobectomy of lung", ProcedureKind::Surgery),
    ("49795001", "Total pneumonectomy", ProcedureKind::Surgery),
    ("172043006", "Total mastectomy", ProcedureKind::Surgery),
    ("392021009", "Lumpectomy of breast", ProcedureKind::Surgery),
];

pub(crate) fn procedure_by_code(system: &str, code: &str) -> Option<(&'static str, ProcedureKind)> {
    if !system.contains("snomed") {
        return None;
    }
    PROCEDURE_CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, n, k)| (*n, *k))
}
