//! Questions whose cancer reference means different diseases: "metastatic
//! liver cancer" is liver cancer that spread, or another cancer (colon,
//! breast) that spread to the liver, and the two are treated differently;
//! "skin cancer" is melanoma or the far more common basal and squamous cell
//! cancers; "blood cancer" is leukemia, lymphoma or myeloma. Each meaning is
//! answered on its own, with its own citations, and the person is told what
//! to ask to know which one applies.

/// One meaning of an ambiguous reference.
#[derive(Debug)]
pub struct ReadingSpec {
    /// The heading the reading is answered under.
    pub label: &'static str,
    /// What replaces the ambiguous words in the question for retrieval.
    pub rewrite: &'static str,
    /// Catalog ids of pages that belong to the *other* readings and must not
    /// be cited under this one ("liver" pages under "spread to the liver").
    pub exclude_types: &'static [&'static str],
    /// Words every sentence under the reading must contain (empty: any).
    pub focus: &'static [&'static str],
    /// When not empty, only pages about one of these catalog types may be
    /// cited under the reading (and `exclude_types` then excludes a page
    /// that has any of its types, not only one that has nothing else).
    pub require_types: &'static [&'static str],
}

/// An ambiguous reference and its readings.
#[derive(Debug)]
pub struct Ambiguity {
    /// Stable id (`liver_spread`).
    pub id: &'static str,
    /// How the reference is described to the person.
    pub phrase: &'static str,
    /// The question that tells which reading applies.
    pub which: &'static str,
    pub readings: &'static [ReadingSpec],
    /// Lower-case phrases that make the reference ambiguous; the matched
    /// phrase is what a reading's `rewrite` replaces.
    triggers: &'static [&'static str],
    /// Words that settle the meaning ("hepatocellular", "spread to the liver").
    settled_by: &'static [&'static str],
}

const LIVER_TYPES: &[&str] = &["liver", "bile-duct"];
const LUNG_TYPES: &[&str] = &["lung", "nsclc", "sclc"];
const BONE_TYPES: &[&str] = &["bone", "osteosarcoma", "ewing"];
const BRAIN_TYPES: &[&str] = &["brain", "glioma", "ependymoma", "cns-embryonal"];

