//! FHIR R4 JSON → profile facts: a Bundle (any type), a single resource, or
//! NDJSON. mCODE profiles are read by their `meta.profile`; plain FHIR as
//! Synthea writes it by codes (SNOMED, LOINC, RxNorm) and display text.
//!
//! Resources of types that carry nothing for the profile (Encounter, Claim,
//! vital-sign Observations...) are skipped without an issue; a resource
//! without `resourceType`, or one whose parts are not where FHIR puts them,
//! is an issue, and the rest is still read.

use serde_json::Value;
use sextant_core::Issue;

use crate::profile::{
    add, Biomarker, Cancer, Code, Fact, Method, Performance, Profile, Provenance, Site, Stage,
    Treatment, TreatmentKind,
};
use crate::vocab::{
    coded_result, histology_of, icd10_site, is_cancer, is_cancer_drug, is_icd10, is_secondary,
    laterality, marker_name, procedure_by_code, secondary_site, site_from_name, type_id, untag,
    ProcedureKind, MARKER_CODES, RADIATION_WORDS, STAGING, SURGERY_WORDS,
};
use crate::{RecordsError, Result};

/// Bundles nest at most this deep (a Bundle of Bundles is legal FHIR).
const MAX_DEPTH: usize = 4;

/// Reads FHIR JSON (a Bundle, a resource, or NDJSON) into a profile.
pub fn read(name: &str, bytes: &[u8]) -> Result<Profile> {
    let mut profile = Profile::default();
    let mut parts = Vec::new();
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => read_value(name, &v, &mut profile, &mut parts, 0),
        Err(whole) => {
            // NDJSON: one resource per line. Only when the first line is a
            // JSON object on its own; otherwise the file is malformed JSON.
            let text = String::from_utf8_lossy(bytes);
            let mut lines = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty());
            let first_ok = lines
                .clone()
                .next()
                .is_some_and(|(_, l)| serde_json::from_str::<Value>(l).is_ok());
            if !first_ok {
                return Err(RecordsError::Malformed {
                    path: name.to_string(),
                    format: "JSON",
                    detail: whole.to_string(),
                });
            }
            for (i, line) in lines.by_ref() {
                match serde_json::from_str::<Value>(line) {
                    Ok(v) => read_value(name, &v, &mut profile, &mut parts, 0),
                    Err(e) => profile.issues.push(Issue::new(
                        format!("{name}:{}", i + 1),
                        format!("not a JSON resource, skipped: {e}"),
                    )),
                }
            }
        }
    }
    combine_stage_parts(parts, &mut profile);
    profile.fold_stages();
    profile.find_conflicts();
    Ok(profile)
}

/// One staging observation (a group, or a T, N or M category), kept until
/// the whole file is read so that the parts of one staging are one stage.
struct StagePart {
    /// Parts of one staging share their kind, date and the condition they
    /// stage.
    key: (Option<String>, Option<String>, Option<String>),
    stage: Stage,
    prov: Provenance,
}

/// Joins the group and the T, N and M categories of one staging (same
/// kind, date and condition, as mCODE's stage group and its `hasMember`
/// categories are) into one stage; parts that would overwrite one another
/// stay apart.
fn combine_stage_parts(parts: Vec<StagePart>, p: &mut Profile) {
    let mut joined: Vec<(StagePart, Vec<Provenance>)> = Vec::new();
    for part in parts {
        let slots = |s: &Stage| [s.group.clone(), s.t.clone(), s.n.clone(), s.m.clone()];
        let fits = joined.iter_mut().find(|(j, _)| {
            j.key == part.key
                && j.stage.system == part.stage.system
                && slots(&j.stage)
                    .iter()
                    .zip(slots(&part.stage).iter())
                    .all(|(a, b)| a.is_none() || b.is_none())
        });
        match fits {
            Some((j, provs)) => {
                let s = part.stage;
                j.stage.group = j.stage.group.take().or(s.group);
                j.stage.t = j.stage.t.take().or(s.t);
                j.stage.n = j.stage.n.take().or(s.n);
                j.stage.m = j.stage.m.take().or(s.m);
                provs.push(part.prov);
            }
            None => joined.push((part, Vec::new())),
        }
    }
    for (j, provs) in joined {
        let mut fact = Fact::new(j.stage, j.prov);
        fact.provenance.extend(provs);
        add(&mut p.stages, fact);
    }
}

