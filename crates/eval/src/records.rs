//! `sextant eval records`: extraction quality and speed.
//!
//! - Expected profiles (`data/records-expected.json`, written by reading the
//!   files): precision, recall and F1 per field of the extracted facts.
//! - The mCODE fixtures: how many files read, how many gave facts.
//! - Synthea's cancer bundles: FHIR resources parsed and extracted per
//!   second on one core (unpacking is not timed).
//! - TCGA pathology reports: agreement of the text reader with the silver
//!   labels per cancer type and field, and text reports read per second
//!   ([`crate::tcga`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::{EvalError, Result};

/// The expected profiles shipped with the repository.
pub const EXPECTED: &str = include_str!("../data/records-expected.json");

/// Precision, recall and F1 of one field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldScore {
    pub field: String,
    pub expected: usize,
    pub extracted: usize,
    pub correct: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub profiles: usize,
    pub fields: Vec<FieldScore>,
    pub overall: FieldScore,
    /// Facts expected but not extracted, and extracted but not expected.
    pub missing: Vec<String>,
    pub extra: Vec<String>,
    pub mcode_files: usize,
    pub mcode_files_with_facts: usize,
    pub mcode_files_refused: usize,
    pub synthea_files: usize,
    pub synthea_resources: usize,
    pub synthea_seconds: f64,
    pub synthea_resources_per_s: f64,
    pub synthea_with_cancer: usize,
    /// TCGA pathology reports, when the data is there.
    pub tcga: Option<crate::tcga::Report>,
}

fn score(field: &str, expected: usize, extracted: usize, correct: usize) -> FieldScore {
    let precision = if extracted == 0 {
        1.0
    } else {
        correct as f64 / extracted as f64
    };
    let recall = if expected == 0 {
        1.0
    } else {
        correct as f64 / expected as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    FieldScore {
        field: field.to_string(),
        expected,
        extracted,
        correct,
        precision,
        recall,
        f1,
    }
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files_under(&p, ext, out);
        } else if p.to_string_lossy().ends_with(ext) {
            out.push(p);
        }
    }
}

pub fn run(data: &Path) -> Result<Report> {
    let expected: serde_json::Value = serde_json::from_str(EXPECTED)
        .map_err(|e| EvalError::Other(format!("records-expected.json: {e}")))?;
    let cases = expected["profiles"].as_array().cloned().unwrap_or_default();
    // field → (expected, extracted, correct)
    let mut by_field: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let (mut missing, mut extra) = (Vec::new(), Vec::new());
    for case in &cases {
        let mut profile = sextant_records::Profile::default();
        for f in case["files"].as_array().into_iter().flatten() {
            let path = data.join(f.as_str().unwrap_or(""));
            let p =
                sextant_records::read_file(&path).map_err(|e| EvalError::Other(e.to_string()))?;
            profile.merge(p);
        }
        let got: Vec<(String, String)> = profile
            .canonical_facts()
            .into_iter()
            .map(|(f, v)| (f.to_string(), v))
            .collect();
        let want: Vec<(String, String)> = case["facts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p[0].as_str()?.to_string(), p[1].as_str()?.to_string())))
            .collect();
        for w in &want {
            let e = by_field.entry(w.0.clone()).or_default();
            e.0 += 1;
            if got.contains(w) {
                e.2 += 1;
            } else {
                missing.push(format!("{}: {}", w.0, w.1));
            }
        }
        for g in &got {
            by_field.entry(g.0.clone()).or_default().1 += 1;
            if !want.contains(g) {
                extra.push(format!("{}: {}", g.0, g.1));
            }
        }
    }
    let fields: Vec<FieldScore> = by_field
        .iter()
        .map(|(f, (e, x, c))| score(f, *e, *x, *c))
        .collect();
    let tot = by_field
        .values()
        .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    let overall = score("all", tot.0, tot.1, tot.2);

    let mut mcode = Vec::new();
    files_under(&data.join("records/mcode"), ".json", &mut mcode);
    let (mut with_facts, mut refused) = (0, 0);
    for f in &mcode {
        match sextant_records::read_file(f) {
            Ok(p) => with_facts += usize::from(!p.is_empty()),
            Err(_) => refused += 1,
        }
    }

    let mut synthea = Vec::new();
    files_under(&data.join("records/synthea"), ".json.gz", &mut synthea);
    let (mut resources, mut seconds, mut with_cancer) = (0usize, 0.0f64, 0usize);
    for f in &synthea {
        let name = f.display().to_string();
        let gz = std::fs::read(f).map_err(|source| EvalError::Io {
            path: name.clone(),
            source,
        })?;
        let json =
            sextant_records::gunzip(&name, &gz).map_err(|e| EvalError::Other(e.to_string()))?;
        let v: serde_json::Value =
            serde_json::from_slice(&json).map_err(|e| EvalError::Other(format!("{name}: {e}")))?;
        resources += v["entry"].as_array().map_or(1, Vec::len);
        let t = Instant::now();
        let p = sextant_records::read_bytes(&name, &json)
            .map_err(|e| EvalError::Other(e.to_string()))?;
        seconds += t.elapsed().as_secs_f64();
        with_cancer += usize::from(!p.primary_cancers.is_empty());
    }
    let tcga = if data.join("records/tcga-path-reports").is_dir() {
        Some(crate::tcga::run(data, false)?.0)
    } else {
        None
    };
    Ok(Report {
        profiles: cases.len(),
        fields,
        overall,
        missing,
        extra,
        mcode_files: mcode.len(),
        mcode_files_with_facts: with_facts,
        mcode_files_refused: refused,
        synthea_files: synthea.len(),
        synthea_resources: resources,
        synthea_seconds: seconds,
        synthea_resources_per_s: resources as f64 / seconds.max(1e-9),
        synthea_with_cancer: with_cancer,
        tcga,
    })
}

pub fn table(r: &Report) -> String {
    let mut o = format!(
        "Records (sextant eval records)\n\nExpected profiles: {} (crates/eval/data/records-expected.json)\n\n| field | expected | extracted | correct | precision | recall | F1 |\n|---|---|---|---|---|---|---|\n",
        r.profiles
    );
    for f in r.fields.iter().chain(std::iter::once(&r.overall)) {
        o.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} |\n",
            f.field, f.expected, f.extracted, f.correct, f.precision, f.recall, f.f1
        ));
    }
    for m in &r.missing {
        o.push_str(&format!("missing: {m}\n"));
    }
    for x in &r.extra {
        o.push_str(&format!("extra: {x}\n"));
    }
    o.push_str(&format!(
        "\nmCODE JSON files: {} read, {} with facts, {} refused (not FHIR)\nSynthea bundles: {} files, {} resources, {} with a cancer; parse + extract {:.3} s on one core = {:.0} resources/s\n",
        r.mcode_files,
        r.mcode_files_with_facts,
        r.mcode_files_refused,
        r.synthea_files,
        r.synthea_resources,
        r.synthea_with_cancer,
        r.synthea_seconds,
        r.synthea_resources_per_s
    ));
    if let Some(t) = &r.tcga {
        o.push('\n');
        o.push_str(&crate::tcga::table(t));
    }
    o
}
