//! The cancer-type catalog: names, synonyms, abbreviations, and the
//! cancer.gov URL folders (`/types/<folder>/`) that belong to each type, plus
//! detection of the types a piece of text names (typos tolerated).

use crate::text::{edit_distance, words};

/// One entry of the catalog.
#[derive(Debug)]
pub struct CancerType {
    /// Stable id used in the knowledge base (`liver`, `nsclc`, ...).
    pub id: &'static str,
    /// Name shown to people.
    pub name: &'static str,
    /// Lower-case phrases that name the type. A leading `~` marks an organ
    /// word ("colon", "stomach") that names the cancer only when the text
    /// also speaks of cancer; such aliases also never match page titles.
    pub aliases: &'static [&'static str],
    /// Abbreviations, matched case-sensitively ("ALL" is not "all").
    pub abbreviations: &'static [&'static str],
    /// cancer.gov `/types/<folder>/` folders whose pages are about this type.
    pub url_folders: &'static [&'static str],
    /// The broader type this is a kind of (`nsclc` → `lung`).
    pub parent: Option<&'static str>,
}

macro_rules! ct {
    ($id:literal, $name:literal, [$($a:literal),*], [$($ab:literal),*], [$($u:literal),*]) => {
        CancerType { id: $id, name: $name, aliases: &[$($a),*], abbreviations: &[$($ab),*], url_folders: &[$($u),*], parent: None }
    };
    ($id:literal, $name:literal, [$($a:literal),*], [$($ab:literal),*], [$($u:literal),*], $parent:literal) => {
        CancerType { id: $id, name: $name, aliases: &[$($a),*], abbreviations: &[$($ab),*], url_folders: &[$($u),*], parent: Some($parent) }
    };
}

