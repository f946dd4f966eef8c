//! TCGA pathology reports (`data/records/tcga-path-reports`): agreement of
//! the free-text reader uploads use ([`sextant_records::read_note`]: the
//! report reader plus the clinical-note facts) with the silver
//! labels (site, histology, stage, grade; written by an LLM, so they are
//! not ground truth), per cancer type, and the reader's throughput.
//!
//! Only reports whose OCR text is longer than 300 characters are used (as
//! the data's SOURCE.md advises: for empty OCR the labels can be
//! hallucinated). A label that is missing, `None`, "not applicable", "not
//! provided", "unknown"... counts as unlabeled.
//!
//! Sextant's value for a field is its first-mentioned fact of that kind
//! that carries the field (the first primary cancer with an organ, the
//! first with a histology; the first stage fact with a T, else the first,
//! with the first group if it has none; for grade, the first grade of the label's kind — Gleason or
//! not — else the first grade). The rules, per field:
//!
//! - **site**: both sides are reduced to organs (brain, kidney, bladder,
//!   prostate, liver, colorectum — colon, rectum, cecum, sigmoid —, ovary,
//!   cervix, uterus, pancreas, head and neck — larynx, tongue, oral cavity,
//!   tonsil, pharynx... —, lung, breast...). Sextant's organ is its
//!   cancer's site, else the organ of its catalog type (`glioma` → brain).
//!   They agree when Sextant's organ is one the label names ("Bladder and
//!   prostate" names two).
//! - **histology**: both sides are reduced to a family by key terms, most
//!   specific first: glioblastoma (GBM, gliosarcoma), oligoastrocytoma,
//!   oligodendroglioma, astrocytoma, glioma; urothelial (transitional cell);
//!   hepatocellular; cholangiocarcinoma; renal cell carcinoma (subtype clear
//!   cell/conventional, papillary or chromophobe); squamous; serous;
//!   endometrioid; mucinous; clear cell; neuroendocrine (small cell);
//!   adenocarcinoma (acinar and ductal included); carcinoma; only the words
//!   before "with" count ("adenocarcinoma with neuroendocrine
//!   differentiation" is an adenocarcinoma). They agree when
//!   the families are equal (and the renal subtypes, when both state one),
//!   or one is the other's broader family (adenocarcinoma covers serous,
//!   endometrioid, mucinous and cholangiocarcinoma; carcinoma covers every
//!   carcinoma; glioma every glioma): agreement at the detail both state.
//!   A label with none of these terms is counted as not comparable.
//! - **stage**: both sides are parsed into T, N, M (prefix p/c/yp dropped,
//!   OCR "NO"/"MO" read as N0/M0 in a TNM string) and the stage group
//!   (Roman, "stage 3" → III). Compared on the components both state: they
//!   agree when every shared component agrees, a value agreeing with a more
//!   precise one (T2 with T2b, III with IIIC); "X" agrees only with "X".
//!   With no shared component (a label "III" and Sextant's "pT3 N0") the
//!   pair is not comparable.
//! - **grade**: both sides are reduced to grade numbers (1–4 from Arabic,
//!   Roman, "G2", "grade 3 of 4", "III/IV" = 3 of 4; a range "2-3" or
//!   "moderately to poorly" keeps both), or, without a number, a
//!   differentiation (well 1, moderately 2, poorly 3, undifferentiated 4),
//!   or a tier (high, low); Gleason scores are their sums. Numbers agree
//!   when they overlap; a tier agrees with numbers of its tier (1–2 low,
//!   3–4 high); Gleason agrees with Gleason only; otherwise not comparable.
//!
//! Per (cancer type, field): reports labeled, reports where Sextant has a
//! value, both, not comparable, agreeing; agreement = agreeing / (both −
//! not comparable); coverage = both / labeled.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use sextant_records::{Profile, Provenance};

use crate::{EvalError, Result};

/// The compared fields.
pub const FIELDS: [&str; 4] = ["site", "histology", "stage", "grade"];

/// Reports with less OCR text than this are left out.
pub const MIN_OCR_CHARS: usize = 300;

/// Agreement on one field for one cancer type (or all).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cell {
    pub cancer_type: String,
    pub field: String,
    /// Reports with a label for the field.
    pub labeled: usize,
    /// Reports where Sextant extracted a value.
    pub extracted: usize,
    /// Both present.
    pub both: usize,
    /// Both present but not comparable (no shared stage component, Gleason
    /// against a numeric grade, an unrecognized label).
    pub not_comparable: usize,
    pub agree: usize,
    /// agree / (both − not_comparable).
    pub agreement: f64,
    /// both / labeled.
    pub coverage: f64,
}

