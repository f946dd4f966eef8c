//! FHIR R4/mCODE records: the exact expected profiles of the two mCODE
//! trial-matching patients and of the mcode-extraction-framework fixtures
//! (written by reading the files: `crates/eval/data/records-expected.json`),
//! the coded elements the reader understands, every mCODE fixture read
//! without a panic, and bad input refused with a clear error.

use std::path::{Path, PathBuf};

use sextant_records::{read_bytes, read_file, Method, RecordsError, MAX_RECORD_BYTES};

fn data() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    d.join("records").is_dir().then_some(d)
}

fn expected() -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../eval/data/records-expected.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn mcode_patients_give_exactly_the_expected_profiles() {
    let Some(data) = data() else { return };
    for case in expected()["profiles"].as_array().unwrap() {
        let mut profile = sextant_records::Profile::default();
        for f in case["files"].as_array().unwrap() {
            profile.merge(read_file(&data.join(f.as_str().unwrap())).unwrap());
        }
        let got: Vec<(String, String)> = profile
            .canonical_facts()
            .into_iter()
            .map(|(f, v)| (f.to_string(), v))
            .collect();
        let mut want: Vec<(String, String)> = case["facts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap().to_string(),
                    p[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        want.sort();
        let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
        let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{:?}\nmissing: {missing:#?}\nextra: {extra:#?}",
            case["files"]
        );
        assert!(profile.conflicts.is_empty(), "{:?}", profile.conflicts);
        // Issues only where the case says the file has parts that cannot
        // be read (an invalid gender).
        let issues = case["issues"].as_u64().unwrap_or(0) as usize;
        assert_eq!(profile.issues.len(), issues, "{:?}", profile.issues);
        // Every fact says where it came from, by resource and element.
        for b in &profile.biomarkers {
            let p = &b.provenance[0];
            assert_eq!(p.method, Method::Coded);
            assert!(p.locator.starts_with("Observation/"), "{}", p.locator);
        }
    }
}

fn facts(json: &str) -> Vec<(String, String)> {
    read_bytes("t.json", json.as_bytes())
        .unwrap()
        .canonical_facts()
        .into_iter()
        .map(|(f, v)| (f.to_string(), v))
        .collect()
}

fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter()
        .map(|(f, v)| (f.to_string(), v.to_string()))
        .collect()
}

#[test]
fn icd10_codes_say_primary_or_secondary_and_the_site() {
    // A secondary ICD-10 code (C77-C79) makes the condition a spread,
    // whatever its text says.
    let secondary = r#"{"resourceType":"Condition","id":"c","code":{"coding":[
        {"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"C79.51","display":"Secondary malignant neoplasm of bone"},
        {"system":"http://snomed.info/sct","code":"1","display":"Malignant neoplasm of breast"}],
        "text":"Malignant neoplasm of breast"}}"#;
    assert_eq!(facts(secondary), pairs(&[("metastasis", "bone")]));
    // A primary ICD-10 code gives the type and site when the display does
    // not, and a placeholder body site is no site.
    let primary = r#"{"resourceType":"Condition","id":"c","code":{"coding":[
        {"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"C02.0","display":"Some Cancer Condition"}]},
        "bodySite":[{"coding":[{"system":"http://snomed.info/sct","code":"example-site"}]}]}"#;
    assert_eq!(
        facts(primary),
        pairs(&[("cancer", "type=oral site=tongue")])
    );
    // Without a body site or ICD-10 code, the organ the name ends with.
    let named = r#"{"resourceType":"Condition","id":"c","code":{"coding":[
        {"system":"http://snomed.info/sct","code":"188152004","display":"Malignant neoplasm of upper-inner quadrant of female breast (disorder)"}],
        "text":"Malignant neoplasm of upper-inner quadrant of right female breast"}}"#;
    assert_eq!(
        facts(named),
        pairs(&[("cancer", "type=breast site=breast laterality=right")])
    );
}

#[test]
fn staging_parts_of_one_staging_are_one_stage() {
    let obs = |id: &str, loinc: &str, value: &str| {
        format!(
            r#"{{"resource":{{"resourceType":"Observation","id":"{id}","code":{{"coding":[{{"system":"http://loinc.org","code":"{loinc}"}}]}},
            "effectiveDateTime":"2020-01-01","focus":[{{"reference":"urn:uuid:cond-1"}}],
            "valueCodeableConcept":{{"coding":[{{"system":"http://cancerstaging.org","code":"{value}"}}]}}}}}}"#
        )
    };
    let bundle = format!(
        r#"{{"resourceType":"Bundle","entry":[{},{},{},{}]}}"#,
        obs("t", "21905-5", "cT3"),
        obs("m", "21907-1", "cM0"),
        obs("n", "21906-3", "cN3"),
        obs("g", "21908-9", "3C")
    );
    assert_eq!(
        facts(&bundle),
        pairs(&[("stage", "group=IIIC t=cT3 n=cN3 m=cM0")])
    );
    // Stagings of different dates stay apart.
    let two = format!(
        r#"{{"resourceType":"Bundle","entry":[{},{}]}}"#,
        obs("t", "21905-5", "cT3"),
        obs("t2", "21905-5", "cT2").replace("2020-01-01", "2021-01-01")
    );
    assert_eq!(
        facts(&two),
        pairs(&[("stage", "t=cT2"), ("stage", "t=cT3")])
    );
}