/// Every ambiguous reference Sextant answers for each reading.
pub static AMBIGUITIES: &[Ambiguity] = &[
    Ambiguity {
        id: "liver_spread",
        phrase: "“Metastatic liver cancer”",
        which: "Did my cancer start in the liver, or did it start somewhere else (such as the colon or breast) and spread to the liver?",
        readings: &[
            ReadingSpec {
                label: "If the cancer started in the liver (primary liver cancer) and has spread",
                rewrite: "metastatic liver cancer that started in the liver",
                exclude_types: &["colorectal", "breast"],
                focus: &[],
                require_types: &["liver"],
            },
            ReadingSpec {
                label: "If a cancer that started elsewhere, such as the colon or breast, has spread to the liver",
                rewrite: "colon cancer that has spread to the liver (liver metastasis)",
                exclude_types: LIVER_TYPES,
                focus: &["liver", "hepat"],
                require_types: &[],
            },
        ],
        triggers: &[
            "metastatic liver cancer",
            "metastasized liver cancer",
            "metastatic liver tumor",
            "advanced metastatic liver cancer",
            "liver cancer that has metastasized",
            "liver cancer that metastasized",
            "liver cancer that has spread",
            "liver cancer that spread",
            "liver cancer has spread",
            "liver cancer spread",
            "liver cancer spreading",
            "liver cancer which has spread",
            "liver cancer that is spreading",
            "liver cancer has metastasized",
            "spread liver cancer",
        ],
        settled_by: &[
            "hepatocellular",
            "hcc",
            "primary liver",
            "started in the liver",
            "began in the liver",
            "spread to the liver",
            "spread to his liver",
            "spread to her liver",
            "spread to my liver",
            "liver metasta",
            "liver mets",
            "from the colon",
            "from colon",
            "from the breast",
            "from breast",
            "cholangio",
        ],
    },
    Ambiguity {
        id: "bone",
        phrase: "“Bone cancer”",
        which: "Did my cancer start in the bone itself, or did it start somewhere else (such as the breast, prostate or lung) and spread to the bone?",
        readings: &[
            ReadingSpec {
                label: "If the cancer started in the bone (primary bone cancer, such as osteosarcoma or Ewing sarcoma)",
                rewrite: "primary bone cancer (osteosarcoma)",
                exclude_types: &["breast", "prostate", "lung"],
                focus: &[],
                require_types: BONE_TYPES,
            },
            ReadingSpec {
                label: "If a cancer that started elsewhere, such as the breast, prostate or lung, has spread to the bone",
                rewrite: "cancer that has spread to the bone (bone metastases)",
                exclude_types: BONE_TYPES,
                focus: &["bone"],
                require_types: &[],
            },
        ],
        triggers: &[
            "metastatic bone cancer",
            "bone cancer",
            "cancer in the bone",
            "cancer in his bone",
            "cancer in her bone",
            "cancer in my bone",
            "bone tumor",
            "bone tumour",
        ],
        settled_by: &[
            "osteosarcoma",
            "ewing",
            "chondrosarcoma",
            "primary bone",
            "spread to the bone",
            "spread to his bone",
            "spread to her bone",
            "spread to my bone",
            "bone metasta",
            "bone mets",
            "myeloma",
        ],
    },
    Ambiguity {
        id: "brain",
        phrase: "“Brain cancer”",
        which: "Did the tumor start in the brain, or did a cancer that started somewhere else (such as the lung, breast or skin) spread to the brain?",
        readings: &[
            ReadingSpec {
                label: "If the tumor started in the brain (a primary brain tumor)",
                rewrite: "primary brain tumor (glioma)",
                exclude_types: &["lung", "nsclc", "sclc", "breast", "melanoma"],
                focus: &[],
                require_types: BRAIN_TYPES,
            },
            ReadingSpec {
                label: "If a cancer that started elsewhere, such as the lung, breast or skin (melanoma), has spread to the brain",
                rewrite: "cancer that has spread to the brain (brain metastases)",
                exclude_types: BRAIN_TYPES,
                focus: &["brain"],
                require_types: &[],
            },
        ],
        triggers: &[
            "metastatic brain cancer",
            "metastatic brain tumor",
            "brain cancer",
            "cancer in the brain",
            "cancer in his brain",
            "cancer in her brain",
            "cancer in my brain",
        ],
        settled_by: &[
            "glioma",
            "glioblastoma",
            "gbm",
            "astrocytoma",
            "meningioma",
            "medulloblastoma",
            "ependymoma",
            "primary brain",
            "spread to the brain",
            "spread to his brain",
            "spread to her brain",
            "spread to my brain",
            "brain metasta",
            "brain mets",
        ],
    },
    Ambiguity {
        id: "lung_spread",
        phrase: "“Metastatic lung cancer”",
        which: "Did my cancer start in the lung, or did it start somewhere else and spread to the lungs?",
        readings: &[
            ReadingSpec {
                label: "If the cancer started in the lung and has spread",
                rewrite: "metastatic lung cancer, stage IV non-small cell lung cancer",
                exclude_types: &["colorectal", "breast", "kidney"],
                focus: &[],
                require_types: LUNG_TYPES,
            },
            ReadingSpec {
                label: "If a cancer that started elsewhere, such as the breast, colon or kidney, has spread to the lungs",
                rewrite: "cancer that has spread to the lung (lung metastases)",
                exclude_types: LUNG_TYPES,
                focus: &["lung"],
                require_types: &[],
            },
        ],
        triggers: &[
            "metastatic lung cancer",
            "metastasized lung cancer",
            "lung cancer that has metastasized",
            "lung cancer that metastasized",
            "lung cancer that has spread",
            "lung cancer that spread",
            "lung cancer has spread",
            "lung cancer spread",
            "spread lung cancer",
            "cancer in the lungs",
            "cancer in his lungs",
            "cancer in her lungs",
            "cancer in my lungs",
        ],
        settled_by: &[
            "non-small",
            "non small",
            "nsclc",
            "sclc",
            "small cell",
            "small-cell",
            "started in the lung",
            "spread to the lung",
            "spread to his lung",
            "spread to her lung",
            "spread to my lung",
            "lung metasta",
            "lung mets",
            "spread to the brain",
            "spread to his brain",
            "spread to her brain",
            "spread to my brain",
            "spread to the bone",
            "spread to her bone",
            "spread to his bone",
            "spread to the liver",
            "spread to her liver",
            "spread to his liver",
        ],
    },
    Ambiguity {
        id: "skin",
        phrase: "“Skin cancer”",
        which: "Which kind of skin cancer is it: melanoma, or basal cell or squamous cell carcinoma?",
        readings: &[
            ReadingSpec {
                label: "If it is melanoma",
                rewrite: "melanoma",
                exclude_types: &[],
                focus: &[],
                require_types: &["melanoma"],
            },
            ReadingSpec {
                label: "If it is basal cell or squamous cell skin cancer (the most common kinds)",
                rewrite: "basal cell carcinoma or squamous cell carcinoma of the skin",
                exclude_types: &["melanoma", "merkel"],
                focus: &[],
                require_types: &["skin"],
            },
        ],
        triggers: &["skin cancer", "skin cancers", "cancer on the skin", "cancer of the skin"],
        settled_by: &[
            "melanoma",
            "basal",
            "squamous",
            "merkel",
            "nonmelanoma",
            "non-melanoma",
            "kaposi",
        ],
    },
    Ambiguity {
        id: "blood",
        phrase: "“Blood cancer”",
        which: "Which blood cancer is it exactly: a leukemia, a lymphoma, or multiple myeloma, and which type?",
        readings: &[
            ReadingSpec {
                label: "If it is a leukemia",
                rewrite: "leukemia",
                exclude_types: &["hodgkin", "nhl", "myeloma"],
                focus: &[],
                require_types: &["leukemia", "all", "aml", "cll", "cml", "hairy-cell"],
            },
            ReadingSpec {
                label: "If it is a lymphoma",
                rewrite: "lymphoma",
                exclude_types: &["leukemia", "all", "aml", "cll", "cml", "myeloma"],
                focus: &[],
                require_types: &["lymphoma", "hodgkin", "nhl"],
            },
            ReadingSpec {
                label: "If it is multiple myeloma",
                rewrite: "multiple myeloma",
                exclude_types: &["leukemia", "all", "aml", "cll", "cml", "hodgkin", "nhl"],
                focus: &[],
                require_types: &["myeloma"],
            },
        ],
        triggers: &["blood cancer", "blood cancers", "cancer of the blood", "cancer in the blood"],
        settled_by: &["leukemia", "leukaemia", "lymphoma", "myeloma", "myelodysplastic"],
    },
];

