//! Training and calibrating safety routing's learned layer
//! (`sextant eval safety --train`): logistic regression over the question's
//! MiniLM embedding, three classes (routine, urgent, emergency).
//!
//! - Trained on the development sets but `dev-e`, the training-only sets
//!   (`safety-train-*.tsv`), the answers dev set, and half of MedQuAD's
//!   CancerGov questions and of the lay questions as routine controls.
//! - Calibrated on what it did not train on: `dev-e`, `held-out` and the
//!   other halves. Each threshold is the lowest at which the layer alone
//!   escalates at most [`ALARM_BUDGET`] of the routine calibration questions
//!   that the rules leave alone, counted apart for the labeled sets' hard
//!   controls (emergency words, no emergency) and for ordinary questions.

use sextant_embed::Embedder;
use sextant_safety::{Classifier, Urgency};

use crate::safety::Row;
use crate::Result;

/// Most routine calibration questions the learned layer may escalate on its
/// own, per level and per group (hard controls, ordinary questions).
pub const ALARM_BUDGET: f64 = 0.01;
/// Gradient-descent epochs and L2 strength.
pub const EPOCHS: usize = 300;
pub const L2: f32 = 1e-4;

/// The class of a labeled row: its triage level.
pub fn class_of(expect: &str) -> usize {
    match expect {
        "emergency" => 2,
        "urgent" => 1,
        _ => 0,
    }
}

/// What training and calibration found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    pub train_examples: [usize; 3],
    pub calibration_examples: [usize; 3],
    pub emergency_at: f32,
    pub urgent_at: f32,
    /// On calibration rows the rules miss: emergencies the layer routes as
    /// emergency, and urgent-or-emergency rows it escalates.
    pub learned_emergency_recall: f64,
    pub learned_escalation_recall: f64,
    /// Routine calibration rows (hard controls) the layer alone escalates.
    pub learned_false_alarm: f64,
    /// Ordinary calibration questions it escalates.
    pub learned_false_alarm_ordinary: f64,
    pub rules_missed_in_calibration: [usize; 3],
}

/// The model's inputs for `(text, class)` pairs: each text's embedding
/// joined with the rules' features of it.
fn embed(embedder: &Embedder, items: &[(String, usize)]) -> Result<Vec<Vec<f32>>> {
    let texts: Vec<&str> = items.iter().map(|(t, _)| t.as_str()).collect();
    let flat = embedder.embed(&texts, &|_| {})?;
    let dim = flat.len() / texts.len().max(1);
    Ok(flat
        .chunks(dim.max(1))
        .zip(&texts)
        .map(|(v, t)| sextant_safety::input(v, t))
        .collect())
}

/// Trains on `train` and calibrates on `calibrate`.
pub fn train(
    embedder: &Embedder,
    train: &[(String, usize)],
    calibrate: &[(String, usize)],
    ordinary: &[String],
) -> Result<(Classifier, TrainReport)> {
    let xs = embed(embedder, train)?;
    let pairs: Vec<(&[f32], usize)> = xs
        .iter()
        .zip(train)
        .map(|(x, (_, y))| (x.as_slice(), *y))
        .collect();
    let mut model = Classifier::train(&pairs, EPOCHS, L2);
    // Calibration: only rows the rules leave alone matter to the layer.
    let cal: Vec<&(String, usize)> = calibrate
        .iter()
        .filter(|(t, _)| sextant_safety::emergency(t).is_none())
        .collect();
    let cal_items: Vec<(String, usize)> = cal.iter().map(|x| (*x).clone()).collect();
    let cx = embed(embedder, &cal_items)?;
    let scores: Vec<(sextant_safety::Scores, usize)> = cx
        .iter()
        .zip(&cal_items)
        .map(|(x, (_, y))| (model.scores(x), *y))
        .collect();
    let ordinary_items: Vec<(String, usize)> = ordinary
        .iter()
        .filter(|t| sextant_safety::emergency(t).is_none())
        .map(|t| (t.clone(), 0))
        .collect();
    let ox = embed(embedder, &ordinary_items)?;
    let hard: Vec<sextant_safety::Scores> =
        scores.iter().filter(|s| s.1 == 0).map(|s| s.0).collect();
    let easy: Vec<sextant_safety::Scores> = ox.iter().map(|x| model.scores(x)).collect();
    let lowest = |f: &dyn Fn(&sextant_safety::Scores) -> f32| {
        (30..100)
            .map(|t| t as f32 / 100.0)
            .find(|&t| {
                [&hard, &easy].iter().all(|group| {
                    let alarms = group.iter().filter(|s| f(s) >= t).count();
                    alarms as f64 <= ALARM_BUDGET * group.len() as f64
                })
            })
            .unwrap_or(0.99)
    };
    model.emergency_at = lowest(&|s| s.emergency);
    model.urgent_at = lowest(&|s| s.urgent + s.emergency).max(model.emergency_at.min(0.5));
    let share = |want: &dyn Fn(usize) -> bool, hit: &dyn Fn(Urgency) -> bool| {
        let rows: Vec<_> = scores.iter().filter(|s| want(s.1)).collect();
        rows.iter().filter(|s| hit(model.level(&s.0))).count() as f64 / rows.len().max(1) as f64
    };
    let count = |items: &[(String, usize)]| {
        let mut c = [0usize; 3];
        for (_, y) in items {
            c[*y] += 1;
        }
        c
    };
    let report = TrainReport {
        train_examples: count(train),
        calibration_examples: count(calibrate),
        emergency_at: model.emergency_at,
        urgent_at: model.urgent_at,
        learned_emergency_recall: share(&|y| y == 2, &|l| l == Urgency::Emergency),
        learned_escalation_recall: share(&|y| y >= 1, &|l| l != Urgency::Routine),
        learned_false_alarm: share(&|y| y == 0, &|l| l != Urgency::Routine),
        learned_false_alarm_ordinary: easy
            .iter()
            .filter(|s| model.level(s) != Urgency::Routine)
            .count() as f64
            / easy.len().max(1) as f64,
        rules_missed_in_calibration: count(&cal_items),
    };
    Ok((model, report))
}

/// Labeled rows as `(text, class)` pairs.
pub fn labeled(rows: &[Row]) -> Vec<(String, usize)> {
    rows.iter()
        .map(|r| (r.question.clone(), class_of(&r.expect)))
        .collect()
}
