//! The trial index inside a knowledge base: built, opened, searched and
//! matched; a new build replaces the old one whole, and a failed build
//! leaves the old one live.

use std::path::Path;

use sextant_trials::matching::{Person, Verdict};
use sextant_trials::store::{self, TrialIndex};

fn write_trial(dir: &Path, id: &str, title: &str, condition: &str, criteria: &str) {
    let json = serde_json::json!({
        "nctid": id,
        "title": title,
        "brief_summary": format!("A study of a new drug for {condition}."),
        "study_type": "INTERVENTIONAL",
        "phases": ["PHASE2"],
        "primary_purpose": "TREATMENT",
        "raw_criteria": criteria,
        "minimum_age": "18 Years",
        "maximum_age": "",
        "sex": "ALL",
        "condition": [condition],
        "overall_status": "RECRUITING",
    });
    std::fs::write(dir.join(format!("{id}.json")), json.to_string()).unwrap();
}

const NOTE: &str =
    "62-year-old woman with metastatic squamous cell carcinoma of the cervix, mets to liver. \
    ECOG 1. Received carboplatin/paclitaxel/pembrolizumab with progression.";

#[test]
fn ingest_search_match_and_replace() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    std::fs::create_dir(&src).unwrap();
    write_trial(
        &src,
        "NCT00000101",
        "Drug A for Recurrent or Metastatic Cervical Cancer",
        "Cervical Cancer",
        "Inclusion Criteria:\n* Metastatic cervical carcinoma\n* ECOG 0-1\n* Prior platinum-based chemotherapy\nExclusion Criteria:\n* Untreated brain metastases",
    );
    write_trial(
        &src,
        "NCT00000102",
        "Drug B for HER2-Positive Breast Cancer",
        "Breast Cancer",
        "Inclusion Criteria:\n* HER2-positive breast cancer\n* ECOG 0-1",
    );
    let kb = tmp.path().join("kb");
    let report = store::ingest(&kb, std::slice::from_ref(&src), Some("2025-07-31"), None).unwrap();
    assert_eq!(report.manifest.trials, 2);
    assert_eq!(
        report.manifest.data_dates,
        vec![("2025-07-31".to_string(), 2)]
    );

    let index = TrialIndex::open(&kb).unwrap();
    assert!(index.get("NCT00000101").is_some());
    let hits = index.search_text("cervical carcinoma", 10).unwrap();
    assert_eq!(index.trials()[hits[0].0].id, "NCT00000101");

    let profile = sextant_records::read_note("note.txt", NOTE);
    let person = Person::from_profile(&profile, 2026);
    let m = index
        .match_person(&person, Some(NOTE), None, 10, 10)
        .unwrap();
    assert_eq!(m[0].trial_id, "NCT00000101", "{:#?}", m[0].reasons);
    assert_ne!(
        m[0].verdict,
        Verdict::LikelyExcluded,
        "{:#?}",
        m[0].checklist
    );
    assert!(m[0].as_of.contains("2025-07-31"));
    let breast = m.iter().find(|x| x.trial_id == "NCT00000102").unwrap();
    assert_eq!(breast.verdict, Verdict::LikelyExcluded);

    // A new build replaces the old one whole.
    std::fs::remove_file(src.join("NCT00000102.json")).unwrap();
    store::ingest(&kb, std::slice::from_ref(&src), None, None).unwrap();
    let index = TrialIndex::open(&kb).unwrap();
    assert_eq!(index.trials().len(), 1);
    let gens: Vec<_> = std::fs::read_dir(store::trials_root(&kb))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("gen-"))
        .collect();
    assert_eq!(gens.len(), 1, "old generations are removed");

    // A build that fails (an unreadable source) leaves the live index.
    let err = store::ingest(&kb, &[tmp.path().join("missing.json")], None, None);
    assert!(err.is_err());
    let index = TrialIndex::open(&kb).unwrap();
    assert_eq!(index.trials().len(), 1);
    assert!(!std::fs::read_dir(store::trials_root(&kb))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(".tmp-")));
}

#[test]
fn no_index_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = TrialIndex::open(tmp.path()).err().unwrap().to_string();
    assert!(err.contains("sextant trials ingest"), "{err}");
}
