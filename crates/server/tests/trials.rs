//! Trial matching through the app: `POST /api/trials/match` and the
//! `/trials` page, over a small trial index built here from hand-written
//! NIH-TrialBench-shaped records; results are never published.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use sextant_answer::{Engine, Retriever};
use sextant_server::trials::Trials;
use sextant_server::{app, AppState, Config};
use sextant_store::{MasterKey, Store, SystemClock};
use sextant_trials::store::TrialIndex;

mod common;
use common::{form, send, urlencode};

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<(tempfile::TempDir, Arc<Engine>)> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            common::engine_over(&[(
                "cervical.md",
                "Cervical Cancer Treatment",
                "https://www.cancer.gov/types/cervical/patient/cervical-treatment-pdq",
                "## Chemotherapy\n\nChemotherapy uses drugs to stop the growth of cancer cells. Cisplatin or carboplatin is often given with paclitaxel to patients with cervical cancer that has spread.\n\n## Immunotherapy\n\nImmunotherapy helps the immune system fight cancer. Pembrolizumab may be given to patients with cervical cancer that has come back or spread.\n",
            )])
        })
        .1
        .clone()
}

const CERVICAL: &str = "NCT90000001";
const BREAST: &str = "NCT90000002";
const LUNG: &str = "NCT90000003";

/// Three NIH-TrialBench-shaped records: cervical (the fit), HER2-positive
/// breast (women only; rules a cervical cancer out), EGFR lung.
fn trial_files() -> Vec<(String, Value)> {
    vec![
        (
            CERVICAL.into(),
            json!({
                "nctid": CERVICAL,
                "title": "Study Drug X for Recurrent or Metastatic Cervical Cancer After Platinum Chemotherapy",
                "brief_summary": "This phase 2 trial tests whether study drug X shrinks recurrent or metastatic cervical cancer that has grown after platinum-based chemotherapy.",
                "study_type": "INTERVENTIONAL",
                "phases": ["PHASE2"],
                "primary_purpose": "TREATMENT",
                "raw_criteria": "Inclusion Criteria:\n\n* Histologically confirmed recurrent or metastatic cervical cancer (squamous cell carcinoma, adenocarcinoma or adenosquamous carcinoma)\n* Disease progression after at least one prior platinum-based chemotherapy regimen for recurrent or metastatic disease\n* ECOG performance status 0 or 1\n* Adequate bone marrow function: absolute neutrophil count >= 1,500/mcL and platelets >= 100,000/mcL\n* Negative serum pregnancy test within 7 days of enrollment for women of childbearing potential\n\nExclusion Criteria:\n\n* Known active, untreated brain metastases\n* Prior treatment with study drug X\n",
                "minimum_age": "18 Years",
                "maximum_age": "N/A",
                "sex": "FEMALE",
                "condition": ["Recurrent Cervical Carcinoma", "Metastatic Cervical Squamous Cell Carcinoma"],
                "overall_status": "RECRUITING",
            }),
        ),
        (
            BREAST.into(),
            json!({
                "nctid": BREAST,
                "title": "Trastuzumab Combination for HER2-Positive Metastatic Breast Cancer",
                "brief_summary": "This phase 3 trial compares a new trastuzumab combination with standard treatment in women with HER2-positive breast cancer that has spread.",
                "study_type": "INTERVENTIONAL",
                "phases": ["PHASE3"],
                "primary_purpose": "TREATMENT",
                "raw_criteria": "Inclusion Criteria:\n\n* Histologically confirmed HER2-positive metastatic breast cancer\n* ECOG performance status 0 or 1\n\nExclusion Criteria:\n\n* Prior treatment with trastuzumab deruxtecan\n",
                "minimum_age": "18 Years",
                "maximum_age": "N/A",
                "sex": "FEMALE",
                "condition": ["HER2-positive Breast Cancer", "Metastatic Breast Cancer"],
                "overall_status": "RECRUITING",
            }),
        ),
        (
            LUNG.into(),
            json!({
                "nctid": LUNG,
                "title": "Osimertinib After Progression in EGFR-Mutant Non-Small Cell Lung Cancer",
                "brief_summary": "This phase 2 trial studies osimertinib in people with EGFR-mutant non-small cell lung cancer.",
                "study_type": "INTERVENTIONAL",
                "phases": ["PHASE2"],
                "primary_purpose": "TREATMENT",
                "raw_criteria": "Inclusion Criteria:\n\n* Histologically confirmed stage IV non-small cell lung cancer with an EGFR exon 19 deletion or L858R mutation\n* ECOG performance status 0-2\n\nExclusion Criteria:\n\n* Prior osimertinib\n",
                "minimum_age": "18 Years",
                "maximum_age": "N/A",
                "sex": "ALL",
                "condition": ["Non-Small Cell Lung Cancer"],
                "overall_status": "ACTIVE_NOT_RECRUITING",
            }),
        ),
    ]
}

