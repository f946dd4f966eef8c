//! Training and calibrating safety routing's learned layer
//! (`sextant eval safety --train`): logistic regression over the question's
//! MiniLM embedding, three classes (routine, urgent, emergency).
//!
//! - Trained on the development sets but `dev-e`, the training-only sets
//!   (`safety-train-*.tsv`), the answers dev set, and half of MedQuAD's
//!   CancerGov questions and of the lay questions as routine controls.
//! - Calibrated on scores of rows it was not fitted on: out-of-fold scores
//!   ([`FOLDS`] folds) of every training row, and `dev-e`, `held-out` and
//!   the other halves. Each threshold is the lowest at which the layer alone
//!   escalates at most [`HARD_ALARM_BUDGET`] of the labeled sets' hard
//!   controls (emergency words, no emergency) and [`ORDINARY_ALARM_BUDGET`]
//!   of the ordinary questions, among rows the rules leave alone.

use sextant_embed::Embedder;
use sextant_safety::{Classifier, Urgency};

use crate::safety::Row;
use crate::Result;

/// Most of the hard controls (a routine message with emergency words) and
/// of the ordinary questions the learned layer may escalate on its own, on
/// scores of rows it was not fitted on. The curve `--train` reports showed,
/// on out-of-fold scores, 1% of hard controls buying 0.48 of the
/// emergencies the rules miss and 3% buying 0.73, with ordinary questions
/// under 0.1% either way; an unneeded call costs less than a missed one.
pub const HARD_ALARM_BUDGET: f64 = 0.03;
pub const ORDINARY_ALARM_BUDGET: f64 = 0.01;
/// The hard-control budget for the layer's urgent threshold.
pub const URGENT_ALARM_BUDGET: f64 = 0.01;
/// Most of the rules' urgent rows that are not emergencies the layer may
/// raise to an emergency, on out-of-fold scores. Over-triage from urgent to
/// emergency sends a person to the same 24-hour line sooner; under-triage
/// of an emergency can cost a life, so this budget is wider.
pub const RAISE_BUDGET: f64 = 0.10;
/// Most urgent rows the raise may over-triage per emergency it catches, on
/// out-of-fold scores; where no threshold does that well, it never raises.
/// (The first raise, calibrated on the budget alone, caught 1 of 2 such
/// emergencies for 13 over-triaged, and on the unseen sets `held-out-6` and
/// `held-out-7` caught none and over-triaged 3 urgent rows.)
pub const RAISE_RATIO: usize = 3;
/// Folds for the out-of-fold scores that calibrate the raise.
pub const FOLDS: usize = 5;
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
    /// P(emergency) at which the layer raises the rules' urgent reading.
    pub raise_at: f32,
    /// Rows the rules read as urgent (out-of-fold and calibration), by
    /// class, and how many of each the raise makes emergencies.
    pub rules_urgent: [usize; 3],
    pub raised: [usize; 3],
    /// For P(emergency) thresholds 0.30, 0.35 … 0.95: the share of the
    /// emergencies the rules miss that the layer catches, and the shares
    /// of hard controls and of ordinary questions it escalates.
    pub emergency_curve: Vec<(f32, f64, f64, f64)>,
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

