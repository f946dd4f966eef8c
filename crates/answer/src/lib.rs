//! Sextant's answering: question analysis, retrieval (BM25, dense, or both
//! fused) with cancer-type and audience boosts, extractive composition of a cited, sectioned answer, and
//! the check that every sentence is verbatim in the passages it cites.
//!
//! The default composer uses no language model: every sentence of an answer's
//! sections and bottom line is copied from a retrieved passage, so it cannot
//! say anything its sources do not.

pub mod ambiguity;
pub mod analyze;
pub mod asked;
pub mod belief;
pub mod civic;
pub mod compose;
pub mod fusion;
pub mod generate;
pub mod grounding;
pub mod logistic;
pub mod personal;
pub mod profile;
pub mod quality;
pub mod render;
pub mod routes;
pub mod sentence_model;

use std::path::Path;
use std::sync::Arc;

use sextant_core::{Answer, AnswerKind, Audience, PageKind};
use sextant_embed::{Embedder, VectorSearch};
use sextant_index::{Hit, QueryTerm};
use sextant_kb::Kb;

pub use analyze::{Analysis, Intent, QuestionError};
pub use routes::Locale;

/// Where a question goes, decided before retrieval in this order: an
/// emergency the person reports comes before anything else; then a message
/// too unclear to answer; a dosing request; a question outside scope; an
/// ambiguous reference answered for each reading; else an ordinary answer.
#[derive(Debug, Clone)]
pub enum Route {
    Emergency(sextant_safety::Emergency),
    Unclear,
    Dosing(sextant_safety::DosingAsk),
    OutOfScope,
    Ambiguous(ambiguity::Detected),
    Question,
}

impl Route {
    /// The route's name as labeled sets write it (`emergency`, `dosing`,
    /// `out_of_scope`, `ambiguous`, `unclear`, `question`), and its detail:
    /// the emergency situation, the dosing kind, or the ambiguity.
    pub fn label(&self) -> (&'static str, &'static str) {
        match self {
            Route::Emergency(e) => (e.level.as_str(), e.situation.id),
            Route::Unclear => ("unclear", ""),
            Route::Dosing(d) => ("dosing", d.kind),
            Route::OutOfScope => ("out_of_scope", ""),
            Route::Ambiguous(d) => ("ambiguous", d.ambiguity.id),
            Route::Question => ("question", ""),
        }
    }

    /// The answer kind the route leads to (`Question` and `Ambiguous` may
    /// still end as `no_evidence`).
    pub fn kind(&self) -> sextant_core::AnswerKind {
        use sextant_core::AnswerKind as K;
        match self {
            Route::Emergency(e) if e.level == sextant_core::Urgency::Urgent => K::Urgent,
            Route::Emergency(_) => K::Emergency,
            Route::Unclear => K::Unclear,
            Route::Dosing(_) => K::Dosing,
            Route::OutOfScope => K::OutOfScope,
            Route::Ambiguous(_) | Route::Question => K::Answer,
        }
    }
}

/// Routes a validated question by the rules alone. Needs no knowledge
/// base: `drugs` are the lower-case drug names known to it, sorted (may be
/// empty).
pub fn route(question: &str, drugs: &[String]) -> Route {
    route_with(question, drugs, None)
}

/// Routes a validated question: an emergency or urgent problem first (the
/// rules, then the learned layer over the question's `embedding` when there
/// is one), then the rest in [`route_after_triage`]'s order.
pub fn route_with(question: &str, drugs: &[String], embedding: Option<&[f32]>) -> Route {
    match sextant_safety::triage(question, embedding) {
        Some(e) => Route::Emergency(e),
        None => route_after_triage(question, drugs, embedding),
    }
}

/// Where a question goes once no emergency was found: too unclear, a dosing
/// request, out of scope (by the scope rules, and the scope gate over the
/// `embedding` when there is one), ambiguous, else an ordinary question.
pub fn route_after_triage(question: &str, drugs: &[String], embedding: Option<&[f32]>) -> Route {
    if sextant_safety::unclear(question, drugs) {
        return Route::Unclear;
    }
    if let Some(d) = sextant_safety::dosing(question, drugs) {
        return Route::Dosing(d);
    }
    if sextant_safety::out_of_scope_with(question, drugs, embedding) {
        return Route::OutOfScope;
    }
    if let Some(d) = ambiguity::detect(question) {
        return Route::Ambiguous(d);
    }
    Route::Question
}

