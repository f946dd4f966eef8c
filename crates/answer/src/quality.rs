//! What makes a shown sentence wrong for its reader, in one place: the
//! composer uses these checks to choose sentences, and `sextant eval
//! answers` / `eval medquad` use the same checks to count what got through.
//!
//! - a sentence that needs the one before it ("This is a procedure to close
//!   the pleural space.") shown without it ([`needs_context`], [`dangling`]);
//! - a sentence about another reader or situation: a child, a pregnancy, a
//!   clinician's trial statistics, research news ([`contexts`], [`leaks`]);
//! - a bottom line that is a definition, a statistic or a fragment
//!   ([`bottom_line_flaw`]).
//!
//! The word lists are data: `data/context-markers.tsv` and
//! `data/sentence-leads.tsv`.

use std::sync::OnceLock;

use sextant_core::text::{normalize_ws, sentences};
use sextant_core::Answer;

/// A reader or situation a sentence may be written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Context {
    /// A child or teenager with cancer ("your child's chances").
    Child,
    /// A pregnant person.
    Pregnancy,
    /// Clinicians reading trial results (hazard ratios, randomized arms).
    Professional,
    /// Research news ("a new study found").
    Research,
}

impl Context {
    pub const ALL: [Context; 4] = [
        Context::Child,
        Context::Pregnancy,
        Context::Professional,
        Context::Research,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Context::Child => "child",
            Context::Pregnancy => "pregnancy",
            Context::Professional => "professional",
            Context::Research => "research",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`Context`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contexts(u8);

impl Contexts {
    pub fn contains(self, c: Context) -> bool {
        self.0 & c.bit() != 0
    }
    pub fn insert(&mut self, c: Context) {
        self.0 |= c.bit();
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The contexts of `self` that `other` lacks.
    pub fn beyond(self, other: Contexts) -> Contexts {
        Contexts(self.0 & !other.0)
    }
    pub fn iter(self) -> impl Iterator<Item = Context> {
        Context::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// Rows of a shipped data table: `#` lines and blank lines skipped, fields
/// split at tabs.
pub(crate) fn data_rows(src: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    src.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::trim).collect())
}

/// Lower-case text with every character but letters, digits, `=` and `%`
/// turned into a space, padded with spaces: phrases match at word starts
/// by searching for `" " + phrase`.
pub(crate) fn padded(text: &str) -> String {
    let mut o = String::with_capacity(text.len() + 2);
    o.push(' ');
    for ch in text.chars() {
        if ch.is_alphanumeric() || ch == '=' || ch == '%' {
            o.extend(ch.to_lowercase());
        } else if !o.ends_with(' ') {
            o.push(' ');
        }
    }
    if !o.ends_with(' ') {
        o.push(' ');
    }
    o
}

fn markers() -> &'static [(Context, String)] {
    static M: OnceLock<Vec<(Context, String)>> = OnceLock::new();
    M.get_or_init(|| {
        data_rows(include_str!("../data/context-markers.tsv"))
            .filter_map(|r| {
                let c = Context::ALL.into_iter().find(|c| c.as_str() == r[0])?;
                let m = padded(r.get(1)?);
                Some((c, m.trim_end().to_string()))
            })
            .collect()
    })
}

/// The contexts a text speaks of (a sentence, or a question).
pub fn contexts(text: &str) -> Contexts {
    let hay = padded(text);
    let mut set = Contexts::default();
    for (c, m) in markers() {
        if hay.contains(m.as_str()) {
            set.insert(*c);
        }
    }
    set
}

fn leads() -> &'static [&'static str] {
    static L: OnceLock<Vec<&'static str>> = OnceLock::new();
    L.get_or_init(|| {
        data_rows(include_str!("../data/sentence-leads.tsv"))
            .map(|r| r[0])
            .collect()
    })
}

/// Whether a sentence opens with words that need the sentence before it
/// ("This", "It", "Instead", "However").
pub fn needs_context(sentence: &str) -> bool {
    let starts = |s: &str| {
        leads().iter().any(|l| {
            s.starts_with(l)
                && !s[l.len()..]
                    .chars()
                    .next()
                    .is_some_and(char::is_alphanumeric)
        })
    };
    if starts(sentence) {
        return true;
    }
    // "In some people, this can cause ...": a short opening phrase, then a
    // word that points back.
    sentence.split_once(", ").is_some_and(|(head, rest)| {
        head.split_whitespace().count() <= 4
            && ["this ", "these ", "it ", "they ", "such ", "those "]
                .iter()
                .any(|w| rest.starts_with(w))
            && !rest.starts_with("such as ")
    }) || [
        "In others",
        "For others",
        "In some",
        "For some",
        "In most",
        "In many",
    ]
    .iter()
    .any(|l| sentence.starts_with(l) && sentence[l.len()..].starts_with(','))
}

/// Word lists of `data/sentence-words.tsv`.
struct SentenceWords {
    /// Sorted, for `binary_search`.
    finite: Vec<&'static str>,
    /// Words that open a relative clause.
    relative: Vec<&'static str>,
    /// Padded (" is called ").
    defining: Vec<String>,
    statistic: Vec<String>,
}

fn sentence_words() -> &'static SentenceWords {
    static W: OnceLock<SentenceWords> = OnceLock::new();
    W.get_or_init(|| {
        let mut w = SentenceWords {
            finite: Vec::new(),
            relative: Vec::new(),
            defining: Vec::new(),
            statistic: Vec::new(),
        };
        for r in data_rows(include_str!("../data/sentence-words.tsv")) {
            let Some(&phrase) = r.get(1) else { continue };
            match r[0] {
                "finite" => w.finite.push(phrase),
                "relative" => w.relative.push(phrase),
                "defining" => w.defining.push(format!(" {phrase} ")),
                "statistic" => w.statistic.push(format!(" {phrase} ")),
                _ => {}
            }
        }
        w.finite.sort_unstable();
        w
    })
}

