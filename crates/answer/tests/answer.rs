//! Answering, end to end through the library: a small corpus the tests write
//! themselves (snapshotted), the real corpus in `../shared/data` (when
//! present), and a property test that every answer sentence is verbatim in
//! the passage it cites.

use std::path::PathBuf;
use std::sync::OnceLock;

use proptest::prelude::*;
use sextant_answer::{verify, Engine, Intent, Retriever};
use sextant_core::{Answer, AnswerKind};

mod common;
use common::fixture_engine;

/// The real corpus, ingested once for this test binary (None when absent).
fn real_engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<(tempfile::TempDir, Engine)>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
            let corpus = data.join(sextant_kb::CORPUS_SUBDIR);
            if !corpus.is_dir() {
                eprintln!(
                    "skipping real-corpus checks: {} not found",
                    corpus.display()
                );
                return None;
            }
            let tmp = tempfile::tempdir().unwrap();
            let kb = tmp.path().join("kb");
            // With the model installed (scripts/test.sh fetches it), the
            // real KB carries vectors and answers use the default retrieval.
            let models = sextant_embed::models_dir(None);
            let embedder = sextant_embed::embedder::model_present(&models)
                .then(|| sextant_embed::Embedder::load(&models).unwrap());
            if embedder.is_none() {
                eprintln!("model not installed in {}: BM25 only", models.display());
            }
            let options = sextant_kb::IngestOptions {
                embedder: embedder.as_ref(),
                ..Default::default()
            };
            sextant_kb::ingest(&corpus, &kb, &options, &|_| {}).unwrap();
            let engine = Engine::open(&kb).unwrap().with_embedder(embedder);
            Some((tmp, engine))
        })
        .as_ref()
        .map(|(_, e)| e)
}

/// The invariants every regular answer keeps.
fn assert_well_formed(a: &Answer) {
    assert_eq!(a.kind, AnswerKind::Answer, "{}", a.question);
    let problems = verify(a);
    assert!(problems.is_empty(), "{}: {problems:#?}", a.question);
    assert!(
        a.reading_grade.is_some(),
        "{}: no reading grade",
        a.question
    );
    if !a.readings.is_empty() {
        // An ambiguous question: each reading carries its own body.
        assert!(a.sections.is_empty() && a.bottom_line.is_empty());
        assert!(a.readings.len() >= 2, "{}", a.question);
        for r in &a.readings {
            assert!(
                !r.label.is_empty() && !r.sections.is_empty(),
                "{}: {r:#?}",
                a.question
            );
        }
        assert!((5..=7).contains(&a.questions_to_ask.len()));
        return;
    }
    assert!(
        (1..=5).contains(&a.sections.len()),
        "{}: {} sections",
        a.question,
        a.sections.len()
    );
    assert!((4..=6).contains(&a.questions_to_ask.len()));
    assert!((1..=2).contains(&a.bottom_line.len()));
    assert!(!a.notice.is_empty() && !a.opener.is_empty() && !a.title.is_empty());
    for s in &a.sources {
        assert!(s.url.starts_with("https://www.cancer.gov/"), "{}", s.url);
    }
}

/// One row of the data-driven check on the real corpus.
struct Case {
    question: &'static str,
    intent: Intent,
    types: &'static [&'static str],
    /// A cited source URL must contain this.
    source: &'static str,
}

fn check(engine: &Engine, c: &Case) {
    let analysis = engine.analyze(c.question).unwrap();
    assert_eq!(analysis.intent, c.intent, "{}", c.question);
    let ids: Vec<&str> = analysis.cancer_types.iter().map(|t| t.id).collect();
    assert_eq!(ids, c.types, "{}", c.question);
    let a = engine.ask(c.question).unwrap();
    assert_well_formed(&a);
    assert!(
        a.sources.iter().any(|s| s.url.contains(c.source)),
        "{}: no source contains {:?}: {:#?}",
        c.question,
        c.source,
        a.sources.iter().map(|s| &s.url).collect::<Vec<_>>()
    );
    let words = a.body_words();
    assert!((60..=350).contains(&words), "{}: {words} words", c.question);
}