/// Errors of answering.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Question(#[from] QuestionError),
    #[error(transparent)]
    Kb(#[from] sextant_kb::KbError),
    #[error(transparent)]
    Index(#[from] sextant_index::IndexError),
    #[error(transparent)]
    Embed(#[from] sextant_embed::EmbedError),
}

pub type Result<T> = std::result::Result<T, AnswerError>;

/// How many passages retrieval hands to the composer.
pub const COMPOSE_PASSAGES: usize = 12;

/// How many passages each retriever contributes to fusion.
pub const FUSION_DEPTH: usize = 100;

/// How many of the top passages [`Engine::evidence_strength`] looks at.
pub const EVIDENCE_DEPTH: usize = 3;

/// Dense evidence below this (cosine of the question to its best top
/// passage) means the sources do not cover the question: calibrated by
/// `sextant eval abstention` (BENCHMARKS.md).
/// It applies to questions that name no cancer type.
pub const ABSTAIN_BELOW: f32 = 0.54;

/// Which retrieval finds the passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retriever {
    /// Lexical: tantivy BM25 over title, section and text.
    Bm25,
    /// Semantic: MiniLM embeddings, exact dot-product search.
    Dense,
    /// Both, fused by reciprocal rank.
    Hybrid,
}

impl Retriever {
    pub const ALL: [Retriever; 3] = [Retriever::Bm25, Retriever::Dense, Retriever::Hybrid];
    /// The default, chosen by `sextant eval` (BENCHMARKS.md).
    pub const DEFAULT: Retriever = Retriever::Hybrid;

    pub fn as_str(self) -> &'static str {
        match self {
            Retriever::Bm25 => "bm25",
            Retriever::Dense => "dense",
            Retriever::Hybrid => "hybrid",
        }
    }
}

impl std::str::FromStr for Retriever {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Retriever::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown retriever {s:?}: use bm25, dense or hybrid"))
    }
}

impl std::fmt::Display for Retriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Boost weights, in one place so eval can report what was used.
pub mod boosts {
    /// Passages written for patients.
    pub const PATIENT: f32 = 1.5;
    /// Pages about a cancer type the question names.
    pub const TYPE_MATCH: f32 = 1.6;
    /// Pages about a different cancer type than the one asked about.
    pub const TYPE_MISMATCH: f32 = 0.8;
    /// Drug pages when the question is not about a drug.
    pub const DRUG_OFF_TOPIC: f32 = 0.6;
    /// The page of the drug a question names.
    pub const DRUG_MATCH: f32 = 2.0;
    /// Pages of no patient-information kind (program pages, misc).
    pub const OTHER_KIND: f32 = 0.8;
    /// Research news and articles: dated reports of single studies.
    pub const NEWS: f32 = 0.75;
    /// Weight of a named type's full names when the question used its abbreviation ("HCC").
    pub const ABBREVIATION_EXPANSION_WEIGHT: f32 = 0.8;
    /// PDQ® summaries: expert-board reviewed, the most complete patient pages.
    pub const PDQ: f32 = 1.15;
    /// Childhood-cancer pages when the question is about a child...
    pub const CHILD_MATCH: f32 = 1.4;
    /// ...and when it is not.
    pub const CHILD_MISMATCH: f32 = 0.7;
    /// Weight of cancer-type synonyms added to the query.
    pub const SYNONYM_WEIGHT: f32 = 0.35;
    /// Weight of intent words added to the query.
    pub const INTENT_WEIGHT: f32 = 0.3;
    /// Weight of a long question's words outside the clause that asks.
    pub const STORY_WEIGHT: f32 = 0.6;
    /// Weight of words from the person's records (stage, receptors, genes):
    /// below a synonym's, so the question's own words still lead.
    pub const PROFILE_WEIGHT: f32 = 0.25;
    /// The retrieval score a passage found by [`crate::Engine::locate`] gets,
    /// as a share of the first retrieval's top score: it was found by the
    /// asking clause's words within a page already judged on topic, so it
    /// competes with the first hits, a little below the best.
    pub const LOCATED_SHARE: f32 = 0.8;
}

/// How many of the first retrieval's pages [`Engine::locate`] searches.
pub const LOCATE_PAGES: usize = 5;

/// How many passages [`Engine::locate`] adds at most.
pub const LOCATE_PASSAGES: usize = 4;

/// An open knowledge base, ready to answer.
pub struct Engine {
    kb: Kb,
    /// Lower-case first words of drug page titles ("sorafenib").
    drug_names: Vec<String>,
    embedder: Option<Embedder>,
    /// The embedder made the knowledge base's vectors: dense retrieval and
    /// sentence cosines can run. Set with the embedder, read per question.
    dense_ready: bool,
    retriever: Retriever,
    locale: &'static Locale,
    civic: Option<civic::Civic>,
    /// The last questions' embeddings: routing embeds the question and
    /// dense retrieval needs the same vector.
    recent_vectors: sextant_embed::RecentVectors,
}

/// How many question embeddings [`Engine`] keeps for reuse.
/// Question embeddings kept in memory (about 1.5 KiB each).
const RECENT_VECTORS: usize = 1024;

impl Engine {
    pub fn open(kb_root: &Path) -> Result<Engine> {
        Ok(Engine::new(Kb::open(kb_root)?))
    }

    pub fn new(kb: Kb) -> Engine {
        // Drug pages are titled by the drug ("Tamoxifen Citrate"); list pages
        // ("Drugs Approved for ...", "Cancer Drugs", "Off-Label Drug Use")
        // and common words are not drug names.
        const NOT_DRUGS: &[&str] = &[
            "cancer",
            "drugs",
            "drug",
            "access",
            "off",
            "off-label",
            "recombinant",
            "using",
        ];
        let mut drug_names: Vec<String> = kb
            .pages()
            .iter()
            .filter(|p| {
                p.kind == PageKind::Drug
                    && !p.title.contains("Drugs")
                    && !p.title.contains(" Drug ")
            })
            .filter_map(|p| p.title.split_whitespace().next())
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .filter(|w| {
                w.len() >= 4
                    && !NOT_DRUGS.contains(&w.as_str())
                    && !sextant_core::text::is_stopword(w)
            })
            .collect();
        drug_names.sort();
        drug_names.dedup();
        Engine {
            kb,
            drug_names,
            embedder: None,
            dense_ready: false,
            retriever: Retriever::DEFAULT,
            locale: Locale::default_locale(),
            civic: None,
            recent_vectors: sextant_embed::RecentVectors::new(RECENT_VECTORS),
        }
    }

