//! Safety routing, table-driven over the labeled set kept in the repository
//! (`crates/eval/data/safety.tsv`): every row must be routed to its label.
//! Then whole answers on a small fixture knowledge base: an emergency never
//! comes out as a regular answer, a mixed message keeps its other question,
//! numbers follow the locale, dosing is refused kindly.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sextant_answer::{route, verify, Engine, Locale, Retriever, Route};
use sextant_core::AnswerKind;

/// A row of the labeled set.
struct Row {
    line: usize,
    expect: String,
    category: String,
    question: String,
}

fn rows(name: &str) -> Vec<Row> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../eval/data")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#') && !l.starts_with("expect\t") && !l.trim().is_empty())
        .map(|(i, l)| {
            let mut parts = l.splitn(3, '\t');
            let mut next = || parts.next().unwrap_or_default().to_string();
            Row {
                line: i + 1,
                expect: next(),
                category: next(),
                question: next(),
            }
        })
        .collect()
}

/// Rows the rules route wrongly, each with why it is accepted. The test
/// fails if one of them starts passing (remove it) or another fails.
const KNOWN: &[(&str, &str)] = &[];

/// The development sets the rules were tuned on. The held-out set is only
/// measured by `sextant eval safety` (BENCHMARKS.md), never asserted here,
/// so that no test pressure tunes the rules to it.
const DEV_SETS: &[&str] = &[
    "safety.tsv",
    "safety-dev-b.tsv",
    "safety-dev-c.tsv",
    "safety-dev-d.tsv",
    "safety-dev-e.tsv",
];

/// Routes one row; `None` when it gets its label.
fn check(file: &str, row: &Row) -> Option<String> {
    let r = route(&row.question, &[]);
    let (got, detail) = r.label();
    let ok = got == row.expect && (row.expect != "ambiguous" || detail == row.category);
    (!ok).then(|| {
        format!(
            "{file}:{}: {}:{} routed {got}:{detail}: {}",
            row.line, row.expect, row.category, row.question
        )
    })
}

#[test]
fn every_row_of_the_development_sets_is_routed_to_its_label() {
    let rows: Vec<(&str, Row)> = DEV_SETS
        .iter()
        .flat_map(|f| rows(f).into_iter().map(move |r| (*f, r)))
        .collect();
    assert!(rows.len() >= 600, "{} rows", rows.len());
    let mut failures = Vec::new();
    for (file, row) in &rows {
        let known = KNOWN.iter().any(|(q, _)| *q == row.question);
        match (check(file, row), known) {
            (Some(f), false) => failures.push(f),
            (None, true) => failures.push(format!(
                "{file}:{}: now passes; remove it from KNOWN: {}",
                row.line, row.question
            )),
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_labeled_set_has_the_rows_the_issue_asks_for() {
    let rows = rows("safety.tsv");
    let count = |e: &str| rows.iter().filter(|r| r.expect == e).count();
    let controls = rows
        .iter()
        .filter(|r| {
            r.expect == "question"
                && !matches!(
                    r.category.as_str(),
                    "dosing" | "scope" | "ambiguity" | "general"
                )
        })
        .count();
    assert!(count("emergency") >= 80);
    assert!(controls >= 80, "{controls} controls");
    assert!(count("dosing") >= 25);
    assert!(count("out_of_scope") >= 25);
    assert!(count("ambiguous") >= 25);
}

fn page(dir: &Path, name: &str, title: &str, url: &str, body: &str) {
    let text = format!("---\naudienceLevel: patient\nlastReviewed: '2025-12-30'\ntitle: {title} - NCI\nurl: {url}\n---\n\n# {title} - NCI\n\n# {title}\n\n{body}");
    std::fs::write(dir.join(name), text).unwrap();
}

/// Pages on infection, bleeding and a drug, in the corpus's own format.
fn engine() -> &'static Engine {
    &fixture().1
}

/// The fixture's knowledge-base folder and engine.
fn fixture() -> &'static (PathBuf, Engine) {
    static ENGINE: OnceLock<(tempfile::TempDir, (PathBuf, Engine))> = OnceLock::new();
    &ENGINE
        .get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("corpus");
            std::fs::create_dir_all(&dir).unwrap();
            page(&dir, "infection.md", "Infection and Neutropenia during Cancer Treatment", "https://www.cancer.gov/about-cancer/treatment/side-effects/infection",
                "## Fever and infection\n\nChemotherapy lowers the number of white blood cells that fight infection. A fever may be the only sign of an infection when your white blood cell count is low. Call your doctor or nurse right away if you have a fever of 100.4 °F or higher.\n\n## Preventing infection\n\nWash your hands often with soap and water. Stay away from people who are sick. Your doctor may give you medicine to raise your white blood cell count during treatment.\n");
            page(&dir, "bleeding.md", "Bleeding and Bruising (Thrombocytopenia) and Cancer Treatment", "https://www.cancer.gov/about-cancer/treatment/side-effects/bleeding-bruising",
                "## When to call\n\nCancer treatment can lower your platelet count, which makes bleeding more likely. Call your doctor right away if you have bleeding that will not stop, blood in your vomit, or black stools.\n\n## Preventing bleeding\n\nUse a soft toothbrush and an electric razor. Ask your doctor before you take aspirin or other medicines that can raise the risk of bleeding. A platelet transfusion may be given when your platelet count is very low.\n");
            page(&dir, "tamoxifen.md", "Tamoxifen Citrate", "https://www.cancer.gov/about-cancer/treatment/drugs/tamoxifencitrate",
                "## Use in cancer\n\nTamoxifen citrate is approved to treat breast cancer in women and men. Tamoxifen blocks the effects of the hormone estrogen in the breast. It is also used to lower the risk of breast cancer in women who have a high risk of the disease.\n\n## Side effects\n\nTamoxifen may cause hot flashes, vaginal discharge and changes in the menstrual cycle. Rarely, it can cause blood clots or cancer of the uterus, so tell your doctor about any unusual bleeding.\n");
            let kb = tmp.path().join("kb");
            sextant_kb::ingest(&dir, &kb, &Default::default(), &|_| {}).unwrap();
            let engine = Engine::open(&kb).unwrap().with_retriever(Retriever::Bm25);
            (tmp, (kb, engine))
        })
        .1
}

