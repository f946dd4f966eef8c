//! Eligibility text → atomic criteria, each classified.
//!
//! How the text is cut:
//! - It is cleaned first: CRLF, HTML entities (`&gt;`, `&#8805;`), markdown
//!   escapes (`\>=`), non-breaking spaces.
//! - Lines that name a section ("Inclusion Criteria:", "KEY EXCLUSION
//!   CRITERIA") switch between inclusion and exclusion. Text before any such
//!   heading is inclusion, and the parse says so in an issue when nothing
//!   named a section at all.
//! - Each bullet or numbered item (`*`, `-`, `•`, `1.`, `1)`, `(a)`, `i.`)
//!   starts a criterion; lines without a marker continue the item above,
//!   unless a blank line came first, when they form a paragraph that is cut
//!   into sentences (a run-on paragraph of criteria).
//! - An item ending in ":" owns the items indented under it. When it says
//!   "one of the following", "any of", "either" or ends in "or:", its
//!   children are alternatives and stay one criterion (`any_of`); otherwise
//!   each child becomes a criterion that keeps the parent's words as context
//!   ("Adequate organ function: ANC ≥ 1,500/mm³").
//! - Short lines without a marker that are followed by items ("Cohort 3
//!   (Cervical Cancer)", "Part A:") label the criteria under them
//!   ([`Criterion::cohort`]), so matching can pick the cohort that fits.
//! - "Note:" lines belong to the criterion above.
//!
//! Classification is by words ([`classify`]): a criterion gets every
//! category its words touch, the most specific first.

use serde::{Deserialize, Serialize};
use sextant_core::Issue;

use crate::model::Eligibility;

/// What a criterion is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    BrainMetastases,
    Pregnancy,
    Performance,
    Age,
    OrganFunction,
    Biomarker,
    CancerType,
    Stage,
    PriorTherapy,
    Sex,
    Other,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::CancerType => "cancer type",
            Category::Stage => "stage and spread",
            Category::Biomarker => "tumor markers",
            Category::PriorTherapy => "past treatment",
            Category::Performance => "daily activity (performance status)",
            Category::Age => "age",
            Category::Sex => "sex",
            Category::OrganFunction => "blood tests and organ function",
            Category::BrainMetastases => "brain metastases",
            Category::Pregnancy => "pregnancy and contraception",
            Category::Other => "other",
        }
    }
}

/// One atomic criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    /// `true` for inclusion (must be true of you), `false` for exclusion
    /// (must not be).
    pub inclusion: bool,
    /// The criterion's words, cleaned, with any parent context first.
    pub text: String,
    /// Alternatives of a nested "one of the following" list; the criterion
    /// holds when any holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any_of: Vec<String>,
    /// Categories, the most specific first; never empty.
    pub categories: Vec<Category>,
    /// The cohort or part heading it sits under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    /// Where the registry put it: `registry` for the structured age and sex
    /// fields, else `text`.
    #[serde(default = "text_origin")]
    pub origin: String,
}

fn text_origin() -> String {
    "text".to_string()
}

impl Criterion {
    pub fn category(&self) -> Category {
        self.categories.first().copied().unwrap_or(Category::Other)
    }

    /// The whole text with its alternatives.
    pub fn full_text(&self) -> String {
        if self.any_of.is_empty() {
            self.text.clone()
        } else {
            format!("{} {}", self.text, self.any_of.join(" OR "))
        }
    }
}

/// At most this many criteria are kept from one trial: more than any real
/// protocol lists, and a bound on a hostile record.
pub const MAX_CRITERIA: usize = 400;
/// Longer criteria are cut (a flattened table can run for pages).
pub const MAX_CRITERION_CHARS: usize = 2_000;

/// Notes the donor criteria [`parse`] set aside.
fn donor_issue(issues: &mut Vec<Issue>, donors: usize) {
    if donors > 0 {
        issues.push(Issue::new(
            "eligibility",
            format!("{donors} criteria for donors were set aside: they are not about you"),
        ));
    }
}