/// Whether a lower-case word is a finite verb ("is", "may", "causes").
fn is_finite(word: &str) -> bool {
    sentence_words().finite.binary_search(&word).is_ok()
}

/// Whether a sentence has a verb that makes it a statement ("Yellowing of
/// the skin." and "A clinical trial of a new treatment added to standard
/// treatment." have none).
pub fn is_statement(sentence: &str) -> bool {
    sextant_core::text::words(sentence)
        .iter()
        .any(|w| is_finite(w))
}

/// Whether a run of text has anything like a verb: a finite verb, a form
/// of "be", or a past tense or participle ("removed"). Looser than
/// [`is_statement`]: it tells a sentence from a heading or a list fragment
/// ("Yellowing of the skin.").
pub fn has_verb(text: &str) -> bool {
    sextant_core::text::words(text).iter().any(|w| {
        is_finite(w)
            || matches!(w.as_str(), "be" | "been" | "being" | "check")
            || (w.len() > 4 && w.ends_with("ed"))
    })
}

/// Why a sentence would make a poor bottom line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flaw {
    /// It defines a word ("The likely outcome of a disease is called prognosis.").
    Definition,
    /// It reports a figure ("the HR was 0.79 (95% CI, 0.70–0.88)").
    Statistic,
    /// It is not a statement ("A clinical trial of a new treatment.").
    Fragment,
    /// It needs the sentence before it.
    Dangling,
}

impl Flaw {
    pub fn as_str(self) -> &'static str {
        match self {
            Flaw::Definition => "definition",
            Flaw::Statistic => "statistic",
            Flaw::Fragment => "fragment",
            Flaw::Dangling => "dangling",
        }
    }
}

/// Whether a sentence defines a word rather than saying something about it.
pub fn is_definition(sentence: &str) -> bool {
    let p = padded(sentence);
    sentence_words()
        .defining
        .iter()
        .any(|d| p.contains(d.as_str()))
}

/// Whether a sentence reports a figure: a percentage, a ratio, an interval,
/// a rate per population, a decimal number.
pub fn is_statistic(sentence: &str) -> bool {
    let p = padded(sentence);
    if sentence.contains('%')
        || sentence_words()
            .statistic
            .iter()
            .any(|s| p.contains(s.as_str()))
    {
        return true;
    }
    // A decimal number ("0.79"), not a list number or a stage.
    let b = sentence.as_bytes();
    (1..b.len().saturating_sub(1))
        .any(|i| b[i] == b'.' && b[i - 1].is_ascii_digit() && b[i + 1].is_ascii_digit())
}

/// Why `sentence` would make a poor bottom line for a question that asks
/// `asks`, if it would. A definition is fine when the question asks what
/// something is, and a figure when it asks for one.
pub fn bottom_line_flaw(sentence: &str, asks: &crate::asked::Asked) -> Option<Flaw> {
    let s = normalize_ws(sentence);
    statement_flaw(&s)
        .or_else(|| (!asks.wants_definition() && is_definition(&s)).then_some(Flaw::Definition))
        .or_else(|| (!asks.wants_figure() && is_statistic(&s)).then_some(Flaw::Statistic))
}