impl Cell {
    fn finish(&mut self) {
        let comparable = self.both - self.not_comparable;
        self.agreement = if comparable == 0 {
            0.0
        } else {
            self.agree as f64 / comparable as f64
        };
        self.coverage = if self.labeled == 0 {
            0.0
        } else {
            self.both as f64 / self.labeled as f64
        };
    }
}

/// The TCGA figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Cancer-type files read.
    pub files: usize,
    pub records: usize,
    /// Records with OCR text over [`MIN_OCR_CHARS`].
    pub usable: usize,
    /// Bytes of OCR text read.
    pub bytes: usize,
    /// Per cancer type and field, types in file order.
    pub cells: Vec<Cell>,
    /// Per field, all types together.
    pub totals: Vec<Cell>,
    /// Time in `read_note` over the usable reports, one core.
    pub seconds: f64,
    pub reports_per_s: f64,
    pub mb_per_s: f64,
}

/// One comparison of a label with Sextant's value.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub cancer_type: String,
    /// Index of the record in its file.
    pub index: usize,
    pub field: &'static str,
    pub label: String,
    pub sextant: String,
    /// `Some(agrees)` when comparable.
    pub agree: Option<bool>,
    /// Sextant's source: the excerpt and its byte range.
    pub excerpt: String,
    pub span: Option<(usize, usize)>,
}

/// Reads every cancer-type file under `data/records/tcga-path-reports`.
/// With `keep`, every comparison where both sides have a value is returned
/// too, with the usable report texts (by type and index).
pub fn run(data: &Path, keep: bool) -> Result<(Report, Vec<Comparison>, Vec<Texts>)> {
    let dir = data.join("records/tcga-path-reports");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|source| EvalError::Io {
            path: dir.display().to_string(),
            source,
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    files.sort();
    let mut report = Report::default();
    let mut kept = Vec::new();
    let mut texts = Vec::new();
    let mut totals: Vec<Cell> = FIELDS
        .iter()
        .map(|f| Cell {
            cancer_type: "all".into(),
            field: f.to_string(),
            ..Cell::default()
        })
        .collect();
    for path in &files {
        let name = path.display().to_string();
        let kind = path
            .file_name()
            .map(|f| f.to_string_lossy().trim_end_matches(".json.gz").to_string())
            .unwrap_or_default();
        let gz = std::fs::read(path).map_err(|source| EvalError::Io {
            path: name.clone(),
            source,
        })?;
        let json =
            sextant_records::gunzip(&name, &gz).map_err(|e| EvalError::Other(e.to_string()))?;
        let records: Vec<serde_json::Value> =
            serde_json::from_slice(&json).map_err(|e| EvalError::Other(format!("{name}: {e}")))?;
        report.files += 1;
        report.records += records.len();
        let mut cells: Vec<Cell> = FIELDS
            .iter()
            .map(|f| Cell {
                cancer_type: kind.clone(),
                field: f.to_string(),
                ..Cell::default()
            })
            .collect();
        let mut mine = Texts {
            cancer_type: kind.clone(),
            texts: Vec::new(),
        };
        for (index, r) in records.iter().enumerate() {
            let text = r["ocr_text"].as_str().unwrap_or("");
            if text.chars().count() <= MIN_OCR_CHARS {
                continue;
            }
            report.usable += 1;
            report.bytes += text.len();
            let t = Instant::now();
            let profile = sextant_records::read_note("report", text);
            report.seconds += t.elapsed().as_secs_f64();
            for (k, field) in FIELDS.iter().enumerate() {
                let label = label(&r[*field]);
                let got = sextant_value(&profile, field, label.as_deref());
                let cell = &mut cells[k];
                cell.labeled += usize::from(label.is_some());
                cell.extracted += usize::from(got.is_some());
                let (Some(label), Some((value, prov))) = (label, got) else {
                    continue;
                };
                cell.both += 1;
                let agree = agrees(field, &label, &value);
                match agree {
                    None => cell.not_comparable += 1,
                    Some(true) => cell.agree += 1,
                    Some(false) => {}
                }
                if keep {
                    kept.push(Comparison {
                        cancer_type: kind.clone(),
                        index,
                        field,
                        label,
                        sextant: value,
                        agree,
                        excerpt: prov.and_then(|p| p.excerpt.clone()).unwrap_or_default(),
                        span: prov.and_then(|p| span(&p.locator)),
                    });
                }
            }
            if keep {
                mine.texts.push((index, text.to_string()));
            }
        }
        for (k, mut c) in cells.into_iter().enumerate() {
            let t = &mut totals[k];
            t.labeled += c.labeled;
            t.extracted += c.extracted;
            t.both += c.both;
            t.not_comparable += c.not_comparable;
            t.agree += c.agree;
            c.finish();
            report.cells.push(c);
        }
        if keep {
            texts.push(mine);
        }
    }
    for t in &mut totals {
        t.finish();
    }
    report.totals = totals;
    report.reports_per_s = report.usable as f64 / report.seconds.max(1e-9);
    report.mb_per_s = report.bytes as f64 / 1e6 / report.seconds.max(1e-9);
    Ok((report, kept, texts))
}

/// The usable report texts of one cancer type: (index in file, text).
#[derive(Debug, Clone)]
pub struct Texts {
    pub cancer_type: String,
    pub texts: Vec<(usize, String)>,
}

/// "chars A..B" → (A, B).
fn span(locator: &str) -> Option<(usize, usize)> {
    let (a, b) = locator.strip_prefix("chars ")?.split_once("..")?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// The markdown table of the figures.
pub fn table(r: &Report) -> String {
    let mut o = format!(
        "TCGA pathology reports (silver labels by an LLM; OCR text > {MIN_OCR_CHARS} chars): {} of {} records, {} files, {:.1} MB\n\n| type | field | labeled | Sextant | both | n/c | agree | agreement | coverage |\n|---|---|---|---|---|---|---|---|---|\n",
        r.usable,
        r.records,
        r.files,
        r.bytes as f64 / 1e6
    );
    for c in r.cells.iter().chain(r.totals.iter()) {
        o.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1}% | {:.1}% |\n",
            c.cancer_type,
            c.field,
            c.labeled,
            c.extracted,
            c.both,
            c.not_comparable,
            c.agree,
            100.0 * c.agreement,
            100.0 * c.coverage
        ));
    }
    o.push_str(&format!(
        "\nn/c: both present, not comparable. agreement = agree / (both - n/c); coverage = both / labeled.\nText reports: {} read in {:.3} s on one core = {:.0} reports/s, {:.2} MB/s\n",
        r.usable, r.seconds, r.reports_per_s, r.mb_per_s
    ));
    o
}

