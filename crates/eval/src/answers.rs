//! `sextant eval answers`: answers read as a person reads them.
//!
//! A set of real-style patient questions (`data/answers-questions.tsv`, the
//! development set; `data/answers-heldout.tsv`, `-2.tsv` and `-3.tsv`,
//! written later by other helpers and first measured before any change for them)
//! is answered, and every answer is written out as the person would see it
//! for reviewers who never saw the composer. Their scores are stored as
//! TSV in `data/answers-judgments/`, one row per answer and reviewer, with
//! a hash of the answer text they read: a rerun reports which judged
//! answers are still the same, so figures compare like with like.
//!
//! Without judgments the run reports the automatic proxies that CI can
//! check: bottom lines that are definitions, figures or fragments; sentences
//! for another reader (a child, a pregnancy, trial statistics); sentences
//! shown without the sentence they need; no-evidence replies; and how often
//! the belief check fired on belief questions and on true-premise controls.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sextant_answer::quality;
use sextant_answer::{Engine, Retriever};
use sextant_core::{Answer, AnswerKind, Issue};

use crate::{quantile, EvalError, Result};

/// One question of a set.
#[derive(Debug, Clone, Serialize)]
pub struct Question {
    pub id: String,
    /// `plain`, `long`, `caregiver`, `misspelled`, `belief` or `control`.
    pub group: String,
    pub topic: String,
    pub cancer: String,
    pub question: String,
    /// For `belief` rows the false belief; for `control` rows the true premise.
    pub belief: String,
    pub truth: String,
}

/// The groups a set's rows may have.
pub const GROUPS: &[&str] = &[
    "plain",
    "long",
    "caregiver",
    "misspelled",
    "belief",
    "control",
];

/// The sets shipped with the repository: (name, path).
pub fn default_sets() -> Vec<(&'static str, PathBuf)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    vec![
        ("dev", dir.join("answers-questions.tsv")),
        ("held-out", dir.join("answers-heldout.tsv")),
        ("held-out-2", dir.join("answers-heldout-2.tsv")),
        ("held-out-3", dir.join("answers-heldout-3.tsv")),
        ("held-out-4", dir.join("answers-heldout-4.tsv")),
        ("held-out-5", dir.join("answers-heldout-5.tsv")),
    ]
}

/// Sets of belief questions and true-premise controls only, for the belief
/// check.
pub const BELIEF_SETS: [&str; 1] = ["held-out-5"];

/// Where stored judgments live.
pub fn judgments_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/answers-judgments")
}

fn io(path: &Path, source: std::io::Error) -> EvalError {
    EvalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The rows of a TSV with a header line: (line index, trimmed fields),
/// blank and `#` lines skipped.
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i, l.split('\t').map(str::trim).collect()))
}

/// Reads a question set: a header line, then
/// `id, group, topic, cancer, question, belief, truth` (tab-separated).
/// Bad rows are issues.
pub fn load(path: &Path) -> Result<(Vec<Question>, Vec<Issue>)> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let mut out = Vec::new();
    let mut issues = Vec::new();
    for (i, f) in rows(&text) {
        let at = format!("{}:{}", path.display(), i + 1);
        if f.len() < 5 || !GROUPS.contains(&f[1]) || f[4].trim().is_empty() {
            issues.push(Issue::new(
                at,
                "expected id, a known group, topic, cancer and a question",
            ));
            continue;
        }
        let get = |k: usize| f.get(k).map_or(String::new(), |s| s.trim().to_string());
        out.push(Question {
            id: get(0),
            group: get(1),
            topic: get(2),
            cancer: get(3),
            question: get(4),
            belief: get(5),
            truth: get(6),
        });
    }
    if out.is_empty() {
        return Err(EvalError::NoQuestions(path.display().to_string()));
    }
    Ok((out, issues))
}

/// A stable 64-bit FNV-1a hash of the answer text a reviewer reads, as hex.
pub fn answer_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The answer as a reviewer reads it: the plain-text rendering.
pub fn reviewer_text(a: &Answer) -> String {
    sextant_answer::render::text(a)
}

/// One answered question.
#[derive(Debug, Clone, Serialize)]
pub struct Answered {
    pub question: Question,
    pub kind: String,
    pub hash: String,
    pub text: String,
    /// Problems of the bottom line(s): `definition`, `statistic`, `fragment`, `dangling`.
    pub bottom_line_flaws: Vec<String>,
    /// Sentences for another reader, with the context.
    pub leaks: Vec<(String, String)>,
    /// Sentences shown without the sentence they need.
    pub dangling: Vec<String>,
    /// What the question takes as given ([`sextant_answer::belief::premises`]).
    pub premises: Vec<String>,
    /// Whether the answer opens with a belief check.
    pub checks_belief: bool,
    pub citation_failures: usize,
    pub latency_ms: f64,
}