#[test]
fn codes_without_displays_are_read() {
    // A tumor marker known by its LOINC code, its result a SNOMED
    // qualifier value without a display.
    let marker = r#"{"resourceType":"Observation","id":"o","code":{"coding":[{"system":"http://loinc.org","code":"1695-6"}]},
        "valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"10828004"}]}}"#;
    assert_eq!(facts(marker), pairs(&[("biomarker", "5-HIAA positive")]));
    // A cancer surgery known by its SNOMED code.
    let surgery = r#"{"resourceType":"Procedure","id":"p","status":"completed","performedDateTime":"2020-01-01",
        "code":{"coding":[{"system":"http://snomed.info/sct","code":"173170008"}]}}"#;
    assert_eq!(
        facts(surgery),
        pairs(&[("surgery", "bilobectomy of lung completed 2020-01-01")])
    );
}

#[test]
fn invalid_genders_are_issues_and_lone_bundle_entries_are_read() {
    let p = read_bytes(
        "t.json",
        br#"{"resourceType":"Patient","id":"p","gender":"invalid-enum-value","birthDate":"1906-04-28"}"#,
    )
    .unwrap();
    assert!(p.sex.is_empty());
    assert_eq!(p.birth_date.len(), 1);
    assert_eq!(p.issues.len(), 1, "{:?}", p.issues);
    let entry = r#"{"fullUrl":"urn:uuid:b","resource":{"resourceType":"Bundle","entry":[
        {"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p","gender":"male"}}]}}"#;
    assert_eq!(facts(entry), pairs(&[("sex", "male")]));
}

/// Every JSON file under `dir`, recursively.
fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

#[test]
fn every_mcode_fixture_reads_without_panicking() {
    let Some(data) = data() else { return };
    let mut files = Vec::new();
    json_files(&data.join("records/mcode"), &mut files);
    assert!(files.len() >= 50, "{} files", files.len());
    let mut with_facts = 0;
    for f in &files {
        match read_file(f) {
            Ok(p) => with_facts += usize::from(!p.is_empty()),
            // Package manifests and configuration files are JSON but not FHIR.
            Err(RecordsError::Malformed { .. }) | Err(RecordsError::Unrecognized { .. }) => {}
            Err(e) => panic!("{}: {e}", f.display()),
        }
    }
    eprintln!(
        "{with_facts} of {} mCODE JSON files gave facts",
        files.len()
    );
    assert!(with_facts >= 20, "{with_facts}");
}

#[test]
fn bad_input_is_refused_clearly() {
    for (bytes, want) in [
        (&b"%PDF-1.7 ..."[..], "pdf"),
        (&b"\x00\x01\x02\x03\x04\x05\x06\x07\x00\x00"[..], "binary"),
        (&b"PK\x03\x04zipzip"[..], "archive"),
        (
            &b"{\"resourceType\": \"Bundle\", \"entry\": [ {"[..],
            "malformed",
        ),
    ] {
        let e = read_bytes("upload.bin", bytes).unwrap_err().to_string();
        assert!(
            e.contains("upload.bin") && e.to_lowercase().contains(want),
            "{e}"
        );
    }
    // JSON that is not FHIR, and FHIR of types the profile does not use.
    let p = read_bytes("x.json", b"{\"hello\": 1}").unwrap();
    assert!(p.is_empty() && p.issues.len() == 1, "{p:?}");
    let p = read_bytes(
        "x.json",
        b"{\"resourceType\": \"Encounter\", \"id\": \"e\"}",
    )
    .unwrap();
    assert!(p.is_empty() && p.issues.is_empty());
    // A file over the limit is refused before it is read.
    let dir = std::env::temp_dir().join(format!("sextant-records-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let big = dir.join("big.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(MAX_RECORD_BYTES + 1).unwrap();
    let e = read_file(&big).unwrap_err();
    assert!(matches!(e, RecordsError::TooLarge { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Arbitrary bytes, and arbitrary JSON-shaped FHIR, never panic.
    #[test]
    fn arbitrary_input_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
                                    rt in proptest::sample::select(vec!["Patient", "Condition", "Observation", "MedicationStatement", "Procedure", "Bundle"]),
                                    junk in "\\PC{0,80}") {
        let _ = read_bytes("fuzz", &bytes);
        let doc = format!(
            "{{\"resourceType\":\"{rt}\",\"id\":{junk:?},\"code\":{{\"coding\":[{{\"code\":{junk:?},\"display\":{junk:?}}}]}},\"valueCodeableConcept\":{{\"coding\":[{{\"display\":{junk:?}}}]}},\"component\":[{{\"code\":{{\"coding\":[{{\"code\":\"48018-6\"}}]}},\"valueCodeableConcept\":{{\"coding\":[{{\"code\":{junk:?}}}]}}}}],\"entry\":[{{\"resource\":{{\"resourceType\":\"Bundle\",\"entry\":[]}}}}]}}"
        );
        let _ = read_bytes("fuzz.json", doc.as_bytes());
    }
}
