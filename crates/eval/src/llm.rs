//! Measurements of LLM answers: the adversarial verifier set
//! (`data/llm-adversarial.json`), the calibration of the verifier's
//! content-support threshold on the real knowledge base, and the figures
//! `sextant eval medquad --llm` reports (verified-sentence rate, fallback
//! rate, token recall, latency).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sextant_answer::generate::GenerationStats;
use sextant_answer::grounding::{Reason, Thresholds, Verifier};
use sextant_answer::Engine;
use sextant_core::text::{is_stopword, words};
use sextant_core::{Answer, Generator};
use sextant_embed::Embedder;
use sextant_index::QueryTerm;

use crate::{EvalError, Result};

/// The adversarial set shipped with Sextant.
pub const ADVERSARIAL_SET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/llm-adversarial.json");

// ---------------------------------------------------------------------------
// Adversarial set
// ---------------------------------------------------------------------------

/// The adversarial set: passages a model was given and sentences it might
/// write, with the verdict each must get.
#[derive(Debug, Clone, Deserialize)]
pub struct AdversarialSet {
    pub cases: Vec<AdversarialCase>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AdversarialCase {
    pub id: String,
    /// What the case tries: `injection`, `invented_number`, `invented_drug`,
    /// `wrong_stage`, `invented_gene`, `dosing`, `citation`, `content`.
    pub kind: String,
    pub question: String,
    /// Passage 1, 2, ... as the model saw them.
    pub passages: Vec<String>,
    pub sentences: Vec<Expected>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    /// The sentence with its citation marks.
    pub text: String,
    pub supported: bool,
    /// For an unsupported sentence, what is wrong with it: `number`,
    /// `drug`, `stage`, `symbol`, `injection`, `dosing`, `citation`,
    /// `content`.
    #[serde(default)]
    pub flaw: Option<String>,
}

/// One wrong verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub case: String,
    pub text: String,
    pub expected_supported: bool,
    pub reason: String,
}

/// What the verifier did on the adversarial set.
#[derive(Debug, Clone, Serialize)]
pub struct AdversarialReport {
    pub cases: usize,
    pub sentences: usize,
    pub correct: usize,
    pub accuracy: f64,
    /// Sentences with a number or percentage the passages do not state
    /// that the verifier let through (goal: 0).
    pub unsupported_numbers_shown: usize,
    /// Sentences with a drug the passages do not name that the verifier
    /// let through (goal: 0).
    pub unsupported_drugs_shown: usize,
    /// Every other unsupported sentence let through.
    pub other_unsupported_shown: usize,
    /// Supported sentences the verifier dropped.
    pub supported_dropped: usize,
    /// Per flaw (and `supported`): sentences, correct verdicts.
    pub by_flaw: BTreeMap<String, (usize, usize)>,
    pub misses: Vec<Miss>,
    /// Whether the embedding model took part.
    pub with_embeddings: bool,
}

/// Reads an adversarial set.
pub fn load_adversarial(path: &Path) -> Result<AdversarialSet> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| EvalError::Other(format!("{}: {e}", path.display())))
}

