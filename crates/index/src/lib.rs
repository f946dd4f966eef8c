//! Sextant's lexical retrieval: a tantivy BM25 index over passages (title,
//! section path and text, English stemming, field boosts), queried with
//! weighted terms and re-weighted per page (audience, cancer type) while
//! collecting, so boosts apply to every match and not just a top slice.
//!
//! The index knows nothing about the corpus: callers hand it documents with
//! an ordinal and a page number, and per-page boosts at query time.

use std::path::Path;
use std::sync::Arc;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

/// Errors of the BM25 index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index error: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index at {path} is missing or unreadable: {reason}")]
    Open { path: String, reason: String },
}

pub type Result<T> = std::result::Result<T, IndexError>;

/// Field weights: a match in the title counts more than one in the section
/// path, which counts more than one in the text.
pub const TITLE_BOOST: f32 = 2.0;
pub const SECTION_BOOST: f32 = 1.5;
pub const BODY_BOOST: f32 = 1.0;

const TOKENIZER: &str = "en_stem";

/// One passage as the index sees it.
pub struct IndexDoc<'a> {
    /// Position of the passage in the knowledge base.
    pub ord: u32,
    /// Index of its page.
    pub page: u32,
    pub title: &'a str,
    pub section: &'a str,
    pub body: &'a str,
}

/// A weighted query term, before analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryTerm {
    pub text: String,
    pub weight: f32,
}

/// A search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub ord: u32,
    pub score: f32,
}

#[derive(Clone, Copy)]
struct Fields {
    title: Field,
    section: Field,
    body: Field,
    ord: Field,
    page: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let title = b.add_text_field("title", text.clone());
    let section = b.add_text_field("section", text.clone());
    let body = b.add_text_field("body", text);
    let ord = b.add_u64_field("ord", FAST);
    let page = b.add_u64_field("page", FAST);
    (
        b.build(),
        Fields {
            title,
            section,
            body,
            ord,
            page,
        },
    )
}

