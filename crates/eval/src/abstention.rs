//! `sextant eval abstention`: calibrates [`sextant_answer::ABSTAIN_BELOW`],
//! the dense-evidence threshold under which Sextant says its sources do not
//! cover a question instead of answering.
//!
//! Covered questions: MedQuAD's CancerGov questions whose page is in the
//! 2025 corpus, and the lay rewrites of them. Uncovered questions: the
//! LiveQA consumer questions that are not about cancer (no cancer type
//! named, none of "cancer", "tumor", "chemo", "oncolog"), most of which the
//! cancer.gov corpus does not answer; some it partly does, so the abstain
//! rate on them is a floor, not a ceiling, of what a perfect rule would do.

use std::path::Path;

use serde::Serialize;
use sextant_answer::{compose, Engine, Retriever, Route, COMPOSE_PASSAGES};
use sextant_core::AnswerKind;

use crate::Result;

/// One question's evidence.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    pub set: &'static str,
    pub question: String,
    /// Dense evidence strength (cosine), when dense retrieval ran.
    pub strength: Option<f32>,
    /// The lexical evidence rule (question words found in the top passages)
    /// passed.
    pub lexical_ok: bool,
    /// The question names a cancer type (the threshold does not apply).
    pub names_type: bool,
}

/// Answer and abstain rates at one threshold.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub threshold: f32,
    /// Share of covered questions answered.
    pub covered_answered: f64,
    /// Share of uncovered questions abstained on.
    pub uncovered_abstained: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub covered: usize,
    pub uncovered: usize,
    /// Routed elsewhere (out of scope, unclear, dosing, emergency): not scored.
    pub routed_elsewhere: usize,
    pub curve: Vec<Point>,
    /// The threshold chosen: the highest at which neither covered set loses
    /// more than [`MAX_COVERED_LOSS`] of its answers.
    pub chosen: f32,
    /// The threshold in use.
    pub in_use: f32,
    /// Share answered at the threshold in use, per covered set.
    pub by_set: Vec<(String, usize, f64)>,
    pub scored: Vec<Scored>,
}

/// Each covered set may lose at most this share of its answers to the
/// threshold.
pub const MAX_COVERED_LOSS: f64 = 0.02;

/// Words that make a LiveQA question about cancer.
const CANCER_WORDS: &[&str] = &[
    "cancer",
    "tumor",
    "tumour",
    "chemo",
    "oncolog",
    "carcinoma",
    "lymphoma",
    "leukemia",
    "melanoma",
    "sarcoma",
];

fn score(engine: &Engine, set: &'static str, q: &str) -> Result<Option<Scored>> {
    let Ok(valid) = sextant_answer::analyze::validate(q) else {
        return Ok(None);
    };
    if !matches!(engine.route(&valid), Route::Question | Route::Ambiguous(_)) {
        return Ok(None);
    }
    let a = engine.analyze(&valid)?;
    let (hits, qvec) = engine.retrieve_with_query(&a, COMPOSE_PASSAGES, Retriever::Hybrid)?;
    let strength = engine.evidence_strength(&hits, qvec.as_deref());
    let lexical_ok = compose::compose(engine, &a, &hits, None)?.kind == AnswerKind::Answer;
    Ok(Some(Scored {
        set,
        question: valid,
        strength,
        lexical_ok,
        names_type: !a.cancer_types.is_empty(),
    }))
}

