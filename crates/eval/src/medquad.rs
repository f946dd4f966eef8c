//! `sextant eval medquad`: MedQuAD's CancerGov questions (PDQ patient
//! summaries as of 2017) against the 2025 corpus.
//!
//! Each question names its source page by URL. It is mapped to the 2025
//! corpus by the page's PDQ slug (the last URL segment): the patient version
//! with that slug is the *strict* target; its health-professional version
//! also counts for the *lenient* score. Questions whose patient version is
//! absent from the corpus but whose health-professional version is present
//! count only leniently; questions with neither are reported and left out.
//!
//! A retrieved passage is "of" a page when it was cut from it, or when the
//! very same passage text appears on it too (duplicates are stored once).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use sextant_answer::{Engine, Retriever};
use sextant_core::text::{is_stopword, words};
use sextant_core::{Audience, Issue};

use crate::{quantile, EvalError, Result};

/// One MedQuAD question.
#[derive(Debug, Clone)]
pub struct Item {
    pub qid: String,
    pub qtype: String,
    pub question: String,
    pub answer: String,
    pub url: String,
}

/// Reads every `*.xml` file of a MedQuAD folder. Unreadable files and
/// malformed XML are reported as issues.
pub fn load(dir: &Path) -> Result<(Vec<Item>, Vec<Issue>)> {
    let mut issues = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|source| EvalError::Io {
            path: dir.display().to_string(),
            source,
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    let mut items = Vec::new();
    for f in files {
        let at = f.display().to_string();
        let text = match std::fs::read_to_string(&f) {
            Ok(t) => t,
            Err(e) => {
                issues.push(Issue::new(&at, e.to_string()));
                continue;
            }
        };
        let doc = match roxmltree::Document::parse(&text) {
            Ok(d) => d,
            Err(e) => {
                issues.push(Issue::new(&at, format!("malformed XML: {e}")));
                continue;
            }
        };
        let root = doc.root_element();
        let url = root.attribute("url").unwrap_or("").to_string();
        for pair in root.descendants().filter(|n| n.has_tag_name("QAPair")) {
            let q = pair.children().find(|n| n.has_tag_name("Question"));
            let a = pair.children().find(|n| n.has_tag_name("Answer"));
            let (Some(q), Some(a)) = (q, a) else { continue };
            let question = q.text().unwrap_or("").trim().to_string();
            if question.is_empty() {
                continue;
            }
            items.push(Item {
                qid: q.attribute("qid").unwrap_or("").to_string(),
                qtype: q.attribute("qtype").unwrap_or("").to_string(),
                question,
                answer: a.text().unwrap_or("").to_string(),
                url: url.clone(),
            });
        }
    }
    if items.is_empty() {
        return Err(EvalError::NoQuestions(dir.display().to_string()));
    }
    Ok((items, issues))
}

fn slug(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// Expected pages of a question.
#[derive(Debug, Clone, Default)]
struct Target {
    strict: Vec<u32>,
    lenient: Vec<u32>,
}

/// Each question's strict target pages (empty when unmapped).
pub(crate) fn strict_targets(engine: &Engine, items: &[Item]) -> Vec<Vec<u32>> {
    targets(engine, items)
        .into_iter()
        .map(|t| t.strict)
        .collect()
}

fn targets(engine: &Engine, items: &[Item]) -> Vec<Target> {
    let mut by_slug: HashMap<&str, Vec<(u32, &sextant_core::Page)>> = HashMap::new();
    for (i, p) in engine.kb().pages().iter().enumerate() {
        if p.url.ends_with("-pdq") {
            by_slug.entry(slug(&p.url)).or_default().push((i as u32, p));
        }
    }
    items
        .iter()
        .map(|it| {
            let mut t = Target::default();
            let Some(cands) = by_slug.get(slug(&it.url)) else {
                return t;
            };
            let patient: Vec<_> = cands
                .iter()
                .filter(|(_, p)| p.audience == Audience::Patient)
                .collect();
            // Several patient versions (adult and child laryngeal): the one
            // whose URL is the 2017 URL with one folder added.
            let best = patient
                .iter()
                .find(|(_, p)| p.url == it.url)
                .or_else(|| {
                    patient
                        .iter()
                        .find(|(_, p)| p.url.replace("/adult/", "/") == it.url)
                })
                .or_else(|| patient.first());
            if let Some((i, _)) = best {
                t.strict.push(*i);
            }
            t.lenient = t.strict.clone();
            for (i, p) in cands.iter() {
                if p.audience == Audience::HealthProfessional {
                    let same_family = best.is_none_or(|(_, bp)| {
                        let norm = |u: &str| u.replace("/hp/", "/x/").replace("/patient/", "/x/");
                        norm(&p.url) == norm(&bp.url)
                    });
                    if same_family {
                        t.lenient.push(*i);
                    }
                }
            }
            t
        })
        .collect()
}

/// Figures for one way of counting hits.
#[derive(Debug, Clone, Serialize)]
pub struct HitFigures {
    pub questions: usize,
    pub hit_at_1: f64,
    pub hit_at_3: f64,
    pub hit_at_5: f64,
    pub mrr: f64,
    /// Share of answers that cite a passage of the expected page.
    pub answer_source_hit: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The retrieval used (`bm25` when dense was asked for but unavailable).
    pub retriever: String,
    pub questions: usize,
    pub mapped_strict: usize,
    pub mapped_hp_only: usize,
    pub unmapped: usize,
    pub unmapped_urls: Vec<String>,
    pub strict: HitFigures,
    pub lenient: HitFigures,
    /// Mean share of the reference answer's content words found in the answer body.
    pub token_recall: f64,
    pub no_evidence_answers: usize,
    /// Median words in answer bodies (sections + bottom line).
    pub body_words_p50: f64,
    /// Share of regular answers whose body is 120–300 words.
    pub body_words_in_range: f64,
    /// Answers whose citations failed [`sextant_answer::verify`].
    pub citation_failures: usize,
    /// Median Flesch–Kincaid grade of answer bodies (goal ≤ 8).
    pub reading_grade_p50: f64,
    /// Share of answer bodies at grade 8 or below.
    pub reading_grade_at_most_8: f64,
    /// Answers given for each reading of an ambiguous question.
    pub answers_with_readings: usize,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
    pub latency_ms_mean: f64,
    /// Mean share of the reference answer's key sentences' content words
    /// (its first two sentences) found in what a reader sees first: the
    /// short answer and the bottom line.
    pub key_sentence_recall: f64,
    /// Answers whose bottom line has that share at 0.5 or more.
    pub key_sentence_hit: f64,
    /// Answers whose bottom line is a definition, a figure, a fragment or
    /// dangling ([`sextant_answer::quality::bottom_line_flaw`]).
    pub bottom_line_flawed: usize,
    /// Answers with a sentence for another reader (a child, a pregnancy,
    /// trial statistics) that the question is not about.
    pub audience_leaks: usize,
    /// Answers with a sentence shown without the one it needs.
    pub dangling: usize,
    /// Strict hit@3 per MedQuAD question type.
    pub by_qtype: Vec<(String, usize, f64)>,
    /// Questions whose expected page is not in the strict top 3.
    pub misses: Vec<Miss>,
}

/// A strict top-3 miss, for error analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub question: String,
    pub expected: String,
    pub rank: Option<usize>,
    pub top3: Vec<String>,
    pub kind: String,
}

/// How deep MRR looks.
const MRR_DEPTH: usize = 100;

struct Acc {
    n: usize,
    ranks: Vec<Option<usize>>,
    answer_hits: usize,
}

impl Acc {
    fn new() -> Self {
        Acc {
            n: 0,
            ranks: Vec::new(),
            answer_hits: 0,
        }
    }
    fn figures(&self) -> HitFigures {
        let n = self.n.max(1) as f64;
        let at = |k: usize| {
            self.ranks
                .iter()
                .filter(|r| r.is_some_and(|r| r < k))
                .count() as f64
                / n
        };
        HitFigures {
            questions: self.n,
            hit_at_1: at(1),
            hit_at_3: at(3),
            hit_at_5: at(5),
            mrr: self
                .ranks
                .iter()
                .map(|r| r.map_or(0.0, |r| 1.0 / (r as f64 + 1.0)))
                .sum::<f64>()
                / n,
            answer_source_hit: self.answer_hits as f64 / n,
        }
    }
}

fn content_set(text: &str) -> std::collections::HashSet<String> {
    words(text)
        .into_iter()
        .filter(|w| !is_stopword(w) && w.len() > 2)
        .collect()
}

/// Runs the evaluation with `retriever`. `progress` is called after each question.
pub fn run(
    engine: &Engine,
    items: &[Item],
    retriever: Retriever,
    progress: &dyn Fn(usize, usize),
) -> Result<Report> {
    let targets = targets(engine, items);
    let kb = engine.kb();
    let mut strict = Acc::new();
    let mut lenient = Acc::new();
    let mut unmapped_urls = Vec::new();
    let (mut mapped_strict, mut mapped_hp, mut unmapped) = (0, 0, 0);
    let mut recall_sum = 0.0;
    let mut recall_n = 0usize;
    let mut latencies = Vec::new();
    let mut body_words: Vec<f64> = Vec::new();
    let mut grades: Vec<f64> = Vec::new();
    let mut with_readings = 0;
    let mut no_evidence = 0;
    let mut citation_failures = 0;
    let mut by_qtype: HashMap<String, (usize, usize)> = HashMap::new();
    let mut misses = Vec::new();
    let (mut key_sum, mut key_hits, mut key_n) = (0.0, 0usize, 0usize);
    let (mut flawed, mut leaks, mut dangling) = (0, 0, 0);
    for (i, (it, t)) in items.iter().zip(&targets).enumerate() {
        progress(i + 1, items.len());
        if t.lenient.is_empty() {
            unmapped += 1;
            if !unmapped_urls.contains(&it.url) {
                unmapped_urls.push(it.url.clone());
            }
            continue;
        }
        let started = Instant::now();
        let answer = engine.ask_with(&it.question, retriever)?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        if answer.kind == sextant_core::AnswerKind::NoEvidence {
            no_evidence += 1;
        } else {
            body_words.push(answer.body_words() as f64);
        }
        if let Some(g) = answer.reading_grade {
            grades.push(f64::from(g));
        }
        with_readings += usize::from(!answer.readings.is_empty());
        if !sextant_answer::verify(&answer).is_empty() {
            citation_failures += 1;
        }
        let analysis = engine.analyze(&it.question)?;
        let hits = engine.retrieve(&analysis, MRR_DEPTH, retriever)?;
        let mut pages_of_hits = Vec::with_capacity(hits.len());
        for h in &hits {
            let p = kb.passage(h.ord)?;
            let mut pages = vec![p.page];
            pages.extend(p.also_in);
            pages_of_hits.push(pages);
        }
        let rank_of = |want: &[u32]| {
            pages_of_hits
                .iter()
                .position(|ps| ps.iter().any(|p| want.contains(p)))
        };
        let cited_pages: Vec<Vec<u32>> = answer
            .sources
            .iter()
            .filter_map(|s| {
                hits.iter().zip(&pages_of_hits).find_map(|(h, ps)| {
                    kb.passage(h.ord)
                        .ok()
                        .filter(|p| p.id == s.id)
                        .map(|_| ps.clone())
                })
            })
            .collect();
        let cites = |want: &[u32]| {
            cited_pages
                .iter()
                .any(|ps| ps.iter().any(|p| want.contains(p)))
        };
        if !t.strict.is_empty() {
            mapped_strict += 1;
            strict.n += 1;
            let r = rank_of(&t.strict);
            strict.ranks.push(r);
            if cites(&t.strict) {
                strict.answer_hits += 1;
            }
            if r.is_none_or(|r| r >= 3) {
                misses.push(Miss {
                    question: it.question.clone(),
                    expected: kb
                        .page(t.strict[0])
                        .map_or(String::new(), |p| p.url.clone()),
                    rank: r,
                    top3: pages_of_hits
                        .iter()
                        .take(3)
                        .filter_map(|ps| kb.page(ps[0]).map(|p| p.url.clone()))
                        .collect(),
                    kind: format!("{:?}", answer.kind),
                });
            }
            let e = by_qtype.entry(it.qtype.clone()).or_default();
            e.0 += 1;
            if r.is_some_and(|r| r < 3) {
                e.1 += 1;
            }
        } else {
            mapped_hp += 1;
        }
        lenient.n += 1;
        lenient.ranks.push(rank_of(&t.lenient));
        if cites(&t.lenient) {
            lenient.answer_hits += 1;
        }
        if answer.kind == sextant_core::AnswerKind::Answer {
            let asks = sextant_answer::asked::asked(&answer.question);
            let bottoms: Vec<&sextant_core::CitedSentence> = answer
                .bottom_line
                .iter()
                .chain(answer.readings.iter().flat_map(|r| r.bottom_line.iter()))
                .collect();
            if bottoms
                .iter()
                .any(|s| sextant_answer::quality::bottom_line_flaw(&s.text, &asks).is_some())
            {
                flawed += 1;
            }
            leaks += usize::from(!sextant_answer::quality::leaks(&answer).is_empty());
            dangling += usize::from(!sextant_answer::quality::dangling(&answer).is_empty());
            let key: String = sextant_core::text::sentences(&it.answer)
                .into_iter()
                .filter(|s| !s.trim().is_empty())
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            let key = content_set(&key);
            if !key.is_empty() {
                let first: String = answer
                    .sections
                    .iter()
                    .chain(answer.readings.iter().flat_map(|r| r.sections.iter()))
                    .filter(|s| s.heading == sextant_core::answer::SHORT_ANSWER)
                    .flat_map(|s| s.sentences.iter())
                    .chain(bottoms.iter().copied())
                    .map(|s| s.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                let got = content_set(&first);
                let r = key.iter().filter(|w| got.contains(*w)).count() as f64 / key.len() as f64;
                key_sum += r;
                key_hits += usize::from(r >= 0.5);
                key_n += 1;
            }
        }
        let reference = content_set(&it.answer);
        if !reference.is_empty() {
            let body: String = answer
                .cited_sentences()
                .map(|s| s.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let got = content_set(&body);
            recall_sum += reference.iter().filter(|w| got.contains(*w)).count() as f64
                / reference.len() as f64;
            recall_n += 1;
        }
    }
    latencies.sort_by(f64::total_cmp);
    body_words.sort_by(f64::total_cmp);
    grades.sort_by(f64::total_cmp);
    let in_range = body_words
        .iter()
        .filter(|w| (120.0..=300.0).contains(*w))
        .count() as f64
        / body_words.len().max(1) as f64;
    let mut qt: Vec<(String, usize, f64)> = by_qtype
        .into_iter()
        .map(|(k, (n, h))| (k, n, h as f64 / n.max(1) as f64))
        .collect();
    qt.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(Report {
        retriever: engine.effective(retriever).as_str().to_string(),
        questions: items.len(),
        mapped_strict,
        mapped_hp_only: mapped_hp,
        unmapped,
        unmapped_urls,
        strict: strict.figures(),
        lenient: lenient.figures(),
        token_recall: recall_sum / recall_n.max(1) as f64,
        no_evidence_answers: no_evidence,
        body_words_p50: quantile(&body_words, 0.5),
        body_words_in_range: in_range,
        citation_failures,
        reading_grade_p50: quantile(&grades, 0.5),
        reading_grade_at_most_8: grades.iter().filter(|g| **g <= 8.0).count() as f64
            / grades.len().max(1) as f64,
        answers_with_readings: with_readings,
        latency_ms_p50: quantile(&latencies, 0.5),
        latency_ms_p95: quantile(&latencies, 0.95),
        latency_ms_mean: latencies.iter().sum::<f64>() / latencies.len().max(1) as f64,
        key_sentence_recall: key_sum / key_n.max(1) as f64,
        key_sentence_hit: key_hits as f64 / key_n.max(1) as f64,
        bottom_line_flawed: flawed,
        audience_leaks: leaks,
        dangling,
        by_qtype: qt,
        misses,
    })
}

/// The report as a text table.
pub fn table(r: &Report) -> String {
    let mut o = String::new();
    o.push_str(&format!(
        "MedQuAD CancerGov ({} retrieval): {} questions; {} mapped to a 2025 patient page, {} only to its health-professional version, {} unmapped (left out)\n",
        r.retriever, r.questions, r.mapped_strict, r.mapped_hp_only, r.unmapped
    ));
    o.push_str("\n| count   | questions | hit@1 | hit@3 | hit@5 |  MRR  | answer cites page |\n|---------|-----------|-------|-------|-------|-------|-------------------|\n");
    for (name, f) in [("strict", &r.strict), ("lenient", &r.lenient)] {
        o.push_str(&format!(
            "| {name:<7} | {:>9} | {:.3} | {:.3} | {:.3} | {:.3} | {:>17.3} |\n",
            f.questions, f.hit_at_1, f.hit_at_3, f.hit_at_5, f.mrr, f.answer_source_hit
        ));
    }
    o.push_str(&format!(
        "\ntoken recall of reference answers: {:.3}\nno-evidence answers: {}\nanswers failing the citation check: {}\nanswer body: median {:.0} words, {:.1}% within 120-300 words\nreading grade (Flesch-Kincaid): median {:.1}, {:.1}% at grade 8 or below\nanswered for each reading of an ambiguous question: {}\nask latency (warm, in-process): p50 {:.2} ms, p95 {:.2} ms, mean {:.2} ms\n",
        r.token_recall, r.no_evidence_answers, r.citation_failures, r.body_words_p50, r.body_words_in_range * 100.0, r.reading_grade_p50, r.reading_grade_at_most_8 * 100.0, r.answers_with_readings, r.latency_ms_p50, r.latency_ms_p95, r.latency_ms_mean
    ));
    o.push_str(&format!(
        "what a reader sees first (short answer + bottom line) holds the reference's key sentences: recall {:.3}, half or more for {:.1}%\nbottom lines that are a definition, figure, fragment or dangling: {}\nanswers with a sentence for another reader: {}\nanswers with a dangling sentence: {}\n",
        r.key_sentence_recall,
        r.key_sentence_hit * 100.0,
        r.bottom_line_flawed,
        r.audience_leaks,
        r.dangling
    ));
    o.push_str("\nstrict hit@3 by question type:\n");
    for (k, n, h) in &r.by_qtype {
        o.push_str(&format!("  {k:<18} {n:>4}  {h:.3}\n"));
    }
    if !r.unmapped_urls.is_empty() {
        o.push_str("\nunmapped pages:\n");
        for u in &r.unmapped_urls {
            o.push_str(&format!("  {u}\n"));
        }
    }
    o
}
