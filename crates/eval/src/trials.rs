//! `sextant eval trials`: trial matching on NIH-TrialBench's 41 oncology
//! (NCI) vignettes, against the clinicians' labels.
//!
//! For each patient the candidates are the trials the clinicians labelled
//! for them, plus the patient's target trial (the trial the vignette was
//! written for) when it is not among them; it then counts as `recommended`,
//! and the report says how many were added. Each vignette goes through the
//! records extractor ([`sextant_records::read_note`]) to become a profile,
//! exactly as an uploaded note would; nothing is read from the labels.
//!
//! Measured, in the same run:
//! - ranking: NDCG@10 with `recommended` = 2, `eligible_but_not_recommended`
//!   = 1, `ineligible` = 0; P@5 (grade ≥ 1, and `recommended` only); the
//!   target trial's rank (top 1, top 3, MRR);
//! - the same for a BM25-only baseline: the vignette's whole text as the
//!   query against the trial index, no criteria;
//! - eligibility: "likely excluded" against the `ineligible` label on every
//!   labelled pair (accuracy, precision, recall, and the accuracy of always
//!   answering "not excluded", since ineligible pairs are few);
//! - the criteria: how many were parsed, by category and by judgement.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use sextant_trials::matching::{self, Person, Status, TrialMatch, Verdict};
use sextant_trials::store::{self, TrialIndex};

use crate::{EvalError, Result};

/// One labelled pair.
#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub patient: String,
    pub trial: String,
    pub label: String,
    pub comment: String,
    pub verdict: Verdict,
    pub rank: usize,
    pub reasons: Vec<String>,
}

/// One patient's ranking.
#[derive(Debug, Clone, Serialize)]
pub struct PatientResult {
    pub patient: String,
    pub target: String,
    pub target_added: bool,
    pub candidates: usize,
    pub target_rank: usize,
    pub ndcg10: f64,
    pub p5: f64,
    pub p5_recommended: f64,
    pub bm25_target_rank: usize,
    pub bm25_ndcg10: f64,
    pub bm25_p5: f64,
    pub bm25_p5_recommended: f64,
    /// What the extractor read from the vignette, counted.
    pub profile: ProfileCounts,
    /// Sextant's order: trial, clinicians' grade, score, relevance, fit,
    /// verdict.
    pub ranking: Vec<(String, u32, f32, f32, f32, Verdict)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProfileCounts {
    pub cancers: usize,
    pub metastatic_sites: usize,
    pub biomarkers: usize,
    pub treatments: usize,
    pub age: bool,
    pub sex: bool,
    pub performance: bool,
}

/// Ranking figures for one method.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RankFigures {
    pub ndcg10: f64,
    pub p5: f64,
    pub p5_recommended: f64,
    pub target_top1: f64,
    pub target_top3: f64,
    pub target_mrr: f64,
}

/// Likely-excluded against the `ineligible` label.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExclusionFigures {
    pub pairs: usize,
    pub ineligible: usize,
    pub predicted_excluded: usize,
    pub true_excluded: usize,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    /// Accuracy of always answering "not excluded".
    pub majority_accuracy: f64,
    /// Verdict counts by label: label → [eligible, possibly, excluded].
    pub by_label: Vec<(String, [usize; 3])>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrialsReport {
    pub patients: usize,
    pub trials_indexed: usize,
    pub with_vectors: bool,
    pub targets_added: usize,
    pub sextant: RankFigures,
    pub bm25: RankFigures,
    pub exclusion: ExclusionFigures,
    /// Criteria parsed over the indexed trials, by category.
    pub criteria_total: usize,
    pub criteria_by_category: Vec<(String, usize)>,
    /// Judgements over all candidate pairs.
    pub judgements: [usize; 3],
    pub trials_without_criteria: usize,
    pub match_ms_p50: f64,
    pub per_patient: Vec<PatientResult>,
    pub pairs: Vec<Pair>,
}

#[derive(serde::Deserialize)]
struct PatientLine {
    patient_id: String,
    ic: String,
    patient_summary: String,
    target_trial_id: String,
}

#[derive(serde::Deserialize)]
struct AnnotationLine {
    patient_id: String,
    annotations: Vec<Annotation>,
}

