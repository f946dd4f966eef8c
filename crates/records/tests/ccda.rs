//! The C-CDA reader: a hand-written document read fact by fact, the HL7
//! C-CDA examples (when present) read without panics, and hostile input.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use sextant_records::{
    ccda, Biomarker, Cancer, Code, Fact, FactStatus, Method, Profile, Provenance, RecordsError,
    Site, Treatment, TreatmentKind,
};

const SNOMED: &str = "http://snomed.info/sct";
const LOINC: &str = "http://loinc.org";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";

/// A small C-CDA document with one of each kind of entry, and some that
/// must not become facts.
const DOC: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:sdtc="urn:hl7-org:sdtc">
  <templateId root="2.16.840.1.113883.10.20.22.1.2"/>
  <recordTarget>
    <patientRole>
      <id root="2.16.840.1.113883.19.5" extension="12345"/>
      <patient>
        <name><given>Jane</given><family>Doe</family></name>
        <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
        <birthTime value="19590101"/>
      </patient>
    </patientRole>
  </recordTarget>
  <component>
    <structuredBody>
      <component>
        <section>
          <templateId root="2.16.840.1.113883.10.20.22.2.5.1"/>
          <code code="11450-4" codeSystem="2.16.840.1.113883.6.1"/>
          <title>Problems</title>
          <text><content ID="p1">Breast cancer, left</content></text>
          <entry>
            <act classCode="ACT" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.22.4.3"/>
              <code code="CONC" codeSystem="2.16.840.1.113883.5.6"/>
              <entryRelationship typeCode="SUBJ">
                <observation classCode="OBS" moodCode="EVN">
                  <templateId root="2.16.840.1.113883.10.20.22.4.4"/>
                  <code code="55607006" codeSystem="2.16.840.1.113883.6.96" displayName="Problem"/>
                  <effectiveTime><low value="20141201"/></effectiveTime>
                  <value xsi:type="CD" code="254837009" codeSystem="2.16.840.1.113883.6.96"
                      displayName="Malignant neoplasm of breast (disorder)">
                    <originalText><reference value="#p1"/></originalText>
                  </value>
                  <targetSiteCode code="80248007" codeSystem="2.16.840.1.113883.6.96"
                      displayName="Left breast structure (body structure)"/>
                </observation>
              </entryRelationship>
            </act>
          </entry>
          <entry>
            <act classCode="ACT" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.22.4.3"/>
              <entryRelationship typeCode="SUBJ">
                <observation classCode="OBS" moodCode="EVN" negationInd="true">
                  <templateId root="2.16.840.1.113883.10.20.22.4.4"/>
                  <value xsi:type="CD" code="93870000" codeSystem="2.16.840.1.113883.6.96"
                      displayName="Malignant neoplasm of liver (disorder)"/>
                </observation>
              </entryRelationship>
            </act>
          </entry>
          <entry>
            <act classCode="ACT" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.22.4.3"/>
              <entryRelationship typeCode="SUBJ">
                <observation classCode="OBS" moodCode="EVN">
                  <templateId root="2.16.840.1.113883.10.20.22.4.4"/>
                  <value xsi:type="CD" code="94381002" codeSystem="2.16.840.1.113883.6.96"
                      displayName="Secondary malignant neoplasm of liver (disorder)"/>
                </observation>
              </entryRelationship>
            </act>
          </entry>
          <entry>
            <act classCode="ACT" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.22.4.3"/>
              <entryRelationship typeCode="SUBJ">
                <observation classCode="OBS" moodCode="EVN">
                  <templateId root="2.16.840.1.113883.10.20.22.4.4"/>
                  <value xsi:type="CD" code="38341003" codeSystem="2.16.840.1.113883.6.96"
                      displayName="Hypertensive disorder"/>
                </observation>
              </entryRelationship>
            </act>
          </entry>
        </section>
      </component>
      <component>
        <section>
          <templateId root="2.16.840.1.113883.10.20.22.2.1.1"/>
          <code code="10160-0" codeSystem="2.16.840.1.113883.6.1"/>
          <title>Medications</title>
          <entry>
            <substanceAdministration classCode="SBADM" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.22.4.16"/>
              <statusCode code="active"/>
              <effectiveTime xsi:type="IVL_TS"><low value="20150301"/><high nullFlavor="UNK"/></effectiveTime>
              <effectiveTime xsi:type="PIVL_TS" operator="A"><period value="24" unit="h"/></effectiveTime>
              <consumable>
                <manufacturedProduct classCode="MANU">
                  <manufacturedMaterial>
                    <code code="198240" codeSystem="2.16.840.1.113883.6.88"
                        displayName="Tamoxifen 20 MG Oral Tablet"/>
                  </manufacturedMaterial>
                </manufacturedProduct>
              </consumable>
            </substanceAdministration>
          </entry>
          <entry>
            <substanceAdministration classCode="SBADM" moodCode="EVN">
              <statusCode code="active"/>
              <effectiveTime xsi:type="IVL_TS"><low value="2010"/></effectiveTime>
              <consumable>
                <manufacturedProduct classCode="MANU">
                  <manufacturedMaterial>
                    <code code="197361" codeSystem="2.16.840.1.113883.6.88"
                        displayName="Amlodipine 5 MG Oral Tablet"/>
                  </manufacturedMaterial>
                </manufacturedProduct>
              </consumable>
            </substanceAdministration>
          </entry>
        </section>
      </component>
      <component>
        <section>
          <templateId root="2.16.840.1.113883.10.20.22.2.3.1"/>
          <code code="30954-2" codeSystem="2.16.840.1.113883.6.1"/>
          <title>Results</title>
          <entry>
            <organizer classCode="BATTERY" moodCode="EVN">
              <component>
                <observation classCode="OBS" moodCode="EVN">
                  <code code="16112-5" codeSystem="2.16.840.1.113883.6.1"
                      displayName="Estrogen receptor [Presence] in Tissue"/>
                  <value xsi:type="CD" code="10828004" codeSystem="2.16.840.1.113883.6.96"
                      displayName="Positive (qualifier value)"/>
                </observation>
              </component>
              <component>
                <observation classCode="OBS" moodCode="EVN">
                  <code code="718-7" codeSystem="2.16.840.1.113883.6.1" displayName="Hemoglobin"/>
                  <value xsi:type="PQ" value="13.2" unit="g/dL"/>
                </observation>
              </component>
            </organizer>
          </entry>
        </section>
      </component>
      <component>
        <section>
          <templateId root="2.16.840.1.113883.10.20.22.2.7.1"/>
          <code code="47519-4" codeSystem="2.16.840.1.113883.6.1"/>
          <title>Procedures</title>
          <entry>
            <procedure classCode="PROC" moodCode="EVN">
              <templateId root="2.16.840.1.113883.10.20.22.4.14"/>
              <code code="172043006" codeSystem="2.16.840.1.113883.6.96"
                  displayName="Simple mastectomy (procedure)"/>
              <statusCode code="completed"/>
              <effectiveTime value="20150110"/>
            </procedure>
          </entry>
          <entry>
            <procedure classCode="PROC" moodCode="EVN">
              <statusCode code="completed"/>
              <effectiveTime value="yesterday"/>
            </procedure>
          </entry>
        </section>
      </component>
    </structuredBody>
  </component>
