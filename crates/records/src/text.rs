//! Free text (pathology reports, clinic notes) → profile facts, by
//! hand-written patterns.
//!
//! How: the text is lower-cased (ASCII only, so every byte offset stays the
//! original's) and cut into tokens: runs of ASCII letters and digits, and
//! single ASCII punctuation marks. Everything else (spaces, line breaks,
//! non-ASCII characters) only separates tokens, so a token always starts and
//! ends on a char boundary of the original text. Each extractor walks the
//! tokens once and looks a bounded number of tokens around a cue word, so
//! the work is linear in the length of the text. Very long texts are read in
//! pieces of about a megabyte, cut at line breaks. Every fact cites the bytes
//! it was read from (`chars A..B`, byte offsets) with those words as its
//! excerpt.
//!
//! What is read: the primary cancer (histology — with a renal cell
//! carcinoma's subtype stated after it, "..., clear cell type" —, organ,
//! laterality, and the catalog type from [`sextant_core::cancer::detect`]),
//! TNM categories and
//! AJCC stage groups, grades (numeric, WHO/Nottingham/Fuhrman, Gleason,
//! differentiation, high/low grade; not a tissue block's "G2", nor the grade
//! of hepatitis, fibrosis or dysplasia), biomarkers (ER, PR, HER2 with IHC and
//! FISH, Ki-67, PD-L1, MSI, MMR, TMB, and variants of KRAS, EGFR, BRAF, ALK,
//! ROS1, BRCA1/2, PIK3CA and a few more genes), and metastatic sites.
//!
//! Negation: a cue ("no", "not", "without", "negative for", "free of", "no
//! evidence of", "suspicious for"...) a few words before a finding, in the
//! same clause, "not identified"/"not detected"/"absent" just after it, or
//! the finding as the subject of "... are not identified" later in the
//! clause,
//! keeps a cancer or a metastasis from becoming a fact; for a biomarker it
//! is the negative result. A negated finding is never turned into a positive
//! one, and a negated "MSI-H" is not turned into "stable" either. A past
//! cancer ("history of breast cancer") is not taken as the report's; a
//! cancer "in situ" is recorded with that histology, apart from an invasive
//! one. Sentences
//! about cancers in general ("BRAF mutations can be found in 14% of
//! colorectal cancers") and a form's printed choices ("ER o Negative o
//! Positive") give no biomarker.
//!
//! Limits: these are patterns, not understanding. A report that prints
//! every option of a synoptic template yields only what the template marks
//! by layout (an option line "G2: ..." is skipped, a ticked box is not
//! seen); the organ is read from the words around the histology, so a report
//! on several specimens can pair a histology with a specimen's organ rather
//! than the primary's; OCR damage beyond a few common swaps ("pNO", "pTla",
//! "pT 1 b") is not repaired; at most 200 facts of a kind and 20 sources
//! per fact are kept from one text; and what is not recognized is left out
//! rather than guessed.

use sextant_core::cancer::{detect, Matching};
use sextant_core::text::normalize_ws;

use crate::profile::{add, Biomarker, Cancer, Fact, Method, Profile, Provenance, Site, Stage};

/// Reads a text report into a profile; `name` is what provenance calls it.
pub fn read(name: &str, text: &str) -> Profile {
    let mut p = Profile::default();
    for (start, end) in pieces(text) {
        let doc = Doc::new(name, &text[start..end], start);
        cancers(&doc, &mut p);
        stages(&doc, &mut p);
        grades(&doc, &mut p);
        biomarkers(&doc, &mut p);
        metastases(&doc, &mut p);
    }
    fold(&mut p.primary_cancers, cancer_covers);
    fold(&mut p.stages, stage_covers);
    fold_gleason_sums(&mut p.grades);
    p.find_conflicts();
    p
}

/// At most this many facts of one kind, and sources of one fact, are kept
/// from one text: more than any real report holds, and a bound on the work
/// a hostile text can cause.
const MAX_FACTS: usize = 200;
pub(crate) const MAX_SOURCES: usize = 20;

/// [`add`], within [`MAX_FACTS`] and [`MAX_SOURCES`].
pub(crate) fn note<T: PartialEq>(list: &mut Vec<Fact<T>>, fact: Fact<T>) {
    let full = match list.iter().find(|f| f.value == fact.value) {
        Some(f) => f.provenance.len() >= MAX_SOURCES,
        None => list.len() >= MAX_FACTS,
    };
    if !full {
        add(list, fact);
    }
}

// ---------------------------------------------------------------------------
// Tokens

/// Texts longer than this are read in pieces, so that memory stays bounded.
const PIECE: usize = 1 << 20;

/// Byte ranges of the pieces of `text`: at most [`PIECE`] bytes, cut after a
/// line break (else a space, else any char boundary) in a piece's last
/// quarter.
pub(crate) fn pieces(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    while start < b.len() {
        let mut end = (start + PIECE).min(b.len());
        if end < b.len() {
            let lo = start + PIECE * 3 / 4;
            if let Some(k) = b[lo..end].iter().rposition(|&c| c == b'\n') {
                end = lo + k + 1;
            } else if let Some(k) = b[lo..end].iter().rposition(|&c| c == b' ') {
                end = lo + k + 1;
            } else {
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
            }
        }
        out.push((start, end));
        start = end;
    }
    out
}

/// A token: bytes `s..e` of the piece; `nl` when a line break precedes it.
struct Tok {
    s: usize,
    e: usize,
    nl: bool,
}

fn tokenize(low: &[u8]) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut nl = false;
    let mut i = 0;
    while i < low.len() {
        let c = low[i];
        if c.is_ascii_alphanumeric() {
            let s = i;
            while i < low.len() && low[i].is_ascii_alphanumeric() {
                i += 1;
            }
            toks.push(Tok { s, e: i, nl });
            nl = false;
            continue;
        }
        if c == b'\n' || c == b'\r' {
            nl = true;
        } else if c.is_ascii_punctuation() {
            toks.push(Tok { s: i, e: i + 1, nl });
            nl = false;
        }
        // Spaces, controls and the bytes of non-ASCII characters separate.
        i += 1;
    }
    toks
}

/// One piece of the text, tokenized.
pub(crate) struct Doc<'a> {
    name: &'a str,
    /// The piece as written, and where it starts in the whole text.
    text: &'a str,
    base: usize,
    low: String,
    toks: Vec<Tok>,
    /// How many [`GENERAL`] words come before each token (built when a
    /// biomarker is first found).
    general: std::cell::OnceCell<Vec<u32>>,
}

impl<'a> Doc<'a> {
    pub(crate) fn new(name: &'a str, text: &'a str, base: usize) -> Doc<'a> {
        let low = text.to_ascii_lowercase();
        let toks = tokenize(low.as_bytes());
        Doc {
            name,
            text,
            base,
            low,
            toks,
            general: std::cell::OnceCell::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.toks.len()
    }

    /// Token `i`, lower-cased; "" past either end.
    pub(crate) fn w(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| &self.low[t.s..t.e])
    }

    pub(crate) fn is(&self, i: usize, set: &[&str]) -> bool {
        set.contains(&self.w(i))
    }

    /// Whether token `i` touches token `i + 1` (no space between).
    pub(crate) fn touching(&self, i: usize) -> bool {
        matches!((self.toks.get(i), self.toks.get(i + 1)), (Some(a), Some(b)) if a.e == b.s)
    }

    /// Whether a line break comes before token `i`.
    pub(crate) fn line_start(&self, i: usize) -> bool {
        self.toks.get(i).is_some_and(|t| t.nl)
    }

    /// Whether token `i` is written without lower-case letters.
    pub(crate) fn upper(&self, i: usize) -> bool {
        self.toks.get(i).is_some_and(|t| {
            !self.text.as_bytes()[t.s..t.e]
                .iter()
                .any(u8::is_ascii_lowercase)
        })
    }

    /// Token `i` as written (original case); "" past either end.
    pub(crate) fn raw(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| &self.text[t.s..t.e])
    }

    /// What separates token `i` from token `i + 1` as written (spaces,
    /// dashes that are not ASCII...); "" past either end.
    pub(crate) fn gap(&self, i: usize) -> &str {
        match (self.toks.get(i), self.toks.get(i + 1)) {
            (Some(a), Some(b)) => &self.text[a.e..b.s],
            _ => "",
        }
    }

    /// Whether the words of `phrase` (separated by single spaces) start at
    /// token `i`; hyphens between words are skipped ("clear-cell", "Ki-67").
    /// Returns the token after the match.
    pub(crate) fn phrase(&self, i: usize, phrase: &str) -> Option<usize> {
        let mut j = i;
        for (k, word) in phrase.split(' ').enumerate() {
            if k > 0 {
                while self.w(j) == "-" {
                    j += 1;
                }
            }
            if j >= self.len() || self.w(j) != word {
                return None;
            }
            j += 1;
        }
        Some(j)
    }

    /// The longest entry of `table` whose phrase starts at `i`.
    pub(crate) fn longest<'t, T>(
        &self,
        i: usize,
        table: &'t [(&'static str, T)],
    ) -> Option<(usize, &'t T)> {
        let first = self.w(i);
        let &b = first.as_bytes().first()?;
        let mut best: Option<(usize, &T)> = None;
        for (p, v) in table {
            if p.as_bytes()[0] != b || !p.starts_with(first) {
                continue;
            }
            if let Some(end) = self.phrase(i, p) {
                if best.is_none_or(|(e, _)| end > e) {
                    best = Some((end, v));
                }
            }
        }
        best
    }

    /// Whether any of `phrases` starts at `i`; the token after it.
    pub(crate) fn any_phrase(&self, i: usize, phrases: &[&str]) -> Option<usize> {
        let first = self.w(i).as_bytes().first()?;
        // Most tokens start no phrase: a byte compare rules them out.
        phrases
            .iter()
            .filter(|p| p.as_bytes().first() == Some(first))
            .filter_map(|p| self.phrase(i, p))
            .max()
    }

    /// A clause ends at ";", "?", "!" or a "." that is not a decimal point.
    pub(crate) fn stop(&self, j: usize) -> bool {
        match self.w(j) {
            ";" | "?" | "!" => true,
            "." => !(j > 0 && self.touching(j - 1) && self.touching(j) && is_digits(self.w(j + 1))),
            _ => false,
        }
    }

    /// Whether token `j` starts a line that reads "Label: ..." (a new field
    /// of a synoptic report).
    fn label_line(&self, j: usize) -> bool {
        self.line_start(j) && (j..j + 5).any(|k| self.w(k) == ":")
    }

    /// Whether a negation cue stands within `reach` tokens before `i`, in
    /// the same clause.
    fn negated_before(&self, i: usize, reach: usize) -> bool {
        self.cue_before(i, reach, NEG_BEFORE)
    }

    /// Whether one of `cues` stands within `reach` tokens before `i`, in the
    /// same clause.
    fn cue_before(&self, i: usize, reach: usize, cues: &[&str]) -> bool {
        for j in (i.saturating_sub(reach)..i).rev() {
            if self.stop(j) || self.is(j, &[":", "but", "however", "although", "except"]) {
                return false;
            }
            if self.any_phrase(j, cues).is_some_and(|e| e <= i) {
                return true;
            }
        }
        false
    }

    /// Whether "not identified", "absent"... follows token `e` closely.
    fn negated_after(&self, e: usize) -> bool {
        // A synoptic field answered "No" ("Cholangiocarcinoma: No").
        if self.w(e) == ":" && self.w(e + 1) == "no" {
            return true;
        }
        let mut j = e;
        let mut n = 0;
        while n < 3
            && self.is(
                j,
                &[
                    ":", "-", "(", ",", "is", "are", "was", "were", "been", "has", "have",
                ],
            )
        {
            j += 1;
            n += 1;
        }
        if self.any_phrase(j, NEG_AFTER).is_some() {
            return true;
        }
        // Further on in the clause, the finding as the subject of a negated
        // verb ("features of glioblastoma (necrosis, vascular proliferation)
        // are not identified"); a comma or "with" ends the subject, so that
        // "carcinoma, invasion not identified" is not this.
        let end = (e + 12).min(self.len());
        let mut depth = 0usize;
        for j in e..end {
            match self.w(j) {
                "(" => depth += 1,
                ")" => depth = depth.saturating_sub(1),
                _ if depth > 0 => {}
                _ if self.stop(j) || self.is(j, &[",", ":", "with", "and", "but", "or"]) => {
                    return false
                }
                "is" | "are" | "was" | "were" => {
                    return self.any_phrase(j + 1, NEG_VERB).is_some();
                }
                _ => {}
            }
            if self.line_start(j) && j > e {
                return false;
            }
        }
        false
    }

    /// Provenance for tokens `a..b`.
    pub(crate) fn prov(&self, a: usize, b: usize) -> Provenance {
        // Close a bracket the evidence opened: "ER: positive (95%)".
        let open = (a..b).filter(|&j| self.w(j) == "(").count()
            > (a..b).filter(|&j| self.w(j) == ")").count();
        let b = if open && self.w(b) == ")" { b + 1 } else { b };
        let (s, e) = self.bytes(a, b);
        Provenance {
            file: self.name.to_string(),
            locator: format!("chars {}..{}", self.base + s, self.base + e),
            method: Method::TextPattern,
            excerpt: Some(normalize_ws(&self.text[s..e])),
        }
    }

    /// Byte range in the piece of tokens `a..b` (at least token `a`).
    pub(crate) fn bytes(&self, a: usize, b: usize) -> (usize, usize) {
        let n = self.len();
        if n == 0 {
            return (0, 0);
        }
        let a = a.min(n - 1);
        let b = b.clamp(a + 1, n);
        (self.toks[a].s, self.toks[b - 1].e)
    }

    /// The words of tokens `a..b` as written, whitespace collapsed.
    pub(crate) fn words(&self, a: usize, b: usize) -> String {
        let (s, e) = self.bytes(a, b);
        normalize_ws(&self.text[s..e])
    }

    /// A number at `j` ("30", "<1", "13.3", "10-20"), with "%" when one
    /// follows; the token after it.
    fn number(&self, j: usize) -> Option<(String, usize)> {
        let mut out = String::new();
        let mut k = j;
        if self.is(k, &["<", ">"]) {
            out.push_str(self.w(k));
            k += 1;
            if self.w(k) == "=" {
                out.push('=');
                k += 1;
            }
        }
        if !is_digits(self.w(k)) {
            return None;
        }
        out.push_str(self.w(k));
        k += 1;
        if self.w(k) == "." && self.touching(k - 1) && self.touching(k) && is_digits(self.w(k + 1))
        {
            out.push('.');
            out.push_str(self.w(k + 1));
            k += 2;
        }
        if self.w(k) == "-" && is_digits(self.w(k + 1)) && self.w(k + 2) == "%" {
            out.push('-');
            out.push_str(self.w(k + 1));
            k += 2;
        }
        if self.w(k) == "%" {
            out.push('%');
            k += 1;
        }
        Some((out, k))
    }

    /// The end of a window of at most `max` tokens from `from`: it stops at
    /// a clause end, at a word in `stop_words`, and at a line break once
    /// `min` tokens were read (so list items do not run together).
    pub(crate) fn window(
        &self,
        from: usize,
        max: usize,
        min: usize,
        stop_at: impl Fn(usize) -> bool,
    ) -> usize {
        let end = (from + max).min(self.len());
        for j in from..end {
            if self.stop(j) || stop_at(j) || (j >= from + min && self.line_start(j)) {
                return j;
            }
        }
        end
    }
}

