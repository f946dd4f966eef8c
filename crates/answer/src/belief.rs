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

/// Share of the premise's meaningful words a disputing sentence must share.
const MIN_SHARED: f32 = 0.6;
/// Passages searched for a sentence that disputes a premise.
const SEARCH_DEPTH: usize = 8;
/// Sentences of the whole corpus, closest to the premise in meaning, also
/// weighed against it ([`Meaning::Corpus`]).
const NEAREST: usize = 12;
/// The cosine of MiniLM embeddings from which a sentence makes the same
/// claim as a premise, whatever its words. Chosen on the reviewers' dispute
/// marks (BENCHMARKS.md): at 0.70 the check also disputed a true premise.
const SAME_CLAIM: f32 = 0.75;
/// The hardest sentence (Flesch–Kincaid grade) the check may quote.
const MAX_GRADE: f32 = 18.0;
/// Fewest meaningful words a premise needs to be checked at all.
const MIN_PREMISE_STEMS: usize = 2;

#[derive(Default)]
struct Cues {
    absolute: Vec<String>,
    after: Vec<String>,
    allow: Vec<String>,
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
                "allow" => &mut c.allow,
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

/// Whether a sentence disputes a premise by its cue words alone: it says
/// the premise's claim is not so ("there is no evidence"), or one of its
/// clauses on the same words has the other polarity, or it hedges a claim
/// the premise makes without exception. `shares` tells what share of the
/// premise's meaningful words a clause has.
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

/// What is known of a (premise, sentence) pair, in the order of
/// [`PairFeatures`]. The check quotes by a rule over a few of them
/// ([`Pair::disputes`]); `sextant eval answers --disputes` measures that
/// rule, and a logistic regression over all of them, against reviewers'
/// marks. Each is in about [0, 1].
pub const PAIR_FEATURES: [&str; 16] = [
    // 1 for every pair: the intercept of a fitted model.
    "bias",
    // Cosine of the sentence's embedding with the premise's.
    "semantic",
    // How much closer its embedding is to the premise said the other way
    // ([`negated`]) than to the premise, in hundredths of a cosine.
    "negation_gap",
    // How far its cosine is below that of the premise's closest sentence.
    "semantic_gap",
    // Share of the premise's words (IDF-weighted) in the sentence.
    "share",
    // Share of the premise's words, counted one by one.
    "by_count",
    // It has the premise's rarest word (what the premise is about).
    "key",
    // It is negated and the premise is not, or the reverse.
    "polarity",
    // One of its clauses on half the premise's words or more has the other
    // polarity.
    "clause_polarity",
    // It says a claim is not so ("there is no evidence") and the premise is
    // not negated.
    "refutation",
    // The premise claims something without exception and the sentence
    // hedges ("some", "may").
    "hedge",
    // The premise denies something and the sentence allows it ("men can
    // get breast cancer"; the `allow` words of `data/belief-cues.tsv`).
    "allows",
    // The cue words say it disputes the premise ([`disputes`]).
    "cues",
    // The premise is about the person ("my tumor is grade 2").
    "personal_fact",
    // Its page is written for patients.
    "patient",
    // Rank of its passage among those found for the premise, in eighths;
    // 1 for the corpus-wide neighbours.
    "rank",
];

/// A pair's features, in the order of [`PAIR_FEATURES`].
pub type PairFeatures = [f32; PAIR_FEATURES.len()];

/// Index of a named pair feature.
pub fn pair_feature(name: &str) -> usize {
    PAIR_FEATURES
        .iter()
        .position(|f| *f == name)
        .unwrap_or_else(|| panic!("unknown pair feature {name}"))
}

/// The features read from embeddings.
pub const SEMANTIC: [&str; 3] = ["semantic", "negation_gap", "semantic_gap"];

/// A source sentence weighed against one premise.
#[derive(Debug, Clone)]
pub struct Pair {
    pub premise: String,
    /// The sentence, whitespace-normalized.
    pub text: String,
    pub features: PairFeatures,
    /// How many of the premise's meaningful words it has.
    pub shared: usize,
    /// Found by meaning in the whole corpus, not in the passages retrieved
    /// for the premise.
    pub neighbour: bool,
    pub passage: Passage,
}

impl Pair {
    /// Whether the check quotes this sentence against its premise. The
    /// premise is a general claim, not the person's own fact, and either
    /// - the sentence is on the premise's words (its rarest word, and most
    ///   of the others, by weight and one by one) and its cue words dispute
    ///   it ([`disputes`]), or
    /// - it makes the same claim in other words (a cosine of at least
    ///   [`SAME_CLAIM`]) and says the claim is not so, allows what the
    ///   premise denies, or hedges what it claims without exception. A mere
    ///   negation is not enough here: "having a risk factor does not mean
    ///   you will get cancer" is close in meaning to many true premises.
    pub fn disputes(&self) -> bool {
        let f = |n: &str| self.features[pair_feature(n)];
        let on_its_words = f("cues") > 0.0
            && f("key") > 0.0
            && f("share") >= MIN_SHARED
            && f("by_count") >= MIN_SHARED
            && self.shared >= MIN_PREMISE_STEMS;
        let in_other_words = f("semantic") >= SAME_CLAIM
            && (f("refutation") > 0.0 || f("allows") > 0.0 || f("hedge") > 0.0);
        f("personal_fact") == 0.0 && !self.neighbour && (on_its_words || in_other_words)
    }