#[test]
fn real_corpus_questions() {
    let Some(engine) = real_engine() else { return };
    let cases = [
        Case {
            question: "Is surgery an option for liver cancer?",
            intent: Intent::Surgery,
            types: &["liver"],
            source: "/types/liver/",
        },
        Case {
            question: "What are the symptoms of pancretic cancer?",
            intent: Intent::Symptoms,
            types: &["pancreatic"],
            source: "/types/pancreatic/",
        },
        Case {
            question: "How is HCC treated?",
            intent: Intent::Treatment,
            types: &["liver"],
            source: "/types/liver/",
        },
        Case {
            question: "What is the survival rate for stage 3 NSCLC?",
            intent: Intent::Prognosis,
            types: &["nsclc"],
            source: "/types/lung/",
        },
        Case {
            question: "Who is at risk for CLL?",
            intent: Intent::Causes,
            types: &["cll"],
            source: "cll",
        },
        Case {
            question: "What are the stages of colon cancer?",
            intent: Intent::Stages,
            types: &["colorectal"],
            source: "/types/colorectal/",
        },
        Case {
            question: "Should I get screened for cervical cancer?",
            intent: Intent::Screening,
            types: &["cervical"],
            source: "/types/cervical/",
        },
        Case {
            question: "What research is being done for GIST?",
            intent: Intent::Research,
            types: &["gist"],
            source: "gist",
        },
        Case {
            question: "How do doctors diagnose adult ALL?",
            intent: Intent::Diagnosis,
            types: &["all"],
            source: "/types/leukemia/",
        },
    ];
    for c in &cases {
        check(engine, c);
    }
}

/// The sources one reading cites.
fn reading_urls<'a>(a: &'a Answer, r: &sextant_core::Reading) -> Vec<&'a str> {
    let ids: Vec<&String> = r
        .sections
        .iter()
        .flat_map(|s| s.sentences.iter())
        .chain(r.bottom_line.iter())
        .flat_map(|s| s.citations.iter())
        .collect();
    a.sources
        .iter()
        .filter(|s| ids.contains(&&s.id))
        .map(|s| s.url.as_str())
        .collect()
}

#[test]
fn seed_question_is_answered_for_each_reading_with_its_own_citations() {
    let Some(engine) = real_engine() else { return };
    let a = engine
        .ask("Is surgery an option for metastatic liver cancer")
        .unwrap();
    assert_well_formed(&a);
    assert_eq!(a.readings.len(), 2, "{a:#?}");
    let (primary, spread) = (&a.readings[0], &a.readings[1]);
    assert!(
        primary.label.contains("started in the liver"),
        "{}",
        primary.label
    );
    assert!(
        spread.label.contains("spread to the liver"),
        "{}",
        spread.label
    );
    // Primary liver cancer: the liver cancer treatment page, with a surgery section.
    let urls = reading_urls(&a, primary);
    assert!(
        urls.iter()
            .any(|u| u
                .starts_with("https://www.cancer.gov/types/liver/what-is-liver-cancer/treatment")),
        "{urls:#?}"
    );
    assert!(
        urls.iter().all(|u| u.contains("/types/liver/")),
        "{urls:#?}"
    );
    assert!(primary
        .sections
        .iter()
        .any(|s| s.heading.contains("surgery")));
    // Spread to the liver: the colon cancer treatment page, on surgery for
    // liver metastases, and nothing from the liver cancer pages.
    let urls = reading_urls(&a, spread);
    assert!(
        urls.iter()
            .any(|u| u.contains("/types/colorectal/patient/colon-treatment-pdq")),
        "{urls:#?}"
    );
    assert!(
        !urls.iter().any(|u| u.contains("/types/liver/")),
        "{urls:#?}"
    );
    let sentences: Vec<&str> = spread
        .sections
        .iter()
        .flat_map(|s| s.sentences.iter())
        .map(|s| s.text.as_str())
        .collect();
    assert!(
        sentences
            .iter()
            .all(|s| s.to_lowercase().contains("liver") || s.to_lowercase().contains("hepat")),
        "{sentences:#?}"
    );
    assert!(
        sentences
            .iter()
            .any(|s| s.contains("surgery") && s.contains("liver")),
        "{sentences:#?}"
    );
    // Each reading opens with whether surgery is an option, and its bottom
    // line is that sentence.
    for r in &a.readings {
        let short = &r.sections[0];
        assert_eq!(short.heading, sextant_core::answer::SHORT_ANSWER, "{r:#?}");
        assert!(short.sentences[0].text.contains("surgery"), "{r:#?}");
        assert_eq!(r.bottom_line[0].text, short.sentences[0].text);
    }
    // The question that tells which reading applies comes first.
    assert!(
        a.questions_to_ask[0].contains("start in the liver"),
        "{:?}",
        a.questions_to_ask
    );
    assert!(a.cancer_types.is_empty());
}

