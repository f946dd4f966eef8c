//! The belief check: a question that takes something as given ("since it
//! is benign, ...", "sugar feeds cancer, so ...") is checked against the
//! sources before it is answered. When a source sentence on the same
//! subject says otherwise, the answer opens with it, under
//! [`sextant_core::answer::CHECK_FIRST`], tied to the person's own words.
//!
//! A sentence disputes a premise when it shares most of the premise's
//! meaningful words and either has the other polarity (the premise says
//! "X causes Y", the sentence "X does not cause Y"; or the reverse), or
//! hedges a claim the premise makes without exception ("always", "only",
//! "can't" against "some", "may", "can"). A premise the sources state the
//! same way is left alone. The cue words are data: `data/belief-cues.tsv`.

use std::collections::HashSet;
use std::sync::OnceLock;

use sextant_core::text::{normalize_ws, sentence_spans};
use sextant_core::{CitedSentence, Passage};

use crate::analyze::Analysis;
use crate::quality::{self, data_rows, padded};
use crate::{Engine, Result, Retriever};

/// Passages searched for a sentence that disputes a premise.
const SEARCH_DEPTH: usize = 8;
/// Share of the premise's meaningful words a disputing sentence must share.
const MIN_SHARED: f32 = 0.6;
/// The hardest sentence (Flesch–Kincaid grade) the check may quote.
const MAX_GRADE: f32 = 18.0;
/// Fewest meaningful words a premise needs to be checked at all.
const MIN_PREMISE_STEMS: usize = 2;

#[derive(Default)]
struct Cues {
    absolute: Vec<String>,
    after: Vec<String>,
    before: Vec<String>,
    hedge: Vec<String>,
    negator: Vec<String>,
    person: Vec<String>,
    personal: Vec<String>,
    refutation: Vec<String>,
}

fn cues() -> &'static Cues {
    static C: OnceLock<Cues> = OnceLock::new();
    C.get_or_init(|| {
        let mut c = Cues::default();
        for r in data_rows(include_str!("../data/belief-cues.tsv")) {
            let phrase = format!(" {} ", padded(r.get(1).copied().unwrap_or("")).trim());
            let list = match r[0] {
                "absolute" => &mut c.absolute,
                "after" => &mut c.after,
                "before" => &mut c.before,
                "hedge" => &mut c.hedge,
                "negator" => &mut c.negator,
                "person" => &mut c.person,
                "personal" => &mut c.personal,
                "refutation" => &mut c.refutation,
                _ => continue,
            };
            list.push(phrase);
        }
        c
    })
}

fn count(p: &str, list: &[String]) -> usize {
    list.iter().map(|c| p.matches(c.as_str()).count()).sum()
}