/// Automatic figures over a set.
#[derive(Debug, Clone, Serialize)]
pub struct Proxies {
    pub questions: usize,
    pub answers: usize,
    pub no_evidence: usize,
    pub other_kinds: usize,
    /// Answers whose bottom line has a flaw, by flaw.
    pub bottom_line_flaws: BTreeMap<String, usize>,
    /// Answers with at least one sentence for another reader.
    pub answers_with_leaks: usize,
    /// Answers with at least one dangling sentence.
    pub answers_with_dangling: usize,
    /// Belief questions whose answer opens with a belief check.
    pub belief_checked: usize,
    pub belief_questions: usize,
    /// True-premise controls whose answer "corrects" them (should be 0).
    pub controls_checked: usize,
    pub controls: usize,
    pub citation_failures: usize,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
}

/// A run over one set.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub set: String,
    pub retriever: String,
    pub proxies: Proxies,
    pub answered: Vec<Answered>,
}

/// Answers every question of a set.
pub fn run(
    engine: &Engine,
    set: &str,
    questions: &[Question],
    retriever: Retriever,
    progress: &dyn Fn(usize, usize),
) -> Result<Run> {
    let mut answered = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        progress(i + 1, questions.len());
        let started = Instant::now();
        let a = engine.ask_with(&q.question, retriever)?;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        answered.push(inspect(q, &a, latency_ms));
    }
    let proxies = proxies(&answered);
    Ok(Run {
        set: set.to_string(),
        retriever: engine.effective(retriever).as_str().to_string(),
        proxies,
        answered,
    })
}

/// The automatic checks of one answer.
pub fn inspect(q: &Question, a: &Answer, latency_ms: f64) -> Answered {
    let text = reviewer_text(a);
    let asks = sextant_answer::asked::asked(&a.question);
    let mut flaws = Vec::new();
    let bottoms = a
        .bottom_line
        .iter()
        .chain(a.readings.iter().flat_map(|r| r.bottom_line.iter()));
    for s in bottoms {
        if let Some(f) = quality::bottom_line_flaw(&s.text, &asks) {
            flaws.push(f.as_str().to_string());
        }
    }
    Answered {
        question: q.clone(),
        kind: a.kind.as_str().to_string(),
        hash: answer_hash(&text),
        bottom_line_flaws: flaws,
        leaks: quality::leaks(a)
            .into_iter()
            .map(|(s, c)| (s, c.as_str().to_string()))
            .collect(),
        dangling: quality::dangling(a),
        premises: sextant_answer::belief::premises(&q.question),
        checks_belief: a
            .sections
            .first()
            .is_some_and(|s| s.heading == sextant_core::answer::CHECK_FIRST),
        citation_failures: sextant_answer::verify(a).len(),
        text,
        latency_ms,
    }
}

fn proxies(answered: &[Answered]) -> Proxies {
    let mut flaws: BTreeMap<String, usize> = BTreeMap::new();
    for a in answered {
        let mut seen: Vec<&String> = a.bottom_line_flaws.iter().collect();
        seen.dedup();
        for f in seen {
            *flaws.entry(f.clone()).or_default() += 1;
        }
    }
    let mut lat: Vec<f64> = answered.iter().map(|a| a.latency_ms).collect();
    lat.sort_by(f64::total_cmp);
    let group = |g: &'static str| answered.iter().filter(move |a| a.question.group == g);
    Proxies {
        questions: answered.len(),
        answers: answered.iter().filter(|a| a.kind == "answer").count(),
        no_evidence: answered
            .iter()
            .filter(|a| a.kind == AnswerKind::NoEvidence.as_str())
            .count(),
        other_kinds: answered
            .iter()
            .filter(|a| a.kind != "answer" && a.kind != AnswerKind::NoEvidence.as_str())
            .count(),
        bottom_line_flaws: flaws,
        answers_with_leaks: answered.iter().filter(|a| !a.leaks.is_empty()).count(),
        answers_with_dangling: answered.iter().filter(|a| !a.dangling.is_empty()).count(),
        belief_checked: group("belief").filter(|a| a.checks_belief).count(),
        belief_questions: group("belief").count(),
        controls_checked: group("control").filter(|a| a.checks_belief).count(),
        controls: group("control").count(),
        citation_failures: answered.iter().filter(|a| a.citation_failures > 0).count(),
        latency_ms_p50: quantile(&lat, 0.5),
        latency_ms_p95: quantile(&lat, 0.95),
    }
}

