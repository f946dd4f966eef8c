//! Free-text reports: short snippets read into exactly the expected facts
//! (negated findings included, as nothing or as negative results), every
//! fact's source pointing at the words it was read from; arbitrary text
//! never panics; real TCGA pathology reports (when the shared data is
//! there) mostly yield their cancer.

use std::path::PathBuf;
use std::process::Command;

use proptest::prelude::*;
use sextant_records::text::read;
use sextant_records::{Method, Profile, Provenance};

/// Every source of every fact in `p`.
fn sources(p: &Profile) -> Vec<&Provenance> {
    let mut out: Vec<&Provenance> = Vec::new();
    out.extend(p.primary_cancers.iter().flat_map(|f| &f.provenance));
    out.extend(p.metastatic_sites.iter().flat_map(|f| &f.provenance));
    out.extend(p.stages.iter().flat_map(|f| &f.provenance));
    out.extend(p.grades.iter().flat_map(|f| &f.provenance));
    out.extend(p.biomarkers.iter().flat_map(|f| &f.provenance));
    out
}

/// The byte range a text-pattern source cites, checked to be a valid span
/// of `text` on char boundaries.
fn span(text: &str, p: &Provenance) -> (usize, usize) {
    let range = p
        .locator
        .strip_prefix("chars ")
        .unwrap_or_else(|| panic!("locator {:?}", p.locator));
    let (a, b) = range.split_once("..").unwrap();
    let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
    assert!(
        a < b && text.get(a..b).is_some(),
        "{a}..{b} is not a span of a {}-byte text",
        text.len()
    );
    (a, b)
}

/// Reads `text` and asserts: exactly the facts `want` (as
/// [`Profile::canonical_facts`] words them), each source a text pattern of
/// this file whose excerpt is the words at its span, and each of `evidence`
/// inside some fact's span. Returns the profile for further checks.
fn check(text: &str, want: &[(&str, &str)], evidence: &[&str]) -> Profile {
    let p = read("report.txt", text);
    let got: Vec<(String, String)> = p
        .canonical_facts()
        .into_iter()
        .map(|(f, v)| (f.to_string(), v))
        .collect();
    let mut want: Vec<(String, String)> = want
        .iter()
        .map(|(f, v)| (f.to_string(), v.to_string()))
        .collect();
    want.sort();
    assert_eq!(got, want, "\n{text}");
    let mut cited = Vec::new();
    for prov in sources(&p) {
        assert_eq!(prov.file, "report.txt");
        assert_eq!(prov.method, Method::TextPattern);
        let (a, b) = span(text, prov);
        let words = text[a..b].split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(prov.excerpt.as_deref(), Some(words.as_str()));
        cited.push(&text[a..b]);
    }
    for e in evidence {
        assert!(
            cited.iter().any(|c| c.contains(e)),
            "no source cites {e:?}: {cited:?}\n{text}"
        );
    }
    p
}

type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