// ---------------------------------------------------------------------------
// Labels

/// A label as text, or `None` when missing or saying there is none. Labels
/// come as strings, JSON objects with a `value`, arrays, and strings that
/// print such objects ("{'title': 'Site', ..., 'value': 'Cervix'}").
pub fn label(v: &serde_json::Value) -> Option<String> {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(o) => return o.get("value").and_then(label),
        serde_json::Value::Array(a) => a.iter().filter_map(label).collect::<Vec<_>>().join(", "),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let s = s.trim();
    let s = if s.starts_with('{') {
        let (_, rest) = s.split_once("'value':")?;
        let rest = rest.trim();
        let rest = rest.strip_prefix('\'').or_else(|| rest.strip_prefix('"'))?;
        rest.split(['\'', '"']).next()?.to_string()
    } else if s.starts_with('[') {
        s.trim_matches(['[', ']'])
            .split(',')
            .map(|p| p.trim().trim_matches(['\'', '"']))
            .collect::<Vec<_>>()
            .join(", ")
    } else {
        s.to_string()
    };
    let low = s.trim().to_ascii_lowercase();
    const NONE: &[&str] = &[
        "none",
        "null",
        "n/a",
        "na",
        "nan",
        "not ",
        "unknown",
        "cannot",
        "can't",
        "no ",
        "undetermined",
        "indeterminate",
        "unspecified",
    ];
    if low.is_empty() || low == "no" || NONE.iter().any(|n| low.starts_with(n)) {
        return None;
    }
    Some(s.trim().to_string())
}

// ---------------------------------------------------------------------------
// Sextant's values