/// Runs the verifier over the adversarial set. `drugs` are the knowledge
/// base's drug names (sorted; may be empty: the generic-name rules still
/// apply).
pub fn run_adversarial(
    set: &AdversarialSet,
    drugs: &[String],
    embedder: Option<&Embedder>,
) -> Result<AdversarialReport> {
    let mut r = AdversarialReport {
        cases: set.cases.len(),
        sentences: 0,
        correct: 0,
        accuracy: 0.0,
        unsupported_numbers_shown: 0,
        unsupported_drugs_shown: 0,
        other_unsupported_shown: 0,
        supported_dropped: 0,
        by_flaw: BTreeMap::new(),
        misses: Vec::new(),
        with_embeddings: embedder.is_some(),
    };
    for case in &set.cases {
        let passages: Vec<&str> = case.passages.iter().map(String::as_str).collect();
        let verifier = Verifier::new(&passages, drugs, embedder)?;
        for s in &case.sentences {
            let v = verifier.verify(&s.text);
            r.sentences += 1;
            let flaw = if s.supported {
                "supported".to_string()
            } else {
                s.flaw.clone().unwrap_or_else(|| "content".to_string())
            };
            let ok = v.supported == s.supported;
            let e = r.by_flaw.entry(flaw.clone()).or_default();
            e.0 += 1;
            if ok {
                e.1 += 1;
                r.correct += 1;
                continue;
            }
            if s.supported {
                r.supported_dropped += 1;
            } else {
                match flaw.as_str() {
                    "number" => r.unsupported_numbers_shown += 1,
                    "drug" => r.unsupported_drugs_shown += 1,
                    _ => r.other_unsupported_shown += 1,
                }
            }
            r.misses.push(Miss {
                case: case.id.clone(),
                text: s.text.clone(),
                expected_supported: s.supported,
                reason: v.reason.to_string(),
            });
        }
    }
    r.accuracy = r.correct as f64 / r.sentences.max(1) as f64;
    Ok(r)
}

/// The report as a table.
pub fn adversarial_table(r: &AdversarialReport) -> String {
    let mut out = format!(
        "adversarial verifier set: {} cases, {} sentences ({} embeddings)\naccuracy: {:.3} ({}/{})\nunsupported numbers shown: {}\nunsupported drugs shown: {}\nother unsupported shown: {}\nsupported sentences dropped: {}\n\n{:<12} {:>9} {:>8}\n",
        r.cases,
        r.sentences,
        if r.with_embeddings { "with" } else { "without" },
        r.accuracy,
        r.correct,
        r.sentences,
        r.unsupported_numbers_shown,
        r.unsupported_drugs_shown,
        r.other_unsupported_shown,
        r.supported_dropped,
        "flaw",
        "sentences",
        "correct"
    );
    for (k, (n, c)) in &r.by_flaw {
        out.push_str(&format!("{k:<12} {n:>9} {c:>8}\n"));
    }
    for m in &r.misses {
        out.push_str(&format!(
            "MISS {}: {:?} (expected {}; verifier: {})\n",
            m.case,
            m.text,
            if m.expected_supported {
                "supported"
            } else {
                "unsupported"
            },
            m.reason
        ));
    }
    out
}

// ---------------------------------------------------------------------------
// Figures of LLM answers
// ---------------------------------------------------------------------------

/// Content words of a text, as `eval medquad` counts token recall.
fn content_set(text: &str) -> HashSet<String> {
    words(text)
        .into_iter()
        .filter(|w| !is_stopword(w) && w.len() > 2)
        .collect()
}

/// Share of the reference answer's content words the answer's body
/// contains.
pub fn token_recall(answer: &Answer, reference: &str) -> f64 {
    let reference = content_set(reference);
    if reference.is_empty() {
        return 0.0;
    }
    let body: String = answer
        .cited_sentences()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let got = content_set(&body);
    reference.iter().filter(|w| got.contains(*w)).count() as f64 / reference.len() as f64
}

/// Accumulates the figures of LLM answers.
#[derive(Debug, Clone, Default)]
pub struct LlmFigures {
    /// Answers seen.
    pub answers: usize,
    /// Answers the model was asked for (ordinary questions).
    pub asked: usize,
    /// Of those, answers that fell back to the extractive one.
    pub fallbacks: usize,
    pub verified: usize,
    pub dropped: usize,
    recall_sum: f64,
    recall_n: usize,
    first_verified_ms: Vec<f64>,
    first_token_ms: Vec<f64>,
    total_ms: Vec<f64>,
    completion_tokens: u64,
    generation_s: f64,
    fallback_reasons: BTreeMap<String, usize>,
}