/// Report snippets and exactly what each yields.
const CASES: &[Case] = &[
    // Primary cancer: histology, organ, laterality, catalog type.
    (
        "FINAL DIAGNOSIS: Invasive ductal carcinoma of the left breast, Nottingham grade 2 of 3.",
        &[
            ("cancer", "type=breast histology=invasive ductal carcinoma site=breast laterality=left"),
            ("grade", "Nottingham grade 2"),
        ],
        &["Invasive ductal carcinoma of the left breast", "Nottingham grade 2 of 3"],
    ),
    (
        "BREAST, RIGHT, MASTECTOMY:\n- INVASIVE LOBULAR CARCINOMA, GRADE II.",
        &[
            ("cancer", "type=breast histology=invasive lobular carcinoma site=breast laterality=right"),
            ("grade", "grade 2"),
        ],
        &["BREAST, RIGHT, MASTECTOMY", "INVASIVE LOBULAR CARCINOMA", "GRADE II"],
    ),
    (
        "Adenocarcinoma of the sigmoid colon, moderately differentiated.",
        &[
            ("cancer", "type=colorectal histology=adenocarcinoma site=colon"),
            ("grade", "moderately differentiated"),
        ],
        &["Adenocarcinoma of the sigmoid colon", "moderately differentiated"],
    ),
    (
        "Rectum, low anterior resection: adenocarcinoma, well differentiated (G1).",
        &[
            ("cancer", "type=colorectal histology=adenocarcinoma site=rectum"),
            ("grade", "grade 1"),
            ("grade", "well differentiated"),
        ],
        &["Rectum", "G1"],
    ),
    (
        "Squamous cell carcinoma of the right upper lobe of the lung, poorly differentiated.",
        &[
            ("cancer", "type=lung histology=squamous cell carcinoma site=lung laterality=right"),
            ("grade", "poorly differentiated"),
        ],
        &["Squamous cell carcinoma of the right upper lobe"],
    ),
    (
        "Urothelial carcinoma of the bladder, high grade, invading the muscularis propria.",
        &[
            ("cancer", "type=bladder histology=urothelial carcinoma site=bladder"),
            ("grade", "high grade"),
        ],
        &["Urothelial carcinoma of the bladder", "high grade"],
    ),
    (
        "Left kidney, radical nephrectomy: clear cell renal cell carcinoma, Fuhrman nuclear grade 3/4.",
        &[
            ("cancer", "type=kidney histology=clear cell renal cell carcinoma site=kidney laterality=left"),
            ("grade", "Fuhrman grade 3"),
        ],
        &["Left kidney", "Fuhrman nuclear grade 3/4"],
    ),
    (
        "Liver, segment 6: hepatocellular carcinoma, poorly differentiated.",
        &[
            ("cancer", "type=liver histology=hepatocellular carcinoma site=liver"),
            ("grade", "poorly differentiated"),
        ],
        &["hepatocellular carcinoma"],
    ),
    (
        "Brain, left temporal lobe, resection: Glioblastoma, WHO grade IV. IDH1 R132H negative.",
        &[
            ("cancer", "type=glioma histology=glioblastoma site=brain laterality=left"),
            ("grade", "WHO grade 4"),
            ("biomarker", "IDH1 absent R132H"),
        ],
        &["Glioblastoma", "WHO grade IV", "IDH1 R132H negative"],
    ),
    (
        "Serous carcinoma of the ovary. Pancreatic adenocarcinoma. Squamous cell carcinoma of the cervix.",
        &[
            ("cancer", "type=ovarian histology=serous carcinoma site=ovary"),
            ("cancer", "type=pancreatic histology=adenocarcinoma site=pancreas"),
            ("cancer", "type=cervical histology=squamous cell carcinoma site=cervix"),
        ],
        &["Serous carcinoma of the ovary", "Pancreatic adenocarcinoma"],
    ),
    // A clinic note.
    (
        "68-year-old woman with stage IV breast cancer, metastatic to bone. ER positive, HER2 negative.",
        &[
            ("cancer", "type=breast site=breast"),
            ("stage", "group=IV"),
            ("metastasis", "bone"),
            ("biomarker", "ER positive"),
            ("biomarker", "HER2 negative"),
        ],
        &["stage IV", "breast cancer", "metastatic to bone", "ER positive", "HER2 negative"],
    ),
    // Negated and uncertain findings yield nothing.
    (
        "Negative for malignancy. No residual carcinoma of the colon. Suspicious for adenocarcinoma. \
         No evidence of metastasis. Margins free of carcinoma.",
        &[],
        &[],
    ),
    (
        "Lymph nodes negative for carcinoma (0/12). Metastatic carcinoma in 0 of 3 lymph nodes.",
        &[],
        &[],
    ),
    // ... and words that only look like findings.
    ("Seen in the ER last week. At this stage I recommended rest. T1-weighted MRI.", &[], &[]),
    (
        "BRAF mutations can be found in 14% of colorectal cancers and may predict response.",
        &[],
        &[],
    ),
    ("N1: Metastasis in 1-3 regional lymph nodes", &[], &[]),
    // Metastatic sites.
    (
        "Metastatic melanoma to the brain. Liver metastases. Metastasis in 2 of 14 lymph nodes.",
        &[
            ("cancer", "type=melanoma histology=melanoma"),
            ("metastasis", "brain"),
            ("metastasis", "liver"),
            ("metastasis", "lymph nodes"),
        ],
        &["melanoma to the brain", "Liver metastases", "Metastasis in 2 of 14 lymph nodes"],
    ),
    (
        "Two of twenty-five lymph nodes are positive for metastatic carcinoma (2/25).",
        &[("metastasis", "lymph nodes")],
        &["Two of twenty-five lymph nodes are positive"],
    ),
    (
        "Metastatic adenocarcinoma involving the left axillary lymph nodes.",
        &[("metastasis", "axillary lymph nodes")],
        &["axillary lymph nodes"],
    ),
    // Stage.
    (
        "Pathologic stage: pT2 pN1a M0",
        &[("stage", "t=pT2 n=pN1a m=M0")],
        &["pT2 pN1a M0"],
    ),
    ("ypT0 N0 after neoadjuvant therapy.", &[("stage", "t=ypT0 n=N0")], &["ypT0 N0"]),
    ("Clinical: T3N1M0.", &[("stage", "t=T3 n=N1 m=M0")], &["T3N1M0"]),
    ("Tumor size 1.8 cm (pT1c).", &[("stage", "t=pT1c")], &["pT1c"]),
    ("Imaging: cM1 (liver).", &[("stage", "m=cM1")], &["cM1"]),
    (
        "AJCC stage IIIB (pT3 N1 M0), AJCC 8th edition.",
        &[("stage", "group=IIIB t=pT3 n=N1 m=M0")],
        &["stage IIIB", "pT3 N1 M0"],
    ),
    ("Diagnosed with stage 4 disease.", &[("stage", "group=IV")], &["stage 4"]),
    (
        "PRIMARY TUMOR (pT): pT3\nREGIONAL LYMPH NODES (pN): pN1\nDISTANT METASTASIS (pM): pMX",
        &[("stage", "t=pT3 n=pN1 m=pMX")],
        &["pT3", "pN1", "pMX"],
    ),
    // OCR: "l" for 1, "O" for 0, split words.
    ("TNM: pTla pNO MX", &[("stage", "t=pT1a n=pN0 m=MX")], &["pTla pNO MX"]),
    ("Pathological Staging (pTNM): pT 1 b N O M X", &[("stage", "t=pT1b n=N0 m=MX")], &["pT 1 b N O M X"]),
    // Grade.
    ("Grade: G3", &[("grade", "grade 3")], &["G3"]),
    (
        "Prostatic adenocarcinoma, Gleason score 3+4=7, Grade Group 2.",
        &[
            ("cancer", "type=prostate histology=adenocarcinoma site=prostate"),
            ("grade", "Gleason 3+4=7"),
            ("grade", "Grade Group 2"),
        ],
        &["Gleason score 3+4=7", "Grade Group 2"],
    ),
    (
        "PRIMARY GLEASON GRADE: 4\nSECONDARY GLEASON GRADE: 3\nGLEASON SUM SCORE: 7",
        &[("grade", "Gleason 4+3=7")],
        &["PRIMARY GLEASON GRADE: 4", "GLEASON SUM SCORE: 7"],
    ),
    ("Gleason score 7 (4+3).", &[("grade", "Gleason 4+3=7")], &["Gleason score 7 (4+3)"]),
    (
        "Moderately to poorly differentiated. No high-grade dysplasia.",
        &[("grade", "moderately to poorly differentiated")],
        &["Moderately to poorly differentiated"],
    ),
    (
        "HISTOLOGIC GRADE:\nG1: Well differentiated\nG2: Moderately differentiated\nG3: Poorly differentiated",
        &[],
        &[],
    ),
    // Biomarkers.
    (
        "ER: Positive (95%), PR: Negative (0%), HER2: 2+ (equivocal); HER2 FISH not amplified. Ki-67: 30%.",
        &[
            ("biomarker", "ER positive"),
            ("biomarker", "PR negative"),
            ("biomarker", "HER2 negative"),
            ("biomarker", "Ki-67 30%"),
        ],
        &["ER: Positive (95%)", "PR: Negative (0%)", "HER2: 2+ (equivocal); HER2 FISH not amplified", "Ki-67: 30%"],
    ),
    (
        "ER/PR positive. Negative for HER2. MIB-1 labeling index 12.5%.",
        &[
            ("biomarker", "ER positive"),
            ("biomarker", "PR positive"),
            ("biomarker", "HER2 negative"),
            ("biomarker", "Ki-67 12.5%"),
        ],
        &["ER/PR positive", "Negative for HER2", "MIB-1 labeling index 12.5%"],
    ),
    (
        "Triple negative breast carcinoma.",
        &[
            ("cancer", "type=breast site=breast"),
            ("biomarker", "ER negative"),
            ("biomarker", "PR negative"),
            ("biomarker", "HER2 negative"),
        ],
        &["Triple negative", "breast carcinoma"],
    ),
    (
        "PD-L1 (22C3) TPS: 60%. PD-L1 CPS 10. TMB: 12 mut/Mb.",
        &[("biomarker", "PD-L1 60%"), ("biomarker", "PD-L1 10"), ("biomarker", "TMB 12 mut/Mb")],
        &["TPS: 60%", "PD-L1 CPS 10", "TMB: 12 mut/Mb"],
    ),
    (
        "Tumor is MSI-H. MMR deficient: loss of MLH1 and PMS2 expression.",
        &[("biomarker", "MSI high"), ("biomarker", "MMR deficient")],
        &["MSI-H", "MMR deficient", "loss of MLH1 and PMS2"],
    ),
    (
        "Microsatellite stable (MSS). Mismatch repair proteins intact. No evidence of MSI-H.",
        &[("biomarker", "MSI stable"), ("biomarker", "MMR proficient")],
        &["Microsatellite stable", "Mismatch repair proteins intact"],
    ),
    (
        "KRAS G12C mutation detected. EGFR exon 19 deletion. EGFR L858R not detected. BRAF V600E mutation.",
        &[
            ("biomarker", "KRAS present G12C"),
            ("biomarker", "EGFR present exon 19 deletion"),
            ("biomarker", "EGFR absent L858R"),
            ("biomarker", "BRAF present V600E"),
        ],
        &["KRAS G12C mutation detected", "EGFR exon 19 deletion", "EGFR L858R not detected"],
    ),
    (
        "ALK rearrangement present. ROS1 fusion negative. PIK3CA mutations present.",
        &[
            ("biomarker", "ALK present rearrangement"),
            ("biomarker", "ROS1 absent fusion"),
            ("biomarker", "PIK3CA present"),
        ],
        &["ALK rearrangement present", "ROS1 fusion negative", "PIK3CA mutations present"],
    ),
    (
        "KRAS, NRAS and BRAF wild-type. No EGFR mutation.",
        &[
            ("biomarker", "KRAS absent"),
            ("biomarker", "NRAS absent"),
            ("biomarker", "BRAF absent"),
            ("biomarker", "EGFR absent"),
        ],
        &["KRAS, NRAS and BRAF wild-type", "No EGFR mutation"],
    ),
    (
        "Germline BRCA2 pathogenic variant. Somatic BRCA1 c.68_69delAG mutation.",
        &[("biomarker", "BRCA2 present"), ("biomarker", "BRCA1 present")],
        &["Germline BRCA2 pathogenic variant", "Somatic BRCA1"],
    ),
];