</ClinicalDocument>
"##;

fn at(locator: &str) -> Vec<Provenance> {
    at_file("jane.xml", locator)
}

fn at_file(file: &str, locator: &str) -> Vec<Provenance> {
    vec![Provenance {
        file: file.into(),
        locator: locator.into(),
        method: Method::Coded,
        excerpt: None,
    }]
}

fn fact<T>(value: T, locator: &str) -> Fact<T> {
    Fact {
        value,
        provenance: at(locator),
        status: FactStatus::Extracted,
    }
}

fn code(system: &str, code: &str, display: &str) -> Option<Code> {
    Some(Code {
        system: system.into(),
        code: code.into(),
        display: Some(display.into()),
    })
}

#[test]
fn a_small_document_gives_exactly_its_facts() {
    let p = ccda::read("jane.xml", DOC.as_bytes()).unwrap();
    let header = "recordTarget/patientRole/patient";
    assert_eq!(
        p.sex,
        vec![fact(
            "female".to_string(),
            &format!("{header} administrativeGenderCode")
        )]
    );
    assert_eq!(
        p.birth_date,
        vec![fact(
            "1959-01-01".to_string(),
            &format!("{header} birthTime")
        )]
    );
    assert_eq!(
        p.primary_cancers,
        vec![fact(
            Cancer {
                type_id: Some("breast".into()),
                name: "Malignant neoplasm of breast".into(),
                histology: None,
                site: Some("left breast".into()),
                laterality: Some("left".into()),
                code: code(
                    SNOMED,
                    "254837009",
                    "Malignant neoplasm of breast (disorder)"
                ),
            },
            "section Problems, entry 1",
        )]
    );
    assert_eq!(
        p.metastatic_sites,
        vec![fact(
            Site {
                name: "liver".into(),
                code: code(
                    SNOMED,
                    "94381002",
                    "Secondary malignant neoplasm of liver (disorder)"
                ),
            },
            "section Problems, entry 3",
        )]
    );
    assert_eq!(
        p.biomarkers,
        vec![fact(
            Biomarker {
                name: "ER".into(),
                result: "positive".into(),
                variant: None,
                origin: None,
                detail: None,
                code: code(LOINC, "16112-5", "Estrogen receptor [Presence] in Tissue"),
            },
            "section Results, entry 1",
        )]
    );
    assert_eq!(
        p.treatments,
        vec![
            fact(
                Treatment {
                    kind: TreatmentKind::Medication,
                    name: "Tamoxifen 20 MG Oral Tablet".into(),
                    code: code(RXNORM, "198240", "Tamoxifen 20 MG Oral Tablet"),
                    status: Some("active".into()),
                    start: Some("2015-03-01".into()),
                    end: None,
                },
                "section Medications, entry 1",
            ),
            fact(
                Treatment {
                    kind: TreatmentKind::Surgery,
                    name: "Simple mastectomy".into(),
                    code: code(SNOMED, "172043006", "Simple mastectomy (procedure)"),
                    status: Some("completed".into()),
                    start: Some("2015-01-10".into()),
                    end: None,
                },
                "section Procedures, entry 1",
            ),
        ]
    );
    assert!(p.stages.is_empty() && p.grades.is_empty() && p.performance.is_empty());
    assert!(p.conflicts.is_empty());
    // The procedure without a code is the one odd part.
    let issues: Vec<String> = p.issues.iter().map(|i| i.to_string()).collect();
    assert_eq!(
        issues,
        vec!["jane.xml section Procedures, entry 2: a procedure without a code or a name, skipped"]
    );
}