/// Parses a trial's eligibility into criteria.
pub fn parse(eligibility: &Eligibility) -> (Vec<Criterion>, Vec<Issue>) {
    let mut issues = Vec::new();
    let mut out = Vec::new();
    match eligibility {
        Eligibility::None => {
            issues.push(Issue::new(
                "eligibility",
                "the record lists no eligibility criteria",
            ));
        }
        Eligibility::Text(text) => {
            let mut p = Parser::new(true);
            p.text(text);
            if !p.saw_heading && !p.out.is_empty() {
                issues.push(Issue::new(
                    "eligibility",
                    "no inclusion or exclusion headings; criteria read as inclusion",
                ));
            }
            let (criteria, donors) = p.finish();
            out = criteria;
            donor_issue(&mut issues, donors);
        }
        Eligibility::Listed(items) => {
            for item in items {
                let mut p = Parser::new(item.inclusion);
                p.text(&item.text);
                let (criteria, donors) = p.finish();
                out.extend(criteria);
                donor_issue(&mut issues, donors);
            }
        }
    }
    if out.len() > MAX_CRITERIA {
        issues.push(Issue::new(
            "eligibility",
            format!(
                "{} criteria; only the first {MAX_CRITERIA} are used",
                out.len()
            ),
        ));
        out.truncate(MAX_CRITERIA);
    }
    (out, issues)
}

/// Cleans source text: line ends, HTML entities, markdown escapes, odd
/// spaces and control characters.
pub fn clean(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let text = decode_entities(&text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                // Markdown escapes: keep the escaped punctuation only.
                match chars.peek() {
                    Some(&n) if n.is_ascii_punctuation() => {
                        out.push(n);
                        chars.next();
                    }
                    _ => out.push('\\'),
                }
            }
            '\u{a0}' | '\u{2007}' | '\u{202f}' | '\t' => out.push(' '),
            '\u{2265}' => out.push_str(">="),
            '\u{2264}' => out.push_str("<="),
            '\u{2013}' | '\u{2014}' | '\u{2212}' => out.push('-'),
            '\u{2018}' | '\u{2019}' => out.push('\''),
            '\u{201c}' | '\u{201d}' => out.push('"'),
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // ';' is ASCII, so its byte position is a char boundary.
        let end = rest.as_bytes()[..rest.len().min(12)]
            .iter()
            .position(|&b| b == b';');
        let decoded = end.and_then(|e| entity(&rest[1..e]).map(|c| (c, e)));
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ge" => '\u{2265}',
        "le" => '\u{2264}',
        "ndash" | "mdash" => '-',
        "micro" => 'µ',
        "deg" => '°',
        "times" => '×',
        "plusmn" => '±',
        "bull" => '•',
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code).filter(|c| !c.is_control() || *c == '\n')?
        }
    })
}

/// A line with its list marker taken off.
struct Line<'a> {
    indent: usize,
    marker: bool,
    text: &'a str,
}

fn split_marker(line: &str) -> Line<'_> {
    let indent = line.len() - line.trim_start().len();
    let t = line.trim();
    for m in ["* ", "- ", "• ", "· ", "o ", "+ ", "-- "] {
        if let Some(rest) = t.strip_prefix(m) {
            return Line {
                indent,
                marker: true,
                text: rest.trim(),
            };
        }
    }
    // Markers glued to the text ("-Participants", "*Age"): only before a
    // letter, so "-1" and "*note" style footnotes stay text.
    let mut chars = t.chars();
    if let (Some(m @ ('*' | '•' | '·' | '-')), Some(next)) = (chars.next(), chars.next()) {
        if next.is_alphabetic() && (m != '-' || next.is_uppercase()) {
            return Line {
                indent,
                marker: true,
                text: t[m.len_utf8()..].trim(),
            };
        }
    }
    if let Some(len) = enumerator(t) {
        return Line {
            indent,
            marker: true,
            text: t[len..].trim(),
        };
    }
    Line {
        indent,
        marker: false,
        text: t,
    }
}