#[test]
fn snippets_give_exactly_their_facts() {
    assert!(CASES.len() >= 25);
    for (text, want, evidence) in CASES {
        check(text, want, evidence);
    }
}

#[test]
fn details_kinds_and_origins() {
    let p = check(
        "HER2 IHC 2+ (equivocal), FISH not amplified. ER positive (95%). PD-L1 negative (TPS <1%).",
        &[
            ("biomarker", "HER2 negative"),
            ("biomarker", "ER positive"),
            ("biomarker", "PD-L1 negative"),
        ],
        &["FISH not amplified"],
    );
    let detail = |name: &str| {
        p.biomarkers
            .iter()
            .find(|b| b.value.name == name)
            .and_then(|b| b.value.detail.clone())
    };
    assert_eq!(
        detail("HER2").as_deref(),
        Some("IHC 2+, FISH not amplified")
    );
    assert_eq!(detail("ER").as_deref(), Some("95%"));
    assert_eq!(detail("PD-L1").as_deref(), Some("TPS <1%"));

    let p = check(
        "Germline BRCA2 pathogenic variant.",
        &[("biomarker", "BRCA2 present")],
        &["Germline BRCA2 pathogenic variant"],
    );
    assert_eq!(p.biomarkers[0].value.origin.as_deref(), Some("germline"));
    assert_eq!(
        p.biomarkers[0].value.detail.as_deref(),
        Some("pathogenic variant")
    );

    let p = check(
        "MMR: loss of MLH1 and PMS2.",
        &[("biomarker", "MMR deficient")],
        &["loss of MLH1 and PMS2"],
    );
    assert_eq!(
        p.biomarkers[0].value.detail.as_deref(),
        Some("loss of MLH1, PMS2")
    );

    let p = check(
        "cT2 cN1 cM0. Pathologic stage IIA (pT2 N0 M0, AJCC 8th edition).",
        &[
            ("stage", "t=cT2 n=cN1 m=cM0"),
            ("stage", "group=IIA t=pT2 n=N0 m=M0"),
        ],
        &["cT2 cN1 cM0", "pT2 N0 M0"],
    );
    let kinds: Vec<Option<&str>> = p.stages.iter().map(|s| s.value.kind.as_deref()).collect();
    assert_eq!(kinds, vec![Some("clinical"), Some("pathologic")]);
    assert_eq!(p.stages[1].value.system.as_deref(), Some("AJCC 8th"));

    let p = check(
        "Adenocarcinoma of the colon. Colon, resection: adenocarcinoma.",
        &[(
            "cancer",
            "type=colorectal histology=adenocarcinoma site=colon",
        )],
        &[
            "Adenocarcinoma of the colon",
            "Colon, resection: adenocarcinoma",
        ],
    );
    // The same cancer named twice is one fact with both sources.
    assert_eq!(p.primary_cancers[0].provenance.len(), 2);
    assert_eq!(
        p.primary_cancers[0].value.name,
        "Adenocarcinoma of the colon"
    );
}