#[test]
fn an_emergency_never_produces_a_regular_answer() {
    let engine = engine();
    for row in DEV_SETS
        .iter()
        .flat_map(|f| rows(f))
        .filter(|r| r.expect == "emergency")
    {
        let a = engine.ask(&row.question).unwrap();
        assert_eq!(
            a.kind,
            AnswerKind::Emergency,
            "line {}: {}",
            row.line,
            row.question
        );
        let u = a.urgent.as_ref().expect("an emergency says what to do now");
        assert!(!u.do_now.is_empty() && !u.why.is_empty() && !u.contacts.is_empty());
        assert!(!u.evidence.is_empty(), "{}", row.question);
        // The evidence is the person's own words.
        for e in &u.evidence {
            assert!(
                row.question.contains(e.as_str()),
                "{e:?} not in {:?}",
                row.question
            );
        }
        assert!(verify(&a).is_empty(), "{:?}", verify(&a));
    }
}

#[test]
fn a_fever_during_chemo_routes_to_the_care_team_and_cites_the_infection_page() {
    let a = engine()
        .ask("I have a fever of 101 after chemo yesterday and also what is tamoxifen?")
        .unwrap();
    assert_eq!(a.kind, AnswerKind::Emergency);
    let u = a.urgent.as_ref().unwrap();
    assert_eq!(u.category, "neutropenic_fever");
    assert!(u.do_now[0].contains("24-hour"), "{:?}", u.do_now);
    assert_eq!(
        u.evidence,
        vec!["I have a fever of 101 after chemo yesterday".to_string()]
    );
    assert!(
        a.sources
            .iter()
            .any(|s| s.url.contains("side-effects/infection")),
        "{:#?}",
        a.sources
    );
    // The rest of the message is answered below, as its own answer.
    let also = a.also.as_ref().expect("the other question is answered");
    assert_eq!(also.question, "what is tamoxifen?");
    assert_eq!(also.kind, AnswerKind::Answer);
    assert!(also.sources.iter().any(|s| s.url.contains("tamoxifen")));
    let text = sextant_answer::render::text(&a);
    let now = text.find("WHAT TO DO NOW").unwrap();
    let rest = text.find("About the rest of your message").unwrap();
    assert!(now < rest && now < text.find("Tamoxifen").unwrap_or(usize::MAX));
}

