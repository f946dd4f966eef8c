//! `sextant eval retrieval`: BM25, dense and hybrid retrieval side by side,
//! in one run, on three question sets with known answer pages:
//!
//! - `medquad`: MedQuAD's CancerGov questions, mapped to their 2025 patient
//!   page (the strict mapping of [`crate::medquad`]);
//! - `lay`: MedQuAD questions rewritten the way patients type them (lay
//!   words, misspelled or unnamed diseases), written for Sextant
//!   (`data/lay-questions.tsv`), with the original question's page as gold;
//! - `liveqa`: the cancer questions among the 104 LiveQA-Med 2017 consumer
//!   questions, in the person's own words, with hand-judged gold pages
//!   (`data/liveqa-cancer.tsv`).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use sextant_answer::{Engine, Retriever};
use sextant_core::Issue;

use crate::medquad::Item;
use crate::{quantile, EvalError, Result};

/// The lay rewrites (qid, question), shipped with the code.
pub const LAY_QUESTIONS: &str = include_str!("../data/lay-questions.tsv");
/// Gold pages of the LiveQA cancer questions.
pub const LIVEQA_JUDGMENTS: &str = include_str!("../data/liveqa-cancer.tsv");
/// The LiveQA test questions inside the data folder.
pub const LIVEQA_XML: &str = "eval/liveqa-medicationqa/LiveQA_TREC2017/TestDataset/TREC-2017-LiveQA-Medical-Test-Questions-w-summaries.xml";

/// How deep ranks are looked for (MRR counts a page found below as 0).
pub const DEPTH: usize = 100;

/// A question with the pages that answer it.
#[derive(Debug, Clone)]
pub struct Query {
    pub set: &'static str,
    pub id: String,
    pub question: String,
    /// Page indices any of which answers the question.
    pub gold: Vec<u32>,
}

/// MedQuAD questions with a strict 2025 target.
pub fn medquad_queries(engine: &Engine, items: &[Item]) -> Vec<Query> {
    crate::medquad::strict_targets(engine, items)
        .into_iter()
        .zip(items)
        .filter(|(gold, _)| !gold.is_empty())
        .map(|(gold, it)| Query {
            set: "medquad",
            id: it.qid.clone(),
            question: it.question.clone(),
            gold,
        })
        .collect()
}

/// Non-comment, non-empty lines of a TSV, split on tabs.
fn tsv(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split('\t').collect()))
}

/// The lay rewrites, each with its original question's page.
pub fn lay_queries(engine: &Engine, items: &[Item], tsv_text: &str) -> (Vec<Query>, Vec<Issue>) {
    let targets = crate::medquad::strict_targets(engine, items);
    let by_qid: HashMap<&str, &Vec<u32>> = items
        .iter()
        .zip(&targets)
        .map(|(it, t)| (it.qid.as_str(), t))
        .collect();
    let mut issues = Vec::new();
    let mut out = Vec::new();
    for (line, cols) in tsv(tsv_text) {
        let at = format!("lay-questions.tsv:{line}");
        let [qid, question] = cols[..] else {
            issues.push(Issue::new(&at, "expected 2 tab-separated columns"));
            continue;
        };
        match by_qid.get(qid) {
            Some(gold) if !gold.is_empty() => out.push(Query {
                set: "lay",
                id: qid.to_string(),
                question: question.trim().to_string(),
                gold: (*gold).clone(),
            }),
            Some(_) => issues.push(Issue::new(&at, format!("{qid}: page not in the corpus"))),
            None => issues.push(Issue::new(&at, format!("{qid}: no such MedQuAD question"))),
        }
    }
    (out, issues)
}

/// Every LiveQA test question as (qid, the person's subject and message).
pub fn liveqa_messages(data: &Path) -> Result<Vec<(String, String)>> {
    let path = data.join(LIVEQA_XML);
    let text = std::fs::read_to_string(&path).map_err(|source| EvalError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| EvalError::Other(format!("{}: malformed XML: {e}", path.display())))?;
    let mut out = Vec::new();
    for q in doc.descendants().filter(|n| n.has_tag_name("NLM-QUESTION")) {
        let field = |tag: &str| {
            q.descendants()
                .find(|n| n.has_tag_name(tag))
                .and_then(|n| n.text())
                .map(sextant_core::text::normalize_ws)
                .unwrap_or_default()
        };
        let (subject, message) = (field("SUBJECT"), field("MESSAGE"));
        // The subject often repeats the message's start.
        let asked = if message.starts_with(subject.trim_end_matches('.')) {
            message
        } else {
            format!("{subject} {message}")
        };
        if let Some(id) = q.attribute("qid") {
            out.push((id.to_string(), asked.trim().to_string()));
        }
    }
    Ok(out)
}

