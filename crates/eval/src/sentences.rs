//! The sentence model's data: candidate sentences written out for
//! reviewers to mark, and the model fitted on their marks
//! (`sextant eval answers --candidates FILE`, `--fit-sentences`).
//!
//! Reviewers who never saw the composer read each question with up to
//! [`PER_QUESTION`] of its candidate sentences and mark each `2` (a reader
//! who reads only this sentence gets the answer, or a main part of it),
//! `1` (on the topic, but does not answer) or `0` (off the topic, or wrong
//! for this asker). The marks are stored in `data/answers-sentences/` beside
//! the candidates they mark; fitting recomputes each marked sentence's
//! features with today's code, so the marks outlive feature changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sextant_answer::compose::candidate_features;
use sextant_answer::sentence_model::{feature, Features, Model};
use sextant_answer::{Engine, Retriever, COMPOSE_PASSAGES};
use sextant_core::{AnswerKind, Issue};

use crate::answers::Question;
use crate::{EvalError, Result};

/// Candidates shown per question.
pub const PER_QUESTION: usize = 12;

/// Where candidate files and marks live.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/answers-sentences")
}

/// A marked sentence with today's features: (question id, features, whether
/// it answers).
pub type Example = (String, Features, bool);

/// One candidate sentence of a question.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    /// 1-based number within its question.
    pub no: usize,
    pub sentence: String,
    pub features: Features,
}

/// Each answered question's candidates: the best by today's sentence model
/// among those that read on their own, then the best fitting the topic, to
/// `per_question` in all. Questions routed elsewhere (emergency, dosing...)
/// have none.
pub fn candidates(
    engine: &Engine,
    questions: &[Question],
    retriever: Retriever,
    per_question: usize,
) -> Result<HashMap<String, Vec<Candidate>>> {
    let model = Model::shipped();
    let alone = feature("stands_alone");
    let clause = feature("clause_overlap");
    let mut out = HashMap::new();
    for q in questions {
        if engine.route(&q.question).kind() != AnswerKind::Answer {
            continue;
        }
        let a = engine.analyze(&q.question)?;
        let hits = engine.retrieve(&a, COMPOSE_PASSAGES, retriever)?;
        let all = candidate_features(engine, &a, &hits)?;
        // The best by today's model, the most on the asking clause's words
        // (both among sentences that read on their own), then the best
        // fitting the topic: marks on all three teach the model.
        let standing: Vec<usize> = (0..all.len()).filter(|&i| all[i].1[alone] > 0.0).collect();
        let mut by_model = standing.clone();
        by_model.sort_by(|&x, &y| model.logit(&all[y].1).total_cmp(&model.logit(&all[x].1)));
        let mut by_clause = standing;
        by_clause.sort_by(|&x, &y| all[y].1[clause].total_cmp(&all[x].1[clause]));
        let mut chosen: Vec<usize> = Vec::new();
        let third = per_question.div_ceil(3);
        for (list, upto) in [
            (by_model, third),
            (by_clause, 2 * third),
            ((0..all.len()).collect(), per_question),
        ] {
            for i in list {
                if chosen.len() >= upto.min(per_question) {
                    break;
                }
                if !chosen.contains(&i) {
                    chosen.push(i);
                }
            }
        }
        let list = chosen
            .into_iter()
            .enumerate()
            .map(|(n, i)| Candidate {
                id: q.id.clone(),
                no: n + 1,
                sentence: all[i].0.clone(),
                features: all[i].1,
            })
            .collect();
        out.insert(q.id.clone(), list);
    }
    Ok(out)
}

/// The file reviewers read: each question, then its numbered candidates.
pub fn reviewer_file(questions: &[Question], cands: &HashMap<String, Vec<Candidate>>) -> String {
    let mut s = String::new();
    for q in questions {
        let Some(list) = cands.get(&q.id) else {
            continue;
        };
        s.push_str(&format!("===== {} =====\nQUESTION: {}\n", q.id, q.question));
        for c in list {
            s.push_str(&format!("  [{}] {}\n", c.no, c.sentence));
        }
        s.push('\n');
    }
    s
}

