//! `sextant ingest`: corpus folder → a new knowledge-base generation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sextant_core::{Audience, Issue, Page, PageKind, Passage};
use sha2::{Digest, Sha256};

use crate::corpus::{parse_page, ParsedPage, SkipReason};
use crate::store::{current_manifest, Manifest, SkippedFile, Staging, FORMAT_VERSION};
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
    force: bool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<IngestReport> {
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
    let (mut table_lines, mut images) = (0, 0);
    for (rel, r, iss) in parsed {
        issues.extend(iss);
        match r {
            Ok(p) => {
                table_lines += p.dropped.table_lines;
                images += p.dropped.images;
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