fn read_value(name: &str, v: &Value, p: &mut Profile, parts: &mut Vec<StagePart>, depth: usize) {
    let Some(rt) = v.get("resourceType").and_then(Value::as_str) else {
        // A Bundle entry on its own (`fullUrl` and `resource`).
        if let Some(r) = v
            .get("resource")
            .filter(|r| r.get("resourceType").is_some())
        {
            if depth < MAX_DEPTH {
                read_value(name, r, p, parts, depth + 1);
                return;
            }
        }
        p.issues.push(Issue::new(
            name,
            "a JSON object without resourceType is not FHIR, skipped",
        ));
        return;
    };
    if rt == "Bundle" {
        if depth >= MAX_DEPTH {
            p.issues
                .push(Issue::new(name, "Bundles nested too deep, skipped"));
            return;
        }
        let entries = v.get("entry").and_then(Value::as_array);
        for (i, e) in entries.into_iter().flatten().enumerate() {
            match e.get("resource") {
                Some(r) => read_value(name, r, p, parts, depth + 1),
                None => p.issues.push(Issue::new(
                    format!("{name} Bundle entry {i}"),
                    "entry without a resource, skipped",
                )),
            }
        }
        return;
    }
    let r = Res { name, v, rt };
    match rt {
        "Patient" => patient(&r, p),
        "Condition" => condition(&r, p),
        "Observation" => observation(&r, p, parts),
        "MedicationStatement" | "MedicationRequest" | "MedicationAdministration" => {
            medication(&r, p)
        }
        "Procedure" => procedure(&r, p),
        _ => {}
    }
}

/// A resource being read, for provenance.
struct Res<'a> {
    name: &'a str,
    v: &'a Value,
    rt: &'a str,
}

impl Res<'_> {
    fn id(&self) -> &str {
        self.v.get("id").and_then(Value::as_str).unwrap_or("?")
    }

    fn prov(&self, element: &str) -> Provenance {
        Provenance {
            file: self.name.to_string(),
            locator: format!("{}/{} {element}", self.rt, self.id()),
            method: Method::Coded,
            excerpt: None,
        }
    }

    /// Whether the resource claims an mCODE profile whose name contains `part`.
    fn profile_has(&self, part: &str) -> bool {
        self.v
            .pointer("/meta/profile")
            .and_then(Value::as_array)
            .is_some_and(|ps| {
                ps.iter()
                    .filter_map(Value::as_str)
                    .any(|p| p.contains(part))
            })
    }

    fn str_at(&self, ptr: &str) -> Option<&str> {
        self.v.pointer(ptr).and_then(Value::as_str)
    }
}

