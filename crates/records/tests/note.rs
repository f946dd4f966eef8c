//! Clinical notes: age, sex, performance status and treatments read from
//! hand-written notes (abbreviations, slashes, dates, negation, plans),
//! every source pointing at the words it was read from; arbitrary text
//! never panics; and the NIH-TrialBench NCI vignettes (when the shared data
//! is there) yield what a reader of them finds.

use std::path::PathBuf;

use proptest::prelude::*;
use sextant_records::{read_note, Fact, Profile, Provenance, Treatment, TreatmentKind};

/// The byte range a source cites, checked to be a span of `text` whose
/// words are the excerpt.
fn check_span(text: &str, p: &Provenance) {
    let range = p
        .locator
        .strip_prefix("chars ")
        .unwrap_or_else(|| panic!("locator {:?}", p.locator));
    let (a, b) = range.split_once("..").unwrap();
    let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
    let span = text
        .get(a..b)
        .unwrap_or_else(|| panic!("{a}..{b} is not a span of a {}-byte text", text.len()));
    assert!(a < b);
    let words = span.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(p.excerpt.as_deref(), Some(words.as_str()));
}

/// Every source of the facts this reader adds, checked.
fn check_sources(text: &str, p: &Profile) {
    let mut all: Vec<&Provenance> = Vec::new();
    all.extend(p.age.iter().flat_map(|f| &f.provenance));
    all.extend(p.sex.iter().flat_map(|f| &f.provenance));
    all.extend(p.performance.iter().flat_map(|f| &f.provenance));
    all.extend(p.treatments.iter().flat_map(|f| &f.provenance));
    for prov in all {
        assert_eq!(prov.file, "note.txt");
        check_span(text, prov);
    }
}

fn read(text: &str) -> Profile {
    let p = read_note("note.txt", text);
    check_sources(text, &p);
    p
}

fn ages(p: &Profile) -> Vec<u32> {
    p.age.iter().map(|f| f.value).collect()
}

fn sexes(p: &Profile) -> Vec<&str> {
    p.sex.iter().map(|f| f.value.as_str()).collect()
}

fn ps(p: &Profile) -> Vec<String> {
    p.performance
        .iter()
        .map(|f| format!("{} {}", f.value.scale, f.value.value))
        .collect()
}

/// Names of treatments of `kind`, in order of first mention, deduplicated.
fn names(p: &Profile, kind: TreatmentKind) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for f in &p.treatments {
        if f.value.kind == kind && !out.contains(&f.value.name.as_str()) {
            out.push(&f.value.name);
        }
    }
    out
}

fn drugs(p: &Profile) -> Vec<&str> {
    names(p, TreatmentKind::Medication)
}

fn find<'a>(p: &'a Profile, name: &str) -> &'a Fact<Treatment> {
    p.treatments
        .iter()
        .find(|f| f.value.name == name)
        .unwrap_or_else(|| panic!("no {name}: {:?}", p.treatments))
}

#[test]
fn ages_in_their_many_spellings() {
    for (text, age) in [
        ("47-year-old woman with cervical cancer.", 47),
        ("A 47 year old man.", 47),
        ("64 years-old F with Merkel cell carcinoma", 64),
        ("Pt is a 47 yo female.", 47),
        ("49yo woman with PMH of IDC", 49),
        ("47 y/o male", 47),
        ("Age: 75\nCurrent Diagnosis: IDC", 75),
        ("aged 52, she presents", 52),
        ("63M with a hx of laryngeal SCC", 63),
        ("65 F with serous carcinoma", 65),
        ("47F\nHPI: ...", 47),
    ] {
        let p = read(text);
        assert_eq!(ages(&p), vec![age], "{text}");
    }
    // An event's age, a date, a dose and a lab are not the person's age.
    for text in [
        "She was diagnosed at age 45.",
        "Diagnosed at 45 years old.",
        "Started 1/15/24 at 75 mg.",
        "PSA 4.7, T 619",
        "WBC 16.92 Hgb 10.7",
        "250 F",
    ] {
        assert_eq!(ages(&read(text)), Vec::<u32>::new(), "{text}");
    }
    // The "year-old" form wins over "age N"; the first wins over later ones.
    let p = read("Diagnosed at age 45. Now a 60-year-old man; his 85-year-old mother is well.");
    assert_eq!(ages(&p), vec![60]);
    assert_eq!(
        p.age[0].provenance[0].excerpt.as_deref(),
        Some("60-year-old")
    );
    assert_eq!(ages(&read("Age: 150")), Vec::<u32>::new());
}