#[derive(serde::Deserialize)]
struct Annotation {
    trial_id: String,
    clinician_label: String,
    #[serde(default)]
    clinician_comment: String,
}

fn grade(label: &str) -> u32 {
    match label {
        "recommended" => 2,
        "eligible_but_not_recommended" => 1,
        _ => 0,
    }
}

/// NDCG@k of a ranking given as grades in ranked order, against the ideal
/// order of the same grades.
pub fn ndcg(ranked: &[u32], k: usize) -> f64 {
    let dcg = |g: &[u32]| -> f64 {
        g.iter()
            .take(k)
            .enumerate()
            .map(|(i, &g)| (2f64.powi(g as i32) - 1.0) / ((i + 2) as f64).log2())
            .sum()
    };
    let mut ideal = ranked.to_vec();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg = dcg(&ideal);
    if idcg == 0.0 {
        0.0
    } else {
        dcg(ranked) / idcg
    }
}

/// Share of the first `k` (or fewer, when fewer exist) with grade ≥ `min`.
pub fn precision_at(ranked: &[u32], k: usize, min: u32) -> f64 {
    let n = ranked.len().min(k);
    if n == 0 {
        return 0.0;
    }
    ranked.iter().take(n).filter(|&&g| g >= min).count() as f64 / n as f64
}

fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .map_err(|e| EvalError::Other(format!("{}: {e}", path.display())))
        })
        .collect()
}

