//! Clinical notes (oncology histories, trial-screening summaries, consult
//! notes) → profile facts: everything [`crate::text::read`] reads (cancers,
//! stage, grade, biomarkers, metastatic sites), and also age, sex,
//! performance status and treatments.
//!
//! How: the same tokens as the text reader (ASCII words and single
//! punctuation marks; byte offsets are the original text's, so every cited
//! span starts and ends on a char boundary), walked once per extractor with
//! a bounded look around each cue, so the work stays linear in the length
//! of the text. Every fact cites the bytes it was read from (`chars A..B`)
//! with those words as its excerpt.
//!
//! What is read, beyond the text reader:
//!
//! - **Age**: "47-year-old", "47 year old", "64 years-old", "47 yo",
//!   "49yo", "47 y/o", "aged 47", "age 47", "Age: 75", and "47F" / "63M" /
//!   "65 F" at the start of a line. The first "year-old" form wins over the
//!   first "age N" form; an age at an event ("at age 45", "at 45 years
//!   old") is not the person's age. At most one age, 0 to 120.
//! - **Sex**: a noun next to the age ("47-year-old woman", "55-year-old
//!   gentleman", "39yo F", "57yo W", "63M") or a label ("Sex: female")
//!   first; else a title (Mr, Mrs, Ms, Miss); else pronouns (she/her,
//!   he/his/him), only when the note uses one set alone. Nothing when the
//!   evidence disagrees. Sex is never inferred from an organ.
//! - **Performance status**: ECOG ("ECOG PS=0", "ECOG 1", "ECOG
//!   performance status of 2", "ECOG: 1-Restricted...", "PS 1",
//!   "performance status: 1"; a range "ECOG 0-1" is recorded as the worse
//!   value with the range in the excerpt) and Karnofsky ("KPS 80",
//!   "Karnofsky 70%"). A threshold ("ECOG ≤ 1") is not a value.
//! - **Diagnosis**: the opening line's diagnosis clause, first among the
//!   cancers (see `diagnosis_line`).
//! - **Treatments**: medicines by generic name, brand name and clinical
//!   shorthand ("carbo/taxol/pembro", "ipi-nivo", "T-DXd", "5-FU"), each
//!   recorded under its lower-case generic name; named regimens (FOLFOX,
//!   CAPOX, CHOP, BEP...) under the regimen's name ([`regimen_drugs`] lists
//!   what is in one); other monoclonal antibodies and kinase inhibitors by
//!   their stems ("-mab", "-nib", "-parib", "-ciclib"...), with their
//!   payload ("... vedotin"); radiation ("RT", "XRT", "SBRT", "SRS",
//!   "radiation", "chemoRT", "RAI"); surgery ("-ectomy", "resection",
//!   "excision", "debulking", "Whipple", "TURBT", "lymph node dissection",
//!   "surgery"). Drugs joined by "/", "+", ",", "and", "with" form one
//!   course: dates written right after it ("(1/15/24 - 4/29/24)", "9/1/2024
//!   – 6/15/2025", "(12/1/25-)", "8/2025-present") or a date range opening
//!   its line ("4/29/21 – 6/10/21: carbo/taxol/bev") become every drug's
//!   start and end, as written; an open range makes it `active`, an end
//!   date `completed`. A mention without dates folds into a dated course of
//!   the same treatment.
//!
//! Not a treatment: a negated one ("no prior chemotherapy", "never
//! received", "not a candidate for surgery", "opted against XRT", "declined
//! ..."), one in a plan ("plan to start", "will start", "may start", "to
//! start", "candidate for", "consider", "recommended", "intent of
//! undergoing"), a family member's ("mother ... mastectomy"), the
//! "radiation" of "radiation oncology" or "radiation pneumonitis", a
//! "resection margin", a few procedures that are not cancer care
//! (appendectomy, cholecystectomy...), supportive antibodies
//! (denosumab...), home medications that are not cancer medicines, and
//! investigational codes ("DB1303", "GIGA-564"). Shorthand that means other
//! things alone ("IPI" is also a prognostic index, "cis" a carcinoma in
//! situ) counts only next to another drug; capital-letter abbreviations
//! ("RT", "ADT", "ICE", "TIP") count only written in capitals ("Rt neck" is
//! the right side).
//!
//! Limits: these are patterns, not understanding. Lines of therapy are not
//! counted; a course's dates are those written next to it, not inferred
//! from the timeline around it; a treatment given for another cancer is
//! recorded like the rest.

use crate::profile::{
    Cancer, Fact, Method, Performance, Profile, Provenance, Treatment, TreatmentKind,
};
use crate::text::{self, is_digits, note, Doc, MAX_SOURCES};
use sextant_core::cancer::Matching;

/// Reads a clinical note into a profile: [`crate::text::read`]'s facts,
/// then age, sex, performance status and treatments. `name` is what
/// provenance calls the note.
pub fn read_note(name: &str, text: &str) -> Profile {
    let mut p = text::read(name, text);
    let mut age: Option<AgeFound> = None;
    let mut sex = SexEvidence::default();
    for (start, end) in text::pieces(text) {
        let d = Doc::new(name, &text[start..end], start);
        ages(&d, &mut age);
        sex_words(&d, &mut sex);
        performance(&d, &mut p);
        treatments(&d, &mut p);
    }
    if let Some(a) = age {
        note(&mut p.age, Fact::new(a.value, a.prov));
        // The sex stated with the age ("47-year-old woman") comes first.
        if let Some(stated) = a.sex {
            sex.stated.insert(0, stated);
        }
    }
    if let Some((value, provs)) = sex.decide() {
        let mut provs = provs.into_iter();
        if let Some(first) = provs.next() {
            let mut f = Fact::new(value.to_string(), first);
            for prov in provs.take(MAX_SOURCES - 1) {
                if !f.provenance.contains(&prov) {
                    f.provenance.push(prov);
                }
            }
            note(&mut p.sex, f);
        }
    }
    fold_undated(&mut p.treatments);
    diagnosis_line(name, text, &mut p);
    p.find_conflicts();
    p
}

// ---------------------------------------------------------------------------
// Diagnosis from the opening lines

/// Abbreviations clinical notes use for a diagnosis, with the catalog type.
const DIAGNOSIS_ABBREVIATIONS: &[(&str, &str)] = &[
    ("TNBC", "breast"),
    ("IDC", "breast"),
    ("ILC", "breast"),
    ("NSCLC", "nsclc"),
    ("SCLC", "sclc"),
    ("HCC", "liver"),
    ("RCC", "kidney"),
    ("ccRCC", "kidney"),
    ("CRC", "colorectal"),
    ("mCRC", "colorectal"),
    ("GBM", "glioma"),
    ("DLBCL", "nhl"),
    ("PTCL", "nhl"),
    ("MCL", "nhl"),
    ("HNSCC", "oropharyngeal"),
    ("PDAC", "pancreatic"),
    ("CRPC", "prostate"),
    ("mCRPC", "prostate"),
    ("MM", "myeloma"),
];