/// Builds a fresh index in `dir` (which must be empty or absent).
pub fn build<'a>(dir: &Path, docs: impl IntoIterator<Item = IndexDoc<'a>>) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| IndexError::Open {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let (schema, f) = schema();
    let index = Index::create_in_dir(dir, schema)?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let mut writer =
        index.writer_with_num_threads::<TantivyDocument>(threads, 60_000_000 * threads)?;
    for d in docs {
        let mut doc = TantivyDocument::default();
        doc.add_text(f.title, d.title);
        doc.add_text(f.section, d.section);
        doc.add_text(f.body, d.body);
        doc.add_u64(f.ord, u64::from(d.ord));
        doc.add_u64(f.page, u64::from(d.page));
        writer.add_document(doc)?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    Ok(())
}

/// An open BM25 index.
pub struct Bm25Index {
    reader: IndexReader,
    fields: Fields,
    analyzer: TextAnalyzer,
}

impl Bm25Index {
    /// Opens the index in `dir` (memory-mapped).
    pub fn open(dir: &Path) -> Result<Self> {
        let index = Index::open_in_dir(dir).map_err(|e| IndexError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let (_, fields) = schema();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let analyzer = index.tokenizer_for_field(fields.body)?;
        Ok(Bm25Index {
            reader,
            fields,
            analyzer,
        })
    }

    /// Number of indexed passages.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// In how many passages a stem (from [`Bm25Index::analyze`]) occurs in the body.
    pub fn doc_freq(&self, stem: &str) -> u64 {
        let term = Term::from_field_text(self.fields.body, stem);
        self.reader.searcher().doc_freq(&term).unwrap_or(0)
    }

    /// Inverse document frequency of a stem, as BM25 weighs it: rare words
    /// say more about what a text is about.
    pub fn idf(&self, stem: &str) -> f32 {
        let n = self.num_docs() as f32;
        let df = self.doc_freq(stem) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// Analyzes text the way the index does (lower case, English stems).
    pub fn analyze(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// Top `limit` passages for the weighted terms. `page_boost[page]`
    /// multiplies the BM25 score of every passage of that page (1.0 where the
    /// slice is too short).
    pub fn search(
        &self,
        terms: &[QueryTerm],
        page_boost: Arc<Vec<f32>>,
        limit: usize,
    ) -> Result<Vec<Hit>> {
        let query = self.query(terms);
        let Some(query) = query else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let collector = TopDocs::with_limit(limit.max(1)).tweak_score(
            move |segment: &tantivy::SegmentReader| {
                let pages = segment
                    .fast_fields()
                    .u64("page")
                    .map(|c| c.first_or_default_col(u64::MAX))
                    .ok();
                let boosts = page_boost.clone();
                move |doc: tantivy::DocId, score: tantivy::Score| {
                    let page = pages.as_ref().map_or(u64::MAX, |p| p.get_val(doc));
                    let b = usize::try_from(page)
                        .ok()
                        .and_then(|p| boosts.get(p))
                        .copied()
                        .unwrap_or(1.0);
                    score * b
                }
            },
        );
        let top = searcher.search(&query, &collector)?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let seg = searcher.segment_reader(addr.segment_ord);
            let ord = seg.fast_fields().u64("ord")?.first(addr.doc_id);
            if let Some(ord) = ord.and_then(|o| u32::try_from(o).ok()) {
                hits.push(Hit { ord, score });
            }
        }
        Ok(hits)
    }

    fn query(&self, terms: &[QueryTerm]) -> Option<Box<dyn Query>> {
        // Merge weights of terms that analyze to the same stem.
        let mut stems: Vec<(String, f32)> = Vec::new();
        for t in terms {
            for s in self.analyze(&t.text) {
                match stems.iter_mut().find(|(x, _)| *x == s) {
                    Some((_, w)) => *w = w.max(t.weight),
                    None => stems.push((s, t.weight)),
                }
            }
        }
        if stems.is_empty() {
            return None;
        }
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (stem, w) in &stems {
            for (field, fb) in [
                (f.title, TITLE_BOOST),
                (f.section, SECTION_BOOST),
                (f.body, BODY_BOOST),
            ] {
                let tq = TermQuery::new(
                    Term::from_field_text(field, stem),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(tq), fb * w)),
                ));
            }
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    /// The ordinal of every live document, in index order (for consistency checks).
    pub fn ordinals(&self) -> Result<Vec<u32>> {
        let searcher = self.reader.searcher();
        let mut out = Vec::new();
        for seg in searcher.segment_readers() {
            let col = seg.fast_fields().u64("ord")?;
            for doc in seg.doc_ids_alive() {
                if let Some(v) = col.first(doc) {
                    out.push(v as u32);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dir: &Path) -> Bm25Index {
        let docs = [
            (
                "Liver Cancer Treatment",
                "Surgery",
                "A partial hepatectomy removes part of the liver.",
            ),
            (
                "Colon Cancer Treatment",
                "Surgery",
                "A colectomy removes part of the colon.",
            ),
            (
                "Liver Cancer Treatment",
                "Targeted therapy",
                "Sorafenib is a targeted therapy drug.",
            ),
        ];
        build(
            dir,
            docs.iter().enumerate().map(|(i, (t, s, b))| IndexDoc {
                ord: i as u32,
                page: (i % 2) as u32,
                title: t,
                section: s,
                body: b,
            }),
        )
        .unwrap();
        Bm25Index::open(dir).unwrap()
    }

    fn q(words: &[&str]) -> Vec<QueryTerm> {
        words
            .iter()
            .map(|w| QueryTerm {
                text: w.to_string(),
                weight: 1.0,
            })
            .collect()
    }

    #[test]
    fn finds_stemmed_terms_and_applies_page_boosts() {
        let tmp = tempfile::tempdir().unwrap();
        let index = idx(&tmp.path().join("bm25"));
        assert_eq!(index.num_docs(), 3);
        let hits = index
            .search(&q(&["surgeries", "liver"]), Arc::new(vec![]), 10)
            .unwrap();
        assert_eq!(hits[0].ord, 0, "{hits:?}");
        // Boosting page 1 (the colon page) strongly flips the order.
        let hits = index
            .search(&q(&["surgery"]), Arc::new(vec![1.0, 10.0]), 10)
            .unwrap();
        assert_eq!(hits[0].ord, 1, "{hits:?}");
        assert!(
            index
                .search(&q(&["the"]), Arc::new(vec![]), 10)
                .unwrap()
                .len()
                <= 3
        );
        assert!(index.search(&[], Arc::new(vec![]), 10).unwrap().is_empty());
        let mut ords = index.ordinals().unwrap();
        ords.sort_unstable();
        assert_eq!(ords, vec![0, 1, 2]);
    }

    #[test]
    fn open_missing_dir_is_a_clear_error() {
        let tmp = tempfile::tempdir().unwrap();
        let err = Bm25Index::open(&tmp.path().join("nope")).err().unwrap();
        assert!(err.to_string().contains("missing or unreadable"), "{err}");
    }
}