/// The candidates as stored TSV: `id, no, sentence`.
pub fn candidates_tsv(questions: &[Question], cands: &HashMap<String, Vec<Candidate>>) -> String {
    let mut s = String::from("id\tno\tsentence\n");
    for q in questions {
        for c in cands.get(&q.id).into_iter().flatten() {
            s.push_str(&format!(
                "{}\t{}\t{}\n",
                c.id,
                c.no,
                c.sentence.replace('\t', " ")
            ));
        }
    }
    s
}

/// A reviewer's mark of one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub id: String,
    pub sentence: String,
    /// 0, 1 or 2.
    pub mark: u8,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads marks (`id, no, mark` TSV with a header) against their candidates
/// file (`id, no, sentence`). Rows that name no candidate, or marks other
/// than 0, 1 and 2, are issues.
pub fn load_marks(candidates: &Path, marks: &Path) -> Result<(Vec<Mark>, Vec<Issue>)> {
    let mut by_key: HashMap<(String, String), String> = HashMap::new();
    for l in read(candidates)?.lines().skip(1) {
        let f: Vec<&str> = l.splitn(3, '\t').collect();
        if f.len() == 3 {
            by_key.insert((f[0].to_string(), f[1].to_string()), f[2].to_string());
        }
    }
    let mut out = Vec::new();
    let mut issues = Vec::new();
    for (i, l) in read(marks)?.lines().enumerate().skip(1) {
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = l.split('\t').map(str::trim).collect();
        let at = format!("{}:{}", marks.display(), i + 1);
        let mark = f
            .get(2)
            .and_then(|m| m.parse::<u8>().ok())
            .filter(|m| *m <= 2);
        match (f.first(), f.get(1), mark) {
            (Some(id), Some(no), Some(mark)) => {
                match by_key.get(&(id.to_string(), no.to_string())) {
                    Some(sentence) => out.push(Mark {
                        id: id.to_string(),
                        sentence: sentence.clone(),
                        mark,
                    }),
                    None => issues.push(Issue::new(at, "names no candidate")),
                }
            }
            _ => issues.push(Issue::new(at, "expected id, no and a mark of 0, 1 or 2")),
        }
    }
    Ok((out, issues))
}

/// Marked sentences with today's features: (question id, features, answers).
/// A sentence is an answer when marked 2. Marks whose sentence is no longer
/// a candidate of its question are counted, not used.
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
        let hits = engine.retrieve(&a, COMPOSE_PASSAGES, retriever)?;
        let feats: HashMap<String, Features> =
            candidate_features(engine, &a, &hits)?.into_iter().collect();
        for m in mine {
            match feats.get(&m.sentence) {
                Some(f) => out.push((q.id.clone(), *f, m.mark == 2)),
                None => lost += 1,
            }
        }
    }
    Ok((out, lost))
}

/// How well scores rank: the share of (answer, non-answer) pairs of the
/// same question in which the answer scores higher (a per-question AUC,
/// pooled). `scored`: (question id, score, answers).
fn ranked_right(scored: &[(&str, f32, bool)]) -> f64 {
    let (mut right, mut total) = (0usize, 0usize);
    for (id, yes_score, _) in scored.iter().filter(|s| s.2) {
        for (_, no_score, _) in scored.iter().filter(|s| !s.2 && s.0 == *id) {
            total += 1;
            right += usize::from(yes_score > no_score);
        }
    }
    if total == 0 {
        0.0
    } else {
        right as f64 / total as f64
    }
}

/// How well a model ranks the examples' answers above the non-answers of
/// the same question.
pub fn pairwise_accuracy(model: &Model, examples: &[Example]) -> f64 {
    let scored: Vec<(&str, f32, bool)> = examples
        .iter()
        .map(|(id, f, yes)| (id.as_str(), model.logit(f), *yes))
        .collect();
    ranked_right(&scored)
}