/// Word tokens of a text as [`padded`] sees them, with their byte ranges.
fn tokens(text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, ch) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let word_char = ch.is_alphanumeric() || ch == '=' || ch == '%';
        match (word_char && i < text.len(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((text[s..i].to_lowercase(), s..i));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Where the words of `phrase` (a padded phrase) occur in `toks`.
fn find_phrase(toks: &[(String, std::ops::Range<usize>)], phrase: &str) -> Option<(usize, usize)> {
    let want: Vec<&str> = phrase.split_whitespace().collect();
    if want.is_empty() || want.len() > toks.len() {
        return None;
    }
    (0..=toks.len() - want.len())
        .find(|&i| want.iter().enumerate().all(|(k, w)| toks[i + k].0 == *w))
        .map(|i| (i, i + want.len()))
}

/// The clauses of a question that state something as given: what follows
/// "since", "because", "I read that"...; what comes before ", so"; and
/// statements (not questions) that claim something without exception.
/// Each is the person's own words, verbatim.
pub fn premises(question: &str) -> Vec<String> {
    let c = cues();
    let mut out: Vec<String> = Vec::new();
    let asking = crate::asked::asking_clause(question);
    let ends: Vec<Vec<&str>> = [
        "so", "should", "can i", "could", "is it", "what", "how", "which", "do i", "does",
    ]
    .iter()
    .map(|e| e.split(' ').collect())
    .collect();
    for span in sentence_spans(question) {
        let sentence = &question[span];
        let toks = tokens(sentence);
        // A comma between two tokens ends a clause.
        let comma_before = |j: usize| {
            j > 0 && j < toks.len() && sentence[toks[j - 1].1.end..toks[j].1.start].contains(',')
        };
        let slice = |from: usize, to: usize| -> Option<String> {
            (from < to && to <= toks.len())
                .then(|| sentence[toks[from].1.start..toks[to - 1].1.end].to_string())
        };
        let mut found = false;
        for a in &c.after {
            let Some((_, mut from)) = find_phrase(&toks, a) else {
                continue;
            };
            if toks.get(from).is_some_and(|t| t.0 == "that") {
                from += 1;
            }
            let mut to = from;
            while to < toks.len() && !(to > from && comma_before(to)) {
                let at_end = ends.iter().any(|e| {
                    e.iter()
                        .enumerate()
                        .all(|(k, w)| toks.get(to + k).is_some_and(|t| t.0 == *w))
                });
                if to > from && at_end {
                    break;
                }
                to += 1;
            }
            out.extend(slice(from, to));
            found = true;
        }
        if !found {
            for b in &c.before {
                let Some((at, _)) = find_phrase(&toks, b) else {
                    continue;
                };
                // From the last comma before it.
                let from = (0..at).rev().find(|&j| comma_before(j)).unwrap_or(0);
                out.extend(slice(from, at));
                found = true;
                break;
            }
        }
        // A statement that claims something without exception.
        if !found && sentence != asking && count(&padded(sentence), &c.absolute) > 0 {
            let trimmed = sentence.trim_end_matches(['.', '!']);
            out.push(trimmed.to_string());
        }
    }
    let mut seen = HashSet::new();
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| s.split_whitespace().count() >= 3)
        .filter(|s| seen.insert(s.to_lowercase()))
        .collect()
}

/// A source sentence that disputes what the question takes as given.
#[derive(Debug, Clone)]
pub struct Dispute {
    /// The person's own words.
    pub premise: String,
    pub sentence: CitedSentence,
    pub passage: Passage,
}

/// Share of a clause's stems among the premise's, for [`disputes`].
const CLAUSE_SHARED: f32 = 0.75;

/// Whether a sentence disputes a premise: it says the premise's claim is
/// not so ("there is no evidence"), or one of its clauses on the same words
/// has the other polarity, or it hedges a claim the premise makes without
/// exception. `shares` tells what share of the premise's meaningful words a
/// clause has.
fn disputes(premise: &str, sentence: &str, shares: &dyn Fn(&str) -> f32) -> bool {
    let c = cues();
    let (pp, ps) = (padded(premise), padded(sentence));
    let premise_negated = count(&pp, &c.negator) % 2 == 1;
    if !premise_negated && count(&ps, &c.refutation) > 0 {
        return true;
    }
    if count(&pp, &c.absolute) > 0 && count(&ps, &c.hedge) > 0 {
        return true;
    }
    clauses(sentence).into_iter().any(|clause| {
        let pc = padded(clause);
        (count(&pc, &c.negator) % 2 == 1) != premise_negated && shares(clause) >= CLAUSE_SHARED
    })
}

/// The clauses of a sentence: split at commas, semicolons, colons and
/// "but", "although", "while", "whereas".
fn clauses(sentence: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for piece in sentence.split([',', ';', ':']) {
        let mut rest = piece;
        loop {
            let lower = rest.to_ascii_lowercase();
            let cut = [" but ", " although ", " while ", " whereas "]
                .iter()
                .filter_map(|w| lower.find(w))
                .min();
            match cut {
                Some(i) => {
                    out.push(&rest[..i]);
                    rest = &rest[i + 1..];
                }
                None => break,
            }
        }
        out.push(rest);
    }
    out
}

/// Looks for a sentence of the sources that disputes one of the question's
/// premises. `a` is the whole question's analysis (for its cancer types).
pub fn check(engine: &Engine, a: &Analysis, retriever: Retriever) -> Result<Option<Dispute>> {
    let bm25 = engine.kb().bm25();
    let mut best: Option<(f32, Dispute)> = None;
    let c = cues();
    for premise in premises(&a.question) {
        // "my tumor is grade 2" is the person's fact, not a belief; "my son
        // doesn't need it" is a belief.
        let pp = padded(&premise);
        if count(&pp, &c.person) > 0 && count(&pp, &c.personal) == 0 {
            continue;
        }
        let stems: Vec<(String, f32)> = {
            let mut v: Vec<String> = bm25
                .analyze(&premise)
                .into_iter()
                .filter(|s| !crate::compose::is_generic(s) && !sextant_core::text::is_stopword(s))
                .collect();
            v.sort();
            v.dedup();
            v.into_iter()
                .map(|s| {
                    let w = bm25.idf(&s).max(0.1);
                    (s, w)
                })
                .collect()
        };
        if stems.len() < MIN_PREMISE_STEMS {
            continue;
        }
        let total: f32 = stems.iter().map(|(_, w)| w).sum();
        // The premise's rarest word is what it is about ("biopsies" in
        // "biopsies make cancer spread"): a disputing sentence has it.
        let key = stems
            .iter()
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .map(|(s, _)| s.clone())
            .unwrap_or_default();
        let mut pa = crate::analyze::analyze(&premise, engine.drug_names());
        if pa.cancer_types.is_empty() {
            pa.cancer_types = a.cancer_types.clone();
        }
        let hits = engine.retrieve(&pa, SEARCH_DEPTH, retriever)?;
        let asked = quality::contexts(&a.question);
        for (rank, h) in hits.iter().enumerate() {
            let p = engine.kb().passage(h.ord)?;
            let patient = engine
                .kb()
                .page(p.page)
                .is_some_and(|pg| pg.audience == sextant_core::Audience::Patient);
            for span in sentence_spans(&p.text) {
                let text = normalize_ws(&p.text[span]);
                if quality::statement_flaw(&text).is_some()
                    || !quality::contexts(&text).beyond(asked).is_empty()
                    || quality::is_statistic(&text)
                    || sextant_core::readability::grade(&text).is_some_and(|g| g > MAX_GRADE)
                {
                    continue;
                }
                let s_stems: HashSet<String> = bm25.analyze(&text).into_iter().collect();
                if !s_stems.contains(&key) {
                    continue;
                }
                let shared = stems.iter().filter(|(s, _)| s_stems.contains(s)).count();
                let share = stems
                    .iter()
                    .filter(|(s, _)| s_stems.contains(s))
                    .map(|(_, w)| w)
                    .sum::<f32>()
                    / total;
                // Most of its words, counted both by weight and one by one:
                // a sentence on the premise's rarest word alone ("H. pylori")
                // may be about something else.
                let by_count = shared as f32 / stems.len() as f32;
                let clause_share = |clause: &str| -> f32 {
                    let cs: HashSet<String> = bm25.analyze(clause).into_iter().collect();
                    stems.iter().filter(|(s, _)| cs.contains(s)).count() as f32 / stems.len() as f32
                };
                if share < MIN_SHARED
                    || by_count < MIN_SHARED
                    || shared < MIN_PREMISE_STEMS
                    || !disputes(&premise, &text, &clause_share)
                {
                    continue;
                }
                let score = share - 0.02 * rank as f32 + if patient { 0.1 } else { 0.0 };
                if best.as_ref().is_none_or(|(b, _)| score > *b) {
                    best = Some((
                        score,
                        Dispute {
                            premise: premise.clone(),
                            sentence: CitedSentence {
                                text: p.text[sentence_span(&p.text, &text)].to_string(),
                                citations: vec![p.id.clone()],
                            },
                            passage: p.clone(),
                        },
                    ));
                }
            }
        }
    }
    Ok(best.map(|(_, d)| d))
}

/// The span of the sentence of `text` whose normalized form is `norm`.
fn sentence_span(text: &str, norm: &str) -> std::ops::Range<usize> {
    sentence_spans(text)
        .into_iter()
        .find(|r| normalize_ws(&text[r.clone()]) == norm)
        .unwrap_or(0..0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premises_of_questions() {
        let p = premises(
            "I read that sugar feeds cancer, so I've cut out all fruit. What else should I avoid?",
        );
        assert!(p.iter().any(|x| x == "sugar feeds cancer"), "{p:?}");
        let p = premises(
            "My husband found a lump, but since men don't get breast cancer, is it okay to wait?",
        );
        assert!(
            p.iter().any(|x| x == "men don't get breast cancer"),
            "{p:?}"
        );
        let p = premises("Chemo always makes you throw up for days, so I'm planning to take a month off. Is that what most people do?");
        assert!(
            p.iter()
                .any(|x| x == "Chemo always makes you throw up for days"),
            "{p:?}"
        );
        // A plain question takes nothing as given.
        assert!(premises("What are the symptoms of a brain tumor?").is_empty());
    }

    #[test]
    fn disputing_sentences() {
        // Word overlap by whole words, for the test.
        let shares_with = |premise: &'static str| {
            move |clause: &str| {
                let p: Vec<String> = sextant_core::text::words(premise)
                    .into_iter()
                    .filter(|w| !sextant_core::text::is_stopword(w))
                    .collect();
                let c = sextant_core::text::words(clause);
                p.iter().filter(|w| c.contains(w)).count() as f32 / p.len() as f32
            }
        };
        let p = "antiperspirants cause breast cancer";
        assert!(disputes(
            p,
            "Despite warnings that antiperspirants cause breast cancer, there is no evidence to support these concerns.",
            &shares_with(p)
        ));
        let p = "chemo always makes you throw up";
        assert!(disputes(
            p,
            "Some chemo drugs may make you throw up.",
            &shares_with(p)
        ));
        let p = "cancer can't be treated during pregnancy";
        assert!(disputes(
            p,
            "Cancer can be treated during pregnancy.",
            &shares_with(p)
        ));
        // The same claim, the same way: left alone.
        let p = "obesity raises the risk of endometrial cancer";
        assert!(!disputes(
            p,
            "Obesity raises the risk of endometrial cancer.",
            &shares_with(p)
        ));
        // A negation in a clause about something else does not dispute.
        let p = "pylori infection can lead to stomach cancer";
        assert!(!disputes(
            p,
            "Although many people with pylori infection do not have symptoms, some develop ulcers.",
            &shares_with(p)
        ));
    }

    #[test]
    fn the_cue_table_is_sorted() {
        let rows: Vec<Vec<&str>> = data_rows(include_str!("../data/belief-cues.tsv")).collect();
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "belief-cues.tsv is not sorted"
        );
        for r in &rows {
            assert_eq!(r.len(), 2, "{r:?}");
            assert!(
                [
                    "absolute",
                    "after",
                    "before",
                    "hedge",
                    "negator",
                    "person",
                    "personal",
                    "refutation"
                ]
                .contains(&r[0]),
                "{r:?}"
            );
        }
    }
}