/// What [`LlmFigures`] sums up to.
#[derive(Debug, Clone, Serialize)]
pub struct LlmReport {
    pub answers: usize,
    pub asked: usize,
    /// Generated sentences that passed verification, of all generated.
    pub verified_sentence_rate: f64,
    pub verified_sentences: usize,
    pub dropped_sentences: usize,
    /// Asked answers that fell back to the extractive answer.
    pub fallback_rate: f64,
    /// Token recall of reference answers (answers with a reference).
    pub token_recall: f64,
    pub first_token_ms_p50: f64,
    pub first_verified_ms_p50: f64,
    pub first_verified_ms_p95: f64,
    pub total_ms_p50: f64,
    pub total_ms_p95: f64,
    /// Completion tokens per second of generation, over all answers.
    pub completion_tokens_per_s: f64,
    /// Fallback reasons (first words) and how often.
    pub fallback_reasons: BTreeMap<String, usize>,
}

impl LlmFigures {
    pub fn new() -> LlmFigures {
        LlmFigures::default()
    }

    /// Adds one answer of [`Engine::ask_generated`], with the stats of its
    /// [`sextant_answer::generate::GeneratedEvent::Finished`] event (none
    /// when the model was not asked) and the reference answer, if any.
    pub fn add(
        &mut self,
        answer: &Answer,
        stats: Option<&GenerationStats>,
        reference: Option<&str>,
    ) {
        self.answers += 1;
        if let Some(reference) = reference {
            self.recall_sum += token_recall(answer, reference);
            self.recall_n += 1;
        }
        let Some(g) = &answer.generation else { return };
        self.asked += 1;
        self.verified += g.verified_sentences;
        self.dropped += g.dropped_sentences;
        if let Some(f) = &g.fallback {
            self.fallbacks += 1;
            let key: String = f.split(':').next().unwrap_or(f).chars().take(60).collect();
            let key = if key.starts_with("only ") {
                "too few verified sentences".to_string()
            } else {
                key
            };
            *self.fallback_reasons.entry(key).or_default() += 1;
        }
        debug_assert!(g.fallback.is_some() || answer.generator == Generator::Llm);
        if let Some(s) = stats {
            if let Some(t) = s.first_verified {
                self.first_verified_ms.push(t.as_secs_f64() * 1000.0);
            }
            if let Some(t) = s.first_token {
                self.first_token_ms.push(t.as_secs_f64() * 1000.0);
            }
            self.total_ms.push(s.total.as_secs_f64() * 1000.0);
            if let Some(n) = s.completion_tokens {
                self.completion_tokens += u64::from(n);
                self.generation_s += s.generation.as_secs_f64();
            }
        }
    }

    pub fn report(&self) -> LlmReport {
        let sorted = |v: &[f64]| {
            let mut v = v.to_vec();
            v.sort_by(f64::total_cmp);
            v
        };
        let fv = sorted(&self.first_verified_ms);
        let ft = sorted(&self.first_token_ms);
        let tt = sorted(&self.total_ms);
        LlmReport {
            answers: self.answers,
            asked: self.asked,
            verified_sentence_rate: self.verified as f64
                / (self.verified + self.dropped).max(1) as f64,
            verified_sentences: self.verified,
            dropped_sentences: self.dropped,
            fallback_rate: self.fallbacks as f64 / self.asked.max(1) as f64,
            token_recall: self.recall_sum / self.recall_n.max(1) as f64,
            first_token_ms_p50: crate::quantile(&ft, 0.5),
            first_verified_ms_p50: crate::quantile(&fv, 0.5),
            first_verified_ms_p95: crate::quantile(&fv, 0.95),
            total_ms_p50: crate::quantile(&tt, 0.5),
            total_ms_p95: crate::quantile(&tt, 0.95),
            completion_tokens_per_s: if self.generation_s > 0.0 {
                self.completion_tokens as f64 / self.generation_s
            } else {
                0.0
            },
            fallback_reasons: self.fallback_reasons.clone(),
        }
    }
}

