//! Readers: every trial record in the shared data (NIH-TrialBench, NCI CTS
//! full documents and search summaries, the ClinicalTrials.gov v2
//! reference study) read with exact counts and fields, the saved API
//! fixtures, and bad input (empty, wrong shapes, wrong types, truncation,
//! absurd sizes, deep nesting, gzip bombs, invalid UTF-8) answered with
//! issues or a clean error, never a panic.

use std::io::Write;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sextant_trials::read::{read_bytes, read_dir, read_file, MAX_TRIAL_BYTES};
use sextant_trials::{Eligibility, Format, SexEligible, Trial, TrialsError};

/// The shared data folder (`SEXTANT_DATA`, else the checkout's sibling
/// `shared/data`), or `None` after saying the test is skipped.
fn data(test: &str) -> Option<PathBuf> {
    let d = std::env::var_os("SEXTANT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if d.join("trials").is_dir() {
        Some(d)
    } else {
        eprintln!("skipping {test}: no shared data at {}", d.display());
        None
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn listed(t: &Trial) -> &[sextant_trials::ListedCriterion] {
    match &t.eligibility {
        Eligibility::Listed(l) => l,
        other => panic!("{}: not listed: {other:?}", t.id),
    }
}

fn is_nct(id: &str) -> bool {
    id.len() == 11 && id.starts_with("NCT") && id[3..].bytes().all(|b| b.is_ascii_digit())
}

// ---- the shared data ----------------------------------------------------

#[test]
fn trialbench_records_are_all_read() {
    let Some(d) = data("trialbench_records_are_all_read") else {
        return;
    };
    let (trials, issues) =
        read_dir(&d.join("trials/nih-trialbench/trials"), Some("2024-05-01")).unwrap();
    assert!(issues.is_empty(), "{issues:#?}");
    assert_eq!(trials.len(), 106);
    for t in &trials {
        assert!(is_nct(&t.id), "{}", t.id);
        assert!(!t.title.is_empty(), "{}", t.id);
        assert_eq!(t.source.format, Format::TrialBench);
        assert_eq!(
            t.source.data_date.as_deref(),
            Some("2024-05-01"),
            "{}",
            t.id
        );
        assert!(
            matches!(&t.eligibility, Eligibility::Text(s) if s.len() > 20),
            "{}",
            t.id
        );
        assert!(t.sex.is_some(), "{}", t.id);
        assert!(!t.conditions.is_empty(), "{}", t.id);
        assert_eq!(t.url, format!("https://clinicaltrials.gov/study/{}", t.id));
    }
    assert_eq!(
        trials
            .iter()
            .filter(|t| t.sex == Some(SexEligible::All))
            .count(),
        95
    );
    assert_eq!(
        trials
            .iter()
            .filter(|t| t.sex == Some(SexEligible::Male))
            .count(),
        8
    );

    let t = trials.iter().find(|t| t.id == "NCT00003838").unwrap();
    assert_eq!(
        t.title,
        "Specialized Blood Cell Transplants for Cancers of the Blood and Bone Marrow"
    );
    assert_eq!(t.phases, ["PHASE2"]);
    assert_eq!(t.study_type.as_deref(), Some("INTERVENTIONAL"));
    assert_eq!(t.purpose.as_deref(), Some("TREATMENT"));
    assert_eq!(t.status.as_deref(), Some("COMPLETED"));
    assert_eq!((t.min_age, t.max_age), (Some(2.0), Some(80.0)));
    assert_eq!(t.conditions.len(), 5);
    assert_eq!(t.conditions[0], "Myeloproliferative Disorders");
    let Eligibility::Text(text) = &t.eligibility else {
        unreachable!()
    };
    assert!(
        text.starts_with("* INCLUSION CRITERIA - Recipients:"),
        "{text}"
    );
}

#[test]
fn trialbench_folder_names_the_files_that_are_not_trials() {
    let Some(d) = data("trialbench_folder_names_the_files_that_are_not_trials") else {
        return;
    };
    let (trials, issues) = read_dir(&d.join("trials/nih-trialbench"), None).unwrap();
    assert_eq!(trials.len(), 106);
    assert!(trials.iter().all(|t| t.source.data_date.is_none()));
    let mut at: Vec<&str> = issues.iter().map(|i| i.at.as_str()).collect();
    at.sort();
    assert_eq!(at.len(), 2, "{issues:#?}");
    assert!(at[0].ends_with("clinician_annotations.jsonl"), "{at:?}");
    assert!(at[1].ends_with("patients.jsonl"), "{at:?}");
    for i in &issues {
        assert!(!i.message.contains(&i.at), "the path is repeated: {i}");
        assert!(i.message.contains("no trial record"), "{i}");
    }
}

/// (file, id, NCI id, data date, has exclusion items). Four documents list
/// inclusion items only (their exclusions, if any, are inside the text).
const NCI_FULL: [(&str, &str, &str, &str, bool); 15] = [
    (
        "NCI-2014-01507.json.gz",
        "NCT02201992",
        "NCI-2014-01507",
        "2021-08-16",
        true,
    ),
    (
        "NCI-2014-01696.json",
        "NCT02375204",
        "NCI-2014-01696",
        "2021-09-04",
        false,
    ),
    (
        "NCI-2014-02057.json",
        "NCT02402244",
        "NCI-2014-02057",
        "2020-11-09",
        false,
    ),
    (
        "NCI-2015-00045.json",
        "NCT00596999",
        "NCI-2015-00045",
        "2007-11-01",
        true,
    ),
    (
        "NCI-2015-00054.json.gz",
        "NCT02465060",
        "NCI-2015-00054",
        "2021-09-22",
        true,
    ),
    (
        "NCI-2015-01918.json.gz",
        "NCT02750826",
        "NCI-2015-01918",
        "2021-05-20",
        false,
    ),
    (
        "NCI-2016-00007.json",
        "NCT02671890",
        "NCI-2016-00007",
        "2022-01-10",
        true,
    ),
    (
        "NCI-2018-00273.json",
        "NCT03326674",
        "NCI-2018-00273",
        "2021-07-01",
        true,
    ),
    (
        "NCI-2018-01615.json",
        "NCT00900419",
        "NCI-2018-01615",
        "2021-11-03",
        true,
    ),
    (
        "NCI-2018-01903.json",
        "NCT03834571",
        "NCI-2018-01903",
        "2020-01-09",
        true,
    ),
    (
        "NCI-2018-02261.json",
        "NCT00001582",
        "NCI-2018-02261",
        "2022-01-11",
        false,
    ),
    (
        "NCI-2018-03722.json",
        "NCT03532035",
        "NCI-2018-03722",
        "2021-07-19",
        true,
    ),
    (
        "NCI-2020-08103.json.gz",
        "NCT04625647",
        "NCI-2020-08103",
        "2021-09-20",
        true,
    ),
    (
        "NCI-2020-08118.json",
        "NCT04681105",
        "NCI-2020-08118",
        "2021-08-30",
        true,
    ),
    (
        "NCT02201992.json.gz",
        "NCT02201992",
        "NCI-2014-01507",
        "2021-08-16",
        true,
    ),
];

#[test]
fn nci_full_documents_are_read_with_ordered_criteria() {
    let Some(d) = data("nci_full_documents_are_read_with_ordered_criteria") else {
        return;
    };
    let dir = d.join("trials/nci-cts/v2/trials/trial");
    for (file, id, nci, date, both) in NCI_FULL {
        let (trials, issues) = read_file(&dir.join(file), Some("2030-01-01")).unwrap();
        assert!(issues.is_empty(), "{file}: {issues:#?}");
        assert_eq!(trials.len(), 1, "{file}");
        let t = &trials[0];
        assert_eq!(t.id, id, "{file}");
        assert_eq!(t.source.format, Format::NciCts);
        assert!(
            t.other_ids.iter().any(|o| o == nci),
            "{file}: {:?}",
            t.other_ids
        );
        // The record's own newest date wins over the fallback.
        assert_eq!(t.source.data_date.as_deref(), Some(date), "{file}");
        assert!(!t.title.is_empty() && !t.summary.is_empty(), "{file}");
        assert!(!t.conditions.is_empty() && t.status.is_some(), "{file}");
        assert!(!t.sites.is_empty() && t.phases.len() == 1, "{file}");
        let items = listed(t);
        assert!(items.iter().any(|c| c.inclusion), "{file}");
        assert_eq!(items.iter().any(|c| !c.inclusion), both, "{file}");
        assert!(items
            .iter()
            .all(|c| !c.text.is_empty() && !c.text.contains('\r')));
    }

    // The ALCHEMIST crizotinib trial, field by field.
    let (trials, _) = read_file(&dir.join("NCI-2014-01507.json.gz"), None).unwrap();
    let t = &trials[0];
    assert_eq!(t.other_ids, ["NCI-2014-01507", "E4512", "s16-02072"]);
    assert!(t
        .title
        .starts_with("Crizotinib in Treating Patients with Stage IB-IIIA"));
    assert_eq!(t.phases, ["III"]);
    assert_eq!(t.purpose.as_deref(), Some("TREATMENT"));
    assert_eq!(t.status.as_deref(), Some("Active"));
    assert_eq!(t.sex, Some(SexEligible::All));
    // 999 years is CTS's "no upper limit".
    assert_eq!((t.min_age, t.max_age), (Some(18.0), None));
    // The trial's own diseases (7 "TRIAL"), not the 51 NCIt ancestors.
    assert_eq!(t.conditions.len(), 7, "{:?}", t.conditions);
    assert!(t.conditions.iter().all(|c| c.contains("Lung Cancer")));
    assert_eq!(t.interventions, ["Crizotinib", "Clinical Observation"]);
    let bio: Vec<(&str, Option<&str>, Option<&str>)> = t
        .biomarkers
        .iter()
        .map(|b| (b.name.as_str(), b.criterion.as_deref(), b.code.as_deref()))
        .collect();
    assert_eq!(
        bio,
        [
            ("ALK Positive", Some("inclusion"), Some("C128831")),
            ("ALK Gene Rearrangement", Some("inclusion"), Some("C129574")),
            ("ALK Gene Translocation", Some("inclusion"), Some("C129703")),
        ]
    );
    assert_eq!(t.sites.len(), 1563);
    assert_eq!(t.sites[0].name, "Providence Alaska Medical Center");
    assert_eq!(t.sites[0].city.as_deref(), Some("Anchorage"));
    assert_eq!(t.sites[0].state.as_deref(), Some("AK"));
    assert_eq!(t.sites[0].country.as_deref(), Some("United States"));
    assert_eq!(t.sites[0].status.as_deref(), Some("ACTIVE"));
    assert_eq!(listed(t).len(), 27);
    assert_eq!(listed(t).iter().filter(|c| c.inclusion).count(), 24);

    // The same trial twice in the folder is read once.
    let (all, issues) = read_dir(&dir, None).unwrap();
    assert!(issues.is_empty(), "{issues:#?}");
    assert_eq!(all.len(), 14);
}

#[test]
fn nci_criteria_keep_display_order() {
    let Some(d) = data("nci_criteria_keep_display_order") else {
        return;
    };
    let path = d.join("trials/nci-cts/v2/trials/trial/NCI-2015-00045.json");
    let (trials, _) = read_file(&path, None).unwrap();
    let items = listed(&trials[0]);
    assert_eq!(items.len(), 4);
    assert_eq!(
        items[0].text,
        "suitable UCB collected from partially or fully HLA matched related donor"
    );
    // Shuffled, the items come back in display order.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["eligibility"]["unstructured"]
        .as_array_mut()
        .unwrap()
        .reverse();
    let (again, _) = read_bytes("shuffled", v.to_string().as_bytes(), None).unwrap();
    assert_eq!(listed(&again[0]), items);
}

#[test]
fn nci_summaries_are_all_read() {
    let Some(d) = data("nci_summaries_are_all_read") else {
        return;
    };
    let path = d.join("trials/nci-cts/trial_summaries_from_search_mocks.jsonl.gz");
    let (trials, issues) = read_file(&path, Some("2023-01-15")).unwrap();
    assert!(issues.is_empty(), "{issues:#?}");
    assert_eq!(trials.len(), 359);
    let mut ids: Vec<&str> = trials.iter().map(|t| t.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 359);
    for t in &trials {
        assert!(is_nct(&t.id), "{}", t.id);
        assert!(t.other_ids[0].starts_with("NCI-"), "{}", t.id);
        assert!(!t.title.is_empty() && !t.conditions.is_empty(), "{}", t.id);
        assert_eq!(t.source.format, Format::NciCts);
        // Summaries carry no date of their own.
        assert_eq!(t.source.data_date.as_deref(), Some("2023-01-15"));
    }
    let with_criteria = trials
        .iter()
        .filter(|t| matches!(t.eligibility, Eligibility::Listed(_)))
        .count();
    assert_eq!(with_criteria, 14);
    assert_eq!(trials.iter().filter(|t| t.max_age.is_none()).count(), 307);
    assert_eq!(
        trials
            .iter()
            .filter(|t| t.status.as_deref() == Some("Active"))
            .count(),
        351
    );
    // Older summaries name diseases `preferred_name`, with the lead first.
    let t = trials.iter().find(|t| t.id == "NCT00495300").unwrap();
    assert_eq!(t.conditions, ["Hematopoietic and Lymphoid Cell Neoplasm"]);
}

#[test]
fn nci_folder_keeps_the_full_document_over_the_summary() {
    let Some(d) = data("nci_folder_keeps_the_full_document_over_the_summary") else {
        return;
    };
    let (trials, issues) = read_dir(&d.join("trials/nci-cts"), None).unwrap();
    // The 15 full documents are of trials the summaries list too.
    assert_eq!(trials.len(), 359);
    let full: Vec<&Trial> = trials.iter().filter(|t| !t.sites.is_empty()).collect();
    assert_eq!(full.len(), 14);
    for t in &full {
        assert!(
            !t.source.origin.contains("summaries"),
            "{}",
            t.source.origin
        );
        assert!(t.source.data_date.is_some());
    }
    // Only the autocomplete answers (diseases, interventions, terms) are
    // not trials; each is one issue.
    for i in &issues {
        assert!(
            ["/diseases/", "/interventions/", "/terms/"]
                .iter()
                .any(|d| i.at.contains(d)),
            "{i}"
        );
    }
    assert!(issues.len() > 50, "{}", issues.len());
}

#[test]
fn ctgov_reference_study() {
    let Some(d) = data("ctgov_reference_study") else {
        return;
    };
    let path = d.join("records/mcode/ctm-service/spec/data/NCT02513394.json");
    let (trials, issues) = read_file(&path, Some("2030-01-01")).unwrap();
    assert!(issues.is_empty(), "{issues:#?}");
    assert_eq!(trials.len(), 1);
    let t = &trials[0];
    assert_eq!(t.id, "NCT02513394");
    assert_eq!(t.source.format, Format::CtGov);
    assert_eq!(t.source.data_date.as_deref(), Some("2023-06-13"));
    assert_eq!(t.title, "PALbociclib CoLlaborative Adjuvant Study");
    assert_eq!(
        t.other_ids,
        ["AFT-05", "ABCSG 42", "BIG 14-03", "2014-005181-30"]
    );
    assert_eq!(t.conditions, ["Breast Cancer"]);
    assert_eq!(
        t.interventions,
        ["Palbociclib", "Standard Adjuvant Endocrine Therapy"]
    );
    assert_eq!(t.phases, ["PHASE3"]);
    assert_eq!(t.study_type.as_deref(), Some("INTERVENTIONAL"));
    assert_eq!(t.purpose.as_deref(), Some("TREATMENT"));
    assert_eq!(t.status.as_deref(), Some("ACTIVE_NOT_RECRUITING"));
    assert_eq!(t.sex, Some(SexEligible::All));
    assert_eq!((t.min_age, t.max_age), (Some(18.0), None));
    assert!(t.summary.starts_with("This is a prospective, two arm"));
    let Eligibility::Text(text) = &t.eligibility else {
        panic!("{:?}", t.eligibility)
    };
    assert!(text.starts_with("Inclusion Criteria"), "{text}");
    assert!(text.contains("Exclusion Criteria"));
    assert_eq!(t.sites.len(), 437);
    assert_eq!(
        t.sites[0].name,
        "University of South Alabama Mitchell Cancer Institute"
    );
    assert_eq!(t.sites[0].state.as_deref(), Some("Alabama"));
}

// ---- saved API answers --------------------------------------------------

#[test]
fn fixtures_are_read_and_deduplicated() {
    let (trials, issues) = read_dir(&fixtures(), Some("2025-02-03")).unwrap();
    assert!(issues.is_empty(), "{issues:#?}");
    let mut ids: Vec<&str> = trials.iter().map(|t| t.id.as_str()).collect();
    ids.sort();
    assert_eq!(
        ids,
        ["NCT00003838", "NCT00495300", "NCT00596999", "NCT02513394"]
    );
    // The full NCI document beats the search summary of the same trial.
    let t = trials.iter().find(|t| t.id == "NCT00596999").unwrap();
    assert!(t.source.origin.ends_with("nci_trial_NCI-2015-00045.json"));
    assert_eq!(t.source.data_date.as_deref(), Some("2007-11-01"));
    assert_eq!(t.sites.len(), 1);
    // A summary has no date: the fallback is used.
    let t = trials.iter().find(|t| t.id == "NCT00495300").unwrap();
    assert_eq!(t.source.data_date.as_deref(), Some("2025-02-03"));
    assert_eq!(t.min_age, Some(3.0));
    // CT.gov statusVerifiedDate "2019-03" is a month.
    let t = trials.iter().find(|t| t.id == "NCT00003838").unwrap();
    assert_eq!(t.source.data_date.as_deref(), Some("2019-03"));
}

#[test]
fn an_nci_only_record_joins_the_nct_record_that_lists_it() {
    let short = r#"{"nci_id":"NCI-2015-00045","brief_title":"Short"}"#;
    let full = std::fs::read(fixtures().join("nci_trial_NCI-2015-00045.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), short).unwrap();
    std::fs::write(dir.path().join("b.json"), &full).unwrap();
    let (trials, _) = read_dir(dir.path(), None).unwrap();
    assert_eq!(trials.len(), 1);
    assert_eq!(trials[0].id, "NCT00596999");
    // And the other way round: the richer NCI-only record takes the NCT id.
    let (first, _) = read_bytes("x", &full, None).unwrap();
    let mut nci_only: serde_json::Value = serde_json::from_slice(&full).unwrap();
    nci_only["nct_id"] = serde_json::Value::Null;
    let poor = format!(
        r#"{{"nct_id":"NCT00596999","nci_id":"NCI-2015-00045","brief_title":"{}"}}"#,
        first[0].title
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), poor).unwrap();
    std::fs::write(dir.path().join("b.json"), nci_only.to_string()).unwrap();
    let (trials, _) = read_dir(dir.path(), None).unwrap();
    assert_eq!(
        trials.len(),
        1,
        "{:?}",
        trials.iter().map(|t| &t.id).collect::<Vec<_>>()
    );
    assert_eq!(trials[0].id, "NCT00596999");
    assert!(trials[0].other_ids.contains(&"NCI-2015-00045".to_string()));
    assert_eq!(trials[0].sites.len(), 1);
    assert_eq!(
        trials[0].url,
        "https://clinicaltrials.gov/study/NCT00596999"
    );
}

// ---- bad input ----------------------------------------------------------

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn nothing_readable_is_a_clean_error() {
    for bad in [
        &b""[..],
        b"   \n\t ",
        b"{}",
        b"[]",
        b"[1, 2]",
        b"\"a JSON string\"",
        b"42",
        b"null",
        b"true",
        b"<html><body>Service Unavailable</body></html>",
        b"{\"resourceType\": \"Bundle\", \"entry\": []}",
        b"{\"total\": 0, \"terms\": []}",
        b"{\"data\": [{\"name\": \"Breast Cancer\", \"codes\": [\"C4872\"]}]}",
        b"{\"studies\": 5}",
        b"{\"a\":1}\n{\"b\":2}\n",
        b"\x1f\x8b\x08\x00garbage",
    ] {
        match read_bytes("bad", bad, None) {
            Err(TrialsError::Unrecognized { path, why }) => {
                assert_eq!(path, "bad");
                assert!(!why.is_empty());
            }
            Err(TrialsError::Malformed { path, .. }) => assert_eq!(path, "bad"),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bad)),
        }
    }
}

#[test]
fn truncated_json_is_malformed_wherever_it_is_cut() {
    let full = std::fs::read(fixtures().join("ctgov_study_NCT02513394.json")).unwrap();
    for cut in (1..full.len() - 1).step_by(97) {
        match read_bytes("cut", &full[..cut], None) {
            Err(TrialsError::Malformed { format, .. }) => assert_eq!(format, "JSON"),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    // Gzip cut short.
    let gz = gzip(&full);
    assert!(matches!(
        read_bytes("cut.gz", &gz[..gz.len() / 2], None),
        Err(TrialsError::Malformed { format: "gzip", .. })
    ));
    // Whole, gzipped, it reads.
    let (t, _) = read_bytes("whole.gz", &gz, None).unwrap();
    assert_eq!(t[0].id, "NCT02513394");
}

#[test]
fn wrong_types_become_issues() {
    // Numbers where text is expected, everywhere.
    let json = r#"{"protocolSection": {
        "identificationModule": {"nctId": "NCT01234567", "briefTitle": 5,
            "secondaryIdInfos": [7, {"id": 8}]},
        "statusModule": {"overallStatus": 1, "lastUpdateSubmitDate": 20230613},
        "descriptionModule": {"briefSummary": ["a"]},
        "conditionsModule": {"conditions": [1, 2, "Breast Cancer"]},
        "armsInterventionsModule": {"interventions": "Palbociclib"},
        "designModule": {"studyType": {}, "phases": 3, "designInfo": 4},
        "eligibilityModule": {"eligibilityCriteria": 9, "sex": 0,
            "minimumAge": true, "maximumAge": "forty"},
        "contactsLocationsModule": {"locations": [{"facility": 1}, "x"]}
    }}"#;
    let (trials, issues) = read_bytes("typed", json.as_bytes(), Some("2024-01-02")).unwrap();
    assert_eq!(trials.len(), 1);
    let t = &trials[0];
    assert_eq!(t.id, "NCT01234567");
    assert_eq!(t.title, "NCT01234567", "the id stands in for the title");
    assert_eq!(t.conditions, ["Breast Cancer"]);
    assert_eq!(t.eligibility, Eligibility::None);
    assert_eq!(t.source.data_date.as_deref(), Some("2024-01-02"));
    assert!(t.interventions.is_empty() && t.sites.is_empty() && t.phases.is_empty());
    assert!(t.sex.is_none() && t.min_age.is_none() && t.max_age.is_none());
    let text = issues
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    for field in [
        "briefTitle",
        "no title",
        "overallStatus",
        "lastUpdateSubmitDate",
        "briefSummary",
        "conditions",
        "interventions",
        "studyType",
        "phases",
        "designInfo",
        "eligibilityCriteria",
        "sex",
        "minimumAge",
        "maximumAge",
        "locations",
        "secondaryIdInfos",
    ] {
        assert!(text.contains(field), "no issue names {field}:\n{text}");
    }
    assert!(issues.iter().all(|i| i.at.contains("typed")));

    // An id that is not text, or no id: the record is skipped.
    for json in [
        r#"{"protocolSection": {"identificationModule": {"nctId": 12345678}}}"#,
        r#"{"protocolSection": 5}"#,
        r#"{"protocolSection": {}}"#,
        r#"{"nctid": "NCT 0123 4567", "title": "spaces"}"#,
        r#"{"nci_id": null, "nct_id": "", "brief_title": "x"}"#,
    ] {
        let (trials, issues) = read_bytes("noid", json.as_bytes(), None).unwrap();
        assert!(trials.is_empty(), "{json}");
        assert!(
            issues.iter().any(|i| i.message.contains("skipped")),
            "{json}: {issues:?}"
        );
    }

    // NCI CTS with odd criteria: a side that is not said is left out.
    let json = r#"{"nci_id": "NCI-2020-00001", "brief_title": "T",
        "eligibility": {"unstructured": [
            {"inclusion_indicator": "maybe", "display_order": 1, "description": "a"},
            {"inclusion_indicator": false, "display_order": 3, "description": "c"},
            {"inclusion_indicator": true, "display_order": 2, "description": "b"},
            {"inclusion_indicator": true, "description": 4}],
          "structured": {"min_age_in_years": -3, "max_age": "65 Years", "sex": "robot"}},
        "diseases": "none", "sites": [{"org_city": "X"}]}"#;
    let (trials, issues) = read_bytes("nci", json.as_bytes(), None).unwrap();
    let t = &trials[0];
    assert_eq!(t.id, "NCI-2020-00001");
    assert!(t.url.contains("cancer.gov"));
    let items = listed(t);
    assert_eq!(
        items
            .iter()
            .map(|c| (c.inclusion, c.text.as_str()))
            .collect::<Vec<_>>(),
        [(true, "b"), (false, "c")]
    );
    assert_eq!((t.min_age, t.max_age, t.sex), (None, Some(65.0), None));
    let text = format!("{issues:?}");
    for needle in [
        "do not say inclusion",
        "min_age_in_years",
        "robot",
        "diseases",
        "org_name",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[test]
fn absurd_sizes_are_cut_with_an_issue() {
    let criteria = "Inclusion Criteria:\n* Age ≥ 18 years\n".repeat(30_000); // ~1 MB
    let json = serde_json::json!({
        "nctid": "NCT01234567",
        "title": "t".repeat(10_000),
        "raw_criteria": criteria,
        "condition": vec!["Cancer"; 30_000],
    });
    let (trials, issues) = read_bytes("big", json.to_string().as_bytes(), None).unwrap();
    let t = &trials[0];
    let Eligibility::Text(text) = &t.eligibility else {
        panic!()
    };
    assert!(
        text.len() <= 200 * 1024 && text.len() > 190 * 1024,
        "{}",
        text.len()
    );
    assert!(text.starts_with("Inclusion Criteria:"));
    assert!(t.title.len() <= 4096);
    assert_eq!(t.conditions, ["Cancer"]);
    let text = format!("{issues:?}");
    assert!(
        text.contains("raw_criteria") && text.contains("cut"),
        "{text}"
    );
    assert!(
        text.contains("title") && text.contains("condition"),
        "{text}"
    );
}

#[test]
fn control_characters_are_stripped() {
    let json = "{\"nctid\": \"NCT01234567\", \"title\": \"A\\u0000B\\u001b[31mC\\u0007\\r\", \
                \"raw_criteria\": \"Inclusion Criteria:\\r\\n\\t* one\\u0085\\n\"}";
    let (trials, _) = read_bytes("ctl", json.as_bytes(), None).unwrap();
    assert_eq!(trials[0].title, "AB[31mC");
    assert_eq!(
        trials[0].eligibility,
        Eligibility::Text("Inclusion Criteria:\n * one".into())
    );
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for deep in [
        "[".repeat(200_000),
        "{\"a\":".repeat(200_000),
        format!("{{\"studies\": {}", "[".repeat(100_000)),
        format!("{}{}", "[".repeat(5_000), "]".repeat(5_000)),
    ] {
        match read_bytes("deep", deep.as_bytes(), None) {
            Err(TrialsError::Malformed { .. } | TrialsError::Unrecognized { .. }) => {}
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn gzip_bombs_are_bounded() {
    // 100 MiB of zeros packs into about 100 KB.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1024 * 1024];
    for _ in 0..100 {
        e.write_all(&zeros).unwrap();
    }
    let bomb = e.finish().unwrap();
    assert!(bomb.len() < 1024 * 1024);
    match read_bytes("bomb.gz", &bomb, None) {
        Err(TrialsError::TooLarge { limit, size, .. }) => {
            assert_eq!(limit, MAX_TRIAL_BYTES * 8);
            assert!(size > limit);
        }
        other => panic!("{other:?}"),
    }
    // Gzip inside gzip is refused, not unpacked again.
    let double = gzip(&gzip(b"{\"nctid\": \"NCT01234567\"}"));
    assert!(matches!(
        read_bytes("double.gz", &double, None),
        Err(TrialsError::Unrecognized { .. })
    ));
}

#[test]
fn invalid_utf8_is_replaced_with_an_issue() {
    let mut bytes = b"{\"nctid\": \"NCT01234567\", \"title\": \"Caf".to_vec();
    bytes.extend_from_slice(b"\xe9 \xff\xfe study\"}");
    let (trials, issues) = read_bytes("latin1", &bytes, None).unwrap();
    assert_eq!(trials[0].title, "Caf\u{fffd} \u{fffd}\u{fffd} study");
    assert!(issues[0].message.contains("UTF-8"), "{issues:?}");
    // A BOM is fine.
    let (trials, issues) =
        read_bytes("bom", b"\xEF\xBB\xBF{\"nctid\": \"NCT01234567\"}", None).unwrap();
    assert_eq!(trials.len(), 1);
    assert_eq!(issues.len(), 1, "only the missing title: {issues:?}");
}

#[test]
fn json_lines_and_lists_read_record_by_record() {
    let jsonl = concat!(
        "{\"nct_id\": \"NCT00000001\", \"nci_id\": \"NCI-2020-00001\", \"brief_title\": \"One\"}\n",
        "{\"nct_id\": \"NCT00000002\", \"brief_title\": \"Two\"\n",
        "\n",
        "[1]\n",
        "{\"nctid\": \"NCT00000003\", \"title\": \"Three\"}\r\n",
    );
    let (trials, issues) = read_bytes("l.jsonl", jsonl.as_bytes(), None).unwrap();
    assert_eq!(
        trials.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["NCT00000001", "NCT00000003"]
    );
    assert_eq!(
        issues.iter().map(|i| i.at.as_str()).collect::<Vec<_>>(),
        ["l.jsonl:2", "l.jsonl:4"]
    );
    // Gzipped too.
    let (trials, _) = read_bytes("l.jsonl.gz", &gzip(jsonl.as_bytes()), None).unwrap();
    assert_eq!(trials.len(), 2);

    let list = r#"[{"nctid": "NCT00000001", "title": "A"}, 5, {"x": 1}]"#;
    let (trials, issues) = read_bytes("list", list.as_bytes(), None).unwrap();
    assert_eq!(trials.len(), 1);
    assert_eq!(issues.len(), 2, "{issues:?}");

    // Search answers: CT.gov page, NCI `data` and v1 `trials`, empty pages.
    for (json, n) in [
        (
            r#"{"studies": [{"protocolSection": {"identificationModule": {"nctId": "NCT00000001", "briefTitle": "A"}}}]}"#,
            1,
        ),
        (
            r#"{"total": 1, "data": [{"nct_id": "NCT00000001", "brief_title": "A"}]}"#,
            1,
        ),
        (
            r#"{"total": 1, "trials": [{"nci_id": "NCI-2020-00001", "brief_title": "A"}]}"#,
            1,
        ),
        (r#"{"studies": []}"#, 0),
        (r#"{"total": 0, "data": []}"#, 0),
    ] {
        let (trials, issues) = read_bytes("page", json.as_bytes(), None).unwrap();
        assert_eq!(trials.len(), n, "{json}");
        assert!(issues.is_empty(), "{json}: {issues:?}");
    }
}

#[test]
fn data_dates() {
    let rec = r#"{"nctid": "NCT01234567", "title": "A"}"#;
    let (t, i) = read_bytes("d", rec.as_bytes(), Some("2024-02-30T00:00:00Z")).unwrap();
    assert_eq!(t[0].source.data_date.as_deref(), Some("2024-02-30"));
    assert!(i.is_empty());
    let (t, i) = read_bytes("d", rec.as_bytes(), Some("last week")).unwrap();
    assert_eq!(t[0].source.data_date, None);
    assert!(i[0].message.contains("last week"), "{i:?}");
    let (t, _) = read_bytes("d", rec.as_bytes(), None).unwrap();
    assert_eq!(t[0].source.data_date, None);
    // NCI: the newest of the record's dates; a bad one is an issue.
    let rec = r#"{"nci_id": "NCI-2020-00001", "brief_title": "A",
        "record_verification_date": "2021-08-16", "current_trial_status_date": "2021-09-01",
        "date_last_updated_anything": "yesterday"}"#;
    let (t, i) = read_bytes("d", rec.as_bytes(), Some("2030-01-01")).unwrap();
    assert_eq!(t[0].source.data_date.as_deref(), Some("2021-09-01"));
    assert!(i[0].message.contains("date_last_updated_anything"), "{i:?}");
}

#[test]
fn files_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    // Too large: refused before reading.
    let big = dir.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MAX_TRIAL_BYTES + 1)
        .unwrap();
    assert!(matches!(
        read_file(&big, None),
        Err(TrialsError::TooLarge { size, .. }) if size == MAX_TRIAL_BYTES + 1
    ));
    assert!(matches!(
        read_file(&dir.path().join("missing.json"), None),
        Err(TrialsError::Io { .. })
    ));
    assert!(matches!(
        read_dir(&dir.path().join("missing"), None),
        Err(TrialsError::Io { .. })
    ));
    // Nested folders, names in any case; other files are not read.
    let sub = dir.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("T.JSON"),
        r#"{"nctid": "NCT00000002", "title": "B"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("t.json.gz"),
        gzip(br#"{"nctid": "NCT00000001", "title": "A"}"#),
    )
    .unwrap();
    std::fs::write(dir.path().join("SOURCE.md"), "# not a trial").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "{}").unwrap();
    std::fs::write(dir.path().join("bad.json"), "{").unwrap();
    let (trials, issues) = read_dir(dir.path(), None).unwrap();
    let mut ids: Vec<&str> = trials.iter().map(|t| t.id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, ["NCT00000001", "NCT00000002"]);
    // big.json and bad.json.
    assert_eq!(issues.len(), 2, "{issues:#?}");
    assert!(issues.iter().any(|i| i.at.ends_with("bad.json")));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_bytes("p", &bytes, Some("2024-01-01"));
    }

    #[test]
    fn arbitrary_json_never_panics(
        id in "(NCT[0-9]{8}|NCI-20[0-9]{2}-[0-9]{5}|[ -~]{0,12})",
        text in "\\PC{0,40}",
        n in any::<i64>(),
        which in 0..4usize,
    ) {
        let json = match which {
            0 => serde_json::json!({"nctid": id, "title": text, "minimum_age": text, "sex": n, "phases": [text, n]}),
            1 => serde_json::json!({"protocolSection": {"identificationModule": {"nctId": id, "briefTitle": n},
                "eligibilityModule": {"eligibilityCriteria": text, "minimumAge": n, "maximumAge": text},
                "statusModule": {"lastUpdateSubmitDate": text}}}),
            2 => serde_json::json!({"nci_id": id, "brief_title": text, "record_verification_date": text,
                "eligibility": {"unstructured": [{"inclusion_indicator": text, "display_order": n, "description": text}],
                    "structured": {"min_age_in_years": n, "max_age": text}},
                "diseases": [{"name": text, "inclusion_indicator": text}], "sites": [{"org_name": n}]}),
            _ => serde_json::json!({"total": n, "data": [{"nct_id": id, "brief_title": text}], "studies": text}),
        };
        let bytes = json.to_string().into_bytes();
        if let Ok((trials, _)) = read_bytes("p", &bytes, Some("2024-01-01")) {
            for t in trials {
                prop_assert!(!t.id.is_empty() && !t.title.is_empty());
                prop_assert!(t.min_age.is_none_or(|a| a.is_finite() && a >= 0.0));
            }
        }
        // Cut anywhere, it never panics either.
        for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
            let _ = read_bytes("p", &bytes[..cut], None);
        }
    }
}