/// Length of a leading "1.", "12)", "(3)", "a.", "(b)", "iv." marker
/// followed by a space.
fn enumerator(t: &str) -> Option<usize> {
    let b = t.as_bytes();
    let (open, start) = if b.first() == Some(&b'(') {
        (true, 1)
    } else {
        (false, 0)
    };
    let mut i = start;
    while i < b.len() && i - start < 4 && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == start || i >= b.len() {
        return None;
    }
    let tok = &t[start..i];
    let numeric = tok.bytes().all(|c| c.is_ascii_digit());
    let letter = tok.len() == 1 && tok.bytes().all(|c| c.is_ascii_lowercase());
    let roman = tok.bytes().all(|c| matches!(c, b'i' | b'v' | b'x'));
    if !(numeric || letter || roman) {
        return None;
    }
    let close = b[i];
    let ok = if open {
        close == b')'
    } else {
        close == b'.' || close == b')'
    };
    if !ok {
        return None;
    }
    // "1.5 mg" is a number, not an item.
    let next = b.get(i + 1).copied();
    if next != Some(b' ') && next.is_some() {
        return None;
    }
    Some(i + 1)
}

/// Which section a heading line opens, if it is one, and any criterion
/// text after the heading on the same line ("INCLUSION CRITERIA: Age...").
/// The third value says the section is about donors (a transplant trial's
/// donor criteria), not the person.
fn heading(text: &str) -> Option<(bool, String, bool)> {
    let lower = text.to_lowercase();
    let mut core = lower.trim_start_matches(|c: char| !c.is_alphanumeric());
    for p in ["key ", "main ", "general ", "patient ", "participant "] {
        core = core.strip_prefix(p).unwrap_or(core);
    }
    let (inclusion, word) = if core.starts_with("inclusion") {
        (true, "inclusion")
    } else if core.starts_with("exclusion") {
        (false, "exclusion")
    } else if core.starts_with("eligibility criteria") {
        (true, "eligibility criteria")
    } else {
        return None;
    };
    let after = &core[word.len()..];
    let after = after.strip_prefix("s").unwrap_or(after);
    let after = after
        .trim_start()
        .strip_prefix("criteria")
        .unwrap_or(after)
        .trim_start();
    let colon = text.find(':').filter(|&i| i < 60);
    // "INCLUSION CRITERIA RELATED DONOR", "Inclusion Criteria - Donor:".
    let head = colon.map_or(after, |i| &lower[..i]);
    if head.contains("donor") {
        let rest = colon.map_or(String::new(), |i| text[i + 1..].trim().to_string());
        return Some((inclusion, rest, true));
    }
    if let Some(i) = colon {
        // Before the colon only a short qualifier may follow the word.
        let before = after.split(':').next().unwrap_or("");
        if before.len() > 40 {
            return None;
        }
        return Some((inclusion, text[i + 1..].trim().to_string(), false));
    }
    let rest = after.trim_matches(|c: char| !c.is_alphanumeric());
    // "Inclusion of women..." is a sentence, not a heading.
    if rest.is_empty() || (after.starts_with(['(', '-']) && rest.len() < 40) {
        Some((inclusion, String::new(), false))
    } else {
        None
    }
}

/// An item being built: its text lines and children.
#[derive(Default)]
struct Item {
    indent: usize,
    text: String,
    children: Vec<Item>,
    inclusion: bool,
    cohort: Option<String>,
}

struct Parser {
    inclusion: bool,
    /// In a section about donors: its criteria are not the person's.
    donor: bool,
    donor_criteria: usize,
    saw_heading: bool,
    cohort: Option<String>,
    /// Top-level items in order; the last one may take children.
    items: Vec<Item>,
    /// The paragraph being gathered (lines without markers).
    paragraph: String,
    out: Vec<Criterion>,
    after_blank: bool,
}

impl Parser {
    fn new(inclusion: bool) -> Parser {
        Parser {
            inclusion,
            donor: false,
            donor_criteria: 0,
            saw_heading: false,
            cohort: None,
            items: Vec::new(),
            paragraph: String::new(),
            out: Vec::new(),
            after_blank: true,
        }
    }