#[test]
fn byte_offsets_count_from_the_start_of_the_text() {
    let text = "Résumé — ça va. ER négatif? ER positive (95%).";
    let p = check(
        text,
        &[("biomarker", "ER positive")],
        &["ER positive (95%)"],
    );
    let (a, b) = span(text, &p.biomarkers[0].provenance[0]);
    assert_eq!(&text[a..b], "ER positive (95%)");
}

#[test]
fn long_and_hostile_texts_stay_bounded() {
    // One 3 MB line with no spaces, many brackets and cues, read in pieces.
    let unit = "(ER+(stage(pT1(metastatic(to(the(liver(";
    let text = unit.repeat(3_000_000 / unit.len());
    let p = read("long.txt", &text);
    for prov in sources(&p) {
        span(&text, prov);
        assert!(prov.excerpt.as_ref().is_some_and(|e| e.len() < 400));
    }
    // The same finding repeated keeps one fact with a bounded list of sources.
    let text = "ER positive. ".repeat(100_000);
    let p = read("repeat.txt", &text);
    assert_eq!(p.biomarkers.len(), 1);
    assert!(p.biomarkers[0].provenance.len() <= 20);
}

/// Words that make the extractors work, joined at random.
fn report_words() -> impl Strategy<Value = String> {
    let words = prop::sample::select(vec![
        "adenocarcinoma",
        "of",
        "the",
        "left",
        "breast",
        "colon",
        "lymph",
        "nodes",
        "node",
        "metastatic",
        "metastasis",
        "to",
        "liver",
        "no",
        "not",
        "negative",
        "positive",
        "for",
        "ER",
        "PR",
        "HER2",
        "2+",
        "FISH",
        "amplified",
        "Ki-67",
        "30%",
        "stage",
        "IIIB",
        "pT2",
        "pN1a",
        "M0",
        "T3N1M0",
        "grade",
        "G2",
        "Gleason",
        "3",
        "+",
        "4",
        "=",
        "7",
        "KRAS",
        "G12C",
        "EGFR",
        "exon",
        "19",
        "deletion",
        "MSI-H",
        "MMR",
        "loss",
        "MLH1",
        "and",
        ",",
        ".",
        ";",
        ":",
        "(",
        ")",
        "/",
        "-",
        "\n",
        "é",
        "—",
        "0",
        "of",
        "12",
        "poorly",
        "differentiated",
        "TMB",
        "mut/Mb",
        "PD-L1",
        "TPS",
        "<1%",
        "wild-type",
    ]);
    prop::collection::vec(words, 0..60).prop_map(|w| w.join(" "))
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_and_spans_are_valid(text in "\\PC{0,300}") {
        let p = read("x.txt", &text);
        for prov in sources(&p) {
            span(&text, prov);
        }
    }

    #[test]
    fn report_like_text_never_panics_and_spans_are_valid(text in report_words()) {
        let p = read("x.txt", &text);
        for prov in sources(&p) {
            span(&text, prov);
        }
    }
}