    /// Keeps at most `capacity` question embeddings in memory (default
    /// 1024). The load test keeps 16, so that every cycled question of its
    /// "every answer computed" run is embedded again.
    pub fn with_question_memory(mut self, capacity: usize) -> Engine {
        self.recent_vectors = sextant_embed::RecentVectors::new(capacity);
        self
    }

    /// The question's sentence embedding, reused when the same text was
    /// embedded recently (routing, then retrieval).
    pub fn question_vector(&self, text: &str) -> Result<Option<Vec<f32>>> {
        let Some(e) = &self.embedder else {
            return Ok(None);
        };
        if let Some(v) = self.recent_vectors.get(text) {
            return Ok(Some(v));
        }
        let v = e.embed_one(text)?;
        self.recent_vectors.put(text, &v);
        Ok(Some(v))
    }

    /// Gives the engine CIViC's biomarker evidence, for personal answers.
    pub fn with_civic(mut self, civic: Option<civic::Civic>) -> Engine {
        self.civic = civic;
        self
    }

    /// Sets the region whose emergency and crisis numbers are given.
    pub fn with_locale(mut self, locale: &'static Locale) -> Engine {
        self.locale = locale;
        self
    }

    pub fn locale(&self) -> &'static Locale {
        self.locale
    }

    /// Lower-case names of the drugs the knowledge base has pages for.
    pub fn drug_names(&self) -> &[String] {
        &self.drug_names
    }

    /// Gives the engine the embedding model dense retrieval needs.
    pub fn with_embedder(mut self, embedder: Option<Embedder>) -> Engine {
        self.embedder = embedder;
        self.dense_ready = self.dense_unavailable().is_none();
        self
    }

    /// Whether dense retrieval and sentence cosines can run (see
    /// [`Engine::dense_unavailable`] for why not, in words).
    pub fn dense_ready(&self) -> bool {
        self.dense_ready
    }

    /// The embedding model, when loaded.
    pub fn embedder(&self) -> Option<&Embedder> {
        self.embedder.as_ref()
    }

    /// Sets the retrieval [`Engine::ask`] uses.
    pub fn with_retriever(mut self, retriever: Retriever) -> Engine {
        self.retriever = retriever;
        self
    }

    /// Why dense retrieval cannot run here, in words for the person, or
    /// `None` when it can.
    pub fn dense_unavailable(&self) -> Option<String> {
        let Some(v) = &self.kb.manifest().vectors else {
            return Some(
                "the knowledge base was built without passage embeddings, so only keyword (BM25) \
                 search was used; run `sextant ingest` to add them (after ./scripts/fetch-models.sh if \
                 the model is not installed)"
                    .to_string(),
            );
        };
        let Some(e) = &self.embedder else {
            return Some(
                "the embedding model is not installed (./scripts/fetch-models.sh installs it), \
                 so only keyword (BM25) search was used"
                    .to_string(),
            );
        };
        (v.model != e.model_id()).then(|| {
            format!(
                "the knowledge base's embeddings come from {} but the installed model is {}, so \
                 only keyword (BM25) search was used; run `sextant ingest` to rebuild them",
                v.model,
                e.model_id()
            )
        })
    }

    /// The retrieval that `wanted` really gets: BM25 when dense retrieval
    /// is unavailable.
    pub fn effective(&self, wanted: Retriever) -> Retriever {
        if wanted != Retriever::Bm25 && !self.dense_ready {
            Retriever::Bm25
        } else {
            wanted
        }
    }

    pub fn kb(&self) -> &Kb {
        &self.kb
    }

    /// Validates and analyzes a question.
    pub fn analyze(&self, question: &str) -> Result<Analysis> {
        let q = analyze::validate(question)?;
        Ok(analyze::analyze(&q, &self.drug_names))
    }

    /// The weighted query terms for an analyzed question.
    pub fn query_terms(&self, a: &Analysis) -> Vec<QueryTerm> {
        // The question's own words, except an abbreviation of a named type
        // ("HCC"): that is added below with the type's full names, which
        // patient pages use, and counts no more than they do.
        let raw: Vec<&str> = a.question.split(|c: char| !c.is_alphanumeric()).collect();
        let uses_abbreviation =
            |ct: &sextant_core::CancerType| ct.abbreviations.iter().any(|ab| raw.contains(ab));
        let abbreviations: Vec<String> = a
            .cancer_types
            .iter()
            .flat_map(|c| c.abbreviations.iter().map(|x| x.to_lowercase()))
            .collect();
        // In a question of several sentences, the story around the asking
        // clause ("I'm 51, I finished radiation six weeks ago...") counts
        // less than the clause that asks.
        let clause_words: Vec<String> =
            sextant_core::text::words(asked::asking_clause(&a.question));
        let told = sextant_core::text::sentence_spans(&a.question).len() >= 2;
        let mut terms: Vec<QueryTerm> = a
            .content_words
            .iter()
            .filter(|w| !abbreviations.contains(w))
            .map(|w| QueryTerm {
                text: w.clone(),
                weight: if told && !clause_words.contains(w) {
                    boosts::STORY_WEIGHT
                } else {
                    1.0
                },
            })
            .collect();
        for ct in &a.cancer_types {
            let weight = if uses_abbreviation(ct) {
                boosts::ABBREVIATION_EXPANSION_WEIGHT
            } else {
                boosts::SYNONYM_WEIGHT
            };
            for alias in ct.aliases.iter().filter(|a| !a.starts_with('~')) {
                terms.push(QueryTerm {
                    text: alias.to_string(),
                    weight,
                });
            }
            for ab in ct.abbreviations {
                terms.push(QueryTerm {
                    text: ab.to_lowercase(),
                    weight: boosts::SYNONYM_WEIGHT,
                });
            }
        }
        for w in profile::profile(a.intent).expansion {
            terms.push(QueryTerm {
                text: w.to_string(),
                weight: boosts::INTENT_WEIGHT,
            });
        }
        for t in &a.profile_terms {
            terms.push(QueryTerm {
                text: t.clone(),
                weight: boosts::PROFILE_WEIGHT,
            });
        }
        for v in &a.stage_variants {
            terms.push(QueryTerm {
                text: v.clone(),
                weight: boosts::SYNONYM_WEIGHT,
            });
        }
        // "Is it hereditary?", "does it run in families?": pages say
        // "inherited", "family history", "gene".
        let heredity = a.content_words.iter().any(|w| {
            w.starts_with("heredit")
                || w.starts_with("inherit")
                || w.starts_with("genetic")
                || w == "families"
                || w == "family"
        });
        if a.intent == Intent::Causes && heredity {
            for w in ["inherited", "family history", "genes", "genetic"] {
                terms.push(QueryTerm {
                    text: w.to_string(),
                    weight: boosts::SYNONYM_WEIGHT,
                });
            }
        }
        terms
    }

    /// Per-page score multipliers for an analyzed question.
    pub fn page_boosts(&self, a: &Analysis) -> Vec<f32> {
        let asked: Vec<&str> = a.cancer_types.iter().map(|c| c.id).collect();
        self.kb
            .pages()
            .iter()
            .map(|p| {
                let mut b = 1.0;
                if p.audience == Audience::Patient {
                    b *= boosts::PATIENT;
                }
                if !asked.is_empty() {
                    if p.cancer_types.iter().any(|t| asked.contains(&t.as_str())) {
                        b *= boosts::TYPE_MATCH;
                    } else if !p.cancer_types.is_empty() {
                        // Every page type is a catalog id: a typed page is
                        // about some other cancer.
                        b *= boosts::TYPE_MISMATCH;
                    }
                }
                match p.kind {
                    PageKind::PdqSummary => b *= boosts::PDQ,
                    PageKind::Other => b *= boosts::OTHER_KIND,
                    PageKind::News => b *= boosts::NEWS,
                    _ => {}
                }
                if is_child_page(p) {
                    // A parent asking how to talk to their children is not
                    // asking about childhood cancer.
                    b *= if a.about_child && a.intent != Intent::Coping {
                        boosts::CHILD_MATCH
                    } else {
                        boosts::CHILD_MISMATCH
                    };
                }
                if p.kind == PageKind::Drug {
                    match &a.drug {
                        Some(d) if is_page_of_drug(p, d) => b *= boosts::DRUG_MATCH,
                        Some(_) => {}
                        None => b *= boosts::DRUG_OFF_TOPIC,
                    }
                }
                b
            })
            .collect()
    }

    /// The top `k` passages for an analyzed question, by `retriever` (or
    /// BM25 where dense retrieval is unavailable: see [`Engine::effective`]).
    pub fn retrieve(&self, a: &Analysis, k: usize, retriever: Retriever) -> Result<Vec<Hit>> {
        Ok(self.retrieve_with_query(a, k, retriever)?.0)
    }

    /// [`Engine::retrieve`], also returning the question's embedding when
    /// dense retrieval ran.
    pub fn retrieve_with_query(
        &self,
        a: &Analysis,
        k: usize,
        retriever: Retriever,
    ) -> Result<(Vec<Hit>, Option<Vec<f32>>)> {
        let boosts = self.page_boosts(a);
        let qvec;
        let ranked = match (self.effective(retriever), &self.embedder, self.kb.vectors()) {
            (Retriever::Bm25, _, _) | (_, None, _) | (_, _, None) => {
                let terms = self.query_terms(a);
                return Ok((self.kb.bm25().search(&terms, Arc::new(boosts), k)?, None));
            }
            (Retriever::Dense, Some(_), Some(v)) => {
                let q = self.question_vector(&a.question)?.unwrap_or_default();
                let r = dense_ranking(v, &q);
                qvec = Some(q);
                vec![r]
            }
            (Retriever::Hybrid, Some(_), Some(v)) => {
                let terms = self.query_terms(a);
                // Unboosted: boosts apply once, after fusion.
                let flat = Arc::new(vec![1.0; boosts.len()]);
                let lexical: Vec<u32> = self
                    .kb
                    .bm25()
                    .search(&terms, flat, FUSION_DEPTH)?
                    .into_iter()
                    .map(|h| h.ord)
                    .collect();
                let q = self.question_vector(&a.question)?.unwrap_or_default();
                let dense = dense_ranking(v, &q);
                qvec = Some(q);
                vec![lexical, dense]
            }
        };
        let lists: Vec<&[u32]> = ranked.iter().map(Vec::as_slice).collect();
        let mut hits: Vec<Hit> = fusion::rrf(&lists, fusion::RRF_K)
            .into_iter()
            .map(|(ord, score)| {
                let page = self.kb.page_of(ord).unwrap_or(0) as usize;
                Hit {
                    ord,
                    score: score * boosts.get(page).copied().unwrap_or(1.0),
                }
            })
            .collect();
        hits.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.ord.cmp(&y.ord)));
        hits.truncate(k);
        Ok((hits, qvec))
    }

    /// The passages of the pages already found that hold the words of the
    /// clause that asks, and that the first retrieval left out: a page on
    /// the topic often answers the question in a section the whole
    /// question's words did not rank ("Can CLL be cured?" finds the CLL
    /// treatment page; its answer is in a section about the goal of
    /// treatment). Searches the first [`LOCATE_PAGES`] pages of `hits` with
    /// BM25 over the clause's words; at most [`LOCATE_PASSAGES`] passages,
    /// scored [`boosts::LOCATED_SHARE`] of the top hit.
    pub fn locate(&self, a: &Analysis, hits: &[Hit]) -> Result<Vec<Hit>> {
        let clause = asked::asking_clause(&a.question);
        let words: Vec<String> = sextant_core::text::words(clause)
            .into_iter()
            .filter(|w| a.content_words.contains(w))
            .collect();
        if words.is_empty() || hits.is_empty() {
            return Ok(Vec::new());
        }
        let mut pages: Vec<u32> = Vec::new();
        for h in hits {
            if let Some(p) = self.kb.page_of(h.ord) {
                if !pages.contains(&p) {
                    pages.push(p);
                }
            }
            if pages.len() == LOCATE_PAGES {
                break;
            }
        }
        let mut only = vec![0.0f32; self.kb.pages().len()];
        for &p in &pages {
            if let Some(b) = only.get_mut(p as usize) {
                *b = 1.0;
            }
        }
        let terms: Vec<QueryTerm> = words
            .into_iter()
            .map(|text| QueryTerm { text, weight: 1.0 })
            .collect();
        let top = hits.iter().map(|h| h.score).fold(0.0f32, f32::max);
        let found = self
            .kb
            .bm25()
            .search(&terms, Arc::new(only), LOCATE_PASSAGES * 3)?;
        Ok(found
            .into_iter()
            .filter(|f| f.score > 0.0 && !hits.iter().any(|h| h.ord == f.ord))
            .take(LOCATE_PASSAGES)
            .map(|f| Hit {
                ord: f.ord,
                score: top * boosts::LOCATED_SHARE,
            })
            .collect())
    }

    /// How well the best of the top passages matches the question: the
    /// highest cosine similarity between the question's embedding and the
    /// top [`EVIDENCE_DEPTH`] passages'. `None` without dense retrieval.
    pub fn evidence_strength(&self, hits: &[Hit], qvec: Option<&[f32]>) -> Option<f32> {
        let (q, v) = (qvec?, self.kb.vectors()?);
        hits.iter()
            .take(EVIDENCE_DEPTH)
            .filter_map(|h| v.row(h.ord as usize))
            .map(|row| sextant_embed::dot(q, row))
            .max_by(f32::total_cmp)
    }

    /// Answers a question with the engine's retriever.
    pub fn ask(&self, question: &str) -> Result<Answer> {
        self.ask_with(question, self.retriever)
    }

    /// Where a validated question goes (see [`route_with`]): with the
    /// embedding model loaded, the learned layer reads the question's
    /// embedding too.
    pub fn route(&self, question: &str) -> Route {
        let v = match sextant_safety::Classifier::shipped() {
            Some(_) => self.question_vector(question).ok().flatten(),
            None => None,
        };
        route_with(question, &self.drug_names, v.as_deref())
    }

    /// Answers a question with a chosen retriever. When dense retrieval was
    /// wanted but cannot run, the answer comes from BM25 and says so in its
    /// `warnings`.
    pub fn ask_with(&self, question: &str, retriever: Retriever) -> Result<Answer> {
        self.ask_personal(question, retriever, None)
    }

    /// Answers a question tailored to the person's records: retrieval
    /// favours their cancer type when the question names none, an ambiguous
    /// question is answered for the reading the records support, and the
    /// answer restates the facts it used, with their sources.
    pub fn ask_personal(
        &self,
        question: &str,
        retriever: Retriever,
        profile: Option<&sextant_records::Profile>,
    ) -> Result<Answer> {
        let q = analyze::validate(question)?;
        let used = self.effective(retriever);
        let mut answer = match self.route(&q) {
            Route::Emergency(e) if e.level == sextant_core::Urgency::Urgent => {
                // Urgent: what to do first, then the question answered in
                // full below it.
                let v = self.question_vector(&q).ok().flatten();
                let body = match route_after_triage(&q, &self.drug_names, v.as_deref()) {
                    Route::Unclear | Route::OutOfScope => None,
                    route => Some(self.ask_routed(&q, route, used, profile)?),
                };
                routes::emergency(self, &q, &e, used, body)?
            }
            Route::Emergency(e) => {
                // The rest of a mixed message is answered below, unless it
                // is itself unclear or another emergency (already routed).
                let also = match &e.rest {
                    Some(rest) => match self.route(rest) {
                        Route::Emergency(_) | Route::Unclear | Route::OutOfScope => None,
                        route => Some(self.ask_routed(rest, route, used, profile)?),
                    },
                    None => None,
                };
                routes::emergency(self, &q, &e, used, also)?
            }
            route => self.ask_routed(&q, route, used, profile)?,
        };
        answer.retriever = used.as_str().to_string();
        if used != retriever {
            answer.warnings.extend(self.dense_unavailable());
        }
        Ok(answer)
    }

    /// Answers a validated question along its route (routed once, by the
    /// caller: routing runs before every answer).
    fn ask_routed(
        &self,
        q: &str,
        route: Route,
        used: Retriever,
        profile: Option<&sextant_records::Profile>,
    ) -> Result<Answer> {
        let mut chosen = None;
        let mut answer = match route {
            Route::Emergency(e) => routes::emergency(self, q, &e, used, None)?,
            Route::Unclear => routes::unclear(q),
            Route::Dosing(d) => routes::dosing(self, q, &d, used)?,
            Route::OutOfScope => routes::out_of_scope(q),
            Route::Ambiguous(d) => {
                let chosen_plan = profile.and_then(|p| Some((p, personal::choose(&d, p)?)));
                let plans = match chosen_plan {
                    Some((p, mut plan)) => {
                        plan.terms = personal::retrieval_terms(p);
                        chosen = Some((plan.label.clone(), d.ambiguity.phrase));
                        vec![plan]
                    }
                    None => d
                        .ambiguity
                        .readings
                        .iter()
                        .map(personal::Plan::from)
                        .collect(),
                };
                self.answer_readings(q, &d, &plans, used)?
            }
            Route::Question => {
                let mut a = analyze::analyze(q, &self.drug_names);
                // "Is surgery an option for me?": the records name the cancer.
                if let Some(p) = profile {
                    if a.cancer_types.is_empty() {
                        a.cancer_types = personal::cancer_types(p);
                    }
                    a.profile_terms = personal::retrieval_terms(p);
                }
                let mut answer = self.answer_analyzed(&a, used)?;
                if let Some(d) = belief::check(self, &a, used)? {
                    check_first(self, &mut answer, d);
                }
                answer
            }
        };
        if let (Some(p), AnswerKind::Answer | AnswerKind::NoEvidence) = (profile, answer.kind) {
            if let Some((label, phrase)) = &chosen {
                // The records settle the meaning: no need to ask which.
                answer.questions_to_ask.retain(|x| !x.contains(" or did "));
                let which = label.trim_start_matches("Your records: ");
                answer.opener = format!(
                    "{phrase} can mean different things. Your records show {which}, so this answer is about that; your care team can confirm it."
                );
            }
            let mut qs = personal::questions(p);
            qs.append(&mut answer.questions_to_ask);
            qs.dedup();
            qs.truncate(7);
            answer.questions_to_ask = qs;
            let mut biomarker_evidence = Vec::new();
            if let Some(civic) = &self.civic {
                let words = personal::disease_words(p);
                let avoid = personal::subtypes_to_avoid(p);
                for (gene, variant) in personal::gene_findings(p) {
                    biomarker_evidence.extend(civic.evidence(
                        &gene,
                        variant.as_deref(),
                        &words,
                        &avoid,
                        3,
                    ));
                }
                biomarker_evidence.truncate(8);
            }
            answer.personalization = Some(sextant_core::Personalization {
                facts_used: personal::facts(p),
                reading_chosen: chosen.map(|c| c.0),
                biomarker_evidence,
            });
        }
        answer.retriever = used.as_str().to_string();
        answer.grade_reading();
        if let Some(also) = answer.also.as_mut() {
            also.retriever = used.as_str().to_string();
        }
        Ok(answer)
    }

    /// Retrieves for an analyzed question and composes the answer, or a
    /// `no_evidence` reply when the evidence is too weak.
    fn answer_analyzed(&self, a: &Analysis, used: Retriever) -> Result<Answer> {
        let (hits, qvec) = self.retrieve_with_query(a, COMPOSE_PASSAGES, used)?;
        let strength = self.evidence_strength(&hits, qvec.as_deref());
        compose::compose(self, a, &hits, strength)
    }

    /// Answers each reading of an ambiguous question under its own heading.
    fn answer_readings(
        &self,
        q: &str,
        d: &ambiguity::Detected,
        plans: &[personal::Plan],
        used: Retriever,
    ) -> Result<Answer> {
        let whole = analyze::analyze(q, &self.drug_names);
        let mut readings = Vec::new();
        let mut sources: Vec<sextant_core::SourceRef> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut questions = Vec::new();
        for spec in plans {
            let rq = ambiguity::rewrite_with(q, d, &spec.rewrite);
            let mut a = analyze::analyze(&rq, &self.drug_names);
            // The reading keeps the question's own intent ("is surgery an
            // option"), not one its rewrite suggests.
            a.intent = whole.intent;
            a.focus = spec.focus;
            a.profile_terms = spec.terms.clone();
            let (hits, qvec) = self.retrieve_with_query(&a, COMPOSE_PASSAGES * 4, used)?;
            let hits: Vec<Hit> = hits
                .into_iter()
                .filter(|h| {
                    let page = self.kb.page_of(h.ord).and_then(|p| self.kb.page(p));
                    let Some(p) = page else { return false };
                    let has =
                        |list: &[&str]| p.cancer_types.iter().any(|t| list.contains(&t.as_str()));
                    let exclude: &[&str] = &spec.exclude_types;
                    let require: &[&str] = &spec.require_types;
                    if require.is_empty() {
                        // A page only about the other reading's cancer goes.
                        p.cancer_types.is_empty()
                            || !p.cancer_types.iter().all(|t| exclude.contains(&t.as_str()))
                    } else {
                        has(require) && !has(exclude)
                    }
                })
                .take(COMPOSE_PASSAGES)
                .collect();
            let strength = self.evidence_strength(&hits, qvec.as_deref());
            let mut ans = compose::compose(self, &a, &hits, strength)?;
            if let Some(wider) = spec.fallback_focus {
                if ans.cited_sentences().count() < 3 {
                    a.focus = wider;
                    ans = compose::compose(self, &a, &hits, strength)?;
                }
            }
            if questions.is_empty() {
                questions = ans.questions_to_ask.clone();
            }
            let mut keep = |s: &sextant_core::CitedSentence| {
                seen.insert(sextant_core::text::normalize_ws(&s.text))
            };
            let sections: Vec<sextant_core::Section> = ans
                .sections
                .iter()
                .map(|s| sextant_core::Section {
                    heading: s.heading.clone(),
                    sentences: s.sentences.iter().filter(|x| keep(x)).cloned().collect(),
                })
                .filter(|s| !s.sentences.is_empty())
                .collect();
            // The bottom line restates the reading's short answer.
            let short_first = sections
                .first()
                .filter(|s| s.heading == sextant_core::answer::SHORT_ANSWER)
                .and_then(|s| s.sentences.first())
                .map(|s| sextant_core::text::normalize_ws(&s.text));
            let bottom_line: Vec<_> = ans
                .bottom_line
                .iter()
                .filter(|x| {
                    short_first.as_deref() == Some(&*sextant_core::text::normalize_ws(&x.text))
                        || keep(x)
                })
                .cloned()
                .collect();
            for src in ans.sources {
                if !sources.iter().any(|s| s.id == src.id) {
                    sources.push(src);
                }
            }
            readings.push(sextant_core::Reading {
                label: spec.label.clone(),
                sections,
                bottom_line,
            });
        }
        // Sources no reading cites (their sentences were all repeats) go.
        let cited: std::collections::HashSet<&String> = readings
            .iter()
            .flat_map(|r| {
                r.sections
                    .iter()
                    .flat_map(|s| s.sentences.iter())
                    .chain(r.bottom_line.iter())
            })
            .flat_map(|s| s.citations.iter())
            .collect();
        sources.retain(|s| cited.contains(&s.id));
        let answered = readings
            .iter()
            .filter(|r| !r.sections.is_empty() || !r.bottom_line.is_empty())
            .count();
        // Nothing for any reading: answer the question as asked, unless the
        // records chose the reading (then an answer about another cancer
        // would mislead; the empty reading says the sources do not cover it).
        if answered == 0 && plans.len() > 1 {
            return self.answer_analyzed(&whole, used);
        }
        let mut questions_to_ask = vec![d.ambiguity.which.to_string()];
        questions_to_ask.extend(questions.into_iter().filter(|x| !x.is_empty()));
        let mut answer = compose::shell(&whole, sextant_core::AnswerKind::Answer);
        answer.opener = format!(
            "{} can mean different things, and the answer depends on which one applies, so each is answered below. Your care team can tell you which is yours.",
            d.ambiguity.phrase
        );
        answer.readings = readings;
        answer.sources = sources;
        // Which cancer it is, is the open question, unless the records
        // chose (the caller names it).
        answer.cancer_types.clear();
        if plans.len() == 1 {
            if let Some(ct) = plans[0]
                .require_types
                .first()
                .and_then(|id| sextant_core::CATALOG.iter().find(|c| c.id == *id))
            {
                answer.cancer_types.push(ct.name.to_string());
            }
        }
        answer.questions_to_ask = questions_to_ask;
        Ok(answer)
    }
}