/// The LiveQA cancer questions (the person's subject and message), with the
/// judged pages.
pub fn liveqa_queries(
    engine: &Engine,
    data: &Path,
    judgments: &str,
) -> Result<(Vec<Query>, Vec<Issue>)> {
    let messages: HashMap<String, String> = liveqa_messages(data)?.into_iter().collect();
    let pages = engine.kb().pages();
    let mut issues = Vec::new();
    let mut out = Vec::new();
    for (line, cols) in tsv(judgments) {
        let at = format!("liveqa-cancer.tsv:{line}");
        let (Some(qid), Some(urls)) = (cols.first(), cols.get(1)) else {
            issues.push(Issue::new(&at, "expected qid and gold columns"));
            continue;
        };
        let Some(question) = messages.get(*qid) else {
            issues.push(Issue::new(&at, format!("{qid} is not in {LIVEQA_XML}")));
            continue;
        };
        let gold: Vec<u32> = pages
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                urls.split_whitespace().any(|u| match u.strip_suffix('*') {
                    Some(prefix) => p.url.starts_with(prefix),
                    None => p.url == u,
                })
            })
            .map(|(i, _)| i as u32)
            .collect();
        if gold.is_empty() {
            issues.push(Issue::new(
                &at,
                format!("{qid}: no gold page in the corpus"),
            ));
            continue;
        }
        out.push(Query {
            set: "liveqa",
            id: qid.to_string(),
            question: question.clone(),
            gold,
        });
    }
    Ok((out, issues))
}

/// Figures of one retriever on one set.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub set: String,
    pub retriever: String,
    pub questions: usize,
    pub hit_at_1: f64,
    pub hit_at_3: f64,
    pub hit_at_5: f64,
    pub mrr: f64,
    /// Retrieval time per question (analysis, query embedding, search, fusion).
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
}

/// Where each retriever ranked a question's first gold page (0-based).
#[derive(Debug, Clone, Serialize)]
pub struct QueryRanks {
    pub set: String,
    pub id: String,
    pub question: String,
    pub ranks: Vec<(String, Option<usize>)>,
}

/// The whole comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Retrievers asked for but run as BM25 (dense unavailable), with why.
    pub fallback: Option<String>,
    pub figures: Vec<Figures>,
    pub queries: Vec<QueryRanks>,
}