pub fn run(engine: &Engine, data: &Path, limit: Option<usize>) -> Result<Report> {
    let (items, _) = crate::medquad::load(&data.join("eval/medquad/1_CancerGov_QA"))?;
    let limit = limit.unwrap_or(usize::MAX);
    let mut covered_q: Vec<(&'static str, String)> =
        crate::retrieval::medquad_queries(engine, &items)
            .into_iter()
            .take(limit)
            .map(|q| ("medquad", q.question))
            .collect();
    let (lay, _) = crate::retrieval::lay_queries(engine, &items, crate::retrieval::LAY_QUESTIONS);
    covered_q.extend(lay.into_iter().take(limit).map(|q| ("lay", q.question)));
    let uncovered_q: Vec<String> = crate::retrieval::liveqa_messages(data)?
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| {
            let l = m.to_lowercase();
            sextant_core::cancer::detect(m, sextant_core::cancer::Matching::Exact).is_empty()
                && !CANCER_WORDS.iter().any(|w| l.contains(w))
        })
        .take(limit)
        .collect();
    let mut scored = Vec::new();
    let mut routed_elsewhere = 0;
    for (set, q) in covered_q.iter().map(|(s, q)| (*s, q.as_str())).chain(
        uncovered_q
            .iter()
            .map(|q| ("liveqa-non-cancer", q.as_str())),
    ) {
        match score(engine, set, q)? {
            Some(s) => scored.push(s),
            None => routed_elsewhere += 1,
        }
    }
    let is_covered = |s: &Scored| s.set != "liveqa-non-cancer";
    let covered = scored.iter().filter(|s| is_covered(s)).count();
    let uncovered = scored.len() - covered;
    let answered =
        |s: &Scored, t: f32| s.lexical_ok && (s.names_type || s.strength.is_none_or(|x| x >= t));
    let mut curve = Vec::new();
    for i in 0..=30 {
        let t = i as f32 * 0.02;
        let ca = scored
            .iter()
            .filter(|s| is_covered(s) && answered(s, t))
            .count();
        let ua = scored
            .iter()
            .filter(|s| !is_covered(s) && !answered(s, t))
            .count();
        curve.push(Point {
            threshold: t,
            covered_answered: ca as f64 / covered.max(1) as f64,
            uncovered_abstained: ua as f64 / uncovered.max(1) as f64,
        });
    }
    // The highest threshold at which no covered set loses more than
    // MAX_COVERED_LOSS of its answers compared with no threshold.
    let rate = |set: &str, t: f32| {
        let xs: Vec<&Scored> = scored.iter().filter(|s| s.set == set).collect();
        xs.iter().filter(|s| answered(s, t)).count() as f64 / xs.len().max(1) as f64
    };
    let chosen = curve
        .iter()
        .map(|p| p.threshold)
        .filter(|&t| {
            ["medquad", "lay"]
                .iter()
                .all(|set| rate(set, 0.0) - rate(set, t) <= MAX_COVERED_LOSS + 1e-9)
        })
        .fold(0.0, f32::max);
    let in_use = sextant_answer::ABSTAIN_BELOW;
    let by_set = ["medquad", "lay", "liveqa-non-cancer"]
        .iter()
        .map(|set| {
            let xs: Vec<&Scored> = scored.iter().filter(|s| s.set == *set).collect();
            let a = xs.iter().filter(|s| answered(s, in_use)).count();
            (set.to_string(), xs.len(), a as f64 / xs.len().max(1) as f64)
        })
        .collect();
    Ok(Report {
        by_set,
        covered,
        uncovered,
        routed_elsewhere,
        curve,
        chosen,
        in_use,
        scored,
    })
}

pub fn table(r: &Report) -> String {
    let mut o = format!(
        "Abstention calibration: {} covered questions (MedQuAD + lay), {} uncovered (LiveQA non-cancer); {} routed elsewhere\n\n",
        r.covered, r.uncovered, r.routed_elsewhere
    );
    o.push_str(&format!(
        "{:>10} {:>18} {:>20}\n",
        "threshold", "covered answered", "uncovered abstained"
    ));
    for p in &r.curve {
        let mark = if (p.threshold - r.in_use).abs() < 1e-6 {
            "  ← in use"
        } else if (p.threshold - r.chosen).abs() < 1e-6 {
            "  ← chosen"
        } else {
            ""
        };
        o.push_str(&format!(
            "{:>10.2} {:>18.3} {:>20.3}{mark}\n",
            p.threshold, p.covered_answered, p.uncovered_abstained
        ));
    }
    o.push_str("\nAnswered at the threshold in use:\n");
    for (set, n, share) in &r.by_set {
        o.push_str(&format!("  {set:<20} {share:.3} of {n}\n"));
    }
    o.push_str(&format!(
        "\nChosen: {:.2} (highest at which no covered set loses more than {:.0}% of its answers); in use: {:.2}\n",
        r.chosen,
        MAX_COVERED_LOSS * 100.0,
        r.in_use
    ));
    o
}