/// Opens an answer with the source sentence that disputes what its
/// question takes as given, tied to the person's own words; the sentence
/// leaves the body if it was there.
fn check_first(engine: &Engine, answer: &mut Answer, d: belief::Dispute) {
    let norm = sextant_core::text::normalize_ws(&d.sentence.text);
    for s in &mut answer.sections {
        s.sentences
            .retain(|x| sextant_core::text::normalize_ws(&x.text) != norm);
    }
    // The short answer's own first sentence went: the bottom line follows
    // what now leads it, or is the disputing sentence itself.
    if let Some(b) = answer.bottom_line.first_mut() {
        let lead = answer
            .sections
            .iter()
            .find(|s| s.heading == sextant_core::answer::SHORT_ANSWER)
            .and_then(|s| s.sentences.first());
        if sextant_core::text::normalize_ws(&b.text) == norm || lead.is_none() {
            *b = d.sentence.clone();
        } else if let Some(l) = lead {
            *b = l.clone();
        }
    }
    answer.sections.retain(|s| !s.sentences.is_empty());
    if !answer.sources.iter().any(|s| s.id == d.passage.id) {
        answer.sources.push(compose::source_ref(engine, &d.passage));
    }
    answer.sections.insert(
        0,
        sextant_core::Section {
            heading: sextant_core::answer::CHECK_FIRST.to_string(),
            sentences: vec![d.sentence],
        },
    );
    answer.opener = format!(
        "Your question takes as given that {}. That is worth checking first, because cancer.gov's pages say something different; the answer to your question follows.",
        d.premise
    );
}

