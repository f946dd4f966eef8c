//! Question analysis: what the question asks about (intent) and which cancer
//! types it names. Deterministic rules; no model.

use sextant_core::cancer::{detect, CancerType, Matching};
use sextant_core::text::{is_stopword, words};

/// The longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 2000;

/// What a question is after. Each intent has its own sections, query
/// expansion and questions for the care team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Fertility,
    EndOfLife,
    Nutrition,
    Surgery,
    SideEffects,
    Prognosis,
    Stages,
    Screening,
    Prevention,
    Causes,
    Symptoms,
    Diagnosis,
    Drug,
    Coping,
    Research,
    Treatment,
    General,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Fertility => "fertility",
            Intent::EndOfLife => "end_of_life",
            Intent::Nutrition => "nutrition",
            Intent::Surgery => "surgery",
            Intent::SideEffects => "side_effects",
            Intent::Prognosis => "prognosis",
            Intent::Stages => "stages",
            Intent::Screening => "screening",
            Intent::Prevention => "prevention",
            Intent::Causes => "causes",
            Intent::Symptoms => "symptoms",
            Intent::Diagnosis => "diagnosis",
            Intent::Drug => "drug",
            Intent::Coping => "coping",
            Intent::Research => "research",
            Intent::Treatment => "treatment",
            Intent::General => "general",
        }
    }
}

/// Word stems (prefixes of lower-case words) that signal each intent, in
/// order of precedence: the first intent with a match wins.
const INTENT_CUES: &[(Intent, &[&str])] = &[
    (
        Intent::Fertility,
        &[
            "fertil",
            "infertil",
            "freeze my eggs",
            "freezing my eggs",
            "egg freezing",
            "freeze eggs",
            "sperm",
            "have children",
            "have kids",
            "have a baby",
            "get pregnant",
            "become pregnant",
        ],
    ),
    (
        Intent::EndOfLife,
        &[
            "hospice",
            "palliative",
            "comfort care",
            "comfort only",
            "end of life",
            "last weeks",
            "last days",
            "dying",
        ],
    ),
    (
        Intent::Nutrition,
        // What to eat, not eating as a symptom ("food gets stuck when I
        // swallow" is a symptom question).
        &[
            "what to eat",
            "what should i eat",
            "what can i eat",
            "what should he eat",
            "what should she eat",
            "eat during",
            "eating during",
            "eat while",
            "eat after",
            "eating after",
            "start eating",
            "eating again",
            "foods to avoid",
            "foods should",
            "food should",
            "diet",
            "nutrition",
            "appetite",
            "supplement",
            "vitamin",
            "drink alcohol",
            "keep my weight",
            "keep weight",
            "gain weight",
        ],
    ),
    (
        Intent::SideEffects,
        &["side effect", "adverse", "toxicit", "late effect"],
    ),
    (
        Intent::Surgery,
        &[
            "surgery",
            "surgical",
            "surgeon",
            "operat",
            "resect",
            "hepatectomy",
            "mastectomy",
            "lumpectomy",
            "colectomy",
            "prostatectomy",
            "lobectomy",
            "whipple",
            "pancreatoduodenectomy",
            "cystectomy",
            "nephrectomy",
            "hysterectomy",
            "gastrectomy",
            "esophagectomy",
            "remove the tumor",
            "removing the tumor",
            "cut out",
        ],
    ),
    (
        Intent::Prognosis,
        &[
            "prognos",
            "outlook",
            "survival",
            "survive",
            "life expectancy",
            "chance of recovery",
            "chances",
            "curable",
            "how long",
            "live with",
            "mortality",
            "death rate",
            "recurrence rate",
            "cure rate",
            "deadly",
            "fatal",
            "die from",
            "die of",
            "terminal",
        ],
    ),
    (
        Intent::Stages,
        // "stage 4 colon cancer" describes; it does not ask about staging.
        &[
            "staging",
            "stages",
            "what stage",
            "which stage",
            "stage mean",
            "stage means",
            "stage is",
            "stage does",
            "stage of my",
            "tnm",
            "grade of",
        ],
    ),
    (
        Intent::Screening,
        &[
            "screen",
            "mammogram",
            "colonoscopy",
            "pap test",
            "pap smear",
            "early detection",
            "psa test",
        ],
    ),
    (
        Intent::Prevention,
        &[
            "prevent",
            "prevention",
            "lower my risk",
            "reduce my risk",
            "lower the risk",
            "reduce the risk",
            "avoid getting",
        ],
    ),
    (
        Intent::Coping,
        &[
            "cope",
            "coping",
            "talk to my",
            "talk with my",
            "tell my",
            "anxiety",
            "anxious",
            "depress",
            "scared",
            "afraid",
            "emotion",
            "stress",
            "caregiver",
            "support group",
            "talk to my family",
            "feelings",
        ],
    ),
    (
        Intent::Causes,
        &[
            "cause",
            "risk factor",
            "at risk",
            "risk of",
            "inherit",
            "hereditar",
            "genetic",
            "gene ",
            "genes",
            "family history",
            "run in famil",
            "runs in famil",
            "in my family",
            "who gets",
            "why do people get",
        ],
    ),
    (
        Intent::Symptoms,
        &[
            "symptom",
            "sign",
            "warning sign",
            "feel like",
            "how do i know if",
        ],
    ),
    (
        Intent::Diagnosis,
        &[
            "diagnos",
            "test",
            "biopsy",
            "scan",
            "detect",
            "exam",
            "find out if",
            "tell if",
            "imaging",
            "mri",
            "ct ",
            "pet ",
        ],
    ),
    (
        Intent::Research,
        &[
            "clinical trial",
            "research",
            "new treatment",
            "studies",
            "study",
            "experimental",
            "being done for",
        ],
    ),
    (
        Intent::Treatment,
        &[
            "treat",
            "therapy",
            "therapies",
            "option",
            "cure",
            "chemo",
            "radiation",
            "immunotherap",
            "manage",
            "medication",
            "medicine",
            "drug",
        ],
    ),
];

