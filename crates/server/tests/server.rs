//! The web app end to end, through `tower::ServiceExt::oneshot` (no
//! socket), on a small knowledge base written and ingested here, and, for
//! accounts, a SQLite store in a temporary folder.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sextant_answer::{Engine, Retriever};
use sextant_server::{app, harden, routes, AppState, Config};
use tower::ServiceExt;

mod common;
use common::{form, urlencode};

/// The answer crate's fixture pages, and its infection page.
fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<(tempfile::TempDir, Arc<Engine>)> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            common::engine_over(&[
            ("liver.md", "Liver Cancer Treatment", "https://www.cancer.gov/types/liver/what-is-liver-cancer/treatment",
                "## Types of treatment\n\n### Surgery\n\nA partial hepatectomy (surgery to remove the part of the liver where cancer is found) may be done. A wedge of tissue, an entire lobe, or a larger part of the liver is removed. The remaining liver tissue takes over the functions of the liver and may regrow.\n\n### Liver transplant\n\nIn a liver transplant, the entire liver is removed and replaced with a healthy donated liver. A liver transplant may be done when the disease is in the liver only and a donated liver can be found.\n\n## Treatment of metastatic liver cancer\n\nTreatment of metastatic liver cancer may include:\n\n- targeted therapy\n- immunotherapy\n- radiation therapy\n\nMetastatic liver cancer cannot be completely removed by surgery.\n"),
            ("colon.md", "Colon Cancer Treatment", "https://www.cancer.gov/types/colorectal/patient/colon-treatment-pdq",
                "## Surgery\n\nSurgery to remove the cancer is the most common treatment for all stages of colon cancer. If the cancer has spread to the liver, surgery to remove the part of the liver with cancer may be done. Chemotherapy may be given after surgery to kill any cancer cells that are left.\n\n## Stages\n\nStage IV colon cancer has spread to distant organs such as the liver or lungs. The stage is found from tests done before and after surgery.\n"),
            ("infection.md", "Infection and Neutropenia during Cancer Treatment", "https://www.cancer.gov/about-cancer/treatment/side-effects/infection",
                "## Fever and infection\n\nChemotherapy lowers the number of white blood cells that fight infection. A fever may be the only sign of an infection when your white blood cell count is low. Call your doctor or nurse right away if you have a fever of 100.4 °F or higher.\n\n## Preventing infection\n\nWash your hands often with soap and water. Stay away from people who are sick.\n"),
            ])
        })
        .1
        .clone()
}

fn config() -> Config {
    Config {
        retriever: Retriever::Bm25,
        max_body_bytes: 16 * 1024,
        max_upload_file_bytes: 64 * 1024,
        max_upload_request_bytes: 100 * 1024,
        ..Config::default()
    }
}

fn anon_app() -> Router {
    app(AppState::new(engine(), config()))
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
    /// Checks the error table's shape and returns the code.
    fn error_code(&self) -> String {
        let j = self.json();
        let e = &j["error"];
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{j}");
        assert_eq!(e["correlation_id"], self.header("x-correlation-id"), "{j}");
        e["code"].as_str().unwrap().to_string()
    }
}