/// The trial index, built once from the records above in a temporary
/// knowledge base.
fn trials() -> Trials {
    static INDEX: OnceLock<(tempfile::TempDir, Trials)> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            let tmp = tempfile::tempdir().unwrap();
            let src = tmp.path().join("trialbench");
            std::fs::create_dir_all(&src).unwrap();
            for (id, v) in trial_files() {
                std::fs::write(src.join(format!("{id}.json")), v.to_string()).unwrap();
            }
            let kb = tmp.path().join("kb");
            sextant_trials::store::ingest(&kb, &[src], Some("2025-07-31"), None).unwrap();
            let index = TrialIndex::open(&kb).unwrap();
            assert_eq!(index.manifest().trials, 3);
            (tmp, Trials::new(index))
        })
        .1
        .clone()
}

fn config(with_trials: bool) -> Config {
    Config {
        retriever: Retriever::Bm25,
        trials: with_trials.then(trials),
        ..Config::default()
    }
}

const NOTE: &str = "62-year-old woman with metastatic cervical squamous cell carcinoma, \
first diagnosed with stage IIIB disease, now with metastases to the lungs and para-aortic \
lymph nodes. ECOG 1. She received carboplatin/paclitaxel/pembrolizumab with progression \
after six cycles.";

/// A logged-in person: cookie and CSRF token.
struct Who {
    cookie: String,
    csrf: String,
}

fn post_json(uri: &str, body: &Value, who: Option<&Who>) -> Request<Body> {
    let mut b = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(w) = who {
        b = b
            .header(header::COOKIE, &w.cookie)
            .header("x-csrf-token", &w.csrf);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

fn get(uri: &str, who: Option<&Who>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(w) = who {
        b = b.header(header::COOKIE, &w.cookie);
    }
    b.body(Body::empty()).unwrap()
}

fn by_id<'a>(trials: &'a [Value], id: &str) -> &'a Value {
    trials
        .iter()
        .find(|t| t["trial_id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {trials:?}"))
}