/// Why `sentence` cannot be read on its own, if it cannot: it is a
/// fragment, or it needs the sentence before it.
pub fn statement_flaw(sentence: &str) -> Option<Flaw> {
    let s = normalize_ws(sentence);
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_uppercase() || first.is_ascii_digit())
        || !s.ends_with(['.', '!'])
        || s.split_whitespace().count() < 5
        || !is_statement(&s)
        || is_list_item(&s)
        || is_relative_fragment(&s)
    {
        return Some(Flaw::Fragment);
    }
    needs_context(&s).then_some(Flaw::Dangling)
}

/// Whether a sentence is a noun phrase whose only verb is in a relative
/// clause: "Bleeding that is not part of menstrual periods.", "Morning
/// headache or headache that goes away after vomiting." (items of a list
/// of signs). Its first finite verb directly follows a word that opens a
/// relative clause (`relative` in `data/sentence-words.tsv`), and no finite verb comes after it ("Cancer that has spread is
/// called metastatic." has one).
pub fn is_relative_fragment(sentence: &str) -> bool {
    let w = sextant_core::text::words(sentence);
    let Some(first) = w.iter().position(|x| is_finite(x)) else {
        return false;
    };
    let relative = first > 0
        && sentence_words().relative.contains(&w[first - 1].as_str())
        // "that" opening the sentence points back; `needs_context` has it.
        && first > 1;
    relative && !w[first + 1..].iter().any(|x| is_finite(x))
}

/// Whether a sentence is an item of a list whose lead-in it lacks: it
/// opens with a preposition and its only verb is in a relative clause ("In
/// patients whose cancer did not respond to therapy.", from "... is
/// approved to treat:").
pub fn is_list_item(sentence: &str) -> bool {
    let w = sextant_core::text::words(sentence);
    if !w.first().is_some_and(|f| {
        matches!(
            f.as_str(),
            "in" | "as" | "for" | "with" | "after" | "before"
        )
    }) {
        return false;
    }
    let verb = w.iter().position(|x| is_finite(x)).unwrap_or(w.len());
    // "In people who smoke, lung cancer is ...": a comma before the verb
    // closes the opening phrase, and the main clause follows.
    let before_comma = sentence.split_once(',').map_or(usize::MAX, |(head, _)| {
        sextant_core::text::words(head).len()
    });
    before_comma > verb
        && w[..verb]
            .iter()
            .any(|x| matches!(x.as_str(), "who" | "whose" | "that" | "which"))
}

/// Sentences of an answer that need the sentence before them but are not
/// shown right after it: within each section (and bottom line), a sentence
/// [`needs_context`] unless the sentence shown just before it is the one
/// that precedes it in a passage it cites.
pub fn dangling(answer: &Answer) -> Vec<String> {
    let mut out = Vec::new();
    let mut groups: Vec<&[sextant_core::CitedSentence]> = Vec::new();
    for s in &answer.sections {
        groups.push(&s.sentences);
    }
    for r in &answer.readings {
        for s in &r.sections {
            groups.push(&s.sentences);
        }
        groups.push(&r.bottom_line);
    }
    groups.push(&answer.bottom_line);
    for g in groups {
        for (i, s) in g.iter().enumerate() {
            if !needs_context(&s.text) {
                continue;
            }
            let before = i.checked_sub(1).map(|j| normalize_ws(&g[j].text));
            let norm = normalize_ws(&s.text);
            let follows = before.is_some_and(|b| {
                s.citations.iter().any(|c| {
                    answer.sources.iter().filter(|src| &src.id == c).any(|src| {
                        let ss: Vec<String> = sentences(&src.passage)
                            .into_iter()
                            .map(normalize_ws)
                            .collect();
                        ss.windows(2).any(|w| w[0] == b && w[1] == norm)
                    })
                })
            });
            if !follows {
                out.push(s.text.clone());
            }
        }
    }
    out
}