/// Questions as people ask them, for the checks every answer must pass.
const LAY_QUESTIONS: &[&str] = &[
    "Is dry mouth after radiation to the neck permanent?",
    "How long does hair take to grow back after chemo?",
    "can melanoma come back after its been cut out",
    "My mom has stomach cancer. What are her treatment options?",
    "Is it normal to feel tired for months after breast cancer treatment?",
    "What can help with nausea from chemotherapy?",
    "Why does chemotherapy cause hair loss?",
    "What is the difference between a lumpectomy and a mastectomy?",
    "I'm 62 and just found out I have CLL. My doctor says we will watch and wait. What does that mean?",
    "What are the symptoms of kidney cancer?",
];

#[test]
fn answers_open_with_what_answers_and_keep_to_the_asker() {
    use sextant_answer::quality;
    let Some(engine) = real_engine() else { return };
    for q in LAY_QUESTIONS {
        let a = engine.ask(q).unwrap();
        if a.kind != AnswerKind::Answer || !a.readings.is_empty() {
            continue;
        }
        assert_well_formed(&a);
        let first = &a.sections[0];
        assert_eq!(first.heading, sextant_core::answer::SHORT_ANSWER, "{q}");
        assert_eq!(a.bottom_line[0].text, first.sentences[0].text, "{q}");
        let asks = sextant_answer::asked::asked(q);
        assert_eq!(
            quality::bottom_line_flaw(&a.bottom_line[0].text, &asks),
            None,
            "{q}: {}",
            a.bottom_line[0].text
        );
        assert_eq!(quality::leaks(&a), Vec::new(), "{q}");
        assert_eq!(quality::dangling(&a), Vec::<String>::new(), "{q}");
    }
}

#[test]
fn a_belief_the_sources_dispute_is_checked_first_and_a_true_one_is_not() {
    let Some(engine) = real_engine() else { return };
    let a = engine
        .ask("I read that antiperspirants cause breast cancer, so which deodorant brands are safest?")
        .unwrap();
    assert_eq!(a.kind, AnswerKind::Answer);
    assert!(verify(&a).is_empty(), "{:#?}", verify(&a));
    let first = &a.sections[0];
    assert_eq!(first.heading, sextant_core::answer::CHECK_FIRST, "{a:#?}");
    assert!(
        first.sentences[0].text.contains("no evidence"),
        "{first:#?}"
    );
    // The opener ties the check to the person's own words.
    assert!(
        a.opener.contains("antiperspirants cause breast cancer"),
        "{}",
        a.opener
    );
    // A sentence that says otherwise in other words, found by meaning: it
    // allows what the premise denies.
    let a = engine
        .ask("My husband says men don't get breast cancer, so the lump near his nipple is nothing. Is that right?")
        .unwrap();
    assert!(verify(&a).is_empty(), "{:#?}", verify(&a));
    let first = &a.sections[0];
    assert_eq!(first.heading, sextant_core::answer::CHECK_FIRST, "{a:#?}");
    let quoted = first.sentences[0].text.to_lowercase();
    assert!(
        quoted.contains("men") && quoted.contains(" can "),
        "{first:#?}"
    );
    for q in [
        "Since obesity raises the risk of endometrial cancer, will losing weight after treatment help?",
        "Because smoking raises bladder cancer risk, should I quit now even after my diagnosis?",
        // Close in meaning, but "some of the tissue" allows nothing the
        // premise denies.
        "A CT scan I had for kidney stones found a 3 cm mass on my right kidney. The urologist says it's probably cancer and recommends a partial nephrectomy without doing a biopsy first. I'm 55 and it seems odd to operate without knowing for sure. Why wouldn't they biopsy it first, and what would happen if I chose to just watch it for a while?",
    ] {
        let a = engine.ask(q).unwrap();
        assert!(
            a.sections
                .iter()
                .all(|s| s.heading != sextant_core::answer::CHECK_FIRST),
            "{q}: a true premise was disputed: {:#?}",
            a.sections
        );
    }
}

