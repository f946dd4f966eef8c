//! The scope gate: a binary logistic regression over the same input as the
//! learned layer (the question's embedding joined with the rules' reading),
//! giving the probability that a message is about health. The scope rules
//! know health by its words; a message they find none in ("wot is a picc
//! line", "me salió una erupción desde la inmunoterapia") is only called
//! out of scope when the gate agrees. Trained and calibrated by
//! `sextant eval safety --train`, stored as data in `data/scope-gate.tsv`.

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::lexicon::rows;

const WEIGHTS: &str = include_str!("../data/scope-gate.tsv");

/// Weights and the calibrated threshold.
#[derive(Debug, Clone)]
pub struct ScopeGate {
    weights: Vec<f32>,
    bias: f32,
    /// P(about health) at or above this keeps a message in scope.
    pub health_at: f32,
}

impl ScopeGate {
    /// The gate shipped in `data/scope-gate.tsv`, if it has weights.
    pub fn shipped() -> Option<&'static ScopeGate> {
        static G: OnceLock<Option<ScopeGate>> = OnceLock::new();
        G.get_or_init(|| ScopeGate::parse(WEIGHTS).ok()).as_ref()
    }

    /// Reads the TSV: rows `health_at<TAB>t`, `bias<TAB>b`, `weights<TAB>w0…`.
    pub fn parse(text: &str) -> Result<ScopeGate, String> {
        let (mut weights, mut bias, mut health_at) = (None, None, None);
        for r in rows(text, "name\tvalues") {
            let num = |s: &str| s.parse::<f32>().map_err(|e| format!("{}: {e}", r[0]));
            match (r[0], r.get(1)) {
                ("health_at", Some(v)) => health_at = Some(num(v)?),
                ("bias", Some(v)) => bias = Some(num(v)?),
                ("weights", Some(_)) => {
                    weights = Some(
                        r[1..]
                            .iter()
                            .map(|s| num(s))
                            .collect::<Result<Vec<_>, _>>()?,
                    )
                }
                (name, _) => return Err(format!("unknown row {name:?}")),
            }
        }
        match (weights, bias, health_at) {
            (Some(weights), Some(bias), Some(health_at)) if !weights.is_empty() => Ok(ScopeGate {
                weights,
                bias,
                health_at,
            }),
            _ => Err("expected health_at, bias and weights rows".into()),
        }
    }

    /// The input size the weights expect.
    pub fn dim(&self) -> usize {
        self.weights.len()
    }

    /// P(about health) for one input ([`crate::input`]); an input of
    /// another size counts as about health, so that nothing is refused on
    /// a mismatch.
    pub fn health(&self, x: &[f32]) -> f32 {
        if x.len() != self.dim() {
            return 1.0;
        }
        let z = self.bias + self.weights.iter().zip(x).map(|(a, b)| a * b).sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }

    /// Does the gate keep this input in scope?
    pub fn keeps(&self, x: &[f32]) -> bool {
        self.health(x) >= self.health_at
    }

    /// Trains on `(input, about health)` pairs: full-batch gradient descent
    /// on the L2-regularized log loss, both classes weighted to count
    /// equally. Deterministic.
    pub fn train(examples: &[(&[f32], bool)], epochs: usize, l2: f32) -> ScopeGate {
        let dim = examples.first().map_or(0, |e| e.0.len());
        let n = examples.len().max(1) as f32;
        let pos = examples.iter().filter(|e| e.1).count().max(1) as f32;
        let neg = (examples.len() as f32 - pos).max(1.0);
        let (wp, wn) = (n / (2.0 * pos), n / (2.0 * neg));
        let mut w = vec![0f32; dim];
        let mut b = 0f32;
        let lr = 2.0;
        for _ in 0..epochs {
            let mut gw = vec![0f32; dim];
            let mut gb = 0f32;
            for (x, y) in examples {
                let z = b + w.iter().zip(*x).map(|(a, b)| a * b).sum::<f32>();
                let p = 1.0 / (1.0 + (-z).exp());
                let g = if *y { wp * (p - 1.0) } else { wn * p };
                gb += g;
                for (gi, xi) in gw.iter_mut().zip(*x) {
                    *gi += g * xi;
                }
            }
            b -= lr * gb / n;
            for (wi, gi) in w.iter_mut().zip(&gw) {
                *wi -= lr * (gi / n + l2 * *wi);
            }
        }
        ScopeGate {
            weights: w,
            bias: b,
            health_at: 0.5,
        }
    }

    /// The TSV `parse` reads.
    pub fn to_tsv(&self, header_comment: &str) -> String {
        let mut o = String::new();
        for line in header_comment.lines() {
            let _ = writeln!(o, "# {line}");
        }
        o.push_str("name\tvalues\n");
        let _ = writeln!(o, "health_at\t{}", self.health_at);
        let _ = writeln!(o, "bias\t{}", self.bias);
        o.push_str("weights");
        for v in &self.weights {
            let _ = write!(o, "\t{v}");
        }
        o.push('\n');
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_separates_and_round_trips() {
        let data: Vec<(Vec<f32>, bool)> = (0..40)
            .map(|i| {
                let y = i % 2 == 0;
                let jitter = 0.05 * ((i * 7 % 5) as f32 - 2.0);
                (vec![if y { 1.0 } else { -1.0 } + jitter, jitter], y)
            })
            .collect();
        let pairs: Vec<(&[f32], bool)> = data.iter().map(|(x, y)| (x.as_slice(), *y)).collect();
        let mut g = ScopeGate::train(&pairs, 200, 1e-4);
        g.health_at = 0.3;
        for (x, y) in &data {
            assert_eq!(g.keeps(x), *y, "{x:?}");
        }
        let back = ScopeGate::parse(&g.to_tsv("a comment")).unwrap();
        assert_eq!(back.health_at, 0.3);
        assert_eq!(back.health(&data[0].0), g.health(&data[0].0));
        assert_eq!(back.health(&[1.0]), 1.0, "a size mismatch keeps in scope");
        assert!(ScopeGate::parse("name\tvalues\nbias\t1\n").is_err());
    }
}
