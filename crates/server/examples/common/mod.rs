//! What the server's measurement examples (`bench`, `load`) share: opening
//! the real engine, the questions they ask, and printing figures.

use std::path::Path;
use std::time::Duration;

use sextant_answer::Engine;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Opens the engine as `sextant ask` does: the KB, and the embedder when
/// the KB has vectors. Returns a note on the retrieval it can do.
pub fn open_engine(kb: &Path, models: Option<&Path>) -> Res<(Engine, String)> {
    if !kb.is_dir() {
        return Err(format!(
            "no knowledge base at {}: build one with `sextant ingest` or pass --kb DIR (or set SEXTANT_KB)",
            kb.display()
        )
        .into());
    }
    let engine = Engine::open(kb).map_err(|e| {
        format!(
            "cannot open the knowledge base at {}: {e} (rebuild it with `sextant ingest`)",
            kb.display()
        )
    })?;
    if engine.kb().vectors().is_none() {
        let why = engine.dense_unavailable().unwrap_or_default();
        return Ok((engine, format!("BM25 only ({why})")));
    }
    let dir = sextant_embed::models_dir(models);
    // Questions at the precision of the passages.
    let precision = engine
        .kb()
        .manifest()
        .vectors
        .as_ref()
        .map_or(sextant_embed::Precision::Int8, |v| {
            sextant_embed::Precision::of_model_id(&v.model)
        });
    let embedder = match sextant_embed::Embedder::load_with(&dir, precision) {
        Ok(e) => Some(e),
        Err(e @ sextant_embed::EmbedError::ModelMissing { .. }) => {
            eprintln!("warning: {e}");
            None
        }
        Err(e) => return Err(e.into()),
    };
    // Remembering only the last 16 questions' embeddings: every cycled
    // question of the "every answer computed" run is embedded again.
    let engine = engine.with_embedder(embedder).with_question_memory(16);
    let note = match engine.dense_unavailable() {
        Some(why) => {
            eprintln!("warning: {why}");
            format!("dense unavailable: {why}")
        }
        None => "embedder loaded".to_string(),
    };
    Ok((engine, note))
}

/// Every question in the lay-question file.
pub fn all_questions() -> Res<Vec<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../eval/data/lay-questions.tsv");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let all: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split('\t').nth(1))
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty())
        .collect();
    if all.is_empty() {
        return Err(format!("no questions in {}", path.display()).into());
    }
    Ok(all)
}

/// `n` questions spread evenly over `all`, cycling when `n` is larger.
pub fn spread(all: &[String], n: usize) -> Vec<String> {
    let len = all.len();
    (0..n)
        .map(|i| {
            if n <= len {
                all[i * len / n].clone()
            } else {
                all[i % len].clone()
            }
        })
        .collect()
}

/// Milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The CPU's model name, from /proc/cpuinfo.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