/// What Sextant understood of a question.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub question: String,
    pub intent: Intent,
    pub cancer_types: Vec<&'static CancerType>,
    /// Meaningful words of the question (stopwords removed).
    pub content_words: Vec<String>,
    /// The drug a drug question names (a drug page title), when any.
    pub drug: Option<String>,
    /// The question is about a child or teenager.
    pub about_child: bool,
    /// Sub-stages of a numbered stage the question names ("iia", "iib", "iic").
    pub stage_variants: Vec<String>,
    /// When set, every sentence of the answer must contain one of these
    /// lower-case words (a reading about cancer spread to the liver keeps
    /// to the liver).
    pub focus: &'static [&'static str],
    /// Words from the person's records (stage, receptors, genes) that
    /// retrieval favours a little: "stage IV", "hormone receptor positive".
    pub profile_terms: Vec<String>,
}

/// Problems with the question itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuestionError {
    #[error(
        "the question is empty: ask something like \"Is surgery an option for liver cancer?\""
    )]
    Empty,
    #[error("the question is {chars} characters long; please keep it under {MAX_QUESTION_CHARS}")]
    TooLong { chars: usize },
}

/// The Roman numeral of a stage as people type it ("2", "two", "ii").
fn roman_stage(word: &str) -> Option<&'static str> {
    Some(match word {
        "0" | "zero" => "0",
        "1" | "one" | "i" => "i",
        "2" | "two" | "ii" => "ii",
        "3" | "three" | "iii" => "iii",
        "4" | "four" | "iv" => "iv",
        _ => return None,
    })
}

/// Checks and trims a question.
pub fn validate(question: &str) -> Result<String, QuestionError> {
    let q = sextant_core::text::normalize_ws(question);
    let chars = q.chars().count();
    if chars == 0 || !q.chars().any(char::is_alphanumeric) {
        return Err(QuestionError::Empty);
    }
    if chars > MAX_QUESTION_CHARS {
        return Err(QuestionError::TooLong { chars });
    }
    Ok(q)
}

/// Words of `data/people.tsv` of one kind (`child`, `child_is_patient`,
/// `relative`), sorted.
pub(crate) fn people(kind: &str) -> &'static [&'static str] {
    static P: std::sync::OnceLock<Vec<(&'static str, Vec<&'static str>)>> =
        std::sync::OnceLock::new();
    let all = P.get_or_init(|| {
        let mut by_kind: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
        for r in crate::quality::data_rows(include_str!("../data/people.tsv")) {
            let (Some(&k), Some(&w)) = (r.first(), r.get(1)) else {
                continue;
            };
            match by_kind.iter_mut().find(|(x, _)| *x == k) {
                Some((_, v)) => v.push(w),
                None => by_kind.push((k, vec![w])),
            }
        }
        for (_, v) in &mut by_kind {
            v.sort_unstable();
        }
        by_kind
    });
    all.iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[][..], |(_, v)| v.as_slice())
}