/// One FHIR Coding (none without a code).
fn code_of(cd: &Value) -> Option<Code> {
    Some(Code {
        system: cd
            .get("system")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        code: cd.get("code")?.as_str()?.to_string(),
        display: cd
            .get("display")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// The first coding of a CodeableConcept, and its text.
fn concept(c: Option<&Value>) -> (Option<Code>, Option<String>) {
    let Some(c) = c else { return (None, None) };
    let coding = c
        .get("coding")
        .and_then(Value::as_array)
        .and_then(|cs| cs.first());
    let code = coding.and_then(code_of);
    let text = c
        .get("text")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| code.as_ref().and_then(|c| c.display.clone()));
    (code, text)
}

/// Every coding of a CodeableConcept.
fn codings(c: Option<&Value>) -> Vec<Code> {
    c.and_then(|c| c.get("coding"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(code_of)
        .collect()
}

/// FHIR's administrative genders.
const GENDERS: &[&str] = &["male", "female", "other", "unknown"];

fn patient(r: &Res, p: &mut Profile) {
    if let Some(g) = r.str_at("/gender") {
        if GENDERS.contains(&g) {
            add(&mut p.sex, Fact::new(g.to_string(), r.prov("gender")));
        } else {
            p.issues.push(Issue::new(
                format!("{} Patient/{}", r.name, r.id()),
                "gender is not a FHIR administrative gender (male, female, other, unknown), skipped",
            ));
        }
    }
    if let Some(b) = r.str_at("/birthDate") {
        add(
            &mut p.birth_date,
            Fact::new(b.to_string(), r.prov("birthDate")),
        );
    }
}

fn condition(r: &Res, p: &mut Profile) {
    let (code, text) = concept(r.v.get("code"));
    let all = codings(r.v.get("code"));
    // ICD-10 says primary (C00-C76, C80-C96) or secondary (C77-C79) by
    // code, whatever the display says.
    let icd: Vec<&Code> = all
        .iter()
        .filter(|c| is_icd10(&c.system) && c.code.starts_with('C'))
        .collect();
    let icd_secondary = icd.iter().find(|c| {
        c.code
            .get(1..3)
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (77..=79).contains(&n))
    });
    let icd_primary = icd.iter().find(|c| icd10_site(&c.code).is_some());
    let Some(display) = text.or_else(|| icd_primary.and_then(|c| c.display.clone())) else {
        return;
    };
    let secondary = r.profile_has("secondary-cancer-condition")
        || is_secondary(&display)
        || icd_secondary.is_some();
    let primary = r.profile_has("primary-cancer-condition")
        || (!secondary && (is_cancer(&display) || icd_primary.is_some()));
    if secondary {
        let (name, code) = match icd_secondary {
            Some(c) if !is_secondary(&display) => (
                c.display
                    .as_deref()
                    .map(secondary_site)
                    .unwrap_or_else(|| "unspecified site".into()),
                Some((*c).clone()),
            ),
            _ => (secondary_site(&display), code),
        };
        add(
            &mut p.metastatic_sites,
            Fact::new(Site { name, code }, r.prov("code")),
        );
        return;
    }
    if !primary {
        return;
    }
    let name = untag(&display);
    let (_, site) = concept(r.v.pointer("/bodySite/0"));
    let icd_site = icd_primary.and_then(|c| icd10_site(&c.code));
    // The site the body site states, else the one the ICD-10 code or the
    // name states ("... of upper-inner quadrant of right female breast").
    let site = site
        .map(|s| {
            untag(&s)
                .replace(" structure", "")
                .trim_end_matches(" (body structure)")
                .to_lowercase()
        })
        .or_else(|| icd_site.map(str::to_string))
        .or_else(|| site_from_name(&name));
    let lower = format!(
        "{} {}",
        name.to_lowercase(),
        site.clone().unwrap_or_default()
    );
    let laterality = laterality(&lower);
    let type_id = icd_site
        .and_then(|s| type_id(&format!("{s} cancer"), None))
        .or_else(|| type_id(&name, site.as_deref()));
    // mCODE's histology-morphology-behavior extension, else the name.
    let histology =
        r.v.get("extension")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|e| {
                e.get("url")
                    .and_then(Value::as_str)
                    .is_some_and(|u| u.contains("histology-morphology-behavior"))
            })
            .find_map(|e| concept(e.get("valueCodeableConcept")).1)
            .and_then(|h| histology_of(&h))
            .or_else(|| histology_of(&name));
    add(
        &mut p.primary_cancers,
        Fact::new(
            Cancer {
                type_id,
                name: name.clone(),
                histology,
                site,
                laterality,
                code,
            },
            r.prov("code"),
        ),
    );
    // The stage summarized on the condition.
    if let (_, Some(group)) = concept(r.v.pointer("/stage/0/summary")) {
        let group = stage_group(&group);
        add(
            &mut p.stages,
            Fact::new(
                Stage {
                    group: Some(group),
                    ..Stage::default()
                },
                r.prov("stage[0].summary"),
            ),
        );
    }
}

/// A stage group in Roman numerals with its letter: "4" → "IV", "Stage 2A"
/// → "IIA", "IIIB" stays.
pub fn stage_group(s: &str) -> String {
    let t = untag(s);
    let t = t
        .trim()
        .trim_start_matches("Stage")
        .trim_start_matches("stage")
        .trim();
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = &t[digits.len()..];
    let roman = match digits.as_str() {
        "0" => "0",
        "1" => "I",
        "2" => "II",
        "3" => "III",
        "4" => "IV",
        _ => return t.to_uppercase(),
    };
    format!("{roman}{}", rest.trim().to_uppercase())
}

/// Gene symbols of HGNC ids that oncology records use.
const HGNC: &[(&str, &str)] = &[
    ("HGNC:427", "ALK"),
    ("HGNC:1097", "BRAF"),
    ("HGNC:1100", "BRCA1"),
    ("HGNC:1101", "BRCA2"),
    ("HGNC:1582", "CCND1"),
    ("HGNC:3236", "EGFR"),
    ("HGNC:3430", "ERBB2"),
    ("HGNC:3467", "ESR1"),
    ("HGNC:3688", "FGFR1"),
    ("HGNC:6407", "KRAS"),
    ("HGNC:6973", "MDM2"),
    ("HGNC:7029", "MLH1"),
    ("HGNC:7325", "MSH2"),
    ("HGNC:7329", "MSH6"),
    ("HGNC:7989", "NRAS"),
    ("HGNC:8031", "NTRK1"),
    ("HGNC:8975", "PIK3CA"),
    ("HGNC:9122", "PMS2"),
    ("HGNC:9884", "RET"),
    ("HGNC:10261", "ROS1"),
    ("HGNC:11998", "TP53"),
];

/// A result's plain word: "Positive (qualifier value)" → "positive".
fn result_word(s: &str) -> String {
    untag(s).to_lowercase()
}

/// A coded value's words: its text or display, else the word of a SNOMED
/// qualifier value ("10828004" → "Positive"), else its code where the
/// code system is a staging one ("cT3" from cancerstaging.org).
fn value_words(c: Option<&Value>) -> Option<String> {
    let (code, text) = concept(c);
    text.or_else(|| {
        let code = code?;
        coded_result(&code.code)
            .map(str::to_string)
            .or_else(|| code.system.contains("cancerstaging").then_some(code.code))
    })
}

fn observation(r: &Res, p: &mut Profile, parts: &mut Vec<StagePart>) {
    let (code, text) = concept(r.v.get("code"));
    let loinc = code.as_ref().map(|c| c.code.as_str()).unwrap_or("");
    // Staging.
    if let Some((_, part, kind)) = STAGING.iter().find(|(c, _, _)| *c == loinc) {
        let value = value_words(r.v.get("valueCodeableConcept"));
        let Some(value) = value.or_else(|| r.str_at("/valueString").map(str::to_string)) else {
            return;
        };
        let (_, method) = concept(r.v.get("method"));
        let mut stage = Stage {
            kind: Some(kind.to_string()),
            system: method.map(|m| untag(&m)),
            ..Stage::default()
        };
        let value = untag(&value);
        match *part {
            "group" => stage.group = Some(stage_group(&value)),
            "t" => stage.t = Some(value),
            "n" => stage.n = Some(value),
            _ => stage.m = Some(value),
        }
        let date = r
            .str_at("/effectiveDateTime")
            .or_else(|| r.str_at("/effectivePeriod/start"))
            .map(|d| d.get(..10).unwrap_or(d).to_string());
        let focus = r.str_at("/focus/0/reference").map(str::to_string);
        parts.push(StagePart {
            key: (Some(kind.to_string()), date, focus),
            stage,
            prov: r.prov("valueCodeableConcept"),
        });
        return;
    }
    // Performance status.
    if loinc == "89247-1"
        || loinc == "89243-0"
        || r.profile_has("ecog")
        || r.profile_has("karnofsky")
    {
        let scale = if loinc == "89243-0" || r.profile_has("karnofsky") {
            "Karnofsky"
        } else {
            "ECOG"
        };
        let value =
            r.v.get("valueInteger")
                .and_then(Value::as_i64)
                .map(|v| v.to_string())
                .or_else(|| concept(r.v.get("valueCodeableConcept")).1);
        if let Some(value) = value {
            add(
                &mut p.performance,
                Fact::new(
                    Performance {
                        scale: scale.to_string(),
                        value,
                    },
                    r.prov("value"),
                ),
            );
        }
        return;
    }
    // Gene variants.
    if loinc == "69548-6" || r.profile_has("genetic-variant") || r.profile_has("genomic-variant") {
        variant(r, p);
        return;
    }
    // Tumor markers.
    let lower = text.as_deref().unwrap_or("").to_lowercase();
    let name = marker_name(Some(loinc), std::slice::from_ref(&lower));
    let by_code = MARKER_CODES.iter().any(|(c, _)| *c == loinc);
    let Some(name) = name.filter(|_| r.profile_has("tumor-marker") || !lower.is_empty() || by_code)
    else {
        return;
    };
    let result = if let Some(v) = value_words(r.v.get("valueCodeableConcept")) {
        Some((result_word(&v), "valueCodeableConcept"))
    } else if let Some(q) = r.v.get("valueQuantity") {
        q.get("value").map(|v| {
            // Two decimals at most: "2.994499852674521" is noise.
            let v = match v.as_f64() {
                Some(f) if f.fract() != 0.0 => format!("{}", (f * 100.0).round() / 100.0),
                _ => v.to_string(),
            };
            let unit = q.get("unit").and_then(Value::as_str).unwrap_or("");
            (
                format!(
                    "{v}{}{unit}",
                    if unit.is_empty() || unit == "%" {
                        ""
                    } else {
                        " "
                    }
                ),
                "valueQuantity",
            )
        })
    } else {
        r.str_at("/valueString")
            .map(|s| (s.to_lowercase(), "valueString"))
    };
    let Some((result, element)) = result else {
        return;
    };
    let (_, method) = concept(r.v.get("method"));
    add(
        &mut p.biomarkers,
        Fact::new(
            Biomarker {
                name: name.to_string(),
                result,
                variant: None,
                origin: None,
                detail: method.map(|m| untag(&m)),
                code,
            },
            r.prov(element),
        ),
    );
}

fn variant(r: &Res, p: &mut Profile) {
    let mut gene = None;
    let mut change = None;
    let mut protein = None;
    let mut origin = None;
    for c in
        r.v.get("component")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
    {
        let (cc, _) = concept(c.get("code"));
        let (vcode, vtext) = concept(c.get("valueCodeableConcept"));
        match cc.as_ref().map(|c| c.code.as_str()).unwrap_or("") {
            "48018-6" => {
                gene = vcode
                    .as_ref()
                    .and_then(|v| {
                        HGNC.iter()
                            .find(|(id, _)| *id == v.code)
                            .map(|(_, s)| s.to_string())
                    })
                    .or_else(|| {
                        vcode
                            .as_ref()
                            .map(|v| v.code.clone())
                            .filter(|c| !c.starts_with("HGNC"))
                    })
                    .or(vtext);
            }
            "48005-3" => {
                protein = vtext.or_else(|| {
                    c.get("valueString")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
            }
            "81290-9" | "48004-6" => {
                change = vtext.or_else(|| {
                    c.get("valueString")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
            }
            "48002-0" => origin = vtext.map(|t| result_word(&t)),
            _ => {}
        }
    }
    let Some(gene) = gene else {
        p.issues.push(Issue::new(
            format!("{} Observation/{}", r.name, r.id()),
            "a genetic variant without the gene studied (component 48018-6), skipped",
        ));
        return;
    };
    let (_, value) = concept(r.v.get("valueCodeableConcept"));
    let (_, interp) = concept(r.v.pointer("/interpretation/0"));
    add(
        &mut p.biomarkers,
        Fact::new(
            Biomarker {
                name: gene,
                result: value
                    .map(|v| result_word(&v))
                    .unwrap_or_else(|| "present".into()),
                variant: protein.or(change),
                origin,
                detail: interp.map(|i| untag(&i)),
                code: None,
            },
            r.prov("component"),
        ),
    );
}

fn medication(r: &Res, p: &mut Profile) {
    let (code, text) = concept(r.v.get("medicationCodeableConcept"));
    let Some(name) = text.or_else(|| r.str_at("/medicationReference/display").map(str::to_string))
    else {
        return;
    };
    let lower = name.to_lowercase();
    let cancer_related = r.profile_has("cancer-related") || is_cancer_drug(&lower);
    if !cancer_related {
        return;
    }
    let start = r
        .str_at("/effectiveDateTime")
        .or_else(|| r.str_at("/effectivePeriod/start"))
        .or_else(|| r.str_at("/authoredOn"))
        .map(str::to_string);
    let end = r.str_at("/effectivePeriod/end").map(str::to_string);
    add(
        &mut p.treatments,
        Fact::new(
            Treatment {
                kind: TreatmentKind::Medication,
                name: untag(&name),
                code,
                status: r.str_at("/status").map(str::to_string),
                start,
                end,
            },
            r.prov("medicationCodeableConcept"),
        ),
    );
}

fn procedure(r: &Res, p: &mut Profile) {
    let (code, text) = concept(r.v.get("code"));
    // A SNOMED code of a cancer surgery or radiation, for codes given
    // without a display.
    let known = codings(r.v.get("code"))
        .iter()
        .find_map(|c| procedure_by_code(&c.system, &c.code));
    let Some(name) = text.or_else(|| known.map(|(n, _)| n.to_string())) else {
        return;
    };
    let lower = name.to_lowercase();
    let radiation = RADIATION_WORDS.iter().any(|w| lower.contains(w))
        || r.profile_has("radiotherapy")
        || matches!(known, Some((_, ProcedureKind::Radiation)));
    let surgery = SURGERY_WORDS.iter().any(|w| lower.contains(w))
        || r.profile_has("cancer-related-surgical-procedure")
        || matches!(known, Some((_, ProcedureKind::Surgery)));
    let kind = match (radiation, surgery) {
        (true, _) => TreatmentKind::Radiation,
        (false, true) => TreatmentKind::Surgery,
        _ => return,
    };
    let start = r
        .str_at("/performedDateTime")
        .or_else(|| r.str_at("/performedPeriod/start"))
        .map(str::to_string);
    let end = r.str_at("/performedPeriod/end").map(str::to_string);
    add(
        &mut p.treatments,
        Fact::new(
            Treatment {
                kind,
                name: untag(&name),
                code,
                status: r.str_at("/status").map(str::to_string),
                start,
                end,
            },
            r.prov("code"),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_groups_are_roman() {
        assert_eq!(stage_group("4"), "IV");
        assert_eq!(stage_group("Stage 2A"), "IIA");
        assert_eq!(stage_group("IIIB"), "IIIB");
        assert_eq!(stage_group("IV (qualifier value)"), "IV");
    }

    #[test]
    fn malformed_json_is_an_error_naming_the_file_and_ndjson_keeps_good_lines() {
        let e = read("x.json", b"{\"resourceType\": \"Bundle\", ").unwrap_err();
        assert!(e.to_string().contains("x.json"), "{e}");
        let nd = b"{\"resourceType\":\"Patient\",\"id\":\"p\",\"gender\":\"female\"}\nnot json\n{\"resourceType\":\"Patient\",\"id\":\"q\",\"birthDate\":\"1960\"}\n";
        let p = read("x.ndjson", nd).unwrap();
        assert_eq!(p.sex.len(), 1);
        assert_eq!(p.birth_date.len(), 1);
        assert_eq!(p.issues.len(), 1);
        assert!(p.issues[0].at.ends_with(":2"), "{:?}", p.issues);
    }
}