pub(crate) fn is_digits(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit())
}

/// Cues that negate what follows them.
#[rustfmt::skip]
const NEG_BEFORE: &[&str] = &[
    "no", "not", "without", "negative for", "free of", "absence of", "absent", "rule out", "r / o",
    "neither", "nor", "never", "denies", "suspicious for", "cannot", "unlikely", "exclude",
    "excluded",
];

/// Cues that negate what comes just before them.
#[rustfmt::skip]
const NEG_AFTER: &[&str] = &[
    "not identified", "not seen", "not present", "not detected", "not found", "not evident", "not",
    "absent", "none", "negative", "excluded", "cannot",
];

/// Negated verbs that negate their subject from afar ("... are not
/// identified").
#[rustfmt::skip]
const NEG_VERB: &[&str] = &[
    "not identified", "not seen", "not present", "not detected", "not found", "not evident",
    "absent", "excluded",
];

/// Cues that make a cancer a past one, not this report's ("history of
/// breast cancer", "prior prostate cancer").
#[rustfmt::skip]
const HISTORY: &[&str] = &["history of", "h / o", "hx of", "remote"];

// ---------------------------------------------------------------------------
// Primary cancer

/// A histology: its name, and the organs it arises in (empty: any). The
/// first organ listed is implied when none is named (for the catalog type
/// only, never as the site) if `implies` is set.
struct Hist {
    name: &'static str,
    organs: &'static [&'static str],
    implies: bool,
}

