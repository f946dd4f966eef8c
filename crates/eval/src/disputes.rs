//! The belief check's data: (premise, sentence) pairs written out for
//! reviewers to mark, and the check measured against their marks, beside
//! a logistic regression over all the pairs' features fitted on them
//! (`sextant eval answers --dispute-pairs FILE`, `--disputes`).
//!
//! Reviewers who never saw the code read each question, the premise taken
//! from it and up to [`PER_PREMISE`] source sentences, and mark each `2`
//! (a reader would see that the premise is wrong, or wrong as stated), `1`
//! (related, or qualifies it in passing) or `0` (does not dispute it, or
//! agrees). The marks are stored in `data/answers-disputes/` beside the
//! pairs they mark; fitting recomputes each pair's features with today's
//! code, so the marks outlive feature changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sextant_answer::belief::{pair_feature as feature, pairs, Meaning, PairFeatures as Features};
use sextant_answer::{logistic, Engine, Retriever};
use sextant_core::AnswerKind;

use crate::answers::Question;
use crate::sentences::Mark;
use crate::Result;

/// Sentences shown per premise: the closest in meaning, then the most on
/// its words.
pub const PER_PREMISE: usize = 5;

/// Where pair files and marks live.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/answers-disputes")
}

/// One pair shown to reviewers.
#[derive(Debug, Clone)]
pub struct Shown {
    pub id: String,
    /// 1-based number within its question.
    pub no: usize,
    pub premise: String,
    pub sentence: String,
}

