//! The knowledge base on disk, and how a new one replaces the old atomically.
//!
//! ```text
//! <kb root>/
//!   CURRENT                 name of the live generation (replaced by rename)
//!   gen-<fingerprint>-<t>/  one complete knowledge base
//!     manifest.json         format version, corpus fingerprint, counts, skips
//!     pages.json            every page (url, title, audience, kind, types, review date)
//!     passages.jsonl        one passage per line, in ordinal order
//!     passages.offsets      n+1 little-endian u64 byte offsets into passages.jsonl
//!     passages.pages        n little-endian u32: each passage's page
//!     bm25/                 tantivy index
//!     vectors.f32           n × 384 embeddings (when the model was installed)
//!     sentences.i8          every passage's sentences' embeddings, int8 (with vectors.f32)
//!   .tmp-<pid>-<t>/         a generation being built (never read)
//! ```
//!
//! A new generation is built entirely in a `.tmp-*` folder, flushed to disk,
//! renamed to `gen-*`, and only then does `CURRENT` change, by writing
//! `CURRENT.tmp` and renaming it over `CURRENT`. A crash at any point leaves
//! `CURRENT` naming a complete generation (or absent, before the first ingest).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sextant_core::{Page, Passage};
use sextant_embed::{FlatVectors, SentenceVectors};
use sextant_index::Bm25Index;

use crate::corpus::SkipReason;
use crate::{failpoint, KbError, Result};

/// Bumped whenever parsing, chunking or the on-disk layout changes, so an
/// unchanged corpus is still re-ingested by a newer Sextant.
pub const FORMAT_VERSION: u32 = 10;

/// A skipped file, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    pub path: String,
    pub reason: SkipReason,
}

/// What a generation contains and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// sha256 over the format version and every file's path and content.
    pub fingerprint: String,
    /// The corpus folder it was built from.
    pub corpus: String,
    /// Unix seconds.
    pub built_at: u64,
    pub files: usize,
    pub pages: usize,
    pub passages: usize,
    pub duplicates_dropped: usize,
    pub skipped: Vec<SkippedFile>,
    pub table_lines_dropped: usize,
    pub images_dropped: usize,
    /// Image captions dropped (`markdown::Dropped::captions`).
    #[serde(default)]
    pub captions_dropped: usize,
    /// The passage embeddings, when the model was installed at ingest.
    pub vectors: Option<VectorsInfo>,
}

/// How a generation's vectors were made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorsInfo {
    /// [`sextant_embed::Embedder::model_id`] of the model that made them.
    pub model: String,
    pub dim: usize,
    /// Passages embedded by this ingest (the rest came from the cache).
    pub embedded: usize,
    /// Passages whose vector was found in the embedding cache.
    pub cached: usize,
    /// Sentences embedded (`sentences.i8`), counted where they repeat.
    #[serde(default)]
    pub sentences: usize,
}