/// Trains on `train` and calibrates on out-of-fold scores of the training
/// rows together with `calibrate` and `ordinary` (never trained on).
/// `ordinary_train` names the training rows that are ordinary questions
/// (the easy controls), as opposed to the labeled sets' hard ones.
pub fn train(
    embedder: &Embedder,
    train: &[(String, usize)],
    calibrate: &[(String, usize)],
    ordinary: &[String],
    ordinary_train: &[String],
) -> Result<(Classifier, TrainReport)> {
    let xs = embed(embedder, train)?;
    let pairs: Vec<(&[f32], usize)> = xs
        .iter()
        .zip(train)
        .map(|(x, (_, y))| (x.as_slice(), *y))
        .collect();
    let mut model = Classifier::train(&pairs, EPOCHS, L2);
    // Out-of-fold scores of every training row: a threshold set on ~4,000
    // rows instead of ~200 moves less from one training run to the next.
    let mut oof: Vec<Option<sextant_safety::Scores>> = vec![None; train.len()];
    for (fold, fit) in fold_fits(&pairs) {
        let m = Classifier::train(&fit, EPOCHS, L2);
        for (i, x) in xs.iter().enumerate() {
            if i % FOLDS == fold {
                oof[i] = Some(m.scores(x));
            }
        }
    }
    let oof: Vec<sextant_safety::Scores> = oof.into_iter().flatten().collect();
    let ordinary_set: std::collections::HashSet<&str> =
        ordinary_train.iter().map(String::as_str).collect();
    // Calibration: only rows the rules leave alone matter to the layer.
    let cal_items: Vec<(String, usize)> = calibrate
        .iter()
        .filter(|(t, _)| sextant_safety::emergency(t).is_none())
        .cloned()
        .collect();
    let cx = embed(embedder, &cal_items)?;
    let mut scores: Vec<(sextant_safety::Scores, usize)> = cx
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
    let mut easy: Vec<sextant_safety::Scores> = ox.iter().map(|x| model.scores(x)).collect();
    for ((text, y), s) in train.iter().zip(&oof) {
        if sextant_safety::emergency(text).is_some() {
            continue;
        }
        if ordinary_set.contains(text.as_str()) {
            easy.push(*s);
        } else {
            scores.push((*s, *y));
        }
    }
    let hard: Vec<sextant_safety::Scores> =
        scores.iter().filter(|s| s.1 == 0).map(|s| s.0).collect();
    let lowest = |f: &dyn Fn(&sextant_safety::Scores) -> f32, hard_budget: f64| {
        (30..100)
            .map(|t| t as f32 / 100.0)
            .find(|&t| {
                [(&hard, hard_budget), (&easy, ORDINARY_ALARM_BUDGET)]
                    .iter()
                    .all(|(group, budget)| {
                        let alarms = group.iter().filter(|s| f(s) >= t).count();
                        alarms as f64 <= budget * group.len() as f64
                    })
            })
            .unwrap_or(0.99)
    };
    // The raise: out-of-fold scores of the training rows the rules read as
    // urgent, with the calibration rows they read so.
    let mut urgent_rows: Vec<(f32, usize)> = train
        .iter()
        .zip(&oof)
        .filter(|((text, _), _)| rules_urgent(text))
        .map(|((_, y), s)| (s.emergency, *y))
        .collect();
    let cal_urgent: Vec<(String, usize)> = calibrate
        .iter()
        .filter(|(t, _)| rules_urgent(t))
        .cloned()
        .collect();
    for (x, (_, y)) in embed(embedder, &cal_urgent)?.iter().zip(&cal_urgent) {
        urgent_rows.push((model.scores(x).emergency, *y));
    }
    let others = urgent_rows.iter().filter(|r| r.1 != 2).count();
    model.raise_at = (30..100)
        .map(|t| t as f32 / 100.0)
        .find(|&t| {
            let over = urgent_rows.iter().filter(|r| r.1 != 2 && r.0 >= t).count();
            let caught = urgent_rows.iter().filter(|r| r.1 == 2 && r.0 >= t).count();
            caught > 0
                && over as f64 <= RAISE_BUDGET * others as f64
                && over <= RAISE_RATIO * caught
        })
        .unwrap_or(f32::INFINITY);
    let mut rules_urgent_count = [0usize; 3];
    let mut raised = [0usize; 3];
    for (p, y) in &urgent_rows {
        rules_urgent_count[*y] += 1;
        raised[*y] += usize::from(*p >= model.raise_at);
    }
    let share = |rows: &[&sextant_safety::Scores], t: f32| {
        rows.iter().filter(|s| s.emergency >= t).count() as f64 / rows.len().max(1) as f64
    };
    let missed: Vec<&sextant_safety::Scores> =
        scores.iter().filter(|s| s.1 == 2).map(|s| &s.0).collect();
    let hard_refs: Vec<&sextant_safety::Scores> = hard.iter().collect();
    let easy_refs: Vec<&sextant_safety::Scores> = easy.iter().collect();
    let emergency_curve = (6..20)
        .map(|k| {
            let t = k as f32 * 0.05;
            (
                t,
                share(&missed, t),
                share(&hard_refs, t),
                share(&easy_refs, t),
            )
        })
        .collect();
    model.emergency_at = lowest(&|s| s.emergency, HARD_ALARM_BUDGET);
    // An urgent route adds a banner to an answer that would have helped
    // anyway: the layer's urgent threshold keeps the narrow budget.
    model.urgent_at =
        lowest(&|s| s.urgent + s.emergency, URGENT_ALARM_BUDGET).max(model.emergency_at.min(0.5));
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
        rules_missed_in_calibration: {
            let mut c = [0usize; 3];
            for (_, y) in &scores {
                c[*y] += 1;
            }
            c
        },
        raise_at: model.raise_at,
        rules_urgent: rules_urgent_count,
        raised,
        emergency_curve,
    };
    Ok((model, report))
}

