//! `sextant ingest`: corpus folder → a new knowledge-base generation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sextant_core::{Audience, Issue, Page, PageKind, Passage};
use sha2::{Digest, Sha256};

use crate::corpus::{parse_page, ParsedPage, SkipReason};
use crate::store::{current_manifest, Manifest, SkippedFile, Staging, VectorsInfo, FORMAT_VERSION};
use crate::{KbError, Result};

/// What ingest reports as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Files found and read.
    Read { files: usize },
    /// Pages parsed so far.
    Parsed { done: usize, total: usize },
    /// Writing passages and building the search index.
    Indexing { passages: usize },
    /// Another ingest is filling the embedding cache; waiting for it.
    WaitingForCache,
    /// Texts (passages and their sentences) embedded so far, of those not
    /// found in the cache.
    Embedding { done: usize, total: usize },
}

/// How to ingest.
#[derive(Debug, Default, Clone)]
pub struct IngestOptions<'a> {
    /// Rebuild even when the corpus is unchanged.
    pub force: bool,
    /// Embeds passages for dense retrieval; `None` builds a BM25-only KB.
    pub embedder: Option<&'a sextant_embed::Embedder>,
    /// Embedding cache folder; `None` is `embeddings` under
    /// [`sextant_embed::cache_root`].
    pub cache_dir: Option<PathBuf>,
}

/// Passages embedded per cache append: a crash loses at most this much work.
const EMBED_CHUNK: usize = 256;

/// The text a passage is embedded as: its page title and section path give
/// the passage the context its own words often leave out ("Stage II" of
/// what?).
pub fn embed_text(page: &Page, passage: &Passage) -> String {
    if passage.section_path.is_empty() {
        format!("{}. {}", page.title, passage.text)
    } else {
        format!(
            "{}. {}. {}",
            page.title,
            passage.section_path.join(" › "),
            passage.text
        )
    }
}

/// Summary of an ingest run.
#[derive(Debug, Clone)]
pub struct IngestReport {
    /// The corpus was unchanged: nothing was rebuilt.
    pub up_to_date: bool,
    pub manifest: Manifest,
    pub kb_dir: PathBuf,
    pub seconds: f64,
    /// Problems found in individual files (each file is named).
    pub issues: Vec<Issue>,
}

impl IngestReport {
    /// Skipped files counted by reason.
    pub fn skipped_by_reason(&self) -> Vec<(SkipReason, usize)> {
        let mut counts: HashMap<SkipReason, usize> = HashMap::new();
        for s in &self.manifest.skipped {
            *counts.entry(s.reason).or_default() += 1;
        }
        let mut v: Vec<_> = counts.into_iter().collect();
        v.sort();
        v
    }
}