/// The records of a gzipped TCGA JSON array, unpacked by `gzip -dc`; None
/// when the data or gzip is not there.
fn tcga(file: &str) -> Option<Vec<serde_json::Value>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/records/tcga-path-reports")
        .join(file);
    if !path.is_file() {
        return None;
    }
    let out = Command::new("gzip").arg("-dc").arg(&path).output().ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).ok()
}

#[test]
fn tcga_reports_read_without_panics_and_mostly_yield_their_cancer() {
    for (file, want_type) in [("CRC.json.gz", Some("colorectal")), ("BRAIN.json.gz", None)] {
        let Some(records) = tcga(file) else { return };
        let (mut n, mut typed, mut staged, mut graded) = (0, 0, 0, 0);
        for r in &records {
            let Some(text) = r["ocr_text"].as_str().filter(|t| t.len() > 300) else {
                continue;
            };
            let p = read(file, text);
            for prov in sources(&p) {
                span(text, prov);
            }
            n += 1;
            typed += usize::from(want_type.is_some_and(|t| {
                p.primary_cancers
                    .iter()
                    .any(|c| c.value.type_id.as_deref() == Some(t))
            }));
            staged += usize::from(!p.stages.is_empty());
            graded += usize::from(!p.grades.is_empty());
        }
        let share = |k: usize| k as f64 / n.max(1) as f64;
        eprintln!(
            "{file}: {n} reports; {:.0}% with a stage, {:.0}% with a grade{}",
            100.0 * share(staged),
            100.0 * share(graded),
            want_type.map_or(String::new(), |t| format!(
                ", {:.0}% with a {t} cancer",
                100.0 * share(typed)
            )),
        );
        if want_type.is_some() {
            assert!(
                share(typed) >= 0.5,
                "{file}: only {typed} of {n} reports yield their cancer"
            );
        }
    }
}

