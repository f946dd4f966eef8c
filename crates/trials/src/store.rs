//! The trial index inside the knowledge base, and how a new one replaces
//! the old atomically.
//!
//! ```text
//! <kb root>/trials/
//!   CURRENT               name of the live generation (replaced by rename)
//!   gen-<fp>-<t>/
//!     manifest.json       format, fingerprint, sources, counts, data dates
//!     trials.jsonl        one Trial per line, in index order
//!     bm25/               tantivy: title, conditions, summary + criteria
//!     vectors.f32         n × 384 embeddings of title, conditions, summary
//!   .tmp-<pid>-<t>/       a generation being built (never read)
//! ```
//!
//! Building and switching use the knowledge base's own staging
//! ([`sextant_kb::store::Staging`]): the new generation is written and
//! flushed in a temporary folder, renamed, and only then named by
//! `CURRENT`. A crash at any point leaves the previous index live.
//!
//! The whole trial list is loaded into memory when the index is opened:
//! fine for the thousands of cancer trials a deployment follows, not for all
//! of ClinicalTrials.gov (a limit written down in ARCHITECTURE.md).

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sextant_core::Issue;
use sextant_embed::{Embedder, FlatVectors};
use sextant_index::{Bm25Index, QueryTerm};
use sextant_kb::store::{current_generation, Staging};
use sha2::{Digest, Sha256};

use crate::matching::{self, MatchOptions, Person, TrialMatch};
use crate::model::{Eligibility, Trial};
use crate::{read, Result, TrialsError};

/// Bumped when the layout or what is indexed changes.
pub const FORMAT_VERSION: u32 = 1;

/// What a trial generation holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialManifest {
    pub format: u32,
    /// sha256 over the format and every trial as stored.
    pub fingerprint: String,
    /// The folders or files read.
    pub sources: Vec<String>,
    /// Unix seconds.
    pub built_at: u64,
    pub trials: usize,
    /// Trials with eligibility criteria.
    pub with_criteria: usize,
    /// Data dates and how many trials carry each (`unknown` when none).
    pub data_dates: Vec<(String, usize)>,
    /// Problems met while reading, counted (they are printed at ingest).
    pub issues: usize,
    /// The embedding model, when vectors were made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vectors: Option<String>,
}

/// The folder of the trial index inside a knowledge base.
pub fn trials_root(kb_root: &Path) -> PathBuf {
    kb_root.join("trials")
}

/// What an ingest did.
#[derive(Debug)]
pub struct IngestReport {
    pub manifest: TrialManifest,
    pub issues: Vec<Issue>,
    pub generation: PathBuf,
}

/// The text a trial is embedded from: what it is about, not its
/// criteria (those are matched rule by rule).
pub fn embed_text(t: &Trial) -> String {
    format!(
        "{}. {}. {}",
        t.title,
        t.conditions.join(", "),
        matching::plain_summary(&t.summary)
    )
}

fn criteria_text(t: &Trial) -> String {
    match &t.eligibility {
        Eligibility::Text(s) => s.clone(),
        Eligibility::Listed(items) => {
            let v: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
            v.join("\n")
        }
        Eligibility::None => String::new(),
    }
}

/// Reads every trial under `sources` and builds a new generation of the
/// trial index under `kb_root/trials`, switching to it atomically.
pub fn ingest(
    kb_root: &Path,
    sources: &[PathBuf],
    data_date: Option<&str>,
    embedder: Option<&Embedder>,
) -> Result<IngestReport> {
    let mut trials: Vec<Trial> = Vec::new();
    let mut issues = Vec::new();
    for src in sources {
        let (got, iss) = if src.is_dir() {
            read::read_dir(src, data_date)?
        } else {
            read::read_file(src, data_date)?
        };
        issues.extend(iss);
        for t in got {
            match trials.iter().position(|x| x.id == t.id) {
                // A later source with criteria replaces a summary.
                Some(i) if matches!(trials[i].eligibility, Eligibility::None) => trials[i] = t,
                Some(_) => issues.push(Issue::new(
                    t.source.origin.clone(),
                    format!("{} read twice; the first kept", t.id),
                )),
                None => trials.push(t),
            }
        }
    }
    let labels: Vec<String> = sources.iter().map(|s| s.display().to_string()).collect();
    ingest_trials(kb_root, trials, issues, labels, embedder)
}

