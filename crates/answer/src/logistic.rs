//! Logistic regression over named features: the sentence model's
//! ([`crate::sentence_model`]), and the belief check's measured
//! alternative (`sextant eval answers --disputes`). Weights are read from
//! and written as TSV columns; the fit is deterministic.

/// The probability of a log-odds.
pub fn probability(logit: f32) -> f32 {
    1.0 / (1.0 + (-logit).exp())
}

/// The log-odds of features `x` under weights `w`.
pub fn logit(w: &[f32], x: &[f32]) -> f32 {
    w.iter().zip(x).map(|(w, x)| w * x).sum()
}

/// Reads the weights in column `column` (0 is the feature's name) of
/// `feature<TAB>weight<TAB>...` rows, in the order of `names`; features
/// not listed weigh 0, and unknown ones are skipped.
pub fn parse_column(text: &str, names: &[&str], column: usize) -> Vec<f32> {
    let mut weights = vec![0.0; names.len()];
    let rows = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::trim).collect::<Vec<_>>());
    for r in rows {
        let (Some(name), Some(w)) = (r.first(), r.get(column)) else {
            continue;
        };
        if let (Some(i), Ok(w)) = (names.iter().position(|f| f == name), w.parse()) {
            weights[i] = w;
        }
    }
    weights
}

/// Weight columns as `feature<TAB>weight<TAB>...` rows (no header).
pub fn columns_tsv(names: &[&str], columns: &[&[f32]]) -> String {
    let mut out = String::new();
    for (i, f) in names.iter().enumerate() {
        out.push_str(f);
        for c in columns {
            out.push_str(&format!("\t{:.4}", c.get(i).copied().unwrap_or(0.0)));
        }
        out.push('\n');
    }
    out
}

/// Fits a logistic regression by full-batch gradient descent with an L2
/// penalty (not on the intercept, feature 0); deterministic. Positive
/// examples are weighted so both classes count alike. Features whose
/// `fitted` entry is false keep weight 0.
pub fn fit(examples: &[(&[f32], bool)], fitted: &[bool], epochs: usize, l2: f32) -> Vec<f32> {
    let n = fitted.len();
    let mut w = vec![0.0f32; n];
    let pos = examples.iter().filter(|e| e.1).count().max(1) as f32;
    let neg = examples.iter().filter(|e| !e.1).count().max(1) as f32;
    let total = examples.len().max(1) as f32;
    let (wp, wn) = (total / (2.0 * pos), total / (2.0 * neg));
    let rate = 0.5;
    let mut grad = vec![0.0f32; n];
    for _ in 0..epochs {
        grad.iter_mut().for_each(|g| *g = 0.0);
        for (x, y) in examples {
            let p = probability(logit(&w, x));
            let (t, weight) = if *y { (1.0, wp) } else { (0.0, wn) };
            let g = (p - t) * weight;
            for (gi, xi) in grad.iter_mut().zip(x.iter()) {
                *gi += g * xi;
            }
        }
        for i in (0..n).filter(|&i| fitted[i]) {
            let reg = if i == 0 { 0.0 } else { l2 * w[i] };
            w[i] -= rate * (grad[i] / total + reg);
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip() {
        let names = ["bias", "a", "b"];
        let (x, y) = ([-1.5, 0.25, 2.0], [0.5, 0.0, -3.0]);
        let text = columns_tsv(&names, &[&x, &y]);
        assert_eq!(parse_column(&text, &names, 1), x.to_vec());
        assert_eq!(parse_column(&text, &names, 2), y.to_vec());
        // Unknown names are skipped; missing ones weigh 0.
        assert_eq!(
            parse_column("# c\nz\t4\nb\t1\n", &names, 1),
            vec![0.0, 0.0, 1.0]
        );
    }

    #[test]
    fn fit_separates_and_keeps_unfitted_at_zero() {
        // y = feature 1; feature 2 is noise that is not fitted.
        let data: Vec<([f32; 3], bool)> = (0..40)
            .map(|i| {
                let on = i % 2 == 0;
                ([1.0, f32::from(u8::from(on)), (i % 3) as f32], on)
            })
            .collect();
        let ex: Vec<(&[f32], bool)> = data.iter().map(|(x, y)| (&x[..], *y)).collect();
        let w = fit(&ex, &[true, true, false], 500, 0.001);
        assert_eq!(w[2], 0.0);
        assert!(probability(logit(&w, &[1.0, 1.0, 0.0])) > 0.8);
        assert!(probability(logit(&w, &[1.0, 0.0, 0.0])) < 0.2);
    }
}