/// Each question's pairs to mark: per premise, the sentences closest to it
/// in meaning and those most on its words, [`PER_PREMISE`] in all.
pub fn shown(engine: &Engine, questions: &[Question], retriever: Retriever) -> Result<Vec<Shown>> {
    let (sem, share) = (feature("semantic"), feature("share"));
    let mut out = Vec::new();
    for q in questions {
        if engine.route(&q.question).kind() != AnswerKind::Answer {
            continue;
        }
        let a = engine.analyze(&q.question)?;
        let all = pairs(engine, &a, retriever, Meaning::Corpus)?;
        let mut premises: Vec<&str> = all.iter().map(|p| p.premise.as_str()).collect();
        premises.dedup();
        let mut no = 0;
        for premise in premises {
            let mine: Vec<usize> = (0..all.len())
                .filter(|&i| all[i].premise == premise)
                .collect();
            let mut by_meaning = mine.clone();
            by_meaning.sort_by(|&x, &y| all[y].features[sem].total_cmp(&all[x].features[sem]));
            let mut by_words = mine;
            by_words.sort_by(|&x, &y| all[y].features[share].total_cmp(&all[x].features[share]));
            let mut chosen: Vec<&str> = Vec::new();
            let meaning_first = PER_PREMISE.div_ceil(2) + 1;
            for (list, upto) in [(by_meaning, meaning_first), (by_words, PER_PREMISE)] {
                for i in list {
                    if chosen.len() >= upto {
                        break;
                    }
                    if !chosen.contains(&all[i].text.as_str()) {
                        chosen.push(&all[i].text);
                    }
                }
            }
            for s in chosen {
                no += 1;
                out.push(Shown {
                    id: q.id.clone(),
                    no,
                    premise: premise.to_string(),
                    sentence: s.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// The file reviewers read: each question, then its premises' numbered
/// sentences.
pub fn reviewer_file(questions: &[Question], shown: &[Shown]) -> String {
    let mut s = String::new();
    for q in questions {
        let mine: Vec<&Shown> = shown.iter().filter(|x| x.id == q.id).collect();
        if mine.is_empty() {
            continue;
        }
        s.push_str(&format!("===== {} =====\nQUESTION: {}\n", q.id, q.question));
        let mut last = "";
        for x in mine {
            if x.premise != last {
                s.push_str(&format!("PREMISE: {}\n", x.premise));
                last = &x.premise;
            }
            s.push_str(&format!("  [{}] {}\n", x.no, x.sentence));
        }
        s.push('\n');
    }
    s
}

/// The pairs as stored TSV: `id, no, premise, sentence`.
pub fn shown_tsv(shown: &[Shown]) -> String {
    let mut s = String::from("id\tno\tpremise\tsentence\n");
    for x in shown {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            x.id,
            x.no,
            x.premise.replace('\t', " "),
            x.sentence.replace('\t', " ")
        ));
    }
    s
}

/// A marked pair with today's features.
#[derive(Debug, Clone)]
pub struct Example {
    /// The question's id.
    pub id: String,
    pub features: Features,
    /// Marked a dispute (2).
    pub disputes: bool,
    /// How well it fits its premise ([`sextant_answer::belief::Pair::fit`])
    /// when the check's rule would quote it
    /// ([`sextant_answer::belief::Pair::disputes`]).
    pub quoted: Option<f32>,
}

/// Marked pairs with today's features. Marks are read with
/// [`crate::sentences::load_marks`] against a pairs file, so each mark's
/// "sentence" is `premise<TAB>sentence`. A pair is a dispute when marked 2.
/// Marks whose pair is no longer found are counted, not used.
pub fn examples(
    engine: &Engine,
    questions: &[Question],
    marks: &[Mark],
    retriever: Retriever,
) -> Result<(Vec<Example>, usize)> {
    let mut out = Vec::new();
    let mut lost = 0;
    for q in questions {
        let mine: Vec<&Mark> = marks.iter().filter(|m| m.id == q.id).collect();
        if mine.is_empty() {
            continue;
        }
        let a = engine.analyze(&q.question)?;
        let found: HashMap<(String, String), (Features, Option<f32>)> =
            pairs(engine, &a, retriever, Meaning::Corpus)?
                .into_iter()
                .map(|p| {
                    let quoted = p.disputes().then(|| p.fit());
                    ((p.premise, p.text), (p.features, quoted))
                })
                .collect();
        for m in mine {
            let (premise, sentence) = m.sentence.split_once('\t').unwrap_or(("", &m.sentence));
            match found.get(&(premise.to_string(), sentence.to_string())) {
                Some((f, quoted)) => out.push(Example {
                    id: q.id.clone(),
                    features: *f,
                    disputes: m.mark == 2,
                    quoted: *quoted,
                }),
                None => lost += 1,
            }
        }
    }
    Ok((out, lost))
}

/// How the model's choices fare: the ranking of disputes above
/// non-disputes (AUC, pooled), and at a threshold, per question, whether
/// the pair it would quote is a dispute.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held {
    pub auc: f64,
    /// Questions with a pair marked a dispute.
    pub disputable: usize,
    /// Questions where the model quotes a pair marked a dispute.
    pub right: usize,
    /// Questions where the model quotes a pair not marked a dispute.
    pub wrong: usize,
}

/// Pairs scored by a model: (question id, probability, disputes).
pub type Scored = Vec<(String, f32, bool)>;

fn auc(scored: &[(f32, bool)]) -> f64 {
    let (mut right, mut total) = (0f64, 0usize);
    for (y, _) in scored.iter().filter(|s| s.1) {
        for (n, _) in scored.iter().filter(|s| !s.1) {
            total += 1;
            right += if y > n {
                1.0
            } else if y == n {
                0.5
            } else {
                0.0
            };
        }
    }
    if total == 0 {
        0.0
    } else {
        right / total as f64
    }
}

/// How scored pairs fare at `threshold`.
pub fn held(scored: &Scored, threshold: f32) -> Held {
    let mut ids: Vec<&str> = scored.iter().map(|s| s.0.as_str()).collect();
    ids.sort();
    ids.dedup();
    let mut h = Held {
        auc: auc(&scored.iter().map(|s| (s.1, s.2)).collect::<Vec<_>>()),
        ..Held::default()
    };
    for id in ids {
        let mine: Vec<&(String, f32, bool)> = scored.iter().filter(|s| s.0 == id).collect();
        h.disputable += usize::from(mine.iter().any(|s| s.2));
        if let Some(best) = mine
            .iter()
            .filter(|s| s.1 >= threshold)
            .max_by(|x, y| x.1.total_cmp(&y.1))
        {
            if best.2 {
                h.right += 1;
            } else {
                h.wrong += 1;
            }
        }
    }
    h
}

/// How the check fares: per question, whether the pair it would quote
/// (the best fitting among those its rule quotes) is a dispute.
pub fn check(examples: &[Example]) -> Held {
    // Quoted pairs score above 1, by their fit; the rest 0.
    let scored: Scored = examples
        .iter()
        .map(|e| (e.id.clone(), e.quoted.map_or(0.0, |f| 2.0 + f), e.disputes))
        .collect();
    held(&scored, 1.0)
}

/// Weights of a logistic regression over [`Features`].
pub type Weights = Vec<f32>;

fn fit_weights(examples: &[&Example], leave_out: &[&str]) -> Weights {
    let fitted: Vec<bool> = sextant_answer::belief::PAIR_FEATURES
        .iter()
        .map(|f| !leave_out.contains(f))
        .collect();
    let ex: Vec<(&[f32], bool)> = examples
        .iter()
        .map(|e| (&e.features[..], e.disputes))
        .collect();
    logistic::fit(&ex, &fitted, EPOCHS, L2)
}

/// For every quoted sentence that does not dispute, this many must.
pub const RIGHT_PER_WRONG: usize = 3;

/// The lowest threshold at which, on `scored`, at least
/// [`RIGHT_PER_WRONG`] quoted sentences dispute for each one that does not
/// (precision 0.75 or better), and the most questions get one that does;
/// `None` when no threshold is that precise.
pub fn choose_threshold(scored: &Scored) -> Option<f32> {
    let mut best: Option<(usize, f32)> = None;
    for k in 0..200 {
        let t = 0.5 + 0.0025 * k as f32;
        let h = held(scored, t);
        if h.right > 0 && h.right >= RIGHT_PER_WRONG * h.wrong && best.is_none_or(|b| h.right > b.0)
        {
            best = Some((h.right, t));
        }
    }
    best.map(|b| b.1)
}

/// A logistic regression over every pair feature, scored on questions it
/// was not fitted on (5 folds by question): what a learned check would do.
/// Features in `leave_out` are not fitted.
pub fn learned(examples: &[Example], leave_out: &[&str]) -> Scored {
    const FOLDS: usize = 5;
    let mut ids: Vec<&String> = examples.iter().map(|e| &e.id).collect();
    ids.sort();
    ids.dedup();
    let fold_of = |id: &String| ids.iter().position(|x| *x == id).unwrap_or(0) % FOLDS;
    let mut scored: Scored = Vec::new();
    for k in 0..FOLDS {
        let train: Vec<&Example> = examples.iter().filter(|e| fold_of(&e.id) != k).collect();
        let w = fit_weights(&train, leave_out);
        for e in examples.iter().filter(|e| fold_of(&e.id) == k) {
            let p = logistic::probability(logistic::logit(&w, &e.features));
            scored.push((e.id.clone(), p, e.disputes));
        }
    }
    scored
}

/// Gradient-descent epochs and L2 penalty of [`learned`].
pub const EPOCHS: usize = 3000;
pub const L2: f32 = 0.003;

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_answer::belief::PAIR_FEATURES;

    fn ex(id: &str, semantic: f32, polarity: f32, yes: bool) -> Example {
        let mut f = [0.0; PAIR_FEATURES.len()];
        f[0] = 1.0;
        f[feature("semantic")] = semantic;
        f[feature("polarity")] = polarity;
        Example {
            id: id.to_string(),
            features: f,
            disputes: yes,
            quoted: (polarity > 0.0).then_some(semantic),
        }
    }

    #[test]
    fn learned_and_rule_are_measured_on_unseen_questions() {
        // A dispute is very close in meaning and of the other polarity;
        // closeness alone, or polarity alone, is not one.
        let mut examples = Vec::new();
        for i in 0..30 {
            let id = format!("q{i}");
            let s = 0.5 + (i % 5) as f32 * 0.05;
            examples.push(ex(&id, s + 0.2, 1.0, i % 5 >= 2));
            examples.push(ex(&id, s + 0.2, 0.0, false));
            examples.push(ex(&id, s - 0.3, 1.0, false));
        }
        let cv = learned(&examples, &[]);
        let t = choose_threshold(&cv).expect("a precise threshold");
        let h = held(&cv, t);
        assert!(h.auc > 0.8, "{h:?}");
        assert!(h.right >= RIGHT_PER_WRONG * h.wrong && h.right > 0, "{h:?}");
        assert_eq!(h.disputable, 18);
        // The check quotes the closest of the opposite sentences of every
        // question: right on the 18 that are disputes, wrong on the other 12.
        let r = check(&examples);
        assert_eq!((r.right, r.wrong, r.disputable), (18, 12, 18));
        // Without the embedding features the regression cannot tell closeness.
        let lex = learned(&examples, &sextant_answer::belief::SEMANTIC);
        assert!(held(&lex, 0.5).auc < h.auc);
    }

    #[test]
    fn auc_counts_ties_as_half() {
        assert_eq!(auc(&[(0.9, true), (0.1, false)]), 1.0);
        assert_eq!(auc(&[(0.5, true), (0.5, false)]), 0.5);
        assert_eq!(auc(&[(0.1, true), (0.9, false)]), 0.0);
    }
}
