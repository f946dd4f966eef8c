//! The learned layer: multinomial logistic regression over the question's
//! sentence embedding (all-MiniLM-L6-v2, 384 floats, unit length) joined
//! with the rules' reading of it ([`crate::features`]: reported or asked,
//! now or past, hypothetical, negated), with three classes, the triage
//! levels. It catches paraphrases and situations
//! no rule names; the rules keep what they name. Trained and calibrated by
//! `sextant eval safety --train` (deterministic full-batch gradient
//! descent), stored as data in `data/classifier.tsv`.

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::lexicon::rows;
use sextant_core::Urgency;

const WEIGHTS: &str = include_str!("../data/classifier.tsv");

/// The row holding [`Classifier::raise_at`].
const RAISE: &str = "raise";

/// The classes, in the order of the weights' rows.
pub const CLASSES: [Urgency; 3] = [Urgency::Routine, Urgency::Urgent, Urgency::Emergency];

/// Probabilities of each level, summing to 1.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    pub routine: f32,
    pub urgent: f32,
    pub emergency: f32,
}

/// Weights and the calibrated thresholds.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// One row of `dim` weights per class, then one bias per class.
    weights: Vec<Vec<f32>>,
    bias: Vec<f32>,
    /// P(emergency) at or above this routes as an emergency.
    pub emergency_at: f32,
    /// P(urgent) + P(emergency) at or above this routes as urgent.
    pub urgent_at: f32,
    /// P(emergency) at or above this raises a message the rules read as
    /// urgent to an emergency (above 1: never). Calibrated on out-of-fold
    /// scores, since the rules' urgent rows are mostly training rows.
    pub raise_at: f32,
}