    /// How well it fits the premise, to choose among pairs that dispute:
    /// its meaning or its words, its passage's rank, a page for patients
    /// first.
    pub fn fit(&self) -> f32 {
        let f = |n: &str| self.features[pair_feature(n)];
        f("semantic").max(f("share")) - 0.16 * f("rank") + 0.1 * f("patient")
    }
}

/// How far [`pairs`] reads meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// Words and cues only (a knowledge base without embeddings).
    Words,
    /// Also each sentence's cosine with the premise: what the check reads.
    Cosines,
    /// Also the premise said the other way, and the sentences of the whole
    /// corpus closest to the premise: for the reviewers' pairs and the
    /// measurement of a learned check (`sextant eval answers --disputes`).
    Corpus,
}

/// Every sentence of the passages retrieved for each of the question's
/// premises that could be quoted against it, with its features; with
/// [`Meaning::Corpus`], also the corpus-wide neighbours. `a` is the whole
/// question's analysis (for its cancer types).
pub fn pairs(
    engine: &Engine,
    a: &Analysis,
    retriever: Retriever,
    meaning: Meaning,
) -> Result<Vec<Pair>> {
    let feature = pair_feature;
    let bm25 = engine.kb().bm25();
    let c = cues();
    let mut out = Vec::new();
    for premise in premises(&a.question) {
        let pp = padded(&premise);
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
        // "biopsies make cancer spread").
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
        let quotable = |text: &str| {
            quality::statement_flaw(text).is_none()
                && quality::contexts(text).beyond(asked).is_empty()
                && !quality::is_statistic(text)
                && !sextant_core::readability::grade(text).is_some_and(|g| g > MAX_GRADE)
        };
        let patient_page = |p: &Passage| {
            engine
                .kb()
                .page(p.page)
                .is_some_and(|pg| pg.audience == sextant_core::Audience::Patient)
        };
        let mut found: Vec<Found> = Vec::new();
        for (rank, h) in hits.iter().enumerate() {
            let p = engine.kb().passage(h.ord)?;
            let patient = patient_page(&p);
            for (pos, span) in sentence_spans(&p.text).into_iter().enumerate() {
                let text = normalize_ws(&p.text[span]);
                if !quotable(&text) {
                    continue;
                }
                found.push(Found {
                    rank,
                    ord: h.ord,
                    pos,
                    text,
                    patient,
                    passage: p.clone(),
                });
            }
        }
        // The sentences of the whole corpus closest to the premise in
        // meaning, wherever their passages rank: the one that says "external
        // beam radiation will not make you radioactive" may sit on a page the
        // premise's words do not find.
        if let (Meaning::Corpus, true, Some(stored), Some(pv)) = (
            meaning,
            engine.dense_ready(),
            engine.kb().sentence_vectors(),
            engine.question_vector(&premise)?,
        ) {
            for (ord, pos, _) in stored.nearest(&pv, NEAREST) {
                let ord = ord as u32;
                if found.iter().any(|f| f.ord == ord && f.pos == pos) {
                    continue;
                }
                let p = engine.kb().passage(ord)?;
                let Some(span) = sentence_spans(&p.text).into_iter().nth(pos) else {
                    continue;
                };
                let text = normalize_ws(&p.text[span]);
                if !quotable(&text) {
                    continue;
                }
                found.push(Found {
                    rank: SEARCH_DEPTH,
                    ord,
                    pos,
                    text,
                    patient: patient_page(&p),
                    passage: p,
                });
            }
        }
        let cosines = match meaning {
            Meaning::Words => vec![None; found.len()],
            Meaning::Cosines => same_meaning(engine, &[&premise], &found)?,
            Meaning::Corpus => same_meaning(engine, &[&premise, &negated(&premise)], &found)?,
        };
        let premise_negated = count(&pp, &c.negator) % 2 == 1;
        let personal_fact = count(&pp, &c.person) > 0 && count(&pp, &c.personal) == 0;
        let absolute = count(&pp, &c.absolute) > 0;
        let closest = cosines
            .iter()
            .flatten()
            .map(|v| v[0])
            .fold(f32::MIN, f32::max);
        for (f, sim) in found.into_iter().zip(cosines) {
            let s_stems: HashSet<String> = bm25.analyze(&f.text).into_iter().collect();
            let shared = stems.iter().filter(|(s, _)| s_stems.contains(s)).count();
            let share = stems
                .iter()
                .filter(|(s, _)| s_stems.contains(s))
                .map(|(_, w)| w)
                .sum::<f32>()
                / total;
            let clause_share = |clause: &str| -> f32 {
                let cs: HashSet<String> = bm25.analyze(clause).into_iter().collect();
                stems.iter().filter(|(s, _)| cs.contains(s)).count() as f32 / stems.len() as f32
            };
            let ps = padded(&f.text);
            let other_polarity =
                |t: &str| (count(&padded(t), &c.negator) % 2 == 1) != premise_negated;
            let mut x = [0.0; PAIR_FEATURES.len()];
            x[0] = 1.0;
            if let Some(v) = &sim {
                x[feature("semantic")] = v[0];
                // In hundredths: the gap is small.
                if let Some(other_way) = v.get(1) {
                    x[feature("negation_gap")] = ((other_way - v[0]) * 100.0).clamp(-3.0, 3.0);
                }
                x[feature("semantic_gap")] = v[0] - closest;
            }
            x[feature("share")] = share;
            x[feature("by_count")] = shared as f32 / stems.len() as f32;
            x[feature("key")] = f32::from(u8::from(s_stems.contains(&key)));
            x[feature("polarity")] = f32::from(u8::from(other_polarity(&f.text)));
            // Each clause's share of the premise's words, analyzed once for
            // both the clause polarity and the cue check.
            let shares: Vec<(&str, f32)> = clauses(&f.text)
                .into_iter()
                .map(|cl| (cl, clause_share(cl)))
                .collect();
            let share_of = |cl: &str| {
                shares
                    .iter()
                    .find(|(c, _)| *c == cl)
                    .map_or_else(|| clause_share(cl), |x| x.1)
            };
            x[feature("clause_polarity")] = f32::from(u8::from(
                shares
                    .iter()
                    .any(|(cl, share)| other_polarity(cl) && *share >= 0.5),
            ));
            x[feature("refutation")] =
                f32::from(u8::from(!premise_negated && count(&ps, &c.refutation) > 0));
            x[feature("hedge")] = f32::from(u8::from(absolute && count(&ps, &c.hedge) > 0));
            x[feature("allows")] = f32::from(u8::from(
                premise_negated
                    && count(&ps, &c.negator).is_multiple_of(2)
                    && count(&ps, &c.allow) > 0,
            ));
            x[feature("cues")] = f32::from(u8::from(disputes(&premise, &f.text, &share_of)));
            x[feature("personal_fact")] = f32::from(u8::from(personal_fact));
            x[feature("patient")] = f32::from(u8::from(f.patient));
            // The corpus-wide neighbours rank 1.
            x[feature("rank")] = f.rank as f32 / SEARCH_DEPTH as f32;
            out.push(Pair {
                premise: premise.clone(),
                text: f.text,
                features: x,
                shared,
                neighbour: f.rank == SEARCH_DEPTH,
                passage: f.passage,
            });
        }
    }
    Ok(out)
}