    fn text(&mut self, raw: &str) {
        let text = clean(raw);
        let lines: Vec<&str> = text.lines().collect();
        for (i, raw_line) in lines.iter().enumerate() {
            if raw_line.trim().is_empty() {
                self.flush_paragraph();
                self.after_blank = true;
                continue;
            }
            let line = split_marker(raw_line);
            if line.text.is_empty() {
                continue;
            }
            if let Some((inclusion, rest, donor)) = heading(line.text) {
                self.flush_all();
                self.inclusion = inclusion;
                self.donor = donor;
                self.saw_heading = true;
                self.cohort = None;
                if !rest.is_empty() {
                    self.paragraph.push_str(&rest);
                }
                self.after_blank = true;
                continue;
            }
            let next_is_item = lines[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .map(|l| split_marker(l).marker)
                .unwrap_or(false);
            if !line.marker {
                let lower = line.text.to_lowercase();
                if lower.starts_with("note") && !self.items.is_empty() {
                    append(last_item(&mut self.items), line.text);
                    continue;
                }
                if is_label(line.text, next_is_item) {
                    self.flush_all();
                    self.donor = line.text.to_lowercase().contains("donor");
                    // "All cohorts:" / "For all participants:" apply to everyone.
                    let l = line.text.to_lowercase();
                    if l.starts_with("all ") || l.starts_with("for all") {
                        self.cohort = None;
                        self.after_blank = true;
                        continue;
                    }
                    self.cohort = Some(
                        line.text
                            .trim_end_matches(':')
                            .trim()
                            .chars()
                            .take(120)
                            .collect(),
                    );
                    self.after_blank = true;
                    continue;
                }
                if !self.after_blank && self.paragraph.is_empty() && !self.items.is_empty() {
                    // A wrapped line of the item above.
                    append(last_item(&mut self.items), line.text);
                    continue;
                }
                if !self.paragraph.is_empty() {
                    self.paragraph.push(' ');
                }
                self.paragraph.push_str(line.text);
                self.after_blank = false;
                continue;
            }
            self.flush_paragraph();
            self.after_blank = false;
            let item = Item {
                indent: line.indent,
                text: line.text.to_string(),
                children: Vec::new(),
                inclusion: self.inclusion,
                cohort: self.cohort.clone(),
            };
            // A deeper item belongs to the last item that ends with ":" (or
            // is less indented).
            match self.items.last_mut() {
                Some(parent) if line.indent > parent.indent && takes_children(parent) => {
                    push_child(parent, item);
                }
                _ => self.items.push(item),
            }
        }
        self.flush_all();
    }

    fn flush_paragraph(&mut self) {
        let para = std::mem::take(&mut self.paragraph);
        let para = para.trim();
        if para.is_empty() {
            return;
        }
        self.flush_items();
        // A paragraph ending in ":" introduces the items below it.
        if para.ends_with(':') {
            self.items.push(Item {
                indent: 0,
                text: para.to_string(),
                children: Vec::new(),
                inclusion: self.inclusion,
                cohort: self.cohort.clone(),
            });
            // Items after it are its children whatever their indent.
            if let Some(i) = self.items.last_mut() {
                i.indent = 0;
            }
            return;
        }
        for s in sextant_core::text::sentences(para) {
            self.emit(s, Vec::new(), self.inclusion, self.cohort.clone());
        }
    }

    fn flush_items(&mut self) {
        for item in std::mem::take(&mut self.items) {
            self.emit_item(item, None);
        }
    }

    fn flush_all(&mut self) {
        self.flush_paragraph();
        self.flush_items();
    }

    fn emit_item(&mut self, item: Item, context: Option<&str>) {
        let text = match context {
            Some(c) => format!("{} {}", c.trim_end_matches(':').trim(), item.text),
            None => item.text.clone(),
        };
        if item.children.is_empty() {
            self.emit(&text, Vec::new(), item.inclusion, item.cohort.clone());
            return;
        }
        if alternatives(&item.text) {
            let any_of = item.children.iter().map(flatten).collect();
            self.emit(&text, any_of, item.inclusion, item.cohort.clone());
        } else {
            let parent = text;
            for child in item.children {
                self.emit_item(child, Some(&parent));
            }
        }
    }

    fn emit(&mut self, text: &str, any_of: Vec<String>, inclusion: bool, cohort: Option<String>) {
        if self.donor {
            self.donor_criteria += 1;
            return;
        }
        let text = sextant_core::text::normalize_ws(text);
        if text.len() < 3 || self.out.len() > MAX_CRITERIA {
            return;
        }
        let text = truncate(&text, MAX_CRITERION_CHARS);
        let any_of: Vec<String> = any_of
            .into_iter()
            .map(|a| truncate(&sextant_core::text::normalize_ws(&a), MAX_CRITERION_CHARS))
            .collect();
        let mut categories = classify(&text);
        for a in &any_of {
            for c in classify(a) {
                if !categories.contains(&c) {
                    categories.push(c);
                }
            }
        }
        if categories.len() > 1 {
            categories.retain(|c| *c != Category::Other);
        }
        categories.sort();
        self.out.push(Criterion {
            inclusion,
            text,
            any_of,
            categories,
            cohort,
            origin: text_origin(),
        });
    }

    /// The criteria, and how many donor criteria were set aside.
    fn finish(mut self) -> (Vec<Criterion>, usize) {
        self.flush_all();
        (self.out, self.donor_criteria)
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn last_item(items: &mut [Item]) -> &mut Item {
    let mut it = items.last_mut().expect("caller checked non-empty");
    while !it.children.is_empty() {
        it = it.children.last_mut().expect("non-empty");
    }
    it
}

fn append(item: &mut Item, text: &str) {
    item.text.push(' ');
    item.text.push_str(text);
}

fn takes_children(parent: &Item) -> bool {
    let deepest = {
        let mut it = parent;
        while let Some(c) = it.children.last() {
            it = c;
        }
        it
    };
    parent.text.trim_end().ends_with(':')
        || !parent.children.is_empty()
        || deepest.text.trim_end().ends_with(':')
        || alternatives(&parent.text)
}

fn push_child(parent: &mut Item, item: Item) {
    // Nest under the last child when deeper still and that child opens a list.
    if let Some(last) = parent.children.last_mut() {
        if item.indent > last.indent && last.text.trim_end().ends_with(':') {
            push_child(last, item);
            return;
        }
    }
    parent.children.push(item);
}

fn flatten(item: &Item) -> String {
    let mut s = item.text.clone();
    for c in &item.children {
        s.push(' ');
        s.push_str(&flatten(c));
    }
    s
}

/// Does an item introduce alternatives ("one of the following", "or:")?
fn alternatives(text: &str) -> bool {
    let l = text.to_lowercase();
    let l = l.trim_end();
    l.contains("one of the following")
        || l.contains("any of the following")
        || l.contains("at least one of")
        || l.contains("either of")
        || l.ends_with(" or:")
        || l.ends_with(" either:")
        || (l.ends_with(':') && l.contains("either"))
}

/// Is a marker-less line a cohort or part label?
fn is_label(text: &str, next_is_item: bool) -> bool {
    let words = text.split_whitespace().count();
    if words == 0 || words > 10 || text.ends_with('.') {
        return false;
    }
    let l = text.to_lowercase();
    let named = [
        "cohort", "part ", "arm ", "group", "phase ", "stage 1", "stage 2", "dose ",
    ]
    .iter()
    .any(|w| l.starts_with(w))
        || l.starts_with("for ")
        || l.starts_with("all ");
    (named && next_is_item) || (next_is_item && text.ends_with(':') && words <= 6)
}

/// Categories a criterion's words touch, the most specific first.
pub fn classify(text: &str) -> Vec<Category> {
    let l = format!(" {} ", text.to_lowercase());
    let has = |ws: &[&str]| ws.iter().any(|w| l.contains(w));
    let mut out = Vec::new();
    if has(&[
        "brain metasta",
        "cns metasta",
        "central nervous system metasta",
        "leptomeningeal",
        "brain mets",
        "intracranial metasta",
        "cns disease",
        "cns involvement",
        "metastases to the brain",
        "brain lesion",
    ]) || ((l.contains("brain") || l.contains("cns") || l.contains("central nervous system"))
        && l.contains("metasta"))
    {
        out.push(Category::BrainMetastases);
    }
    if has(&[
        "pregnan",
        "breastfeed",
        "breast-feed",
        "breast feed",
        "lactating",
        "nursing",
        "contracepti",
        "childbearing",
        "child-bearing",
        "child bearing",
        "birth control",
        "sperm",
        "abstinence",
        "fertile",
        "menopaus",
        "amenorrh",
    ]) {
        out.push(Category::Pregnancy);
    }
    if has(&[
        "ecog",
        "karnofsky",
        "performance status",
        "performance score",
        "zubrod",
        "lansky",
        " kps ",
        " who ps",
    ]) {
        out.push(Category::Performance);
    }
    if crate::matching::age_limits(text).is_some()
        || has(&[
            " years of age",
            " aged ",
            "age >=",
            "age >",
            "age <",
            "age of ",
        ])
    {
        out.push(Category::Age);
    }
    if has(&[
        "neutrophil",
        " anc ",
        "platelet",
        "hemoglobin",
        "haemoglobin",
        "bilirubin",
        " ast ",
        " alt ",
        "aminotransferase",
        "transaminase",
        "creatinine",
        "clearance",
        " uln",
        "upper limit of normal",
        "organ function",
        "marrow function",
        "marrow reserve",
        " inr ",
        "aptt",
        " ptt ",
        "albumin",
        "lvef",
        "ejection fraction",
        "qtc",
        "liver function",
        "renal function",
        "kidney function",
        "hepatic function",
        "cardiac function",
        "hematologic",
        "haematologic",
        "white blood cell",
        "leukocyte",
        "lymphocyte count",
        "proteinuria",
        "urine protein",
        "lipase",
        "amylase",
        "glucose",
        "hba1c",
        "potassium",
        "magnesium",
        "calcium",
        "thyroid function",
    ]) || text.contains("eGFR")
    {
        out.push(Category::OrganFunction);
    }
    if !crate::vocab::markers_in(text).is_empty()
        || has(&[
            "mutation",
            "mutated",
            "amplification",
            "amplified",
            "fusion",
            "rearrangement",
            "overexpression",
            "biomarker",
            "immunohistochemistry",
            "wild-type",
            "wild type",
            "receptor-positive",
            "receptor positive",
            "hormone receptor",
        ])
    {
        out.push(Category::Biomarker);
    }
    let types = sextant_core::cancer::detect(text, sextant_core::cancer::Matching::Exact);
    if !types.is_empty()
        || has(&[
            "histolog",
            "cytolog",
            "carcinoma",
            "malignan",
            "neoplasm",
            "lymphoma",
            "leukemia",
            "leukaemia",
            "myeloma",
            "sarcoma",
            "melanoma",
            "glioma",
            "solid tumor",
            "solid tumour",
            " cancer",
            "adenocarcinoma",
            "squamous",
            "tumor type",
        ])
    {
        out.push(Category::CancerType);
    }
    if crate::matching::advanced_disease(&l)
        || has(&[
            "metasta",
            "unresectable",
            "stage ",
            "recurren",
            "measurable disease",
            "measurable lesion",
            "evaluable disease",
            "recist",
            "inoperable",
            "localized",
            "locally",
            "early-stage",
            "early stage",
            "node-positive",
            "node positive",
        ])
    {
        out.push(Category::Stage);
    }
    if has(&[
        "prior ",
        "previous",
        "received",
        "treated with",
        "therapy",
        "treatment",
        "line of",
        "lines of",
        "regimen",
        "refractory",
        "progressed",
        "progression on",
        "progression after",
        "relapsed",
        "chemotherapy",
        "immunotherapy",
        "radiation",
        "radiotherapy",
        "surgery",
        "resection",
        "washout",
        "inhibitor",
        "transplant",
    ]) || !crate::vocab::drugs_in(text).is_empty()
    {
        out.push(Category::PriorTherapy);
    }
    let trimmed = l.trim();
    if matches!(
        trimmed,
        "male" | "female" | "males" | "females" | "women" | "men" | "women only" | "men only"
    ) || has(&[
        " sex:",
        "gender:",
        "female participants",
        "male participants",
    ]) && out.is_empty()
    {
        out.push(Category::Sex);
    }
    if out.is_empty() {
        out.push(Category::Other);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<(bool, String, usize)> {
        let (c, _) = parse(&Eligibility::Text(text.to_string()));
        c.into_iter()
            .map(|c| (c.inclusion, c.text, c.any_of.len()))
            .collect()
    }

    #[test]
    fn bullets_sections_and_escapes() {
        let got = texts(
            "Inclusion Criteria:\n\n* Age \\>= 18 years\n* ECOG 0-1\n  continued here\n\nExclusion Criteria:\n\n* Active brain metastases\n- Pregnant &amp; nursing",
        );
        assert_eq!(
            got,
            vec![
                (true, "Age >= 18 years".into(), 0),
                (true, "ECOG 0-1 continued here".into(), 0),
                (false, "Active brain metastases".into(), 0),
                (false, "Pregnant & nursing".into(), 0),
            ]
        );
    }

    #[test]
    fn nested_or_list_is_one_criterion() {
        let got = texts(
            "Inclusion Criteria:\n1. Must have one of the following:\n   a. EGFR mutation\n   b. ALK fusion\n2. Adequate organ function:\n   * ANC >= 1500/mm3\n   * Platelets >= 100,000",
        );
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0].2, 2);
        assert!(got[1].1.starts_with("Adequate organ function ANC"));
        assert!(got[2].1.contains("Platelets"));
    }

    #[test]
    fn run_on_paragraph_is_split_into_sentences() {
        let got = texts("Patients must be 18 or older. ECOG 0 to 2. No prior chemotherapy.");
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn cohorts_label_their_criteria() {
        let (c, _) = parse(&Eligibility::Text(
            "INCLUSION CRITERIA:\n\nCohort 1 (Ovarian Cancer)\n\n* ovarian carcinoma\n\nCohort 3 (Cervical Cancer)\n\n-Participants must have cervical carcinoma\n\nEXCLUSION CRITERIA:\n* Pregnancy".into(),
        ));
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(c[0].cohort.as_deref(), Some("Cohort 1 (Ovarian Cancer)"));
        assert_eq!(c[1].cohort.as_deref(), Some("Cohort 3 (Cervical Cancer)"));
        assert!(!c[2].inclusion);
        assert_eq!(c[2].cohort, None);
    }

    #[test]
    fn donor_sections_are_set_aside() {
        let (c, issues) = parse(&Eligibility::Text(
            "INCLUSION CRITERIA:\n* Age >= 18\n\nEXCLUSION CRITERIA:\n* HIV positive\n\nINCLUSION CRITERIA RELATED DONOR\n\n* Age greater than or equal to 4 years\n* Willing to donate\n\nINCLUSION CRITERIA - Donor:\n* HLA identical\n\nEXCLUSION CRITERIA:\n* Pregnancy".into(),
        ));
        let texts: Vec<&str> = c.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["Age >= 18", "HIV positive", "Pregnancy"], "{c:?}");
        assert!(
            issues
                .iter()
                .any(|i| i.message.contains("3 criteria for donors")),
            "{issues:?}"
        );
    }

    #[test]
    fn entities_and_numbers() {
        assert_eq!(
            clean("ANC &ge; 1.5 &#215; 10&#x2079;/L"),
            "ANC >= 1.5 × 10⁹/L"
        );
        assert_eq!(clean("a &bogus; b & c"), "a &bogus; b & c");
        // "1.5 mg" does not start an item.
        assert_eq!(texts("1.5 mg/dL is the limit").len(), 1);
    }

    #[test]
    fn classification() {
        let c = |t: &str| classify(t)[0];
        assert_eq!(c("ECOG performance status 0 or 1"), Category::Performance);
        assert_eq!(
            c("Known untreated brain metastases"),
            Category::BrainMetastases
        );
        assert_eq!(c("Pregnant or breastfeeding women"), Category::Pregnancy);
        assert_eq!(c("Total bilirubin <= 1.5 x ULN"), Category::OrganFunction);
        assert_eq!(c("Tumor PD-L1 CPS >= 1"), Category::Biomarker);
        assert_eq!(
            c("Histologically confirmed cervical carcinoma"),
            Category::CancerType
        );
        assert_eq!(c("Metastatic or unresectable disease"), Category::Stage);
        assert_eq!(
            c("Prior treatment with pembrolizumab"),
            Category::PriorTherapy
        );
        assert_eq!(c("Age >= 18 years"), Category::Age);
        assert_eq!(c("Signed informed consent"), Category::Other);
    }

    #[test]
    fn nothing_and_garbage() {
        assert!(parse(&Eligibility::None).0.is_empty());
        assert!(parse(&Eligibility::Text(String::new())).0.is_empty());
        let weird = "\u{0}\u{1}&#xFFFFFFFF;&#55296;* \n-\n1.\n(\n";
        let _ = parse(&Eligibility::Text(weird.into()));
        let big = "* x".repeat(10_000);
        let (c, _) = parse(&Eligibility::Text(big));
        assert!(c.len() <= MAX_CRITERIA + 1);
    }
}