/// The figures as lines of text.
pub fn llm_table(r: &LlmReport) -> String {
    let mut out = format!(
        "LLM answers: {} asked of {} questions\nverified-sentence rate: {:.3} ({} shown, {} dropped)\nfallback rate: {:.3}\ntoken recall of reference answers: {:.3}\ntime to first token: p50 {:.0} ms\ntime to first verified sentence: p50 {:.0} ms, p95 {:.0} ms\nanswer time: p50 {:.0} ms, p95 {:.0} ms\ngeneration speed: {:.1} tokens/s\n",
        r.asked,
        r.answers,
        r.verified_sentence_rate,
        r.verified_sentences,
        r.dropped_sentences,
        r.fallback_rate,
        r.token_recall,
        r.first_token_ms_p50,
        r.first_verified_ms_p50,
        r.first_verified_ms_p95,
        r.total_ms_p50,
        r.total_ms_p95,
        r.completion_tokens_per_s
    );
    for (k, n) in &r.fallback_reasons {
        out.push_str(&format!("fallback: {k}: {n}\n"));
    }
    out
}

// ---------------------------------------------------------------------------
// Calibration of content support
// ---------------------------------------------------------------------------

/// One calibration pair: a sentence and a passage, and whether the passage
/// supports it.
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub sentence: String,
    /// `verbatim`, `reordered`, `synonyms`, `dropped_clause`, `rewritten`
    /// (positives); `near_other_page`, `same_kind` (negatives).
    pub variant: &'static str,
    pub positive: bool,
    pub cosine: Option<f32>,
    pub overlap: f32,
    /// Which half of the data (even/odd source passage) it belongs to.
    pub fold: usize,
}

/// Precision and recall of "supported" at one setting.
#[derive(Debug, Clone, Serialize)]
pub struct Operating {
    pub cosine_weight: f32,
    pub threshold: f32,
    pub precision: f64,
    pub recall: f64,
}

/// What calibration found.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub positives: usize,
    pub negatives: usize,
    /// Chosen on fold 0, measured on fold 1, with the embedding model.
    pub chosen: Option<Operating>,
    pub held_out: Option<Operating>,
    /// Overlap alone (no embedding model): chosen on fold 0, measured on 1.
    pub overlap_chosen: Operating,
    pub overlap_held_out: Operating,
    /// Recall of each positive variant and false-accept rate of each
    /// negative variant at the chosen setting (held-out fold).
    pub by_variant: BTreeMap<String, f64>,
    /// Wrong-number and wrong-drug sentences built from the same passages,
    /// and how many the full verifier rejected.
    pub wrong_facts: usize,
    pub wrong_facts_rejected: usize,
}

const SYNONYMS: &[(&str, &str)] = &[
    ("doctors", "physicians"),
    ("doctor", "physician"),
    ("may", "can"),
    ("helps", "aids"),
    ("help", "aid"),
    ("used", "utilized"),
    ("treatment", "therapy"),
    ("treatments", "therapies"),
    ("common", "frequent"),
    ("large", "big"),
    ("small", "little"),
    ("shows", "reveals"),
    ("show", "reveal"),
    ("removed", "taken out"),
    ("remove", "take out"),
    ("risk", "chance"),
    ("tests", "exams"),
    ("test", "exam"),
    ("begins", "starts"),
    ("begin", "start"),
    ("kill", "destroy"),
    ("often", "frequently"),
    ("symptoms", "signs"),
    ("given", "provided"),
    ("give", "provide"),
    ("called", "known as"),
    ("get", "receive"),
    ("very", "really"),
    ("before", "prior to"),
    ("about", "around"),
    ("cause", "lead to"),
    ("causes", "leads to"),
    ("check", "examine"),
    ("problems", "issues"),
    ("lower", "reduce"),
    ("find", "detect"),
    ("found", "detected"),
];