/// A history usually names the diagnosis in its first lines ("47-year-old
/// woman with metastatic cervical carcinoma"). The first line (of the
/// first three) whose diagnosis clause names a catalog type, or a diagnosis
/// abbreviation, gives the note's main cancer, cited to that clause and put
/// first; the report patterns' cancers stay after it (a history of another
/// cancer). The clause is its first sentence, without where the cancer
/// spread ("... to the lungs"). A blood cancer wins over the organ it sits
/// in ("gastric DLBCL"); a neuroendocrine, small or large cell cancer of a
/// named organ is that organ's ("... of the bladder"). "Carcinoma", "tumor"
/// and "malignancy" are read as "cancer" for the catalog ("cervical
/// carcinoma"); lymphomas other than Hodgkin's map to non-Hodgkin lymphoma.
fn diagnosis_line(name: &str, text: &str, p: &mut Profile) {
    let mut offset = 0;
    for line in text.split_inclusive('\n').take(3) {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_end();
        if trimmed.trim().is_empty() {
            continue;
        }
        // The diagnosis clause: what follows "diagnosed with" when the line
        // says it (a history of something else may come first), else the
        // line; in both cases before what was done about it.
        let lower_line = trimmed.to_ascii_lowercase();
        let from = lower_line
            .rfind("diagnosed with ")
            .map(|i| i + "diagnosed with ".len())
            .unwrap_or(0);
        let clause_end = [
            " s/p",
            "status post",
            " who received",
            " who was treated",
            " treated with",
            " received",
        ]
        .iter()
        .filter_map(|w| lower_line[from..].find(w).map(|i| i + from))
        .min()
        .unwrap_or(trimmed.len());
        let mut from = from;
        while !trimmed.is_char_boundary(from) {
            from += 1;
        }
        let mut clause_end = clause_end.clamp(from, trimmed.len());
        while !trimmed.is_char_boundary(clause_end) {
            clause_end -= 1;
        }
        // Its first sentence: a second one ("He also had thyroid cancer in
        // 1995") is another story. After "diagnosed with", what comes
        // "with" it is findings ("... with CT showing lung nodules").
        let mut clause_end = trimmed[from..clause_end]
            .find(". ")
            .map_or(clause_end, |i| from + i);
        if from > 0 {
            if let Some(i) = lower_line[from..clause_end].find(" with ") {
                clause_end = from + i;
            }
        }
        // "metastatic urachal adenocarcinoma to the lungs": where it spread
        // is not what it is.
        let head = trimmed[from..clause_end].to_ascii_lowercase();
        if let Some(m) = head.find("metasta") {
            if let Some(t) = [" to the ", " to "]
                .iter()
                .filter_map(|w| head[m..].find(w).map(|i| from + m + i))
                .min()
            {
                clause_end = t;
            }
        }
        while !trimmed.is_char_boundary(clause_end) {
            clause_end -= 1;
        }
        let Some(id) = diagnosis_type(&trimmed[from..clause_end]) else {
            continue;
        };
        let clause = &trimmed[from..clause_end];
        let lower = clause.to_ascii_lowercase();
        // Already read from the report patterns: nothing to add.
        if p.primary_cancers
            .iter()
            .any(|f| f.value.type_id.as_deref() == Some(id.as_str()))
        {
            return;
        }
        let Some(ct) = sextant_core::cancer::by_id(&id) else {
            continue;
        };
        // The words after "with", else the clause, name it as written.
        let words = match lower.find(" with ") {
            Some(i) => clause[i + 6..].trim(),
            None => clause.trim(),
        };
        let words: String = words.chars().take(120).collect();
        let cancer = Cancer {
            type_id: Some(ct.id.to_string()),
            name: if words.is_empty() {
                ct.name.to_string()
            } else {
                words.clone()
            },
            histology: None,
            site: None,
            laterality: None,
            code: None,
        };
        let prov = Provenance {
            file: name.to_string(),
            locator: format!("chars {}..{}", start + from, start + clause_end),
            method: Method::TextPattern,
            excerpt: Some(clause.trim().chars().take(200).collect()),
        };
        // The opening line's diagnosis is the one the note is about.
        p.primary_cancers.insert(0, Fact::new(cancer, prov));
        return;
    }
}

/// Blood cancers a diagnosis names, whatever organ they sit in ("gastric
/// DLBCL" is a lymphoma).
fn blood_cancer(lower: &str, raw: &str) -> Option<&'static str> {
    let abbreviation = raw
        .split(|c: char| !c.is_alphanumeric())
        .find_map(|w| DIAGNOSIS_ABBREVIATIONS.iter().find(|(a, _)| *a == w))
        .filter(|(a, _)| *a != "MM")
        .map(|(_, id)| *id)
        .filter(|id| matches!(*id, "nhl" | "hodgkin" | "myeloma" | "leukemia"));
    if lower.contains("lymphoma") {
        return Some(
            if lower.contains("hodgkin") && !lower.contains("non-hodgkin") {
                "hodgkin"
            } else {
                "nhl"
            },
        );
    }
    abbreviation.or_else(|| {
        ["leukemia", "leukaemia", "myeloma"]
            .iter()
            .find(|w| lower.contains(*w))
            .and_then(|w| {
                sextant_core::cancer::detect(w, Matching::Exact)
                    .first()
                    .map(|t| t.id)
            })
    })
}

/// Organs where a neuroendocrine or small/large cell cancer is that
/// organ's cancer ("small cell neuroendocrine tumor of the bladder"),
/// rather than a gastrointestinal neuroendocrine tumor.
const NEUROENDOCRINE_ORGANS: &[&str] = &[
    "bladder",
    "urachal",
    "prostate",
    "prostatic",
    "cervix",
    "cervical",
    "lung",
    "kidney",
    "renal",
    "breast",
    "ovary",
    "ovarian",
    "uterus",
    "uterine",
    "endometrial",
    "thymus",
];

/// The catalog type a diagnosis clause names: a blood cancer first, then
/// an organ-located neuroendocrine cancer, then the first type named
/// (exact words, then organ words next to "cancer"), then an abbreviation.
fn diagnosis_type(clause: &str) -> Option<String> {
    let lower = clause.to_ascii_lowercase();
    if let Some(id) = blood_cancer(&lower, clause) {
        return Some(id.to_string());
    }
    let normalized = [
        "adenocarcinoma",
        "carcinoma",
        "malignancy",
        "neoplasm",
        "tumour",
        "tumor",
    ]
    .iter()
    .fold(lower.replace("urachal", "bladder"), |t, w| {
        t.replace(w, "cancer")
    });
    if lower.contains("neuroendocrine")
        || lower.contains("small cell")
        || lower.contains("large cell")
    {
        let organ = lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .find(|w| NEUROENDOCRINE_ORGANS.contains(w));
        if let Some(o) = organ {
            let o = if o == "urachal" { "bladder" } else { o };
            let typed = format!("{o} cancer");
            if let Some(t) = sextant_core::cancer::detect(&typed, Matching::Typos).first() {
                // Lung: small cell or not, as the clause says.
                if t.id != "lung" {
                    return Some(t.id.to_string());
                }
            }
        }
    }
    let exact = |t: &str| {
        sextant_core::cancer::detect(t, Matching::Exact)
            .first()
            .map(|t| t.id.to_string())
    };
    // A diagnosis abbreviation ("stage IV IDC") before organ words, which
    // also name findings ("lung nodules").
    let abbreviation = || {
        clause
            .split(|c: char| !c.is_alphanumeric())
            .find_map(|w| DIAGNOSIS_ABBREVIATIONS.iter().find(|(a, _)| *a == w))
            .map(|(_, id)| id.to_string())
    };
    exact(&lower)
        .or_else(abbreviation)
        .or_else(|| exact(&normalized))
        // Organ words ("... of the bladder") count next to "cancer".
        .or_else(|| {
            sextant_core::cancer::detect(&normalized, Matching::Typos)
                .first()
                .map(|t| t.id.to_string())
        })
}

// ---------------------------------------------------------------------------
// Age

/// The age chosen so far: the first of the best tier (0: "47-year-old" and
/// its kin; 1: "age 47").
struct AgeFound {
    tier: u8,
    value: u32,
    prov: Provenance,
    /// The sex stated right after it, with its source.
    sex: Option<(&'static str, Provenance)>,
}

/// Words after a number that make it an age ("47-year-old", "47 y/o").
#[rustfmt::skip]
const YEARS_OLD: &[&str] = &[
    "year old", "years old", "yr old", "yrs old", "yo", "y / o", "y . o", "yoa", "year of age",
    "years of age",
];

/// Words before an age that make it the age at some event ("at 45 years
/// old", "at age 45").
const EVENT_AGE: &[&str] = &["at", "when", "since", "until", "by", "before", "after"];

/// Sex nouns (lower-case) and the sex they state.
#[rustfmt::skip]
const SEX_NOUNS: &[(&str, &str)] = &[
    ("woman", "female"), ("women", "female"), ("female", "female"), ("lady", "female"),
    ("girl", "female"), ("man", "male"), ("men", "male"), ("male", "male"),
    ("gentleman", "male"), ("boy", "male"),
];

/// One-letter sexes, written in capitals right after an age ("39yo F",
/// "57yo W", "45 M").
fn sex_letter(w: &str) -> Option<&'static str> {
    match w {
        "f" | "w" => Some("female"),
        "m" => Some("male"),
        _ => None,
    }
}

/// Looks for ages in `d`: keeps the first of the best tier in `best`, with
/// the sex stated next to it (not next to a relative's age).
fn ages(d: &Doc, best: &mut Option<AgeFound>) {
    let mut i = 0;
    while i < d.len() {
        let Some(hit) = age_at(d, i) else {
            i += 1;
            continue;
        };
        if best.as_ref().is_none_or(|b| hit.tier < b.tier) {
            *best = Some(AgeFound {
                tier: hit.tier,
                value: hit.value,
                prov: d.prov(hit.a, hit.b),
                sex: hit.sex.map(|(value, e)| (value, d.prov(hit.a, e))),
            });
        }
        i = hit.b.max(i + 1);
    }
}

