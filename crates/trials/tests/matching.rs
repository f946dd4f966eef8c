//! Matching a trial's criteria against a profile: every judgement names
//! the fact that decided it or what is missing.

use sextant_records::{
    Biomarker, Cancer, Fact, Method, Performance, Profile, Provenance, Site, Treatment,
    TreatmentKind,
};
use sextant_trials::matching::{match_trial, Person, Status, TrialMatch, Verdict};
use sextant_trials::{Eligibility, Format, SexEligible, Trial, TrialSource};

fn src(what: &str) -> Provenance {
    Provenance {
        file: "note.txt".into(),
        locator: format!("chars 0..{}", what.len()),
        method: Method::TextPattern,
        excerpt: Some(what.into()),
    }
}

fn fact<T>(v: T, what: &str) -> Fact<T> {
    Fact::new(v, src(what))
}

fn drug(name: &str) -> Fact<Treatment> {
    fact(
        Treatment {
            kind: TreatmentKind::Medication,
            name: name.into(),
            code: None,
            status: None,
            start: None,
            end: None,
        },
        name,
    )
}

/// A 62-year-old woman with metastatic cervical squamous cell carcinoma,
/// PD-L1 CPS 5, ECOG 1, after carboplatin, paclitaxel and pembrolizumab.
fn cervical() -> Profile {
    let mut p = Profile::default();
    p.primary_cancers.push(fact(
        Cancer {
            type_id: Some("cervical".into()),
            name: "squamous cell carcinoma of the cervix".into(),
            histology: Some("squamous cell carcinoma".into()),
            site: Some("cervix".into()),
            laterality: None,
            code: None,
        },
        "squamous cell carcinoma of the cervix",
    ));
    p.metastatic_sites.push(fact(
        Site {
            name: "liver".into(),
            code: None,
        },
        "mets to liver",
    ));
    p.age.push(fact(62, "62-year-old"));
    p.sex.push(fact("female".to_string(), "woman"));
    p.performance.push(fact(
        Performance {
            scale: "ECOG".into(),
            value: "1".into(),
        },
        "ECOG 1",
    ));
    p.biomarkers.push(fact(
        Biomarker {
            name: "PD-L1".into(),
            result: "CPS 5".into(),
            variant: None,
            origin: None,
            detail: None,
            code: None,
        },
        "PD-L1 CPS 5",
    ));
    for d in ["carboplatin", "paclitaxel", "pembrolizumab"] {
        p.treatments.push(drug(d));
    }
    p
}

fn trial(id: &str, title: &str, conditions: &[&str], criteria: &str) -> Trial {
    let mut t = Trial::new(
        id,
        title,
        TrialSource {
            format: Format::TrialBench,
            origin: "test".into(),
            data_date: Some("2025-07-31".into()),
        },
    );
    t.conditions = conditions.iter().map(|c| c.to_string()).collect();
    t.eligibility = Eligibility::Text(criteria.into());
    t.purpose = Some("TREATMENT".into());
    t.min_age = Some(18.0);
    t
}

fn run(t: &Trial, p: &Profile) -> TrialMatch {
    match_trial(t, &Person::from_profile(p, 2026))
}

/// The checklist entry whose text contains `needle`.
fn check<'a>(m: &'a TrialMatch, needle: &str) -> &'a sextant_trials::matching::CheckedCriterion {
    m.checklist
        .iter()
        .find(|c| c.criterion.full_text().contains(needle))
        .unwrap_or_else(|| panic!("no criterion with {needle:?} in {:#?}", m.checklist))
}