const fn h(name: &'static str, organs: &'static [&'static str], implies: bool) -> Hist {
    Hist {
        name,
        organs,
        implies,
    }
}

const BREAST: &[&str] = &["breast"];
const GYN: &[&str] = &["ovary", "fallopian tube", "uterus", "endometrium", "cervix"];
const UROTHELIUM: &[&str] = &["bladder", "kidney"];
const KIDNEY: &[&str] = &["kidney"];
const LIVER: &[&str] = &["liver"];
const BRAIN: &[&str] = &["brain"];
const ANY: &[&str] = &[];

/// Histology phrases → the histology they name.
#[rustfmt::skip]
const HISTOLOGIES: &[(&str, Hist)] = &[
    ("invasive ductal carcinoma", h("invasive ductal carcinoma", BREAST, true)),
    ("infiltrating ductal carcinoma", h("invasive ductal carcinoma", BREAST, true)),
    ("infiltrating duct carcinoma", h("invasive ductal carcinoma", BREAST, true)),
    ("ductal carcinoma in situ", h("ductal carcinoma in situ", BREAST, true)),
    ("invasive lobular carcinoma", h("invasive lobular carcinoma", BREAST, true)),
    ("infiltrating lobular carcinoma", h("invasive lobular carcinoma", BREAST, true)),
    ("lobular carcinoma", h("lobular carcinoma", BREAST, true)),
    ("ductal carcinoma", h("ductal carcinoma", ANY, false)),
    ("adenocarcinoma", h("adenocarcinoma", ANY, false)),
    ("mucinous adenocarcinoma", h("mucinous adenocarcinoma", ANY, false)),
    ("acinar adenocarcinoma", h("acinar adenocarcinoma", ANY, false)),
    ("serous adenocarcinoma", h("serous carcinoma", GYN, false)),
    ("serous carcinoma", h("serous carcinoma", GYN, false)),
    ("high grade serous carcinoma", h("high-grade serous carcinoma", GYN, false)),
    ("endometrioid adenocarcinoma", h("endometrioid adenocarcinoma", GYN, false)),
    ("endometrioid carcinoma", h("endometrioid carcinoma", GYN, false)),
    ("squamous cell carcinoma", h("squamous cell carcinoma", ANY, false)),
    ("squamous carcinoma", h("squamous cell carcinoma", ANY, false)),
    ("urothelial carcinoma", h("urothelial carcinoma", UROTHELIUM, false)),
    ("papillary urothelial carcinoma", h("papillary urothelial carcinoma", UROTHELIUM, false)),
    ("transitional cell carcinoma", h("urothelial carcinoma", UROTHELIUM, false)),
    ("hepatocellular carcinoma", h("hepatocellular carcinoma", LIVER, false)),
    ("cholangiocarcinoma", h("cholangiocarcinoma", LIVER, false)),
    ("renal cell carcinoma", h("renal cell carcinoma", KIDNEY, false)),
    ("clear cell renal cell carcinoma", h("clear cell renal cell carcinoma", KIDNEY, false)),
    ("papillary renal cell carcinoma", h("papillary renal cell carcinoma", KIDNEY, false)),
    ("chromophobe renal cell carcinoma", h("chromophobe renal cell carcinoma", KIDNEY, false)),
    ("papillary thyroid carcinoma", h("papillary thyroid carcinoma", &["thyroid"], true)),
    ("papillary carcinoma", h("papillary carcinoma", ANY, false)),
    ("small cell carcinoma", h("small cell carcinoma", ANY, false)),
    ("neuroendocrine carcinoma", h("neuroendocrine carcinoma", ANY, false)),
    ("glioblastoma", h("glioblastoma", BRAIN, false)),
    ("glioblastoma multiforme", h("glioblastoma", BRAIN, false)),
    ("astrocytoma", h("astrocytoma", BRAIN, false)),
    ("anaplastic astrocytoma", h("anaplastic astrocytoma", BRAIN, false)),
    ("oligodendroglioma", h("oligodendroglioma", BRAIN, false)),
    ("anaplastic oligodendroglioma", h("anaplastic oligodendroglioma", BRAIN, false)),
    ("oligoastrocytoma", h("oligoastrocytoma", BRAIN, false)),
    ("melanoma", h("melanoma", ANY, false)), ("mesothelioma", h("mesothelioma", ANY, false)),
];

/// Words that name a cancer only next to an organ ("colon cancer",
/// "carcinoma of the rectum").
const GENERIC: &[&str] = &["cancer", "carcinoma", "malignant neoplasm", "malignancy"];

/// Organ words → the organ.
#[rustfmt::skip]
const ORGAN_WORDS: &[(&str, &str)] = &[
    ("breast", "breast"), ("breasts", "breast"), ("colon", "colon"), ("colonic", "colon"),
    ("ascending colon", "colon"), ("transverse colon", "colon"), ("descending colon", "colon"),
    ("sigmoid colon", "colon"), ("sigmoid", "colon"), ("rectosigmoid", "colon"),
    ("cecum", "colon"), ("caecum", "colon"), ("cecal", "colon"), ("hepatic flexure", "colon"),
    ("splenic flexure", "colon"), ("colorectal", "colorectum"), ("rectum", "rectum"),
    ("rectal", "rectum"), ("lung", "lung"), ("lungs", "lung"), ("pulmonary", "lung"),
    ("upper lobe", "lung"), ("middle lobe", "lung"), ("lower lobe", "lung"), ("bronchus", "lung"),
    ("prostate", "prostate"), ("prostatic", "prostate"), ("bladder", "bladder"),
    ("urachal", "bladder"), ("urachus", "bladder"),
    ("kidney", "kidney"), ("renal", "kidney"), ("liver", "liver"), ("hepatic", "liver"),
    ("ovary", "ovary"), ("ovarian", "ovary"), ("ovaries", "ovary"), ("pancreas", "pancreas"),
    ("pancreatic", "pancreas"), ("cervix", "cervix"), ("cervical", "cervix"), ("brain", "brain"),
    ("cerebral", "brain"), ("cerebellum", "brain"), ("cerebellar", "brain"), ("frontal", "brain"),
    ("temporal", "brain"), ("parietal", "brain"), ("occipital", "brain"),
    ("frontotemporal", "brain"), ("frontoparietal", "brain"), ("temporoparietal", "brain"),
    ("parietooccipital", "brain"), ("stomach", "stomach"), ("gastric", "stomach"),
    ("esophagus", "esophagus"), ("esophageal", "esophagus"), ("thyroid", "thyroid"),
    ("uterus", "uterus"), ("uterine", "uterus"), ("endometrium", "endometrium"),
    ("endometrial", "endometrium"), ("skin", "skin"), ("cutaneous", "skin"), ("tongue", "tongue"),
    ("larynx", "larynx"), ("laryngeal", "larynx"), ("oral cavity", "oral cavity"),
    ("testis", "testis"), ("testicular", "testis"), ("adrenal", "adrenal gland"),
    ("fallopian tube", "fallopian tube"),
    // Head and neck: the subsite, so that its catalog type is the right one.
    ("glossectomy", "tongue"), ("hemiglossectomy", "tongue"), ("oral tongue", "tongue"),
    ("base of tongue", "base of tongue"), ("base of the tongue", "base of tongue"),
    ("tongue base", "base of tongue"), ("tonsil", "tonsil"), ("tonsils", "tonsil"),
    ("tonsillar", "tonsil"), ("tonsillectomy", "tonsil"), ("oropharynx", "oropharynx"),
    ("oropharyngeal", "oropharynx"), ("soft palate", "oropharynx"), ("uvula", "oropharynx"),
    ("vallecula", "oropharynx"), ("floor of mouth", "floor of mouth"),
    ("floor of the mouth", "floor of mouth"), ("buccal mucosa", "buccal mucosa"),
    ("buccal", "buccal mucosa"), ("alveolar ridge", "alveolar ridge"),
    ("retromolar trigone", "retromolar trigone"), ("retromolar", "retromolar trigone"),
    ("gingiva", "gingiva"), ("gingival", "gingiva"), ("hard palate", "palate"),
    ("palate", "palate"), ("lip", "lip"), ("lips", "lip"), ("oral", "oral cavity"),
    ("glottis", "larynx"), ("glottic", "larynx"), ("supraglottis", "larynx"),
    ("supraglottic", "larynx"), ("subglottis", "larynx"), ("subglottic", "larynx"),
    ("transglottic", "larynx"), ("epiglottis", "larynx"), ("vocal cord", "larynx"),
    ("vocal cords", "larynx"), ("laryngectomy", "larynx"), ("hypopharynx", "hypopharynx"),
    ("hypopharyngeal", "hypopharynx"), ("pyriform sinus", "hypopharynx"),
    ("piriform sinus", "hypopharynx"), ("laryngopharynx", "hypopharynx"),
    ("nasopharynx", "nasopharynx"), ("nasopharyngeal", "nasopharynx"), ("pharynx", "pharynx"),
];

/// Organ words that name other things when not right next to the cancer
/// ("cervical lymph nodes", "frontal sinus").
#[rustfmt::skip]
const ADJACENT_ONLY: &[&str] = &[
    "cervical", "frontal", "temporal", "sigmoid", "hepatic", "oral", "lip", "lips",
];

/// Organs: whether the body has two (so laterality applies), and the words
/// that name its cancer in the catalog.
#[rustfmt::skip]
const ORGANS: &[(&str, bool, &str)] = &[
    ("breast", true, "breast cancer"), ("colon", false, "colon cancer"),
    ("colorectum", false, "colorectal cancer"), ("rectum", false, "rectal cancer"),
    ("lung", true, "lung cancer"), ("prostate", false, "prostate cancer"),
    ("bladder", false, "bladder cancer"), ("kidney", true, "kidney cancer"),
    ("liver", false, "liver cancer"), ("ovary", true, "ovarian cancer"),
    ("pancreas", false, "pancreatic cancer"), ("cervix", false, "cervical cancer"),
    ("brain", true, "brain cancer"), ("stomach", false, "stomach cancer"),
    ("esophagus", false, "esophageal cancer"), ("thyroid", false, "thyroid cancer"),
    ("uterus", false, "uterine cancer"), ("endometrium", false, "endometrial cancer"),
    ("skin", false, "skin cancer"), ("tongue", false, "tongue cancer"),
    ("larynx", false, "laryngeal cancer"), ("oral cavity", false, "oral cavity cancer"),
    ("testis", true, "testicular cancer"), ("adrenal gland", true, "adrenal cancer"),
    ("fallopian tube", true, "fallopian tube cancer"),
    ("base of tongue", false, "oropharyngeal cancer"), ("tonsil", true, "oropharyngeal cancer"),
    ("oropharynx", false, "oropharyngeal cancer"), ("floor of mouth", false, "oral cavity cancer"),
    ("buccal mucosa", true, "oral cavity cancer"), ("alveolar ridge", false, "oral cavity cancer"),
    ("retromolar trigone", true, "oral cavity cancer"), ("gingiva", false, "oral cavity cancer"),
    ("palate", false, "oral cavity cancer"), ("lip", false, "lip cancer"),
    ("hypopharynx", false, "hypopharyngeal cancer"),
    ("nasopharynx", false, "nasopharyngeal cancer"), ("pharynx", false, "head and neck cancer"),
];

fn organ(name: &str) -> (bool, &'static str) {
    ORGANS
        .iter()
        .find(|o| o.0 == name)
        .map_or((false, ""), |o| (o.1, o.2))
}

/// An organ named at tokens `s..e`.
#[derive(Clone, Copy)]
struct OrganAt {
    s: usize,
    e: usize,
    organ: &'static str,
}

fn cancers(d: &Doc, p: &mut Profile) {
    let mut i = 0;
    while i < d.len() {
        let (end, hist) = if let Some((e, hist)) = d.longest(i, HISTOLOGIES) {
            (e, Some(hist))
        } else if let Some(e) = d.any_phrase(i, GENERIC) {
            (e, None)
        } else {
            i += 1;
            continue;
        };
        let (end, hist) = match hist {
            Some(h) if h.name == "renal cell carcinoma" => {
                renal_subtype(d, end).map_or((end, hist), |(e, h)| (e, Some(h)))
            }
            _ => (end, hist),
        };
        // "adenocarcinoma in situ", "carcinoma in situ": recorded as such.
        let (end, in_situ) = match d.phrase(end, "in situ") {
            Some(e) if hist.is_none_or(|h| !h.name.contains("in situ")) => (e, true),
            _ => (end, false),
        };
        if let Some(fact) = cancer_at(d, i, end, hist, in_situ) {
            note(&mut p.primary_cancers, fact);
        }
        i = end;
    }
}

/// The subtype named after "renal cell carcinoma" ("..., clear cell type",
/// "..., conventional (clear cell) type", "... - papillary variant"), within
/// the clause: the token after it and the subtype's histology.
fn renal_subtype(d: &Doc, e: usize) -> Option<(usize, &'static Hist)> {
    let mut j = e;
    while j < e + 4 && d.is(j, &[",", "-", ":", "("]) {
        j += 1;
    }
    let name = match d.w(j) {
        "conventional" | "clear" => "clear cell renal cell carcinoma",
        "papillary" => "papillary renal cell carcinoma",
        "chromophobe" => "chromophobe renal cell carcinoma",
        _ => return None,
    };
    if d.w(j) == "clear" && d.w(j + 1) != "cell" {
        return None;
    }
    let end = (j + 1..j + 6)
        .take_while(|&k| !d.stop(k))
        .find(|&k| d.is(k, &["type", "variant", "subtype"]))?;
    let end = if d.w(end + 1) == ")" {
        end + 2
    } else {
        end + 1
    };
    let hist = HISTOLOGIES
        .iter()
        .find(|(p, _)| *p == name)
        .map(|(_, h)| h)?;
    Some((end, hist))
}

/// Words before a histology that make it a deposit elsewhere, not the
/// primary ("metastatic", "implants of", "involvement by").
#[rustfmt::skip]
const SPREAD: &[&str] = &[
    "metastatic", "metastasis", "metastases", "metastasizing", "implant", "implants",
    "involvement", "involved", "deposit", "deposits", "extension", "secondary", "recurrent",
];

/// The cancer named by tokens `s..e` (a histology, or a generic word that
/// needs its organ next to it), unless negated.
fn cancer_at(
    d: &Doc,
    s: usize,
    e: usize,
    hist: Option<&Hist>,
    in_situ: bool,
) -> Option<Fact<Cancer>> {
    if d.negated_before(s, 6) || d.negated_after(e) || d.cue_before(s, 4, HISTORY) {
        return None;
    }
    let spread = (s.saturating_sub(3)..s).any(|j| d.is(j, SPREAD));
    // The organ: named right before ("colon adenocarcinoma"), right after
    // ("of the left breast"), as the primary ("consistent with colorectal
    // primary"), or heading the diagnosis ("BREAST, LEFT, MASTECTOMY:
    // INVASIVE DUCTAL CARCINOMA") if the histology arises there.
    let contiguous =
        organ_ending_at(d, s).or_else(|| if spread { None } else { organ_after(d, e) });
    let named_with = contiguous.is_some();
    let site = match contiguous {
        Some(o) => Some(o),
        None => primary_organ_after(d, e).or_else(|| {
            let hist = hist.filter(|_| !spread)?;
            organ_heading(d, s, |o| hist.organs.is_empty() || hist.organs.contains(&o))
        }),
    };
    let organ_name = site.as_ref().map(|o| o.organ);
    let implied = hist
        .filter(|h| h.implies)
        .and_then(|h| h.organs.first().copied());
    let type_id = catalog_type(hist.map(|h| h.name), organ_name.or(implied));
    // A deposit without its organ names the cancer only if the histology
    // does ("metastatic melanoma"; not "metastatic adenocarcinoma").
    if site.is_none() && (hist.is_none() || spread && type_id.is_none()) {
        return None;
    }
    let (a, b) = site.as_ref().map_or((s, e), |o| (o.s.min(s), o.e.max(e)));
    let name = if named_with {
        d.words(a, b)
    } else {
        d.words(s, e)
    };
    let side = site.as_ref().and_then(|o| laterality(d, o));
    let (a, b) = side
        .as_ref()
        .map_or((a, b), |&(_, j)| (a.min(j), b.max(j + 1)));
    Some(Fact::new(
        Cancer {
            type_id,
            name,
            histology: match (hist, in_situ) {
                (Some(h), true) => Some(format!("{} in situ", h.name)),
                (Some(h), false) => Some(h.name.to_string()),
                (None, true) if d.w(s) == "carcinoma" => Some("carcinoma in situ".to_string()),
                (None, _) => None,
            },
            site: organ_name.map(str::to_string),
            laterality: side.map(|(w, _)| w),
            code: None,
        },
        d.prov(a, b),
    ))
}

/// An organ whose words end right before token `s` (a hyphen between is
/// allowed).
fn organ_ending_at(d: &Doc, s: usize) -> Option<OrganAt> {
    let end = if s > 0 && d.w(s - 1) == "-" { s - 1 } else { s };
    (end.saturating_sub(3)..end).find_map(|k| match d.longest(k, ORGAN_WORDS) {
        Some((e, o)) if e == end => Some(OrganAt { s: k, e, organ: o }),
        _ => None,
    })
}

/// Words between "of" and the organ ("of the left upper lobe").
#[rustfmt::skip]
const ORGAN_LEAD: &[&str] = &[
    "the", "left", "right", "bilateral", "upper", "lower", "outer", "inner", "urinary", "-",
];

/// "of the left breast", "in the sigmoid colon", "arising in the kidney".
fn organ_after(d: &Doc, e: usize) -> Option<OrganAt> {
    let mut j = e;
    if d.is(j, &["arising", "originating"]) {
        j += 1;
    }
    if !d.is(j, &["of", "in", "from", "involving"]) {
        return None;
    }
    j += 1;
    for _ in 0..4 {
        if let Some((end, o)) = d.longest(j, ORGAN_WORDS) {
            return Some(OrganAt {
                s: j,
                e: end,
                organ: o,
            });
        }
        if !d.is(j, ORGAN_LEAD) {
            return None;
        }
        j += 1;
    }
    None
}

/// "consistent with (a) colorectal primary", "of pulmonary origin".
fn primary_organ_after(d: &Doc, e: usize) -> Option<OrganAt> {
    let end = d.window(e, 10, 10, |_| false);
    (e..end).find_map(|k| match d.longest(k, ORGAN_WORDS) {
        Some((oe, o)) if d.is(oe, &["primary", "origin"]) => Some(OrganAt {
            s: k,
            e: oe + 1,
            organ: o,
        }),
        _ => None,
    })
}

/// The organ heading a diagnosis line, in the dozen words before a
/// histology, of those the histology arises in (`fits`): the nearest
/// organ's heading, read back to its start; of a list of organs the first
/// that fits ("HEAD OF PANCREAS, PORTION OF DUODENUM AND STOMACH:
/// Adenocarcinoma" is the pancreas's), else the nearest that fits. The search stays in the histology's
/// sentence, but for a heading that ends the line before it ("Left tongue,
/// hemiglossectomy.\n- Squamous cell carcinoma").
fn organ_heading(d: &Doc, s: usize, fits: impl Fn(&str) -> bool) -> Option<OrganAt> {
    let lo = s.saturating_sub(14);
    // "metastatic ... to the lungs": where it spread, not a heading.
    let destination = |k: usize| {
        k >= 1 && (d.w(k - 1) == "to" || k >= 2 && d.w(k - 1) == "the" && d.w(k - 2) == "to")
    };
    let at = |k: usize| match d.longest(k, ORGAN_WORDS) {
        Some((e, o)) if e <= s && !(e == k + 1 && d.is(k, ADJACENT_ONLY)) && !destination(k) => {
            Some(OrganAt { s: k, e, organ: o })
        }
        _ => None,
    };
    // The histology's line, and whether a sentence end may still be crossed.
    let line = (lo..=s).rev().find(|&k| d.line_start(k)).unwrap_or(lo);
    let mut crossed = false;
    let mut k = s;
    let nearest = loop {
        if k == lo {
            return None;
        }
        k -= 1;
        if d.stop(k) {
            if crossed || k + 1 != line || d.w(k) != "." {
                return None;
            }
            crossed = true;
            continue;
        }
        if let Some(o) = at(k) {
            // The longest naming that holds it ("base of tongue").
            let wider =
                (k.saturating_sub(3).max(lo)..k).find_map(|k2| at(k2).filter(|w| w.e >= o.e));
            break wider.unwrap_or(o);
        }
    };
    // The heading's organs: back from the nearest to the start of its line,
    // a colon or a sentence end.
    let mut organs = vec![nearest];
    let mut k = nearest.s;
    while k > lo && !d.line_start(k) {
        k -= 1;
        if d.stop(k) || d.w(k) == ":" {
            break;
        }
        if let Some(o) = at(k) {
            // Not a modifier of the organ after it ("uterine cervix").
            if o.e < organs.last().map_or(s, |l| l.s) {
                // The same organ twice ("RIGHT TONSIL, TONSILLECTOMY"): the
                // first naming, with its side.
                if organs.last().is_some_and(|l| l.organ == o.organ) {
                    organs.pop();
                }
                organs.push(o);
            }
        }
    }
    // A list of organs ("pancreas, duodenum and stomach", "cervix and
    // uterus") is headed by the first; a chain ("uterus, cervix, biopsy")
    // narrows down to the last.
    let first = organs.last().map_or(nearest.s, |o| o.s);
    let list = (first..nearest.s).any(|j| d.is(j, &["and", "&"]));
    if !list {
        organs.reverse();
    }
    organs.into_iter().rev().find(|o| fits(o.organ))
}

/// Left, right or bilateral within three words of a paired organ, in the
/// same clause; the word and where it is.
fn laterality(d: &Doc, o: &OrganAt) -> Option<(String, usize)> {
    if !organ(o.organ).0 {
        return None;
    }
    let sides = ["left", "right", "bilateral"];
    let (mut before, mut after) = (true, true);
    for k in 1..=3 {
        // Nearest first: the word before, then the one after.
        for j in [
            o.s.checked_sub(k).filter(|_| before),
            Some(o.e + k - 1).filter(|_| after),
        ]
        .into_iter()
        .flatten()
        {
            if d.is(j, &sides) {
                return Some((d.w(j).to_string(), j));
            }
        }
        before &= o.s.checked_sub(k).is_some_and(|j| !d.stop(j));
        after &= !d.stop(o.e + k - 1);
    }
    None
}

/// The catalog type of a histology in an organ: the histology first, so
/// that "glioblastoma" gives `glioma` before the organ gives `brain`.
fn catalog_type(hist: Option<&str>, organ_name: Option<&str>) -> Option<String> {
    let phrase = format!(
        "{} {}",
        hist.unwrap_or(""),
        organ_name.map_or("", |o| organ(o).1)
    );
    detect(&phrase, Matching::Exact)
        .first()
        .map(|c| c.id.to_string())
}

/// Whether cancer `b` says all that `a` says (and maybe more).
fn cancer_covers(b: &Cancer, a: &Cancer) -> bool {
    let hist = match (&a.histology, &b.histology) {
        (None, _) => true,
        // An invasive cancer and one in situ are two.
        (Some(x), Some(y)) => {
            y.contains(x.as_str()) && x.contains("in situ") == y.contains("in situ")
        }
        _ => false,
    };
    hist && covers(&b.site, &a.site)
        && covers(&b.laterality, &a.laterality)
        && covers(&b.type_id, &a.type_id)
}

fn covers(b: &Option<String>, a: &Option<String>) -> bool {
    a.is_none() || a == b
}

/// Folds each fact into a more complete one that covers it (the same
/// cancer named twice, once with its organ), keeping every source; the
/// facts left keep the order of first mention.
fn fold<T>(list: &mut Vec<Fact<T>>, covers: impl Fn(&T, &T) -> bool) {
    let n = list.len();
    // Most complete first (covering the most others), so that a fact is
    // folded into the fullest fact that covers it.
    let reach: Vec<usize> = (0..n)
        .map(|i| {
            (0..n)
                .filter(|&j| j != i && covers(&list[i].value, &list[j].value))
                .count()
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(reach[i]));
    let mut slots: Vec<Option<Fact<T>>> = std::mem::take(list).into_iter().map(Some).collect();
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let Some(f) = slots[i].take() else { continue };
        let covering = kept.iter().copied().find(|&k| {
            slots[k]
                .as_ref()
                .is_some_and(|k| covers(&k.value, &f.value))
        });
        match covering.and_then(|k| slots[k].as_mut()) {
            Some(into) => {
                for p in f.provenance {
                    if !into.provenance.contains(&p) {
                        into.provenance.push(p);
                    }
                }
            }
            None => {
                slots[i] = Some(f);
                kept.push(i);
            }
        }
    }
    kept.sort_unstable();
    *list = kept.into_iter().filter_map(|k| slots[k].take()).collect();
}

// ---------------------------------------------------------------------------
// Stage

/// One TNM category read from a token: prefix ("p", "yp"), letter, value.
struct Tnm {
    prefix: String,
    letter: char,
    value: String,
    /// Read through OCR damage (a letter for a digit, a split word): such
    /// a category counts only next to another.
    guessed: bool,
}

/// The TNM categories of one word: "pt2", "t3n1m0", "ypt0", "pn1a", "cm1",
/// "pmx". With `ocr` (within a group), after a "p" and after a first
/// category, OCR's "l" or "I" for "1" in T ("ptla") and "o" for "0" in N
/// and M ("pno") are read as digits.
fn tnm_token(w: &str, ocr: bool) -> Option<Vec<Tnm>> {
    let b = w.as_bytes();
    let mut out: Vec<Tnm> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let prefix = ["yp", "yc", "rp", "p", "c", "r"]
            .into_iter()
            .find(|p| {
                w[i..].starts_with(p) && matches!(b.get(i + p.len()), Some(b't' | b'n' | b'm'))
            })
            .unwrap_or("");
        i += prefix.len();
        let letter = *b.get(i)? as char;
        if out.last().is_some_and(|l| rank(letter) <= rank(l.letter)) {
            return None;
        }
        i += 1;
        let lenient = ocr || prefix.ends_with('p') || !out.is_empty();
        let (value, used, guessed) = tnm_value(letter, &w[i..], lenient)?;
        i += used;
        out.push(Tnm {
            prefix: prefix.to_string(),
            letter,
            value,
            guessed,
        });
    }
    (!out.is_empty()).then_some(out)
}