#[tokio::test]
async fn a_note_ranks_the_cervical_trial_first_with_every_criterion_explained() {
    let app = app(AppState::new(engine(), config(true)));
    let r = send(
        &app,
        post_json("/api/trials/match", &json!({"note": NOTE}), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let list = body["trials"].as_array().unwrap();
    assert!(!list.is_empty(), "{body}");
    assert_eq!(list[0]["trial_id"], CERVICAL, "{body:#}");
    assert_ne!(list[0]["verdict"], "likely_excluded", "{:#}", list[0]);
    let breast = by_id(list, BREAST);
    assert_eq!(breast["verdict"], "likely_excluded", "{breast:#}");
    for t in list {
        let checklist = t["checklist"].as_array().unwrap();
        assert!(!checklist.is_empty(), "{}", t["trial_id"]);
        for c in checklist {
            let status = c["status"].as_str().unwrap_or("");
            assert!(
                ["met", "not_met", "unknown"].contains(&status),
                "{} {c}",
                t["trial_id"]
            );
            assert!(
                c["reason"].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{} {c}",
                t["trial_id"]
            );
        }
        assert_eq!(t["as_of"], "as of 2025-07-31");
    }
    assert_eq!(body["index"]["trials"], 3);
    assert_eq!(body["index"]["data_dates"][0]["date"], "2025-07-31");
    assert!(body["notice"]
        .as_str()
        .unwrap()
        .starts_with("This is not medical advice"));
    // A limit is honored.
    let r = send(
        &app,
        post_json(
            "/api/trials/match",
            &json!({"note": NOTE, "limit": 1}),
            None,
        ),
    )
    .await;
    assert_eq!(r.json()["trials"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_profile_given_as_json_is_matched_too() {
    let app = app(AppState::new(engine(), config(true)));
    let profile = sextant_records::read_note("note", NOTE);
    assert!(!profile.is_empty());
    let r = send(
        &app,
        post_json("/api/trials/match", &json!({"profile": profile}), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["trials"][0]["trial_id"], CERVICAL);
    // Not a profile: a 400 in the table's shape.
    let r = send(
        &app,
        post_json("/api/trials/match", &json!({"profile": [1, 2]}), None),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
}

#[tokio::test]
async fn anonymous_callers_must_give_a_profile_or_a_note() {
    let app = app(AppState::new(engine(), config(true)));
    for body in [json!({}), json!({"note": "   "}), json!({"limit": 5})] {
        let r = send(&app, post_json("/api/trials/match", &body, None)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text());
        assert_eq!(r.code(), "bad_request");
        let message = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(
            message.contains("\"profile\"") && message.contains("\"note\""),
            "{message}"
        );
    }
    // A note with nothing to match on says so.
    let r = send(
        &app,
        post_json(
            "/api/trials/match",
            &json!({"note": "Feeling fine today, thanks."}),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
}

#[tokio::test]
async fn without_a_trial_index_matching_is_503_trials_unavailable() {
    let app = app(AppState::new(engine(), config(false)));
    let r = send(
        &app,
        post_json("/api/trials/match", &json!({"note": NOTE}), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "trials_unavailable");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sextant trials ingest"));
    let r = send(&app, get("/trials", None)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    // The nav does not offer what is off.
    let r = send(&app, get("/", None)).await;
    assert!(!r.text().contains("href=\"/trials\""));
    assert!(sextant_server::ApiError::table().contains(&("trials_unavailable", 503)));
}

#[tokio::test]
async fn the_trials_page_offers_the_form_and_renders_results_for_a_pasted_note() {
    let state = AppState::new(engine(), config(true));
    let app = app(state.clone());
    let r = send(&app, get("/trials", None)).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    assert!(r.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.contains("<h1>Trials that may fit you</h1>"), "{page}");
    assert!(page.contains("<textarea id=\"note\" name=\"note\""));
    assert!(page.contains("not stored and not logged"));
    let home = send(&app, get("/", None)).await.text();
    assert!(home.contains("<a href=\"/trials\">"));

    let r = send(&app, form("/trials", &format!("note={}", urlencode(NOTE)))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let page = r.text();
    for words in [
        "Trials that may fit you",
        "Study Drug X for Recurrent or Metastatic Cervical Cancer",
        "href=\"https://clinicaltrials.gov/study/NCT90000001\"",
        "Likely excluded",
        "as of 2025-07-31",
        "Phase 2",
        "Recruiting",
        "Checklist",
        "<caption class=\"visually-hidden\">Eligibility checklist for",
        "Not met",
        "Unknown",
        "Must not apply:",
        "Questions to ask the trial team",
        "This is not medical advice",
        // What was read from the note, in words.
        "What Sextant read from the summary you pasted",
        "<li>Cancer: squamous cell carcinoma, cervix</li>",
        "<li>Treatment: carboplatin</li>",
    ] {
        assert!(page.contains(words), "{words} missing");
    }
    assert!(page.contains("✓</span> Met") || page.contains("?</span> Unknown"));
    // The cervical trial comes first.
    let cervical = page.find("Study Drug X").unwrap();
    let breast = page.find("Trastuzumab Combination").unwrap();
    assert!(cervical < breast);
    // Screening-only unknowns are folded away.
    assert!(page.contains("Checked by the trial team at screening ("));

    // An empty form: the form again, with the reason.
    let r = send(&app, form("/trials", "note=++")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("role=\"alert\""));

    // Nothing of it went public or into the cache.
    assert!(state.library().list(100).await.is_empty());
    let library = send(&app, get("/answers", None)).await.text();
    assert!(!library.contains("Cervical") && !library.contains("cervical"));
    assert_eq!(state.cache_stats().entries, 0);
}

const REPORT: &[u8] = b"SURGICAL PATHOLOGY REPORT\nFINAL DIAGNOSIS: Cervix, biopsy: Invasive squamous cell carcinoma, moderately differentiated.\nLung, biopsy: metastatic squamous cell carcinoma, consistent with cervical primary.\n";

async fn sign_up(app: &Router, email: &str) -> Who {
    let creds = json!({"email": email, "password": "correct horse battery staple"});
    let r = send(app, post_json("/api/account/register", &creds, None)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let r = send(app, post_json("/api/account/login", &creds, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    Who {
        cookie: set.split(';').next().unwrap().to_string(),
        csrf: r.json()["csrf"].as_str().unwrap().to_string(),
    }
}

fn upload(bytes: &[u8], who: &Who) -> Request<Body> {
    const BOUNDARY: &str = "sextantBOUNDARY42";
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"report.txt\"\r\nContent-Type: text/plain\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    Request::post("/api/records")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::COOKIE, &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn a_logged_in_person_is_matched_on_their_saved_profile() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sextant.db").display());
    let store = Store::open(&url, MasterKey::generate(), Arc::new(SystemClock))
        .await
        .unwrap();
    let state = AppState::with_store(engine(), config(true), store);
    let app = app(state.clone());
    let who = sign_up(&app, "ann@example.org").await;

    // No records yet: the API says what to do, the page offers the form.
    let r = send(&app, post_json("/api/trials/match", &json!({}), Some(&who))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(r.text().contains("upload a record"));
    let page = send(&app, get("/trials", Some(&who))).await.text();
    assert!(page.contains("<textarea id=\"note\""));
    assert!(page.contains("href=\"/records\""));

    let r = send(&app, upload(REPORT, &who)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());

    let r = send(&app, post_json("/api/trials/match", &json!({}), Some(&who))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["trials"][0]["trial_id"], CERVICAL, "{}", r.text());

    // The page matches on the profile without asking.
    let r = send(&app, get("/trials", Some(&who))).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    assert!(
        page.contains("What Sextant read from your profile"),
        "{page}"
    );
    assert!(page.contains("Study Drug X"));

    // A form post from a session needs its token.
    let post = |body: String| {
        Request::post("/trials")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &who.cookie)
            .body(Body::from(body))
            .unwrap()
    };
    let r = send(&app, post(format!("note={}", urlencode(NOTE)))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &app,
        post(format!("note={}&csrf={}", urlencode(NOTE), who.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("the summary you pasted"));

    // Never published.
    assert!(state.library().list(100).await.is_empty());
}