#[test]
fn sex_from_the_noun_by_the_age_then_titles_then_pronouns() {
    for (text, sex) in [
        (
            "47-year-old women with metastatic cervical carcinoma.",
            "female",
        ),
        (
            "This is a 55-year-old gentleman with urachal adenocarcinoma.",
            "male",
        ),
        ("39yo F diagnosed with de novo IDC", "female"),
        ("57yo W with metastatic anal cancer", "female"),
        ("80 yo M CSCC", "male"),
        ("63M with a hx of SCC", "male"),
        ("Sex: Female", "female"),
        ("Mrs. Smith returns for follow-up.", "female"),
        ("Mr Jones returns.", "male"),
        (
            "The patient is doing well. She reports fatigue. Her appetite is fine.",
            "female",
        ),
        ("He underwent a prostate biopsy.", "male"),
        // The noun by the age wins over pronouns about others.
        ("60-year-old man. His wife says she is worried.", "male"),
        // A relative's age and sex are not the person's.
        (
            "47-year-old woman; her husband, a 50-year-old man, drove her.",
            "female",
        ),
        // HER2 and HER-2 are not pronouns.
        ("He has HER-2 positive, HER2/neu amplified cancer.", "male"),
    ] {
        let p = read(text);
        assert_eq!(sexes(&p), vec![sex], "{text}");
    }
    for text in [
        // Pronouns of both kinds and no noun: nothing.
        "The patient says she is tired; he (her son) drove.",
        "Age: 75\nCurrent Diagnosis: IDC TNBC",
        // Contradicting nouns: nothing.
        "Sex: male\n47-year-old woman",
        "HER2 IHC 1+, ER+, PR-",
    ] {
        assert_eq!(sexes(&read(text)), Vec::<&str>::new(), "{text}");
    }
}