/// Sextant's value for a field, as text, with its first source.
fn sextant_value<'a>(
    p: &'a Profile,
    field: &str,
    label: Option<&str>,
) -> Option<(String, Option<&'a Provenance>)> {
    let live = |s: sextant_records::profile::FactStatus| {
        s != sextant_records::profile::FactStatus::Removed
    };
    match field {
        "site" => p
            .primary_cancers
            .iter()
            .filter(|f| live(f.status))
            .find_map(|f| {
                let c = &f.value;
                let o = c
                    .site
                    .clone()
                    .or_else(|| c.type_id.as_deref().and_then(type_organ).map(String::from))?;
                (!organs(&o).is_empty()).then(|| (o, f.provenance.first()))
            }),
        "histology" => p
            .primary_cancers
            .iter()
            .filter(|f| live(f.status))
            .find_map(|f| Some((f.value.histology.clone()?, f.provenance.first()))),
        "stage" => {
            // The first stage fact with a T (else the first), and the
            // first group if it has none.
            let stages: Vec<_> = p.stages.iter().filter(|f| live(f.status)).collect();
            let main = *stages
                .iter()
                .find(|f| f.value.t.is_some())
                .or_else(|| stages.first())?;
            let of = |v: &Option<String>| v.clone().map(|v| (v, main));
            let t = of(&main.value.t);
            let n = of(&main.value.n);
            let m = of(&main.value.m);
            let g = of(&main.value.group).or_else(|| {
                stages
                    .iter()
                    .find_map(|f| f.value.group.clone().map(|v| (v, *f)))
            });
            let prov = [&t, &n, &m, &g]
                .iter()
                .find_map(|x| x.as_ref().map(|(_, f)| f.provenance.first()))
                .flatten();
            let mut parts: Vec<String> = [t, n, m].into_iter().flatten().map(|x| x.0).collect();
            if let Some((g, _)) = g {
                parts.push(format!("stage {g}"));
            }
            (!parts.is_empty()).then(|| (parts.join(" "), prov))
        }
        "grade" => {
            let grades: Vec<_> = p.grades.iter().filter(|f| live(f.status)).collect();
            let want_gleason = label.map(|l| l.to_ascii_lowercase().contains("gleason"));
            let pick = grades
                .iter()
                .find(|f| {
                    Some(f.value.to_ascii_lowercase().contains("gleason")) == want_gleason
                        && grade_key(&f.value).is_some()
                })
                .or_else(|| grades.first())?;
            Some((pick.value.clone(), pick.provenance.first()))
        }
        _ => None,
    }
}

/// The organ of a catalog type.
fn type_organ(id: &str) -> Option<&'static str> {
    Some(match id {
        "glioma" | "brain" => "brain",
        "colorectal" => "colorectum",
        "kidney" => "kidney",
        "liver" => "liver",
        "bile-duct" => "bile duct",
        "bladder" => "bladder",
        "prostate" => "prostate",
        "ovarian" => "ovary",
        "cervical" => "cervix",
        "uterine" => "uterus",
        "pancreatic" => "pancreas",
        "lung" | "nsclc" | "sclc" => "lung",
        "breast" | "dcis" => "breast",
        "head-and-neck" | "laryngeal" | "hypopharyngeal" | "oropharyngeal" | "nasopharyngeal"
        | "oral" => "head and neck",
        "stomach" => "stomach",
        "esophageal" => "esophagus",
        "thyroid" => "thyroid",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Comparison

/// Whether a label and Sextant's value agree; `None` when not comparable.
pub fn agrees(field: &str, label: &str, sextant: &str) -> Option<bool> {
    match field {
        "site" => {
            let l = organs(label);
            let s = organs(sextant);
            if l.is_empty() || s.is_empty() {
                return None;
            }
            Some(s.iter().any(|o| l.contains(o)))
        }
        "histology" => Some(hist_agree(hist_key(label)?, hist_key(sextant)?)),
        "stage" => stage_agree(&stage_key(label), &stage_key(sextant)),
        "grade" => grade_agree(&grade_key(label)?, &grade_key(sextant)?),
        _ => None,
    }
}

/// The organs a site names.
pub fn organs(text: &str) -> Vec<&'static str> {
    let low = text.to_ascii_lowercase().replace("gallbladder", "gall-");
    #[rustfmt::skip]
    const WORDS: &[(&str, &str)] = &[
        ("brain", "brain"), ("cerebr", "brain"), ("cerebell", "brain"), ("frontal", "brain"),
        ("temporal", "brain"), ("parietal", "brain"), ("occipital", "brain"),
        ("glio", "brain"), ("thalam", "brain"), ("corpus callosum", "brain"),
        ("kidney", "kidney"), ("renal", "kidney"),
        ("bladder", "bladder"), ("urothel", "bladder"),
        ("prostat", "prostate"),
        ("liver", "liver"), ("hepat", "liver"),
        ("colon", "colorectum"), ("colorect", "colorectum"), ("rect", "colorectum"),
        ("cecum", "colorectum"), ("caecum", "colorectum"), ("cecal", "colorectum"),
        ("sigmoid", "colorectum"), ("flexure", "colorectum"),
        ("ovar", "ovary"), ("adnex", "ovary"),
        ("cervix", "cervix"), ("cervical", "cervix"), ("endocerv", "cervix"),
        ("uter", "uterus"), ("endometri", "uterus"),
        ("pancrea", "pancreas"),
        ("head and neck", "head and neck"), ("larynx", "head and neck"),
        ("laryn", "head and neck"), ("glott", "head and neck"), ("tongue", "head and neck"),
        ("oral", "head and neck"), ("mouth", "head and neck"), ("tonsil", "head and neck"),
        ("pharyn", "head and neck"), ("gingiv", "head and neck"), ("buccal", "head and neck"),
        ("palat", "head and neck"), ("lip", "head and neck"), ("mandib", "head and neck"),
        ("alveolar ridge", "head and neck"), ("retromolar", "head and neck"),
        ("epiglott", "head and neck"), ("maxill", "head and neck"), ("nasal", "head and neck"),
        ("lung", "lung"), ("pulmonary", "lung"), ("bronch", "lung"),
        ("breast", "breast"), ("stomach", "stomach"), ("gastric", "stomach"),
        ("esophag", "esophagus"), ("thyroid", "thyroid"), ("skin", "skin"),
        ("fallopian", "fallopian tube"), ("bile duct", "bile duct"),
    ];
    let mut out = Vec::new();
    for (w, o) in WORDS {
        if low.contains(w) && !out.contains(o) {
            // "cervical lymph nodes" are the neck's.
            if *w == "cervical" && (low.contains("lymph") || low.contains("node")) {
                continue;
            }
            // "lip" inside another word ("multiple") does not count.
            if *w == "lip"
                && !low
                    .split(|c: char| !c.is_ascii_alphabetic())
                    .any(|t| t == "lip")
            {
                continue;
            }
            out.push(*o);
        }
    }
    out
}

/// A histology family, and a renal cell subtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistKey {
    pub family: &'static str,
    pub subtype: Option<&'static str>,
}