#[test]
fn fixture_answer_snapshot() {
    let engine = fixture_engine();
    let a = engine
        .ask("Is surgery an option for metastatic liver cancer?")
        .unwrap();
    assert_well_formed(&a);
    // Passage text is long and already covered by `verify`; keep the snapshot readable.
    let mut shown = serde_json::to_value(&a).unwrap();
    for s in shown["sources"].as_array_mut().unwrap() {
        s.as_object_mut().unwrap().remove("passage");
    }
    insta::assert_json_snapshot!("fixture_surgery_answer", shown);
}

#[test]
fn unrelated_or_unclear_questions_get_no_stitched_sentences() {
    let engine = fixture_engine();
    for (q, kind) in [
        (
            "What is the best pizza topping in Chicago?",
            AnswerKind::OutOfScope,
        ),
        ("what is it?", AnswerKind::Unclear),
        ("Can you tell me more?", AnswerKind::Unclear),
        ("asdf qwer", AnswerKind::Unclear),
        // About health, but not in these three pages.
        ("How do I treat a sprained ankle?", AnswerKind::NoEvidence),
    ] {
        let a = engine.ask(q).unwrap();
        assert_eq!(a.kind, kind, "{q}: {a:#?}");
        assert!(a.sections.is_empty() && a.bottom_line.is_empty() && a.readings.is_empty());
        assert!(a.reading_grade.is_none());
        assert!(verify(&a).is_empty());
    }
}

#[test]
fn bad_questions_are_clear_errors() {
    let engine = fixture_engine();
    for q in ["", "   ", "?!?"] {
        let e = engine.ask(q).expect_err("empty question must fail");
        assert!(e.to_string().contains("empty"), "{e}");
    }
    let e = engine
        .ask(&"why ".repeat(600))
        .expect_err("long question must fail");
    assert!(e.to_string().contains("2000"), "{e}");
}

const VOCAB: &[&str] = &[
    "surgery",
    "liver",
    "cancer",
    "colon",
    "metastatic",
    "stage",
    "treatment",
    "chemotherapy",
    "anxiety",
    "transplant",
    "what",
    "is",
    "how",
    "can",
    "my",
    "the",
    "spread",
    "lungs",
    "side",
    "effects",
    "cope",
    "feel",
    "HCC",
    "tumor",
    "removed",
    "donated",
    "outlook",
    "symptoms",
    "pancretic",
    "?",
    "risk",
    "screening",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever is asked, every body sentence is a verbatim sentence of a
    /// passage it cites, citations resolve, and nothing repeats.
    #[test]
    fn every_sentence_is_verbatim_in_its_cited_passage(words in proptest::collection::vec(proptest::sample::select(VOCAB), 1..12)) {
        let q = words.join(" ");
        let engines: Vec<&Engine> = std::iter::once(fixture_engine()).chain(real_engine()).collect();
        for engine in engines {
            match engine.ask(&q) {
                Ok(a) => prop_assert!(verify(&a).is_empty(), "{q}: {:?}", verify(&a)),
                Err(e) => prop_assert!(e.to_string().contains("empty"), "{q}: {e}"),
            }
        }
    }

    /// Arbitrary text never panics the analyzer or the composer.
    #[test]
    fn arbitrary_questions_never_panic(q in "\\PC{0,300}") {
        let _ = fixture_engine().ask(&q);
    }
}