/// The drug information page of `drug` (a lower-case drug name).
pub(crate) fn is_page_of_drug(p: &sextant_core::Page, drug: &str) -> bool {
    p.kind == PageKind::Drug
        && p.title
            .get(..drug.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(drug))
}

/// Passages by similarity of their embedding to the question's embedding.
fn dense_ranking(v: &sextant_embed::FlatVectors, q: &[f32]) -> Vec<u32> {
    v.search(q, FUSION_DEPTH).into_iter().map(|h| h.0).collect()
}

/// Pages about cancers in children (cancer.gov keeps them apart from adults').
fn is_child_page(p: &sextant_core::Page) -> bool {
    let slug = p.url.rsplit('/').next().unwrap_or("");
    p.url.contains("/child/")
        || p.url.contains("childhood")
        || slug.starts_with("child-")
        || p.title.starts_with("Childhood")
}

/// Checks an answer's citations: every cited sentence has at least one
/// citation, every citation names a listed source, the sentence is one of
/// that source passage's sentences verbatim (after whitespace
/// normalization), and no sentence repeats. Returns the problems found.
///
/// In an answer whose body a language model wrote (`generator: llm`), the
/// body's sentences are not verbatim: for them the check is instead that
/// every number, drug, symbol, stage and link they state is in a passage
/// they cite, and that none gives dosing instructions
/// ([`grounding::exact_support`]); the bottom line is still checked verbatim.
pub fn verify(answer: &Answer) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let generated: std::collections::HashSet<*const sextant_core::CitedSentence> =
        if answer.generator == sextant_core::Generator::Llm {
            answer
                .sections
                .iter()
                .flat_map(|s| s.sentences.iter())
                .map(|s| s as *const _)
                .collect()
        } else {
            Default::default()
        };
    // The bottom line restates the short answer's first sentence: that
    // repeat is the design, any other is a fault.
    // (or the belief check's sentence, when that is the answer too).
    let short_first = |sections: &[sextant_core::Section]| {
        sections
            .iter()
            .take(2)
            .filter(|s| {
                s.heading == sextant_core::answer::SHORT_ANSWER
                    || s.heading == sextant_core::answer::CHECK_FIRST
            })
            .filter_map(|s| s.sentences.first())
            .map(|s| sextant_core::text::normalize_ws(&s.text))
            .collect::<Vec<_>>()
    };
    let mut restated: Vec<(String, *const sextant_core::CitedSentence)> = Vec::new();
    if let Some(b) = answer.bottom_line.first() {
        for first in short_first(&answer.sections) {
            restated.push((first, b as *const _));
        }
    }
    for r in &answer.readings {
        if let Some(b) = r.bottom_line.first() {
            for first in short_first(&r.sections) {
                restated.push((first, b as *const _));
            }
        }
    }
    for s in answer.cited_sentences() {
        let norm = sextant_core::text::normalize_ws(&s.text);
        let allowed = restated
            .iter()
            .any(|(t, p)| std::ptr::eq(*p, s) && *t == norm);
        if !seen.insert(norm.clone()) && !allowed {
            problems.push(format!("repeated sentence: {:?}", s.text));
        }
        if s.citations.is_empty() {
            problems.push(format!("uncited sentence: {:?}", s.text));
        }
        if generated.contains(&(s as *const _)) {
            let cited: Vec<&str> = s
                .citations
                .iter()
                .filter_map(|c| answer.sources.iter().find(|src| &src.id == c))
                .map(|src| src.passage.as_str())
                .collect();
            if cited.len() < s.citations.len() {
                problems.push(format!(
                    "{:?} cites a passage not among the sources",
                    s.text
                ));
            } else if let Some(reason) = grounding::exact_support(&s.text, &cited) {
                problems.push(format!("{:?}: {reason}", s.text));
            }
            continue;
        }
        for c in &s.citations {
            match answer.sources.iter().find(|src| &src.id == c) {
                None => problems.push(format!("citation {c} is not among the sources")),
                Some(src) => {
                    let found = sextant_core::text::sentences(&src.passage)
                        .iter()
                        .any(|ps| sextant_core::text::normalize_ws(ps) == norm);
                    if !found {
                        problems.push(format!("{:?} is not a sentence of passage {c}", s.text));
                    }
                }
            }
        }
    }
    if let Some(also) = &answer.also {
        problems.extend(
            verify(also)
                .into_iter()
                .map(|p| format!("in the answer below: {p}")),
        );
    }
    problems
}