/// The family of a histology, by key terms (see the module's doc).
pub fn hist_key(text: &str) -> Option<HistKey> {
    let low = text.to_ascii_lowercase().replace(['-', ',', '(', ')'], " ");
    let low = low.split_whitespace().collect::<Vec<_>>().join(" ");
    // The diagnosis comes before "with ...": "adenocarcinoma with
    // neuroendocrine differentiation" is an adenocarcinoma.
    let low = match low.split_once(" with ") {
        Some((head, _)) if head.contains("oma") => head.to_string(),
        _ => low,
    };
    let has = |w: &str| low.contains(w);
    let key = |family| {
        Some(HistKey {
            family,
            subtype: None,
        })
    };
    if has("glioblastoma") || has("gbm") || has("gliosarcoma") {
        return key("glioblastoma");
    }
    if has("oligoastrocytoma")
        || has("mixed glioma")
        || has("oligodendroglioma") && has("astrocytoma")
    {
        return key("oligoastrocytoma");
    }
    if has("oligodendroglioma") {
        return key("oligodendroglioma");
    }
    if has("astrocytoma") {
        return key("astrocytoma");
    }
    if has("glioma") {
        return key("glioma");
    }
    if has("urothelial") || has("transitional cell") {
        return key("urothelial carcinoma");
    }
    if has("hepatocellular") || has("hepatoma") {
        return key("hepatocellular carcinoma");
    }
    if has("cholangiocarcinoma") || has("cholangiocellular") {
        return key("cholangiocarcinoma");
    }
    if has("renal cell") || has("rcc") || has("renal") && has("carcinoma") {
        let subtype = if has("chromophobe") {
            Some("chromophobe")
        } else if has("papillary") {
            Some("papillary")
        } else if has("clear cell") || has("conventional") {
            Some("clear cell")
        } else {
            None
        };
        return Some(HistKey {
            family: "renal cell carcinoma",
            subtype,
        });
    }
    for (w, family) in [
        ("squamous", "squamous cell carcinoma"),
        ("serous", "serous carcinoma"),
        ("endometrioid", "endometrioid carcinoma"),
        ("mucinous", "mucinous adenocarcinoma"),
        ("clear cell", "clear cell carcinoma"),
        ("neuroendocrine", "neuroendocrine carcinoma"),
        ("small cell", "neuroendocrine carcinoma"),
        ("adenocarcinoma", "adenocarcinoma"),
        ("carcinoma", "carcinoma"),
    ] {
        if has(w) {
            return key(family);
        }
    }
    None
}

/// The broader family of a histology family.
fn hist_parent(family: &str) -> Option<&'static str> {
    Some(match family {
        "serous carcinoma"
        | "endometrioid carcinoma"
        | "mucinous adenocarcinoma"
        | "cholangiocarcinoma" => "adenocarcinoma",
        "glioblastoma" | "oligoastrocytoma" | "oligodendroglioma" | "astrocytoma" => "glioma",
        "glioma" | "carcinoma" => return None,
        _ => "carcinoma",
    })
}

fn hist_ancestor(a: &str, b: &str) -> bool {
    let mut x = hist_parent(b);
    while let Some(p) = x {
        if p == a {
            return true;
        }
        x = hist_parent(p);
    }
    false
}

fn hist_agree(a: HistKey, b: HistKey) -> bool {
    if a.family == b.family {
        return match (a.subtype, b.subtype) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        };
    }
    hist_ancestor(a.family, b.family) || hist_ancestor(b.family, a.family)
}