/// The TNM categories at token `j` and the token after them. OCR splits
/// some ("pT 1 b", "N O", "T 3a"): a bare category word takes the value
/// word after it, on the same line.
fn tnm_at(d: &Doc, j: usize, ocr: bool) -> Option<(usize, Vec<Tnm>)> {
    let w = d.w(j);
    let bare = matches!(
        w,
        "t" | "n" | "m" | "pt" | "pn" | "pm" | "ypt" | "ypn" | "ct" | "cn"
    );
    let same_line = |k: usize| {
        !d.line_start(k)
            && d.w(k)
                .as_bytes()
                .first()
                .is_some_and(u8::is_ascii_alphanumeric)
    };
    if bare && same_line(j + 1) {
        let two = format!("{w}{}", d.w(j + 1));
        let split = |mut t: Vec<Tnm>| {
            t.iter_mut().for_each(|t| t.guessed = true);
            t
        };
        if d.is(j + 2, &["a", "b", "c", "d"]) && same_line(j + 2) {
            if let Some(t) = tnm_token(&format!("{two}{}", d.w(j + 2)), ocr) {
                return Some((j + 3, split(t)));
            }
        }
        if let Some(t) = tnm_token(&two, ocr) {
            return Some((j + 2, split(t)));
        }
    }
    let mut parts = tnm_token(w, ocr)?;
    // "pT1 a NX": a lone suffix letter before the next category.
    let short = parts
        .last()
        .is_some_and(|t| t.value.len() == 1 && t.value != "X");
    if short
        && d.is(j + 1, &["a", "b", "c"])
        && same_line(j + 1)
        && tnm_token(d.w(j + 2), true).is_some()
    {
        if let Some(t) = parts.last_mut() {
            t.value.push_str(d.w(j + 1));
        }
        return Some((j + 2, parts));
    }
    Some((j + 1, parts))
}

/// T before N before M.
fn rank(letter: char) -> u8 {
    match letter {
        't' => 0,
        'n' => 1,
        _ => 2,
    }
}

/// The value of a T, N or M category at the start of `rest`, its length,
/// and whether OCR letters were read as digits (`ocr` allows that).
fn tnm_value(letter: char, rest: &str, ocr: bool) -> Option<(String, usize, bool)> {
    let b = rest.as_bytes();
    let c = *b.first()?;
    let (first, suffixes, guessed): (String, &[u8], bool) = match (letter, c) {
        ('t', b'i') if rest.starts_with("is") => return Some(("is".into(), 2, false)),
        (_, b'x') => return Some(("X".into(), 1, false)),
        ('t', b'0'..=b'4') | ('n', b'0'..=b'3') => ((c as char).to_string(), b"abcd", false),
        ('m', b'0'..=b'1') => ((c as char).to_string(), b"abc", false),
        ('t', b'l' | b'i') if ocr => ("1".into(), b"abcd", true),
        ('n' | 'm', b'o') if ocr => ("0".into(), b"", true),
        ('n', b'l') if ocr => ("1".into(), b"abc", true),
        _ => return None,
    };
    let mut v = first;
    let mut used = 1;
    if let Some(s) = b.get(1).filter(|s| suffixes.contains(s)) {
        v.push(*s as char);
        used += 1;
    }
    if rest[used..].starts_with("mi") {
        v.push_str("mi");
        used += 2;
    }
    Some((v, used, guessed))
}

/// A stage read at tokens `a..b`.
struct StageAt {
    a: usize,
    b: usize,
    stage: Stage,
    /// A lone category followed by a colon: maybe one option of a template
    /// ("pT3: Tumor invades...").
    option: bool,
}

fn stages(d: &Doc, p: &mut Profile) {
    let mut found = tnm_groups(d);
    found.extend(stage_groups(d));
    found.sort_by_key(|s| s.a);
    // A template printing all its options ("pT1: ... pT2: ...") says nothing
    // of this tumor: options of a letter with two values are dropped.
    let letters = |s: &Stage| [s.t.is_some(), s.n.is_some(), s.m.is_some()];
    let options = |k: usize| {
        let mut values: Vec<&Option<String>> = found
            .iter()
            .filter(|s| s.option && letters(&s.stage)[k])
            .map(|s| [&s.stage.t, &s.stage.n, &s.stage.m][k])
            .collect();
        values.dedup();
        values.len() >= 2
    };
    let template = [options(0), options(1), options(2)];
    found.retain(|s| !(s.option && (0..3).any(|k| letters(&s.stage)[k] && template[k])));
    // Parts of one stage a line or two apart ("pT3 ... pN1 ... pMX", "Stage
    // IIA (pT2 N0)") are one fact with each part's source.
    let mut merged: Vec<(Stage, Vec<(usize, usize)>)> = Vec::new();
    for s in found {
        let joins = merged.last().is_some_and(|(m, spans)| {
            let last_b = spans.last().map_or(0, |x| x.1);
            // Across a sentence end only from one line of a list to the next.
            let apart = (last_b..s.a).any(|j| d.stop(j) && !d.line_start(j + 1));
            s.a <= last_b + 12 && !apart && disjoint(m, &s.stage)
        });
        match merged.last_mut() {
            Some((m, spans)) if joins => {
                m.t = m.t.take().or(s.stage.t);
                m.n = m.n.take().or(s.stage.n);
                m.m = m.m.take().or(s.stage.m);
                m.group = m.group.take().or(s.stage.group);
                m.kind = m.kind.take().or(s.stage.kind);
                m.system = m.system.take().or(s.stage.system);
                spans.push((s.a, s.b));
            }
            _ => merged.push((s.stage, vec![(s.a, s.b)])),
        }
    }
    for (stage, spans) in merged {
        let mut fact = Fact::new(stage, d.prov(spans[0].0, spans[0].1));
        fact.provenance
            .extend(spans[1..].iter().map(|&(a, b)| d.prov(a, b)));
        note(&mut p.stages, fact);
    }
}

/// Whether two parts of a stage state different things (and agree on kind).
fn disjoint(a: &Stage, b: &Stage) -> bool {
    let none_both = |x: &Option<String>, y: &Option<String>| x.is_none() || y.is_none();
    none_both(&a.t, &b.t)
        && none_both(&a.n, &b.n)
        && none_both(&a.m, &b.m)
        && none_both(&a.group, &b.group)
        && (none_both(&a.kind, &b.kind) || a.kind == b.kind)
}

/// TNM groups: "pT2 pN1a M0", "T3N1M0", "ypT0 N0", "pT1c", "cM1". A lone
/// category needs a prefix ("T2" alone is too often something else).
fn tnm_groups(d: &Doc) -> Vec<StageAt> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < d.len() {
        let Some((mut end, mut parts)) =
            tnm_at(d, i, false).filter(|(_, t)| t[0].letter == 't' || !t[0].prefix.is_empty())
        else {
            i += 1;
            continue;
        };
        while let Some((j, more)) = next_tnm(d, end, parts.last().map_or('t', |t| t.letter)) {
            parts.extend(more);
            end = j;
        }
        let lone_ok = parts.len() == 1 && !parts[0].prefix.is_empty() && !parts[0].guessed;
        if parts.len() >= 2 || lone_ok {
            let mut stage = Stage::default();
            for t in &parts {
                let text = format!("{}{}{}", t.prefix, t.letter.to_ascii_uppercase(), t.value);
                match t.letter {
                    't' => stage.t = Some(text),
                    'n' => stage.n = Some(text),
                    _ => stage.m = Some(text),
                }
            }
            stage.kind = parts
                .iter()
                .find_map(|t| kind_of_prefix(&t.prefix))
                .or_else(|| kind_before(d, i))
                .map(str::to_string);
            stage.system = system_near(d, i, end);
            let option = parts.len() == 1 && d.w(end) == ":";
            out.push(StageAt {
                a: i,
                b: end,
                stage,
                option,
            });
        }
        i = end;
    }
    out
}

/// The next TNM category after token `from` (past commas, brackets and a
/// short bracketed aside such as "(m)" or "(0/40)"), if it comes after
/// `last` in T, N, M order.
fn next_tnm(d: &Doc, from: usize, last: char) -> Option<(usize, Vec<Tnm>)> {
    let mut j = from;
    for _ in 0..8 {
        match d.w(j) {
            "," | ")" | "/" => j += 1,
            "(" => {
                if tnm_at(d, j + 1, true).is_some() {
                    j += 1;
                } else {
                    let close = (j + 1..j + 8).find(|&k| d.w(k) == ")" || d.stop(k))?;
                    if d.w(close) != ")" {
                        return None;
                    }
                    j = close + 1;
                }
            }
            _ => {
                let (e, parts) = tnm_at(d, j, true)?;
                return (rank(parts[0].letter) > rank(last)).then_some((e, parts));
            }
        }
    }
    None
}

fn kind_of_prefix(prefix: &str) -> Option<&'static str> {
    match prefix {
        "p" | "yp" | "rp" => Some("pathologic"),
        "c" | "yc" => Some("clinical"),
        _ => None,
    }
}

/// "Pathologic stage: ...", "clinical stage ..." a few words before.
fn kind_before(d: &Doc, i: usize) -> Option<&'static str> {
    (i.saturating_sub(6)..i).rev().find_map(|j| match d.w(j) {
        "pathologic" | "pathological" => Some("pathologic"),
        "clinical" => Some("clinical"),
        _ => None,
    })
}

/// "AJCC 8th edition" near tokens `a..b`.
fn system_near(d: &Doc, a: usize, b: usize) -> Option<String> {
    let ordinal = |w: &str| {
        w.len() >= 3
            && w.as_bytes()[0].is_ascii_digit()
            && ["st", "nd", "rd", "th"].iter().any(|s| w.ends_with(s))
    };
    let mut system = None;
    for j in a.saturating_sub(10)..(b + 10).min(d.len()) {
        if d.w(j) != "ajcc" {
            continue;
        }
        match (j + 1..j + 5).map(|k| d.w(k)).find(|w| ordinal(w)) {
            Some(e) => return Some(format!("AJCC {e}")),
            None => system = Some("AJCC".to_string()),
        }
    }
    system
}

/// Stage groups: "Stage IIIB", "stage 4", "AJCC stage: IIA", "FIGO stage IC".
fn stage_groups(d: &Doc) -> Vec<StageAt> {
    let mut out = Vec::new();
    for i in 0..d.len() {
        if d.w(i) != "stage" {
            continue;
        }
        let prev = d.w(i.wrapping_sub(1));
        // "T stage", "Dukes' stage", "at this stage I...".
        let not_group = [
            "t", "n", "m", "node", "nodal", "dukes", "'", "coller", "tumor", "tumour", "this",
            "that", "which", "what", "each", "any", "same", "next", "early", "late", "later", "an",
        ];
        if not_group.contains(&prev) {
            continue;
        }
        let mut j = i + 1;
        while d.is(j, &[":", "group", "grouping", "is", "-", "("]) && j < i + 4 {
            j += 1;
        }
        let Some(group) = roman_group(d.w(j)) else {
            continue;
        };
        // "Stage\n(I'llINN": the value on the same line, a word of its own.
        let glued = d.touching(j) && !d.is(j + 1, &[")", ",", ".", ";", ":"]);
        if glued || d.line_start(j) || (group == "I" && !d.upper(j)) {
            continue;
        }
        // The letter split off by a space: "Stage IV A", "stage 1 B2" (a
        // capital, ending its words: not the article in "stage I a tumor").
        let (group, j) = match split_substage(d, j + 1) {
            Some(sub) if group.chars().all(|c| matches!(c, 'I' | 'V' | '0')) && group != "0" => {
                (format!("{group}{sub}"), j + 1)
            }
            _ => (group, j),
        };
        let kind = match prev {
            "pathologic" | "pathological" => Some("pathologic".to_string()),
            "clinical" => Some("clinical".to_string()),
            _ => None,
        };
        let system = if prev == "figo" {
            Some("FIGO".to_string())
        } else {
            system_near(d, i, j + 1)
        };
        out.push(StageAt {
            a: if kind.is_some() || prev == "figo" {
                i - 1
            } else {
                i
            },
            b: j + 1,
            stage: Stage {
                kind,
                group: Some(group),
                system,
                ..Stage::default()
            },
            option: false,
        });
    }
    out
}

/// A substage letter at `k` written apart from its group: "A", "B2".
fn split_substage(d: &Doc, k: usize) -> Option<String> {
    let w = d.w(k).as_bytes();
    let ok = match w {
        [l] => matches!(l, b'a'..=b'c'),
        [l, n] => matches!(l, b'a'..=b'c') && matches!(n, b'1'..=b'3'),
        _ => false,
    };
    let ends = k + 1 >= d.len()
        || d.line_start(k + 1)
        || !d.w(k + 1).as_bytes()[0].is_ascii_alphanumeric();
    (ok && d.upper(k) && !d.line_start(k) && !d.touching(k - 1) && ends)
        .then(|| d.w(k).to_ascii_uppercase())
}