#[test]
fn performance_status() {
    for (text, want) in [
        ("ECOG PS=0, without adverse events.", "ECOG 0"),
        ("Working full-time, ECOG 1.", "ECOG 1"),
        ("ECOG performance status of 2", "ECOG 2"),
        (
            "Performance Status: \nECOG: 1-Restricted in physically strenuous activity",
            "ECOG 1",
        ),
        ("PS 1", "ECOG 1"),
        ("Performance status: 1", "ECOG 1"),
        ("KPS 80", "Karnofsky 80"),
        ("Karnofsky 70%", "Karnofsky 70"),
        ("Karnofsky performance status of 60-70%", "Karnofsky 60"),
    ] {
        let p = read(text);
        assert_eq!(ps(&p), vec![want], "{text}");
    }
    // A range: the worse value, the range in the excerpt.
    let p = read("ECOG 0-1");
    assert_eq!(ps(&p), vec!["ECOG 1"]);
    assert_eq!(
        p.performance[0].provenance[0].excerpt.as_deref(),
        Some("ECOG 0-1")
    );
    // Not values: thresholds, percentages, other scores, words.
    for text in [
        "Eligibility: ECOG <= 1",
        "Requires ECOG ≤1",
        "ECOG 7",
        "reports good performance status, walked a 5K",
        "PD-L1 TPS 1%, CPS 5",
        "ps 2",
    ] {
        assert_eq!(ps(&read(text)), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn drugs_from_shorthand_slashes_and_brands() {
    let p = read(
        "s/p carbo/taxol/pembro (1/15/24 - 4/29/24) with pembro/avastin maintenance \
         (5/20/24 - 1/2025), palliative RT to cervical mass (1/2025), and most recently \
         tisotumab vedotin + pembrolizumab (2/24 - 5/19/25) with PD.",
    );
    assert_eq!(
        drugs(&p),
        vec![
            "carboplatin",
            "paclitaxel",
            "pembrolizumab",
            "bevacizumab",
            "tisotumab vedotin"
        ]
    );
    let carbo = find(&p, "carboplatin");
    assert_eq!(carbo.value.start.as_deref(), Some("1/15/24"));
    assert_eq!(carbo.value.end.as_deref(), Some("4/29/24"));
    assert_eq!(carbo.value.status.as_deref(), Some("completed"));
    assert_eq!(
        carbo.provenance[0].excerpt.as_deref(),
        Some("carbo/taxol/pembro (1/15/24 - 4/29/24)")
    );
    // Pembrolizumab: three courses, each with its dates.
    let pembro: Vec<(Option<&str>, Option<&str>)> = p
        .treatments
        .iter()
        .filter(|f| f.value.name == "pembrolizumab")
        .map(|f| (f.value.start.as_deref(), f.value.end.as_deref()))
        .collect();
    assert_eq!(
        pembro,
        vec![
            (Some("1/15/24"), Some("4/29/24")),
            (Some("5/20/24"), Some("1/2025")),
            (Some("2/24"), Some("5/19/25"))
        ]
    );
    assert_eq!(
        names(&p, TreatmentKind::Radiation),
        vec!["radiation therapy"]
    );
    assert_eq!(
        find(&p, "radiation therapy").value.start.as_deref(),
        Some("1/2025")
    );

    for (text, want) in [
        // The mention without dates folds into the dated course.
        (
            "Started ipi-nivo, then Nivo/Ipi C1D1 on 9/13/24.",
            &["nivolumab", "ipilimumab"][..],
        ),
        (
            "pembrolizumab+5FU+carbo, taxotere+cetuximab and afitinib",
            &[
                "pembrolizumab",
                "fluorouracil",
                "carboplatin",
                "docetaxel",
                "cetuximab",
                "afatinib",
            ][..],
        ),
        (
            "Received T-DXd, then Enhertu again; prior Herceptin and Xeloda.",
            &["trastuzumab deruxtecan", "trastuzumab", "capecitabine"][..],
        ),
        (
            "modified FOLFIRINOX, then mFOLFOX6, then CAPOX and XELOX",
            &["folfirinox", "folfox", "capox"][..],
        ),
        (
            "o CHOP ×6 → PR\no ICE ×2 → refractory\no Mogamulizumab ×4 cycles",
            &["chop", "ice", "mogamulizumab"][..],
        ),
        (
            "BV-CHP x6, then brentuximab vedotin",
            &["bv-chp", "brentuximab vedotin"][..],
        ),
        (
            "Initially treated with ddAC+T and adjuvant tamoxifen",
            &["ddac-t", "tamoxifen"][..],
        ),
        (
            "sacituzumab-govitecan, abraxane, gem/cis, keytruda",
            &[
                "sacituzumab govitecan",
                "nab-paclitaxel",
                "gemcitabine",
                "cisplatin",
                "pembrolizumab",
            ][..],
        ),
        (
            "on olaparib, then osimertinib; alectinib; sotorasib; palbociclib + letrozole",
            &[
                "olaparib",
                "osimertinib",
                "alectinib",
                "sotorasib",
                "palbociclib",
                "letrozole",
            ][..],
        ),
        (
            "5/2024: started with ADT; Lupron since",
            &["androgen deprivation therapy", "leuprolide"][..],
        ),
        (
            "Treated with CAR-T and a novel agent DB1303 and GIGA-564",
            &["car-t cell therapy"][..],
        ),
        // Shorthand that means other things alone.
        ("GCB DLBCL (stage II, IPI Low); CIS of the bladder", &[][..]),
        // Supportive and home medicines are not cancer treatment.
        (
            "treated with denosumab; Medications: oxycodone, atorvastatin",
            &[][..],
        ),
    ] {
        let p = read(text);
        assert_eq!(drugs(&p), want.to_vec(), "{text}");
    }
}

#[test]
fn dates_open_ranges_and_line_dates() {
    let p = read(
        "Tisotumab vedotin 9/1/2024 – 6/15/2025. Lorlatinib 8/2025-present\n\
         The patient was then initiated on trastuzumab deruxtecan (12/1/25-).\n\
         4/29/21 – 6/10/21: carbo/taxol/bev\n\
         11/2025 – present palliative single-agent cetuximab\n\
         2/27/25: stopped enzalutamide\n\
         platinum and etoposide (completed 12/2024)",
    );
    let t = |n: &str| {
        let f = find(&p, n);
        (
            f.value.start.as_deref(),
            f.value.end.as_deref(),
            f.value.status.as_deref(),
        )
    };
    assert_eq!(
        t("tisotumab vedotin"),
        (Some("9/1/2024"), Some("6/15/2025"), Some("completed"))
    );
    assert_eq!(t("lorlatinib"), (Some("8/2025"), None, Some("active")));
    assert_eq!(
        t("trastuzumab deruxtecan"),
        (Some("12/1/25"), None, Some("active"))
    );
    assert_eq!(
        t("bevacizumab"),
        (Some("4/29/21"), Some("6/10/21"), Some("completed"))
    );
    assert_eq!(t("cetuximab"), (Some("11/2025"), None, Some("active")));
    assert_eq!(
        t("enzalutamide"),
        (None, Some("2/27/25"), Some("completed"))
    );
    assert_eq!(t("etoposide"), (None, Some("12/2024"), Some("completed")));
    // A mention without dates folds into the dated course.
    let p = read("Alectinib 1/2025-7/2025, biopsy on alectinib showed G1202R.");
    assert_eq!(p.treatments.len(), 1);
    assert_eq!(p.treatments[0].provenance.len(), 2);
}

#[test]
fn radiation_and_surgery() {
    let p = read(
        "Underwent total hysterectomy, BSOO, lymph node dissection and cystoscopy on 5/29/2018.\n\
         8/6/18-9/13/18 adjuvant radiation\n\
         robotic partial cystectomy (6/20/22), wedge resection of liver, debulking surgery.\n\
         SRS to Right frontal lobe lesion 12/09/20; adjuvant XRT; chemoRT; RAI (1995).\n\
         Appendectomy -2010. New cutaneous lesion on Rt neck skin.",
    );
    assert_eq!(
        names(&p, TreatmentKind::Surgery),
        vec![
            "hysterectomy",
            "salpingo-oophorectomy",
            "lymph node dissection",
            "cystectomy",
            "wedge resection",
            "debulking"
        ]
    );
    assert_eq!(
        names(&p, TreatmentKind::Radiation),
        vec![
            "radiation therapy",
            "stereotactic radiosurgery",
            "chemoradiation",
            "radioactive iodine"
        ]
    );
    assert_eq!(
        find(&p, "cystectomy").value.start.as_deref(),
        Some("6/20/22")
    );
    assert_eq!(
        find(&p, "radioactive iodine").value.start.as_deref(),
        Some("1995")
    );
    // Not treatments given: radiation as a specialty or a side effect, a
    // resection margin, an aortic dissection.
    let p = read(
        "Met with radiation oncology. Developed radiation pneumonitis. Tumor at the resection \
         margin. History of aortic dissection.",
    );
    assert!(p.treatments.is_empty(), "{:?}", p.treatments);
}

#[test]
fn negated_and_planned_treatments_are_not_treatments() {
    for text in [
        "No prior chemotherapy or carboplatin.",
        "She never received pembrolizumab.",
        "Not a candidate for surgery.",
        "Met with Rad-Onc but opted against XRT.",
        "Patient declined tamoxifen.",
        "Plan to start FOLFOX next week.",
        "We will start olaparib.",
        "Outside oncologist may start mFOLFOX if no viable trial option.",
        "Initial intent of undergoing salvage RT.",
        "She is a candidate for trastuzumab deruxtecan.",
        "Would consider cabozantinib at progression.",
        "Decision was to start intermittent ADT.",
        "No viable local radiation or surgical options.",
        "Her mother had a mastectomy.",
        "Treatment options include sacituzumab govitecan.",
    ] {
        let p = read(text);
        assert!(p.treatments.is_empty(), "{text}: {:?}", p.treatments);
    }
    // A negation about something else leaves the treatment.
    for (text, want) in [
        (
            "No response to carboplatin and paclitaxel.",
            &["carboplatin", "paclitaxel"][..],
        ),
        ("He could not tolerate FOLFOX.", &["folfox"][..]),
        (
            "Started on pembrolizumab without complications.",
            &["pembrolizumab"][..],
        ),
        ("In May 2025 started abemaciclib.", &["abemaciclib"][..]),
        (
            "Home oncologist starting palliative topotecan.",
            &["topotecan"][..],
        ),
    ] {
        assert_eq!(drugs(&read(text)), want.to_vec(), "{text}");
    }
}

#[test]
fn what_the_text_reader_reads_is_kept() {
    let text = "65-year-old woman with squamous cell carcinoma of the cervix, \
                PD-L1 CPS 5, with mets to lung and liver. ECOG 1.";
    let p = read(text);
    let plain = sextant_records::text::read("note.txt", text);
    assert_eq!(p.primary_cancers, plain.primary_cancers);
    assert_eq!(p.metastatic_sites, plain.metastatic_sites);
    assert_eq!(p.biomarkers, plain.biomarkers);
    assert!(!p.primary_cancers.is_empty());
    // The new facts show in the canonical lines and in words.
    let lines = p.canonical_facts();
    assert!(lines.contains(&("age", "65".to_string())), "{lines:?}");
    assert!(lines.contains(&("sex", "female".to_string())));
    assert!(lines.contains(&("performance", "ECOG 1".to_string())));
    let words = sextant_records::render::text(&p);
    assert!(words.contains("age: 65"), "{words}");
    // An old stored profile (no age) still loads, and a profile without an
    // age writes no age.
    let json = serde_json::to_string(&plain).unwrap();
    assert!(!json.contains("\"age\""));
    let back: Profile = serde_json::from_str(&json).unwrap();
    assert_eq!(back, plain);
    // Two records that disagree on age are a conflict.
    let mut a = read("47-year-old woman");
    a.merge(read("52-year-old woman"));
    assert_eq!(a.conflicts, vec!["age: 47 and 52 in different records"]);
}

/// The opening line's diagnosis comes first and is read for what it is:
/// a lymphoma in the stomach is a lymphoma, a neuroendocrine tumour of the
/// bladder is bladder cancer, "to the lungs" is where it spread, and a
/// second sentence about an old cancer is not the diagnosis.
#[test]
fn the_opening_diagnosis_is_read_for_what_it_is() {
    let types = |text: &str| -> Vec<String> {
        let p = read(text);
        check_sources(text, &p);
        p.primary_cancers
            .iter()
            .filter_map(|f| f.value.type_id.clone())
            .collect()
    };
    let cases: &[(&str, &str)] = &[
        ("46 yo F with PMHx of DM, HTN and newly diagnosed gastric non-GCB DLBCL diagnosed on gastric ulcer biopsy 12/21/20.", "nhl"),
        ("This is a 40-year-old male diagnosed with large cell neuroendocrine tumor of the bladder (stage IIIB; TxN3) which was initially diagnosed 10/31/2023. He received 6 cycles of carboplatin.", "bladder"),
        ("This is a 55-year-old gentleman with metastatic urachal adenocarcinoma to the lungs who was diagnosed with previously localized urachal adenocarcinoma status post partial cystectomy.", "bladder"),
        ("This is a 69-year-old male with metastatic small cell neuroendocrine tumor of the bladder. He also had metastatic thyroid cancer to the lung status post thyroidectomy and RAI (1995).", "bladder"),
        ("39yo F diagnosed with de novo, stage IV IDC, ER+, PR+, HER2+ with CT CAP demonstrating R axillary lymphadenopathy, lung nodules and T10 and L4 lesions concerning for metastatic disease.", "breast"),
    ];
    for (text, want) in cases {
        let got = types(text);
        assert_eq!(
            got.first().map(String::as_str),
            Some(*want),
            "{text}: {got:?}"
        );
        assert!(
            !got.iter()
                .any(|t| t == "lung" || t == "stomach" || t == "gi-neuroendocrine"),
            "{text}: {got:?}"
        );
    }
    // The old thyroid cancer is still on record, after the bladder.
    assert!(types(cases[3].0).iter().any(|t| t == "thyroid"));
}

#[test]
fn regimens_list_their_drugs() {
    assert_eq!(
        sextant_records::note::regimen_drugs("FOLFOX"),
        &["fluorouracil", "leucovorin", "oxaliplatin"]
    );
    assert!(sextant_records::note::regimen_drugs("pembrolizumab").is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let p = read_note("x.txt", &text);
        for prov in p.treatments.iter().flat_map(|f| &f.provenance)
            .chain(p.age.iter().flat_map(|f| &f.provenance))
            .chain(p.sex.iter().flat_map(|f| &f.provenance))
            .chain(p.performance.iter().flat_map(|f| &f.provenance))
        {
            let (a, b) = prov.locator.trim_start_matches("chars ").split_once("..").unwrap();
            let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
            prop_assert!(text.get(a..b).is_some());
        }
    }

    #[test]
    fn note_like_text_never_panics(
        words in proptest::collection::vec(
            proptest::sample::select(vec![
                "47", "-", "year", "old", "yo", "F", "M", "W", "ECOG", "PS", "=", "0", "1", "-",
                "KPS", "80", "%", "carbo", "/", "taxol", "+", "pembro", "(", ")", "1/15/24",
                "–", "present", "RT", "s/p", "no", "not", "plan", "to", "start", "ipi", "nivo",
                "ddAC", "T", "hysterectomy", "resection", "margin", "she", "he", "HER", "2",
                "\n", ":", "May", "2025", "age", "at", "\u{fffd}", "é", "ectomy", "Mr", ".",
            ]),
            0..60,
        )
    ) {
        let text = words.join(" ");
        let p = read_note("x.txt", &text);
        for prov in p.treatments.iter().flat_map(|f| &f.provenance)
            .chain(p.performance.iter().flat_map(|f| &f.provenance))
        {
            let (a, b) = prov.locator.trim_start_matches("chars ").split_once("..").unwrap();
            let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
            prop_assert!(text.get(a..b).is_some());
        }
    }
}

#[test]
fn long_and_hostile_text_is_read_in_bounded_time() {
    let unit = "carbo/taxol/pembro (1/15/24 - 4/29/24) ECOG 0-1 47-year-old woman she he ";
    let text = unit.repeat(16_000); // ~1.2 MB: two pieces
    let t = std::time::Instant::now();
    let p = read_note("big.txt", &text);
    assert!(p.treatments.len() <= 200);
    assert!(p.treatments.iter().all(|f| f.provenance.len() <= 20));
    assert!(t.elapsed().as_secs() < 60, "{:?}", t.elapsed());
    let weird =
        "\u{fffd}ECOG\u{fffd}1\u{fffd}carbo\u{2013}/\u{2014}taxol 47\u{fffd}yo F ".repeat(1000);
    let _ = read_note("weird.txt", &weird);
}

// ---------------------------------------------------------------------------
// NIH-TrialBench NCI vignettes

/// The shared data folder: `$SEXTANT_DATA`, else `shared/data` next to the
/// checkout.
fn data_dir() -> PathBuf {
    match std::env::var_os("SEXTANT_DATA").filter(|s| !s.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// The NCI vignettes, as (patient id, summary); `None` when the data is
/// not here.
fn vignettes() -> Option<Vec<(String, String)>> {
    let path = data_dir().join("trials/nih-trialbench/patients.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: no {}", path.display());
        return None;
    };
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        if v["ic"] != "NCI" {
            continue;
        }
        out.push((
            v["patient_id"].as_str().unwrap_or_default().to_string(),
            v["patient_summary"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
    }
    Some(out)
}

/// A vignette read by hand: its id, age, sex, ECOG, and drugs that must be
/// found.
type Expected = (
    &'static str,
    Option<u32>,
    Option<&'static str>,
    Option<&'static str>,
    &'static [&'static str],
);

/// Vignettes read by hand: age, sex, ECOG, and drugs that must be found.
#[rustfmt::skip]
const EXPECTED: &[Expected] = &[
    ("nci-01", Some(47), Some("female"), None,
        &["carboplatin", "paclitaxel", "pembrolizumab", "tisotumab vedotin", "bevacizumab"]),
    ("nci-02", Some(65), Some("female"), Some("0"),
        &["carboplatin", "paclitaxel", "pembrolizumab", "bevacizumab", "tisotumab vedotin"]),
    ("nci-04", Some(49), Some("female"), None,
        &["ddac-t", "tamoxifen", "pembrolizumab", "capecitabine"]),
    ("nci-05", Some(75), None, None, &["capecitabine", "sacituzumab govitecan"]),
    ("nci-09", Some(57), Some("female"), Some("1"),
        &["capecitabine", "mitomycin", "carboplatin", "paclitaxel", "nivolumab"]),
    ("nci-13", Some(75), Some("male"), None, &["tip", "fluorouracil", "mitomycin"]),
    ("nci-25", Some(63), Some("male"), Some("1"), &["chop", "ice", "mogamulizumab"]),
    ("nci-34", None, Some("male"), None, &["leuprolide", "androgen deprivation therapy"]),
    ("nci-36", Some(63), Some("male"), Some("1"),
        &["pembrolizumab", "fluorouracil", "carboplatin", "docetaxel", "cetuximab", "afatinib"]),
    ("nci-40", Some(64), Some("female"), Some("1"), &["avelumab", "ipilimumab", "nivolumab"]),
    ("nci-41", Some(80), Some("male"), Some("1"),
        &["pembrolizumab", "nivolumab", "ipilimumab"]),
];

#[test]
fn nci_vignettes() {
    let Some(vs) = vignettes() else { return };
    assert_eq!(vs.len(), 41, "NCI vignettes");
    let (mut age, mut sex, mut ecog, mut drug, mut cancer) = (0, 0, 0, 0, 0);
    let mut stated_ecog = 0;
    for (id, text) in &vs {
        let p = read_note("note.txt", text);
        // Every source is a span of the text with its words.
        let mut all: Vec<&Provenance> = Vec::new();
        all.extend(p.age.iter().flat_map(|f| &f.provenance));
        all.extend(p.sex.iter().flat_map(|f| &f.provenance));
        all.extend(p.performance.iter().flat_map(|f| &f.provenance));
        all.extend(p.treatments.iter().flat_map(|f| &f.provenance));
        for prov in all {
            check_span(text, prov);
        }
        age += usize::from(!p.age.is_empty());
        sex += usize::from(!p.sex.is_empty());
        cancer += usize::from(!p.primary_cancers.is_empty());
        drug += usize::from(!drugs(&p).is_empty());
        let ecogs: Vec<&str> = p
            .performance
            .iter()
            .filter(|f| f.value.scale == "ECOG")
            .map(|f| f.value.value.as_str())
            .collect();
        ecog += usize::from(!ecogs.is_empty());
        // Where the note states an ECOG value, it is read, and only values
        // the note states.
        if let Some(at) = text.find("ECOG") {
            let after = &text[at..];
            let stated: Vec<char> = after.chars().filter(char::is_ascii_digit).take(1).collect();
            stated_ecog += 1;
            assert_eq!(ecogs.len(), 1, "{id}: {ecogs:?}");
            assert_eq!(ecogs[0].chars().next(), stated.first().copied(), "{id}");
        }
        println!(
            "{id}: age {:?} sex {:?} ps {:?} drugs {:?} other {:?} cancers {}",
            ages(&p),
            sexes(&p),
            ps(&p),
            drugs(&p),
            p.treatments
                .iter()
                .filter(|f| f.value.kind != TreatmentKind::Medication)
                .map(|f| f.value.name.as_str())
                .collect::<Vec<_>>(),
            p.primary_cancers.len()
        );
        if let Some((_, a, s, e, want)) = EXPECTED.iter().find(|x| x.0 == id) {
            assert_eq!(ages(&p).first().copied(), *a, "{id} age");
            assert_eq!(sexes(&p).first().copied(), *s, "{id} sex");
            assert_eq!(ecogs.first().copied(), *e, "{id} ECOG");
            for w in *want {
                assert!(drugs(&p).contains(w), "{id}: no {w} in {:?}", drugs(&p));
            }
        }
    }
    println!(
        "NCI vignettes: {} read; age {age}, sex {sex}, ECOG {ecog} (of {stated_ecog} stating it), \
         >=1 drug {drug}, >=1 cancer {cancer}",
        vs.len()
    );
    // Two vignettes (nci-34, nci-35) state no age; two (nci-05, nci-35) no
    // sex in any form; four (nci-15, nci-31..33) are before any treatment.
    assert!(age >= 39, "age {age}");
    assert!(sex >= 39, "sex {sex}");
    assert_eq!(ecog, stated_ecog);
    assert!(drug >= 37, "drugs {drug}");
}

/// A text record, uploaded or read from a file, goes through the note
/// reader: the stored profile has the age, performance status and
/// treatments, not only what a pathology report holds.
#[test]
fn uploaded_text_is_read_as_a_note() {
    let text = "62-year-old woman with metastatic cervical carcinoma, ECOG 1. \
                She received carboplatin/paclitaxel/pembrolizumab (1/15/24 - 4/29/24).";
    let p = sextant_records::read_bytes("history.txt", text.as_bytes()).unwrap();
    assert_eq!(ages(&p), vec![62]);
    assert_eq!(ps(&p), vec!["ECOG 1".to_string()]);
    for d in ["carboplatin", "paclitaxel", "pembrolizumab"] {
        assert!(drugs(&p).contains(&d), "{:?}", drugs(&p));
    }
    assert_eq!(p, read_note("history.txt", text));
}