impl Classifier {
    /// The classifier shipped in `data/classifier.tsv`, if it has weights.
    pub fn shipped() -> Option<&'static Classifier> {
        static C: OnceLock<Option<Classifier>> = OnceLock::new();
        C.get_or_init(|| Classifier::parse(WEIGHTS).ok()).as_ref()
    }

    /// Reads the TSV: `class<TAB>threshold<TAB>bias<TAB>w0<TAB>w1…`, one
    /// row per class, then an optional `raise<TAB>threshold` row.
    pub fn parse(text: &'static str) -> Result<Classifier, String> {
        let mut weights = Vec::new();
        let mut bias = Vec::new();
        let mut thresholds = Vec::new();
        let mut raise_at = f32::INFINITY;
        for (i, r) in rows(text, "class\tthreshold\tbias\tweights").enumerate() {
            if r.first() == Some(&RAISE) {
                raise_at = r
                    .get(1)
                    .ok_or("raise: no threshold")?
                    .parse::<f32>()
                    .map_err(|e| format!("raise: {e}"))?;
                continue;
            }
            let want = CLASSES.get(i).ok_or("more than three classes")?;
            if r.first() != Some(&want.as_str()) || r.len() < 4 {
                return Err(format!("row {i}: expected class {}", want.as_str()));
            }
            let num = |s: &str| s.parse::<f32>().map_err(|e| format!("row {i}: {e}"));
            thresholds.push(num(r[1])?);
            bias.push(num(r[2])?);
            weights.push(
                r[3..]
                    .iter()
                    .map(|s| num(s))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        if weights.len() != 3 || weights.iter().any(|w| w.len() != weights[0].len()) {
            return Err("expected three rows of equal length".into());
        }
        Ok(Classifier {
            weights,
            bias,
            emergency_at: thresholds[2],
            urgent_at: thresholds[1],
            raise_at,
        })
    }

    /// The input size the weights expect.
    pub fn dim(&self) -> usize {
        self.weights[0].len()
    }

    /// The model's input: the embedding, then the rules' features.
    pub fn input(&self, embedding: &[f32], message: &str) -> Vec<f32> {
        input(embedding, message)
    }

    /// The levels' probabilities for one embedding (of the expected size;
    /// a different size scores as routine).
    pub fn scores(&self, x: &[f32]) -> Scores {
        if x.len() != self.dim() {
            return Scores {
                routine: 1.0,
                urgent: 0.0,
                emergency: 0.0,
            };
        }
        let logits: Vec<f32> = self
            .weights
            .iter()
            .zip(&self.bias)
            .map(|(w, b)| b + w.iter().zip(x).map(|(a, b)| a * b).sum::<f32>())
            .collect();
        let p = softmax(&logits);
        Scores {
            routine: p[0],
            urgent: p[1],
            emergency: p[2],
        }
    }

    /// The level the scores reach, by the calibrated thresholds.
    pub fn level(&self, s: &Scores) -> Urgency {
        if s.emergency >= self.emergency_at {
            Urgency::Emergency
        } else if s.urgent + s.emergency >= self.urgent_at {
            Urgency::Urgent
        } else {
            Urgency::Routine
        }
    }

    /// Should a message the rules read as urgent be raised to an emergency?
    pub fn raises(&self, s: &Scores) -> bool {
        s.emergency >= self.raise_at
    }

    /// Trains on `(embedding, class index)` pairs: full-batch gradient
    /// descent on the L2-regularized cross-entropy, classes weighted to
    /// count equally. Deterministic: same data, same weights.
    pub fn train(examples: &[(&[f32], usize)], epochs: usize, l2: f32) -> Classifier {
        let dim = examples.first().map_or(0, |e| e.0.len());
        let k = CLASSES.len();
        let mut counts = vec![0usize; k];
        for (_, y) in examples {
            counts[*y] += 1;
        }
        let n = examples.len().max(1) as f32;
        let class_weight: Vec<f32> = counts
            .iter()
            .map(|&c| {
                if c == 0 {
                    0.0
                } else {
                    n / (k as f32 * c as f32)
                }
            })
            .collect();
        let mut w = vec![vec![0f32; dim]; k];
        let mut b = vec![0f32; k];
        let lr = 2.0;
        for _ in 0..epochs {
            let mut gw = vec![vec![0f32; dim]; k];
            let mut gb = vec![0f32; k];
            for (x, y) in examples {
                let logits: Vec<f32> = (0..k)
                    .map(|c| b[c] + w[c].iter().zip(*x).map(|(a, b)| a * b).sum::<f32>())
                    .collect();
                let p = softmax(&logits);
                let cw = class_weight[*y];
                for c in 0..k {
                    let g = cw * (p[c] - f32::from(u8::from(c == *y)));
                    gb[c] += g;
                    for (gi, xi) in gw[c].iter_mut().zip(*x) {
                        *gi += g * xi;
                    }
                }
            }
            for c in 0..k {
                b[c] -= lr * gb[c] / n;
                for (wi, gi) in w[c].iter_mut().zip(&gw[c]) {
                    *wi -= lr * (gi / n + l2 * *wi);
                }
            }
        }
        Classifier {
            weights: w,
            bias: b,
            emergency_at: 0.5,
            urgent_at: 0.5,
            raise_at: f32::INFINITY,
        }
    }

    /// The TSV `parse` reads.
    pub fn to_tsv(&self, header_comment: &str) -> String {
        let mut o = String::new();
        for line in header_comment.lines() {
            let _ = writeln!(o, "# {line}");
        }
        o.push_str("class\tthreshold\tbias\tweights\n");
        let thresholds = [0.0, self.urgent_at, self.emergency_at];
        for (c, level) in CLASSES.iter().enumerate() {
            let _ = write!(o, "{}\t{}\t{}", level.as_str(), thresholds[c], self.bias[c]);
            for v in &self.weights[c] {
                let _ = write!(o, "\t{v}");
            }
            o.push('\n');
        }
        if self.raise_at.is_finite() {
            let _ = writeln!(o, "{RAISE}\t{}", self.raise_at);
        }
        o
    }
}

/// The embedding joined with the rules' features of the message.
pub fn input(embedding: &[f32], message: &str) -> Vec<f32> {
    let mut x = embedding.to_vec();
    x.extend(crate::rules::features(message));
    x
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = logits.iter().map(|l| (l - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three separable clusters: training finds them, twice the same.
    #[test]
    fn training_separates_and_is_deterministic() {
        let mut data = Vec::new();
        for i in 0..60 {
            let class = i % 3;
            let mut x = vec![0.05 * ((i * 7 % 5) as f32 - 2.0); 4];
            x[class] += 1.0;
            data.push((x, class));
        }
        let pairs: Vec<(&[f32], usize)> = data.iter().map(|(x, y)| (x.as_slice(), *y)).collect();
        let a = Classifier::train(&pairs, 200, 1e-4);
        let b = Classifier::train(&pairs, 200, 1e-4);
        assert_eq!(a.to_tsv(""), b.to_tsv(""));
        for (x, y) in &data {
            let s = a.scores(x);
            let p = [s.routine, s.urgent, s.emergency];
            let best = (0..3).max_by(|&i, &j| p[i].total_cmp(&p[j])).unwrap();
            assert_eq!(best, *y, "{x:?} {p:?}");
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn what_it_writes_it_reads() {
        let pairs: Vec<(Vec<f32>, usize)> = (0..9).map(|i| (vec![i as f32, 1.0], i % 3)).collect();
        let refs: Vec<(&[f32], usize)> = pairs.iter().map(|(x, y)| (x.as_slice(), *y)).collect();
        let mut c = Classifier::train(&refs, 10, 0.0);
        c.emergency_at = 0.7;
        c.urgent_at = 0.9;
        c.raise_at = 0.6;
        let text: &'static str = Box::leak(c.to_tsv("a comment").into_boxed_str());
        let back = Classifier::parse(text).unwrap();
        assert_eq!(back.emergency_at, 0.7);
        assert_eq!(back.urgent_at, 0.9);
        assert_eq!(back.raise_at, 0.6);
        assert_eq!(back.scores(&[3.0, 1.0]), c.scores(&[3.0, 1.0]));
        assert!(Classifier::parse("class\tthreshold\tbias\tweights\nroutine\t0\t0\t1\n").is_err());
    }
}