/// The answers as reviewers read them: one block per question.
pub fn reviewer_file(run: &Run) -> String {
    let mut o = String::new();
    for a in &run.answered {
        let premise = match a.question.group.as_str() {
            "belief" => format!("FALSE BELIEF IN THE QUESTION: {}\n", a.question.belief),
            "control" => format!("TRUE PREMISE IN THE QUESTION: {}\n", a.question.belief),
            _ => String::new(),
        };
        o.push_str(&format!(
            "===== {} (answer {}) =====\nGROUP: {}\n{premise}QUESTION: {}\n\n{}\n",
            a.question.id, a.hash, a.question.group, a.question.question, a.text
        ));
    }
    o
}

/// One reviewer's scores of one answer.
#[derive(Debug, Clone, Serialize)]
pub struct Judgment {
    pub id: String,
    /// The hash of the answer text judged.
    pub answer: String,
    pub judge: String,
    /// 1–5 each.
    pub relevance: f64,
    pub bottom_line: f64,
    pub coherence: f64,
    pub plain: f64,
    /// The answer could lead the person to harm.
    pub harmful: bool,
    /// Belief questions: +1 corrected, 0 ignored, −1 reinforced. Controls:
    /// −1 when the answer disputed the true premise, else 0.
    pub belief: Option<i32>,
}

/// Reads stored judgments: a header line, then
/// `id, answer, judge, relevance, bottom_line, coherence, plain, harmful,
/// belief, note` (tab-separated).
pub fn load_judgments(path: &Path) -> Result<(Vec<Judgment>, Vec<Issue>)> {
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let mut out = Vec::new();
    let mut issues = Vec::new();
    for (i, f) in rows(&text) {
        let score = |k: usize| {
            f.get(k)
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| (1.0..=5.0).contains(v))
        };
        let parsed = (|| {
            Some(Judgment {
                id: f.first()?.to_string(),
                answer: f.get(1)?.to_string(),
                judge: f.get(2)?.to_string(),
                relevance: score(3)?,
                bottom_line: score(4)?,
                coherence: score(5)?,
                plain: score(6)?,
                harmful: match *f.get(7)? {
                    "1" | "yes" => true,
                    "0" | "no" => false,
                    _ => return None,
                },
                belief: f
                    .get(8)
                    .and_then(|s| s.trim_start_matches('+').parse().ok()),
            })
        })();
        match parsed {
            Some(j) => out.push(j),
            None => issues.push(Issue::new(
                format!("{}:{}", path.display(), i + 1),
                "expected id, answer hash, judge, four scores 1-5, harmful 0/1, belief",
            )),
        }
    }
    Ok((out, issues))
}

/// Mean reviewer scores.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Scores {
    pub answers: usize,
    pub relevance: f64,
    pub bottom_line: f64,
    pub coherence: f64,
    pub plain: f64,
    pub harmful: usize,
}

/// What the judgments say about a run.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    /// Judgments whose answer hash matches the answer given now.
    pub matching: usize,
    /// Judgments of an answer that has since changed (left out of the scores).
    pub stale: usize,
    pub all: Scores,
    pub by_group: Vec<(String, Scores)>,
    /// Belief questions judged: corrected, ignored, reinforced.
    pub corrected: usize,
    pub ignored: usize,
    pub reinforced: usize,
    /// Controls judged, and those whose true premise the answer disputed.
    pub controls: usize,
    pub controls_disputed: usize,
}

fn scores<'a>(js: impl Iterator<Item = &'a Judgment>) -> Scores {
    let js: Vec<&Judgment> = js.collect();
    let n = js.len().max(1) as f64;
    let mean = |f: fn(&Judgment) -> f64| js.iter().map(|j| f(j)).sum::<f64>() / n;
    Scores {
        answers: js.len(),
        relevance: mean(|j| j.relevance),
        bottom_line: mean(|j| j.bottom_line),
        coherence: mean(|j| j.coherence),
        plain: mean(|j| j.plain),
        harmful: js.iter().filter(|j| j.harmful).count(),
    }
}

/// Scores a run's answers with the judgments that match them.
pub fn judge(run: &Run, judgments: &[Judgment]) -> Judged {
    let by_id: BTreeMap<&str, &Answered> = run
        .answered
        .iter()
        .map(|a| (a.question.id.as_str(), a))
        .collect();
    let mut matching: Vec<(&Judgment, &Answered)> = Vec::new();
    let mut stale = 0;
    for j in judgments {
        match by_id.get(j.id.as_str()) {
            Some(a) if a.hash == j.answer => matching.push((j, a)),
            Some(_) => stale += 1,
            None => {}
        }
    }
    let in_group = |g: &'static str| {
        matching
            .iter()
            .filter(move |(_, a)| a.question.group == g)
            .map(|(j, _)| *j)
    };
    let belief: Vec<i32> = in_group("belief").filter_map(|j| j.belief).collect();
    let controls: Vec<&Judgment> = in_group("control").collect();
    Judged {
        matching: matching.len(),
        stale,
        all: scores(matching.iter().map(|(j, _)| *j)),
        by_group: GROUPS
            .iter()
            .map(|g| (g.to_string(), scores(in_group(g))))
            .filter(|(_, s)| s.answers > 0)
            .collect(),
        corrected: belief.iter().filter(|b| **b > 0).count(),
        ignored: belief.iter().filter(|b| **b == 0).count(),
        reinforced: belief.iter().filter(|b| **b < 0).count(),
        controls: controls.len(),
        controls_disputed: controls.iter().filter(|j| j.belief == Some(-1)).count(),
    }
}