/// T, N, M values ("2b", "x", "is", "0") and the stage group ("IIIC").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageKey {
    pub t: Option<String>,
    pub n: Option<String>,
    pub m: Option<String>,
    pub group: Option<String>,
}

/// The TNM categories of one word ("pt3an0mx", "n2b", "ypt0"), with OCR's
/// "o" for "0" in N and M when `ocr`.
fn tnm_word(w: &str, ocr: bool) -> Option<Vec<(char, String)>> {
    let b = w.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        for p in ["yp", "p", "c"] {
            if w[i..].starts_with(p)
                && w[i + p.len()..].starts_with(['t', 'n', 'm'])
                && !w[i..].starts_with(['t', 'n', 'm'])
            {
                i += p.len();
                break;
            }
        }
        let letter = *b.get(i)? as char;
        if !matches!(letter, 't' | 'n' | 'm') {
            return None;
        }
        i += 1;
        let rest = &w[i..];
        let value = if rest.starts_with("is") {
            "is".to_string()
        } else if rest.starts_with('x') {
            "x".to_string()
        } else if ocr && letter != 't' && rest.starts_with('o') {
            "0".to_string()
        } else if rest.starts_with(|c: char| ('0'..='4').contains(&c)) {
            let mut v = rest[..1].to_string();
            let sub = rest[1..].chars().next();
            if let Some(c @ 'a'..='d') = sub {
                v.push(c);
                if let Some(d @ '1'..='3') = rest[2..].chars().next() {
                    v.push(d);
                }
            }
            v
        } else {
            return None;
        };
        // ("o" read as "0" is one byte too.)
        i += value.len();
        out.push((letter, value));
    }
    (!out.is_empty()).then_some(out)
}

/// A stage group word: "iii", "iiic", "ib1", "iva".
fn roman_group(w: &str) -> Option<String> {
    let digits = w.trim_end_matches(['a', 'b', 'c', '1', '2', '3']);
    let numeral = matches!(digits, "i" | "ii" | "iii" | "iv");
    let suffix = &w[digits.len()..];
    let ok_suffix = suffix.is_empty()
        || (suffix.len() <= 2
            && suffix.starts_with(['a', 'b', 'c'])
            && suffix[1..].chars().all(|c| ('1'..='3').contains(&c)));
    (numeral && ok_suffix).then(|| w.to_ascii_uppercase())
}

/// T, N, M and the group of a stage text (a label, or Sextant's "pT2
/// N0 stage IIA").
pub fn stage_key(text: &str) -> StageKey {
    let low = text.to_ascii_lowercase();
    let words: Vec<&str> = low
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut k = StageKey::default();
    let plain: Vec<Option<Vec<(char, String)>>> =
        words.iter().map(|w| tnm_word(w, false)).collect();
    let any_tnm = plain.iter().any(|p| p.is_some());
    for (j, w) in words.iter().enumerate() {
        let cats = plain[j].clone().or_else(|| {
            // "NO", "MO": OCR's zero, only among other categories.
            if any_tnm || w.len() > 3 {
                tnm_word(w, true)
            } else {
                None
            }
        });
        if let Some(cats) = cats {
            for (letter, v) in cats {
                let slot = match letter {
                    't' => &mut k.t,
                    'n' => &mut k.n,
                    _ => &mut k.m,
                };
                slot.get_or_insert(v);
            }
            continue;
        }
        let after_stage = j > 0 && matches!(words[j - 1], "stage" | "figo" | "ajcc");
        let group = roman_group(w).or_else(|| {
            let arabic = ["1", "2", "3", "4"].iter().position(|d| w.starts_with(d))?;
            after_stage.then_some(())?;
            let rest = &w[1..];
            let numeral = ["I", "II", "III", "IV"][arabic];
            roman_group(&format!("{}{rest}", numeral.to_ascii_lowercase()))
        });
        if let Some(g) = group {
            // A lone numeral is a group only as the whole text or after
            // "stage" ("grade III" is not a stage).
            if after_stage || words.len() == 1 {
                k.group.get_or_insert(g);
            }
        }
    }
    k
}

/// Two stage values agree at the precision both state ("2" and "2b").
fn stage_value_agree(a: &str, b: &str) -> bool {
    if a == "x" || b == "x" {
        return a == b;
    }
    a.starts_with(b) || b.starts_with(a)
}

fn stage_agree(a: &StageKey, b: &StageKey) -> Option<bool> {
    let pairs = [(&a.t, &b.t), (&a.n, &b.n), (&a.m, &b.m)];
    let mut shared = 0;
    let mut agree = true;
    for (x, y) in pairs {
        if let (Some(x), Some(y)) = (x, y) {
            shared += 1;
            agree &= stage_value_agree(x, y);
        }
    }
    if let (Some(x), Some(y)) = (&a.group, &b.group) {
        shared += 1;
        agree &= x.starts_with(y.as_str()) || y.starts_with(x.as_str());
        // "IV" starts with "I" but is not it.
        agree &= !(x.starts_with("IV") ^ y.starts_with("IV"))
            && !(x.starts_with("III") ^ y.starts_with("III"))
            && !(x.starts_with("II") ^ y.starts_with("II"));
    }
    (shared > 0).then_some(agree)
}