/// An open knowledge base.
pub struct Kb {
    dir: PathBuf,
    manifest: Manifest,
    pages: Vec<Page>,
    offsets: Vec<u64>,
    passages: File,
    /// Page of each passage, by ordinal.
    page_of: Vec<u32>,
    bm25: Bm25Index,
    vectors: Option<FlatVectors>,
    sentence_vectors: Option<SentenceVectors>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KbError + '_ {
    move |source| KbError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The live generation's folder under `root`, if any.
pub fn current_generation(root: &Path) -> Result<Option<PathBuf>> {
    let current = root.join("CURRENT");
    match fs::read_to_string(&current) {
        Ok(name) => {
            let name = name.trim();
            if name.is_empty() || name.contains('/') || name.contains("..") {
                return Err(KbError::Corrupt(format!(
                    "{} names no generation",
                    current.display()
                )));
            }
            Ok(Some(root.join(name)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&current)(e)),
    }
}

/// Reads the live generation's manifest, if there is one.
pub fn current_manifest(root: &Path) -> Result<Option<Manifest>> {
    let Some(dir) = current_generation(root)? else {
        return Ok(None);
    };
    let path = dir.join("manifest.json");
    let text = fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| KbError::Corrupt(format!("{}: {e}", path.display())))
}

impl Kb {
    /// Opens the live knowledge base under `root`.
    pub fn open(root: &Path) -> Result<Kb> {
        let dir = current_generation(root)?
            .ok_or_else(|| KbError::NotIngested(root.display().to_string()))?;
        let manifest = current_manifest(root)?
            .ok_or_else(|| KbError::NotIngested(root.display().to_string()))?;
        if manifest.format != FORMAT_VERSION {
            return Err(KbError::Outdated {
                path: dir.display().to_string(),
                found: manifest.format,
                expected: FORMAT_VERSION,
            });
        }
        let pages_path = dir.join("pages.json");
        let pages: Vec<Page> =
            serde_json::from_slice(&fs::read(&pages_path).map_err(io(&pages_path))?)
                .map_err(|e| KbError::Corrupt(format!("{}: {e}", pages_path.display())))?;
        let off_path = dir.join("passages.offsets");
        let raw = fs::read(&off_path).map_err(io(&off_path))?;
        if raw.len() % 8 != 0 {
            return Err(KbError::Corrupt(format!(
                "{} is truncated",
                off_path.display()
            )));
        }
        let offsets: Vec<u64> = raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let pas_path = dir.join("passages.jsonl");
        let passages = File::open(&pas_path).map_err(io(&pas_path))?;
        let len = passages.metadata().map_err(io(&pas_path))?.len();
        if offsets.len() != manifest.passages + 1 || offsets.last() != Some(&len) {
            return Err(KbError::Corrupt(format!(
                "{} does not match {} ({} passages expected); run `sextant ingest --force`",
                off_path.display(),
                pas_path.display(),
                manifest.passages
            )));
        }
        let bm25 = Bm25Index::open(&dir.join("bm25"))?;
        if bm25.num_docs() as usize != manifest.passages {
            return Err(KbError::Corrupt(format!(
                "the search index holds {} passages, the knowledge base {}; run `sextant ingest --force`",
                bm25.num_docs(),
                manifest.passages
            )));
        }
        let pp_path = dir.join("passages.pages");
        let raw = fs::read(&pp_path).map_err(io(&pp_path))?;
        let page_of: Vec<u32> = raw
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        if raw.len() != manifest.passages * 4 || page_of.iter().any(|&p| p as usize >= pages.len())
        {
            return Err(KbError::Corrupt(format!(
                "{} does not match the passages; run `sextant ingest --force`",
                pp_path.display()
            )));
        }
        // The passages' vectors and their sentences' come together.
        let (vectors, sentence_vectors) = match &manifest.vectors {
            Some(v) => (
                Some(FlatVectors::open(
                    &dir.join("vectors.f32"),
                    v.dim,
                    manifest.passages,
                )?),
                Some(SentenceVectors::open(
                    &dir.join("sentences.i8"),
                    v.dim,
                    manifest.passages,
                )?),
            ),
            None => (None, None),
        };
        Ok(Kb {
            dir,
            manifest,
            pages,
            offsets,
            passages,
            page_of,
            bm25,
            vectors,
            sentence_vectors,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }
    pub fn page(&self, i: u32) -> Option<&Page> {
        self.pages.get(i as usize)
    }
    pub fn bm25(&self) -> &Bm25Index {
        &self.bm25
    }
    /// The passage embeddings, if the KB was built with the model.
    pub fn vectors(&self) -> Option<&FlatVectors> {
        self.vectors.as_ref()
    }

    /// The embeddings of each passage's sentences, with the passage vectors.
    pub fn sentence_vectors(&self) -> Option<&SentenceVectors> {
        self.sentence_vectors.as_ref()
    }
    /// The page of passage `ord`.
    pub fn page_of(&self, ord: u32) -> Option<u32> {
        self.page_of.get(ord as usize).copied()
    }
    /// Number of passages.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads passage `ord` from disk.
    pub fn passage(&self, ord: u32) -> Result<Passage> {
        let i = ord as usize;
        if i + 1 >= self.offsets.len() {
            return Err(KbError::Corrupt(format!("no passage {ord}")));
        }
        let (a, b) = (self.offsets[i], self.offsets[i + 1]);
        let mut buf = vec![0u8; (b - a) as usize];
        let path = self.dir.join("passages.jsonl");
        self.passages
            .read_exact_at(&mut buf, a)
            .map_err(io(&path))?;
        serde_json::from_slice(&buf).map_err(|e| KbError::Corrupt(format!("passage {ord}: {e}")))
    }

    /// Iterates all passages in ordinal order.
    pub fn passages(&self) -> impl Iterator<Item = Result<Passage>> + '_ {
        (0..self.len() as u32).map(|o| self.passage(o))
    }
}

/// An exclusive lock on a knowledge-base folder, held while a generation is
/// built or garbage is collected, so two ingests never remove each other's
/// work. Released when dropped (or when the process dies).
pub struct IngestLock {
    _file: File,
}

impl IngestLock {
    /// Takes the lock, or fails at once if another ingest holds it.
    pub fn acquire(root: &Path) -> Result<IngestLock> {
        use std::os::fd::AsRawFd;
        fs::create_dir_all(root).map_err(io(root))?;
        let path = root.join("ingest.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        // SAFETY: flock on a descriptor we own; no memory is shared.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(KbError::Busy(root.display().to_string()));
        }
        Ok(IngestLock { _file: file })
    }
}

/// A generation being written. Dropping it without [`Staging::commit`]
/// removes the partial folder.
pub struct Staging {
    root: PathBuf,
    dir: PathBuf,
    committed: bool,
    _lock: IngestLock,
}

impl Staging {
    pub fn new(root: &Path) -> Result<Staging> {
        let lock = IngestLock::acquire(root)?;
        clean_stale(root, &lock);
        let dir = root.join(format!(".tmp-{}-{}", std::process::id(), now_nanos()));
        fs::create_dir(&dir).map_err(io(&dir))?;
        Ok(Staging {
            root: root.to_path_buf(),
            dir,
            committed: false,
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes pages, passages and the index into the staging folder.
    pub fn write(&self, pages: &[Page], passages: &[Passage]) -> Result<()> {
        let pages_path = self.dir.join("pages.json");
        write_synced(
            &pages_path,
            &serde_json::to_vec(pages).map_err(|e| KbError::Corrupt(e.to_string()))?,
        )?;
        let pas_path = self.dir.join("passages.jsonl");
        let f = File::create(&pas_path).map_err(io(&pas_path))?;
        let mut w = BufWriter::new(f);
        let mut offsets = Vec::with_capacity(passages.len() + 1);
        let mut pos = 0u64;
        for p in passages {
            offsets.push(pos);
            let mut line = serde_json::to_vec(p).map_err(|e| KbError::Corrupt(e.to_string()))?;
            line.push(b'\n');
            w.write_all(&line).map_err(io(&pas_path))?;
            pos += line.len() as u64;
        }
        offsets.push(pos);
        let f = w.into_inner().map_err(|e| io(&pas_path)(e.into_error()))?;
        f.sync_all().map_err(io(&pas_path))?;
        let off: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
        write_synced(&self.dir.join("passages.offsets"), &off)?;
        let page_of: Vec<u8> = passages.iter().flat_map(|p| p.page.to_le_bytes()).collect();
        write_synced(&self.dir.join("passages.pages"), &page_of)?;
        failpoint("ingest:after-passages");
        let docs = passages.iter().enumerate().map(|(i, p)| {
            let page = &pages[p.page as usize];
            (i as u32, p, page)
        });
        let sections: Vec<String> = passages.iter().map(|p| p.section_label()).collect();
        sextant_index::build(
            &self.dir.join("bm25"),
            docs.map(|(ord, p, page)| sextant_index::IndexDoc {
                ord,
                page: p.page,
                title: &page.title,
                section: &sections[ord as usize],
                body: &p.text,
            }),
        )?;
        failpoint("ingest:after-index");
        Ok(())
    }

    /// Writes the passage embeddings (row `i` is passage `i`).
    pub fn write_vectors(&self, dim: usize, rows: &[f32]) -> Result<()> {
        sextant_embed::write_vectors(&self.dir.join("vectors.f32"), dim, rows)?;
        failpoint("ingest:after-vectors");
        Ok(())
    }

    /// Writes the sentence embeddings (`counts[p]` rows for passage `p`,
    /// each with its text's tag).
    pub fn write_sentence_vectors(
        &self,
        dim: usize,
        counts: &[u32],
        tags: &[u32],
        rows: &[f32],
    ) -> Result<()> {
        let path = self.dir.join("sentences.i8");
        sextant_embed::write_sentence_vectors(&path, dim, counts, tags, rows)?;
        failpoint("ingest:after-sentence-vectors");
        Ok(())
    }

    /// Writes the manifest, moves the generation into place and points
    /// `CURRENT` at it. Older generations are removed afterwards.
    pub fn commit(self, manifest: &Manifest) -> Result<PathBuf> {
        let json =
            serde_json::to_vec_pretty(manifest).map_err(|e| KbError::Corrupt(e.to_string()))?;
        self.commit_manifest(&manifest.fingerprint, &json)
    }

    /// [`Staging::commit`] for any generation kind (the trial index uses
    /// it): `manifest` is written as `manifest.json`, `fingerprint` names
    /// the generation.
    pub fn commit_manifest(mut self, fingerprint: &str, manifest: &[u8]) -> Result<PathBuf> {
        write_synced(&self.dir.join("manifest.json"), manifest)?;
        sync_dir(&self.dir)?;
        let short: String = fingerprint
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect();
        let short = short.as_str();
        let name = format!("gen-{short}-{}", now_nanos());
        let gen = self.root.join(&name);
        fs::rename(&self.dir, &gen).map_err(io(&gen))?;
        self.committed = true;
        sync_dir(&self.root)?;
        failpoint("ingest:before-current");
        let tmp = self.root.join("CURRENT.tmp");
        write_synced(&tmp, name.as_bytes())?;
        fs::rename(&tmp, self.root.join("CURRENT")).map_err(io(&tmp))?;
        sync_dir(&self.root)?;
        failpoint("ingest:after-current");
        // Old generations are garbage now; a failure to remove them is harmless.
        if let Ok(entries) = fs::read_dir(&self.root) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().to_string();
                if n.starts_with("gen-") && n != name {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(gen)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Removes `.tmp-<pid>-*` folders left by processes that no longer run, and
/// generations that `CURRENT` does not name (left by a crash between the
/// rename and the switch, or between the switch and the clean-up). Taking
/// the [`IngestLock`] as an argument makes "only while holding it" a rule
/// the compiler checks.
pub fn clean_stale(root: &Path, _held: &IngestLock) {
    let live = current_generation(root).ok().flatten();
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        if let Some(rest) = n.strip_prefix(".tmp-") {
            let pid = rest.split('-').next().unwrap_or("");
            if !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir_all(e.path());
            }
        } else if n.starts_with("gen-") && live.as_deref() != Some(e.path().as_path()) {
            let _ = fs::remove_dir_all(e.path());
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

pub(crate) fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}