/// Regressions found reading TCGA reports against their silver labels.
#[test]
fn tcga_regressions() {
    // A tissue block's name is not a grade.
    let p = read(
        "r.txt",
        "Two lymph node candidates submitted in block G1, two candidates in block G2, and one each in blocks G3 and G4.",
    );
    assert!(p.grades.is_empty(), "{:?}", p.grades);
    // Another condition's grade is not the cancer's.
    let p = read(
        "r.txt",
        "Hepatocellular carcinoma. Also present are mild portal infiltrates, consistent with a mild (Grade 1) chronic hepatitis.",
    );
    assert!(p.grades.is_empty(), "{:?}", p.grades);
    let p = read("r.txt", "Grade 2 fibrosis of the background liver.");
    assert!(p.grades.is_empty(), "{:?}", p.grades);
    // A precursor's grade, even after a neoplasm.
    let p = read(
        "r.txt",
        "Intraductal papillary mucinous neoplasm with high-grade dysplasia, present in the pancreatic duct.",
    );
    assert!(p.grades.is_empty(), "{:?}", p.grades);
    // Still read: a grade before a carcinoma, a lone G-grade.
    check(
        "Invasive high grade urothelial carcinoma.",
        &[
            ("cancer", "type=bladder histology=urothelial carcinoma"),
            ("grade", "high grade"),
        ],
        &["high grade"],
    );
    // The renal cell carcinoma's subtype stated after it.
    check(
        "KIDNEY, LEFT, NEPHRECTOMY - RENAL CELL CARCINOMA, CONVENTIONAL (CLEAR CELL) TYPE.",
        &[(
            "cancer",
            "type=kidney histology=clear cell renal cell carcinoma site=kidney laterality=left",
        )],
        &["CONVENTIONAL (CLEAR CELL) TYPE"],
    );
    check(
        "Left kidney: renal cell carcinoma, papillary type.",
        &[(
            "cancer",
            "type=kidney histology=papillary renal cell carcinoma site=kidney laterality=left",
        )],
        &["papillary type"],
    );
}