/// A grade reduced for comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GradeKey {
    /// Grade numbers (1–4); several for a range.
    pub nums: Vec<u8>,
    /// `high` or `low`, when no number is stated.
    pub tier: Option<&'static str>,
    /// A Gleason sum.
    pub gleason: Option<u8>,
}

fn grade_num(w: &str) -> Option<u8> {
    let w = w.strip_prefix('g').unwrap_or(w);
    match w {
        "1" | "i" => Some(1),
        "2" | "ii" => Some(2),
        "3" | "iii" => Some(3),
        "4" | "iv" => Some(4),
        _ => None,
    }
}

/// A grade text reduced to numbers, a tier or a Gleason sum.
pub fn grade_key(text: &str) -> Option<GradeKey> {
    let low = text.to_ascii_lowercase();
    let words: Vec<&str> = low
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '/' && c != '-')
        .flat_map(|w| split_keep(w, &['+', '/', '-']))
        .filter(|w| !w.is_empty())
        .collect();
    let mut k = GradeKey::default();
    if low.contains("gleason") {
        for (j, w) in words.iter().enumerate() {
            if *w == "+" {
                let a: Option<u8> = words.get(j.wrapping_sub(1)).and_then(|w| w.parse().ok());
                let b: Option<u8> = words.get(j + 1).and_then(|w| w.parse().ok());
                if let (Some(a), Some(b)) = (a, b) {
                    k.gleason = Some(a + b);
                    return Some(k);
                }
            }
        }
        k.gleason = words
            .iter()
            .filter_map(|w| w.parse::<u8>().ok())
            .find(|v| (2..=10).contains(v));
        return k.gleason.map(|_| k);
    }
    if low.contains("group") {
        return None;
    }
    // Numbers: the first, and a range's second ("2-3", "II to III");
    // "3/4", "3 of 4" give the first only.
    let mut j = 0;
    while j < words.len() {
        if let Some(v) = grade_num(words[j]) {
            k.nums.push(v);
            if words.get(j + 1).is_some_and(|w| ["-", "to"].contains(w)) {
                if let Some(v2) = words.get(j + 2).and_then(|w| grade_num(w)) {
                    k.nums.push(v2);
                }
            }
            break;
        }
        j += 1;
    }
    if k.nums.is_empty() {
        let degrees = [
            ("well", 1),
            ("moderate", 2),
            ("intermediate", 2),
            ("poor", 3),
            ("undifferentiated", 4),
        ];
        for w in &words {
            if let Some((_, v)) = degrees.iter().find(|(d, _)| w.starts_with(d)) {
                if !k.nums.contains(v) {
                    k.nums.push(*v);
                }
            }
        }
    }
    if k.nums.is_empty() {
        if words.contains(&"high") {
            k.tier = Some("high");
        } else if words.contains(&"low") {
            k.tier = Some("low");
        }
    }
    (!k.nums.is_empty() || k.tier.is_some()).then_some(k)
}

/// Splits a word around the given characters, keeping them as words.
fn split_keep<'a>(w: &'a str, seps: &[char]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in w.char_indices() {
        if seps.contains(&c) {
            out.push(&w[start..i]);
            out.push(&w[i..i + 1]);
            start = i + 1;
        }
    }
    out.push(&w[start..]);
    out
}

fn tier(n: u8) -> &'static str {
    if n <= 2 {
        "low"
    } else {
        "high"
    }
}