/// Looks for a sentence of the sources that disputes one of the question's
/// premises ([`Pair::disputes`]), the best fitting if several do. `a` is
/// the whole question's analysis (for its cancer types).
pub fn check(engine: &Engine, a: &Analysis, retriever: Retriever) -> Result<Option<Dispute>> {
    let meaning = if engine.dense_ready() {
        Meaning::Cosines
    } else {
        Meaning::Words
    };
    let best = pairs(engine, a, retriever, meaning)?
        .into_iter()
        .filter(Pair::disputes)
        .max_by(|x, y| x.fit().total_cmp(&y.fit()));
    Ok(best.map(|p| Dispute {
        sentence: CitedSentence {
            text: p.passage.text[sentence_span(&p.passage.text, &p.text)].to_string(),
            citations: vec![p.passage.id.clone()],
        },
        premise: p.premise,
        passage: p.passage,
    }))
}

/// A sentence that could be quoted against a premise.
struct Found {
    rank: usize,
    ord: u32,
    pos: usize,
    text: String,
    patient: bool,
    passage: Passage,
}

/// The cosine of each sentence's embedding with each of `texts`' (the
/// premise, and the premise negated): from the knowledge base's stored
/// sentence vectors, or embedded here for a sentence it lacks. `None` for
/// all without the embedding model.
fn same_meaning(engine: &Engine, texts: &[&str], found: &[Found]) -> Result<Vec<Option<Vec<f32>>>> {
    if found.is_empty() || !engine.dense_ready() {
        return Ok(vec![None; found.len()]);
    }
    let Some(e) = engine.embedder() else {
        return Ok(vec![None; found.len()]);
    };
    let mut qs = Vec::new();
    for t in texts {
        match engine.question_vector(t)? {
            Some(v) => qs.push(v),
            None => return Ok(vec![None; found.len()]),
        }
    }
    let stored = engine.kb().sentence_vectors();
    let mut out: Vec<Option<Vec<f32>>> = found
        .iter()
        .map(|f| {
            let row = stored?.row(f.ord as usize, f.pos, &f.text)?;
            Some(qs.iter().map(|q| row.dot(q)).collect())
        })
        .collect();
    let missing: Vec<usize> = (0..found.len()).filter(|&i| out[i].is_none()).collect();
    if !missing.is_empty() {
        let texts: Vec<&str> = missing.iter().map(|&i| found[i].text.as_str()).collect();
        let vecs = e.embed(&texts, &|_| {})?;
        let dim = qs[0].len();
        for (k, &i) in missing.iter().enumerate() {
            let v = &vecs[k * dim..(k + 1) * dim];
            out[i] = Some(qs.iter().map(|q| sextant_embed::dot(q, v)).collect());
        }
    }
    Ok(out)
}