/// Faults found by reading the TCGA disagreements, one case per fix.
#[test]
fn reading_faults_fixed() {
    // Head-and-neck subsites name their catalog type.
    check(
        "RIGHT TONSIL, RADICAL TONSILLECTOMY:\n- INVASIVE SQUAMOUS CELL CARCINOMA.",
        &[(
            "cancer",
            "type=oropharyngeal histology=squamous cell carcinoma site=tonsil laterality=right",
        )],
        &["RIGHT TONSIL", "SQUAMOUS CELL CARCINOMA"],
    );
    check(
        "Floor of mouth, resection: squamous cell carcinoma.",
        &[(
            "cancer",
            "type=oral histology=squamous cell carcinoma site=floor of mouth",
        )],
        &["Floor of mouth", "squamous cell carcinoma"],
    );
    check(
        "Supraglottic squamous cell carcinoma.",
        &[(
            "cancer",
            "type=laryngeal histology=squamous cell carcinoma site=larynx",
        )],
        &["Supraglottic squamous cell carcinoma"],
    );
    check(
        "Base of tongue, biopsy: squamous carcinoma.",
        &[(
            "cancer",
            "type=oropharyngeal histology=squamous cell carcinoma site=base of tongue",
        )],
        &["Base of tongue"],
    );
    // A heading ending the line before its diagnosis.
    check(
        "I: Left tongue, hemiglossectomy.\n-Squamous cell carcinoma, invasive.",
        &[(
            "cancer",
            "type=oral histology=squamous cell carcinoma site=tongue",
        )],
        &["tongue", "Squamous cell carcinoma"],
    );
    // A past cancer is not this report's.
    check(
        "Clinical history: history of breast cancer. Colon, resection: adenocarcinoma.",
        &[(
            "cancer",
            "type=colorectal histology=adenocarcinoma site=colon",
        )],
        &["Colon, resection: adenocarcinoma"],
    );
    // A list of organs is headed by the first; a chain narrows to the last.
    check(
        "HEAD OF PANCREAS, PORTION OF DUODENUM AND STOMACH: Adenocarcinoma.",
        &[(
            "cancer",
            "type=pancreatic histology=adenocarcinoma site=pancreas",
        )],
        &["PANCREAS", "Adenocarcinoma"],
    );
    check(
        "UTERUS, CERVIX, BIOPSY: INVASIVE SQUAMOUS CELL CARCINOMA.",
        &[(
            "cancer",
            "type=cervical histology=squamous cell carcinoma site=cervix",
        )],
        &["CERVIX", "SQUAMOUS CELL CARCINOMA"],
    );
    // Negated from afar, as the subject of "are not identified".
    check(
        "Features of a glioblastoma multiforme (necrosis, microvascular proliferation) are not identified.",
        &[],
        &[],
    );
    // A stage group's letter written apart.
    check(
        "FIGO Stage IV A.",
        &[("stage", "group=IVA")],
        &["Stage IV A"],
    );
    check("Stage 1 B2.", &[("stage", "group=IB2")], &["Stage 1 B2"]);
    // In situ is recorded as such, apart from an invasive cancer.
    check(
        "Lung, right upper lobe: adenocarcinoma in situ.",
        &[(
            "cancer",
            "type=lung histology=adenocarcinoma in situ site=lung laterality=right",
        )],
        &["adenocarcinoma in situ"],
    );
}