/// Builds a new generation from trials already read (a registry fetch
/// merged with the live index, for instance), switching to it atomically.
pub fn ingest_trials(
    kb_root: &Path,
    mut trials: Vec<Trial>,
    issues: Vec<Issue>,
    sources: Vec<String>,
    embedder: Option<&Embedder>,
) -> Result<IngestReport> {
    trials.sort_by(|a, b| a.id.cmp(&b.id));
    trials.dedup_by(|a, b| a.id == b.id);
    let root = trials_root(kb_root);
    let staging = Staging::new(&root)?;
    let dir = staging.dir().to_path_buf();
    let mut hasher = Sha256::new();
    hasher.update(FORMAT_VERSION.to_le_bytes());
    let path = dir.join("trials.jsonl");
    let f = File::create(&path).map_err(io(&path))?;
    let mut w = BufWriter::new(f);
    for t in &trials {
        let mut line = serde_json::to_vec(t).map_err(|e| TrialsError::Index(e.to_string()))?;
        hasher.update(&line);
        line.push(b'\n');
        w.write_all(&line).map_err(io(&path))?;
    }
    let f = w.into_inner().map_err(|e| io(&path)(e.into_error()))?;
    f.sync_all().map_err(io(&path))?;
    sextant_kb::failpoint("trials:after-records");
    let conditions: Vec<String> = trials.iter().map(|t| t.conditions.join("; ")).collect();
    let bodies: Vec<String> = trials
        .iter()
        .map(|t| format!("{}\n{}", t.summary, criteria_text(t)))
        .collect();
    sextant_index::build(
        &dir.join("bm25"),
        trials
            .iter()
            .enumerate()
            .map(|(i, t)| sextant_index::IndexDoc {
                ord: i as u32,
                page: i as u32,
                title: &t.title,
                section: &conditions[i],
                body: &bodies[i],
            }),
    )
    .map_err(|e| TrialsError::Index(e.to_string()))?;
    sextant_kb::failpoint("trials:after-index");
    let mut vectors = None;
    if let Some(e) = embedder {
        if !trials.is_empty() {
            let texts: Vec<String> = trials.iter().map(embed_text).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let rows = e
                .embed(&refs, &|_| {})
                .map_err(|e| TrialsError::Index(e.to_string()))?;
            sextant_embed::write_vectors(&dir.join("vectors.f32"), 384, &rows)
                .map_err(|e| TrialsError::Index(e.to_string()))?;
            vectors = Some(e.model_id());
        }
    }
    let mut dates: Vec<(String, usize)> = Vec::new();
    for t in &trials {
        let d = t
            .source
            .data_date
            .clone()
            .unwrap_or_else(|| "unknown".into());
        match dates.iter_mut().find(|(x, _)| *x == d) {
            Some((_, n)) => *n += 1,
            None => dates.push((d, 1)),
        }
    }
    dates.sort();
    let fingerprint = format!("{:x}", hasher.finalize());
    let manifest = TrialManifest {
        format: FORMAT_VERSION,
        fingerprint: fingerprint.clone(),
        sources,
        built_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        trials: trials.len(),
        with_criteria: trials
            .iter()
            .filter(|t| !matches!(t.eligibility, Eligibility::None))
            .count(),
        data_dates: dates,
        issues: issues.len(),
        vectors,
    };
    let json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| TrialsError::Index(e.to_string()))?;
    let generation = staging.commit_manifest(&fingerprint, &json)?;
    Ok(IngestReport {
        manifest,
        issues,
        generation,
    })
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> TrialsError + '_ {
    move |source| TrialsError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// An open trial index.
pub struct TrialIndex {
    manifest: TrialManifest,
    trials: Vec<Trial>,
    bm25: Bm25Index,
    vectors: Option<FlatVectors>,
}

/// How a search found a trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub index: usize,
    /// BM25 score divided by the best of the search (0–1).
    pub text: f32,
    /// Cosine similarity to the query embedding, when vectors exist.
    pub vector: Option<f32>,
}

impl TrialIndex {
    /// Opens the live trial index of a knowledge base.
    pub fn open(kb_root: &Path) -> Result<TrialIndex> {
        let root = trials_root(kb_root);
        let dir = current_generation(&root)?
            .ok_or_else(|| TrialsError::NotIngested(root.display().to_string()))?;
        Self::open_dir(&dir)
    }

    fn open_dir(dir: &Path) -> Result<TrialIndex> {
        let mpath = dir.join("manifest.json");
        let text = fs::read_to_string(&mpath).map_err(io(&mpath))?;
        let manifest: TrialManifest = serde_json::from_str(&text)
            .map_err(|e| TrialsError::Index(format!("{}: {e}", mpath.display())))?;
        if manifest.format != FORMAT_VERSION {
            return Err(TrialsError::Index(format!(
                "the trial index was built by another version of Sextant (format {}; this one reads {FORMAT_VERSION}): run `sextant trials ingest`",
                manifest.format
            )));
        }
        let path = dir.join("trials.jsonl");
        let f = File::open(&path).map_err(io(&path))?;
        let mut trials = Vec::with_capacity(manifest.trials);
        for (i, line) in BufReader::new(f).lines().enumerate() {
            let line = line.map_err(io(&path))?;
            let t: Trial = serde_json::from_str(&line).map_err(|e| {
                TrialsError::Index(format!("{} line {}: {e}", path.display(), i + 1))
            })?;
            trials.push(t);
        }
        if trials.len() != manifest.trials {
            return Err(TrialsError::Index(format!(
                "{} holds {} trials; the manifest says {}",
                path.display(),
                trials.len(),
                manifest.trials
            )));
        }
        let bm25 =
            Bm25Index::open(&dir.join("bm25")).map_err(|e| TrialsError::Index(e.to_string()))?;
        let vectors = match &manifest.vectors {
            Some(_) => Some(
                FlatVectors::open(&dir.join("vectors.f32"), 384, trials.len())
                    .map_err(|e| TrialsError::Index(e.to_string()))?,
            ),
            None => None,
        };
        Ok(TrialIndex {
            manifest,
            trials,
            bm25,
            vectors,
        })
    }