async fn send(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

fn post_json(uri: &str, body: &Value) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn get_req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn ask_returns_the_cli_json_shape() {
    let app = anon_app();
    let q = "Is surgery an option for metastatic liver cancer?";
    let r = send(&app, post_json("/api/ask", &json!({"question": q}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.header("content-type").starts_with("application/json"));
    let got = r.json();
    // Exactly what `sextant ask --json` prints: serde's Answer.
    let cli =
        serde_json::to_string_pretty(&engine().ask_personal(q, Retriever::Bm25, None).unwrap())
            .unwrap();
    let want: Value = serde_json::from_str(&cli).unwrap();
    assert_eq!(got, want);
    assert_eq!(got["kind"], "answer");
    // Ambiguous: answered for each reading.
    assert!(got["readings"].as_array().unwrap().len() >= 2);
    assert!(got["sources"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://www.cancer.gov/"));
    assert!(got["notice"]
        .as_str()
        .unwrap()
        .contains("not medical advice"));
}

#[tokio::test]
async fn stream_puts_the_emergency_first_and_ends_with_done() {
    let app = anon_app();
    let r = send(
        &app,
        post_json(
            "/api/ask/stream",
            &json!({"question": "I have a fever of 102 after chemo"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("application/x-ndjson"));
    let events: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "urgent", "{types:?}");
    assert_eq!(events[0]["urgent"]["category"], "neutropenic_fever");
    assert_eq!(types[1], "meta");
    assert_eq!(events[1]["kind"], "emergency");
    assert_eq!(*types.last().unwrap(), "done");
    assert!(types.contains(&"notice"));

    // An ordinary question: sections in order, no urgent block.
    let r = send(
        &app,
        post_json(
            "/api/ask/stream",
            &json!({"question": "How is liver cancer treated?"}),
        ),
    )
    .await;
    let events: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "meta", "{types:?}");
    let sections: Vec<u64> = events
        .iter()
        .filter(|e| e["type"] == "section")
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert!(!sections.is_empty());
    assert!(sections.windows(2).all(|w| w[0] + 1 == w[1]));
    let first_section = types.iter().position(|t| *t == "section").unwrap();
    assert!(types.iter().position(|t| *t == "sources").unwrap() < first_section);

    // A bad question is refused before the stream starts.
    let r = send(
        &app,
        post_json("/api/ask/stream", &json!({"question": "  "})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error_code(), "empty_question");
}

/// A general question asked again is served from the cache: the same
/// answer, computed once; whitespace differences are the same question,
/// other wording is not.
#[tokio::test]
async fn repeated_general_questions_come_from_the_cache() {
    let state = AppState::new(engine(), config());
    let app = app(state.clone());
    let q = "How is liver cancer treated?";
    let first = send(&app, post_json("/api/ask", &json!({"question": q})))
        .await
        .json();
    let again = send(
        &app,
        post_json(
            "/api/ask",
            &json!({"question": "  How is liver   cancer treated? "}),
        ),
    )
    .await
    .json();
    assert_eq!(first, again);
    let stats = state.cache_stats();
    assert_eq!((stats.hits, stats.misses), (1, 1));
    send(
        &app,
        post_json(
            "/api/ask",
            &json!({"question": "How is LIVER cancer treated?"}),
        ),
    )
    .await;
    assert_eq!(state.cache_stats().misses, 2);
    // Nothing is published without the person's consent.
    let list = send(&app, Request::get("/answers").body(Body::empty()).unwrap())
        .await
        .text();
    assert!(
        !list.contains("/answers/how-is-liver-cancer-treated"),
        "{list}"
    );
}

/// With a language model configured that cannot be reached, the stream says
/// the generated text is withdrawn and sends the extractive answer, which
/// records why; the whole-answer route gives the same answer.
#[tokio::test]
async fn an_unreachable_language_model_falls_back_to_the_extractive_answer() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = sextant_llm::OpenAiConfig::new(format!("http://127.0.0.1:{port}/v1"), "m");
    cfg.retries = 0;
    let llm = sextant_server::Llm {
        backend: Arc::new(sextant_llm::OpenAiBackend::new(cfg).unwrap()),
        options: sextant_answer::generate::GenerateOptions {
            timeout: std::time::Duration::from_secs(5),
            ..Default::default()
        },
    };
    let app = app(AppState::new(
        engine(),
        Config {
            llm: Some(llm),
            ..config()
        },
    ));
    let q = json!({"question": "How is liver cancer treated?"});
    let r = send(&app, post_json("/api/ask/stream", &q)).await;
    let events: Vec<Value> = r
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert!(!types.contains(&"sentence"), "{types:?}");
    let meta = types.iter().position(|t| *t == "meta").unwrap();
    if let Some(w) = types.iter().position(|t| *t == "withdrawn") {
        assert!(w < meta, "{types:?}");
    }
    assert!(types.contains(&"section"));
    let whole = send(&app, post_json("/api/ask", &q)).await.json();
    assert_eq!(whole["generator"], "extractive");
    assert!(whole["generation"]["fallback"].is_string(), "{whole:#}");
    assert_eq!(whole["generation"]["model"], "m");
}

/// The urgent block is its own first frame, sent once (routing alone makes
/// it, before retrieval), and is the block the whole answer carries.
#[tokio::test]
async fn stream_sends_the_urgent_block_first_in_a_frame_of_its_own() {
    let app = anon_app();
    let q = json!({"question": "my dad is confused and cannot stay awake during chemo"});
    let whole = send(&app, post_json("/api/ask", &q)).await.json();
    let resp = app
        .clone()
        .oneshot(post_json("/api/ask/stream", &q))
        .await
        .unwrap();
    let mut body = resp.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    let first = std::str::from_utf8(&first).unwrap();
    assert_eq!(first.matches('\n').count(), 1, "one event: {first}");
    let ev: Value = serde_json::from_str(first.trim_end()).unwrap();
    assert_eq!(ev["type"], "urgent");
    assert_eq!(ev["urgent"], whole["urgent"]);
    let rest = body.collect().await.unwrap().to_bytes();
    let rest = std::str::from_utf8(&rest).unwrap();
    assert!(!rest.contains("\"type\":\"urgent\""), "urgent sent twice");
    assert!(rest.trim_end().ends_with("{\"type\":\"done\"}"));
}

#[tokio::test]
async fn bad_input_gets_the_error_table() {
    let app = anon_app();
    let cases: Vec<(Request<Body>, StatusCode, &str)> = vec![
        (
            post_json("/api/ask", &json!({"question": ""})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_question",
        ),
        (
            post_json("/api/ask", &json!({"question": "?!?"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_question",
        ),
        (
            post_json("/api/ask", &json!({"question": "why ".repeat(600)})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "question_too_long",
        ),
        (
            post_json("/api/ask", &json!({"q": "liver"})),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Request::post("/api/ask")
                .header("content-type", "application/json")
                .body(Body::from("{not json"))
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Request::post("/api/ask")
                .body(Body::from(r#"{"question":"liver"}"#))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            get_req("/api/nothing-here"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            get_req("/api/ask"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            post_json("/api/ask", &json!({"question": "x".repeat(20_000)})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        // Accounts are off without a store.
        (get_req("/api/records"), StatusCode::NOT_FOUND, "not_found"),
    ];
    for (req, status, code) in cases {
        let uri = req.uri().to_string();
        let r = send(&app, req).await;
        assert_eq!(r.status, status, "{uri}: {}", r.text());
        assert_eq!(r.error_code(), code, "{uri}");
        // The body never quotes the question back.
        assert!(!r.text().contains("why why"), "{uri}");
    }
    // Every code has one status.
    let table = sextant_server::ApiError::table();
    let mut codes: Vec<_> = table.iter().map(|(c, _)| *c).collect();
    codes.dedup();
    assert_eq!(codes.len(), table.len());
}

#[tokio::test]
async fn a_panic_is_a_generic_500_and_the_server_keeps_serving() {
    let state = AppState::new(engine(), config());
    let router = routes()
        .route(
            "/api/boom",
            get(|| async {
                panic!("patient Jane Doe has secret stage IV");
                #[allow(unreachable_code)]
                ""
            }),
        )
        .route(
            "/boom-page",
            get(|| async {
                panic!("secret");
                #[allow(unreachable_code)]
                ""
            }),
        );
    let app = harden(router.with_state(state), &config());
    let r = send(&app, get_req("/api/boom")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.error_code(), "internal");
    assert!(
        !r.text().contains("Jane") && !r.text().contains("secret") && !r.text().contains(".rs")
    );
    assert!(!r.header("x-correlation-id").is_empty());
    let r = send(&app, get_req("/boom-page")).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.text().contains("secret"));
    // Still serving.
    let r = send(
        &app,
        post_json(
            "/api/ask",
            &json!({"question": "How is colon cancer treated?"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(send(&app, get_req("/healthz")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = anon_app();
    for uri in [
        "/",
        "/healthz",
        "/api/nothing",
        "/static/app.css",
        "/answers",
    ] {
        let r = send(&app, get_req(uri)).await;
        let csp = r.header("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{uri}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{uri}");
        assert!(!csp.contains("unsafe-inline"), "{uri}");
        assert_eq!(r.header("x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(r.header("referrer-policy"), "no-referrer", "{uri}");
        assert_eq!(r.header("x-frame-options"), "DENY", "{uri}");
        assert_eq!(r.header("x-correlation-id").len(), 24, "{uri}");
    }
    assert_eq!(
        send(&app, get_req("/")).await.header("cache-control"),
        "no-store"
    );
    let css = send(&app, get_req("/static/app.css")).await;
    assert!(css.header("content-type").starts_with("text/css"));
    let js = send(&app, get_req("/static/app.js")).await;
    assert!(js.header("content-type").starts_with("text/javascript"));
}

#[tokio::test]
async fn health_readiness_and_openapi() {
    let app = anon_app();
    assert_eq!(send(&app, get_req("/healthz")).await.json()["status"], "ok");
    let r = send(&app, get_req("/readyz")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["status"], "ready");
    let doc = send(&app, get_req("/api/openapi.json")).await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/ask",
        "/api/ask/stream",
        "/api/openapi.json",
        "/healthz",
        "/readyz",
        "/api/account/register",
        "/api/account/login",
        "/api/account/logout",
        "/api/account",
        "/api/account/settings",
        "/api/records",
        "/api/records/{id}",
        "/api/profile",
        "/api/profile/facts",
        "/api/answers",
        "/api/answers/{id}",
        "/api/library/preview",
        "/api/library/share",
        "/answers/share",
        "/",
        "/ask",
        "/questions",
        "/answers",
        "/answers/{slug}",
        "/answers/{slug}/questions",
        "/login",
        "/register",
        "/records",
        "/profile",
        "/static/app.css",
        "/static/app.js",
    ] {
        assert!(paths.contains_key(p), "{p} missing from openapi.json");
    }
    let codes = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
        ["enum"]
        .as_array()
        .unwrap();
    for (code, _) in sextant_server::ApiError::table() {
        assert!(codes.iter().any(|c| c == code), "{code} not documented");
    }
}

#[tokio::test]
async fn pages_render_the_answer_accessibly_and_escape_the_question() {
    let app = anon_app();
    let home = send(&app, get_req("/")).await.text();
    for needle in [
        "<html lang=\"en\">",
        "<main id=\"main\"",
        "<nav",
        "class=\"skip-link\" href=\"#main\"",
        "<label for=\"question\">",
        "/static/app.css",
        "/static/app.js",
    ] {
        assert!(home.contains(needle), "{needle}");
    }
    assert!(!home.contains("<script>"), "no inline script");

    let q = "<script>alert(1)</script> How is colon cancer treated?";
    let r = send(&app, form("/ask", &format!("question={}", urlencode(q)))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(!html.contains("<script>alert"), "question not escaped");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") || html.contains("&#60;script&#62;"),
        "{html}"
    );
    let answer = engine().ask_personal(q, Retriever::Bm25, None).unwrap();
    assert!(!answer.sections.is_empty());
    let heading = &answer.sections[0].heading;
    assert!(html.contains(&format!("<h3>{heading}</h3>")), "{heading}");
    let sentence = &answer.sections[0].sentences[0].text;
    assert!(html.contains(sentence.as_str()), "{sentence}");
    assert!(html.contains("class=\"cite\" href=\"#src-1\""));
    assert!(html.contains("id=\"src-1\""));
    assert!(html.contains("Last reviewed 2025-12-30"));

    // An ambiguous question: each reading under its own heading.
    let r = send(
        &app,
        form(
            "/ask",
            "question=Is+surgery+an+option+for+metastatic+liver+cancer%3F",
        ),
    )
    .await;
    assert!(r.text().contains("class=\"reading\""));
    assert!(html.contains("Questions to ask your care team"));
    assert!(html.contains("The bottom line"));
    assert!(html.contains("not medical advice"));
    assert!(html.contains("action=\"/questions\""));

    // An emergency: the urgent block comes before everything else.
    let r = send(
        &app,
        form("/ask", "question=I+have+a+fever+of+102+after+chemo"),
    )
    .await;
    let html = r.text();
    let urgent = html
        .find("class=\"urgent level-emergency\"")
        .expect("urgent block");
    assert!(urgent < html.find("class=\"answer-title\"").unwrap());
    assert!(html.contains("is-emergency"));
    assert!(html.contains("data-urgency=\"emergency\""));

    // Urgent (amber): the care-team block first, then the question answered.
    let r = send(
        &app,
        form(
            "/ask",
            "question=I+am+on+capecitabine+and+have+had+diarrhea+5+times+today%2C+what+can+I+eat%3F",
        ),
    )
    .await;
    let html = r.text();
    let block = html
        .find("class=\"urgent level-urgent\"")
        .expect("urgent-level block");
    assert!(html.contains("data-urgency=\"urgent\""), "{html}");
    assert!(html.contains("Urgent: contact your care team today"));
    assert!(!html.contains("is-emergency"));
    assert!(block < html.find("class=\"answer-title\"").unwrap());
    // The question itself is answered below it, with its own sections.
    assert!(html.matches("class=\"body\"").count() >= 1, "{html}");

    // Routine: no block at all.
    let r = send(&app, form("/ask", "question=What+is+chemotherapy%3F")).await;
    assert!(r.text().contains("data-urgency=\"routine\""));
    assert!(!r.text().contains("class=\"urgent"));

    // An empty question: the form again, with the error, 422.
    let r = send(&app, form("/ask", "question=+")).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("role=\"alert\""));

    // The printable questions.
    let r = send(
        &app,
        form(
            "/questions",
            "question=Liver%3F&item=Can+I+have+surgery%3F&item=%3Cb%3Ex%3C%2Fb%3E",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("Questions for my next appointment"));
    assert!(html.contains("Can I have surgery?"));
    assert!(html.contains("&lt;b&gt;x") || html.contains("&#60;b&#62;x"));
}

/// Issue 19, finding 1: nothing asked is published; a person may share a
/// general answer, seeing first what would be public (identifying details
/// removed) and ticking a consent box; it waits for a reviewer.
#[tokio::test]
async fn shared_answers_reach_the_library_only_with_consent_and_review() {
    let library = Arc::new(sextant_server::MemoryLibrary::new(100));
    let state = AppState::build(engine(), config(), library.clone(), None);
    let app = app(state);
    let q = "How is colon cancer treated?";
    assert_eq!(
        send(&app, post_json("/api/ask", &json!({"question": q})))
            .await
            .status,
        StatusCode::OK
    );
    let list = send(&app, get_req("/answers")).await.text();
    assert!(
        !list.contains("how-is-colon-cancer-treated"),
        "asked is not published: {list}"
    );
    // The answer page offers sharing, with the preview.
    let page = send(
        &app,
        form("/ask", "question=How+is+colon+cancer+treated%3F"),
    )
    .await
    .text();
    assert!(page.contains("action=\"/answers/share\""), "{page}");
    assert!(page.contains("share-consent"));
    // The preview removes identifying details and says which kinds.
    let p = send(
        &app,
        post_json(
            "/api/library/preview",
            &json!({"question": "I am Jane Doe, DOB 03/14/1962, MRN A-12345, how is colon cancer treated?"}),
        ),
    )
    .await
    .json();
    let shown = p["question"].as_str().unwrap();
    for detail in ["Jane", "Doe", "1962", "12345"] {
        assert!(!shown.contains(detail), "{shown}");
    }
    assert!(shown.contains("colon cancer"), "{shown}");
    let removed: Vec<&str> = p["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        removed.contains(&"name") && removed.contains(&"date"),
        "{removed:?}"
    );
    // No consent, nothing shared.
    let r = send(
        &app,
        post_json("/api/library/share", &json!({"question": q})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error_code(), "consent_required");
    let r = send(
        &app,
        form("/answers/share", "question=How+is+colon+cancer+treated%3F"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(library.pending().is_empty());
    // An emergency is never shared.
    let r = send(
        &app,
        post_json(
            "/api/library/share",
            &json!({"question": "I have a fever of 102 after chemo", "consent": true}),
        ),
    )
    .await;
    assert_eq!(r.error_code(), "not_shareable");
    // With consent: queued, still not public.
    let r = send(
        &app,
        post_json(
            "/api/library/share",
            &json!({"question": q, "consent": true}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert_eq!(r.json()["status"], "pending");
    let slug = r.json()["slug"].as_str().unwrap().to_string();
    assert_eq!(
        send(&app, get_req(&format!("/answers/{slug}")))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // The identifying question is shared as its preview.
    let r = send(
        &app,
        form(
            "/answers/share",
            "question=I+am+Jane+Doe%2C+how+is+colon+cancer+treated%3F&consent=on",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(r.text().contains("Sent for review"));
    assert!(!r.text().contains("Jane"));
    assert_eq!(library.pending().len(), 2);
    // A reviewer approves: now public.
    for s in library.pending() {
        assert!(library.approve(&s));
    }
    let list = send(&app, get_req("/answers")).await.text();
    assert!(
        list.contains("href=\"/answers/how-is-colon-cancer-treated\""),
        "{list}"
    );
    assert!(!list.contains("Jane") && !list.contains("fever"), "{list}");
    let entry = send(&app, get_req("/answers/how-is-colon-cancer-treated")).await;
    assert_eq!(entry.status, StatusCode::OK);
    let html = entry.text();
    assert!(html.contains(q));
    assert!(html.contains("Answered 20"));
    assert!(html.contains("not medical advice"));
    assert!(html.contains("https://www.cancer.gov/types/colorectal/patient/colon-treatment-pdq"));
    let qs = send(
        &app,
        get_req("/answers/how-is-colon-cancer-treated/questions"),
    )
    .await;
    assert_eq!(qs.status, StatusCode::OK);
    let missing = send(&app, get_req("/answers/no-such-answer")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.header("content-type").starts_with("text/html"));
}

/// Issue 19, finding 6: a client that never finishes its headers is
/// dropped after the header-read timeout (50 half-sent requests were held
/// for over 45 s before), and connections past the limit are closed at
/// once; a whole request is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_dropped_and_connections_are_capped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    let cfg = Config {
        header_read_timeout: std::time::Duration::from_millis(400),
        max_connections: 2,
        ..config()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(sextant_server::serve_on(
        listener,
        AppState::new(engine(), cfg),
        async {
            let _ = stopped.await;
        },
    ));
    let closed_within = |mut s: TcpStream, ms: u64| async move {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(std::time::Duration::from_millis(ms), s.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    };
    // Two half-sent requests fill the slots; a third connection is closed.
    let mut a = TcpStream::connect(addr).await.unwrap();
    a.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut b = TcpStream::connect(addr).await.unwrap();
    b.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let c = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(c, 300).await,
        "a third connection is closed at once"
    );
    // The half-sent ones are dropped after the header timeout.
    assert!(closed_within(a, 2000).await, "a slow client is dropped");
    assert!(closed_within(b, 2000).await, "a slow client is dropped");
    // A whole request is answered.
    let mut d = TcpStream::connect(addr).await.unwrap();
    d.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    d.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// A model that writes one short sentence every 20 ms, up to 400 of them,
/// and counts what it wrote. It stands in for a model only where the test
/// must know when generation stops; the real backends are tested in
/// `sextant-llm`.
#[derive(Default)]
struct Slow {
    sentences: std::sync::atomic::AtomicUsize,
    stopped: std::sync::atomic::AtomicUsize,
}

impl sextant_llm::ChatBackend for Slow {
    fn info(&self) -> sextant_llm::BackendInfo {
        sextant_llm::BackendInfo {
            kind: "openai",
            model: "slow".to_string(),
        }
    }
    fn chat(
        &self,
        _request: &sextant_llm::ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> std::ops::ControlFlow<()>,
    ) -> Result<sextant_llm::Completion, sextant_llm::LlmError> {
        use std::sync::atomic::Ordering::SeqCst;
        let mut text = String::new();
        let mut finish = sextant_llm::Finish::Stop;
        for i in 0..400 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            let s = format!("Liver cancer sentence {i} is here. ");
            self.sentences.fetch_add(1, SeqCst);
            text.push_str(&s);
            if on_delta(&s).is_break() {
                self.stopped.fetch_add(1, SeqCst);
                finish = sextant_llm::Finish::Cancelled;
                break;
            }
        }
        Ok(sextant_llm::Completion {
            text,
            finish,
            prompt_tokens: None,
            completion_tokens: None,
            first_token: None,
            total: std::time::Duration::ZERO,
        })
    }
}

/// Waits until `slow` has written at least `n` sentences (at most 10 s).
async fn written(slow: &Slow, n: usize) {
    for _ in 0..500 {
        if slow.sentences.load(std::sync::atomic::Ordering::SeqCst) >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the model never wrote {n} sentences");
}

/// Whether `slow` has stopped writing: the count holds over half a second.
async fn settled(slow: &Slow) -> usize {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let n = slow.sentences.load(std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        slow.sentences.load(std::sync::atomic::Ordering::SeqCst),
        n,
        "the model kept writing after its client went away"
    );
    n
}

/// Issue 19, finding 17: streams kept computing after the client
/// disconnected. A reader that hangs up, or a whole-answer request dropped
/// mid-way, stops the model at its next sentence, and the cut-short answer
/// is not cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_stops_the_model() {
    let slow = Arc::new(Slow::default());
    let llm = sextant_server::Llm {
        backend: slow.clone(),
        options: sextant_answer::generate::GenerateOptions {
            timeout: std::time::Duration::from_secs(60),
            ..Default::default()
        },
    };
    let state = AppState::new(
        engine(),
        Config {
            llm: Some(llm),
            ..config()
        },
    );
    let app = app(state.clone());
    let q = json!({"question": "How is liver cancer treated?"});
    let resp = app
        .clone()
        .oneshot(post_json("/api/ask/stream", &q))
        .await
        .unwrap();
    written(&slow, 3).await;
    drop(resp);
    let n = settled(&slow).await;
    assert!(n < 400, "stopped early: {n}");
    assert_eq!(slow.stopped.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A whole-answer request dropped mid-way. That the model writes again
    // shows the cut-short answer was not cached.
    let call = tokio::spawn(app.clone().oneshot(post_json("/api/ask", &q)));
    written(&slow, n + 3).await;
    call.abort();
    let m = settled(&slow).await;
    assert!(m < n + 400, "stopped early: {m}");
    assert_eq!(slow.stopped.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Nor was this one: asked again, the model writes again.
    let resp = app
        .clone()
        .oneshot(post_json("/api/ask/stream", &q))
        .await
        .unwrap();
    written(&slow, m + 3).await;
    drop(resp);
    settled(&slow).await;
    assert_eq!(state.cache_stats().hits, 0);
}