/// Every cancer type Sextant recognizes.
pub static CATALOG: &[CancerType] = &[
    ct!(
        "liver",
        "liver cancer",
        [
            "liver cancer",
            "primary liver cancer",
            "hepatocellular carcinoma",
            "hepatocellular cancer",
            "hepatoma",
            "liver tumor",
            "hepatic cancer",
            "~liver"
        ],
        ["HCC"],
        ["liver"]
    ),
    ct!(
        "bile-duct",
        "bile duct cancer (cholangiocarcinoma)",
        ["bile duct cancer", "cholangiocarcinoma", "~bile duct"],
        [],
        [],
        "liver"
    ),
    ct!(
        "gallbladder",
        "gallbladder cancer",
        ["gallbladder cancer", "~gallbladder"],
        [],
        ["gallbladder"]
    ),
    ct!(
        "colorectal",
        "colorectal cancer",
        [
            "colorectal cancer",
            "colon cancer",
            "rectal cancer",
            "bowel cancer",
            "~colon",
            "~rectal",
            "~rectum",
            "~colorectal"
        ],
        ["CRC"],
        ["colorectal"]
    ),
    ct!(
        "anal",
        "anal cancer",
        ["anal cancer", "~anal", "~anus"],
        [],
        ["anal"]
    ),
    ct!(
        "stomach",
        "stomach (gastric) cancer",
        ["stomach cancer", "gastric cancer", "~gastric"],
        [],
        ["stomach"]
    ),
    ct!(
        "esophageal",
        "esophageal cancer",
        [
            "esophageal cancer",
            "oesophageal cancer",
            "cancer of the esophagus",
            "~esophagus",
            "~esophageal"
        ],
        [],
        ["esophageal"]
    ),
    ct!(
        "pancreatic",
        "pancreatic cancer",
        [
            "pancreatic cancer",
            "cancer of the pancreas",
            "pancreatic adenocarcinoma",
            "~pancreas",
            "~pancreatic"
        ],
        [],
        ["pancreatic"]
    ),
    ct!(
        "pnet",
        "pancreatic neuroendocrine tumors (islet cell tumors)",
        [
            "pancreatic neuroendocrine tumor",
            "islet cell tumor",
            "pancreatic net"
        ],
        [],
        []
    ),
    ct!(
        "small-intestine",
        "small intestine cancer",
        [
            "small intestine cancer",
            "small bowel cancer",
            "~small intestine"
        ],
        [],
        ["small-intestine"]
    ),
    ct!(
        "gi-neuroendocrine",
        "gastrointestinal neuroendocrine tumors",
        ["neuroendocrine tumor", "carcinoid tumor", "carcinoid"],
        [],
        ["gi-neuroendocrine-tumors"]
    ),
    ct!(
        "gist",
        "gastrointestinal stromal tumor (GIST)",
        ["gastrointestinal stromal tumor"],
        ["GIST"],
        [],
        "soft-tissue-sarcoma"
    ),
    ct!(
        "lung",
        "lung cancer",
        ["lung cancer", "~lung", "~lungs"],
        [],
        ["lung"]
    ),
    ct!(
        "nsclc",
        "non-small cell lung cancer",
        ["non small cell lung cancer", "nonsmall cell lung cancer"],
        ["NSCLC", "nsclc"],
        [],
        "lung"
    ),
    ct!(
        "sclc",
        "small cell lung cancer",
        ["small cell lung cancer"],
        ["SCLC", "sclc"],
        [],
        "lung"
    ),
    ct!(
        "mesothelioma",
        "mesothelioma",
        ["mesothelioma"],
        [],
        ["mesothelioma"]
    ),
    ct!(
        "thymoma",
        "thymoma and thymic carcinoma",
        ["thymoma", "thymic carcinoma", "~thymus"],
        [],
        ["thymoma"]
    ),
    ct!(
        "breast",
        "breast cancer",
        ["breast cancer", "~breast", "~breasts"],
        [],
        ["breast"]
    ),
    ct!(
        "dcis",
        "ductal carcinoma in situ (DCIS)",
        ["ductal carcinoma in situ"],
        ["DCIS"],
        [],
        "breast"
    ),
    ct!(
        "ovarian",
        "ovarian cancer",
        [
            "ovarian cancer",
            "fallopian tube cancer",
            "primary peritoneal cancer",
            "~ovarian",
            "~ovary",
            "~ovaries"
        ],
        [],
        ["ovarian"]
    ),
    ct!(
        "cervical",
        "cervical cancer",
        ["cervical cancer", "cancer of the cervix", "~cervix"],
        [],
        ["cervical"]
    ),
    ct!(
        "uterine",
        "uterine (endometrial) cancer",
        [
            "uterine cancer",
            "endometrial cancer",
            "uterine sarcoma",
            "~uterus",
            "~uterine",
            "~endometrial"
        ],
        [],
        ["uterine"]
    ),
    ct!(
        "vaginal",
        "vaginal cancer",
        ["vaginal cancer", "~vagina", "~vaginal"],
        [],
        ["vaginal"]
    ),
    ct!(
        "vulvar",
        "vulvar cancer",
        ["vulvar cancer", "~vulva", "~vulvar"],
        [],
        ["vulvar"]
    ),
    ct!(
        "gestational-trophoblastic",
        "gestational trophoblastic disease",
        [
            "gestational trophoblastic",
            "molar pregnancy",
            "hydatidiform mole",
            "choriocarcinoma"
        ],
        ["GTD"],
        ["gestational-trophoblastic"]
    ),
    ct!(
        "prostate",
        "prostate cancer",
        ["prostate cancer", "~prostate"],
        [],
        ["prostate"]
    ),
    ct!(
        "testicular",
        "testicular cancer",
        ["testicular cancer", "~testicle", "~testicular", "~testis"],
        [],
        ["testicular"]
    ),
    ct!(
        "penile",
        "penile cancer",
        ["penile cancer", "~penis", "~penile"],
        [],
        ["penile"]
    ),
    ct!(
        "bladder",
        "bladder cancer",
        [
            "bladder cancer",
            "urothelial carcinoma",
            "transitional cell cancer",
            "~bladder"
        ],
        [],
        ["bladder"]
    ),
    ct!(
        "kidney",
        "kidney (renal cell) cancer",
        [
            "kidney cancer",
            "renal cell carcinoma",
            "renal cell cancer",
            "renal cancer",
            "~kidney",
            "~kidneys",
            "~renal"
        ],
        ["RCC"],
        ["kidney"]
    ),
    ct!(
        "wilms",
        "Wilms tumor",
        ["wilms tumor", "nephroblastoma"],
        [],
        [],
        "kidney"
    ),
    ct!(
        "urethral",
        "urethral cancer",
        ["urethral cancer", "~urethra"],
        [],
        ["urethral"]
    ),
    ct!(
        "skin",
        "skin cancer",
        [
            "skin cancer",
            "basal cell carcinoma",
            "squamous cell carcinoma of the skin",
            "nonmelanoma skin cancer"
        ],
        [],
        ["skin"]
    ),
    ct!(
        "merkel",
        "Merkel cell carcinoma",
        ["merkel cell carcinoma", "merkel cell cancer"],
        [],
        [],
        "skin"
    ),
    ct!("melanoma", "melanoma", ["melanoma"], [], [], "skin"),
    ct!(
        "brain",
        "brain and spinal cord tumors",
        [
            "brain tumor",
            "brain cancer",
            "spinal cord tumor",
            "central nervous system tumor",
            "~brain"
        ],
        [],
        ["brain"]
    ),
    ct!(
        "glioma",
        "glioma",
        [
            "glioma",
            "glioblastoma",
            "astrocytoma",
            "oligodendroglioma",
            "brain stem glioma"
        ],
        ["GBM"],
        [],
        "brain"
    ),
    ct!("ependymoma", "ependymoma", ["ependymoma"], [], [], "brain"),
    ct!(
        "cns-embryonal",
        "central nervous system embryonal tumors",
        [
            "medulloblastoma",
            "embryonal tumor",
            "central nervous system embryonal tumor"
        ],
        [],
        [],
        "brain"
    ),
    ct!(
        "head-and-neck",
        "head and neck cancer",
        ["head and neck cancer", "throat cancer"],
        [],
        ["head-and-neck"]
    ),
    ct!(
        "laryngeal",
        "laryngeal cancer",
        [
            "laryngeal cancer",
            "cancer of the larynx",
            "~larynx",
            "~laryngeal"
        ],
        [],
        [],
        "head-and-neck"
    ),
    ct!(
        "hypopharyngeal",
        "hypopharyngeal cancer",
        ["hypopharyngeal cancer", "~hypopharynx", "~hypopharyngeal"],
        [],
        [],
        "head-and-neck"
    ),
    ct!(
        "oropharyngeal",
        "oropharyngeal cancer",
        ["oropharyngeal cancer", "~oropharynx", "~oropharyngeal"],
        [],
        [],
        "head-and-neck"
    ),
    ct!(
        "nasopharyngeal",
        "nasopharyngeal cancer",
        ["nasopharyngeal cancer", "~nasopharynx", "~nasopharyngeal"],
        [],
        [],
        "head-and-neck"
    ),
    ct!(
        "oral",
        "lip and oral cavity cancer",
        [
            "oral cavity cancer",
            "oral cancer",
            "mouth cancer",
            "tongue cancer",
            "lip and oral cavity cancer",
            "lip cancer"
        ],
        [],
        [],
        "head-and-neck"
    ),
    ct!(
        "salivary-gland",
        "salivary gland cancer",
        ["salivary gland cancer", "salivary gland tumor", "~salivary"],
        [],
        [],
        "head-and-neck"
    ),
    ct!(
        "paranasal-sinus",
        "paranasal sinus and nasal cavity cancer",
        [
            "paranasal sinus cancer",
            "nasal cavity cancer",
            "paranasal sinus and nasal cavity cancer"
        ],
        [],
        [],
        "head-and-neck"
    ),
    ct!(
        "metastatic-squamous-neck",
        "metastatic squamous neck cancer with occult primary",
        ["metastatic squamous neck cancer", "occult primary"],
        [],
        [],
        "head-and-neck"
    ),
    ct!(
        "thyroid",
        "thyroid cancer",
        ["thyroid cancer", "~thyroid"],
        [],
        ["thyroid"]
    ),
    ct!(
        "parathyroid",
        "parathyroid cancer",
        ["parathyroid cancer", "~parathyroid"],
        [],
        ["parathyroid"]
    ),
    ct!(
        "adrenocortical",
        "adrenocortical carcinoma",
        [
            "adrenocortical carcinoma",
            "adrenocortical cancer",
            "adrenal cancer",
            "cancer of the adrenal cortex",
            "~adrenal"
        ],
        [],
        ["adrenocortical"]
    ),
    ct!(
        "pheochromocytoma",
        "pheochromocytoma and paraganglioma",
        ["pheochromocytoma", "paraganglioma"],
        [],
        ["pheochromocytoma"]
    ),
    ct!(
        "pituitary",
        "pituitary tumors",
        ["pituitary tumor", "~pituitary"],
        [],
        ["pituitary"]
    ),
    ct!(
        "leukemia",
        "leukemia",
        ["leukemia", "leukaemia"],
        [],
        ["leukemia"]
    ),
    ct!(
        "all",
        "acute lymphoblastic leukemia (ALL)",
        ["acute lymphoblastic leukemia", "acute lymphocytic leukemia"],
        ["ALL"],
        [],
        "leukemia"
    ),
    ct!(
        "aml",
        "acute myeloid leukemia (AML)",
        ["acute myeloid leukemia", "acute myelogenous leukemia"],
        ["AML"],
        [],
        "leukemia"
    ),
    ct!(
        "cll",
        "chronic lymphocytic leukemia (CLL)",
        ["chronic lymphocytic leukemia"],
        ["CLL"],
        [],
        "leukemia"
    ),
    ct!(
        "cml",
        "chronic myeloid leukemia (CML)",
        ["chronic myelogenous leukemia", "chronic myeloid leukemia"],
        ["CML"],
        [],
        "leukemia"
    ),
    ct!(
        "hairy-cell",
        "hairy cell leukemia",
        ["hairy cell leukemia"],
        [],
        [],
        "leukemia"
    ),
    ct!("lymphoma", "lymphoma", ["lymphoma"], [], ["lymphoma"]),
    ct!(
        "hodgkin",
        "Hodgkin lymphoma",
        [
            "hodgkin lymphoma",
            "hodgkin disease",
            "hodgkins lymphoma",
            "hodgkin s lymphoma"
        ],
        [],
        [],
        "lymphoma"
    ),
    ct!(
        "nhl",
        "non-Hodgkin lymphoma",
        [
            "non hodgkin lymphoma",
            "nonhodgkin lymphoma",
            "non hodgkins lymphoma",
            "mycosis fungoides",
            "sezary syndrome"
        ],
        ["NHL"],
        [],
        "lymphoma"
    ),
    ct!(
        "myeloma",
        "multiple myeloma and plasma cell neoplasms",
        [
            "multiple myeloma",
            "myeloma",
            "plasma cell neoplasm",
            "plasmacytoma"
        ],
        [],
        ["myeloma"]
    ),
    ct!(
        "myeloproliferative",
        "myelodysplastic and myeloproliferative neoplasms",
        [
            "myelodysplastic syndrome",
            "myelodysplastic",
            "myeloproliferative neoplasm",
            "myeloproliferative",
            "polycythemia vera",
            "essential thrombocythemia",
            "primary myelofibrosis",
            "myelomonocytic leukemia",
            "chronic neutrophilic leukemia",
            "chronic eosinophilic leukemia",
            "atypical chronic myelogenous leukemia",
            "atypical chronic myeloid leukemia"
        ],
        ["MDS", "MPN"],
        ["myeloproliferative"]
    ),
    ct!(
        "bone",
        "bone cancer",
        ["bone cancer", "bone tumor", "chondrosarcoma"],
        [],
        ["bone"]
    ),
    ct!(
        "osteosarcoma",
        "osteosarcoma",
        [
            "osteosarcoma",
            "malignant fibrous histiocytoma of bone",
            "undifferentiated pleomorphic sarcoma of bone"
        ],
        [],
        [],
        "bone"
    ),
    ct!(
        "ewing",
        "Ewing sarcoma",
        ["ewing sarcoma", "ewing family of tumors"],
        [],
        [],
        "bone"
    ),
    ct!("chordoma", "chordoma", ["chordoma"], [], [], "bone"),
    ct!(
        "soft-tissue-sarcoma",
        "soft tissue sarcoma",
        [
            "soft tissue sarcoma",
            "sarcoma",
            "leiomyosarcoma",
            "liposarcoma"
        ],
        [],
        ["soft-tissue-sarcoma"]
    ),
    ct!(
        "rhabdomyosarcoma",
        "rhabdomyosarcoma",
        ["rhabdomyosarcoma"],
        [],
        [],
        "soft-tissue-sarcoma"
    ),
    ct!(
        "kaposi",
        "Kaposi sarcoma",
        ["kaposi sarcoma"],
        [],
        [],
        "soft-tissue-sarcoma"
    ),
    ct!(
        "neuroblastoma",
        "neuroblastoma",
        ["neuroblastoma"],
        [],
        ["neuroblastoma"]
    ),
    ct!(
        "retinoblastoma",
        "retinoblastoma",
        ["retinoblastoma"],
        [],
        ["retinoblastoma"]
    ),
    ct!(
        "eye",
        "eye cancer (intraocular melanoma)",
        [
            "eye cancer",
            "intraocular melanoma",
            "uveal melanoma",
            "ocular melanoma"
        ],
        [],
        ["eye"]
    ),
    ct!(
        "germ-cell",
        "germ cell tumors",
        ["germ cell tumor", "extragonadal germ cell tumor"],
        [],
        ["extragonadal-germ-cell", "extracranial-germ-cell"]
    ),
    ct!(
        "unknown-primary",
        "cancer of unknown primary",
        [
            "unknown primary",
            "carcinoma of unknown primary",
            "cancer of unknown primary"
        ],
        ["CUP"],
        ["unknown-primary"]
    ),
    ct!(
        "langerhans",
        "Langerhans cell histiocytosis",
        ["langerhans cell histiocytosis", "histiocytosis"],
        ["LCH"],
        ["langerhans"]
    ),
    ct!(
        "cardiac",
        "heart tumors",
        ["heart tumor", "cardiac tumor", "cardiac sarcoma"],
        [],
        ["cardiac"]
    ),
    ct!(
        "midline",
        "midline tract carcinoma",
        ["nut carcinoma", "midline tract carcinoma"],
        [],
        ["midline"]
    ),
    ct!(
        "men",
        "multiple endocrine neoplasia",
        ["multiple endocrine neoplasia"],
        [],
        ["multiple-endocrine-neoplasia"]
    ),
];

