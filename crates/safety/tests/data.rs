//! The safety data resolves: every situation has a trigger over existing
//! lists, and every source is a cancer.gov page of the corpus or a named
//! guideline.

use std::collections::HashSet;
use std::path::PathBuf;

fn corpus_urls() -> HashSet<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/corpus/cancergov-2025/en");
    let mut urls = HashSet::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                if let Some(u) = text.lines().find_map(|l| l.strip_prefix("url:")) {
                    urls.insert(u.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    assert!(!urls.is_empty(), "no corpus at {}", dir.display());
    urls
}

#[test]
fn the_data_has_no_issues() {
    let issues = sextant_safety::data_issues();
    assert!(issues.is_empty(), "{issues:#?}");
}

#[test]
fn every_source_resolves() {
    let urls = corpus_urls();
    for s in sextant_safety::situations() {
        if s.source.starts_with("https://") {
            assert!(
                urls.contains(s.source),
                "{}: {} is not a corpus page",
                s.id,
                s.source
            );
        } else {
            assert!(
                sextant_safety::guidelines()
                    .iter()
                    .any(|g| g.id == s.source),
                "{}: unknown guideline {}",
                s.id,
                s.source
            );
        }
    }
}

#[test]
fn three_levels_each_have_situations() {
    use sextant_safety::Urgency as Level;
    for level in [Level::Emergency, Level::Urgent] {
        assert!(sextant_safety::situations()
            .iter()
            .any(|s| s.level == level));
    }
    let e = sextant_safety::emergency("my husband is on FOLFOX and has a fever of 38.6 tonight")
        .expect("a fever during chemotherapy");
    assert_eq!(e.situation.level, Level::Emergency);
    let u = sextant_safety::emergency("my mum has breast cancer and a temperature of 38.2 today")
        .expect("a fever, treatment not said");
    assert_eq!(u.situation.level, Level::Urgent);
    assert!(sextant_safety::emergency("what is a normal temperature?").is_none());
}

proptest::proptest! {
    /// Any text, with any embedding of the right size or none: triage,
    /// the rules' features and the other checks never panic, and the
    /// features are always one number per name.
    #[test]
    fn triage_never_panics(text in "\\PC{0,200}", seed in proptest::num::f32::NORMAL) {
        let v: Vec<f32> = (0..384).map(|i| ((i as f32) * seed).sin() / 20.0).collect();
        let _ = sextant_safety::triage(&text, Some(&v));
        let _ = sextant_safety::triage(&text, Some(&v[..10]));
        let _ = sextant_safety::dosing(&text, &[]);
        let _ = sextant_safety::out_of_scope(&text, &[]);
        let _ = sextant_safety::unclear(&text, &[]);
        proptest::prop_assert_eq!(
            sextant_safety::features(&text).len(),
            sextant_safety::FEATURES.len()
        );
    }
}

#[test]
fn the_shipped_classifier_loads_and_matches_the_features() {
    let c = sextant_safety::Classifier::shipped().expect("data/classifier.tsv has weights");
    assert_eq!(c.dim(), 384 + sextant_safety::FEATURES.len());
    assert!(c.emergency_at > 0.0 && c.emergency_at < 1.0);
    assert!(c.urgent_at > 0.0 && c.urgent_at < 1.0);
    // A wrong-sized input scores as routine rather than failing.
    let s = c.scores(&[0.0; 10]);
    assert_eq!(c.level(&s), sextant_safety::Urgency::Routine);
}

#[test]
fn the_shipped_scope_gate_loads_and_only_ever_keeps_in_scope() {
    let g = sextant_safety::ScopeGate::shipped().expect("data/scope-gate.tsv has weights");
    assert_eq!(g.dim(), 384 + sextant_safety::FEATURES.len());
    assert!(g.health_at > 0.0 && g.health_at < 1.0);
    // Without an embedding the rules decide alone; with one, the gate can
    // only keep a message in scope, never put one out.
    let zero = vec![0.0; 384];
    for m in [
        "how do i reverse a list in python",
        "what is tamoxifen",
        "best hiking trails in utah",
    ] {
        let rules = sextant_safety::out_of_scope(m, &[]);
        assert_eq!(
            sextant_safety::out_of_scope_with(m, &[], None),
            rules,
            "{m}"
        );
        assert!(
            !sextant_safety::out_of_scope_with(m, &[], Some(&zero)) || rules,
            "{m}"
        );
    }
    assert!(sextant_safety::out_of_scope(
        "how do i reverse a list in python",
        &[]
    ));
}

#[test]
fn a_fever_in_a_young_baby_and_a_poisoning_boiler_are_emergencies() {
    for (m, want) in [
        (
            "baby is 5 weeks old, temp 38.2 and not feeding",
            "infant_fever",
        ),
        (
            "we all have headaches and feel sick since the boiler came back on",
            "overdose_or_poisoning",
        ),
    ] {
        let e = sextant_safety::emergency(m).unwrap_or_else(|| panic!("{m}"));
        assert_eq!(e.situation.id, want, "{m}");
        assert_eq!(e.level, sextant_safety::Urgency::Emergency, "{m}");
    }
    // A fever in an older child with a cold stays what it was.
    let e = sextant_safety::emergency("my 6 year old has a temp of 38.2 with a cold");
    assert!(e.is_none_or(|e| e.situation.id != "infant_fever"));
}

#[test]
fn choking_a_low_temperature_on_treatment_and_history_read_as_they_should() {
    let level = |m: &str| sextant_safety::emergency(m).map(|e| (e.situation.id, e.level));
    assert_eq!(
        level("my dad is choking on a bit of sandwich, he can not cough or speak"),
        Some(("choking", sextant_safety::Urgency::Emergency))
    );
    // Below 36 °C during chemotherapy is a warning of infection too.
    assert_eq!(
        level("temp 35.2 and shaking, 8 days after chemo").map(|l| l.0),
        Some("neutropenic_fever")
    );
    // A fever reading in a past frame at a past time is history...
    assert_eq!(
        level("last month i had a temp of 38.9 on chemo and got admitted, will that delay my next cycle?"),
        None
    );
    // ...but the same words about now are not.
    assert!(level("i have a temp of 38.9 on chemo").is_some());
}

#[test]
fn what_a_care_team_said_would_happen_is_urgent_not_an_emergency() {
    let e = sextant_safety::triage(
        "Dad's breathing has gone noisy and rattly, the hospice team said this would happen",
        None,
    )
    .expect("still routed to the team");
    assert_eq!(e.level, sextant_safety::Urgency::Urgent);
    // Without the team's word it is an emergency.
    let e = sextant_safety::triage(
        "Dad's breathing has gone noisy and he is struggling to breathe",
        None,
    )
    .expect("an emergency");
    assert_eq!(e.level, sextant_safety::Urgency::Emergency);
}

#[test]
fn a_bystander_report_and_a_suspected_swallow_are_emergencies() {
    for (m, want) in [
        ("someone fitting on the bus floor", "seizure"),
        (
            "my 2 year old might have swallowed a button battery, he seems fine",
            "overdose_or_poisoning",
        ),
    ] {
        let e = sextant_safety::emergency(m).unwrap_or_else(|| panic!("{m}"));
        assert_eq!(e.situation.id, want, "{m}");
    }
    // Asking in general stays a question.
    assert!(sextant_safety::emergency("can anyone have a seizure from chemo?").is_none());
    // A symptom word keeps a message in scope even when it is not live.
    assert!(!sextant_safety::out_of_scope(
        "what to do if someone is fitting",
        &[]
    ));
}