/// "iiib" → "IIIB", "4" → "IV", "2a" → "IIA", "0" → "0".
fn roman_group(w: &str) -> Option<String> {
    let split = w
        .find(|c: char| !matches!(c, 'i' | 'v' | '0'..='4'))
        .unwrap_or(w.len());
    let (num, rest) = w.split_at(split);
    let roman = match num {
        "0" => "0",
        "i" | "1" => "I",
        "ii" | "2" => "II",
        "iii" | "3" => "III",
        "iv" | "4" => "IV",
        _ => return None,
    };
    let rb = rest.as_bytes();
    let ok = match rb {
        [] => true,
        [l] => matches!(l, b'a'..=b'c'),
        [l, n] => matches!(l, b'a'..=b'c') && matches!(n, b'1'..=b'3'),
        _ => false,
    };
    ok.then(|| format!("{roman}{}", rest.to_uppercase()))
}

/// Whether stage `b` says all that `a` says.
fn stage_covers(b: &Stage, a: &Stage) -> bool {
    covers(&b.group, &a.group)
        && covers(&b.t, &a.t)
        && covers(&b.n, &a.n)
        && covers(&b.m, &a.m)
        && covers(&b.kind, &a.kind)
        && covers(&b.system, &a.system)
}

// ---------------------------------------------------------------------------
// Grade

fn grades(d: &Doc, p: &mut Profile) {
    let mut i = 0;
    while i < d.len() {
        let found = match d.w(i) {
            "gleason" => gleason(d, i),
            "grade" => grade_word(d, i),
            "high" | "low" => high_low_grade(d, i),
            "well" | "moderately" | "poorly" | "undifferentiated" => differentiation(d, i),
            w if is_g_grade(w) => g_grade(d, i),
            _ => None,
        };
        match found {
            Some((a, b, g)) => {
                note(&mut p.grades, Fact::new(g, d.prov(a, b)));
                i = b.max(i + 1);
            }
            None => i += 1,
        }
    }
}

/// "g1".."g4".
fn is_g_grade(w: &str) -> bool {
    matches!(w, "g1" | "g2" | "g3" | "g4")
}

/// A grade value: "2", "ii", "g2", "gii"; as a digit.
fn grade_value(w: &str) -> Option<u8> {
    let w = w.strip_prefix('g').unwrap_or(w);
    match w {
        "1" | "i" => Some(1),
        "2" | "ii" => Some(2),
        "3" | "iii" => Some(3),
        "4" | "iv" => Some(4),
        _ => None,
    }
}

/// Systems named before "grade".
#[rustfmt::skip]
const GRADE_SYSTEMS: &[(&str, &str)] = &[
    ("nottingham", "Nottingham"), ("who", "WHO"), ("fuhrman", "Fuhrman"), ("isup", "ISUP"),
    ("figo", "FIGO"), ("elston", "Nottingham"),
];

/// Words between a grading system and "grade" ("Fuhrman's nuclear grade").
#[rustfmt::skip]
const GRADE_LABEL: &[&str] = &[
    "'", "s", "histologic", "histological", "modified", "combined", "(", "-",
];

/// "grade 2", "Grade II", "Nottingham grade 2 of 3", "WHO grade IV",
/// "Fuhrman nuclear grade 3/4", "Grade: G2", "Grade Group 2", "grade: high".
fn grade_word(d: &Doc, i: usize) -> Option<(usize, usize, String)> {
    let back = |k: usize| d.w(i.wrapping_sub(k));
    // Gleason's own grades and patterns are read by [`gleason`].
    if ["gleason", "primary", "secondary"].contains(&back(1))
        || (2..=4).any(|k| ["gleason", "pattern"].contains(&back(k)))
    {
        return None;
    }
    if d.w(i + 1) == "group" {
        // ISUP grade group; "Grade Group 1:" is a template's option.
        let v = grade_value(d.w(i + 2)).filter(|_| d.w(i + 3) != ":")?;
        return Some((i, i + 3, format!("Grade Group {v}")));
    }
    let mut j = i + 1;
    while d.is(j, &[":", "is", "("]) && j < i + 3 {
        j += 1;
    }
    let w = d.w(j);
    if w == "high" || w == "low" {
        return Some((i, j + 1, format!("{w} grade")));
    }
    let v = grade_value(w)?;
    // "Grade 1: well differentiated", "Grade:\nG1: Well ...\nG2: ...": a
    // template's options, not a result.
    if (d.line_start(i) && d.is(j + 1, &[":", "="])) || template_option(d, j) {
        return None;
    }
    let mut end = j + 1;
    if d.is(end, &["/", "of"]) && grade_value(d.w(end + 1)).is_some() {
        end += 2;
    }
    // The system, before ("WHO grade") or just after ("grade II (WHO)").
    let mut start = i;
    let mut system = None;
    let mut nuclear = false;
    for k in 1..=4 {
        let Some(j) = i.checked_sub(k) else { break };
        let w = d.w(j);
        if let Some((_, s)) = GRADE_SYSTEMS.iter().find(|(k, _)| *k == w) {
            system = Some(*s);
            start = j;
            break;
        }
        if w == "nuclear" {
            nuclear = true;
            start = j;
        } else if !d.is(j, GRADE_LABEL) {
            break;
        }
    }
    if system.is_none() {
        for k in end..end + 2 {
            if let Some((_, s)) = GRADE_SYSTEMS.iter().find(|(w, _)| d.w(k) == *w) {
                system = Some(*s);
                end = k + 1;
                break;
            }
        }
    }
    // "(Grade 1) chronic hepatitis": another condition's grade.
    if system.is_none() {
        let after = if d.w(end) == ")" { end + 1 } else { end };
        if (after..after + 3).any(|k| d.is(k, OTHER_GRADED) || precursor(d.w(k))) {
            return None;
        }
    }
    let label = match (system, nuclear) {
        (Some(s), _) => format!("{s} grade"),
        (None, true) => "nuclear grade".to_string(),
        (None, false) => "grade".to_string(),
    };
    Some((start, end, format!("{label} {v}")))
}

/// Whether the grade label at `i` ("G2", "Grade 1") starts a line and is
/// followed by a colon: one option of a template listing them all.
fn template_option(d: &Doc, i: usize) -> bool {
    let mut j = i + 1;
    if d.w(i) == "grade" {
        j += 1;
    }
    d.line_start(i) && d.is(j, &[":", "="])
}

/// A lone "G2" (as in "(G2, pT3, pN0)"), not a template's "G2:" option.
fn g_grade(d: &Doc, i: usize) -> Option<(usize, usize, String)> {
    if template_option(d, i) || d.w(i.wrapping_sub(1)) == "-" {
        return None;
    }
    // "in block G2", "blocks G3 and G4": a tissue block's name.
    if (i.saturating_sub(3)..i).any(|j| d.is(j, SPECIMEN_PARTS)) {
        return None;
    }
    let v = grade_value(d.w(i))?;
    Some((i, i + 1, format!("grade {v}")))
}

/// Words naming the parts a specimen is cut into, whose labels ("block
/// G2") look like grades.
#[rustfmt::skip]
const SPECIMEN_PARTS: &[&str] = &[
    "block", "blocks", "cassette", "cassettes", "slide", "slides", "jar", "container",
];

/// Conditions other than the cancer that are graded too ("mild (grade 1)
/// chronic hepatitis", "grade 2 fibrosis").
#[rustfmt::skip]
const OTHER_GRADED: &[&str] = &[
    "hepatitis", "inflammation", "inflammatory", "activity", "fibrosis", "steatosis",
    "esophagitis", "gastritis", "colitis", "cystitis", "siderosis",
];

/// Lesions before cancer, whose grade is not a cancer's.
#[rustfmt::skip]
const PRECURSORS: &[&str] = &[
    "dysplasia", "pin", "intraepithelial", "adenoma", "sil", "hsil", "lsil", "squamous",
];

/// A precursor lesion's word that names no cancer ("squamous" can).
fn precursor(w: &str) -> bool {
    w != "squamous" && PRECURSORS.contains(&w)
}

/// "high-grade urothelial carcinoma", not "high-grade dysplasia".
fn high_low_grade(d: &Doc, i: usize) -> Option<(usize, usize, String)> {
    let g = d.phrase(i + 1, "grade").or_else(|| {
        (d.w(i + 1) == "-")
            .then(|| d.phrase(i + 2, "grade"))
            .flatten()
    })?;
    if d.negated_before(i, 3) {
        return None;
    }
    #[rustfmt::skip]
    const CANCER: &[&str] = &[
        "carcinoma", "adenocarcinoma", "glioma", "astrocytoma", "sarcoma", "tumor", "tumour",
        "neoplasm", "lymphoma",
    ];
    let found = Some((i, g, format!("{} grade", d.w(i))));
    // "neoplasm with high-grade dysplasia": the precursor's grade, whatever
    // comes before.
    if precursor(d.w(g)) || d.is(g, OTHER_GRADED) {
        return None;
    }
    // "urothelial carcinoma of the bladder, high grade"
    for j in (i.saturating_sub(6)..i).rev() {
        if d.stop(j) || d.w(j) == ":" {
            break;
        }
        if d.is(j, CANCER) {
            return found;
        }
    }
    for j in g..g + 4 {
        let w = d.w(j);
        if PRECURSORS.contains(&w) {
            return None;
        }
        if CANCER.contains(&w) {
            return found;
        }
        if d.stop(j) {
            return None;
        }
    }
    None
}

/// "well differentiated", "moderately to poorly differentiated",
/// "undifferentiated", unless a template's option ("G1: well ...").
fn differentiation(d: &Doc, i: usize) -> Option<(usize, usize, String)> {
    if i >= 2
        && d.w(i - 1) == ":"
        && (template_option(d, i - 2) || template_option(d, i.saturating_sub(3)))
    {
        return None;
    }
    if d.negated_before(i, 2) {
        return None;
    }
    if d.w(i) == "undifferentiated" {
        return Some((i, i + 1, "undifferentiated".to_string()));
    }
    let degree = ["well", "moderately", "poorly"];
    let mut words = vec![d.w(i)];
    let mut j = i + 1;
    if d.w(j) == "to" && d.is(j + 1, &degree) {
        words.push("to");
        words.push(d.w(j + 1));
        j += 2;
    }
    let end = d.phrase(j, "differentiated")?;
    words.push("differentiated");
    Some((i, end, words.join(" ")))
}

/// Gleason: "Gleason 3+4=7", "Gleason score 7 (3+4)", "Gleason score
/// (primary plus secondary pattern): 4 + 3 = 7/10", "primary Gleason grade:
/// 4 ... secondary Gleason grade: 3", "Gleason sum score: 7".
fn gleason(d: &Doc, i: usize) -> Option<(usize, usize, String)> {
    let end = d.window(i + 1, 14, 14, |j| d.w(j) == "gleason");
    // a + b [= c]
    for j in i + 1..end {
        if d.w(j) != "+" {
            continue;
        }
        let (Some(a), Some(b)) = (pattern(d.w(j.wrapping_sub(1))), pattern(d.w(j + 1))) else {
            continue;
        };
        let sum = a + b;
        let mut e = j + 2;
        if d.w(e) == "=" {
            if d.w(e + 1).parse::<u8>().ok() != Some(sum) {
                return None;
            }
            e += 2;
        }
        let start = i.min(j - 1);
        let e = if d.w(e) == ")" { e + 1 } else { e };
        return Some((start, e, format!("Gleason {a}+{b}={sum}")));
    }
    // "Primary Gleason grade: 4 ... Secondary Gleason grade: 3"
    if d.w(i.wrapping_sub(1)) == "primary" {
        let (a, _) = pattern_after(d, i + 1)?;
        let s = (i + 2..i + 12).find(|&k| d.w(k) == "secondary" && d.w(k + 1) == "gleason")?;
        let (b, e) = pattern_after(d, s + 2)?;
        return Some((i - 1, e, format!("Gleason {a}+{b}={}", a + b)));
    }
    // "Gleason score: 7", "Gleason sum score 7"; not "Gleason 5: 70%" (a
    // pattern's share).
    if !d.is(i + 1, &["sum", "score"]) {
        return None;
    }
    let mut j = i + 1;
    while d.is(j, &["sum", "score", ":", "total"]) && j < i + 4 {
        j += 1;
    }
    let v: u8 = d.w(j).parse().ok().filter(|v| (2..=10).contains(v))?;
    (d.w(j + 1) != ":").then(|| (i, j + 1, format!("Gleason score {v}")))
}

/// A Gleason pattern, 1 to 5.
fn pattern(w: &str) -> Option<u8> {
    w.parse().ok().filter(|v| (1..=5).contains(v))
}

/// The pattern after "grade:" / "pattern:", and the token after it.
fn pattern_after(d: &Doc, j: usize) -> Option<(u8, usize)> {
    let mut k = j;
    while d.is(k, &["grade", "pattern", ":"]) && k < j + 3 {
        k += 1;
    }
    pattern(d.w(k)).map(|p| (p, k + 1))
}

/// "Gleason score 7" says no more than "Gleason 3+4=7" in the same text:
/// its sources join that fact.
fn fold_gleason_sums(grades: &mut Vec<Fact<String>>) {
    let mut i = 0;
    while i < grades.len() {
        let sum = grades[i]
            .value
            .strip_prefix("Gleason score ")
            .map(str::to_string);
        let full = sum.and_then(|sum| {
            grades.iter().position(|g| {
                g.value.starts_with("Gleason ") && g.value.ends_with(&format!("={sum}"))
            })
        });
        match full {
            Some(k) => {
                let f = grades.remove(i);
                let k = if k > i { k - 1 } else { k };
                for p in f.provenance {
                    if !grades[k].provenance.contains(&p) {
                        grades[k].provenance.push(p);
                    }
                }
            }
            None => i += 1,
        }
    }
}