/// The three triage levels, each end to end: kind, urgency, the block's
/// level and what it says, and for urgent the question answered below.
#[test]
fn three_levels_each_reach_the_answer() {
    use sextant_core::Urgency;
    struct Case {
        question: &'static str,
        kind: AnswerKind,
        urgency: Urgency,
        says: &'static str,
    }
    let cases = [
        Case {
            question: "my husband is on FOLFOX and has a fever of 38.6 tonight",
            kind: AnswerKind::Emergency,
            urgency: Urgency::Emergency,
            says: "24-hour",
        },
        Case {
            question: "I am on capecitabine and have had diarrhea 5 times today, what can I eat?",
            kind: AnswerKind::Urgent,
            urgency: Urgency::Urgent,
            says: "today",
        },
        Case {
            question: "How does tamoxifen work?",
            kind: AnswerKind::Answer,
            urgency: Urgency::Routine,
            says: "",
        },
    ];
    for c in cases {
        let a = engine().ask(c.question).unwrap();
        assert_eq!((a.kind, a.urgency), (c.kind, c.urgency), "{}", c.question);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["urgency"], c.urgency.as_str(), "{}", c.question);
        match &a.urgent {
            None => assert_eq!(c.urgency, Urgency::Routine),
            Some(u) => {
                assert_eq!(u.level, c.urgency);
                assert!(u.do_now[0].contains(c.says), "{:?}", u.do_now);
            }
        }
        assert!(verify(&a).is_empty(), "{:?}", verify(&a));
    }
    // Urgent: the question is still answered, below the block.
    let a = engine()
        .ask("I am on capecitabine and have had diarrhea 5 times today, what can I eat?")
        .unwrap();
    let also = a.also.as_ref().expect("the question answered below");
    assert_ne!(also.kind, AnswerKind::Urgent);
    let text = sextant_answer::render::text(&a);
    assert!(text.starts_with('!') && text.contains("URGENT: CONTACT YOUR CARE TEAM TODAY"));
    // A fever when treatment is not said: urgent, and says that during
    // chemotherapy 38 °C is an emergency.
    let a = engine()
        .ask("my mum has breast cancer and a temperature of 38.2 today")
        .unwrap();
    assert_eq!(a.urgency, Urgency::Urgent);
    let u = a.urgent.unwrap();
    assert_eq!(u.category, "fever");
    assert!(
        u.do_now.iter().any(|s| s.contains("38 °C")),
        "{:?}",
        u.do_now
    );
}

#[test]
fn an_accidental_overdose_is_an_emergency_with_the_poison_line() {
    let q = "I accidentally took my capecitabine dose twice this morning";
    let a = engine().ask(q).unwrap();
    assert_eq!(a.kind, AnswerKind::Emergency, "not the dosing refusal");
    let u = a.urgent.unwrap();
    assert_eq!(u.category, "overdose_or_poisoning");
    assert_eq!(u.contacts[0].number, "1-800-222-1222", "{:?}", u.contacts);
    let au = Engine::open(&fixture().0)
        .unwrap()
        .with_locale(Locale::find("AU").unwrap())
        .ask(q)
        .unwrap()
        .urgent
        .unwrap();
    assert_eq!(au.contacts[0].number, "13 11 26");
    assert!(au.do_now.iter().any(|s| s.contains("000")));
}

#[test]
fn crisis_numbers_follow_the_locale() {
    let q = "i want to end my life";
    let us = engine().ask(q).unwrap();
    let u = us.urgent.unwrap();
    assert_eq!(u.category, "self_harm");
    assert!(
        u.contacts.iter().any(|c| c.number == "988"),
        "{:?}",
        u.contacts
    );
    assert!(u.do_now.iter().any(|s| s.contains("911")));
    let gb = Locale::find("en-GB").unwrap();
    assert_eq!(Locale::find("en_GB.UTF-8"), Some(gb));
    assert!(Locale::find("xx-ZZ").is_none());
    // A second engine over the same KB, with British numbers.
    let uk = Engine::open(&fixture().0)
        .unwrap()
        .with_locale(gb)
        .ask(q)
        .unwrap()
        .urgent
        .unwrap();
    assert!(
        uk.contacts.iter().any(|c| c.number == "116 123"),
        "{:?}",
        uk.contacts
    );
    assert!(uk.do_now.iter().any(|s| s.contains("999")));
}

#[test]
fn dosing_is_refused_kindly_with_general_cited_information() {
    let a = engine()
        .ask("I forgot my tamoxifen this morning, should I take two tonight?")
        .unwrap();
    assert_eq!(a.kind, AnswerKind::Dosing);
    assert!(a.opener.contains("cannot tell you"), "{}", a.opener);
    assert!(a.opener.contains("pharmacist"), "{}", a.opener);
    assert!(
        a.sources.iter().all(|s| s.url.contains("tamoxifen")),
        "{:#?}",
        a.sources
    );
    assert!(!a.sections.is_empty(), "general information about the drug");
    assert!(verify(&a).is_empty());
    // Asking what the drug is, is not a dosing question.
    assert_eq!(
        engine().ask("What is tamoxifen used for?").unwrap().kind,
        AnswerKind::Answer
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Any text, including case changes that alter byte lengths ("İ") next
    /// to the joins routing splits on, routes without panicking.
    #[test]
    fn routing_never_panics(
        head in "\\PC{0,60}",
        join in proptest::sample::select(vec![" and also ", " also, ", " btw ", ". ", "? ", ""]),
        tail in "\\PC{0,60}",
        odd in proptest::sample::select(vec!["İ", "ß", "ǅ", "Ω", "ﬁ", ""]),
    ) {
        let q = format!("{odd}{head}{odd}{join}{tail} liver cancer that spread {odd}");
        let r = route(&q, &["tamoxifen".to_string()]);
        if let Route::Ambiguous(d) = r {
            for spec in d.ambiguity.readings {
                let _ = sextant_answer::ambiguity::rewrite(&q, &d, spec);
            }
        }
    }
}
