//! What the server's test binaries share: a small knowledge base written
//! and ingested in a temporary folder.

use std::sync::Arc;

use sextant_answer::{Engine, Retriever};

/// A fixture page: (file name, title, URL, Markdown body).
pub type Page<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Writes `pages` as cancer.gov-shaped Markdown, ingests them, and opens a
/// BM25 engine over them (the folder lives as long as the returned guard).
pub fn engine_over(pages: &[Page]) -> (tempfile::TempDir, Arc<Engine>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("corpus");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, title, url, body) in pages {
        let text = format!("---\naudienceLevel: patient\nlastReviewed: '2025-12-30'\ntitle: {title} - NCI\nurl: {url}\n---\n\n# {title} - NCI\n\n# {title}\n\n{body}");
        std::fs::write(dir.join(name), text).unwrap();
    }
    let kb = tmp.path().join("kb");
    sextant_kb::ingest(&dir, &kb, &Default::default(), &|_| {}).unwrap();
    let engine = Engine::open(&kb).unwrap().with_retriever(Retriever::Bm25);
    (tmp, Arc::new(engine))
}