struct AgeHit {
    tier: u8,
    value: u32,
    /// Tokens `a..b` state the age.
    a: usize,
    b: usize,
    /// The sex stated right after it, and the token after that word.
    sex: Option<(&'static str, usize)>,
}

/// Whether token `i` begins the text or a line.
fn starts_line(d: &Doc, i: usize) -> bool {
    i == 0 || d.line_start(i)
}

/// A plausible age written as a number of at most three digits.
fn age_number(w: &str) -> Option<u32> {
    if !is_digits(w) || w.len() > 3 {
        return None;
    }
    w.parse().ok().filter(|&v| v <= 120)
}

/// Whether the number at `i` is part of a date, a ratio or a decimal
/// ("1/15/24", "2.5").
fn in_number(d: &Doc, i: usize) -> bool {
    let before = i > 0
        && d.touching(i - 1)
        && (d.w(i - 1) == "/"
            || (d.w(i - 1) == "." && i > 1 && d.touching(i - 2) && is_digits(d.w(i - 2))));
    let after =
        d.touching(i) && d.touching(i + 1) && d.is(i + 1, &["/", "."]) && is_digits(d.w(i + 2));
    before || after
}

fn age_at(d: &Doc, i: usize) -> Option<AgeHit> {
    let w = d.w(i);
    let event = i > 0 && d.is(i - 1, EVENT_AGE);
    // "47-year-old", "47 yo", "47 y/o", and "65 F" at a line's start.
    if let Some(value) = age_number(w) {
        if in_number(d, i) || event {
            return None;
        }
        let mut j = i + 1;
        while d.w(j) == "-" && j < i + 3 {
            j += 1;
        }
        if let Some(e) = d.any_phrase(j, YEARS_OLD) {
            return Some(AgeHit {
                tier: 0,
                value,
                a: i,
                b: e,
                sex: sex_after(d, e),
            });
        }
        if starts_line(d, i) && value >= 15 && d.upper(i + 1) && !d.touching(i + 1) {
            if let Some(s) = sex_letter(d.w(i + 1)).filter(|_| d.w(i + 1) != "w") {
                return Some(AgeHit {
                    tier: 0,
                    value,
                    a: i,
                    b: i + 1,
                    sex: Some((s, i + 2)),
                });
            }
        }
        return None;
    }
    // "49yo", "49yoF", "63M" (at a line's start).
    let digits = w.bytes().take_while(u8::is_ascii_digit).count();
    if (1..=3).contains(&digits) && digits < w.len() {
        if event || (i > 0 && d.touching(i - 1) && d.is(i - 1, &["/", ".", "-"])) {
            return None;
        }
        let value: u32 = w[..digits].parse().ok().filter(|&v| v <= 120)?;
        let suffix = &w[digits..];
        let hit = |sex| AgeHit {
            tier: 0,
            value,
            a: i,
            b: i + 1,
            sex,
        };
        return match suffix {
            "yo" | "yoa" => Some(hit(sex_after(d, i + 1))),
            "yof" | "yow" => Some(hit(Some(("female", i + 1)))),
            "yom" => Some(hit(Some(("male", i + 1)))),
            "f" | "m" if starts_line(d, i) && value >= 15 && d.upper(i) && !d.touching(i) => {
                Some(hit(sex_letter(suffix).map(|s| (s, i + 1))))
            }
            _ => None,
        };
    }
    // "aged 47", "age 47", "Age: 75" — not "at age 45".
    if d.is(i, &["age", "aged"]) && !event && !(i > 1 && d.w(i - 1) == "the") {
        let mut j = i + 1;
        while d.is(j, &[":", "=", "-", "is"]) && j < i + 3 {
            j += 1;
        }
        let value = age_number(d.w(j))?;
        if in_number(d, j) || d.w(j + 1) == "%" {
            return None;
        }
        let mut e = j + 1;
        if let Some(end) = d.any_phrase(e, &["years", "years old", "yrs", "yo"]) {
            e = end;
        }
        return Some(AgeHit {
            tier: 1,
            value,
            a: i,
            b: e,
            sex: sex_after(d, e),
        });
    }
    None
}

/// A sex noun within four words after an age, in the same clause
/// ("47-year-old African American woman"); a capital letter only right
/// after it ("39yo F").
fn sex_after(d: &Doc, e: usize) -> Option<(&'static str, usize)> {
    if d.upper(e) && !d.line_start(e) {
        if let Some(s) = sex_letter(d.w(e)) {
            if !d.touching(e) || d.stop(e + 1) || d.is(e + 1, &[",", ":"]) {
                return Some((s, e + 1));
            }
        }
    }
    let mut j = e;
    while d.w(j) == "-" && j < e + 2 {
        j += 1;
    }
    for k in j..j + 4 {
        if k >= d.len() || d.stop(k) || d.line_start(k) || d.is(k, &[",", "with", "who", "("]) {
            return None;
        }
        if let Some((_, s)) = SEX_NOUNS.iter().find(|(n, _)| *n == d.w(k)) {
            return Some((s, k + 1));
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Sex

/// What a note says of sex, strongest first.
#[derive(Default)]
struct SexEvidence {
    /// A noun next to the age, or a "Sex:" label.
    stated: Vec<(&'static str, Provenance)>,
    /// Mr, Mrs, Ms, Miss.
    titles: Vec<(&'static str, Provenance)>,
    /// The first female and the first male pronoun.
    she: Option<Provenance>,
    he: Option<Provenance>,
}

impl SexEvidence {
    /// The sex the strongest kind of evidence states unanimously, with its
    /// sources; `None` where it disagrees.
    fn decide(self) -> Option<(&'static str, Vec<Provenance>)> {
        for tier in [self.stated, self.titles] {
            if let Some((first, _)) = tier.first() {
                let first = *first;
                if tier.iter().any(|(s, _)| *s != first) {
                    return None;
                }
                return Some((first, tier.into_iter().map(|(_, p)| p).collect()));
            }
        }
        match (self.she, self.he) {
            (Some(p), None) => Some(("female", vec![p])),
            (None, Some(p)) => Some(("male", vec![p])),
            _ => None,
        }
    }
}

/// Labels, titles and pronouns.
fn sex_words(d: &Doc, sex: &mut SexEvidence) {
    for i in 0..d.len() {
        match d.w(i) {
            "sex" | "gender" => {
                let mut j = i + 1;
                while d.is(j, &[":", "="]) && j < i + 3 {
                    j += 1;
                }
                let s = SEX_NOUNS
                    .iter()
                    .find(|(n, _)| *n == d.w(j))
                    .map(|(_, s)| *s)
                    .or_else(|| sex_letter(d.w(j)).filter(|_| d.w(j) != "w"));
                if let Some(s) = s.filter(|_| !d.line_start(j)) {
                    sex.stated.push((s, d.prov(i, j + 1)));
                }
            }
            "mr" | "mrs" | "ms" | "miss" => {
                let raw = d.raw(i);
                let titled =
                    raw.starts_with('M') && raw[1..].bytes().all(|b| b.is_ascii_lowercase());
                let named = d.w(i + 1) == "."
                    || d.raw(i + 1)
                        .bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_uppercase());
                if titled && named && (d.w(i) != "miss" || d.w(i + 1) != ".") {
                    let s = if d.w(i) == "mr" { "male" } else { "female" };
                    sex.titles.push((s, d.prov(i, i + 2)));
                }
            }
            w @ ("she" | "her" | "hers" | "herself" | "he" | "him" | "his" | "himself") => {
                // Not "HER-2", nor a word in capitals (a heading, "HER2/neu").
                if d.upper(i) || (w == "her" && d.touching(i) && d.is(i + 1, &["-", "/", "+", "2"]))
                {
                    continue;
                }
                let end = d.window(i, 3, 1, |_| false).max(i + 1);
                let slot = if w.starts_with('s') || w.starts_with("her") {
                    &mut sex.she
                } else {
                    &mut sex.he
                };
                if slot.is_none() {
                    *slot = Some(d.prov(i, end));
                }
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Performance status

/// Words between "ECOG" or "KPS" and the value.
#[rustfmt::skip]
const PS_FILLERS: &[&str] = &[
    "performance", "status", "ps", "score", "of", "is", "was", "=", ":", "(", ")", "-", "currently",
    "now", "grade", "today",
];

fn performance(d: &Doc, p: &mut Profile) {
    let mut i = 0;
    while i < d.len() {
        match ps_at(d, i) {
            Some((end, fact)) => {
                note(&mut p.performance, fact);
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
}

/// A performance status starting at token `i`: the token after it and the
/// fact.
fn ps_at(d: &Doc, i: usize) -> Option<(usize, Fact<Performance>)> {
    let (scale, from, max) = match d.w(i) {
        "ecog" | "zubrod" => ("ECOG", i + 1, 5),
        "kps" | "karnofsky" => ("Karnofsky", i + 1, 100),
        // "PS 1", "PS=0", in capitals; not after "ECOG" (read with it).
        "ps" if d.upper(i) && !(i > 0 && d.is(i - 1, &["ecog", "kps", "karnofsky"])) => {
            ("ECOG", i + 1, 4)
        }
        // "Performance status: 1", "WHO performance status 1".
        "performance"
            if d.w(i + 1) == "status"
                && !(i > 0 && d.is(i - 1, &["ecog", "kps", "karnofsky", "zubrod"])) =>
        {
            ("ECOG", i + 2, 4)
        }
        _ => return None,
    };
    let mut j = from;
    while j < from + 5 && d.is(j, PS_FILLERS) {
        j += 1;
    }
    // A threshold is not a value ("ECOG <= 1", "ECOG ≤ 1").
    if d.is(j, &["<", ">"]) || d.gap(j.saturating_sub(1)).contains(['≤', '≥', '<', '>']) {
        return None;
    }
    let value = |k: usize| -> Option<u32> {
        let w = d.w(k);
        if !is_digits(w) || w.len() > 3 || in_number(d, k) {
            return None;
        }
        w.parse().ok().filter(|&v| v <= max)
    };
    let v = value(j)?;
    let mut end = j + 1;
    let mut v = v;
    // A range: the worse value ("ECOG 0-1" → 1; "KPS 70-80" → 70).
    if d.is(end, &["-", "/", "to", "or"]) {
        if let Some(v2) = value(end + 1) {
            v = if scale == "ECOG" {
                v.max(v2)
            } else {
                v.min(v2)
            };
            end += 2;
        }
    }
    if scale == "Karnofsky" && d.w(end) == "%" {
        end += 1;
    } else if d.w(end) == "%" {
        return None;
    }
    Some((
        end,
        Fact::new(
            Performance {
                scale: scale.to_string(),
                value: v.to_string(),
            },
            d.prov(i, end),
        ),
    ))
}

// ---------------------------------------------------------------------------
// Treatments

/// When a table word counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Always.
    Any,
    /// Written in capitals ("RT", not "Rt" for right).
    Upper,
    /// Next to another drug ("ipi/nivo"; not "IPI low").
    Group,
}

/// A treatment word: the name it is recorded under, its kind, and when it
/// counts.
struct Rx {
    name: &'static str,
    kind: TreatmentKind,
    need: Need,
}

const fn m(name: &'static str) -> Rx {
    Rx {
        name,
        kind: TreatmentKind::Medication,
        need: Need::Any,
    }
}

const fn mu(name: &'static str) -> Rx {
    Rx {
        name,
        kind: TreatmentKind::Medication,
        need: Need::Upper,
    }
}

const fn mg(name: &'static str) -> Rx {
    Rx {
        name,
        kind: TreatmentKind::Medication,
        need: Need::Group,
    }
}

const fn r(name: &'static str) -> Rx {
    Rx {
        name,
        kind: TreatmentKind::Radiation,
        need: Need::Any,
    }
}

const fn ru(name: &'static str) -> Rx {
    Rx {
        name,
        kind: TreatmentKind::Radiation,
        need: Need::Upper,
    }
}

const fn s(name: &'static str) -> Rx {
    Rx {
        name,
        kind: TreatmentKind::Surgery,
        need: Need::Any,
    }
}

const fn su(name: &'static str) -> Rx {
    Rx {
        name,
        kind: TreatmentKind::Surgery,
        need: Need::Upper,
    }
}

/// Treatment words (lower-case; words separated by single spaces, hyphens
/// between them skipped: "nab paclitaxel" reads "nab-paclitaxel", "t dxd"
/// reads "T-DXd").
#[rustfmt::skip]
const TREATMENTS: &[(&str, Rx)] = &[
    // Platinum.
    ("carboplatin", m("carboplatin")), ("carbo", m("carboplatin")),
    ("paraplatin", m("carboplatin")), ("cisplatin", m("cisplatin")),
    ("cisplatinum", m("cisplatin")), ("cis", mg("cisplatin")), ("platinol", m("cisplatin")),
    ("oxaliplatin", m("oxaliplatin")), ("oxali", m("oxaliplatin")), ("eloxatin", m("oxaliplatin")),
    ("platinum", m("platinum")),
    // Taxanes.
    ("paclitaxel", m("paclitaxel")), ("taxol", m("paclitaxel")), ("pacli", m("paclitaxel")),
    ("nab paclitaxel", m("nab-paclitaxel")), ("abraxane", m("nab-paclitaxel")),
    ("docetaxel", m("docetaxel")), ("taxotere", m("docetaxel")),
    ("cabazitaxel", m("cabazitaxel")), ("jevtana", m("cabazitaxel")),
    // Other chemotherapy.
    ("doxorubicin", m("doxorubicin")), ("adriamycin", m("doxorubicin")),
    ("liposomal doxorubicin", m("liposomal doxorubicin")), ("doxil", m("liposomal doxorubicin")),
    ("epirubicin", m("epirubicin")), ("cyclophosphamide", m("cyclophosphamide")),
    ("cytoxan", m("cyclophosphamide")), ("fluorouracil", m("fluorouracil")),
    ("5 fluorouracil", m("fluorouracil")), ("5 fu", m("fluorouracil")), ("5fu", m("fluorouracil")),
    ("capecitabine", m("capecitabine")), ("xeloda", m("capecitabine")),
    ("cape", mg("capecitabine")),
    ("gemcitabine", m("gemcitabine")), ("gem", m("gemcitabine")), ("gemzar", m("gemcitabine")),
    ("pemetrexed", m("pemetrexed")), ("alimta", m("pemetrexed")),
    ("irinotecan", m("irinotecan")), ("camptosar", m("irinotecan")),
    ("liposomal irinotecan", m("liposomal irinotecan")), ("onivyde", m("liposomal irinotecan")),
    ("topotecan", m("topotecan")), ("etoposide", m("etoposide")), ("vp 16", m("etoposide")),
    ("temozolomide", m("temozolomide")), ("temodar", m("temozolomide")),
    ("mitomycin", m("mitomycin")), ("methotrexate", m("methotrexate")),
    ("vinorelbine", m("vinorelbine")), ("vincristine", m("vincristine")),
    ("vinblastine", m("vinblastine")), ("eribulin", m("eribulin")), ("halaven", m("eribulin")),
    ("ifosfamide", m("ifosfamide")), ("trabectedin", m("trabectedin")),
    ("lurbinectedin", m("lurbinectedin")), ("bleomycin", m("bleomycin")),
    ("dacarbazine", m("dacarbazine")), ("bendamustine", m("bendamustine")),
    ("cytarabine", m("cytarabine")), ("fludarabine", m("fludarabine")),
    ("romidepsin", m("romidepsin")), ("belinostat", m("belinostat")),
    ("pralatrexate", m("pralatrexate")), ("azacitidine", m("azacitidine")),
    ("decitabine", m("decitabine")), ("trifluridine tipiracil", m("trifluridine/tipiracil")),
    ("lonsurf", m("trifluridine/tipiracil")), ("tas 102", m("trifluridine/tipiracil")),
    ("lenalidomide", m("lenalidomide")), ("pomalidomide", m("pomalidomide")),
    ("thalidomide", m("thalidomide")),
    // Immunotherapy.
    ("pembrolizumab", m("pembrolizumab")), ("pembro", m("pembrolizumab")),
    ("keytruda", m("pembrolizumab")), ("nivolumab", m("nivolumab")), ("nivo", m("nivolumab")),
    ("opdivo", m("nivolumab")), ("ipilimumab", m("ipilimumab")), ("ipi", mg("ipilimumab")),
    ("yervoy", m("ipilimumab")), ("atezolizumab", m("atezolizumab")), ("atezo", m("atezolizumab")),
    ("tecentriq", m("atezolizumab")), ("durvalumab", m("durvalumab")), ("durva", m("durvalumab")),
    ("imfinzi", m("durvalumab")), ("avelumab", m("avelumab")), ("bavencio", m("avelumab")),
    ("cemiplimab", m("cemiplimab")), ("libtayo", m("cemiplimab")),
    ("dostarlimab", m("dostarlimab")), ("jemperli", m("dostarlimab")),
    ("tremelimumab", m("tremelimumab")), ("relatlimab", m("relatlimab")),
    ("opdualag", m("nivolumab/relatlimab")), ("tebentafusp", m("tebentafusp")),
    ("car t", m("car-t cell therapy")), ("car t cell", m("car-t cell therapy")),
    ("car t cells", m("car-t cell therapy")), ("lifileucel", m("lifileucel")),
    // Antibodies and their conjugates.
    ("bevacizumab", m("bevacizumab")), ("bev", m("bevacizumab")), ("avastin", m("bevacizumab")),
    ("mvasi", m("bevacizumab")), ("trastuzumab", m("trastuzumab")),
    ("herceptin", m("trastuzumab")), ("pertuzumab", m("pertuzumab")),
    ("perjeta", m("pertuzumab")), ("phesgo", m("trastuzumab/pertuzumab")),
    ("cetuximab", m("cetuximab")), ("erbitux", m("cetuximab")),
    ("panitumumab", m("panitumumab")), ("vectibix", m("panitumumab")),
    ("ramucirumab", m("ramucirumab")), ("cyramza", m("ramucirumab")),
    ("trastuzumab deruxtecan", m("trastuzumab deruxtecan")),
    ("t dxd", m("trastuzumab deruxtecan")), ("tdxd", m("trastuzumab deruxtecan")),
    ("enhertu", m("trastuzumab deruxtecan")),
    ("trastuzumab emtansine", m("trastuzumab emtansine")),
    ("ado trastuzumab emtansine", m("trastuzumab emtansine")),
    ("t dm1", m("trastuzumab emtansine")), ("kadcyla", m("trastuzumab emtansine")),
    ("sacituzumab govitecan", m("sacituzumab govitecan")),
    ("sacituzumab", m("sacituzumab govitecan")), ("trodelvy", m("sacituzumab govitecan")),
    ("enfortumab vedotin", m("enfortumab vedotin")), ("enfortumab", m("enfortumab vedotin")),
    ("padcev", m("enfortumab vedotin")),
    ("tisotumab vedotin", m("tisotumab vedotin")), ("tisotumab", m("tisotumab vedotin")),
    ("tivdak", m("tisotumab vedotin")),
    ("brentuximab vedotin", m("brentuximab vedotin")), ("brentuximab", m("brentuximab vedotin")),
    ("adcetris", m("brentuximab vedotin")),
    ("mirvetuximab soravtansine", m("mirvetuximab soravtansine")),
    ("mirvetuximab", m("mirvetuximab soravtansine")), ("elahere", m("mirvetuximab soravtansine")),
    ("datopotamab deruxtecan", m("datopotamab deruxtecan")),
    ("dato dxd", m("datopotamab deruxtecan")),
    ("rituximab", m("rituximab")), ("rituxan", m("rituximab")),
    ("mogamulizumab", m("mogamulizumab")), ("amivantamab", m("amivantamab")),
    ("daratumumab", m("daratumumab")), ("blinatumomab", m("blinatumomab")),
    ("obinutuzumab", m("obinutuzumab")),
    // Kinase and other targeted inhibitors.
    ("osimertinib", m("osimertinib")), ("tagrisso", m("osimertinib")),
    ("erlotinib", m("erlotinib")), ("tarceva", m("erlotinib")), ("gefitinib", m("gefitinib")),
    ("afatinib", m("afatinib")), ("afitinib", m("afatinib")), ("dacomitinib", m("dacomitinib")),
    ("lazertinib", m("lazertinib")), ("alectinib", m("alectinib")), ("alecensa", m("alectinib")),
    ("crizotinib", m("crizotinib")), ("brigatinib", m("brigatinib")),
    ("lorlatinib", m("lorlatinib")), ("lorbrena", m("lorlatinib")),
    ("ceritinib", m("ceritinib")), ("entrectinib", m("entrectinib")),
    ("larotrectinib", m("larotrectinib")), ("selpercatinib", m("selpercatinib")),
    ("pralsetinib", m("pralsetinib")), ("capmatinib", m("capmatinib")),
    ("tepotinib", m("tepotinib")), ("sotorasib", m("sotorasib")), ("lumakras", m("sotorasib")),
    ("adagrasib", m("adagrasib")), ("krazati", m("adagrasib")), ("dabrafenib", m("dabrafenib")),
    ("trametinib", m("trametinib")), ("encorafenib", m("encorafenib")),
    ("binimetinib", m("binimetinib")), ("vemurafenib", m("vemurafenib")),
    ("cobimetinib", m("cobimetinib")), ("lapatinib", m("lapatinib")),
    ("neratinib", m("neratinib")), ("tucatinib", m("tucatinib")), ("imatinib", m("imatinib")),
    ("gleevec", m("imatinib")), ("sunitinib", m("sunitinib")), ("sutent", m("sunitinib")),
    ("pazopanib", m("pazopanib")), ("votrient", m("pazopanib")),
    ("cabozantinib", m("cabozantinib")), ("cabometyx", m("cabozantinib")),
    ("lenvatinib", m("lenvatinib")), ("levatinib", m("lenvatinib")), ("lenvima", m("lenvatinib")),
    ("axitinib", m("axitinib")), ("inlyta", m("axitinib")), ("sorafenib", m("sorafenib")),
    ("nexavar", m("sorafenib")), ("regorafenib", m("regorafenib")),
    ("stivarga", m("regorafenib")), ("fruquintinib", m("fruquintinib")),
    ("everolimus", m("everolimus")), ("afinitor", m("everolimus")),
    ("temsirolimus", m("temsirolimus")), ("olaparib", m("olaparib")), ("lynparza", m("olaparib")),
    ("niraparib", m("niraparib")), ("zejula", m("niraparib")), ("rucaparib", m("rucaparib")),
    ("rubraca", m("rucaparib")), ("talazoparib", m("talazoparib")),
    ("palbociclib", m("palbociclib")), ("ibrance", m("palbociclib")),
    ("ribociclib", m("ribociclib")), ("kisqali", m("ribociclib")),
    ("abemaciclib", m("abemaciclib")), ("verzenio", m("abemaciclib")),
    ("alpelisib", m("alpelisib")), ("piqray", m("alpelisib")),
    ("capivasertib", m("capivasertib")), ("elacestrant", m("elacestrant")),
    ("ibrutinib", m("ibrutinib")), ("zanubrutinib", m("zanubrutinib")),
    ("acalabrutinib", m("acalabrutinib")), ("venetoclax", m("venetoclax")),
    ("bortezomib", m("bortezomib")), ("carfilzomib", m("carfilzomib")),
    ("belzutifan", m("belzutifan")),
    // Hormonal therapy.
    ("letrozole", m("letrozole")), ("femara", m("letrozole")), ("anastrozole", m("anastrozole")),
    ("arimidex", m("anastrozole")), ("exemestane", m("exemestane")),
    ("aromasin", m("exemestane")), ("aromatase inhibitor", m("aromatase inhibitor")),
    ("aromatase inhibitors", m("aromatase inhibitor")), ("tamoxifen", m("tamoxifen")),
    ("fulvestrant", m("fulvestrant")), ("faslodex", m("fulvestrant")),
    ("enzalutamide", m("enzalutamide")), ("xtandi", m("enzalutamide")),
    ("abiraterone", m("abiraterone")), ("zytiga", m("abiraterone")),
    ("apalutamide", m("apalutamide")), ("erleada", m("apalutamide")),
    ("darolutamide", m("darolutamide")), ("nubeqa", m("darolutamide")),
    ("bicalutamide", m("bicalutamide")), ("casodex", m("bicalutamide")),
    ("leuprolide", m("leuprolide")), ("lupron", m("leuprolide")), ("eligard", m("leuprolide")),
    ("goserelin", m("goserelin")), ("zoladex", m("goserelin")), ("degarelix", m("degarelix")),
    ("firmagon", m("degarelix")), ("relugolix", m("relugolix")), ("orgovyx", m("relugolix")),
    ("adt", mu("androgen deprivation therapy")),
    ("androgen deprivation therapy", m("androgen deprivation therapy")),
    ("androgen deprivation", m("androgen deprivation therapy")),
    // Radioligands.
    ("pluvicto", m("lutetium-177 vipivotide tetraxetan")),
    ("lutathera", m("lutetium-177 dotatate")), ("xofigo", m("radium-223")),
    ("radium 223", m("radium-223")),
    // Regimens, by their names.
    ("folfox", m("folfox")), ("mfolfox", m("folfox")), ("mfolfox6", m("folfox")),
    ("folfox6", m("folfox")), ("folfox4", m("folfox")), ("modified folfox", m("folfox")),
    ("folfiri", m("folfiri")), ("folfirinox", m("folfirinox")), ("mfolfirinox", m("folfirinox")),
    ("modified folfirinox", m("folfirinox")), ("folfoxiri", m("folfoxiri")),
    ("capox", m("capox")), ("capeox", m("capox")), ("xelox", m("capox")), ("xeliri", m("xeliri")),
    ("flot", mu("flot")), ("chop", mu("chop")), ("r chop", mu("r-chop")), ("chp", mu("chp")),
    ("bv chp", mu("bv-chp")), ("choep", mu("choep")), ("ice", mu("ice")), ("r ice", mu("r-ice")),
    ("rice", mu("r-ice")), ("bep", mu("bep")), ("vip", mu("vip")), ("tip", mu("tip")),
    ("gdp", mu("gdp")), ("dhap", mu("dhap")), ("eshap", mu("eshap")), ("abvd", mu("abvd")),
    ("cvp", mu("cvp")), ("r cvp", mu("r-cvp")), ("epoch", mu("epoch")),
    ("da epoch", mu("epoch")), ("hypercvad", m("hyper-cvad")), ("hyper cvad", m("hyper-cvad")),
    ("tchp", mu("tchp")), ("tch", mu("tch")), ("cmf", mu("cmf")), ("fec", mu("fec")),
    ("mvac", mu("mvac")), ("ddmvac", m("mvac")), ("gemcis", m("gemcis")), ("gemox", m("gemox")),
    ("ecf", mu("ecf")), ("eox", mu("eox")), ("tpf", mu("tpf")),
    // Radiation.
    ("radiation", r("radiation therapy")), ("radiation therapy", r("radiation therapy")),
    ("radiotherapy", r("radiation therapy")), ("radiated", r("radiation therapy")),
    ("irradiated", r("radiation therapy")), ("irradiation", r("radiation therapy")),
    ("rt", ru("radiation therapy")), ("xrt", ru("radiation therapy")),
    ("imrt", ru("radiation therapy")), ("sbrt", ru("stereotactic body radiation therapy")),
    ("sabr", ru("stereotactic body radiation therapy")),
    ("stereotactic body radiation therapy", r("stereotactic body radiation therapy")),
    ("srs", ru("stereotactic radiosurgery")), ("radiosurgery", r("stereotactic radiosurgery")),
    ("stereotactic radiosurgery", r("stereotactic radiosurgery")),
    ("gamma knife", r("stereotactic radiosurgery")),
    ("wbrt", ru("whole brain radiation therapy")),
    ("whole brain radiation", r("whole brain radiation therapy")),
    ("proton therapy", r("proton therapy")), ("brachytherapy", r("brachytherapy")),
    ("chemoradiation", r("chemoradiation")), ("chemoradiotherapy", r("chemoradiation")),
    ("chemort", r("chemoradiation")), ("chemo rt", r("chemoradiation")),
    ("crt", ru("chemoradiation")), ("rai", ru("radioactive iodine")),
    ("radioactive iodine", r("radioactive iodine")),
    // Surgery (and any word ending in "-ectomy", see `ectomy`).
    ("surgery", s("surgery")), ("debulking", s("debulking")), ("whipple", s("whipple")),
    ("resection", s("resection")), ("wedge resection", s("wedge resection")),
    ("excision", s("excision")), ("exenteration", s("exenteration")), ("turbt", su("turbt")),
    ("bso", su("salpingo-oophorectomy")), ("bsoo", su("salpingo-oophorectomy")),
    ("mohs", s("mohs surgery")), ("cytoreduction", s("cytoreduction")),
    ("cytoreductive surgery", s("cytoreductive surgery")),
];

/// Procedures ending in "-ectomy" that are not cancer care.
#[rustfmt::skip]
const NOT_CANCER_SURGERY: &[&str] = &[
    "appendectomy", "cholecystectomy", "adenoidectomy", "vasectomy", "hemorrhoidectomy",
    "myomectomy", "polypectomy", "ectomy", "septectomy", "tubectomy", "meniscectomy",
    "discectomy", "laminectomy",
];

/// Stems that name a cancer medicine not in [`TREATMENTS`] (antibodies,
/// kinase, PARP, CDK4/6, PI3K and proteasome inhibitors).
const DRUG_STEMS: &[&str] = &["mab", "nib", "parib", "ciclib", "lisib", "zomib", "degib"];

/// Medicines with those stems that are not cancer treatment.
#[rustfmt::skip]
const NOT_CANCER_DRUGS: &[&str] = &[
    "denosumab", "romosozumab", "omalizumab", "adalimumab", "infliximab", "tocilizumab",
    "dupilumab", "secukinumab", "ustekinumab", "vedolizumab", "natalizumab", "eculizumab",
    "ravulizumab", "evolocumab", "alirocumab", "palivizumab", "mepolizumab", "benralizumab",
    "certolizumab", "golimumab", "ocrelizumab", "erenumab", "fremanezumab", "galcanezumab",
    "tofacitinib", "baricitinib", "upadacitinib", "nintedanib", "emicizumab", "belimumab",
    "bezlotoxumab", "sarilumab", "canakinumab", "anifrolumab", "tezepelumab", "lecanemab",
    "aducanumab", "donanemab",
];

/// Payloads that follow an antibody's name ("tisotumab vedotin").
#[rustfmt::skip]
const PAYLOADS: &[&str] = &[
    "vedotin", "deruxtecan", "govitecan", "emtansine", "soravtansine", "tesirine", "mafodotin",
    "ozogamicin", "tiuxetan", "pasudotox",
];

/// Words after "radiation" that make it not a treatment given.
#[rustfmt::skip]
const RAD_NOT: &[&str] = &[
    "oncology", "oncologist", "oncologists", "onc", "pneumonitis", "proctitis", "cystitis",
    "dermatitis", "recall", "fibrosis", "necrosis", "induced", "related", "exposure", "field",
    "safety", "esophagitis", "enteritis",
];

/// Words after "platinum" that make it not a treatment named.
#[rustfmt::skip]
const PLATINUM_NOT: &[&str] = &[
    "hypersensitivity", "allergy", "allergic", "reaction", "resistant", "resistance", "sensitive",
    "sensitivity", "refractory", "free", "interval",
];

/// Words that join the drugs of one course ("carbo/taxol/pembro",
/// "tisotumab vedotin + pembrolizumab", "carboplatin, etoposide, and
/// atezolizumab").
const JOINS: &[&str] = &["/", "+", ",", "and", "or", "with", "plus", "&", "-"];

/// A treatment named at tokens `s..e`.
struct Hit {
    s: usize,
    e: usize,
    name: String,
    kind: TreatmentKind,
    /// Counts only next to another drug.
    weak: bool,
}

fn treatments(d: &Doc, p: &mut Profile) {
    let mut i = 0;
    while i < d.len() {
        let Some(first) = hit_at(d, i) else {
            i += 1;
            continue;
        };
        let mut group = vec![first];
        let mut k = group[0].e;
        // Join the drugs of one course, a bounded number of them.
        while group.len() < 12 {
            let mut j = k;
            while j < k + 2 && d.is(j, JOINS) && !d.line_start(j) {
                j += 1;
            }
            if j == k || d.line_start(j) {
                break;
            }
            match hit_at(d, j) {
                Some(h) => {
                    k = h.e;
                    group.push(h);
                }
                None => break,
            }
        }
        i = k.max(i + 1);
        course(d, group, p);
    }
}

/// The treatment named at token `i`, if any.
fn hit_at(d: &Doc, i: usize) -> Option<Hit> {
    let w = d.w(i);
    let b = *w.as_bytes().first()?;
    if !b.is_ascii_alphanumeric() {
        return None;
    }
    // "AC-T", "ddAC+T": doxorubicin, cyclophosphamide, then paclitaxel.
    if w == "ddac" || (w == "ac" && d.upper(i)) {
        let then_t = d.is(i + 1, &["+", "-", "/"]) && d.w(i + 2) == "t" && d.touching(i + 1);
        if then_t {
            return Some(hit(
                i,
                i + 3,
                if w == "ddac" { "ddac-t" } else { "ac-t" },
                TreatmentKind::Medication,
            ));
        }
        if w == "ddac" {
            return Some(hit(i, i + 1, "ddac", TreatmentKind::Medication));
        }
    }
    if let Some((e, rx)) = d.longest(i, TREATMENTS) {
        let ok = rx.need != Need::Upper || (i..e).all(|k| d.upper(k));
        if ok {
            return with_payload(d, table_hit(d, i, e, rx)?);
        }
    }
    if w.len() > 6 && w.ends_with("ectomy") && !NOT_CANCER_SURGERY.contains(&w) {
        return Some(hit(i, i + 1, w, TreatmentKind::Surgery));
    }
    // "neck dissection", "lymph node dissection" (not an aortic one).
    if w == "dissection" && i > 0 && d.is(i - 1, &["node", "nodes", "ln", "lns", "neck", "lymph"]) {
        return Some(hit(
            i,
            i + 1,
            "lymph node dissection",
            TreatmentKind::Surgery,
        ));
    }
    if w.len() >= 7
        && w.bytes().all(|b| b.is_ascii_lowercase())
        && DRUG_STEMS.iter().any(|s| w.ends_with(s))
        && !NOT_CANCER_DRUGS.contains(&w)
    {
        return with_payload(d, hit(i, i + 1, w, TreatmentKind::Medication));
    }
    None
}

fn hit(s: usize, e: usize, name: &str, kind: TreatmentKind) -> Hit {
    Hit {
        s,
        e,
        name: name.to_string(),
        kind,
        weak: false,
    }
}

/// A table word at `i..e`, unless its context makes it something else.
fn table_hit(d: &Doc, i: usize, e: usize, rx: &Rx) -> Option<Hit> {
    match rx.kind {
        TreatmentKind::Radiation if d.is(e, RAD_NOT) => return None,
        // "radiation brachytherapy": one radiation, the specific one.
        TreatmentKind::Radiation
            if rx.name == "radiation therapy"
                && d.longest(e, TREATMENTS)
                    .is_some_and(|(_, n)| n.kind == TreatmentKind::Radiation) =>
        {
            return None
        }
        // "platinum hypersensitivity", "platinum-resistant": a property of
        // the cancer or the person, the drug itself named elsewhere.
        TreatmentKind::Medication if rx.name == "platinum" && d.is(e, PLATINUM_NOT) => return None,
        // "resection margin": the specimen, not the operation.
        TreatmentKind::Surgery if rx.name == "resection" && d.is(e, &["margin", "margins"]) => {
            return None
        }
        _ => {}
    }
    // "debulking surgery", "Mohs surgery": one operation.
    let e = if rx.kind == TreatmentKind::Surgery && rx.name != "surgery" && d.w(e) == "surgery" {
        e + 1
    } else {
        e
    };
    Some(Hit {
        s: i,
        e,
        name: rx.name.to_string(),
        kind: rx.kind,
        weak: rx.need == Need::Group,
    })
}

/// An antibody with its payload after it ("brentuximab vedotin").
fn with_payload(d: &Doc, mut h: Hit) -> Option<Hit> {
    if h.kind == TreatmentKind::Medication && h.name.ends_with("mab") && d.is(h.e, PAYLOADS) {
        h.name = format!("{} {}", h.name, d.w(h.e));
        h.e += 1;
    }
    Some(h)
}

/// Cues before a treatment that say it was not given.
#[rustfmt::skip]
const NOT_GIVEN: &[&str] = &[
    "no", "not", "never", "without", "denies", "denied", "declined", "declines", "refused",
    "refuses", "against", "ineligible", "contraindicated", "contraindication", "avoid", "nor",
    "neither",
];

/// Words between a negation and a treatment that make the negation about
/// something else ("no response to carboplatin", "could not tolerate
/// FOLFOX", "no longer on tamoxifen").
#[rustfmt::skip]
const NOT_ABOUT_GIVING: &[&str] = &[
    "response", "respond", "responded", "responding", "benefit", "progression", "improvement",
    "evidence", "longer", "change", "toxicity", "toxicities", "complications", "recurrence",
    "disease", "ned", "issues", "symptoms", "side", "tolerate", "tolerated", "tolerating",
    "well", "complete", "completed", "further", "more", "additional",
];

/// Cues before a treatment that make it a plan, not a treatment given.
#[rustfmt::skip]
const PLANNED: &[&str] = &[
    "plan", "plans", "planned", "planning", "will", "may", "to start", "to begin", "to receive",
    "to undergo", "to initiate", "to pursue", "to try", "candidate", "eligible", "eligibility",
    "consider", "considering", "consideration", "considered", "recommend", "recommended",
    "recommends", "recommendation", "discuss", "discussed", "discussing", "offer", "offered",
    "scheduled", "intent", "intends", "intend", "intended", "pending", "awaiting", "if",
    "option", "options", "proposed", "propose", "defer", "deferred", "future", "next line",
];

/// Cues before a treatment that make it a relative's.
#[rustfmt::skip]
const FAMILY: &[&str] = &[
    "mother", "father", "sister", "brother", "daughter", "son", "aunt", "uncle", "grandmother",
    "grandfather", "cousin", "family", "wife", "husband", "spouse", "partner", "niece", "nephew",
];

/// Words that end the clause a cue reaches over.
const CLAUSE_ENDS: &[&str] = &[
    ":", "but", "however", "although", "then", "followed", "after", "until",
];

/// Whether `cues` stand within `reach` tokens before `s` in its clause and
/// line; with `unless`, not when one of those words stands between.
fn cue_before(d: &Doc, s: usize, reach: usize, cues: &[&str], unless: &[&str]) -> bool {
    for j in (s.saturating_sub(reach)..s).rev() {
        if d.stop(j) || d.is(j, CLAUSE_ENDS) {
            return false;
        }
        // "May 2025" is a month.
        let month = d.w(j) == "may" && is_digits(d.w(j + 1));
        if !month && d.any_phrase(j, cues).is_some_and(|e| e <= s) {
            return !(j + 1..s).any(|k| d.is(k, unless));
        }
        if d.line_start(j) {
            return false;
        }
    }
    false
}

/// One course: the treatments named together, with the dates written next
/// to them.
fn course(d: &Doc, mut group: Vec<Hit>, p: &mut Profile) {
    let drugs = group
        .iter()
        .filter(|h| h.kind == TreatmentKind::Medication)
        .count();
    group.retain(|h| !h.weak || drugs >= 2);
    let (Some(first), Some(last)) = (group.first(), group.last()) else {
        return;
    };
    let (s, e) = (first.s, last.e);
    if cue_before(d, s, 6, NOT_GIVEN, NOT_ABOUT_GIVING)
        || cue_before(d, s, 6, PLANNED, &[])
        || cue_before(d, s, 8, FAMILY, &[])
    {
        return;
    }
    let site = last.kind != TreatmentKind::Medication && d.is(e, &["to", "of"]);
    let when = dates_after(d, e, site).or_else(|| dates_before(d, s));
    let (a, b) = match &when {
        Some(w) => (s.min(w.a), e.max(w.b)),
        None => (s, e),
    };
    let prov = d.prov(a, b);
    for h in group {
        let t = Treatment {
            kind: h.kind,
            name: h.name,
            code: None,
            status: when.as_ref().and_then(|w| w.status.map(str::to_string)),
            start: when.as_ref().and_then(|w| w.start.clone()),
            end: when.as_ref().and_then(|w| w.end.clone()),
        };
        note(&mut p.treatments, Fact::new(t, prov.clone()));
    }
}

/// Dates written next to a course, as written.
struct When {
    /// Tokens `a..b` hold them.
    a: usize,
    b: usize,
    start: Option<String>,
    end: Option<String>,
    status: Option<&'static str>,
}

/// Words between a course and its dates ("x 6 cycles from", "(C1D1:").
#[rustfmt::skip]
const DATE_FILLERS: &[&str] = &[
    "(", "from", "on", "in", "since", "starting", "started", "start", "maintenance", "x",
    "cycles", "cycle", "doses", "dose", "c1d1", "c1", "d1", ":", "dated", "of", "given",
    "weekly", "alone", "monotherapy", "single", "agent", "-", "for", "date",
];

/// Words that make a lone date the end of a course.
const END_WORDS: &[&str] = &[
    "completed",
    "ended",
    "end",
    "stopped",
    "discontinued",
    "finished",
];

/// Words that leave a course open ("8/2025-present").
const OPEN_ENDS: &[&str] = &["present", "current", "now", "ongoing", "today"];

/// Dates right after a course: "(1/15/24 - 4/29/24)", "9/1/2024 –
/// 6/15/2025", "from 1/26/23-9/7/23", "(12/1/25-)", "(completed 12/2024)";
/// with `site`, after the site of a radiation or an operation too ("RT to
/// cervical mass (1/2025)").
fn dates_after(d: &Doc, e: usize, site: bool) -> Option<When> {
    let mut k = e;
    let mut ended = false;
    while k < e + 7 && k < d.len() {
        if d.line_start(k) {
            return None;
        }
        if let Some(mut w) = date_range(d, k) {
            if ended && w.end.is_none() && w.status.is_none() {
                w.end = w.start.take();
                w.status = Some("completed");
            }
            return Some(w);
        }
        if d.stop(k) {
            return None;
        }
        // A site's words ("to cervical mass"), not another treatment's.
        let word = d.w(k).bytes().all(|b| b.is_ascii_lowercase())
            && !d.is(k, JOINS)
            && !d.is(k, CLAUSE_ENDS)
            && hit_at(d, k).is_none();
        if d.is(k, END_WORDS) {
            ended = true;
        } else if !(d.is(k, DATE_FILLERS) || is_digits(d.w(k)) || (site && word)) {
            return None;
        }
        k += 1;
    }
    None
}

/// A date range opening the course's line: "4/29/21 – 6/10/21: carbo/taxol",
/// "3/17/22: switched to pembro", "2/27/25: stopped ADT".
fn dates_before(d: &Doc, s: usize) -> Option<When> {
    let ls = (s.saturating_sub(12)..=s)
        .rev()
        .find(|&k| starts_line(d, k))?;
    if ls == s {
        return None;
    }
    let mut w = date_range(d, ls)?;
    if w.b > s || s - w.b > 6 {
        return None;
    }
    let mut ended = false;
    for k in w.b..s {
        if (d.stop(k) && d.w(k) != ":") || date_range(d, k).is_some() {
            return None;
        }
        ended |= d.is(k, END_WORDS);
    }
    if ended && w.end.is_none() && w.status.is_none() {
        w.end = w.start.take();
        w.status = Some("completed");
    }
    Some(w)
}

/// A date or a range at `k`: "1/15/24 - 4/29/24", "3/2023 – 5/2024",
/// "8/2025-present", "(12/1/25-)", "May 2025", "1995".
fn date_range(d: &Doc, k: usize) -> Option<When> {
    let e1 = date_at(d, k)?;
    let start = d.words(k, e1);
    let mut w = When {
        a: k,
        b: e1,
        start: Some(start),
        end: None,
        status: None,
    };
    // The separator: a hyphen, "to", or a dash that is not ASCII.
    let (sep, next) = if d.is(e1, &["-", "to", "through", "thru", "until"]) && !d.line_start(e1) {
        (d.w(e1) == "-", e1 + 1)
    } else if d.gap(e1 - 1).contains(['–', '—']) && !d.line_start(e1) {
        (true, e1)
    } else {
        return Some(w);
    };
    if let Some(e2) = date_at(d, next).filter(|_| !d.line_start(next)) {
        w.end = Some(d.words(next, e2));
        w.b = e2;
        w.status = Some("completed");
    } else if d.is(next, OPEN_ENDS) && !d.line_start(next) {
        w.b = next + 1;
        w.status = Some("active");
    } else if sep && (d.w(next) == ")" || next >= d.len() || d.line_start(next)) {
        // "(12/1/25-)": begun, not ended.
        w.b = next.min(d.len());
        w.status = Some("active");
    }
    Some(w)
}

/// Month names and their abbreviations.
#[rustfmt::skip]
const MONTHS: &[&str] = &[
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june",
    "jul", "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov",
    "november", "dec", "december",
];

/// A year: two or four digits (19xx, 20xx).
fn year(w: &str) -> bool {
    is_digits(w) && (w.len() == 2 || (w.len() == 4 && (w.starts_with("19") || w.starts_with("20"))))
}

/// One date at `k`, the token after it: "1/15/24", "1/2025", "May 2025",
/// "April/2024", "JUN 2020", "8JAN21", "1995".
fn date_at(d: &Doc, k: usize) -> Option<usize> {
    let w = d.w(k);
    if is_digits(w) && w.len() <= 4 {
        let mut e = k + 1;
        let mut parts = vec![w];
        while parts.len() < 3
            && d.touching(e - 1)
            && d.w(e) == "/"
            && d.touching(e)
            && is_digits(d.w(e + 1))
        {
            parts.push(d.w(e + 1));
            e += 2;
        }
        if parts.len() == 1 {
            return (w.len() == 4 && year(w)).then_some(k + 1);
        }
        // "1/2" is a fraction; a date's last part is a year or a day.
        let last = parts[parts.len() - 1];
        let ok = parts.iter().all(|p| p.len() <= 4) && (parts.len() == 3 || last.len() >= 2);
        return ok.then_some(e);
    }
    if MONTHS.contains(&w) {
        let mut j = k + 1;
        if d.is(j, &["/", "of", ","]) {
            j += 1;
        }
        if year(d.w(j)) && !d.line_start(j) {
            return Some(j + 1);
        }
        return None;
    }
    // "8JAN21", "NOV20".
    let lead = w.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &w[lead..];
    if lead <= 2 && rest.len() >= 5 {
        let (mon, yr) = rest.split_at(3);
        if MONTHS.contains(&mon) && year(yr) {
            return Some(k + 1);
        }
    }
    None
}

/// Folds a mention without dates into a dated course of the same
/// treatment, keeping its source.
fn fold_undated(list: &mut Vec<Fact<Treatment>>) {
    let dated = |t: &Treatment| t.start.is_some() || t.end.is_some() || t.status.is_some();
    let mut i = 0;
    while i < list.len() {
        let t = &list[i].value;
        let into = (!dated(t))
            .then(|| {
                list.iter().position(|o| {
                    o.value.kind == t.kind && o.value.name == t.name && dated(&o.value)
                })
            })
            .flatten();
        match into {
            Some(j) => {
                let gone = list.remove(i);
                let j = if j > i { j - 1 } else { j };
                for p in gone.provenance {
                    if list[j].provenance.len() < MAX_SOURCES && !list[j].provenance.contains(&p) {
                        list[j].provenance.push(p);
                    }
                }
            }
            None => i += 1,
        }
    }
}

// ---------------------------------------------------------------------------
// Regimens

/// The medicines of the regimens [`read_note`] records by name.
#[rustfmt::skip]
const REGIMENS: &[(&str, &[&str])] = &[
    ("folfox", &["fluorouracil", "leucovorin", "oxaliplatin"]),
    ("folfiri", &["fluorouracil", "leucovorin", "irinotecan"]),
    ("folfirinox", &["fluorouracil", "leucovorin", "irinotecan", "oxaliplatin"]),
    ("folfoxiri", &["fluorouracil", "leucovorin", "oxaliplatin", "irinotecan"]),
    ("capox", &["capecitabine", "oxaliplatin"]),
    ("xeliri", &["capecitabine", "irinotecan"]),
    ("flot", &["fluorouracil", "leucovorin", "oxaliplatin", "docetaxel"]),
    ("chop", &["cyclophosphamide", "doxorubicin", "vincristine", "prednisone"]),
    ("r-chop", &["rituximab", "cyclophosphamide", "doxorubicin", "vincristine", "prednisone"]),
    ("chp", &["cyclophosphamide", "doxorubicin", "prednisone"]),
    ("bv-chp", &["brentuximab vedotin", "cyclophosphamide", "doxorubicin", "prednisone"]),
    ("choep", &["cyclophosphamide", "doxorubicin", "vincristine", "etoposide", "prednisone"]),
    ("ice", &["ifosfamide", "carboplatin", "etoposide"]),
    ("r-ice", &["rituximab", "ifosfamide", "carboplatin", "etoposide"]),
    ("bep", &["bleomycin", "etoposide", "cisplatin"]),
    ("vip", &["etoposide", "ifosfamide", "cisplatin"]),
    ("tip", &["paclitaxel", "ifosfamide", "cisplatin"]),
    ("gdp", &["gemcitabine", "dexamethasone", "cisplatin"]),
    ("dhap", &["dexamethasone", "cytarabine", "cisplatin"]),
    ("eshap", &["etoposide", "methylprednisolone", "cytarabine", "cisplatin"]),
    ("abvd", &["doxorubicin", "bleomycin", "vinblastine", "dacarbazine"]),
    ("cvp", &["cyclophosphamide", "vincristine", "prednisone"]),
    ("r-cvp", &["rituximab", "cyclophosphamide", "vincristine", "prednisone"]),
    ("epoch", &["etoposide", "prednisone", "vincristine", "cyclophosphamide", "doxorubicin"]),
    ("hyper-cvad", &["cyclophosphamide", "vincristine", "doxorubicin", "dexamethasone",
        "methotrexate", "cytarabine"]),
    ("tchp", &["docetaxel", "carboplatin", "trastuzumab", "pertuzumab"]),
    ("tch", &["docetaxel", "carboplatin", "trastuzumab"]),
    ("cmf", &["cyclophosphamide", "methotrexate", "fluorouracil"]),
    ("fec", &["fluorouracil", "epirubicin", "cyclophosphamide"]),
    ("mvac", &["methotrexate", "vinblastine", "doxorubicin", "cisplatin"]),
    ("gemcis", &["gemcitabine", "cisplatin"]),
    ("gemox", &["gemcitabine", "oxaliplatin"]),
    ("ecf", &["epirubicin", "cisplatin", "fluorouracil"]),
    ("eox", &["epirubicin", "oxaliplatin", "capecitabine"]),
    ("tpf", &["docetaxel", "cisplatin", "fluorouracil"]),
    ("ddac", &["doxorubicin", "cyclophosphamide"]),
    ("ddac-t", &["doxorubicin", "cyclophosphamide", "paclitaxel"]),
    ("ac-t", &["doxorubicin", "cyclophosphamide", "paclitaxel"]),
];

/// The medicines (generic, lower-case) of a regimen recorded by its name
/// (`folfox` → fluorouracil, leucovorin, oxaliplatin); empty for a name
/// that is not a regimen's.
pub fn regimen_drugs(name: &str) -> &'static [&'static str] {
    REGIMENS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map_or(&[], |(_, drugs)| drugs)
}