/// A detected ambiguity: which one, and the question's words it replaces.
#[derive(Debug, Clone, Copy)]
pub struct Detected {
    pub ambiguity: &'static Ambiguity,
    /// Byte range of the ambiguous words in the question.
    pub span: (usize, usize),
}

/// The ambiguous reference a question makes, if any.
pub fn detect(question: &str) -> Option<Detected> {
    // Lower-casing ASCII keeps byte offsets; other letters are compared as-is.
    let lower = question.to_ascii_lowercase();
    let norm = lower;
    for amb in AMBIGUITIES {
        if amb.settled_by.iter().any(|s| norm.contains(s)) {
            continue;
        }
        // The longest trigger wins, so "metastatic liver cancer" replaces
        // more than "liver cancer spread" would.
        let found = amb
            .triggers
            .iter()
            .filter_map(|t| {
                let at = norm.find(t)?;
                // Whole words only.
                let before_ok = at == 0 || !norm.as_bytes()[at - 1].is_ascii_alphanumeric();
                let end = at + t.len();
                let after_ok = end >= norm.len() || !norm.as_bytes()[end].is_ascii_alphanumeric();
                (before_ok && after_ok).then_some((at, end))
            })
            .max_by_key(|(a, e)| (e - a, usize::MAX - a));
        if let Some(span) = found {
            // "lung cancer that spread to her brain": the origin is said.
            let tail = &norm[span.1..];
            if tail.trim_start().starts_with("to ") {
                continue;
            }
            return Some(Detected {
                ambiguity: amb,
                span,
            });
        }
    }
    None
}

/// The question with the ambiguous words replaced by a reading's.
pub fn rewrite(question: &str, d: &Detected, reading: &ReadingSpec) -> String {
    rewrite_with(question, d, reading.rewrite)
}

/// The question with the ambiguous words replaced by `words`.
pub fn rewrite_with(question: &str, d: &Detected, words: &str) -> String {
    format!("{}{words}{}", &question[..d.span.0], &question[d.span.1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(q: &str) -> Option<&'static str> {
        detect(q).map(|d| d.ambiguity.id)
    }

    #[test]
    fn detects_ambiguous_references_and_leaves_settled_ones() {
        assert_eq!(
            id("Is surgery an option for metastatic liver cancer?"),
            Some("liver_spread")
        );
        assert_eq!(
            id("my mom has lung cancer that spread"),
            Some("lung_spread")
        );
        assert_eq!(
            id("my mom has lung cancer that spread to her brain, what radiation will she get"),
            None
        );
        assert_eq!(id("what does skin cancer look like"), Some("skin"));
        assert_eq!(id("is basal cell carcinoma dangerous"), None);
        assert_eq!(id("treatment for hepatocellular carcinoma"), None);
        assert_eq!(id("liver cancer treatment"), None);
        let q = "Is surgery an option for metastatic liver cancer?";
        let d = detect(q).unwrap();
        assert_eq!(
            rewrite(q, &d, &d.ambiguity.readings[1]),
            "Is surgery an option for colon cancer that has spread to the liver (liver metastasis)?"
        );
    }
}