// ---------------------------------------------------------------------------
// Biomarkers

/// Receptor, score and burden names → short name.
#[rustfmt::skip]
const MARKERS: &[(&str, &str)] = &[
    ("estrogen receptor", "ER"), ("estrogen receptors", "ER"), ("oestrogen receptor", "ER"),
    ("estrogen", "ER"), ("er", "ER"), ("progesterone receptor", "PR"),
    ("progesterone receptors", "PR"), ("progesterone", "PR"), ("pr", "PR"), ("pgr", "PR"),
    ("her2", "HER2"), ("her 2", "HER2"), ("her2neu", "HER2"), ("her2 / neu", "HER2"),
    ("erbb2", "HER2"), ("ki 67", "Ki-67"), ("ki67", "Ki-67"), ("mib 1", "Ki-67"),
    ("mib1", "Ki-67"), ("pd l1", "PD-L1"), ("pdl1", "PD-L1"), ("tmb", "TMB"),
    ("tumor mutational burden", "TMB"), ("tumour mutational burden", "TMB"),
    ("tumor mutation burden", "TMB"),
];

/// Genes whose variants are read; the ones that are also English words
/// count only when written in capitals.
const GENES: &[&str] = &[
    "kras", "nras", "hras", "braf", "egfr", "alk", "ros1", "ret", "met", "ntrk", "ntrk1", "ntrk2",
    "ntrk3", "brca1", "brca2", "pik3ca", "idh1", "idh2", "tp53", "kit",
];
/// Gene symbols that are also English words.
const GENE_WORDS: &[&str] = &["ret", "met", "kit"];

/// Mismatch-repair proteins.
const MMR_PROTEINS: &[&str] = &["mlh1", "msh2", "msh6", "pms2"];

/// What a name at a token is.
#[derive(Clone, Copy, PartialEq)]
enum Name {
    Marker(&'static str),
    Gene(usize),
}

fn name_at(d: &Doc, i: usize) -> Option<(usize, Name)> {
    if let Some((e, m)) = d.longest(i, MARKERS) {
        // "ER" and "PR" are markers in capitals only ("Pr", "er" are OCR
        // debris or words).
        if e == i + 1 && d.is(i, &["er", "pr"]) && !d.upper(i) {
            return None;
        }
        return Some((e, Name::Marker(m)));
    }
    let w = d.w(i);
    let g = GENES.iter().position(|g| *g == w)?;
    if GENE_WORDS.contains(&w) && !d.upper(i) {
        return None;
    }
    Some((i + 1, Name::Gene(g)))
}

/// Separators in a list of names ("ER/PR", "KRAS, NRAS and BRAF").
const LIST_SEPS: &[&str] = &["/", ",", "and", "or", "&", "(", ")", "-"];

fn biomarkers(d: &Doc, p: &mut Profile) {
    let mut i = 0;
    let mut found: Vec<Fact<Biomarker>> = Vec::new();
    while i < d.len() {
        let next = named_markers(d, i, &mut found)
            .or_else(|| msi(d, i, &mut found))
            .or_else(|| mmr(d, i, &mut found))
            .or_else(|| triple_negative(d, i, &mut found))
            .unwrap_or(i + 1);
        // Teaching text ("BRAF mutations can be found in 14% of colorectal
        // cancers") is about cancers in general, not this one.
        if !found.is_empty() && general_statement(d, i) {
            found.clear();
        }
        for f in found.drain(..) {
            note(&mut p.biomarkers, f);
        }
        i = next.max(i + 1);
    }
}

/// Words of a sentence about cancers in general, a rule or a possibility.
#[rustfmt::skip]
const GENERAL: &[&str] = &[
    "can", "may", "might", "could", "should", "would", "reported", "associated", "when", "if",
    "whether", "patients", "cancers", "tumors", "tumours", "carcinomas", "cases", "literature",
    "studies", "criteria", "interpreted", "defined", "majority", "commonly", "frequently",
    "typically", "often", "recommended", "eligible", "candidates", "indicated", "possibility",
    "consider", "considered",
];

/// Whether the sentence around token `i` is a general statement.
fn general_statement(d: &Doc, i: usize) -> bool {
    let mut a = i;
    while a > i.saturating_sub(25) && !d.stop(a - 1) && !d.label_line(a) {
        a -= 1;
    }
    let mut b = i;
    while b < (i + 25).min(d.len()) && !d.stop(b) && !(b > i && d.label_line(b)) {
        b += 1;
    }
    // Counted once per piece, so that many mentions cost no more.
    let counts = d.general.get_or_init(|| {
        let mut n = 0;
        let mut counts = Vec::with_capacity(d.len() + 1);
        counts.push(0);
        for j in 0..d.len() {
            n += u32::from(d.is(j, GENERAL));
            counts.push(n);
        }
        counts
    });
    counts[b] > counts[a]
}

/// A run of names at `i` ("ER/PR", "KRAS, NRAS and BRAF") and what follows
/// it; the token to go on from.
fn named_markers(d: &Doc, i: usize, out: &mut Vec<Fact<Biomarker>>) -> Option<usize> {
    let (mut end, first) = name_at(d, i)?;
    let mut names = vec![(i, end, first)];
    loop {
        let mut j = end;
        while d.is(j, LIST_SEPS) && j < end + 3 {
            j += 1;
        }
        match name_at(d, j) {
            Some((e, n)) if j > end => {
                if !names.iter().any(|(_, _, m)| *m == n) {
                    names.push((j, e, n));
                }
                end = e;
            }
            _ => break,
        }
    }
    let in_run = |n: Name| names.iter().any(|(_, _, m)| *m == n);
    let mut next = end;
    for &(s, _, name) in &names {
        match name {
            Name::Marker("HER2") => {
                if let Some((a, b, fact)) = her2(d, s, end, &in_run) {
                    next = next.max(b);
                    out.push(Fact::new(fact, d.prov(a.min(i), b)));
                }
            }
            Name::Marker(m) => {
                if let Some((a, b, fact)) = marker(d, m, i, end, &in_run) {
                    out.push(Fact::new(fact, d.prov(a, b)));
                }
            }
            Name::Gene(g) => {
                let single = names.len() == 1;
                if let Some((a, b, fact)) = gene(d, GENES[g], i, end, single) {
                    out.push(Fact::new(fact, d.prov(a, b)));
                }
            }
        }
    }
    Some(next)
}

fn biomarker(name: &str, result: &str) -> Biomarker {
    Biomarker {
        name: name.to_string(),
        result: result.to_string(),
        variant: None,
        origin: None,
        detail: None,
        code: None,
    }
}

/// Whether token `j` names another marker or gene (which ends a window).
fn other_name(d: &Doc, j: usize, in_run: &dyn Fn(Name) -> bool) -> bool {
    name_at(d, j).is_some_and(|(_, n)| !in_run(n))
        || d.is(j, MMR_PROTEINS)
        || d.is(j, &["msi", "mss", "mmr"])
}

/// The result a word gives: positive, negative or equivocal.
fn result_word(d: &Doc, j: usize) -> Option<&'static str> {
    match d.w(j) {
        "positive" | "pos" => Some("positive"),
        "negative" | "neg" => Some("negative"),
        "equivocal" | "borderline" => Some("equivocal"),
        // "ER+", "ER (+)"; not "3+" (an intensity or a score).
        "+" if !(j > 0 && d.touching(j - 1) && is_digits(d.w(j - 1))) => Some("positive"),
        _ => None,
    }
}

/// Whether result `r` at `j` is one of a form's printed choices ("ER o
/// Negative o Positive"): another result right after it, past a box.
fn form_choices(d: &Doc, j: usize, r: &str) -> bool {
    let mut k = j + 1;
    let b = d.w(k).as_bytes();
    if b.len() == 1 && (b[0].is_ascii_alphanumeric() || b"[]_".contains(&b[0])) {
        k += 1;
    }
    result_word(d, k).is_some_and(|o| o != r && d.w(k) != "+")
}

/// "positive for ER and PR": the result said before a run starting at `s`.
fn result_before(d: &Doc, s: usize) -> Option<(usize, &'static str)> {
    let mut j = s;
    // Past names and separators of a list ("negative for ER, PR and HER2").
    for _ in 0..12 {
        if j == 0 {
            return None;
        }
        if d.is(j - 1, LIST_SEPS) || name_at(d, j - 1).is_some() {
            j -= 1;
        } else {
            break;
        }
    }
    if j >= 2 && d.w(j - 1) == "for" {
        let r = match d.w(j - 2) {
            "positive" => "positive",
            "negative" => "negative",
            "equivocal" => "equivocal",
            _ => return None,
        };
        return Some((j - 2, r));
    }
    // "The cells express ER and PR".
    let express = j >= 1 && d.is(j - 1, &["express", "expresses", "expressing"]);
    express.then(|| (j - 1, "positive"))
}

/// ER, PR, Ki-67, PD-L1, TMB in the run `i..end`: a result word
/// (positive, negative, equivocal; high or low for Ki-67, PD-L1 and TMB), a
/// value ("95%", "TPS 60%", "12 mut/Mb"), or both. Ki-67 and TMB take no
/// positive/negative ("a rare positive cell" is not a result).
fn marker(
    d: &Doc,
    name: &'static str,
    i: usize,
    end: usize,
    in_run: &dyn Fn(Name) -> bool,
) -> Option<(usize, usize, Biomarker)> {
    // Short names stay on their line unless a colon ends it.
    let short = name == "ER" || name == "PR";
    let min = if short && d.w(end) != ":" { 1 } else { 3 };
    let stop = d.window(end, 14, min, |j| {
        other_name(d, j, in_run) || d.is(j, &["but", "however"])
    });
    let m = marker_words(d, name, end, stop)?;
    let (mut a, mut last, mut result) = (i, m.last, m.result);
    if result.is_none() && m.value.is_none() {
        let (k, r) = result_before(d, i).filter(|_| !matches!(name, "Ki-67" | "TMB"))?;
        (a, last, result) = (k, end, Some(r));
    } else if d.negated_before(i, 3) && result == Some("positive") {
        // "no ER positivity" is a negative result.
        result = Some("negative");
    }
    let mut b = biomarker(name, "");
    match (result, m.value) {
        (Some(r), v) => {
            b.result = r.to_string();
            b.detail = match (m.score, v) {
                (Some(s), Some(v)) => Some(format!("{s} {v}")),
                (None, v) => v,
                (Some(_), None) => None,
            };
        }
        (None, Some(v)) => {
            b.result = v;
            b.detail = m.score.map(str::to_string);
        }
        (None, None) => return None,
    }
    Some((a, last, b))
}

/// What the words after a marker's name say.
struct MarkerWords {
    result: Option<&'static str>,
    /// "95%", "<1%", "12 mut/Mb", or a bare number after a score's name.
    value: Option<String>,
    /// "TPS" or "CPS".
    score: Option<&'static str>,
    /// The token after the last word read.
    last: usize,
}

/// The first result word and the first value after a marker's name (at
/// `end`), in either order ("ER positive (95%)", "Ki-67: 30%", "PD-L1
/// negative (TPS <1%)"); None for a form's printed choices.
fn marker_words(d: &Doc, name: &str, end: usize, stop: usize) -> Option<MarkerWords> {
    let scored = matches!(name, "Ki-67" | "TMB");
    let mut m = MarkerWords {
        result: None,
        value: None,
        score: None,
        last: end,
    };
    // "ER-" and "ER-/PR-": a hyphen touching the name and not a word.
    let word_after = d.touching(end)
        && d.w(end + 1)
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if d.w(end) == "-" && d.touching(end - 1) && !word_after && !scored {
        m.result = Some("negative");
        m.last = end + 1;
    }
    let mut j = end;
    while j < stop && (m.result.is_none() || m.value.is_none()) {
        let mut next = j + 1;
        if let Some(r) = result_word(d, j).filter(|_| !scored && m.result.is_none()) {
            // "... and are negative for p53": about what follows.
            if d.w(j + 1) == "for" {
                break;
            }
            if form_choices(d, j, r) {
                return None;
            }
            m.result = Some(r);
            m.last = m.last.max(j + 1);
        } else if d.is(j, &["high", "low"])
            && name != "ER"
            && name != "PR"
            && name != "HER2"
            && m.result.is_none()
        {
            m.result = Some(if d.w(j) == "high" { "high" } else { "low" });
            m.last = m.last.max(j + 1);
        } else if name == "TMB"
            && d.w(j) == "h"
            && d.w(j.wrapping_sub(1)) == "-"
            && m.result.is_none()
        {
            m.result = Some("high");
            m.last = m.last.max(j + 1);
        } else if let Some(k) = d.any_phrase(
            j,
            &["tps", "tumor proportion score", "tumour proportion score"],
        ) {
            m.score = Some("TPS");
            next = k;
        } else if let Some(k) = d.any_phrase(j, &["cps", "combined positive score"]) {
            m.score = Some("CPS");
            next = k;
        } else if let Some((v, k)) = d.number(j).filter(|_| m.value.is_none()) {
            let unit_end = tmb_unit_end(d, k);
            if name == "TMB" && unit_end > k {
                m.value = Some(format!("{v} mut/Mb"));
                m.last = m.last.max(unit_end);
            } else if v.ends_with('%') || m.score.is_some() {
                m.value = Some(v);
                m.last = m.last.max(k);
            }
            next = k.max(j + 1);
        }
        j = next;
    }
    Some(m)
}

/// The end of "mut/Mb", "mutations/Mb", "mutations per megabase" at `k`
/// (`k` itself when there is none).
fn tmb_unit_end(d: &Doc, k: usize) -> usize {
    if !d.is(k, &["mut", "muts", "mutations", "mutation"]) {
        return k;
    }
    let mut j = k + 1;
    if d.is(j, &["/", "per"]) {
        j += 1;
    }
    if d.is(j, &["mb", "megabase"]) {
        j + 1
    } else {
        k
    }
}

/// Words that name in-situ hybridization.
const FISH: &[&str] = &["fish", "ish", "sish", "cish", "ddish", "dish"];