    pub fn manifest(&self) -> &TrialManifest {
        &self.manifest
    }

    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    pub fn get(&self, id: &str) -> Option<&Trial> {
        self.trials
            .iter()
            .find(|t| t.id == id || t.other_ids.iter().any(|o| o == id))
    }

    pub fn has_vectors(&self) -> bool {
        self.vectors.is_some()
    }

    /// BM25 over title, conditions, summary and criteria: `(trial, score)`,
    /// best first, scores divided by the best.
    pub fn search_text(&self, text: &str, limit: usize) -> Result<Vec<(usize, f32)>> {
        let terms = [QueryTerm {
            text: text.to_string(),
            weight: 1.0,
        }];
        let hits = self
            .bm25
            .search(&terms, Arc::new(Vec::new()), limit)
            .map_err(|e| TrialsError::Index(e.to_string()))?;
        let best = hits
            .first()
            .map(|h| h.score)
            .unwrap_or(1.0)
            .max(f32::MIN_POSITIVE);
        Ok(hits
            .into_iter()
            .filter(|h| (h.ord as usize) < self.trials.len())
            .map(|h| (h.ord as usize, h.score / best))
            .collect())
    }

    /// Cosine similarity of every trial to a query vector.
    pub fn similarities(&self, query: &[f32]) -> Option<Vec<f32>> {
        let v = self.vectors.as_ref()?;
        Some(
            (0..self.trials.len())
                .map(|i| {
                    v.row(i)
                        .map(|r| sextant_embed::dot(r, query))
                        .unwrap_or(0.0)
                })
                .collect(),
        )
    }

    /// Trials for a person: candidates by BM25 (and embeddings when both
    /// the index and `embedder` have them) over what the profile says,
    /// each judged criterion by criterion, ranked, best `limit` first.
    /// `note` is the person's own text (a pasted history), searched with
    /// the profile's words when given.
    pub fn match_person(
        &self,
        person: &Person,
        note: Option<&str>,
        embedder: Option<&Embedder>,
        candidates: usize,
        limit: usize,
    ) -> Result<Vec<TrialMatch>> {
        let query = match note {
            Some(n) => format!("{} {n}", person.query_text()),
            None => person.query_text(),
        };
        let mut found: Vec<Found> = Vec::new();
        if !query.trim().is_empty() {
            for (i, s) in self.search_text(&query, candidates)? {
                found.push(Found {
                    index: i,
                    text: s,
                    vector: None,
                });
            }
        }
        if let (Some(e), true, false) = (embedder, self.vectors.is_some(), query.trim().is_empty())
        {
            if let Ok(q) = e.embed_one(&query) {
                if let Some(sims) = self.similarities(&q) {
                    let mut order: Vec<usize> = (0..sims.len()).collect();
                    order.sort_by(|a, b| sims[*b].total_cmp(&sims[*a]));
                    for f in &mut found {
                        f.vector = Some(sims[f.index]);
                    }
                    for i in order.into_iter().take(candidates) {
                        if !found.iter().any(|f| f.index == i) {
                            found.push(Found {
                                index: i,
                                text: 0.0,
                                vector: Some(sims[i]),
                            });
                        }
                    }
                }
            }
        }
        // With nothing to search by (an empty profile), every trial is a
        // candidate and the criteria decide.
        if found.is_empty() {
            found = (0..self.trials.len().min(candidates.max(limit)))
                .map(|i| Found {
                    index: i,
                    text: 0.0,
                    vector: None,
                })
                .collect();
        }
        let mut out: Vec<TrialMatch> = found
            .iter()
            .map(|f| {
                let mut m = matching::match_trial(&self.trials[f.index], person);
                m.score += similarity_bonus(f);
                m
            })
            .collect();
        matching::rank(&mut out);
        out.truncate(limit);
        Ok(out)
    }
}

/// Text similarity's share of the ranking score, next to relevance and
/// fit: up to 3 points for BM25 (scaled to the best candidate) and 1 for
/// the embedding. How a person describes their history is strong evidence
/// of which trials are about them (the BM25 baseline alone ranks well in
/// `sextant eval trials`), so it weighs about as much as a cancer-type
/// match.
pub const TEXT_WEIGHT: f32 = 10.0;
pub const VECTOR_WEIGHT: f32 = 1.0;

pub fn similarity_bonus(f: &Found) -> f32 {
    TEXT_WEIGHT * f.text + f.vector.map(|v| v.max(0.0) * VECTOR_WEIGHT).unwrap_or(0.0)
}

/// Matches with the options' year; a convenience for callers with a profile.
pub fn person(profile: &sextant_records::Profile, opts: MatchOptions) -> Person {
    Person::from_profile(profile, opts.today_year)
}