/// Each fold's number and its training rows: all but those whose index is
/// the fold modulo [`FOLDS`].
fn fold_fits<T: Copy>(pairs: &[T]) -> impl Iterator<Item = (usize, Vec<T>)> + '_ {
    (0..FOLDS).map(move |fold| {
        let fit = pairs
            .iter()
            .enumerate()
            .filter(|(i, _)| i % FOLDS != fold)
            .map(|(_, p)| *p)
            .collect();
        (fold, fit)
    })
}

/// Do the rules read the message as an urgent situation (one the layer may
/// raise)?
fn rules_urgent(text: &str) -> bool {
    sextant_safety::emergency(text).is_some_and(|e| {
        e.level == Urgency::Urgent
            && e.situation.level == Urgency::Urgent
            && !e.situation.firm_level
    })
}

/// Labeled rows as `(text, class)` pairs.
pub fn labeled(rows: &[Row]) -> Vec<(String, usize)> {
    rows.iter()
        .map(|r| (r.question.clone(), class_of(&r.expect)))
        .collect()
}

/// Most of the off-topic rows the scope rules call out of scope that the
/// gate may keep in scope, on out-of-fold scores. Keeping an off-topic
/// message costs an answer that says the sources do not cover it; refusing
/// a health message can turn away someone in trouble.
pub const GATE_BUDGET: f64 = 0.05;

/// What training the scope gate found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GateReport {
    /// Off-topic and health examples.
    pub examples: [usize; 2],
    pub health_at: f32,
    /// Out-of-fold, among rows the scope rules call out of scope: off-topic
    /// rows and health rows, and how many of each the gate keeps in scope.
    pub rules_out_of_scope: [usize; 2],
    pub kept: [usize; 2],
}

/// Trains the scope gate on `(text, about health)` pairs and calibrates
/// its threshold on out-of-fold scores.
pub fn train_gate(
    embedder: &Embedder,
    items: &[(String, bool)],
) -> Result<(sextant_safety::ScopeGate, GateReport)> {
    use sextant_safety::ScopeGate;
    let labeled: Vec<(String, usize)> = items
        .iter()
        .map(|(t, y)| (t.clone(), usize::from(*y)))
        .collect();
    let xs = embed(embedder, &labeled)?;
    let pairs: Vec<(&[f32], bool)> = xs
        .iter()
        .zip(items)
        .map(|(x, (_, y))| (x.as_slice(), *y))
        .collect();
    let mut gate = ScopeGate::train(&pairs, EPOCHS, L2);
    let mut oof: Vec<(f32, bool)> = Vec::new();
    for (fold, fit) in fold_fits(&pairs) {
        let g = ScopeGate::train(&fit, EPOCHS, L2);
        for (i, ((text, y), x)) in items.iter().zip(&xs).enumerate() {
            if i % FOLDS == fold && sextant_safety::out_of_scope(text, &[]) {
                oof.push((g.health(x), *y));
            }
        }
    }
    let off_topic = oof.iter().filter(|r| !r.1).count();
    gate.health_at = (30..100)
        .map(|t| t as f32 / 100.0)
        .find(|&t| {
            let kept = oof.iter().filter(|r| !r.1 && r.0 >= t).count();
            kept as f64 <= GATE_BUDGET * off_topic as f64
        })
        .unwrap_or(1.0);
    let mut rules = [0usize; 2];
    let mut kept = [0usize; 2];
    for (p, y) in &oof {
        rules[usize::from(*y)] += 1;
        kept[usize::from(*y)] += usize::from(*p >= gate.health_at);
    }
    let health = items.iter().filter(|i| i.1).count();
    let report = GateReport {
        examples: [items.len() - health, health],
        health_at: gate.health_at,
        rules_out_of_scope: rules,
        kept,
    };
    Ok((gate, report))
}