/// The premise said the other way: its negation removed ("men don't get
/// breast cancer" → "men do get breast cancer"), or, when it has none,
/// denied ("it is not true that sugar feeds cancer"). Its embedding is
/// closer to a sentence that disputes the premise than the premise's is,
/// a little: MiniLM reads negation weakly, so the gap is one feature of
/// the dispute model, not a rule.
pub fn negated(premise: &str) -> String {
    let c = cues();
    let toks = tokens(premise);
    let hit = toks.iter().position(|(w, _)| {
        let one = format!(" {w} ");
        c.negator.contains(&one)
    });
    // "don't" is two tokens as the cues see it ("don t"): drop the "t".
    let contracted = toks
        .windows(2)
        .position(|w| w[1].0 == "t" && c.negator.iter().any(|n| *n == format!(" {} t ", w[0].0)));
    if let Some(i) = contracted {
        let (stem, t) = (&toks[i], &toks[i + 1]);
        let base = match stem.0.as_str() {
            "can" => "can",
            "won" => "will",
            other => other.strip_suffix('n').unwrap_or(other),
        };
        return format!(
            "{}{}{}",
            &premise[..stem.1.start],
            base,
            &premise[t.1.end..]
        );
    }
    if let Some(i) = hit {
        let r = toks[i].1.clone();
        let rest = premise[r.end..].trim_start();
        return format!("{}{}", &premise[..r.start], rest);
    }
    format!("it is not true that {premise}")
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
    fn premises_said_the_other_way() {
        assert_eq!(
            negated("men don't get breast cancer"),
            "men do get breast cancer"
        );
        assert_eq!(
            negated("cancer can't be treated during pregnancy"),
            "cancer can be treated during pregnancy"
        );
        assert_eq!(negated("kids never get cancer"), "kids get cancer");
        assert_eq!(
            negated("sugar feeds cancer"),
            "it is not true that sugar feeds cancer"
        );
    }

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
                    "allow",
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