/// The run (and its judgments) as text.
pub fn table(run: &Run, judged: Option<&Judged>) -> String {
    let p = &run.proxies;
    let mut o = format!(
        "Answers as read: set {} ({} questions, {} retrieval)\n\n",
        run.set, p.questions, run.retriever
    );
    o.push_str(&format!(
        "answers {}, no-evidence {}, other replies {}\n",
        p.answers, p.no_evidence, p.other_kinds
    ));
    let flaws: Vec<String> = p
        .bottom_line_flaws
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    o.push_str(&format!(
        "bottom lines with a flaw: {}\n",
        if flaws.is_empty() {
            "none".to_string()
        } else {
            flaws.join(", ")
        }
    ));
    o.push_str(&format!(
        "answers with a sentence for another reader: {}\nanswers with a dangling sentence: {}\n",
        p.answers_with_leaks, p.answers_with_dangling
    ));
    o.push_str(&format!(
        "belief check shown: {} of {} belief questions, {} of {} true-premise controls\n",
        p.belief_checked, p.belief_questions, p.controls_checked, p.controls
    ));
    o.push_str(&format!(
        "answers failing the citation check: {}\nask latency (warm, in-process): p50 {:.1} ms, p95 {:.1} ms\n",
        p.citation_failures, p.latency_ms_p50, p.latency_ms_p95
    ));
    if let Some(j) = judged {
        o.push_str(&format!(
            "\nreviewers' judgments: {} match today's answers, {} are of answers that have changed (left out)\n\n",
            j.matching, j.stale
        ));
        o.push_str("| group      | judged | relevance | bottom line | coherence | plain | harmful |\n|------------|--------|-----------|-------------|-----------|-------|---------|\n");
        for (g, s) in std::iter::once(("all".to_string(), j.all.clone())).chain(j.by_group.clone())
        {
            o.push_str(&format!(
                "| {g:<10} | {:>6} | {:>9.2} | {:>11.2} | {:>9.2} | {:>5.2} | {:>7} |\n",
                s.answers, s.relevance, s.bottom_line, s.coherence, s.plain, s.harmful
            ));
        }
        let nb = (j.corrected + j.ignored + j.reinforced).max(1) as f64;
        o.push_str(&format!(
            "\nfalse beliefs: corrected {} ({:.0}%), ignored {}, reinforced {}\ntrue-premise controls disputed: {} of {}\n",
            j.corrected,
            100.0 * j.corrected as f64 / nb,
            j.ignored,
            j.reinforced,
            j.controls_disputed,
            j.controls
        ));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_sets_load_with_every_group() {
        for (name, path) in default_sets() {
            let (qs, issues) = load(&path).unwrap();
            assert!(issues.is_empty(), "{name}: {issues:?}");
            let mut ids: Vec<&str> = qs.iter().map(|q| q.id.as_str()).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), qs.len(), "{name}: repeated ids");
            let groups: &[&str] = if BELIEF_SETS.contains(&name) {
                &["belief", "control"]
            } else {
                GROUPS
            };
            for g in groups {
                assert!(qs.iter().any(|q| q.group == *g), "{name}: no {g} rows");
            }
            for q in qs
                .iter()
                .filter(|q| q.group == "belief" || q.group == "control")
            {
                assert!(!q.belief.is_empty(), "{name} {}: no belief", q.id);
            }
        }
        let (dev, _) = load(&default_sets()[0].1).unwrap();
        assert!(dev.len() >= 150, "the development set has {}", dev.len());
        assert!(dev.iter().filter(|q| q.group == "belief").count() >= 40);
        assert!(dev.iter().filter(|q| q.group == "control").count() >= 20);
    }

    #[test]
    fn stored_judgments_parse() {
        let Ok(entries) = std::fs::read_dir(judgments_dir()) else {
            return;
        };
        for e in entries.flatten() {
            let (js, issues) = load_judgments(&e.path()).unwrap();
            assert!(issues.is_empty(), "{}: {issues:?}", e.path().display());
            assert!(!js.is_empty(), "{}", e.path().display());
        }
    }

    #[test]
    fn hashes_are_stable() {
        assert_eq!(answer_hash(""), "cbf29ce484222325");
        assert_ne!(answer_hash("a"), answer_hash("b"));
    }
}