/// Fits the model on all examples, and reports how a model fitted on the
/// other folds ranks each fold's questions (5 folds by question). Features
/// in `leave_out` are not fitted (weight 0).
pub fn fit(examples: &[Example], leave_out: &[&str]) -> (Model, f64) {
    const FOLDS: usize = 5;
    let plain = |ex: &[&Example]| -> Vec<(Features, bool)> {
        ex.iter().map(|(_, f, y)| (*f, *y)).collect()
    };
    let mut ids: Vec<&String> = examples.iter().map(|e| &e.0).collect();
    ids.sort();
    ids.dedup();
    let fold_of = |id: &String| ids.iter().position(|x| *x == id).unwrap_or(0) % FOLDS;
    let mut scored: Vec<(&str, f32, bool)> = Vec::new();
    for k in 0..FOLDS {
        let train: Vec<&Example> = examples.iter().filter(|e| fold_of(&e.0) != k).collect();
        let m = Model::fit(&plain(&train), EPOCHS, L2, leave_out);
        for e in examples.iter().filter(|e| fold_of(&e.0) == k) {
            scored.push((e.0.as_str(), m.logit(&e.1), e.2));
        }
    }
    let all: Vec<&Example> = examples.iter().collect();
    (
        Model::fit(&plain(&all), EPOCHS, L2, leave_out),
        ranked_right(&scored),
    )
}

/// Gradient-descent epochs and L2 penalty of [`fit`].
pub const EPOCHS: usize = 2000;
pub const L2: f32 = 0.001;

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_answer::sentence_model::FEATURES;

    fn ex(id: &str, clause: f32, retrieval: f32, yes: bool) -> (String, Features, bool) {
        let mut f = [0.0; FEATURES.len()];
        f[0] = 1.0;
        f[feature("clause_overlap")] = clause;
        f[feature("retrieval")] = retrieval;
        (id.to_string(), f, yes)
    }

    #[test]
    fn marks_are_read_against_their_candidates() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c.tsv");
        let m = dir.path().join("m.tsv");
        std::fs::write(
            &c,
            "id\tno\tsentence\na1\t1\tCLL can often be controlled.\na1\t2\tTests are done.\n",
        )
        .unwrap();
        std::fs::write(&m, "id\tno\tmark\na1\t1\t2\na1\t2\t0\na1\t3\t1\na1\t2\t7\n").unwrap();
        let (marks, issues) = load_marks(&c, &m).unwrap();
        assert_eq!(
            marks,
            vec![
                Mark {
                    id: "a1".into(),
                    sentence: "CLL can often be controlled.".into(),
                    mark: 2
                },
                Mark {
                    id: "a1".into(),
                    sentence: "Tests are done.".into(),
                    mark: 0
                },
            ]
        );
        assert_eq!(issues.len(), 2, "{issues:?}");
    }

    #[test]
    fn fitting_ranks_answers_first_on_unseen_questions() {
        // Answers carry the asking clause's words; the retrieval score alone
        // favours the non-answers.
        let mut examples = Vec::new();
        for q in 0..30 {
            let id = format!("q{q}");
            let v = (q % 4) as f32 / 10.0;
            examples.push(ex(&id, 0.7 + v, 0.4, true));
            examples.push(ex(&id, 0.1, 0.9 - v, false));
            examples.push(ex(&id, 0.0, 0.8, false));
        }
        let retrieval_only = {
            let mut w = [0.0; FEATURES.len()];
            w[feature("retrieval")] = 1.0;
            Model { weights: w }
        };
        assert!(pairwise_accuracy(&retrieval_only, &examples) < 0.1);
        let (model, cv) = fit(&examples, &[]);
        assert!(cv > 0.95, "{cv}");
        assert!(pairwise_accuracy(&model, &examples) > 0.95);
    }
}