/// Lists corpus files (`*.md`, recursively, sorted by relative path).
fn list_files(corpus: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![corpus.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| KbError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        for e in entries.flatten() {
            let path = e.path();
            let ft = match e.file_type() {
                Ok(t) => t,
                Err(_) => continue,
            };
            if ft.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "md") {
                let rel = path
                    .strip_prefix(corpus)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Builds (or confirms up to date) the knowledge base under `kb_root` from
/// the Markdown pages under `corpus`.
pub fn ingest(
    corpus: &Path,
    kb_root: &Path,
    options: &IngestOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<IngestReport> {
    let force = options.force;
    let started = Instant::now();
    let files = list_files(corpus)?;
    if files.is_empty() {
        return Err(KbError::EmptyCorpus(corpus.display().to_string()));
    }
    let mut issues = Vec::new();
    let mut skipped = Vec::new();
    // Each file's text, or why it cannot be parsed.
    let mut texts: Vec<(String, std::result::Result<String, SkipReason>)> =
        Vec::with_capacity(files.len());
    let mut hasher = Sha256::new();
    hasher.update(FORMAT_VERSION.to_le_bytes());
    for (rel, path) in &files {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size > crate::corpus::MAX_PAGE_BYTES {
            hasher.update(rel.as_bytes());
            hasher.update(size.to_le_bytes());
            issues.push(Issue::new(
                rel,
                format!(
                    "{size} bytes is over the {} MiB page limit; page skipped",
                    crate::corpus::MAX_PAGE_BYTES / 1024 / 1024
                ),
            ));
            texts.push((rel.clone(), Err(SkipReason::TooLarge)));
            continue;
        }
        match std::fs::read(path) {
            Ok(bytes) => {
                hasher.update(rel.as_bytes());
                hasher.update([0]);
                hasher.update(Sha256::digest(&bytes));
                match String::from_utf8(bytes) {
                    Ok(t) => texts.push((rel.clone(), Ok(t))),
                    Err(_) => {
                        issues.push(Issue::new(rel, "not valid UTF-8; page skipped"));
                        texts.push((rel.clone(), Err(SkipReason::Unreadable)));
                    }
                }
            }
            Err(e) => {
                hasher.update(rel.as_bytes());
                hasher.update([1]);
                issues.push(Issue::new(rel, format!("cannot read: {e}; page skipped")));
                texts.push((rel.clone(), Err(SkipReason::Unreadable)));
            }
        }
    }
    // A KB built without the model (or with another) is not up to date
    // once the model is there.
    let model_id = options.embedder.map(|e| e.model_id());
    hasher.update(model_id.as_deref().unwrap_or("no-vectors").as_bytes());
    progress(Progress::Read { files: files.len() });
    let fingerprint = hex(&hasher.finalize());
    if !force {
        if let Ok(Some(m)) = current_manifest(kb_root) {
            if m.fingerprint == fingerprint && m.format == FORMAT_VERSION {
                // Nothing to build, but a crash may have left garbage behind;
                // clean it only if no other ingest is at work.
                if let Ok(lock) = crate::store::IngestLock::acquire(kb_root) {
                    crate::store::clean_stale(kb_root, &lock);
                }
                let kb_dir = crate::store::current_generation(kb_root)?.unwrap_or_default();
                return Ok(IngestReport {
                    up_to_date: true,
                    manifest: m,
                    kb_dir,
                    seconds: started.elapsed().as_secs_f64(),
                    issues,
                });
            }
        }
    }

    // Parse in parallel; results keep file order.
    let total = texts.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(8);
    let chunk_len = total.div_ceil(workers);
    let mut parsed: Vec<(
        String,
        std::result::Result<ParsedPage, SkipReason>,
        Vec<Issue>,
    )> = Vec::with_capacity(total);
    std::thread::scope(|s| {
        let handles: Vec<_> = texts
            .chunks(chunk_len.max(1))
            .map(|part| {
                let done = &done;
                s.spawn(move || {
                    part.iter()
                        .map(|(rel, text)| {
                            let r = match text {
                                Ok(t) => parse_page(rel, t),
                                Err(reason) => (Err(*reason), Vec::new()),
                            };
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            if n.is_multiple_of(50) || n == total {
                                progress(Progress::Parsed { done: n, total });
                            }
                            (rel.clone(), r.0, r.1)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            parsed.extend(h.join().unwrap_or_default());
        }
    });

    let mut pages_parsed = Vec::new();
    let (mut table_lines, mut images, mut captions) = (0, 0, 0);
    for (rel, r, iss) in parsed {
        issues.extend(iss);
        match r {
            Ok(p) => {
                table_lines += p.dropped.table_lines;
                images += p.dropped.images;
                captions += p.dropped.captions;
                pages_parsed.push(p);
            }
            Err(reason) => skipped.push(SkippedFile { path: rel, reason }),
        }
    }
    // The same URL twice (two scrapes of one page): keep the first file.
    let mut seen_urls = std::collections::HashSet::new();
    pages_parsed.retain(|p| {
        let fresh = seen_urls.insert(p.page.url.clone());
        if !fresh {
            issues.push(Issue::new(
                &p.page.source_path,
                format!("duplicate url {}; page skipped", p.page.url),
            ));
        }
        fresh
    });
    // Deterministic order, most authoritative for patients first: when two
    // pages share a passage, the first keeps it (the others are `also_in`).
    pages_parsed.sort_by(|a, b| {
        page_rank(&a.page)
            .cmp(&page_rank(&b.page))
            .then_with(|| a.page.source_path.cmp(&b.page.source_path))
    });

    let (pages, passages, duplicates) = assemble(pages_parsed);
    progress(Progress::Indexing {
        passages: passages.len(),
    });
    let staging = Staging::new(kb_root)?;
    staging.write(&pages, &passages)?;
    let vectors = match options.embedder {
        Some(embedder) => {
            let cache_dir = options
                .cache_dir
                .clone()
                .unwrap_or_else(|| sextant_embed::cache_root().join("embeddings"));
            let (rows, sentences, info) =
                embed_passages(embedder, &cache_dir, &pages, &passages, progress)?;
            staging.write_vectors(sextant_embed::DIM, &rows)?;
            let (counts, tags, sentence_rows) = sentences;
            staging.write_sentence_vectors(sextant_embed::DIM, &counts, &tags, &sentence_rows)?;
            Some(info)
        }
        None => None,
    };
    let manifest = Manifest {
        format: FORMAT_VERSION,
        fingerprint,
        corpus: corpus.display().to_string(),
        built_at: (crate::store::now_nanos() / 1_000_000_000) as u64,
        files: files.len(),
        pages: pages.len(),
        passages: passages.len(),
        duplicates_dropped: duplicates,
        skipped,
        table_lines_dropped: table_lines,
        images_dropped: images,
        captions_dropped: captions,
        vectors,
    };
    let kb_dir = staging.commit(&manifest)?;
    Ok(IngestReport {
        up_to_date: false,
        manifest,
        kb_dir,
        seconds: started.elapsed().as_secs_f64(),
        issues,
    })
}

/// The text each of a passage's sentences is embedded as, in the order of
/// [`sextant_core::text::sentence_spans`] (the composer's candidates).
pub fn sentence_texts(passage: &Passage) -> Vec<String> {
    sextant_core::text::sentence_spans(&passage.text)
        .into_iter()
        .map(|s| sextant_core::text::normalize_ws(&passage.text[s]))
        .collect()
}

/// Sentence counts per passage, the sentences' text tags, and their rows.
type SentenceRows = (Vec<u32>, Vec<u32>, Vec<f32>);

/// Every passage's vector and its sentences' vectors, from the cache where
/// it has them, embedded (and added to the cache) where not.
fn embed_passages(
    embedder: &sextant_embed::Embedder,
    cache_dir: &Path,
    pages: &[Page],
    passages: &[Passage],
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Vec<f32>, SentenceRows, VectorsInfo)> {
    use sextant_embed::{EmbeddingCache, DIM};
    let model = embedder.model_id();
    let mut cache =
        EmbeddingCache::open(cache_dir, &model, &|| progress(Progress::WaitingForCache))?;
    let mut texts: Vec<String> = passages
        .iter()
        .map(|p| embed_text(&pages[p.page as usize], p))
        .collect();
    let mut counts = Vec::with_capacity(passages.len());
    let mut tags = Vec::new();
    for p in passages {
        let s = sentence_texts(p);
        counts.push(s.len() as u32);
        tags.extend(s.iter().map(|t| sextant_embed::text_tag(t)));
        texts.extend(s);
    }
    let keys: Vec<_> = texts.iter().map(|t| EmbeddingCache::key(t)).collect();
    let mut missing: Vec<usize> = (0..texts.len())
        .filter(|&i| cache.get(&keys[i]).is_none())
        .collect();
    // A sentence that repeats is embedded once.
    let mut seen = std::collections::HashSet::new();
    missing.retain(|&i| seen.insert(keys[i]));
    let passages_missing = missing.iter().filter(|&&i| i < passages.len()).count();
    // Each chunk holds texts of similar length, so batches carry little padding.
    missing.sort_by_key(|&i| texts[i].len());
    let total = missing.len();
    progress(Progress::Embedding { done: 0, total });
    let mut done = 0;
    for chunk in missing.chunks(EMBED_CHUNK) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
        let base = done;
        let vecs = embedder.embed(&batch, &|n| {
            progress(Progress::Embedding {
                done: base + n,
                total,
            })
        })?;
        let chunk_keys: Vec<_> = chunk.iter().map(|&i| keys[i]).collect();
        cache.insert_all(&chunk_keys, &vecs)?;
        done += chunk.len();
        crate::failpoint("ingest:mid-embedding");
    }
    let mut rows = Vec::with_capacity(texts.len() * DIM);
    for key in &keys {
        let v = cache.get(key).ok_or_else(|| {
            KbError::Corrupt("embedding cache lost a vector it was just given".into())
        })?;
        rows.extend_from_slice(v);
    }
    let sentence_rows = rows.split_off(passages.len() * DIM);
    Ok((
        rows,
        (counts, tags, sentence_rows),
        VectorsInfo {
            model,
            dim: DIM,
            embedded: passages_missing,
            cached: passages.len() - passages_missing,
            sentences: texts.len() - passages.len(),
        },
    ))
}

fn page_rank(p: &Page) -> (u8, u8) {
    let audience = match p.audience {
        Audience::Patient => 0,
        Audience::HealthProfessional => 1,
    };
    let kind = match p.kind {
        PageKind::PdqSummary => 0,
        PageKind::CancerType => 1,
        PageKind::TreatmentType | PageKind::SideEffect | PageKind::Coping => 2,
        PageKind::Drug | PageKind::Cam => 3,
        PageKind::Reference | PageKind::Other | PageKind::News => 4,
    };
    (audience, kind)
}

/// Gives pages their indices and chunks their ids; drops repeated passages.
fn assemble(parsed: Vec<ParsedPage>) -> (Vec<Page>, Vec<Passage>, usize) {
    let mut pages = Vec::with_capacity(parsed.len());
    let mut passages: Vec<Passage> = Vec::new();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    let mut duplicates = 0;
    for (pi, pp) in parsed.into_iter().enumerate() {
        let pi = pi as u32;
        for c in pp.chunks {
            let norm = sextant_core::text::normalize_ws(&c.text);
            if let Some(&k) = by_text.get(&norm) {
                duplicates += 1;
                let kept: &mut Passage = &mut passages[k];
                if kept.page != pi && !kept.also_in.contains(&pi) {
                    kept.also_in.push(pi);
                }
                continue;
            }
            let label = c.section_path.join(" › ");
            let mut h = Sha256::new();
            h.update(pp.page.url.as_bytes());
            h.update([0]);
            h.update(label.as_bytes());
            h.update([0]);
            h.update(norm.as_bytes());
            let id = hex(&h.finalize())[..16].to_string();
            let fragment = (c.section_path.len() > 1)
                .then(|| c.section_path.last().map(|h| text_fragment(h)))
                .flatten();
            by_text.insert(norm, passages.len());
            passages.push(Passage {
                id,
                page: pi,
                section_path: c.section_path,
                fragment,
                text: c.text,
                terms: c.terms,
                also_in: Vec::new(),
            });
        }
        pages.push(pp.page);
    }
    (pages, passages, duplicates)
}

/// A text fragment (`#:~:text=...`) that makes browsers scroll to and
/// highlight the heading: cancer.gov pages carry no stable section anchors.
pub fn text_fragment(heading: &str) -> String {
    let mut out = String::from(":~:text=");
    for b in heading.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fragments_are_percent_encoded() {
        assert_eq!(
            text_fragment("Surgery, & more-ish"),
            ":~:text=Surgery%2C%20%26%20more%2Dish"
        );
    }
}
