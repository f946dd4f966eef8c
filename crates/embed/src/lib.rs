//! Sextant's dense retrieval pieces: the all-MiniLM-L6-v2 sentence embedder
//! (int8 on the CPU by default, f32 on candle), a memory of recent question
//! embeddings, a content-keyed embedding cache shared by every
//! knowledge base on the machine, and exact vector search over a
//! memory-mapped matrix.
//!
//! The model files are fetched once by `scripts/fetch-models.sh` and checked
//! here against compiled-in sha256 digests; nothing is ever downloaded at run
//! time.

pub mod cache;
pub mod embedder;
mod fast;
mod int8;
mod recent;
mod sentences;
pub mod vectors;

use std::path::{Path, PathBuf};

pub use cache::EmbeddingCache;
pub use embedder::{Embedder, Precision};
pub use recent::RecentVectors;
pub use sentences::{text_tag, write_sentence_vectors, SentenceRow, SentenceVectors};
pub use vectors::{write_vectors, FlatVectors, VectorSearch};

/// Dimension of the embeddings.
pub const DIM: usize = 384;
/// Name of the model folder under the models directory.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Errors of embedding and vector search.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "the embedding model is not installed: {path} is missing; run ./scripts/fetch-models.sh \
         (or pass --models DIR / set SEXTANT_MODELS to where it is)"
    )]
    ModelMissing { path: String },
    #[error(
        "the embedding model file {path} is damaged or not the expected one (sha256 {actual}, \
         expected {expected}); run ./scripts/fetch-models.sh to fetch it again"
    )]
    Checksum {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("cannot load the embedding model from {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("embedding failed: {0}")]
    Inference(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("vector file {path} is damaged or does not fit this knowledge base: {reason}")]
    Vectors { path: String, reason: String },
}

pub type Result<T> = std::result::Result<T, EmbedError>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EmbedError + '_ {
    move |source| EmbedError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Sextant's cache folder: `$SEXTANT_CACHE`, else `$XDG_CACHE_HOME/sextant`,
/// else `~/.cache/sextant`.
pub fn cache_root() -> PathBuf {
    if let Some(d) = std::env::var_os("SEXTANT_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("sextant");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".cache").join("sextant")
}

/// The models folder: `explicit` (`--models`), else `$SEXTANT_MODELS`, else
/// `models` under [`cache_root`] — where `scripts/fetch-models.sh` puts them.
pub fn models_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(d) = explicit {
        return d.to_path_buf();
    }
    if let Some(d) = std::env::var_os("SEXTANT_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    cache_root().join("models")
}

/// Dot product of two equally long vectors, in eight independent lanes so
/// the compiler can vectorize it without reordering a single sum.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, ar) = a.split_at(a.len() / 8 * 8);
    let (bc, br) = b.split_at(ac.len());
    for (x, y) in ac.chunks_exact(8).zip(bc.chunks_exact(8)) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}