#[test]
fn criteria_are_judged_with_the_deciding_fact() {
    let t = trial(
        "NCT00000001",
        "Drug X for recurrent or metastatic cervical cancer",
        &["Cervical Cancer"],
        "Inclusion Criteria:\n\n* Age >= 18 years\n* Histologically confirmed recurrent or metastatic cervical carcinoma\n* ECOG performance status 0-1\n* Must have received prior platinum-based chemotherapy\n* PD-L1 CPS >= 1\n\nExclusion Criteria:\n\n* Prior treatment with tisotumab vedotin\n* Untreated brain metastases\n* Pregnant or breastfeeding\n* Absolute neutrophil count < 1500/mm3",
    );
    let m = run(&t, &cervical());
    assert_eq!(check(&m, "Age >= 18").status, Status::Met);
    let ecog = check(&m, "ECOG");
    assert_eq!(ecog.status, Status::Met);
    assert!(ecog.reason.contains("ECOG 1"), "{}", ecog.reason);
    // The deciding fact carries its source.
    let ev = &ecog.aspects[0].evidence[0];
    assert_eq!(ev.sources[0].file, "note.txt");
    assert_eq!(check(&m, "cervical carcinoma").status, Status::Met);
    let platinum = check(&m, "platinum");
    assert_eq!(platinum.status, Status::Met);
    assert!(
        platinum.reason.contains("carboplatin"),
        "{}",
        platinum.reason
    );
    assert_eq!(check(&m, "PD-L1 CPS").status, Status::Met);
    // An exclusion that does not apply is met.
    assert_eq!(check(&m, "tisotumab").status, Status::Met);
    // Settled at screening, not held against the trial.
    let preg = check(&m, "Pregnant");
    assert_eq!(preg.status, Status::Unknown);
    assert!(preg.screening);
    assert!(check(&m, "neutrophil").screening);
    assert_eq!(m.verdict, Verdict::LikelyEligible, "{:#?}", m.reasons);
    assert!(m.as_of.contains("2025-07-31"));
    // Sites are shown as of the record's data date.
    let mut with_sites = t.clone();
    with_sites.sites = (0..12)
        .map(|i| sextant_trials::TrialSite {
            name: format!("Cancer Center {i}"),
            city: Some("Bethesda".into()),
            state: Some("Maryland".into()),
            country: Some("United States".into()),
            status: Some("RECRUITING".into()),
        })
        .collect();
    let s = run(&with_sites, &cervical());
    assert_eq!(s.site_count, 12);
    assert_eq!(s.sites.len(), sextant_trials::matching::MAX_SITES_SHOWN);
    assert_eq!(
        s.sites[0],
        "Cancer Center 0, Bethesda, Maryland, United States (recruiting)"
    );
    assert!(!m.questions.is_empty());
}

#[test]
fn missing_information_is_said_in_plain_words() {
    let mut p = cervical();
    p.biomarkers.clear();
    let t = trial(
        "NCT00000002",
        "Immunotherapy for cervical cancer",
        &["Cervical Cancer"],
        "Inclusion Criteria:\n* Tumor PD-L1 expression (CPS >= 1)\n* HER2-positive disease",
    );
    let m = run(&t, &p);
    let pdl1 = check(&m, "PD-L1");
    assert_eq!(pdl1.status, Status::Unknown);
    assert!(
        pdl1.reason
            .contains("Your records do not say whether your tumor was tested for PD-L1"),
        "{}",
        pdl1.reason
    );
    assert!(m.to_settle.iter().any(|s| s.contains("PD-L1")));
    assert_eq!(m.verdict, Verdict::Possibly);
}

#[test]
fn exclusions_that_apply_rule_out() {
    let t = trial(
        "NCT00000003",
        "Second-line study in cervical cancer",
        &["Cervical Cancer"],
        "Inclusion Criteria:\n* Metastatic cervical cancer\nExclusion Criteria:\n* Prior anti-PD-1 or anti-PD-L1 therapy\n* ECOG performance status >= 2",
    );
    let m = run(&t, &cervical());
    let pd1 = check(&m, "anti-PD-1");
    assert_eq!(pd1.status, Status::NotMet);
    assert!(pd1.reason.contains("pembrolizumab"), "{}", pd1.reason);
    assert_eq!(check(&m, "ECOG").status, Status::Met);
    assert_eq!(m.verdict, Verdict::LikelyExcluded);
    assert!(m.reasons.iter().any(|r| r.contains("pembrolizumab")));
}