fn grade_agree(a: &GradeKey, b: &GradeKey) -> Option<bool> {
    match (a.gleason, b.gleason) {
        (Some(x), Some(y)) => return Some(x == y),
        (None, None) => {}
        _ => return None,
    }
    match (a.tier, b.tier) {
        (Some(x), Some(y)) => Some(x == y),
        (Some(t), None) => Some(b.nums.iter().any(|&n| tier(n) == t)),
        (None, Some(t)) => Some(a.nums.iter().any(|&n| tier(n) == t)),
        (None, None) => Some(a.nums.iter().any(|n| b.nums.contains(n))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(label(&serde_json::json!("None")), None);
        assert_eq!(label(&serde_json::json!("Not applicable for brain")), None);
        assert_eq!(
            label(&serde_json::json!(
                "{'title': 'Site', 'type': 'string', 'value': 'Uterus, Cervix'}"
            ))
            .as_deref(),
            Some("Uterus, Cervix")
        );
        assert_eq!(
            label(&serde_json::json!("{'title': 'Stage', 'value': None}")),
            None
        );
        assert_eq!(
            label(&serde_json::json!("['Uterus', 'Cervix']")).as_deref(),
            Some("Uterus, Cervix")
        );
    }

    #[test]
    fn sites() {
        assert_eq!(organs("Bladder and prostate"), vec!["bladder", "prostate"]);
        assert_eq!(organs("Gallbladder"), Vec::<&str>::new());
        assert_eq!(agrees("site", "Right frontal lobe", "brain"), Some(true));
        assert_eq!(agrees("site", "Sigmoid colon", "colon"), Some(true));
        assert_eq!(agrees("site", "Floor of mouth", "tongue"), Some(true));
        assert_eq!(agrees("site", "Liver", "breast"), Some(false));
    }

    #[test]
    fn histologies() {
        let a = |l, s| agrees("histology", l, s);
        assert_eq!(
            a(
                "Renal cell carcinoma, conventional (clear cell) type",
                "clear cell renal cell carcinoma"
            ),
            Some(true)
        );
        assert_eq!(
            a(
                "Papillary renal cell carcinoma",
                "clear cell renal cell carcinoma"
            ),
            Some(false)
        );
        assert_eq!(
            a("Renal cell carcinoma", "papillary renal cell carcinoma"),
            Some(true)
        );
        assert_eq!(a("Glioblastoma multiforme", "glioblastoma"), Some(true));
        assert_eq!(a("Anaplastic astrocytoma", "glioblastoma"), Some(false));
        assert_eq!(
            a("Papillary serous adenocarcinoma", "serous carcinoma"),
            Some(true)
        );
        assert_eq!(a("Adenocarcinoma", "mucinous adenocarcinoma"), Some(true));
        assert_eq!(
            a("Transitional cell carcinoma", "urothelial carcinoma"),
            Some(true)
        );
        assert_eq!(a("Squamous cell carcinoma", "adenocarcinoma"), Some(false));
        assert_eq!(a("Leiomyosarcoma", "adenocarcinoma"), None);
        assert_eq!(
            a(
                "Adenocarcinoma with neuroendocrine differentiation",
                "adenocarcinoma"
            ),
            Some(true)
        );
        assert_eq!(
            a(
                "clear cell (conventional) renal carcinoma",
                "renal cell carcinoma"
            ),
            Some(true)
        );
    }

    #[test]
    fn stages() {
        assert_eq!(
            stage_key("pT3a N0 Mx"),
            StageKey {
                t: Some("3a".into()),
                n: Some("0".into()),
                m: Some("x".into()),
                group: None
            }
        );
        assert_eq!(stage_key("T2bN0M0").t.as_deref(), Some("2b"));
        assert_eq!(stage_key("T2bN0M0").n.as_deref(), Some("0"));
        assert_eq!(stage_key("T3c/NO/MX (Stage X)").n.as_deref(), Some("0"));
        assert_eq!(stage_key("FIGO Stage IIB").group.as_deref(), Some("IIB"));
        assert_eq!(stage_key("IIIC").group.as_deref(), Some("IIIC"));
        assert_eq!(stage_key("stage 3").group.as_deref(), Some("III"));
        let a = |l, s| agrees("stage", l, s);
        assert_eq!(a("pT2 pNX", "T2b NX"), Some(true));
        assert_eq!(a("T2N0M0", "pT2 pN0 pMX"), Some(false));
        assert_eq!(a("III", "pT3 N0"), None);
        assert_eq!(a("IV", "stage I"), Some(false));
        assert_eq!(a("IIIC", "stage III"), Some(true));
    }

    #[test]
    fn grade_keys() {
        let a = |l, s| agrees("grade", l, s);
        assert_eq!(
            a("III (High grade or poorly differentiated)", "grade 3"),
            Some(true)
        );
        assert_eq!(a("Fuhrman nuclear grade 3", "Fuhrman grade 2"), Some(false));
        assert_eq!(a("III/IV", "Fuhrman grade 3"), Some(true));
        assert_eq!(
            a(
                "Moderately to poorly differentiated",
                "poorly differentiated"
            ),
            Some(true)
        );
        assert_eq!(a("High grade", "grade 3"), Some(true));
        assert_eq!(a("High-grade", "low grade"), Some(false));
        assert_eq!(a("G2", "moderately differentiated"), Some(true));
        assert_eq!(a("Gleason score 7 (3+4)", "Gleason 4+3=7"), Some(true));
        assert_eq!(a("III", "Gleason 4+3=7"), None);
        assert_eq!(a("Grade 3 (of 4)", "grade 3"), Some(true));
    }
}