/// Sentences of an answer that speak of a context its question does not:
/// each with the context.
pub fn leaks(answer: &Answer) -> Vec<(String, Context)> {
    let mut asked = contexts(&answer.question);
    // "My 6-year-old has Wilms tumor": a question about a child.
    if crate::analyze::patient_is_child(&sextant_core::text::words(&answer.question)) {
        asked.insert(Context::Child);
    }
    let mut out = Vec::new();
    for s in answer.cited_sentences() {
        for c in contexts(&s.text).beyond(asked).iter() {
            out.push((s.text.clone(), c));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_clause_noun_phrases_are_fragments() {
        for f in [
            "Bleeding that is not part of menstrual periods.",
            "Morning headache or headache that goes away after vomiting.",
            "Younger, fit patients who are eligible for a stem cell transplant.",
        ] {
            assert!(is_relative_fragment(f), "{f}");
            assert_eq!(statement_flaw(f), Some(Flaw::Fragment), "{f}");
        }
        for s in [
            "Cancer that has spread to other parts of the body is called metastatic.",
            "Studies show that exercise helps people with cancer feel better.",
            "Treatment of H. pylori infections reduces the risk of stomach cancer.",
        ] {
            assert!(!is_relative_fragment(s), "{s}");
        }
    }

    #[test]
    fn data_tables_are_sorted_and_well_formed() {
        let rows: Vec<Vec<&str>> = data_rows(include_str!("../data/context-markers.tsv")).collect();
        assert!(rows.len() > 20);
        for r in &rows {
            assert_eq!(r.len(), 2, "{r:?}");
            assert!(
                Context::ALL.iter().any(|c| c.as_str() == r[0]),
                "unknown context {r:?}"
            );
            assert_eq!(r[1], r[1].to_lowercase(), "{r:?}");
        }
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "context-markers.tsv is not sorted"
        );
        let leads: Vec<&str> = leads().to_vec();
        assert!(
            leads.windows(2).all(|w| w[0] < w[1]),
            "sentence-leads.tsv is not sorted"
        );
        let words: Vec<Vec<&str>> = data_rows(include_str!("../data/sentence-words.tsv")).collect();
        assert!(
            words.windows(2).all(|w| w[0] < w[1]),
            "sentence-words.tsv is not sorted"
        );
        for r in &words {
            assert_eq!(r.len(), 2, "{r:?}");
            assert!(
                ["defining", "finite", "relative", "statistic"].contains(&r[0]),
                "{r:?}"
            );
        }
    }

    #[test]
    fn contexts_of_sentences() {
        let c = contexts("Your child's chances of recovery depend on the type of tumor.");
        assert!(c.contains(Context::Child) && !c.contains(Context::Pregnancy));
        let c = contexts("During pregnancy, it may not need to be treated immediately.");
        assert!(c.contains(Context::Pregnancy));
        assert!(contexts("For hysterectomy, the HR was 0.79.").is_empty());
        assert!(contexts("Patients were randomly assigned to two arms.")
            .contains(Context::Professional));
        assert!(contexts("Surgery is a common treatment for colon cancer.").is_empty());
        // Word starts only: "teenage" is a teen, "canteen" is not.
        assert!(contexts("a teenager").contains(Context::Child));
        assert!(contexts("the canteen").is_empty());
    }

    #[test]
    fn sentences_that_need_their_antecedent() {
        assert!(needs_context(
            "This is a procedure to close the pleural space."
        ));
        assert!(needs_context("It may also cause pain."));
        assert!(needs_context("However, most people recover."));
        assert!(!needs_context("Itching is common."));
        assert!(!needs_context("Thistles are plants."));
        assert!(!needs_context("Surgery may be done."));
        assert!(needs_context(
            "In some people, this can cause inflammation."
        ));
        assert!(!needs_context(
            "Some cancer treatments, such as chemotherapy, can cause bleeding."
        ));
        assert!(needs_context("In others, the taste buds may recover."));
        assert!(!needs_context(
            "In some people, radiation causes dry mouth."
        ));
    }

    #[test]
    fn bottom_line_flaws() {
        let yes_no = crate::asked::asked("Is surgery an option?");
        let f = |s| bottom_line_flaw(s, &yes_no);
        assert_eq!(
            f("The likely outcome or course of a disease is called prognosis."),
            Some(Flaw::Definition)
        );
        assert_eq!(
            f("For hysterectomy, the HR was 0.79 (95% CI, 0.70–0.88)."),
            Some(Flaw::Statistic)
        );
        assert_eq!(
            f("A clinical trial of a new treatment added to standard treatment."),
            Some(Flaw::Fragment)
        );
        assert_eq!(
            f("This is a procedure to close the pleural space."),
            Some(Flaw::Dangling)
        );
        assert_eq!(
            f("Metastatic liver cancer cannot be completely removed by surgery."),
            None
        );
        let what_is = crate::asked::asked("What is prognosis?");
        assert_eq!(
            bottom_line_flaw(
                "The likely outcome or course of a disease is called prognosis.",
                &what_is
            ),
            None
        );
        let chances = crate::asked::asked("What are the chances of living five years?");
        assert_eq!(
            bottom_line_flaw("About 90% of people live five years or more.", &chances),
            None
        );
        assert_eq!(
            f("In patients whose cancer did not respond to therapy."),
            Some(Flaw::Fragment)
        );
        assert_eq!(
            f("In people who smoke, lung cancer is more common than in others."),
            None
        );
        // Stage numbers are not figures.
        assert_eq!(f("Stage II cancer may be removed by surgery."), None);
    }
}