#[test]
fn another_cancer_and_another_sex_rule_out() {
    let mut t = trial(
        "NCT00000004",
        "Hormone therapy for prostate cancer",
        &["Prostate Cancer"],
        "Inclusion Criteria:\n* Histologically confirmed adenocarcinoma of the prostate",
    );
    t.sex = Some(SexEligible::Male);
    let m = run(&t, &cervical());
    assert_eq!(m.verdict, Verdict::LikelyExcluded);
    assert!(m.not_met >= 2, "{:#?}", m.checklist);
    // A study that is not about cancer.
    let mri = trial(
        "NCT00000005",
        "A new MRI sequence for heart muscle disease",
        &["Cardiomyopathy"],
        "Inclusion Criteria:\n* Adults with suspected cardiomyopathy",
    );
    // A study that is not about cancer is not ruled out (people with
    // cancer may join it), but it is said so and ranked low.
    let m = run(&mri, &cervical());
    assert_eq!(m.verdict, Verdict::Possibly);
    assert!(
        m.reasons.iter().any(|r| r.contains("not about cancer")),
        "{:?}",
        m.reasons
    );
    let cervical_trial = trial(
        "NCT00000012",
        "Drug X for cervical cancer",
        &["Cervical Cancer"],
        "",
    );
    assert!(m.relevance + 3.0 < run(&cervical_trial, &cervical()).relevance);
}

#[test]
fn cohorts_pick_the_one_that_fits() {
    let t = trial(
        "NCT06865677",
        "Sacituzumab Govitecan for Relapsed Ovarian, Endometrial, and Cervical Carcinomas",
        &[
            "Recurrent Platinum Resistant Epithelial Ovarian Carcinoma",
            "Recurrent Epithelial Endometrial Carcinoma",
            "Recurrent Epithelial Cervical Carcinoma",
        ],
        "* INCLUSION CRITERIA:\n\nCohort 1 (Ovarian Cancer)\n\n* Participants must have histologically confirmed recurrent ovarian carcinoma\n\nCohort 3 (Cervical Cancer)\n\n-Participants must have histologically or cytologically confirmed recurrent epithelial cervical (i.e. squamous or adeno) carcinoma that is refractory to standard treatment.\n\n* EXCLUSION CRITERIA:\n\n* Prior sacituzumab govitecan",
    );
    let m = run(&t, &cervical());
    assert_eq!(m.cohort.as_deref(), Some("Cohort 3 (Cervical Cancer)"));
    assert_eq!(
        m.other_cohorts,
        vec!["Cohort 1 (Ovarian Cancer)".to_string()]
    );
    assert!(m
        .checklist
        .iter()
        .all(|c| !c.criterion.text.contains("ovarian carcinoma")));
    assert_ne!(m.verdict, Verdict::LikelyExcluded, "{:#?}", m.reasons);
}

#[test]
fn an_empty_profile_gives_unknowns_not_guesses() {
    let t = trial(
        "NCT00000006",
        "Drug X for metastatic cervical cancer",
        &["Cervical Cancer"],
        "Inclusion Criteria:\n* Age >= 18\n* Metastatic cervical carcinoma\n* ECOG 0-1\n* PD-L1 positive\n* Prior platinum",
    );
    let m = run(&t, &Profile::default());
    assert_eq!(m.not_met, 0, "{:#?}", m.checklist);
    assert_eq!(m.met, 0, "{:#?}", m.checklist);
    assert_eq!(m.verdict, Verdict::Possibly);
    for c in &m.checklist {
        assert!(!c.reason.is_empty());
    }
}

#[test]
fn odd_shapes_never_crash_and_stay_honest() {
    let shapes = [
        // One paragraph.
        "Patients must be 18 years of age or older and have metastatic cervical cancer. ECOG 0 to 2. No prior tisotumab vedotin.",
        // A table flattened to text.
        "Inclusion Criteria: | Parameter | Value | | ANC | >= 1.5 x 10^9/L | | Platelets | >= 100 x 10^9/L |",
        // HTML entities and markdown escapes.
        "Inclusion Criteria:\n* Age &ge; 18 years\n* ECOG \\<= 1\n* Creatinine &lt;= 1.5 &times; ULN",
        "",
        "&&&&;;;;\\\\\\",
        "*\n-\n1.\n(a)\n",
    ];
    for s in shapes {
        let t = trial(
            "NCT00000007",
            "Cervical cancer study",
            &["Cervical Cancer"],
            s,
        );
        let m = run(&t, &cervical());
        assert!(m.checklist.iter().all(|c| !c.reason.is_empty()));
        let _ = run(&t, &Profile::default());
    }
    let mut none = trial(
        "NCT00000008",
        "Cervical cancer study",
        &["Cervical Cancer"],
        "",
    );
    none.eligibility = Eligibility::None;
    let m = run(&none, &cervical());
    assert!(m
        .issues
        .iter()
        .any(|i| i.message.contains("no eligibility criteria")));
    assert_ne!(m.verdict, Verdict::LikelyExcluded);
    // The paragraph's ECOG range reads as 0-2: met for ECOG 1.
    let t = trial(
        "NCT00000009",
        "Cervical cancer study",
        &["Cervical Cancer"],
        shapes[0],
    );
    let m = run(&t, &cervical());
    assert_eq!(check(&m, "ECOG").status, Status::Met);
    let t = trial(
        "NCT00000010",
        "Cervical cancer study",
        &["Cervical Cancer"],
        shapes[2],
    );
    let m = run(&t, &cervical());
    assert_eq!(check(&m, "ECOG").status, Status::Met);
    assert_eq!(check(&m, "Age").status, Status::Met);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn any_criteria_text_and_any_note(criteria in "\\PC{0,600}", note in "\\PC{0,300}") {
            let t = trial("NCT00000011", "Study", &["Cancer"], &criteria);
            let m = run(&t, &cervical());
            prop_assert!(m.checklist.iter().all(|c| !c.reason.is_empty()));
            let p = sextant_records::read_note("n", &note);
            let _ = run(&t, &p);
        }
    }
}