/// Runs the evaluation. `work` is a scratch folder for the trial index;
/// `models` the embedding model folder (vectors are used when present).
pub fn run(data: &Path, work: &Path, models: Option<&Path>) -> Result<TrialsReport> {
    let bench = data.join("trials/nih-trialbench");
    let patients: Vec<PatientLine> = read_jsonl(&bench.join("patients.jsonl"))?;
    let annotations: Vec<AnnotationLine> = read_jsonl(&bench.join("clinician_annotations.jsonl"))?;
    let labels: HashMap<String, Vec<Annotation>> = annotations
        .into_iter()
        .map(|a| (a.patient_id, a.annotations))
        .collect();
    let patients: Vec<PatientLine> = patients.into_iter().filter(|p| p.ic == "NCI").collect();
    if patients.is_empty() {
        return Err(EvalError::NoQuestions(bench.display().to_string()));
    }
    let embedder = match models {
        Some(m) if sextant_embed::embedder::model_present(m) => {
            Some(sextant_embed::Embedder::load(m)?)
        }
        _ => None,
    };
    let kb = work.join("trials-eval-kb");
    let _ = std::fs::remove_dir_all(&kb);
    let report = store::ingest(&kb, &[bench.join("trials")], None, embedder.as_ref())
        .map_err(|e| EvalError::Other(e.to_string()))?;
    let index = TrialIndex::open(&kb).map_err(|e| EvalError::Other(e.to_string()))?;
    let n = index.trials().len();
    let pos: HashMap<&str, usize> = index
        .trials()
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();

    let mut criteria_total = 0;
    let mut by_cat: HashMap<String, usize> = HashMap::new();
    let mut without = 0;
    for t in index.trials() {
        let (cs, _) = sextant_trials::criteria::parse(&t.eligibility);
        if cs.is_empty() {
            without += 1;
        }
        criteria_total += cs.len();
        for c in cs {
            *by_cat.entry(c.category().label().to_string()).or_default() += 1;
        }
    }
    let mut criteria_by_category: Vec<(String, usize)> = by_cat.into_iter().collect();
    criteria_by_category.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));

    let year = current_year();
    let mut per_patient = Vec::new();
    let mut pairs = Vec::new();
    let mut judgements = [0usize; 3];
    let mut times = Vec::new();
    let mut targets_added = 0;
    for p in &patients {
        let profile = sextant_records::read_note(&p.patient_id, &p.patient_summary);
        let person = Person::from_profile(&profile, year);
        let mut cands: Vec<(String, String, String)> = labels
            .get(&p.patient_id)
            .map(|a| {
                a.iter()
                    .map(|x| {
                        (
                            x.trial_id.clone(),
                            x.clinician_label.clone(),
                            x.clinician_comment.clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let target_added = !cands.iter().any(|c| c.0 == p.target_trial_id);
        if target_added {
            targets_added += 1;
            cands.push((
                p.target_trial_id.clone(),
                "recommended".into(),
                String::new(),
            ));
        }
        cands.retain(|c| pos.contains_key(c.0.as_str()));
        // BM25 of the person's query (Sextant) and of the whole vignette
        // (baseline), over every indexed trial.
        let scores = |q: &str| -> Result<Vec<f32>> {
            let mut s = vec![0f32; n];
            for (i, v) in index
                .search_text(q, n)
                .map_err(|e| EvalError::Other(e.to_string()))?
            {
                s[i] = v;
            }
            Ok(s)
        };
        let person_text = scores(&person.query_text())?;
        let vignette_text = scores(&p.patient_summary)?;
        let sims = match &embedder {
            Some(e) => index.similarities(&e.embed_one(&person.query_text())?),
            None => None,
        };
        let max_of = |s: &[f32]| {
            cands
                .iter()
                .map(|c| s[pos[c.0.as_str()]])
                .fold(0f32, f32::max)
                .max(f32::MIN_POSITIVE)
        };
        // The vignette is the person's own text: searched with the
        // profile's words, as `trials match --note` does.
        let combined = scores(&format!("{} {}", person.query_text(), p.patient_summary))?;
        let pmax = max_of(&combined);
        let _ = &person_text;
        let mut matches: Vec<(TrialMatch, String, String)> = Vec::new();
        for (id, label, comment) in &cands {
            let i = pos[id.as_str()];
            let t0 = Instant::now();
            let mut m = matching::match_trial(&index.trials()[i], &person);
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
            let found = store::Found {
                index: i,
                text: combined[i] / pmax,
                vector: sims.as_ref().map(|s| s[i]),
            };
            m.score += store::similarity_bonus(&found);
            for c in &m.checklist {
                judgements[match c.status {
                    Status::Met => 0,
                    Status::NotMet => 1,
                    Status::Unknown => 2,
                }] += 1;
            }
            matches.push((m, label.clone(), comment.clone()));
        }
        matches.sort_by(|a, b| {
            b.0.score
                .total_cmp(&a.0.score)
                .then(a.0.not_met.cmp(&b.0.not_met))
                .then(a.0.trial_id.cmp(&b.0.trial_id))
        });
        let grades: Vec<u32> = matches.iter().map(|m| grade(&m.1)).collect();
        let target_rank = matches
            .iter()
            .position(|m| m.0.trial_id == p.target_trial_id)
            .map_or(0, |r| r + 1);
        // Baseline: vignette BM25 only.
        let mut base: Vec<(&str, f32, u32)> = cands
            .iter()
            .map(|c| (c.0.as_str(), vignette_text[pos[c.0.as_str()]], grade(&c.1)))
            .collect();
        base.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        let base_grades: Vec<u32> = base.iter().map(|b| b.2).collect();
        let bm25_target_rank = base
            .iter()
            .position(|b| b.0 == p.target_trial_id)
            .map_or(0, |r| r + 1);
        for (rank, (m, label, comment)) in matches.iter().enumerate() {
            let labelled = !(target_added && m.trial_id == p.target_trial_id);
            if labelled {
                pairs.push(Pair {
                    patient: p.patient_id.clone(),
                    trial: m.trial_id.clone(),
                    label: label.clone(),
                    comment: comment.clone(),
                    verdict: m.verdict,
                    rank: rank + 1,
                    reasons: m.reasons.clone(),
                });
            }
        }
        let ranking = matches
            .iter()
            .map(|(m, l, _)| {
                (
                    m.trial_id.clone(),
                    grade(l),
                    m.score,
                    m.relevance,
                    m.fit,
                    m.verdict,
                )
            })
            .collect();
        per_patient.push(PatientResult {
            ranking,
            patient: p.patient_id.clone(),
            target: p.target_trial_id.clone(),
            target_added,
            candidates: matches.len(),
            target_rank,
            ndcg10: ndcg(&grades, 10),
            p5: precision_at(&grades, 5, 1),
            p5_recommended: precision_at(&grades, 5, 2),
            bm25_target_rank,
            bm25_ndcg10: ndcg(&base_grades, 10),
            bm25_p5: precision_at(&base_grades, 5, 1),
            bm25_p5_recommended: precision_at(&base_grades, 5, 2),
            profile: ProfileCounts {
                cancers: profile.primary_cancers.len(),
                metastatic_sites: profile.metastatic_sites.len(),
                biomarkers: profile.biomarkers.len(),
                treatments: profile.treatments.len(),
                age: !profile.age.is_empty(),
                sex: !profile.sex.is_empty(),
                performance: !profile.performance.is_empty(),
            },
        });
    }
    times.sort_by(f64::total_cmp);
    let figures = |f: &dyn Fn(&PatientResult) -> (f64, f64, f64, usize)| -> RankFigures {
        let k = per_patient.len().max(1) as f64;
        let mut r = RankFigures::default();
        for p in &per_patient {
            let (nd, p5, p5r, rank) = f(p);
            r.ndcg10 += nd / k;
            r.p5 += p5 / k;
            r.p5_recommended += p5r / k;
            if rank == 1 {
                r.target_top1 += 1.0 / k;
            }
            if (1..=3).contains(&rank) {
                r.target_top3 += 1.0 / k;
            }
            if rank > 0 {
                r.target_mrr += 1.0 / rank as f64 / k;
            }
        }
        r
    };
    let sextant = figures(&|p| (p.ndcg10, p.p5, p.p5_recommended, p.target_rank));
    let bm25 = figures(&|p| {
        (
            p.bm25_ndcg10,
            p.bm25_p5,
            p.bm25_p5_recommended,
            p.bm25_target_rank,
        )
    });
    let exclusion = exclusion_figures(&pairs);
    let _ = std::fs::remove_dir_all(&kb);
    Ok(TrialsReport {
        patients: per_patient.len(),
        trials_indexed: report.manifest.trials,
        with_vectors: report.manifest.vectors.is_some(),
        targets_added,
        sextant,
        bm25,
        exclusion,
        criteria_total,
        criteria_by_category,
        judgements,
        trials_without_criteria: without,
        match_ms_p50: crate::quantile(&times, 0.5),
        per_patient,
        pairs,
    })
}

fn exclusion_figures(pairs: &[Pair]) -> ExclusionFigures {
    let mut f = ExclusionFigures {
        pairs: pairs.len(),
        ..Default::default()
    };
    let mut correct = 0;
    for p in pairs {
        let truth = p.label == "ineligible";
        let pred = p.verdict == Verdict::LikelyExcluded;
        f.ineligible += usize::from(truth);
        f.predicted_excluded += usize::from(pred);
        f.true_excluded += usize::from(truth && pred);
        correct += usize::from(truth == pred);
        let col = match p.verdict {
            Verdict::LikelyEligible => 0,
            Verdict::Possibly => 1,
            Verdict::LikelyExcluded => 2,
        };
        match f.by_label.iter_mut().find(|(l, _)| *l == p.label) {
            Some((_, c)) => c[col] += 1,
            None => {
                let mut c = [0; 3];
                c[col] += 1;
                f.by_label.push((p.label.clone(), c));
            }
        }
    }
    f.by_label.sort_by_key(|(l, _)| std::cmp::Reverse(grade(l)));
    let n = pairs.len().max(1) as f64;
    f.accuracy = correct as f64 / n;
    f.precision = f.true_excluded as f64 / f.predicted_excluded.max(1) as f64;
    f.recall = f.true_excluded as f64 / f.ineligible.max(1) as f64;
    f.majority_accuracy = (pairs.len() - f.ineligible) as f64 / n;
    f
}

fn current_year() -> i32 {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    // Civil year from days since 1970 (Howard Hinnant's algorithm, year part).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2)) as i32
}

/// The report as Markdown.
pub fn render(r: &TrialsReport) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "Trial matching (sextant eval trials): {} NCI vignettes of NIH-TrialBench, {} trials indexed{}\n\n",
        r.patients,
        r.trials_indexed,
        if r.with_vectors { " (BM25 + embeddings)" } else { " (BM25 only; embedding model not installed)" }
    ));
    s.push_str(&format!(
        "Candidates per patient: the clinicians' labelled trials, plus the target trial for {} patients whose labels lack it (counted as recommended).\n\n",
        r.targets_added
    ));
    s.push_str("| ranking | NDCG@10 | P@5 (eligible) | P@5 (recommended) | target top-1 | target top-3 | target MRR |\n|---|---|---|---|---|---|---|\n");
    for (name, f) in [
        ("Sextant (criteria + relevance + text)", &r.sextant),
        ("BM25 only (vignette text)", &r.bm25),
    ] {
        s.push_str(&format!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |\n",
            f.ndcg10, f.p5, f.p5_recommended, f.target_top1, f.target_top3, f.target_mrr
        ));
    }
    let e = &r.exclusion;
    s.push_str(&format!(
        "\nLikely excluded vs the `ineligible` label, {} labelled pairs ({} ineligible): accuracy {:.3} (always \"not excluded\": {:.3}), precision {:.3}, recall {:.3} ({} of {} predicted exclusions right)\n\n",
        e.pairs, e.ineligible, e.accuracy, e.majority_accuracy, e.precision, e.recall, e.true_excluded, e.predicted_excluded
    ));
    s.push_str("| label | likely eligible | possibly | likely excluded |\n|---|---|---|---|\n");
    for (l, c) in &e.by_label {
        s.push_str(&format!("| {l} | {} | {} | {} |\n", c[0], c[1], c[2]));
    }
    s.push_str(&format!(
        "\nCriteria parsed: {} over {} trials ({} with none). Judgements over all candidate pairs: {} met, {} not met, {} unknown. Matching one trial: p50 {:.2} ms.\n",
        r.criteria_total, r.trials_indexed, r.trials_without_criteria, r.judgements[0], r.judgements[1], r.judgements[2], r.match_ms_p50
    ));
    s.push_str("\n| category | criteria |\n|---|---|\n");
    for (c, n) in &r.criteria_by_category {
        s.push_str(&format!("| {c} | {n} |\n"));
    }
    s.push_str("\n| patient | target | candidates | target rank | BM25 target rank | NDCG@10 | BM25 NDCG@10 |\n|---|---|---|---|---|---|---|\n");
    for p in &r.per_patient {
        s.push_str(&format!(
            "| {} | {}{} | {} | {} | {} | {:.3} | {:.3} |\n",
            p.patient,
            p.target,
            if p.target_added { " (added)" } else { "" },
            p.candidates,
            p.target_rank,
            p.bm25_target_rank,
            p.ndcg10,
            p.bm25_ndcg10
        ));
    }
    s
}