/// Looks a type up by id.
pub fn by_id(id: &str) -> Option<&'static CancerType> {
    CATALOG.iter().find(|c| c.id == id)
}

/// Words that make an organ word ("colon") mean its cancer.
fn is_cancer_context(w: &str) -> bool {
    const ROOTS: &[&str] = &[
        "cancer",
        "tumor",
        "tumour",
        "carcinoma",
        "malignan",
        "metasta",
        "oncolog",
        "sarcoma",
        "neoplasm",
        "chemo",
        "radiation",
        "lesion",
        "mass",
        "lump",
        "biopsy",
    ];
    ROOTS.iter().any(|r| w.starts_with(r))
}

/// A cancer type found in a text, with the words that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub id: &'static str,
    /// Token range in the text's word list.
    pub start: usize,
    pub end: usize,
}

/// How matching treats spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// Exact words only (page titles).
    Exact,
    /// Tolerates typos by word length (questions typed by people).
    Typos,
}

/// Finds the cancer types a text names. Overlapping matches keep the
/// longest ("non-small cell lung cancer" does not also yield "small cell
/// lung cancer"); every type appears at most once, in order of first mention.
pub fn detect(text: &str, matching: Matching) -> Vec<&'static CancerType> {
    let toks = words(text);
    let context = toks.iter().any(|w| is_cancer_context(w));
    let mut found: Vec<(usize, usize, &'static CancerType)> = Vec::new();
    for ct in CATALOG {
        for alias in ct.aliases {
            let (organ_word, alias) = match alias.strip_prefix('~') {
                Some(a) => (true, a),
                None => (false, *alias),
            };
            if organ_word && (!context || matching == Matching::Exact) {
                continue;
            }
            let atoks: Vec<&str> = alias.split(' ').collect();
            if atoks.len() > toks.len() {
                continue;
            }
            for i in 0..=toks.len() - atoks.len() {
                if atoks
                    .iter()
                    .zip(&toks[i..])
                    .all(|(a, t)| word_matches(a, t, matching))
                {
                    found.push((i, i + atoks.len(), ct));
                }
            }
        }
    }
    // Abbreviations: case-sensitive whole tokens.
    let raw: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    for (i, tok) in raw.iter().enumerate() {
        for ct in CATALOG {
            if ct.abbreviations.contains(tok) {
                found.push((i, i + 1, ct));
            }
        }
    }
    // Longest match wins where spans overlap (abbreviation token positions
    // coincide with word positions because both split on non-alphanumerics).
    found.sort_by_key(|(s, e, _)| (std::cmp::Reverse(e - s), *s));
    let mut kept: Vec<(usize, usize, &'static CancerType)> = Vec::new();
    for (s, e, ct) in found {
        let overlaps = kept
            .iter()
            .any(|(ks, ke, kct)| s < *ke && *ks < e && kct.id != ct.id);
        if !overlaps {
            kept.push((s, e, ct));
        }
    }
    kept.sort_by_key(|(s, _, _)| *s);
    let mut out: Vec<&'static CancerType> = Vec::new();
    for (_, _, ct) in kept {
        if !out.iter().any(|c| c.id == ct.id) {
            out.push(ct);
        }
    }
    out
}

fn word_matches(alias: &str, tok: &str, matching: Matching) -> bool {
    if alias == tok {
        return true;
    }
    // Plural "tumors", "cancers".
    if tok.len() == alias.len() + 1 && tok.ends_with('s') && tok.starts_with(alias) {
        return true;
    }
    if matching == Matching::Exact {
        return false;
    }
    let budget = match alias.chars().count() {
        0..=5 => 0,
        6..=8 => 1,
        _ => 2,
    };
    budget > 0 && edit_distance(alias, tok, budget) <= budget
}

/// The cancer types of a cancer.gov page: the types its title names
/// exactly, plus the type of its `/types/<folder>/` — unless the title names
/// a different disease that is not a kind of it (the pancreatic folder's page
/// on pancreatic neuroendocrine tumors is not about pancreatic cancer).
pub fn types_of_page(url: &str, title: &str) -> Vec<&'static str> {
    let titled: Vec<&'static CancerType> = detect(title, Matching::Exact);
    let mut out: Vec<&'static str> = Vec::new();
    if let Some(rest) = url.split("/types/").nth(1) {
        let folder = rest.split(['/', '#', '?']).next().unwrap_or("");
        for ct in CATALOG.iter().filter(|c| c.url_folders.contains(&folder)) {
            let fits = titled.is_empty()
                || titled
                    .iter()
                    .any(|t| t.id == ct.id || t.parent == Some(ct.id));
            if fits {
                out.push(ct.id);
            }
        }
    }
    for ct in titled {
        if !out.contains(&ct.id) {
            out.push(ct.id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<&'static str> {
        detect(text, Matching::Typos).iter().map(|c| c.id).collect()
    }

    #[test]
    fn detects_names_abbreviations_and_typos() {
        assert_eq!(
            ids("Is surgery an option for metastatic liver cancer?"),
            vec!["liver"]
        );
        assert_eq!(ids("what is HCC"), vec!["liver"]);
        assert_eq!(ids("treatment for pancretic cancer"), vec!["pancreatic"]);
        assert_eq!(ids("stage 3 NSCLC survival"), vec!["nsclc"]);
        assert_eq!(ids("non-small cell lung cancer"), vec!["nsclc"]);
        assert_eq!(ids("small cell lung cancer"), vec!["sclc"]);
        assert_eq!(ids("Adult Acute Lymphoblastic Leukemia"), vec!["all"]);
        assert_eq!(ids("what causes leukmeia"), vec!["leukemia"]);
        assert_eq!(ids("cancer in the colon"), vec!["colorectal"]);
    }

    #[test]
    fn ordinary_words_are_not_cancers() {
        assert!(ids("is it all right to exercise").is_empty());
        assert!(ids("my stomach hurts").is_empty());
        assert!(ids("I lived with my sister").is_empty());
        assert!(ids("bone marrow transplant").is_empty());
    }

    #[test]
    fn page_types_come_from_url_and_title() {
        let t = types_of_page(
            "https://www.cancer.gov/types/leukemia/patient/adult-all-treatment-pdq",
            "Adult Acute Lymphoblastic Leukemia Treatment (PDQ®)–Patient Version",
        );
        assert_eq!(t, vec!["leukemia", "all"]);
        let t = types_of_page(
            "https://www.cancer.gov/types/liver/what-is-liver-cancer/treatment",
            "Liver Cancer Treatment",
        );
        assert_eq!(t, vec!["liver"]);
        let t = types_of_page(
            "https://www.cancer.gov/types/pancreatic/patient/pnet-treatment-pdq",
            "Pancreatic Neuroendocrine Tumors (Islet Cell Tumors) Treatment",
        );
        assert_eq!(t, vec!["pnet"]);
        let t = types_of_page(
            "https://www.cancer.gov/types/liver/bile-duct",
            "Liver and Bile Duct Cancer",
        );
        assert_eq!(t, vec!["liver", "bile-duct"]);
        for c in CATALOG {
            assert!(
                c.parent.is_none_or(|p| by_id(p).is_some()),
                "{} has an unknown parent",
                c.id
            );
        }
    }

    #[test]
    fn catalog_ids_unique() {
        let mut ids: Vec<_> = CATALOG.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