/// Age rules: ranges, exclusions read as exclusions, ages of someone else,
/// and text ages narrower than the registry's range.
#[test]
fn age_rules_read_as_written() {
    let t = trial(
        "NCT00000010",
        "Transplant for metastatic cervical cancer",
        &["Cervical Cancer"],
        "Inclusion Criteria:\n\n* The patient is 18-74 years of age.\n* The procedure will be explained to subjects age 8-17 years with formal consent being obtained from parents or legal guardian.\n* At least >=18 years of age: Because it is rare under the age of 18, we will exclude patients <18 years of age.\n\nExclusion Criteria:\n\n* Age greater than or equal to 75 years old\n* Patients < 18 years old at enrollment, who have known hepatitis B or C\n* Group B: Age less than 8 or greater than 80 years.",
    );
    let m = run(&t, &cervical()); // 62 years old
    for needle in [
        "18-74",
        "At least >=18",
        "Age greater than or equal to 75",
        "Patients < 18",
        "Group B",
    ] {
        let c = check(&m, needle);
        assert_eq!(c.status, Status::Met, "{needle}: {}", c.reason);
    }
    // A consent procedure's ages are not the person's limit.
    assert_ne!(check(&m, "formal consent").status, Status::NotMet);
    assert_ne!(m.verdict, Verdict::LikelyExcluded, "{:?}", m.reasons);

    // The same rules rule out a 76-year-old, and say why.
    let mut old = cervical();
    old.age[0].value = 76;
    let m = run(&t, &old);
    let c = check(&m, "Age greater than or equal to 75");
    assert_eq!(c.status, Status::NotMet);
    assert!(
        c.reason.contains("excludes people 75 or older"),
        "{}",
        c.reason
    );
    assert_eq!(check(&m, "18-74").status, Status::NotMet);

    // A 15-year-old: the hepatitis rule needs more than the age.
    let mut young = cervical();
    young.age[0].value = 15;
    let mut t2 = t.clone();
    t2.min_age = None;
    let m = run(&t2, &young);
    assert_eq!(check(&m, "Patients < 18").status, Status::Unknown);
    assert_eq!(check(&m, "Group B").status, Status::Met);
}

#[test]
fn text_ages_narrower_than_the_registry_are_for_some_participants() {
    let mut t = trial(
        "NCT00000011",
        "Vaccine for cervical precancer",
        &["Cervical Cancer"],
        "Inclusion Criteria:\n\n* Age greater than or equal to 50 years old\n* Histologically confirmed cervical carcinoma",
    );
    t.max_age = Some(120.0);
    let mut p = cervical();
    p.age[0].value = 48;
    let m = run(&t, &p);
    let c = check(&m, "50 years old");
    assert_eq!(c.status, Status::Unknown, "{}", c.reason);
    assert!(
        c.reason.contains("registry lists ages 18–120"),
        "{}",
        c.reason
    );
    // Outside the registry's range it still rules out.
    t.min_age = Some(50.0);
    let m = run(&t, &p);
    assert_eq!(m.verdict, Verdict::LikelyExcluded);
}