/// Disagreements with the clinicians, for reading: pairs judged likely
/// excluded that clinicians did not mark ineligible, and the reverse.
pub fn disagreements(r: &TrialsReport, max: usize) -> String {
    let mut s = String::new();
    for p in r
        .pairs
        .iter()
        .filter(|p| (p.verdict == Verdict::LikelyExcluded) != (p.label == "ineligible"))
        .take(max)
    {
        s.push_str(&format!(
            "- {} × {}: clinicians `{}`, Sextant {} (rank {}). Sextant: {} Clinicians: {}\n",
            p.patient,
            p.trial,
            p.label,
            p.verdict.label(),
            p.rank,
            p.reasons.join(" / "),
            if p.comment.is_empty() {
                "(no comment)"
            } else {
                &p.comment
            }
        ));
    }
    s
}

/// Default scratch folder.
pub fn default_work() -> PathBuf {
    std::env::temp_dir().join(format!("sextant-eval-trials-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_and_precision() {
        assert!((ndcg(&[2, 1, 0], 10) - 1.0).abs() < 1e-12);
        assert!(ndcg(&[0, 1, 2], 10) < ndcg(&[1, 0, 2], 10));
        assert_eq!(ndcg(&[0, 0], 10), 0.0);
        assert_eq!(precision_at(&[2, 0, 1, 0, 0, 2], 5, 1), 0.4);
        assert_eq!(precision_at(&[2, 2], 5, 2), 1.0);
        assert!(current_year() >= 2024);
    }
}