#[test]
fn lay_question_finds_the_esophageal_page_in_hybrid_mode() {
    let Some(engine) = real_engine() else { return };
    if engine.effective(Retriever::Hybrid) != Retriever::Hybrid {
        eprintln!("skipping: {:?}", engine.dense_unavailable());
        return;
    }
    // No cancer named, no medical word: BM25 finds the treatment side
    // effect pages about swallowing; the embedding knows the symptom.
    let q = "food gets stuck when I swallow, is it cancer?";
    let a = engine.analyze(q).unwrap();
    let urls = |r: Retriever| -> Vec<String> {
        engine
            .retrieve(&a, sextant_answer::COMPOSE_PASSAGES, r)
            .unwrap()
            .iter()
            .map(|h| {
                engine
                    .kb()
                    .page(engine.kb().page_of(h.ord).unwrap())
                    .unwrap()
                    .url
                    .clone()
            })
            .collect()
    };
    let hybrid = urls(Retriever::Hybrid);
    assert!(
        hybrid.iter().any(|u| u.contains("/types/esophageal/")),
        "hybrid: {hybrid:#?}\nbm25: {:#?}",
        urls(Retriever::Bm25)
    );
    let answer = engine.ask(q).unwrap();
    assert_eq!(answer.retriever, "hybrid");
    assert!(answer.warnings.is_empty(), "{:?}", answer.warnings);
    assert!(verify(&answer).is_empty());
    assert!(
        answer
            .sources
            .iter()
            .any(|s| s.url.contains("/types/esophageal/")),
        "{:#?}",
        answer.sources.iter().map(|s| &s.url).collect::<Vec<_>>()
    );
}

#[test]
fn dense_retrieval_without_a_model_falls_back_to_bm25_and_says_so() {
    let engine = fixture_engine();
    for r in [Retriever::Dense, Retriever::Hybrid] {
        assert_eq!(engine.effective(r), Retriever::Bm25);
        let a = engine
            .ask_with("Is surgery an option for metastatic liver cancer?", r)
            .unwrap();
        assert_eq!(a.retriever, "bm25");
        assert!(
            a.warnings.iter().any(|w| w.contains("BM25")),
            "{:?}",
            a.warnings
        );
    }
    let plain = engine
        .ask_with("How is liver cancer treated?", Retriever::Bm25)
        .unwrap();
    assert!(plain.warnings.is_empty());
}

#[test]
fn seed_question_for_a_breast_cancer_patient_answers_the_spread_to_the_liver_reading() {
    let Some(engine) = real_engine() else { return };
    let record = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/records/mcode/ctm-app/src/utils/r4_test_patients/TrialMatching_Patient01.json",
    );
    let profile = sextant_records::read_file(&record).unwrap();
    let a = engine
        .ask_personal(
            "Is surgery an option for metastatic liver cancer?",
            Retriever::DEFAULT,
            Some(&profile),
        )
        .unwrap();
    assert!(verify(&a).is_empty(), "{:?}", verify(&a));
    assert_eq!(a.readings.len(), 1, "{a:#?}");
    let r = &a.readings[0];
    assert!(
        r.label
            .contains("breast cancer that has spread to the liver"),
        "{}",
        r.label
    );
    let urls = reading_urls(&a, r);
    assert!(!urls.is_empty());
    assert!(
        urls.iter().all(|u| u.contains("/types/breast/")),
        "{urls:#?}"
    );
    let p = a.personalization.as_ref().expect("personalized");
    assert_eq!(p.reading_chosen.as_deref(), Some(r.label.as_str()));
    let facts: Vec<&str> = p.facts_used.iter().map(|f| f.text.as_str()).collect();
    assert!(facts.contains(&"ER: positive."), "{facts:?}");
    assert!(facts.iter().any(|f| f.contains("liver")), "{facts:?}");
    assert!(p
        .facts_used
        .iter()
        .all(|f| f.source.contains("TrialMatching_Patient01.json")));
    assert!(
        a.questions_to_ask[0].contains("HER2-negative"),
        "{:?}",
        a.questions_to_ask
    );
    // Without the records, both readings.
    let plain = engine
        .ask("Is surgery an option for metastatic liver cancer?")
        .unwrap();
    assert_eq!(plain.readings.len(), 2);
    assert!(plain.personalization.is_none());
}