/// Words that look like stage but are not ("advanced heart block"),
/// exclusions of some kinds of spread only, and "resectable lesion" in a
/// trial for metastatic cancer.
#[test]
fn spread_is_read_in_context() {
    let t = trial(
        "NCT00000012",
        "TIL therapy for metastatic cervical cancer",
        &["Cervical Cancer"],
        "Inclusion Criteria:\n\n* Measurable metastatic cervical carcinoma. Patients must have at least one lesion that is resectable for TIL generation.\n* Stage III or IV cervical cancer\n\nExclusion Criteria:\n\n* Patients with advanced heart block on baseline ECG\n* Patients with untreated spinal cord metastases or metastases close to vital organs\n* Intra-abdominal tumor/metastases invading GI mucosa\n* Metastatic disease",
    );
    let m = run(&t, &cervical()); // spread to liver
    let c = check(&m, "resectable for TIL");
    assert_eq!(c.status, Status::Met, "{c:#?}");
    let c = check(&m, "Stage III or IV");
    assert_eq!(c.status, Status::Met, "{}", c.reason);
    assert_ne!(check(&m, "heart block").status, Status::NotMet);
    for needle in ["spinal cord", "invading GI"] {
        let c = check(&m, needle);
        assert_eq!(c.status, Status::Unknown, "{needle}: {}", c.reason);
    }
    // Spread as such is still an exclusion of spread.
    let c = check(&m, "Metastatic disease");
    assert_eq!(c.status, Status::NotMet, "{}", c.reason);
}

/// A rule that relaxes another, a criterion open to cancer spread to an
/// organ, and a basket whose registry lists examples.
#[test]
fn open_doors_stay_open() {
    let t = trial(
        "NCT00000013",
        "Optical imaging for liver biopsies",
        &["Hepatocellular Carcinoma"],
        "Inclusion Criteria:\n\n* Patients must have imaging findings consistent with hepatocellular carcinoma or other liver neoplasms or metastasis, for whom biopsy is planned.\n* Prior checkpoint therapy is not needed where checkpoint therapy has not been approved for that tumor type (e.g., anal, PDL1 negative cervical).",
    );
    let m = run(&t, &cervical());
    let c = check(&m, "liver neoplasms or metastasis");
    assert_eq!(c.status, Status::Unknown, "{}", c.reason);
    assert!(c.reason.contains("spread there"), "{}", c.reason);
    assert_ne!(check(&m, "not needed").status, Status::NotMet);
    assert_ne!(m.verdict, Verdict::LikelyExcluded, "{:?}", m.reasons);
    // Without the "or metastasis" door, the liver trial is not for her.
    let t = trial(
        "NCT00000014",
        "Drug Y for liver cancer",
        &["Hepatocellular Carcinoma"],
        "Inclusion Criteria:\n\n* Histologically confirmed hepatocellular carcinoma",
    );
    assert_eq!(run(&t, &cervical()).verdict, Verdict::LikelyExcluded);

    let basket = trial(
        "NCT00000015",
        "Atezolizumab dosing",
        &["Metastatic Melanoma", "Metastatic Non Small Cell Lung Cancer", "Metastatic Hepatocellular Carcinoma"],
        "Inclusion Criteria:\n\n* Participants with a locally advanced or metastatic pathologically confirmed cancer who are candidates for atezolizumab.",
    );
    let m = run(&basket, &cervical());
    assert_ne!(m.verdict, Verdict::LikelyExcluded, "{:?}", m.reasons);
    // A registry that names one cancer still decides.
    let mut single = basket.clone();
    single.conditions = vec!["Metastatic Melanoma".into()];
    assert_eq!(run(&single, &cervical()).verdict, Verdict::LikelyExcluded);
}

/// The cancer types a trial's words name: the organ after "of the", and a
/// neuroendocrine cancer of an organ outside the gut as that organ's.
#[test]
fn types_named_by_organ() {
    let ids = |s: &str| -> Vec<&str> {
        sextant_trials::matching::types_in(s)
            .iter()
            .map(|t| t.id)
            .collect()
    };
    assert_eq!(
        ids("Lurbinectedin in Small Cell Carcinoma of the Bladder; High Grade Neuroendocrine Tumors of the Urinary Tract"),
        ["bladder"]
    );
    assert!(ids("Neuroendocrine tumors of the pancreas").contains(&"gi-neuroendocrine"));
    assert_eq!(ids("Metastatic Breast Cancer"), ["breast"]);
}