/// HER2: an IHC score ("2+"), FISH ("not amplified"), or a plain result;
/// FISH decides over IHC, IHC over words. `s..end` is the run naming it;
/// returns where the evidence starts and ends.
fn her2(
    d: &Doc,
    s: usize,
    end: usize,
    in_run: &dyn Fn(Name) -> bool,
) -> Option<(usize, usize, Biomarker)> {
    let h = her2_words(d, s, end, her2_window(d, end, in_run));
    if let Some((r, k)) = h.word {
        if form_choices(d, k, r) {
            return None;
        }
    }
    let ihc_result = h.ihc.as_deref().map(|s| match s {
        "3+" => "positive",
        "2+" => "equivocal",
        _ => "negative",
    });
    let amp_result = h
        .fish
        .or(h.amplified)
        .map(|a| if a { "positive" } else { "negative" });
    let (a, result) = match amp_result.or(ihc_result).or(h.word.map(|w| w.0)) {
        Some(r) => (s, r),
        None => result_before(d, s)?,
    };
    let amplified = |a: bool| if a { "amplified" } else { "not amplified" };
    let parts: Vec<String> = [
        h.ihc.map(|s| format!("IHC {s}")),
        h.fish.map(|f| format!("FISH {}", amplified(f))),
        h.amplified
            .filter(|_| h.fish.is_none())
            .map(|f| amplified(f).to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut b = biomarker("HER2", result);
    b.detail = (!parts.is_empty()).then(|| parts.join(", "));
    Some((a, h.last, b))
}

/// The end of the words about HER2 after token `end`: the clause, which may
/// go on into a next clause or line about FISH or HER2 again.
fn her2_window(d: &Doc, end: usize, in_run: &dyn Fn(Name) -> bool) -> usize {
    let about_her2 =
        |k: usize| d.is(k, FISH) || name_at(d, k).is_some_and(|(_, n)| n == Name::Marker("HER2"));
    let limit = (end + 30).min(d.len());
    let mut j = end;
    while j < limit {
        if d.stop(j) && about_her2(j + 1) {
            j += 1;
            continue;
        }
        let other = other_name(d, j, in_run) && !about_her2(j);
        let new_line = d.line_start(j) && j > end + 2 && !about_her2(j);
        if d.stop(j) || other || new_line || d.is(j, &["but", "however"]) {
            break;
        }
        j += 1;
    }
    j
}

/// What the words about HER2 say.
struct Her2Words {
    /// The IHC score: "0", "1+", "2+", "3+".
    ihc: Option<String>,
    /// Whether FISH found it amplified.
    fish: Option<bool>,
    /// Whether it is amplified, by no method named.
    amplified: Option<bool>,
    /// A plain result word and where it is.
    word: Option<(&'static str, usize)>,
    /// The token after the last word read.
    last: usize,
}

fn her2_words(d: &Doc, s: usize, end: usize, stop: usize) -> Her2Words {
    let mut h = Her2Words {
        ihc: None,
        fish: None,
        amplified: None,
        word: None,
        last: end,
    };
    let mut in_fish = false;
    for j in end..stop {
        let w = d.w(j);
        if d.is(j, FISH) {
            in_fish = true;
        } else if matches!(w, "0" | "1" | "2" | "3")
            && d.w(j + 1) == "+"
            && d.touching(j)
            && h.ihc.is_none()
        {
            h.ihc = Some(format!("{w}+"));
            h.last = j + 2;
        } else if w == "0" && d.is(j.wrapping_sub(1), &["ihc", "score", ":"]) && h.ihc.is_none() {
            h.ihc = Some("0".into());
            h.last = j + 1;
        } else if matches!(w, "amplified" | "amplification") {
            // "not amplified", "non-amplified", "no HER2 amplification"
            let neg = d.is(j.wrapping_sub(1), &["not", "non", "no", "without"])
                || (d.w(j.wrapping_sub(1)) == "-" && d.w(j.wrapping_sub(2)) == "non");
            let amp = !neg && !d.negated_before(s, 2);
            let slot = if in_fish {
                &mut h.fish
            } else {
                &mut h.amplified
            };
            *slot = slot.or(Some(amp));
            h.last = j + 1;
        } else if let Some(r) = result_word(d, j).filter(|_| w != "+") {
            if in_fish && r != "equivocal" {
                h.fish = h.fish.or(Some(r == "positive"));
            } else if h.word.is_none() {
                h.word = Some((r, j));
            }
            h.last = j + 1;
        }
    }
    h
}

/// A protein change: "g12c", "v600e", "l858r", "e746_a750del"-like starts.
fn protein_change(w: &str) -> Option<String> {
    let b = w.as_bytes();
    let aa = |c: u8| b"acdefghiklmnpqrstvwy".contains(&c);
    if b.len() < 3 || !aa(b[0]) {
        return None;
    }
    let digits = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=4).contains(&digits) {
        return None;
    }
    let rest = &w[1 + digits..];
    let ok = match rest.len() {
        1 => aa(rest.as_bytes()[0]) || rest == "x",
        _ => {
            ["fs", "del", "dup", "ins", "delins"]
                .iter()
                .any(|s| rest.starts_with(s))
                && rest.len() <= 8
        }
    };
    if !ok {
        return None;
    }
    let head = w[..1 + digits].to_uppercase();
    Some(if rest.len() == 1 {
        format!("{head}{}", rest.to_uppercase())
    } else {
        format!("{head}{rest}")
    })
}

/// What the words around a gene say.
#[derive(Default)]
struct GeneWords {
    variant: Option<String>,
    /// "mutation", "variant", "pathogenic"...: a variant, unnamed.
    mutation: bool,
    present: bool,
    absent: bool,
    origin: Option<&'static str>,
    detail: Option<&'static str>,
    /// "status", "analysis", "testing": the name of a test.
    heading: bool,
    /// The token after the last word read.
    last: usize,
}

/// A gene's variant and result from the words around the run `i..end`;
/// `single` when the run names one gene (a variant then belongs to it).
fn gene(d: &Doc, g: &str, i: usize, end: usize, single: bool) -> Option<(usize, usize, Biomarker)> {
    let mut words = gene_words_after(d, end, single)?;
    let a = gene_words_before(d, i, &mut words);
    let GeneWords {
        variant,
        mutation,
        present,
        absent,
        origin,
        detail,
        heading,
        last,
    } = words;
    // "EGFR wt - positive (2+)" is protein staining, not a variant result;
    // "IDH1 mutation status", "EGFR vIII" (a stain ordered) name a test.
    let staining = detail == Some("wild-type") && present;
    let said = present || absent;
    let test_name = !said && (heading || variant.as_deref() == Some("vIII"));
    if staining || test_name || !(variant.is_some() || mutation || said) {
        return None;
    }
    let mut bm = biomarker(&g.to_uppercase(), if absent { "absent" } else { "present" });
    bm.variant = variant;
    bm.origin = origin.map(str::to_string);
    bm.detail = detail.map(str::to_string);
    Some((a, last, bm))
}

/// Words that say a variant is absent.
#[rustfmt::skip]
const ABSENT: &[&str] = &[
    "not detected", "not identified", "not present", "not evident", "not seen", "not found",
    "none detected", "negative", "absent", "no",
];

/// The words after a gene, up to the clause's end or the next gene; None
/// when they say the test is pending or is about protein expression.
fn gene_words_after(d: &Doc, end: usize, single: bool) -> Option<GeneWords> {
    let stop = d.window(end, 12, 4, |j| {
        name_at(d, j).is_some() || d.is(j, &["but", "however", "whereas", "while"])
    });
    let mut g = GeneWords {
        last: end,
        ..GeneWords::default()
    };
    let mut j = end;
    while j < stop {
        let w = d.w(j);
        let mut next = j + 1;
        if let Some((v, e)) = variant_at(d, j, single).filter(|_| g.variant.is_none()) {
            g.variant = Some(v);
            next = e;
            // "non-amplified", "no amplification"
            let no = d.is(j.wrapping_sub(1), &["not", "non", "no", "without"])
                || d.w(j.wrapping_sub(2)) == "non";
            g.absent |= g.variant.as_deref() == Some("amplification") && no;
        } else if matches!(
            w,
            "mutation" | "mutations" | "mutated" | "mutant" | "variant" | "variants"
        ) || matches!(w, "alteration" | "alterations")
        {
            g.mutation = true;
        } else if matches!(w, "germline" | "somatic") {
            g.origin = g.origin.or(Some(if w == "germline" {
                "germline"
            } else {
                "somatic"
            }));
        } else if let Some(e) = d.any_phrase(j, &["wild type", "wildtype", "wt"]) {
            g.absent = true;
            g.detail = Some("wild-type");
            next = e;
        } else if let Some(e) = d.any_phrase(j, ABSENT) {
            g.absent = true;
            next = e;
        } else if let Some(e) = d.any_phrase(j, &["uncertain significance", "vus"]) {
            g.detail = Some("variant of uncertain significance");
            next = e;
        } else if let Some(e) = d.any_phrase(j, &["likely pathogenic", "pathogenic", "deleterious"])
        {
            let likely = w == "likely";
            g.detail = g.detail.or(Some(if likely {
                "likely pathogenic variant"
            } else {
                "pathogenic variant"
            }));
            g.mutation = true;
            next = e;
        } else if matches!(w, "detected" | "positive" | "present" | "identified") {
            g.present = true;
        } else if matches!(w, "status" | "analysis" | "testing" | "test") {
            g.heading = true;
        } else if matches!(w, "pending" | "ordered" | "performed" | "expression") {
            // "EGFR testing pending", "EGFR expression": no variant said.
            if g.variant.is_none() && !(g.mutation || g.present || g.absent) {
                return None;
            }
        } else {
            j += 1;
            continue;
        }
        g.last = next;
        j = next;
    }
    Some(g)
}

/// A variant named at token `j`: a protein change ("G12C", "p.V600E"), an
/// exon change ("exon 19 deletion", "ex19del"), EGFRvIII, a fusion or
/// rearrangement, an amplification; and the token after it. Changes and
/// vIII count only when the run names one gene.
fn variant_at(d: &Doc, j: usize, single: bool) -> Option<(String, usize)> {
    let w = d.w(j);
    if single {
        if let Some(v) = protein_change(w) {
            return Some((v, j + 1));
        }
        if w == "p" && d.w(j + 1) == "." {
            return protein_change(d.w(j + 2)).map(|v| (v, j + 3));
        }
        if w == "viii" {
            return Some(("vIII".to_string(), j + 1));
        }
    }
    if w == "exon" && is_digits(d.w(j + 1)) {
        let kind = match d.w(j + 2) {
            "deletion" | "deletions" | "del" => "deletion",
            "insertion" | "insertions" | "ins" => "insertion",
            "skipping" => "skipping",
            "mutation" | "mutations" => "mutation",
            _ => return None,
        };
        return Some((format!("exon {} {kind}", d.w(j + 1)), j + 3));
    }
    if let Some(v) = exon_shorthand(w) {
        return Some((v, j + 1));
    }
    let v = match w {
        "fusion" | "fusions" => "fusion",
        "rearrangement" | "rearrangements" | "rearranged" | "translocation" => "rearrangement",
        "amplification" | "amplified" => "amplification",
        _ => return None,
    };
    Some((v.to_string(), j + 1))
}

/// The words before a gene run starting at `i` (past a list of other genes):
/// "no", "negative for", "positive for", "germline". Returns where the
/// evidence starts.
fn gene_words_before(d: &Doc, i: usize, g: &mut GeneWords) -> usize {
    let mut k = i;
    while k > 0 && k + 12 > i && (d.is(k - 1, LIST_SEPS) || name_at(d, k - 1).is_some()) {
        k -= 1;
    }
    let mut a = i;
    for b in (k.saturating_sub(5)..k).rev() {
        if d.stop(b) || d.w(b) == ":" {
            break;
        }
        if matches!(d.w(b), "germline" | "somatic") {
            g.origin = g.origin.or(Some(if d.w(b) == "germline" {
                "germline"
            } else {
                "somatic"
            }));
            a = b;
        }
        if d.any_phrase(b, NEG_BEFORE).is_some() {
            g.absent = true;
            a = b;
        } else if d.phrase(b, "positive for").is_some() {
            g.present = true;
            a = b;
        }
    }
    a
}

/// "ex19del" → "exon 19 deletion".
fn exon_shorthand(w: &str) -> Option<String> {
    let rest = w.strip_prefix("ex")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let kind = match &rest[digits..] {
        "del" => "deletion",
        "ins" => "insertion",
        _ => return None,
    };
    (digits > 0).then(|| format!("exon {} {kind}", &rest[..digits]))
}

/// Microsatellite status: "MSI-H", "MSI-high", "microsatellite stable",
/// "MSS", "MSI status: stable". Negated mentions are skipped.
fn msi(d: &Doc, i: usize, out: &mut Vec<Fact<Biomarker>>) -> Option<usize> {
    #[rustfmt::skip]
    const MSI: &[(&str, &str)] = &[
        ("msi h", "high"), ("msi high", "high"), ("msih", "high"),
        ("microsatellite instability high", "high"), ("high microsatellite instability", "high"),
        ("high level microsatellite instability", "high"), ("microsatellite unstable", "high"),
        ("msi l", "low"), ("msi low", "low"), ("microsatellite instability low", "low"),
        ("low level microsatellite instability", "low"), ("mss", "stable"),
        ("microsatellite stable", "stable"), ("msi stable", "stable"),
    ];
    let (e, result) = match d.longest(i, MSI) {
        Some((e, r)) => (e, *r),
        None => {
            let e = d.any_phrase(
                i,
                &["msi", "microsatellite instability", "microsatellite status"],
            )?;
            let mut j = e;
            while d.is(j, &[":", "status", "(", ")", "msi", "result", "-"]) && j < e + 5 {
                j += 1;
            }
            let r = match d.w(j) {
                "high" | "h" => "high",
                "low" | "l" => "low",
                "stable" | "mss" => "stable",
                _ => return None,
            };
            (j + 1, r)
        }
    };
    if d.negated_before(i, 5) || d.negated_after(e) {
        return Some(e);
    }
    out.push(Fact::new(biomarker("MSI", result), d.prov(i, e)));
    Some(e)
}

/// Mismatch repair: "MMR proficient", "dMMR", "intact mismatch repair",
/// "loss of MLH1 and PMS2" (deficient, with the proteins lost).
fn mmr(d: &Doc, i: usize, out: &mut Vec<Fact<Biomarker>>) -> Option<usize> {
    #[rustfmt::skip]
    const MMR: &[(&str, &str)] = &[
        ("pmmr", "proficient"), ("dmmr", "deficient"), ("mmr proficient", "proficient"),
        ("mmr deficient", "deficient"), ("mmr deficiency", "deficient"),
        ("mmr intact", "proficient"), ("proficient mismatch repair", "proficient"),
        ("deficient mismatch repair", "deficient"), ("intact mismatch repair", "proficient"),
        ("intact dna mismatch repair", "proficient"), ("mismatch repair proficient", "proficient"),
        ("mismatch repair deficient", "deficient"), ("mismatch repair deficiency", "deficient"),
        ("mismatch repair intact", "proficient"),
        ("mismatch repair proteins intact", "proficient"),
    ];
    if let Some((e, r)) = d.longest(i, MMR) {
        if !d.negated_before(i, 5) {
            out.push(Fact::new(biomarker("MMR", r), d.prov(i, e)));
        }
        return Some(e);
    }
    if !d.is(i, &["loss", "lost", "absence"]) && !d.is(i, MMR_PROTEINS) {
        return None;
    }
    mmr_loss(d, i, out)
}

/// Words around the proteins in "loss of nuclear expression of MLH1", "MLH1
/// protein: lost".
#[rustfmt::skip]
const MMR_FILLERS: &[&str] = &[
    "of", "nuclear", "expression", "staining", "immunoreactivity", "for", "the", "protein",
    "proteins", "in", ":", "-", "(", "is", "are",
];

/// "loss of (nuclear expression of) MLH1 and PMS2", "MLH1 and PMS2: lost".
fn mmr_loss(d: &Doc, i: usize, out: &mut Vec<Fact<Biomarker>>) -> Option<usize> {
    let cue_first = d.is(i, &["loss", "absence"]) && d.w(i + 1) == "of" || d.w(i) == "lost";
    let mut j = if cue_first { i + 1 } else { i };
    while d.is(j, MMR_FILLERS) && j < i + 6 {
        j += 1;
    }
    // The list of proteins ("MLH1, PMS2 and MSH6").
    let mut lost: Vec<String> = Vec::new();
    let mut end = j;
    let mut k = j;
    while k < j + 12 && (d.is(k, MMR_PROTEINS) || d.is(k, LIST_SEPS)) {
        if d.is(k, MMR_PROTEINS) {
            let protein = d.w(k).to_uppercase();
            if !lost.contains(&protein) {
                lost.push(protein);
            }
            end = k + 1;
        }
        k += 1;
    }
    if lost.is_empty() {
        return None;
    }
    if !cue_first {
        // The cue after the list: "MLH1 and PMS2: lost", "MLH1 (absent)".
        let mut k = end;
        while d.is(k, MMR_FILLERS) && k < end + 4 {
            k += 1;
        }
        if !d.is(k, &["loss", "lost", "absent", "deficient"]) {
            return Some(end);
        }
        end = k + 1;
    }
    if d.negated_before(i, 3) {
        return Some(end);
    }
    let mut b = biomarker("MMR", "deficient");
    b.detail = Some(format!("loss of {}", lost.join(", ")));
    out.push(Fact::new(b, d.prov(i, end)));
    Some(end)
}

/// "triple negative" (ER, PR and HER2 negative).
fn triple_negative(d: &Doc, i: usize, out: &mut Vec<Fact<Biomarker>>) -> Option<usize> {
    let e = d.phrase(i, "triple negative")?;
    if d.negated_before(i, 3) {
        return Some(e);
    }
    for name in ["ER", "PR", "HER2"] {
        out.push(Fact::new(biomarker(name, "negative"), d.prov(i, e)));
    }
    Some(e)
}

// ---------------------------------------------------------------------------
// Metastatic sites

/// Where cancer spreads → the site's plain name.
#[rustfmt::skip]
const MET_SITES: &[(&str, &str)] = &[
    ("liver", "liver"), ("hepatic", "liver"), ("lung", "lung"), ("lungs", "lung"),
    ("pulmonary", "lung"), ("bone", "bone"), ("bones", "bone"), ("osseous", "bone"),
    ("skeletal", "bone"), ("spine", "bone"), ("brain", "brain"), ("cerebral", "brain"),
    ("lymph node", "lymph nodes"), ("lymph nodes", "lymph nodes"), ("lymphnode", "lymph nodes"),
    ("lymphnodes", "lymph nodes"), ("nodal", "lymph nodes"), ("adrenal", "adrenal gland"),
    ("adrenal gland", "adrenal gland"), ("adrenal glands", "adrenal gland"),
    ("peritoneum", "peritoneum"), ("peritoneal", "peritoneum"), ("pleura", "pleura"),
    ("pleural", "pleura"), ("omentum", "omentum"), ("omental", "omentum"), ("ovary", "ovary"),
    ("ovaries", "ovary"), ("skin", "skin"), ("chest wall", "chest wall"),
];

/// Node groups kept in the site's name ("axillary lymph nodes").
#[rustfmt::skip]
const NODE_GROUPS: &[&str] = &[
    "axillary", "mediastinal", "supraclavicular", "inguinal", "pelvic", "retroperitoneal", "hilar",
];

/// Words between "metastatic" and "to the liver".
#[rustfmt::skip]
const MET_FILLERS: &[&str] = &[
    "carcinoma", "adenocarcinoma", "disease", "tumor", "tumour", "cancer", "melanoma", "lesion",
    "lesions", "deposit", "deposits", "foci", "focus", "ductal", "lobular", "urothelial",
    "squamous", "cell", "colorectal", "colon", "breast", "renal", "prostate", "prostatic", "-",
    "is", "was", "has", "spread", "present",
];

/// Words between "to"/"in" and the site ("in 2 of 14 lymph nodes").
#[rustfmt::skip]
const COUNT_FILLERS: &[&str] = &[
    "the", "a", "an", "of", "out", "/", "(", ")", "-", ",", "left", "right", "bilateral", "both",
    "multiple", "several", "regional", "all", "and", "total", "one", "two", "three", "four",
    "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen",
    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty", "forty",
    "fifty", "sixty", "seventy", "eighty", "ninety",
];

fn metastases(d: &Doc, p: &mut Profile) {
    for i in 0..d.len() {
        let found: Vec<(usize, usize, String)> = if d.is(i, MET_CUES) {
            let forward = met_forward(d, i);
            if forward.is_empty() {
                met_backward(d, i).into_iter().collect()
            } else {
                forward
            }
        } else if d
            .any_phrase(i, &["lymph node", "lymph nodes", "lymphnode", "lymphnodes"])
            .is_some()
        {
            positive_nodes(d, i).into_iter().collect()
        } else {
            continue;
        };
        for (a, b, name) in found {
            if !tnm_definition(d, a) {
                note(
                    &mut p.metastatic_sites,
                    Fact::new(Site { name, code: None }, d.prov(a, b)),
                );
            }
        }
    }
}

/// A metastatic site at token `j`: its end and name.
fn met_site(d: &Doc, j: usize) -> Option<(usize, String)> {
    if d.is(j, NODE_GROUPS) {
        if let Some(e) = d.any_phrase(j + 1, &["lymph node", "lymph nodes"]) {
            return Some((e, format!("{} lymph nodes", d.w(j))));
        }
    }
    let (e, name) = d.longest(j, MET_SITES)?;
    Some((e, name.to_string()))
}

/// Words that start a statement of spread.
#[rustfmt::skip]
const MET_CUES: &[&str] = &[
    "metastatic", "metastasis", "metastases", "metastasized", "metastasised", "mets", "spread",
];

/// "metastatic to the liver and bone", "metastatic carcinoma in 2 of 14
/// lymph nodes", "spread to the bones"; not "in 0 of 12 lymph nodes".
fn met_forward(d: &Doc, i: usize) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut j = i + 1;
    if d.w(i) == "spread" {
        if d.w(j) != "to" {
            return out;
        }
    } else {
        while d.is(j, MET_FILLERS) && j < i + 5 {
            j += 1;
        }
        if !d.is(j, &["to", "in", "into", "involving", "within"]) {
            return out;
        }
    }
    j += 1;
    let mut first_count: Option<bool> = None; // is the first count zero?
    for _ in 0..8 {
        if let Some((mut e, name)) = met_site(d, j) {
            if first_count == Some(true) || d.negated_before(i, 6) || d.negated_after(e) {
                return out;
            }
            out.push((i, e, name));
            // "to the liver, lungs and bone"
            loop {
                let mut k = e;
                while d.is(k, &[",", "and", "or", "the", "both"]) && k < e + 3 {
                    k += 1;
                }
                match met_site(d, k).filter(|_| k > e) {
                    Some((e2, name)) => {
                        out.push((i, e2, name));
                        e = e2;
                    }
                    None => return out,
                }
            }
        }
        let w = d.w(j);
        if is_digits(w) || matches!(w, "zero" | "none" | "no") {
            first_count = first_count.or(Some(w.bytes().all(|b| b == b'0') || !is_digits(w)));
        } else if !COUNT_FILLERS.contains(&w) {
            return out;
        }
        j += 1;
    }
    out
}

/// "liver metastases", "lymph node metastasis", "bone mets".
fn met_backward(d: &Doc, i: usize) -> Option<(usize, usize, String)> {
    if !d.is(i, &["metastasis", "metastases", "mets"]) {
        return None;
    }
    let end = if i > 0 && d.w(i - 1) == "-" { i - 1 } else { i };
    let (s, name) = (end.saturating_sub(3)..end).find_map(|k| match met_site(d, k) {
        Some((e, name)) if e == end => Some((k, name)),
        _ => None,
    })?;
    // "... OR regional lymph node metastasis OR ...": a definition's option.
    let option = (1..=2).any(|k| d.is(s.wrapping_sub(k), &["or", "if"])) || d.w(i + 1) == "or";
    if option || d.negated_before(s, 6) || d.negated_after(i + 1) {
        return None;
    }
    Some((s, i + 1, name))
}

/// Words that keep a lymph node statement from saying the nodes hold
/// cancer (gross impressions and conditions included).
#[rustfmt::skip]
const NODES_NOT_POSITIVE: &[&str] = &[
    "negative", "no", "not", "free", "uninvolved", "without", "zero", "none", "benign", "reactive",
    "suspected", "suspicious", "if", "or", "grossly",
];

/// "two of 25 lymph nodes are positive for metastatic carcinoma (2/25)",
/// "lymph nodes, positive for carcinoma", "Number of lymph nodes involved:
/// 1", "positive lymph nodes"; not when a count is zero, or the clause says
/// negative, free, uninvolved or suspected.
fn positive_nodes(d: &Doc, i: usize) -> Option<(usize, usize, String)> {
    let e = d.any_phrase(i, &["lymph nodes", "lymph node", "lymphnodes", "lymphnode"])?;
    // The cue: right after ("lymph nodes, positive", "lymph nodes with
    // metastatic carcinoma") or right before ("positive lymph nodes").
    let mut c = e;
    while d.is(c, &["are", "were", "is", ",", "(", "s", ")", "-"]) && c < e + 4 {
        c += 1;
    }
    let cue_end = if d.is(c, &["positive", "involved"]) {
        c + 1
    } else if d.is(c, &["with", "containing", "contain", "contains"]) {
        (c + 1..c + 4)
            .find(|&k| d.w(k).starts_with("metasta"))
            .map(|k| k + 1)?
    } else if d.is(i.wrapping_sub(1), &["positive", "involved"]) {
        i
    } else {
        return None;
    };
    // The clause around, not reaching into the next "Label:" line.
    let mut lo = i;
    while lo > i.saturating_sub(8) && !d.stop(lo - 1) && !d.label_line(lo) {
        lo -= 1;
    }
    let mut hi = cue_end.max(e);
    while hi < (cue_end + 10).min(d.len()) && !d.stop(hi) && !d.label_line(hi) {
        hi += 1;
    }
    for j in lo..hi {
        let w = d.w(j);
        let zero_count =
            w == "0" && (d.is(j + 1, &["/", "of"]) || d.is(j.wrapping_sub(1), &[":", "("]));
        if zero_count || d.is(j, NODES_NOT_POSITIVE) {
            return None;
        }
    }
    let name = match i.checked_sub(1).filter(|&k| d.is(k, NODE_GROUPS)) {
        Some(k) => format!("{} lymph nodes", d.w(k)),
        None => "lymph nodes".to_string(),
    };
    let a = if cue_end == i {
        i - 1
    } else {
        count_start(d, i)
    };
    Some((a.min(i), cue_end.max(e), name))
}

/// Where a count before "lymph nodes" starts ("two of twenty-five").
fn count_start(d: &Doc, i: usize) -> usize {
    let mut a = i;
    while a > i.saturating_sub(6)
        && (is_digits(d.w(a - 1)) || d.is(a - 1, COUNT_FILLERS))
        && !d.is(a - 1, &[",", "("])
    {
        a -= 1;
    }
    if d.is(a.wrapping_sub(1), NODE_GROUPS) {
        a -= 1;
    }
    a
}

/// Whether token `a` is on a line that defines a TNM category ("N1:
/// Metastasis in 1-3 regional lymph nodes", "[ ] N1 Regional lymph node
/// metastasis"), as printed in templates.
fn tnm_definition(d: &Doc, a: usize) -> bool {
    let mut s = a;
    while s > a.saturating_sub(15) && !d.line_start(s) {
        s -= 1;
    }
    while d.is(s, &["[", "]", "(", ")", "x", "_"]) && s < a {
        s += 1;
    }
    s < a && tnm_token(d.w(s), false).is_some()
}