#[test]
fn odd_entries_become_issues_and_the_rest_is_read() {
    let doc = DOC
        .replace(
            r#"<birthTime value="19590101"/>"#,
            r#"<birthTime value="1959-01-01"/>"#,
        )
        .replace(r#"<low value="20150301"/>"#, r#"<low value="20151301"/>"#);
    let p = ccda::read("jane.xml", doc.as_bytes()).unwrap();
    assert!(p.birth_date.is_empty());
    assert_eq!(p.treatments[0].value.start, None);
    assert_eq!(p.treatments.len(), 2);
    let at: Vec<&str> = p.issues.iter().map(|i| i.at.as_str()).collect();
    assert_eq!(
        at,
        vec![
            "jane.xml recordTarget/patientRole/patient birthTime",
            "jane.xml section Medications, entry 1",
            "jane.xml section Procedures, entry 2",
        ]
    );
}

/// A document holding what the first one does not: a medicine given for a
/// cancer, a stage, a quantity, a text result, a radiation course, and a
/// section known by its templateId only.
const MORE: &str = r##"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <component><structuredBody>
    <component><section>
      <code code="11450-4" codeSystem="2.16.840.1.113883.6.1"/>
      <entry><act><entryRelationship typeCode="SUBJ"><observation>
        <templateId root="2.16.840.1.113883.10.20.22.4.4"/>
        <value xsi:type="CD" nullFlavor="OTH">
          <translation code="C18.9" codeSystem="2.16.840.1.113883.6.90" displayName="Malignant neoplasm of colon, unspecified"/>
        </value>
        <entryRelationship typeCode="SUBJ"><observation>
          <code code="21908-9" codeSystem="2.16.840.1.113883.6.1" displayName="Stage group.clinical Cancer"/>
          <value xsi:type="CD" code="IIIB" displayName="Stage 3B"/>
        </observation></entryRelationship>
      </observation></entryRelationship></act></entry>
    </section></component>
    <component><section>
      <templateId root="2.16.840.1.113883.10.20.22.2.1.1"/>
      <entry><substanceAdministration>
        <statusCode code="completed"/>
        <effectiveTime xsi:type="IVL_TS"><low value="20200102"/><high value="20200601"/></effectiveTime>
        <consumable><manufacturedProduct><manufacturedMaterial>
          <code code="6313" codeSystem="2.16.840.1.113883.6.88" displayName="leucovorin"/>
        </manufacturedMaterial></manufacturedProduct></consumable>
        <entryRelationship typeCode="RSON"><observation>
          <value xsi:type="CD" code="363406005" codeSystem="2.16.840.1.113883.6.96" displayName="Malignant neoplasm of colon"/>
        </observation></entryRelationship>
      </substanceAdministration></entry>
      <entry><substanceAdministration negationInd="true">
        <consumable><manufacturedProduct><manufacturedMaterial>
          <code code="1" displayName="oxaliplatin"/>
        </manufacturedMaterial></manufacturedProduct></consumable>
      </substanceAdministration></entry>
    </section></component>
    <component><section>
      <code code="30954-2" codeSystem="2.16.840.1.113883.6.1"/>
      <title>Lab
        results</title>
      <entry><observation>
        <code code="2039-6" codeSystem="2.16.840.1.113883.6.1" displayName="Carcinoembryonic Ag [Mass/volume] in Serum or Plasma"/>
        <value xsi:type="PQ" value="12.5" unit="ng/mL"/>
      </observation></entry>
      <entry><observation>
        <code code="X" displayName="MSI status"/>
        <value xsi:type="ST">High</value>
      </observation></entry>
    </section></component>
    <component><section>
      <code code="47519-4" codeSystem="2.16.840.1.113883.6.1"/>
      <entry><procedure>
        <code code="1" displayName="External beam radiation therapy"/>
        <effectiveTime><low value="202007"/><high value="202008"/></effectiveTime>
      </procedure></entry>
      <entry><procedure>
        <code code="2" displayName="Hemicolectomy"/>
        <statusCode code="nullified"/>
      </procedure></entry>
    </section></component>
  </structuredBody></component>
</ClinicalDocument>"##;

#[test]
fn indications_stages_quantities_and_radiation() {
    let p = ccda::read("more.xml", MORE.as_bytes()).unwrap();
    assert!(p.issues.is_empty(), "{:?}", p.issues);
    let cancers: Vec<(&str, Option<&str>)> = p
        .primary_cancers
        .iter()
        .map(|c| (c.value.name.as_str(), c.value.type_id.as_deref()))
        .collect();
    assert_eq!(
        cancers,
        vec![(
            "Malignant neoplasm of colon, unspecified",
            Some("colorectal")
        )]
    );
    assert_eq!(
        p.primary_cancers[0].value.code.as_ref().unwrap().system,
        "http://hl7.org/fhir/sid/icd-10-cm"
    );
    assert_eq!(p.stages.len(), 1);
    assert_eq!(p.stages[0].value.group.as_deref(), Some("IIIB"));
    assert_eq!(p.stages[0].value.kind.as_deref(), Some("clinical"));
    assert_eq!(
        p.stages[0].provenance,
        at_file("more.xml", "section 11450-4, entry 1")
    );
    let markers: Vec<(&str, &str)> = p
        .biomarkers
        .iter()
        .map(|b| (b.value.name.as_str(), b.value.result.as_str()))
        .collect();
    assert_eq!(markers, vec![("CEA", "12.5 ng/mL"), ("MSI", "high")]);
    assert_eq!(
        p.biomarkers[1].provenance,
        at_file("more.xml", "section Lab results, entry 2")
    );
    let treatments: Vec<(TreatmentKind, &str, Option<&str>, Option<&str>)> = p
        .treatments
        .iter()
        .map(|t| {
            let t = &t.value;
            (
                t.kind,
                t.name.as_str(),
                t.start.as_deref(),
                t.end.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        treatments,
        vec![
            (
                TreatmentKind::Medication,
                "leucovorin",
                Some("2020-01-02"),
                Some("2020-06-01")
            ),
            (
                TreatmentKind::Radiation,
                "External beam radiation therapy",
                Some("2020-07"),
                Some("2020-08")
            ),
        ]
    );
}

#[test]
fn malformed_xml_is_an_error_naming_the_file_and_the_place() {
    for bad in [
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><component>",
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n<a></b></ClinicalDocument>",
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">]><ClinicalDocument>&lol;</ClinicalDocument>",
    ] {
        match ccda::read("bad.xml", bad.as_bytes()) {
            Err(e @ RecordsError::Malformed { .. }) => {
                let text = e.to_string();
                assert!(text.starts_with("bad.xml: malformed C-CDA XML"), "{text}");
                assert!(text.contains(" at "), "{text}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
}

/// The HL7 C-CDA examples, when the shared data is here.
fn examples() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/records/ccda");
    dir.is_dir().then_some(dir)
}

fn xml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            xml_files(&path, out);
        } else if path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("xml"))
        {
            out.push(path);
        }
    }
}

fn read_example(path: &Path) -> Result<Profile, RecordsError> {
    let bytes = std::fs::read(path).unwrap();
    ccda::read(&path.display().to_string(), &bytes)
}

#[test]
fn every_example_is_read_without_panic() {
    let Some(dir) = examples() else { return };
    let mut files = Vec::new();
    xml_files(&dir, &mut files);
    files.sort();
    let (mut with_facts, mut malformed) = (0, 0);
    for path in &files {
        match read_example(path) {
            Ok(p) if !p.is_empty() => with_facts += 1,
            Ok(_) => {}
            Err(RecordsError::Malformed { .. }) => malformed += 1,
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
    println!(
        "C-CDA examples: {} files, {with_facts} with facts, {malformed} malformed (fragments)",
        files.len()
    );
    assert!(!files.is_empty());
}

#[test]
fn full_documents_with_problems_give_facts() {
    let Some(dir) = examples() else { return };
    let mut files = Vec::new();
    xml_files(&dir.join("Documents"), &mut files);
    files.sort();
    let mut read = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        if !text.contains("11450-4") && !text.contains("2.16.840.1.113883.10.20.22.2.5") {
            continue;
        }
        let p = read_example(path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.is_empty(), "{}: no facts", path.display());
        read += 1;
        if path.ends_with("Transfer Summary/Transfer_Summary.xml") {
            let names: Vec<&str> = p
                .primary_cancers
                .iter()
                .map(|c| c.value.name.as_str())
                .collect();
            assert_eq!(names, vec!["Malignant neoplasm of liver"]);
            assert_eq!(p.primary_cancers[0].value.type_id.as_deref(), Some("liver"));
        }
    }
    println!("C-CDA documents with problems: {read}");
}

fn skeleton(inner: &str) -> String {
    format!(
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">{inner}</ClinicalDocument>"
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn ok_or_malformed(r: Result<Profile, RecordsError>) -> Result<(), TestCaseError> {
    match r {
        Ok(_) | Err(RecordsError::Malformed { .. }) => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("unexpected error {e}"))),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_content_never_panics(s in ".{0,300}") {
        ok_or_malformed(ccda::read("p.xml", skeleton(&s).as_bytes()))?;
    }

    #[test]
    fn arbitrary_values_in_every_entry_never_panic(
        a in ".{0,40}",
        b in ".{0,40}",
        c in "[0-9+\\-.a-z]{0,16}",
        ty in "(CD|PQ|ST|ED|INT|IVL_TS|PIVL_TS|)",
    ) {
        let (a, b, c) = (escape(&a), escape(&b), escape(&c));
        let value = format!(r##"<value xsi:type="{ty}" code="{a}" displayName="{b}" value="{c}" unit="{a}"><originalText><reference value="#{a}"/>{b}</originalText><translation code="{b}" displayName="{a}"/></value>"##);
        let time = format!(r#"<effectiveTime xsi:type="{ty}" value="{c}"><low value="{c}"/><high value="{a}"/></effectiveTime>"#);
        let obs = format!(r#"<observation negationInd="{a}"><templateId root="2.16.840.1.113883.10.20.22.4.4"/><code code="{c}" displayName="{b}"/>{time}{value}<targetSiteCode displayName="{a}"/><methodCode displayName="{b}"/></observation>"#);
        let doc = skeleton(&format!(
            r#"<recordTarget><patientRole><patient><administrativeGenderCode code="{a}"/><birthTime value="{c}"/></patient></patientRole></recordTarget>
            <section><code code="11450-4"/><title>{b}</title><text><content ID="{a}">{b}</content></text><entry><act>{obs}</act></entry><entry>{obs}</entry></section>
            <section><code code="30954-2"/><entry><organizer><component>{obs}</component></organizer></entry><entry>{obs}</entry></section>
            <section><code code="10160-0"/><entry><substanceAdministration>{time}<statusCode code="{b}"/><consumable><manufacturedProduct><manufacturedMaterial><code code="{a}" displayName="{b} tamoxifen"/><name>{a}</name></manufacturedMaterial></manufacturedProduct></consumable><entryRelationship typeCode="RSON">{obs}</entryRelationship></substanceAdministration></entry></section>
            <section><code code="47519-4"/><entry><procedure><code displayName="{b} ectomy"/>{time}</procedure></entry><entry>{obs}</entry></section>"#
        ));
        ok_or_malformed(ccda::read("p.xml", doc.as_bytes()))?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut doc = skeleton("").into_bytes();
        let at = doc.len() / 2;
        doc.splice(at..at, bytes);
        ok_or_malformed(ccda::read("p.xml", &doc))?;
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let nested = |n: usize| {
        skeleton(&format!(
            "<!-- <a> --><x a='>'/>{}{}",
            "<a>".repeat(n),
            "</a>".repeat(n)
        ))
    };
    assert!(ccda::read("ok.xml", nested(100).as_bytes()).is_ok());
    match ccda::read("deep.xml", nested(1_000_000).as_bytes()) {
        Err(RecordsError::Malformed { path, detail, .. }) => {
            assert_eq!(path, "deep.xml");
            assert!(detail.starts_with("elements nested more than"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}