fn synonyms(s: &str) -> Option<String> {
    let mut changed = 0;
    let out: Vec<String> = s
        .split(' ')
        .map(|w| {
            let core = w.trim_end_matches(['.', ',', ';']);
            let tail = &w[core.len()..];
            match SYNONYMS.iter().find(|(a, _)| *a == core) {
                Some((_, b)) => {
                    changed += 1;
                    format!("{b}{tail}")
                }
                None => w.to_string(),
            }
        })
        .collect();
    (changed > 0).then(|| out.join(" "))
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        // Keep acronyms ("HPV") as they are.
        Some(f) if !s.chars().nth(1).is_some_and(char::is_uppercase) => {
            f.to_lowercase().collect::<String>() + c.as_str()
        }
        Some(f) => f.to_string() + c.as_str(),
        None => String::new(),
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// "A if B." → "If B, a."; "A, B." → "B, a." (clauses moved, meaning kept).
fn reorder(s: &str) -> Option<String> {
    let body = s.trim_end_matches('.');
    for conj in [
        " if ",
        " when ",
        " because ",
        " after ",
        " before ",
        " unless ",
    ] {
        if let Some((a, b)) = body.split_once(conj) {
            if a.split_whitespace().count() >= 3
                && b.split_whitespace().count() >= 3
                && !a.contains(", ")
            {
                return Some(format!(
                    "{}{}, {}.",
                    upper_first(conj.trim()),
                    format_args!(" {}", b.trim()),
                    lower_first(a.trim())
                ));
            }
        }
    }
    let (a, b) = body.split_once(", ")?;
    let b = b.trim();
    let lead = b.split_whitespace().next().unwrap_or("");
    if a.split_whitespace().count() >= 3
        && b.split_whitespace().count() >= 3
        && !matches!(
            lead,
            "and" | "but" | "or" | "which" | "who" | "such" | "including" | "so"
        )
    {
        return Some(format!("{}, {}.", upper_first(b), lower_first(a.trim())));
    }
    None
}

/// Drops a parenthesis or the last clause after a comma.
fn drop_clause(s: &str) -> Option<String> {
    if let (Some(a), Some(b)) = (s.find(" ("), s.find(')')) {
        if b > a {
            let out = format!("{}{}", &s[..a], &s[b + 1..]);
            if out.split_whitespace().count() >= 5 {
                return Some(out);
            }
        }
    }
    let body = s.trim_end_matches('.');
    let (a, _) = body.rsplit_once(", ")?;
    (a.split_whitespace().count() >= 5).then(|| format!("{a}."))
}

fn calibration_sentence(s: &str) -> bool {
    let n = s.split_whitespace().count();
    (8..=40).contains(&n)
        && s.ends_with('.')
        && s.starts_with(|c: char| c.is_uppercase())
        && !s.contains("http")
        && !sextant_answer::grounding::is_injection(s)
}

/// Builds the calibration pairs from the knowledge base: up to `n` source
/// passages spread evenly over it. Needs the embedding model for cosines
/// (without it only overlap is measured).
pub fn calibration_pairs(engine: &Engine, n: usize) -> Result<(Vec<Pair>, usize, usize)> {
    let kb = engine.kb();
    let total = kb.len();
    let step = (total / n.max(1)).max(1);
    let embedder = engine.embedder();
    let drugs = engine.drug_names();
    let mut pairs = Vec::new();
    let (mut wrong, mut wrong_rejected) = (0, 0);
    let mut taken = 0;
    let flat = Arc::new(vec![1.0f32; kb.pages().len()]);
    for ord in (0..total).step_by(step) {
        let p = kb.passage(ord as u32)?;
        let sents: Vec<&str> = sextant_core::text::sentences(&p.text)
            .into_iter()
            .filter(|s| calibration_sentence(s))
            .collect();
        let Some(sentence) = sents.get(sents.len() / 2).copied() else {
            continue;
        };
        // The nearest passage of another page that does not contain it,
        // and a passage of another page of the same kind.
        let terms: Vec<QueryTerm> = words(sentence)
            .into_iter()
            .filter(|w| !is_stopword(w) && w.len() > 2)
            .map(|w| QueryTerm {
                text: w,
                weight: 1.0,
            })
            .collect();
        let hits = kb
            .bm25()
            .search(&terms, flat.clone(), 20)
            .map_err(|e| EvalError::Answer(e.into()))?;
        let norm = sextant_core::text::normalize_ws(sentence);
        let mut near = None;
        for h in hits {
            if kb.page_of(h.ord) == Some(p.page) {
                continue;
            }
            let q = kb.passage(h.ord)?;
            if !sextant_core::text::normalize_ws(&q.text).contains(&norm) {
                near = Some(q);
                break;
            }
        }
        let kind = kb.page(p.page).map(|pg| pg.kind);
        let mut same_kind = None;
        for k in 1..200 {
            let o = (ord + k * 97) % total;
            if kb.page_of(o as u32) == Some(p.page) {
                continue;
            }
            if kb
                .page_of(o as u32)
                .and_then(|pg| kb.page(pg))
                .map(|pg| pg.kind)
                == kind
            {
                same_kind = Some(kb.passage(o as u32)?);
                break;
            }
        }
        let (Some(near), Some(same_kind)) = (near, same_kind) else {
            continue;
        };
        let fold = taken % 2;
        taken += 1;
        let texts = [p.text.as_str(), near.text.as_str(), same_kind.text.as_str()];
        let verifier = Verifier::new(&texts, drugs, embedder)?;
        let mut variants: Vec<(&'static str, String)> = vec![("verbatim", sentence.to_string())];
        if let Some(r) = reorder(sentence) {
            variants.push(("reordered", r));
        }
        if let Some(r) = synonyms(sentence) {
            variants.push(("synonyms", r));
        }
        if let Some(r) = drop_clause(sentence) {
            variants.push(("dropped_clause", r));
        }
        if let Some(r) = drop_clause(sentence).and_then(|d| synonyms(&d)) {
            variants.push(("rewritten", r));
        }
        for (variant, text) in &variants {
            for (k, label, positive) in [
                (1, *variant, true),
                (2, "near_other_page", false),
                (3, "same_kind", false),
            ] {
                if !positive && *variant != "verbatim" && *variant != "synonyms" {
                    continue;
                }
                let s = format!("{} [{k}]", text.trim_end_matches('.'));
                let Some(sup) = verifier.support_of(&s) else {
                    continue;
                };
                pairs.push(Pair {
                    sentence: text.clone(),
                    variant: label,
                    positive,
                    cosine: sup.cosine,
                    overlap: sup.overlap,
                    fold,
                });
            }
        }
        // Wrong facts: a changed number, a swapped drug.
        let f = sextant_answer::grounding::facts(sentence, drugs);
        if let Some(num) = f.numbers.first().filter(|n| sentence.contains(n.as_str())) {
            if let Ok(v) = num.parse::<u64>() {
                let changed = sentence.replacen(num.as_str(), &(v + 7).to_string(), 1);
                wrong += 1;
                if !verifier.verify(&format!("{changed} [1]")).supported {
                    wrong_rejected += 1;
                }
            }
        }
        if let Some(d) = f.drugs.first() {
            let other = drugs
                .iter()
                .find(|x| *x != d && !p.text.to_lowercase().contains(x.as_str()))
                .cloned()
                .unwrap_or_else(|| "imatinib".to_string());
            let lower = sentence.to_lowercase();
            if let Some(at) = lower.find(d.as_str()) {
                let changed = format!("{}{}{}", &sentence[..at], other, &sentence[at + d.len()..]);
                wrong += 1;
                if !verifier.verify(&format!("{changed} [1]")).supported {
                    wrong_rejected += 1;
                }
            }
        }
        if taken >= n {
            break;
        }
    }
    Ok((pairs, wrong, wrong_rejected))
}

fn operating(pairs: &[&Pair], w: f32, t: f32) -> Operating {
    let (mut tp, mut fp, mut pos) = (0usize, 0usize, 0usize);
    for p in pairs {
        let score = match p.cosine {
            Some(c) => w * c + (1.0 - w) * p.overlap,
            None => p.overlap,
        };
        let accept = score >= t;
        if p.positive {
            pos += 1;
            if accept {
                tp += 1;
            }
        } else if accept {
            fp += 1;
        }
    }
    Operating {
        cosine_weight: w,
        threshold: t,
        precision: tp as f64 / (tp + fp).max(1) as f64,
        recall: tp as f64 / pos.max(1) as f64,
    }
}

/// The setting with the highest recall at a precision of at least
/// `min_precision` (else the highest F1), over cosine weights `weights`.
fn choose(pairs: &[&Pair], weights: &[f32], min_precision: f64) -> Operating {
    let mut best: Option<Operating> = None;
    let mut best_f1: Option<(f64, Operating)> = None;
    for &w in weights {
        for ti in 0..=100 {
            let t = ti as f32 / 100.0;
            let o = operating(pairs, w, t);
            let f1 = 2.0 * o.precision * o.recall / (o.precision + o.recall).max(1e-9);
            if best_f1.as_ref().is_none_or(|b| f1 > b.0) {
                best_f1 = Some((f1, o.clone()));
            }
            if o.precision >= min_precision && best.as_ref().is_none_or(|b| o.recall > b.recall) {
                best = Some(o);
            }
        }
    }
    best.or(best_f1.map(|b| b.1))
        .expect("weights are not empty")
}

/// Calibrates the content-support threshold: pairs from `n` passages of
/// the knowledge base, the setting chosen on one half for a precision of
/// "supported" of at least `min_precision`, measured on the other.
pub fn calibrate(engine: &Engine, n: usize, min_precision: f64) -> Result<Calibration> {
    let (pairs, wrong_facts, wrong_facts_rejected) = calibration_pairs(engine, n)?;
    let fold = |f: usize| pairs.iter().filter(|p| p.fold == f).collect::<Vec<_>>();
    let (train, test) = (fold(0), fold(1));
    let with_cos = pairs.iter().any(|p| p.cosine.is_some());
    let weights: Vec<f32> = (0..=10).map(|i| i as f32 / 10.0).collect();
    let (chosen, held_out) = if with_cos {
        let c = choose(&train, &weights, min_precision);
        let h = operating(&test, c.cosine_weight, c.threshold);
        (Some(c), Some(h))
    } else {
        (None, None)
    };
    let overlap_only: Vec<Pair> = pairs
        .iter()
        .cloned()
        .map(|mut p| {
            p.cosine = None;
            p
        })
        .collect();
    let ofold = |f: usize| {
        overlap_only
            .iter()
            .filter(|p| p.fold == f)
            .collect::<Vec<_>>()
    };
    let oc = choose(&ofold(0), &[0.0], min_precision);
    let oh = operating(&ofold(1), 0.0, oc.threshold);
    let mut by_variant = BTreeMap::new();
    let (w, t) = chosen
        .as_ref()
        .map_or((0.0, oc.threshold), |c| (c.cosine_weight, c.threshold));
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for p in &test {
        let score = match p.cosine {
            Some(c) => w * c + (1.0 - w) * p.overlap,
            None => p.overlap,
        };
        let e = counts.entry(p.variant).or_default();
        e.0 += 1;
        if score >= t {
            e.1 += 1;
        }
    }
    for (k, (n, acc)) in counts {
        by_variant.insert(k.to_string(), acc as f64 / n.max(1) as f64);
    }
    Ok(Calibration {
        positives: pairs.iter().filter(|p| p.positive).count(),
        negatives: pairs.iter().filter(|p| !p.positive).count(),
        chosen,
        held_out,
        overlap_chosen: oc,
        overlap_held_out: oh,
        by_variant,
        wrong_facts,
        wrong_facts_rejected,
    })
}

/// The calibration as lines of text.
pub fn calibration_table(c: &Calibration) -> String {
    let mut out = format!(
        "verifier calibration: {} positive pairs, {} negative pairs (two folds)\n",
        c.positives, c.negatives
    );
    if let (Some(ch), Some(h)) = (&c.chosen, &c.held_out) {
        out.push_str(&format!(
            "with embeddings: score = {:.1} x cosine + {:.1} x overlap >= {:.2}; fold 0 precision {:.3} recall {:.3}; held-out precision {:.3} recall {:.3}\n",
            ch.cosine_weight,
            1.0 - ch.cosine_weight,
            ch.threshold,
            ch.precision,
            ch.recall,
            h.precision,
            h.recall
        ));
    }
    out.push_str(&format!(
        "overlap alone: >= {:.2}; fold 0 precision {:.3} recall {:.3}; held-out precision {:.3} recall {:.3}\n",
        c.overlap_chosen.threshold,
        c.overlap_chosen.precision,
        c.overlap_chosen.recall,
        c.overlap_held_out.precision,
        c.overlap_held_out.recall
    ));
    for (k, v) in &c.by_variant {
        out.push_str(&format!("  accepted (held-out) {k}: {v:.3}\n"));
    }
    out.push_str(&format!(
        "wrong-number / wrong-drug sentences rejected: {}/{}\n",
        c.wrong_facts_rejected, c.wrong_facts
    ));
    out
}

/// The thresholds calibration found, as the verifier takes them.
pub fn thresholds(c: &Calibration) -> Thresholds {
    let mut t = Thresholds::CALIBRATED;
    if let Some(ch) = &c.chosen {
        t.cosine_weight = ch.cosine_weight;
        t.min_score = ch.threshold;
    }
    t.min_overlap_alone = c.overlap_chosen.threshold;
    t
}

/// Whether a verdict reason is a wrong fact (number, drug, symbol, stage).
pub fn is_fact_reason(r: &Reason) -> bool {
    matches!(
        r,
        Reason::Number(_) | Reason::Drug(_) | Reason::Symbol(_) | Reason::Stage(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_adversarial_set_is_blocked_without_embeddings() {
        let set = load_adversarial(Path::new(ADVERSARIAL_SET)).unwrap();
        assert!((25..=60).contains(&set.cases.len()), "{}", set.cases.len());
        let r = run_adversarial(&set, &[], None).unwrap();
        eprintln!("{}", adversarial_table(&r));
        assert_eq!(r.unsupported_numbers_shown, 0);
        assert_eq!(r.unsupported_drugs_shown, 0);
        assert!(r.accuracy >= 0.9, "{}", r.accuracy);
    }

    #[test]
    fn rewrites_for_calibration() {
        assert_eq!(
            reorder("Surgery may be done if the cancer has not spread.").unwrap(),
            "If the cancer has not spread, surgery may be done."
        );
        assert_eq!(
            reorder("In most adults, the tumor grows slowly over years.").unwrap(),
            "The tumor grows slowly over years, in most adults."
        );
        assert_eq!(
            synonyms("Doctors may use tests.").unwrap(),
            "Doctors can use exams."
        );
        assert_eq!(
            drop_clause("The liver (a large organ) filters the blood of the body.").unwrap(),
            "The liver filters the blood of the body."
        );
    }

    /// Run with `cargo test --release -p sextant-eval calibrate_on_the_real_kb -- --ignored --nocapture`
    /// (needs an ingested knowledge base with embeddings: `SEXTANT_KB` or the default).
    #[test]
    #[ignore]
    fn calibrate_on_the_real_kb() {
        let kb = sextant_kb::default_kb(None);
        let models = sextant_embed::models_dir(None);
        let embedder = sextant_embed::embedder::model_present(&models)
            .then(|| Embedder::load(&models).unwrap());
        let engine = Engine::open(&kb).unwrap().with_embedder(embedder);
        let n: usize = std::env::var("CALIBRATION_PASSAGES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300);
        let c = calibrate(&engine, n, 0.95).unwrap();
        println!("{}", calibration_table(&c));
        println!("{:?}", thresholds(&c));
        let set = load_adversarial(Path::new(ADVERSARIAL_SET)).unwrap();
        let r = run_adversarial(&set, engine.drug_names(), engine.embedder()).unwrap();
        println!("{}", adversarial_table(&r));
    }
}