/// The 0-based rank of the first hit from a gold page (its own page or one
/// that repeats it).
pub fn rank_of(engine: &Engine, ords: &[u32], gold: &[u32]) -> Result<Option<usize>> {
    for (i, &ord) in ords.iter().enumerate() {
        let p = engine.kb().passage(ord)?;
        if gold.contains(&p.page) || p.also_in.iter().any(|x| gold.contains(x)) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Runs every query through every retriever.
pub fn run(
    engine: &Engine,
    queries: &[Query],
    retrievers: &[Retriever],
    progress: &dyn Fn(usize, usize),
) -> Result<Report> {
    let fallback = retrievers
        .iter()
        .any(|&r| engine.effective(r) != r)
        .then(|| engine.dense_unavailable())
        .flatten();
    // Per (set, retriever): each question's rank and retrieval time.
    type Column = (Vec<Option<usize>>, Vec<f64>);
    let mut per: HashMap<(&str, Retriever), Column> = HashMap::new();
    let mut out_queries = Vec::with_capacity(queries.len());
    for (i, q) in queries.iter().enumerate() {
        progress(i + 1, queries.len());
        let mut ranks = Vec::new();
        for &r in retrievers {
            let started = Instant::now();
            let a = engine.analyze(&q.question)?;
            let hits = engine.retrieve(&a, DEPTH, r)?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let ords: Vec<u32> = hits.iter().map(|h| h.ord).collect();
            let rank = rank_of(engine, &ords, &q.gold)?;
            let e = per.entry((q.set, r)).or_default();
            e.0.push(rank);
            e.1.push(ms);
            ranks.push((r.as_str().to_string(), rank));
        }
        out_queries.push(QueryRanks {
            set: q.set.to_string(),
            id: q.id.clone(),
            question: q.question.clone(),
            ranks,
        });
    }
    let mut sets: Vec<&str> = Vec::new();
    for q in queries {
        if !sets.contains(&q.set) {
            sets.push(q.set);
        }
    }
    let mut figures = Vec::new();
    for set in sets {
        for &r in retrievers {
            let Some((ranks, ms)) = per.get_mut(&(set, r)) else {
                continue;
            };
            ms.sort_by(f64::total_cmp);
            let n = ranks.len().max(1) as f64;
            let at =
                |k: usize| ranks.iter().filter(|x| x.is_some_and(|x| x < k)).count() as f64 / n;
            figures.push(Figures {
                set: set.to_string(),
                retriever: r.as_str().to_string(),
                questions: ranks.len(),
                hit_at_1: at(1),
                hit_at_3: at(3),
                hit_at_5: at(5),
                mrr: ranks
                    .iter()
                    .map(|x| x.map_or(0.0, |x| 1.0 / (x as f64 + 1.0)))
                    .sum::<f64>()
                    / n,
                latency_ms_p50: quantile(ms, 0.5),
                latency_ms_p95: quantile(ms, 0.95),
            });
        }
    }
    Ok(Report {
        fallback,
        figures,
        queries: out_queries,
    })
}

/// Two knowledge bases' figures side by side (the same questions, the same
/// retrievers): hit@3 and MRR of each, and the difference, `new − old`.
pub fn compare_table(old_name: &str, old: &Report, new_name: &str, new: &Report) -> String {
    let mut o = format!(
        "| set | retriever | hit@3 {old_name} | hit@3 {new_name} | Δ | MRR {old_name} | MRR {new_name} | Δ |\n|---|---|---:|---:|---:|---:|---:|---:|\n"
    );
    for n in &new.figures {
        let Some(b) = old
            .figures
            .iter()
            .find(|b| b.set == n.set && b.retriever == n.retriever)
        else {
            continue;
        };
        o.push_str(&format!(
            "| {} | {} | {:.3} | {:.3} | {:+.3} | {:.3} | {:.3} | {:+.3} |\n",
            n.set,
            n.retriever,
            b.hit_at_3,
            n.hit_at_3,
            n.hit_at_3 - b.hit_at_3,
            b.mrr,
            n.mrr,
            n.mrr - b.mrr
        ));
    }
    o
}

/// The largest difference in hit@3 or MRR between two reports' matching
/// rows.
pub fn largest_difference(old: &Report, new: &Report) -> f64 {
    new.figures
        .iter()
        .filter_map(|n| {
            old.figures
                .iter()
                .find(|b| b.set == n.set && b.retriever == n.retriever)
                .map(|b| (n.hit_at_3 - b.hit_at_3).abs().max((n.mrr - b.mrr).abs()))
        })
        .fold(0.0, f64::max)
}

/// The report as a Markdown table, with where hybrid wins and loses
/// against BM25 at top 3.
pub fn table(r: &Report) -> String {
    let mut o = String::new();
    if let Some(f) = &r.fallback {
        o.push_str(&format!("WARNING: {f}\n\n"));
    }
    o.push_str("| set | retriever | questions | hit@1 | hit@3 | hit@5 | MRR | retrieval p50 ms | p95 ms |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for f in &r.figures {
        o.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} | {:.2} |\n",
            f.set,
            f.retriever,
            f.questions,
            f.hit_at_1,
            f.hit_at_3,
            f.hit_at_5,
            f.mrr,
            f.latency_ms_p50,
            f.latency_ms_p95
        ));
    }
    let top3 = |q: &QueryRanks, name: &str| {
        q.ranks
            .iter()
            .any(|(r, k)| r == name && k.is_some_and(|k| k < 3))
    };
    let mut sets: Vec<&str> = r.queries.iter().map(|q| q.set.as_str()).collect();
    sets.dedup();
    for set in sets {
        let qs: Vec<&QueryRanks> = r.queries.iter().filter(|q| q.set == set).collect();
        if !qs.iter().any(|q| q.ranks.len() > 1) {
            continue;
        }
        let won = qs
            .iter()
            .filter(|q| top3(q, "hybrid") && !top3(q, "bm25"))
            .count();
        let lost = qs
            .iter()
            .filter(|q| !top3(q, "hybrid") && top3(q, "bm25"))
            .count();
        o.push_str(&format!(
            "\n{set}: hybrid finds the page in the top 3 where BM25 does not for {won} questions, and loses it for {lost}\n"
        ));
    }
    o
}
