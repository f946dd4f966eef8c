//! Sextant's measurements: answer and retrieval quality on MedQuAD's
//! CancerGov questions (`medquad`), the three retrievers side by side on
//! expert, lay and consumer questions (`retrieval`), safety routing on a
//! labeled set (`safety`), the no-evidence threshold (`abstention`), and
//! speed and memory (`bench`).

pub mod abstention;
pub mod answers;
pub mod bench;
pub mod disputes;
pub mod llm;
pub mod medquad;
pub mod records;
pub mod retrieval;
pub mod safety;
pub mod sentences;
pub mod tcga;
pub mod triage_model;
pub mod trials;

/// Errors of evaluation.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no evaluation questions found in {0}")]
    NoQuestions(String),
    #[error(transparent)]
    Answer(#[from] sextant_answer::AnswerError),
    #[error(transparent)]
    Kb(#[from] sextant_kb::KbError),
    #[error(transparent)]
    Embed(#[from] sextant_embed::EmbedError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, EvalError>;

/// The `q`-quantile (0..=1) of sorted values (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

/// Peak resident memory of this process so far, in MiB (Linux `VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn quantiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(super::quantile(&v, 0.5), 5.0);
        assert_eq!(super::quantile(&v, 0.95), 10.0);
        assert_eq!(super::quantile(&[], 0.5), 0.0);
    }
}