#[test]
fn civic_explains_a_patients_gene_findings_in_their_cancer_type() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let Some(civic) = sextant_answer::civic::Civic::load(&data).unwrap() else {
        return;
    };
    assert!(civic.len() > 3000, "{}", civic.len());
    let record =
        data.join("records/mcode/ctm-app/src/utils/r4_test_patients/TrialMatching_Patient01.json");
    let profile = sextant_records::read_file(&record).unwrap();
    let genes = sextant_answer::personal::gene_findings(&profile);
    assert!(
        genes.contains(&("PIK3CA".to_string(), Some("MUTATION".to_string()))),
        "{genes:?}"
    );
    let words = sextant_answer::personal::disease_words(&profile);
    let avoid = sextant_answer::personal::subtypes_to_avoid(&profile);
    let e = civic.evidence("PIK3CA", Some("MUTATION"), &words, &avoid, 3);
    assert!(!e.is_empty());
    assert!(
        e.iter()
            .all(|x| x.disease.to_lowercase().contains("breast")),
        "{e:#?}"
    );
    // HER2-negative: no HER2-positive subtype evidence.
    assert!(
        e.iter()
            .all(|x| !x.disease.to_lowercase().contains("her2-receptor positive")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|x| x.therapies.iter().any(|t| t == "Alpelisib")),
        "{e:#?}"
    );
    assert!(e
        .iter()
        .all(|x| x.source.contains("2021") && x.pmid.is_some()));
}

#[test]
fn the_records_stage_and_receptors_steer_retrieval() {
    let Some(engine) = real_engine() else { return };
    let record = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/records/mcode/ctm-app/src/utils/r4_test_patients/TrialMatching_Patient01.json",
    );
    let profile = sextant_records::read_file(&record).unwrap();
    let terms = sextant_answer::personal::retrieval_terms(&profile);
    // Stage IV, ER-positive, HER2-negative, with gene findings.
    for t in ["stage iv", "hormone receptor positive", "her2 negative"] {
        assert!(terms.iter().any(|x| x == t), "{t} not in {terms:?}");
    }
    // "What treatments might work for me?": the records name the cancer;
    // with their stage and receptors, passages about metastatic,
    // hormone-receptor-positive disease rank higher.
    let about_situation = |with_terms: bool| {
        let mut a = sextant_answer::analyze::analyze("What treatments might work for me?", &[]);
        a.cancer_types = sextant_answer::personal::cancer_types(&profile);
        if with_terms {
            a.profile_terms = terms.clone();
        }
        let hits = engine.retrieve(&a, 10, Retriever::DEFAULT).unwrap();
        hits.iter()
            .filter(|h| {
                let t = engine.kb().passage(h.ord).unwrap().text.to_lowercase();
                ["stage iv", "metasta", "hormone", "her2-negative"]
                    .iter()
                    .any(|w| t.contains(w))
            })
            .count()
    };
    let (without, with) = (about_situation(false), about_situation(true));
    eprintln!("top-10 passages on the person's situation: {without} without the records' terms, {with} with");
    assert!(with > without, "{with} <= {without}");
}

/// The sentence model's embedding features are the cosines of each
/// candidate sentence with the question, read from the knowledge base's
/// `sentences.i8` by (passage, position): a wrong mapping would give
/// another sentence's cosine. Without embeddings they stay 0.
#[test]
fn sentence_cosines_come_from_the_right_stored_rows() {
    use sextant_answer::compose::candidate_features;
    use sextant_answer::sentence_model::feature;
    let fixture = fixture_engine();
    let a = fixture.analyze("Can surgery remove liver cancer?").unwrap();
    let hits = fixture.retrieve(&a, 5, Retriever::Bm25).unwrap();
    let cands = candidate_features(fixture, &a, &hits).unwrap();
    assert!(!cands.is_empty());
    assert!(cands.iter().all(|(_, f)| f[feature("semantic")] == 0.0));

    let Some(engine) = real_engine() else { return };
    let Some(e) = engine.embedder() else { return };
    let q = "Is surgery an option for metastatic liver cancer?";
    let a = engine.analyze(q).unwrap();
    let hits = engine
        .retrieve(&a, sextant_answer::COMPOSE_PASSAGES, Retriever::Hybrid)
        .unwrap();
    let cands = candidate_features(engine, &a, &hits).unwrap();
    assert!(cands.len() >= 10, "{}", cands.len());
    let qv = engine.question_vector(q).unwrap().unwrap();
    for (text, f) in cands.iter().take(20) {
        let exact = sextant_embed::dot(&qv, &e.embed_one(text).unwrap());
        let stored = f[feature("semantic")];
        assert!((exact - stored).abs() < 0.02, "{text}: {exact} vs {stored}");
    }
}