/// Whether the person the question is about is a child: "childhood" or
/// "pediatric" cancer, "my 5-year-old", "my son has ...". A parent who asks
/// how to tell their kids, or a belief that "leukemia is a kids' cancer",
/// does not make the patient a child.
pub fn patient_is_child(toks: &[String]) -> bool {
    if toks.iter().any(|t| {
        matches!(
            t.as_str(),
            "childhood" | "pediatric" | "paediatric" | "juvenile"
        )
    }) {
        return true;
    }
    for (i, t) in toks.iter().enumerate() {
        // "my 5-year-old", "a 14 year old"
        if t == "year" && toks.get(i + 1).is_some_and(|n| n == "old") {
            if let Some(age) = i.checked_sub(1).and_then(|j| toks[j].parse::<u32>().ok()) {
                return age < 18;
            }
        }
        if people("child").binary_search(&t.as_str()).is_ok()
            && toks[i + 1..].iter().take(3).any(|n| {
                people("child_is_patient")
                    .binary_search(&n.as_str())
                    .is_ok()
            })
        {
            return true;
        }
    }
    false
}

/// Analyzes a validated question. `drug_names` are lower-case drug names the
/// knowledge base has pages for.
pub fn analyze(question: &str, drug_names: &[String]) -> Analysis {
    // Cues match at word starts: " sign" matches "signs" but not "design".
    let lower = format!(" {} ", words(question).join(" "));
    let cancer_types = detect(question, Matching::Typos);
    let toks = words(question);
    let drug = drug_names
        .iter()
        .find(|d| d.len() >= 4 && toks.iter().any(|t| t == *d))
        .cloned();
    // The clause that asks decides the intent ("I had chemo last year ...
    // how long will my hair take to grow back?"); the whole question only
    // when that clause has no cue.
    let intent_of = |text: &str| {
        INTENT_CUES
            .iter()
            .find(|(_, cues)| cues.iter().any(|c| text.contains(&format!(" {c}"))))
            .map(|(i, _)| *i)
    };
    let clause_lower = format!(
        " {} ",
        words(crate::asked::asking_clause(question)).join(" ")
    );
    let mut intent = intent_of(&clause_lower)
        .or_else(|| intent_of(&lower))
        .unwrap_or(Intent::General);
    // "What does stage 2 mean?", "What is stage IV breast cancer?": a
    // numbered stage, asked about.
    let stages: Vec<(&str, &'static str)> = toks
        .windows(2)
        .filter(|w| w[0] == "stage")
        .filter_map(|w| roman_stage(&w[1]).map(|r| (w[1].as_str(), r)))
        .collect();
    let numbered_stage = !stages.is_empty();
    if intent == Intent::General && numbered_stage {
        intent = Intent::Stages;
    }
    // "What is immunotherapy?" asks what a treatment is, not for options.
    let asks_what = lower.starts_with(" what is ")
        || lower.starts_with(" what are ")
        || lower.starts_with(" what s ");
    if intent == Intent::Treatment
        && asks_what
        && !lower.contains(" treat")
        && !lower.contains(" option")
    {
        intent = Intent::General;
    }
    if drug.is_some() && matches!(intent, Intent::Treatment | Intent::General) {
        intent = Intent::Drug;
    }
    let about_child = patient_is_child(&toks);
    let mut content_words: Vec<String> = toks.iter().filter(|w| !is_stopword(w)).cloned().collect();
    // Pages write stages in Roman numerals; people often type digits. The
    // typed form is replaced, and the sub-stages ("IIA", "IIB") pages use
    // when there is no plain "II" are kept aside for the query.
    let mut stage_variants = Vec::new();
    for (typed, roman) in stages {
        if roman == "0" {
            continue;
        }
        content_words.retain(|w| w != typed);
        content_words.push(roman.to_string());
        stage_variants.extend(["a", "b", "c"].map(|x| format!("{roman}{x}")));
    }
    Analysis {
        question: question.to_string(),
        intent,
        cancer_types,
        content_words,
        drug,
        about_child,
        stage_variants,
        focus: &[],
        profile_terms: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(q: &str) -> Intent {
        analyze(q, &["sorafenib".to_string()]).intent
    }

    #[test]
    fn intents() {
        assert_eq!(
            intent("Is surgery an option for metastatic liver cancer?"),
            Intent::Surgery
        );
        assert_eq!(
            intent("What are the treatments for Adult Acute Lymphoblastic Leukemia ?"),
            Intent::Treatment
        );
        assert_eq!(
            intent("What is the outlook for Breast Cancer ?"),
            Intent::Prognosis
        );
        assert_eq!(
            intent("What are the stages of Colon Cancer ?"),
            Intent::Stages
        );
        assert_eq!(
            intent("Who is at risk for Prostate Cancer? ?"),
            Intent::Causes
        );
        assert_eq!(
            intent("What are the symptoms of Lung Cancer ?"),
            Intent::Symptoms
        );
        assert_eq!(
            intent("How to diagnose Stomach Cancer ?"),
            Intent::Diagnosis
        );
        assert_eq!(
            intent("what research (or clinical trials) is being done for Liver Cancer ?"),
            Intent::Research
        );
        assert_eq!(intent("How to prevent Skin Cancer ?"), Intent::Prevention);
        assert_eq!(intent("What is (are) Melanoma ?"), Intent::General);
        assert_eq!(intent("What does stage 2 mean?"), Intent::Stages);
        assert_eq!(intent("What is stage 2 breast cancer?"), Intent::Stages);
        let a = analyze("what is stage 4 colon cancer", &[]);
        assert!(
            a.content_words.contains(&"iv".to_string()),
            "{:?}",
            a.content_words
        );
        assert_eq!(intent("What is immunotherapy?"), Intent::General);
        assert_eq!(
            intent("Does breast cancer run in families?"),
            Intent::Causes
        );
        assert_eq!(
            intent("What are the treatment options for HCC?"),
            Intent::Treatment
        );
        assert_eq!(
            intent("How do I talk to my kids about my cancer?"),
            Intent::Coping
        );
        assert_eq!(
            intent("my dad has stage 4 colon cancer, what treatments are there"),
            Intent::Treatment
        );
        assert_eq!(intent("What does sorafenib do?"), Intent::Drug);
        assert_eq!(intent("side effects of sorafenib"), Intent::SideEffects);
        assert_eq!(
            intent("How can I cope with anxiety after diagnosis?"),
            Intent::Coping
        );
        assert_eq!(intent("I want to design a garden"), Intent::General);
        assert_eq!(
            intent("Can I freeze my eggs before starting chemotherapy?"),
            Intent::Fertility
        );
        assert_eq!(
            intent("What does hospice care look like in the last weeks?"),
            Intent::EndOfLife
        );
        assert_eq!(
            intent("What should I eat during chemo for colon cancer?"),
            Intent::Nutrition
        );
        // The clause that asks decides, not the story before it.
        assert_eq!(
            intent("I had chemo and radiation for throat cancer. How can I get my taste back?"),
            Intent::Treatment
        );
        assert_eq!(
            intent(
                "My surgeon removed the tumor last month. What are the side effects of radiation?"
            ),
            Intent::SideEffects
        );
    }

    #[test]
    fn the_people_table_is_sorted_and_known() {
        let rows: Vec<Vec<&str>> =
            crate::quality::data_rows(include_str!("../data/people.tsv")).collect();
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "people.tsv is not sorted"
        );
        for r in &rows {
            assert_eq!(r.len(), 2, "{r:?}");
            assert!(
                ["child", "child_is_patient", "relative"].contains(&r[0]),
                "{r:?}"
            );
        }
        assert!(people("relative").contains(&"dad"));
    }

    #[test]
    fn the_patient_is_a_child_only_when_the_question_says_so() {
        let child = |q: &str| patient_is_child(&words(q));
        assert!(child("What are the treatments for Childhood Brain Tumors?"));
        assert!(child("my son has leukemia, what now"));
        assert!(child("My 5-year-old was diagnosed with neuroblastoma."));
        assert!(child("my daughter's scan"));
        assert!(!child("How do I tell my kids about my cancer?"));
        assert!(!child(
            "Leukemia is a kids' cancer, so at 72 my dad can't have it."
        ));
        assert!(!child("My 45 year old sister has breast cancer"));
        assert!(!child("Is surgery an option for liver cancer?"));
    }

    #[test]
    fn rejects_empty_and_long_questions() {
        assert_eq!(validate("   "), Err(QuestionError::Empty));
        assert_eq!(validate("?!"), Err(QuestionError::Empty));
        assert!(matches!(
            validate(&"a".repeat(2001)),
            Err(QuestionError::TooLong { chars: 2001 })
        ));
        assert_eq!(validate("  what is  HCC? ").unwrap(), "what is HCC?");
    }
}
