//! Sextant's knowledge base: reads the cancer.gov corpus (Markdown with YAML
//! front matter), removes markup, cuts pages into passages along their
//! headings, and writes a knowledge base (pages, passages, BM25 index,
//! passage embeddings) that replaces the previous one atomically.
//!
//! Parsing never fails hard: a bad file is skipped, counted and named.

pub mod chunk;
pub mod corpus;
pub mod frontmatter;
pub mod ingest;
pub mod markdown;
pub mod store;

use std::path::{Path, PathBuf};

pub use ingest::{embed_text, ingest, sentence_texts, IngestOptions, IngestReport, Progress};
pub use store::{Kb, Manifest};

/// The corpus folder inside a data folder.
pub const CORPUS_SUBDIR: &str = "corpus/cancergov-2025";

/// Errors of the knowledge base.
#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "another `sextant ingest` is writing the knowledge base at {0}; wait for it to finish"
    )]
    Busy(String),
    #[error("no data found: {0}")]
    NoData(String),
    #[error("the corpus folder {0} holds no Markdown (.md) pages")]
    EmptyCorpus(String),
    #[error(
        "no knowledge base at {0}: run `sextant ingest` first (or pass --kb DIR / set SEXTANT_KB)"
    )]
    NotIngested(String),
    #[error("the knowledge base at {path} was built by another version of Sextant (format {found}; this one reads format {expected}): run `sextant ingest` to rebuild it")]
    Outdated {
        path: String,
        found: u32,
        expected: u32,
    },
    #[error("the knowledge base is damaged: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Index(#[from] sextant_index::IndexError),
    #[error(transparent)]
    Embed(#[from] sextant_embed::EmbedError),
}

pub type Result<T> = std::result::Result<T, KbError>;

/// Aborts the process when `SEXTANT_FAILPOINT` names this point. Crash tests
/// use it to stop ingest at exact moments; it costs one env lookup otherwise.
pub fn failpoint(name: &str) {
    if std::env::var("SEXTANT_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// The data folder: `explicit` (from `--data`), else `$SEXTANT_DATA`, else
/// `../shared/data` next to the checkout (the team's offline mirror).
pub fn locate_data(explicit: Option<&Path>) -> Result<PathBuf> {
    let mut tried = Vec::new();
    let candidates: Vec<(String, PathBuf)> = match explicit {
        Some(p) => vec![("--data".into(), p.to_path_buf())],
        None => {
            let mut v = Vec::new();
            if let Some(env) = std::env::var_os("SEXTANT_DATA").filter(|s| !s.is_empty()) {
                v.push(("$SEXTANT_DATA".into(), PathBuf::from(env)));
            } else {
                if let Ok(cwd) = std::env::current_dir() {
                    for dir in cwd.ancestors() {
                        v.push((
                            "../shared/data next to the checkout".into(),
                            dir.join("../shared/data"),
                        ));
                        if dir.join(".git").exists() {
                            break;
                        }
                    }
                }
                // Where this binary's source checkout is, for runs from elsewhere.
                let here = Path::new(env!("CARGO_MANIFEST_DIR"));
                v.push((
                    "../shared/data next to the checkout".into(),
                    here.join("../../../shared/data"),
                ));
            }
            v
        }
    };
    for (how, p) in candidates {
        if p.is_dir() {
            return Ok(p.canonicalize().unwrap_or(p));
        }
        tried.push(format!("{how} = {}", p.display()));
    }
    Err(KbError::NoData(format!(
        "looked at {}. Point Sextant at a data folder with --data DIR or SEXTANT_DATA=DIR (a folder holding {CORPUS_SUBDIR}/, or a folder of Markdown pages).",
        tried.join("; ")
    )))
}

/// The corpus folder of a data folder: `<data>/corpus/cancergov-2025` when it
/// exists, else the data folder itself (a plain folder of pages).
pub fn corpus_dir(data: &Path) -> PathBuf {
    let nested = data.join(CORPUS_SUBDIR);
    if nested.is_dir() {
        nested
    } else {
        data.to_path_buf()
    }
}

/// The knowledge-base folder: `explicit` (from `--kb`), else `$SEXTANT_KB`,
/// else `$XDG_DATA_HOME/sextant/kb`, else `~/.local/share/sextant/kb`.
pub fn default_kb(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("SEXTANT_KB").filter(|s| !s.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_DATA_HOME").filter(|s| !s.is_empty()) {
        return PathBuf::from(p).join("sextant/kb");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/sextant/kb")
}
