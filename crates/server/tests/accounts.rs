//! Accounts, records and the profile through the app: session cookie flags,
//! CSRF, upload caps, the cross-user matrix, corrections kept across
//! re-reads, personal answers never published.
//!
//! Every test runs twice, once per backend (`<test>::sqlite`, on a SQLite
//! file in a temporary folder, and `<test>::postgres`, on a fresh database in
//! the throwaway cluster of `sextant_store::testing`). Without PostgreSQL the
//! `postgres` variants print "SKIPPING" and pass, unless `SEXTANT_REQUIRE_PG`
//! is set: then they fail.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use sextant_answer::{Engine, Retriever};
use sextant_server::{app, AppState, Config};
use sextant_store::{testing, MasterKey, Store, SystemClock};

mod common;
use common::{send, urlencode, Reply};

fn engine() -> Arc<Engine> {
    static ENGINE: OnceLock<(tempfile::TempDir, Arc<Engine>)> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            common::engine_over(&[
            ("breast.md", "Breast Cancer Treatment", "https://www.cancer.gov/types/breast/patient/breast-treatment-pdq",
                "## Hormone therapy\n\nHormone therapy is a cancer treatment that removes hormones or blocks their action. Tamoxifen is often given to patients with early stages of breast cancer that is hormone receptor positive.\n\n## Surgery\n\nMost patients with breast cancer have surgery to remove the cancer. Breast-conserving surgery removes the cancer and some normal tissue around it.\n"),
            ])
        })
        .1
        .clone()
}

/// Which database a test's store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

struct Fixture {
    db: Db,
    /// The SQLite file's folder (`None` on PostgreSQL).
    dir: Option<tempfile::TempDir>,
    app: Router,
    store: Store,
    state: AppState,
}

/// A fresh store on `db` behind the app; `None` (the test is skipped) when
/// `db` is PostgreSQL and no cluster could be started.
async fn fixture(db: Db, secure: bool) -> Option<Fixture> {
    let config = Config {
        retriever: Retriever::Bm25,
        secure_cookies: secure,
        max_upload_file_bytes: 4 * 1024,
        max_upload_request_bytes: 6 * 1024,
        max_upload_files: 3,
        ..Config::default()
    };
    fixture_with(db, config).await
}

/// [`fixture`] with the app configured by `config`.
async fn fixture_with(db: Db, config: Config) -> Option<Fixture> {
    let (url, dir) = match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("sextant.db").display());
            (url, Some(dir))
        }
        Db::Postgres => (testing::postgres_url().await?, None),
    };
    let store = Store::open(&url, MasterKey::generate(), Arc::new(SystemClock))
        .await
        .unwrap_or_else(|e| panic!("{db:?}: open: {e}"));
    let state = AppState::with_store(engine(), config, store.clone());
    let app = app(state.clone());
    Some(Fixture {
        db,
        dir,
        app,
        store,
        state,
    })
}

/// One `#[tokio::test]` per backend for each `async fn name(db: Db)`:
/// `name::sqlite` and `name::postgres`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                super::$name(super::Db::Sqlite).await
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(super::Db::Postgres).await
            }
        }
    )*};
}

on_both_backends!(
    session_cookie_flags,
    state_changes_without_the_csrf_token_are_refused,
    over_cap_uploads_are_413_and_write_nothing,
    records_profile_corrections_and_the_cross_user_matrix,
    personal_answers_are_saved_encrypted_and_never_published,
    deleting_the_account_removes_everything,
    an_uploaded_canary_never_leaves_its_owner_in_clear,
    throttled_logins_and_registrations_get_429_with_retry_after,
    saved_answers_can_be_listed_read_and_deleted_by_their_owner_only,
    a_signed_in_question_never_enters_the_shared_cache,
    quotas_count_unpacked_bytes_and_a_change_reads_only_the_new_record,
    the_ask_page_names_a_hosted_model_before_records_are_sent_to_it,
    a_person_sees_who_opened_their_data_and_no_one_else_does,
);

/// Every access is audited, and the person can see it: their activity list
/// names each read of their records, in words, and which session did it;
/// a failed sign-in at their account shows as "not you"; another person's
/// list has none of it.
async fn a_person_sees_who_opened_their_data_and_no_one_else_does(db: Db) {
    let Some(f) = fixture(db, false).await else {
        return;
    };
    let (ann, _) = sign_up(&f.app, "ann@example.org").await;
    let (bob, _) = sign_up(&f.app, "bob@example.org").await;
    let r = send(
        &f.app,
        multipart(&[("report.txt", REPORT)], &ann, Some(&ann.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["records"][0]["id"].as_str().unwrap().to_string();
    let r = send(
        &f.app,
        bare("GET", &format!("/api/records/{id}"), &ann, None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let wrong = json!({"email": "ann@example.org", "password": "not the right password at all"});
    let r = send(&f.app, json_req("POST", "/api/account/login", &wrong, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());

    let r = send(&f.app, bare("GET", "/api/account/activity", &ann, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let list = r.json()["activity"].as_array().unwrap().clone();
    let read = list
        .iter()
        .find(|a| a["action"] == "record.read" && a["target"] == json!(id))
        .unwrap_or_else(|| panic!("the download is listed: {list:#?}"));
    assert_eq!(read["what"], "opened a record");
    assert_eq!(read["this_session"], true);
    assert!(
        list.iter().any(|a| a["action"] == "login"
            && a["outcome"] == "bad_credentials"
            && a["by_owner"] == false),
        "{list:#?}"
    );
    let page = send(&f.app, bare("GET", "/records", &ann, None))
        .await
        .text();
    assert!(page.contains("Who opened your data"), "{page}");
    assert!(page.contains("opened a record"), "{page}");
    assert!(page.contains("you, in this session"), "{page}");
    assert!(page.contains("not you"), "{page}");

    let r = send(&f.app, bare("GET", "/api/account/activity", &bob, None)).await;
    let text = r.text();
    assert!(
        !text.contains(&id),
        "another person's activity shows: {text}"
    );
    assert!(!text.contains("record.read"), "{text}");
    let r = send(
        &f.app,
        Request::get("/api/account/activity")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// Issue 19, finding 17: with a hosted language model, the page says, next
/// to the box that tailors the answer to the person's records, that facts
/// from them go to that service; without one (or without the box) it says
/// nothing of the kind.
async fn the_ask_page_names_a_hosted_model_before_records_are_sent_to_it(db: Db) {
    let mut cfg = sextant_llm::OpenAiConfig::new("http://127.0.0.1:9/v1", "hosted-model-x");
    cfg.retries = 0;
    let llm = sextant_server::Llm {
        backend: Arc::new(sextant_llm::OpenAiBackend::new(cfg).unwrap()),
        options: Default::default(),
    };
    let with_llm = Config {
        retriever: Retriever::Bm25,
        secure_cookies: false,
        llm: Some(llm),
        ..Config::default()
    };
    let without = Config {
        retriever: Retriever::Bm25,
        secure_cookies: false,
        ..Config::default()
    };
    for (config, named) in [(with_llm, true), (without, false)] {
        let Some(f) = fixture_with(db, config).await else {
            return;
        };
        let (who, _) = sign_up(&f.app, "ann@example.org").await;
        let page = || send(&f.app, bare("GET", "/", &who, None));
        // Not asking with records yet: nothing to warn about.
        assert!(!page().await.text().contains("hosted-model-x"));
        personalize_on(&f, &who).await;
        let html = page().await.text();
        let warned = html.contains("are sent with your question to the language-model service this server uses (hosted-model-x)");
        assert_eq!(warned, named, "{html}");
        assert_eq!(html.contains("aria-describedby=\"llm-hint\""), named);
    }
}

/// Turns on answers tailored to `who`'s records.
async fn personalize_on(f: &Fixture, who: &Who) {
    let on = json!({"personalize": true});
    let r = send(
        &f.app,
        json_req("POST", "/api/account/settings", &on, Some(who)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

async fn reads_of_records(f: &Fixture, who: &Who) -> usize {
    let token = who.cookie.split_once('=').unwrap().1;
    let session = f.store.session(token).await.unwrap().unwrap();
    f.store
        .user(&session)
        .access_log(1000)
        .await
        .unwrap()
        .iter()
        .filter(|a| a.action == "record.read")
        .count()
}

/// Issue 19, finding 3: a 214 KB gzip of 60 MiB of text was counted as
/// 214 KB, and every later change read every record again. Quotas count
/// what a record unpacks to, each record is read once, when it is added,
/// and reading waits for a slot, or is refused as busy with nothing changed.
async fn quotas_count_unpacked_bytes_and_a_change_reads_only_the_new_record(db: Db) {
    let config = Config {
        retriever: Retriever::Bm25,
        secure_cookies: false,
        max_upload_file_bytes: 4 * 1024 * 1024,
        max_upload_request_bytes: 8 * 1024 * 1024,
        max_upload_files: 3,
        max_concurrent_reads: 1,
        read_wait: std::time::Duration::from_millis(50),
        ..Config::default()
    };
    let Some(f) = fixture_with(db, config).await else {
        return;
    };
    let (who, _) = sign_up(&f.app, "ann@example.org").await;
    let line = b"Progress note: invasive ductal carcinoma of the left breast, on tamoxifen.\n";
    let text: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(51 * 1024 * 1024)
        .collect();
    let bomb = gzip(&text);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let r = send(
        &f.app,
        multipart(&[("notes.txt.gz", &bomb)], &who, Some(&who.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.code(), "quota_exceeded", "{}", r.text());
    let list = || send(&f.app, bare("GET", "/api/records", &who, None));
    assert!(list().await.json()["records"]
        .as_array()
        .unwrap()
        .is_empty());

    // A small gzip is stored, counted as it unpacks.
    let small = gzip(REPORT);
    let r = send(
        &f.app,
        multipart(&[("report.txt.gz", &small)], &who, Some(&who.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let first = r.json()["records"][0]["id"].as_str().unwrap().to_string();
    let listed = list().await.json();
    assert_eq!(
        listed["records"][0]["unpacked"],
        json!(REPORT.len()),
        "{listed}"
    );
    assert_eq!(listed["records"][0]["size"], json!(small.len()), "{listed}");

    // The audit row of the upload names its request and session.
    let correlation = r.headers["x-correlation-id"].to_str().unwrap().to_string();
    let token = who.cookie.split_once('=').unwrap().1;
    let session = f.store.session(token).await.unwrap().unwrap();
    let log = f.store.user(&session).access_log(20).await.unwrap();
    let add = log
        .iter()
        .find(|a| a.action == "record.add" && a.target == first)
        .expect("the upload is audited");
    assert_eq!(add.request, correlation);
    assert_eq!(add.session.len(), 16);
    // Adding and deleting read no other record.
    let second: &[u8] = b"CLINIC NOTE\nDiagnosis: invasive ductal carcinoma, stage IIA. Started letrozole 2.5 mg daily.\n";
    let before = reads_of_records(&f, &who).await;
    let r = send(
        &f.app,
        multipart(&[("note.txt", second)], &who, Some(&who.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = send(
        &f.app,
        bare(
            "DELETE",
            &format!("/api/records/{first}"),
            &who,
            Some(&who.csrf),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        reads_of_records(&f, &who).await,
        before,
        "a change read a record again"
    );
    // And the profile is what reading the remaining record alone gives.
    let (bob, _) = sign_up(&f.app, "bob@example.org").await;
    let r = send(
        &f.app,
        multipart(&[("note.txt", second)], &bob, Some(&bob.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let profile = |w: &Who| send(&f.app, bare("GET", "/api/profile", w, None));
    let (ann_p, bob_p) = (profile(&who).await.json(), profile(&bob).await.json());
    assert!(ann_p.to_string().contains("letrozole"), "{ann_p}");
    assert_eq!(ann_p, bob_p);

    // Every slot for reading taken: 503 busy with Retry-After, nothing stored.
    let held = f.state.hold_reading_slots().expect("slots");
    let r = send(
        &f.app,
        multipart(&[("more.txt", REPORT)], &who, Some(&who.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(r.code(), "busy");
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    drop(held);
    assert_eq!(list().await.json()["records"].as_array().unwrap().len(), 1);
    let r = send(
        &f.app,
        multipart(&[("more.txt", REPORT)], &who, Some(&who.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}

/// Issue 19, finding 12: a signed-in person's general question entered the
/// shared cache, so the next asker's fast answer told them someone had
/// asked it recently. It may be served from the cache, never added to it.
async fn a_signed_in_question_never_enters_the_shared_cache(db: Db) {
    let Some(f) = fixture(db, false).await else {
        return;
    };
    let (a, _) = sign_up(&f.app, "ann@example.org").await;
    let q = "How is liver cancer treated?";
    let ask = |who: Option<&Who>| json_req("POST", "/api/ask", &json!({"question": q}), who);
    assert_eq!(send(&f.app, ask(Some(&a))).await.status, StatusCode::OK);
    let s = f.state.cache_stats();
    assert_eq!((s.entries, s.hits, s.misses), (0, 0, 0), "{s:?}");
    // An anonymous asker computes it (nothing told them it was asked)...
    assert_eq!(send(&f.app, ask(None)).await.status, StatusCode::OK);
    let s = f.state.cache_stats();
    assert_eq!((s.entries, s.hits, s.misses), (1, 0, 1), "{s:?}");
    // ...and the signed-in person may then be served from the cache.
    assert_eq!(send(&f.app, ask(Some(&a))).await.status, StatusCode::OK);
    let s = f.state.cache_stats();
    assert_eq!((s.entries, s.hits, s.misses), (1, 1, 1), "{s:?}");
}

/// Issue 19, finding 15: saved answers could be neither listed nor deleted.
async fn saved_answers_can_be_listed_read_and_deleted_by_their_owner_only(db: Db) {
    let Some(f) = fixture(db, false).await else {
        return;
    };
    let (a, _) = sign_up(&f.app, "ann@example.org").await;
    let (b, _) = sign_up(&f.app, "bob@example.org").await;
    let q = "How is breast cancer treated?";
    let r = send(
        &f.app,
        json_req("POST", "/api/ask", &json!({"question": q}), Some(&a)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let list = send(&f.app, bare("GET", "/api/answers", &a, None))
        .await
        .json();
    let items = list["answers"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["question"], q);
    let id = items[0]["id"].as_str().unwrap().to_string();
    let one = send(&f.app, bare("GET", &format!("/api/answers/{id}"), &a, None)).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(one.json()["answer"]["question"], q);
    // Bob sees none of it and cannot delete it.
    let theirs = send(&f.app, bare("GET", "/api/answers", &b, None))
        .await
        .json();
    assert_eq!(theirs["answers"].as_array().unwrap().len(), 0);
    let uri = format!("/api/answers/{id}");
    assert_eq!(
        send(&f.app, bare("GET", &uri, &b, None)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&f.app, bare("DELETE", &uri, &b, Some(&b.csrf)))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // Without the CSRF token, refused; with it, deleted.
    assert_eq!(
        send(&f.app, bare("DELETE", &uri, &a, None)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&f.app, bare("DELETE", &uri, &a, Some(&a.csrf)))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let list = send(&f.app, bare("GET", "/api/answers", &a, None))
        .await
        .json();
    assert_eq!(list["answers"].as_array().unwrap().len(), 0);
}

/// Issue 19, findings 4 and 5: a throttled login or registration is a 429
/// with `Retry-After`; the account's budget is shared by every client.
async fn throttled_logins_and_registrations_get_429_with_retry_after(db: Db) {
    let Some(f) = fixture(db, false).await else {
        return;
    };
    sign_up(&f.app, "ann@example.org").await;
    let wrong = json!({"email": "ann@example.org", "password": "not the password at all"});
    for _ in 0..5 {
        let r = send(&f.app, json_req("POST", "/api/account/login", &wrong, None)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    }
    let right = json!({"email": "ann@example.org", "password": "correct horse battery staple"});
    let r = send(&f.app, json_req("POST", "/api/account/login", &right, None)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "too_many_attempts");
    let secs: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&secs), "{secs}");
    // Registrations from one client are limited (the fixture's requests
    // all come from one client); sign_up above was the first.
    let mut last = StatusCode::ACCEPTED;
    for i in 0..sextant_store::REGISTER_MAX_PER_CLIENT {
        let creds = json!({"email": format!("new{i}@example.org"), "password": "correct horse battery staple"});
        last = send(
            &f.app,
            json_req("POST", "/api/account/register", &creds, None),
        )
        .await
        .status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

/// A logged-in person: cookie and CSRF token.
#[derive(Clone)]
struct Who {
    cookie: String,
    csrf: String,
}

async fn sign_up(app: &Router, email: &str) -> (Who, Reply) {
    let creds = json!({"email": email, "password": "correct horse battery staple"});
    let r = send(app, json_req("POST", "/api/account/register", &creds, None)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text());
    let r = send(app, json_req("POST", "/api/account/login", &creds, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let set = r
        .headers
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let cookie = set.split(';').next().unwrap().to_string();
    let csrf = r.json()["csrf"].as_str().unwrap().to_string();
    (Who { cookie, csrf }, r)
}

fn json_req(method: &str, uri: &str, body: &Value, who: Option<&Who>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(w) = who {
        b = b
            .header(header::COOKIE, &w.cookie)
            .header("x-csrf-token", &w.csrf);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

fn bare(method: &str, uri: &str, who: &Who, csrf: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, &who.cookie);
    if let Some(c) = csrf {
        b = b.header("x-csrf-token", c);
    }
    b.body(Body::empty()).unwrap()
}

const BOUNDARY: &str = "sextantBOUNDARY42";

fn multipart(files: &[(&str, &[u8])], who: &Who, csrf: Option<&str>) -> Request<Body> {
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/html\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    let mut b = Request::post("/api/records")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::COOKIE, &who.cookie);
    if let Some(c) = csrf {
        b = b.header("x-csrf-token", c);
    }
    b.body(Body::from(body)).unwrap()
}

const REPORT: &[u8] = b"SURGICAL PATHOLOGY REPORT\nFINAL DIAGNOSIS: Invasive ductal carcinoma of the left breast, Nottingham grade 2 of 3.\nEstrogen receptor: POSITIVE.\nHER2: NEGATIVE (IHC 1+).\nSECRETMARKER-A\n";

async fn session_cookie_flags(db: Db) {
    let Some(f) = fixture(db, true).await else {
        return;
    };
    let (_, r) = sign_up(&f.app, "ann@example.org").await;
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(set.starts_with("__Host-sextant_session="), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(set.split("; ").any(|p| p == flag), "{flag} missing: {set}");
    }
    assert!(!set.contains("Domain"), "{set}");
    // Over HTTPS, pages say to stay on HTTPS (HSTS); a cookie without the
    // prefix (one a sibling subdomain could plant) is not a session.
    let home = send(&f.app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert!(home.headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    let planted = send(
        &f.app,
        Request::get("/api/records")
            .header(
                header::COOKIE,
                set.split(';').next().unwrap().replace("__Host-", ""),
            )
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(planted.status, StatusCode::UNAUTHORIZED);
    // Plain-HTTP localhost: configured off.
    let f = fixture(db, false)
        .await
        .expect("the backend was available just above");
    let (_, r) = sign_up(&f.app, "ann@example.org").await;
    let set = r.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(!set.contains("Secure") && set.contains("HttpOnly") && set.contains("SameSite=Strict"));
    assert!(set.starts_with("sextant_session="), "{set}");
    let home = send(&f.app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert!(!home.headers.contains_key(header::STRICT_TRANSPORT_SECURITY));
    // Wrong password: the table's code, no cookie.
    let r = send(
        &f.app,
        json_req(
            "POST",
            "/api/account/login",
            &json!({"email": "ann@example.org", "password": "wrong password!!"}),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.code(), "bad_credentials");
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    // Taken email (issue 19, finding 9): the reply is the one a free
    // address gets, so it says nothing about who has an account; the
    // second password does not sign in, and the owner's still does.
    let fresh = send(
        &f.app,
        json_req(
            "POST",
            "/api/account/register",
            &json!({"email": "someone.new@example.org", "password": "another long password"}),
            None,
        ),
    )
    .await;
    let taken_creds = json!({"email": "ann@example.org", "password": "another long password"});
    let taken = send(
        &f.app,
        json_req("POST", "/api/account/register", &taken_creds, None),
    )
    .await;
    assert_eq!(taken.status, StatusCode::ACCEPTED, "{}", taken.text());
    assert_eq!((fresh.status, fresh.json()), (taken.status, taken.json()));
    let r = send(
        &f.app,
        json_req("POST", "/api/account/login", &taken_creds, None),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNAUTHORIZED, "bad_credentials")
    );
    let owner = json!({"email": "ann@example.org", "password": "correct horse battery staple"});
    let r = send(&f.app, json_req("POST", "/api/account/login", &owner, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn state_changes_without_the_csrf_token_are_refused(db: Db) {
    let Some(f) = fixture(db, true).await else {
        return;
    };
    let (who, _) = sign_up(&f.app, "ann@example.org").await;
    let bad = Who {
        cookie: who.cookie.clone(),
        csrf: "not-the-token".into(),
    };
    let mut missing: Vec<Request<Body>> = vec![
        multipart(&[("report.txt", REPORT)], &who, None),
        bare("DELETE", "/api/account", &who, None),
        bare("POST", "/api/account/logout", &who, None),
        bare(
            "DELETE",
            &format!("/api/records/{}", "0".repeat(32)),
            &who,
            None,
        ),
    ];
    let mut no_header = Request::post("/api/profile/facts")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::COOKIE, &who.cookie)
        .body(Body::from(r#"{"changes":[]}"#))
        .unwrap();
    std::mem::swap(&mut no_header, &mut missing[0]);
    missing.push(no_header);
    missing.push(json_req(
        "POST",
        "/api/ask",
        &json!({"question": "How is breast cancer treated?"}),
        Some(&bad),
    ));
    missing.push(multipart(&[("report.txt", REPORT)], &who, Some("wrong")));
    for req in missing {
        let what = format!("{} {}", req.method(), req.uri());
        let r = send(&f.app, req).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}: {}", r.text());
        assert_eq!(r.code(), "csrf", "{what}");
    }
    // A form post needs the hidden field.
    let r = send(
        &f.app,
        Request::post("/ask")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &who.cookie)
            .body(Body::from("question=How+is+breast+cancer+treated%3F"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &f.app,
        Request::post("/ask")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &who.cookie)
            .body(Body::from(format!(
                "question=How+is+breast+cancer+treated%3F&csrf={}",
                who.csrf
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Nothing was written, and the account is still there.
    let r = send(&f.app, bare("GET", "/api/records", &who, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json()["records"].as_array().unwrap().is_empty());
}

async fn over_cap_uploads_are_413_and_write_nothing(db: Db) {
    let Some(f) = fixture(db, true).await else {
        return;
    };
    let (who, _) = sign_up(&f.app, "ann@example.org").await;
    let big = vec![b'a'; 5 * 1024];
    let three = vec![b'b'; 3 * 1024];
    for files in [
        vec![("big.txt", &big[..])],
        // Each under the file cap, together over the request cap.
        vec![
            ("a.txt", REPORT),
            ("b.txt", &three[..]),
            ("c.txt", &three[..]),
        ],
        // Too many files.
        vec![
            ("1.txt", REPORT),
            ("2.txt", REPORT),
            ("3.txt", REPORT),
            ("4.txt", REPORT),
        ],
    ] {
        let r = send(&f.app, multipart(&files, &who, Some(&who.csrf))).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
        assert_eq!(r.code(), "payload_too_large");
    }
    // A large non-file field counts toward the request cap (issue 19,
    // finding 11: a 300 MiB junk field was accepted).
    let junk = vec![b'j'; 150 * 1024];
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"junk\"\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(&junk);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\n").as_bytes());
    body.extend_from_slice(REPORT);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let req = Request::post("/api/records")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .header(header::COOKIE, &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .body(Body::from(body))
        .unwrap();
    let r = send(&f.app, req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    // A file Sextant cannot read: 422, nothing written either.
    let r = send(
        &f.app,
        multipart(
            &[("ok.txt", REPORT), ("x.zip", b"PK\x03\x04rest")],
            &who,
            Some(&who.csrf),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.code(), "unsupported_record");
    let r = send(&f.app, bare("GET", "/api/records", &who, None)).await;
    assert!(
        r.json()["records"].as_array().unwrap().is_empty(),
        "{}",
        r.text()
    );
}

async fn records_profile_corrections_and_the_cross_user_matrix(db: Db) {
    let Some(f) = fixture(db, true).await else {
        return;
    };
    let (a, _) = sign_up(&f.app, "ann@example.org").await;
    let (b, _) = sign_up(&f.app, "bob@example.org").await;

    // A uploads; the name is only a label, the type is told by content.
    let r = send(
        &f.app,
        multipart(
            &[("../../etc/passwd<script>.html", REPORT)],
            &a,
            Some(&a.csrf),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let up = r.json();
    let id = up["records"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(up["records"][0]["format"], "text/plain");
    assert_eq!(up["records"][0]["name"], "passwd<script>.html");
    let facts = up["profile"]["facts"].as_array().unwrap();
    assert!(!facts.is_empty(), "{up}");
    assert!(facts.iter().any(|f| f["field"] == "cancer"), "{up}");

    // A's own routes work.
    let r = send(&f.app, bare("GET", &format!("/api/records/{id}"), &a, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, REPORT);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/octet-stream");
    assert!(r.headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");

    // B, with A's ids: 404 everywhere, none of A's bytes.
    let matrix = vec![
        bare("GET", &format!("/api/records/{id}"), &b, None),
        bare("DELETE", &format!("/api/records/{id}"), &b, Some(&b.csrf)),
    ];
    for req in matrix {
        let what = format!("{} {}", req.method(), req.uri());
        let r = send(&f.app, req).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{what}");
        assert_eq!(r.code(), "not_found", "{what}");
        assert!(!r.text().contains("SECRETMARKER"), "{what}");
    }
    for uri in ["/api/records", "/api/profile", "/records", "/profile"] {
        let r = send(&f.app, bare("GET", uri, &b, None)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        let t = r.text();
        assert!(
            !t.contains(&id) && !t.contains("SECRETMARKER") && !t.contains("ductal"),
            "{uri}: {t}"
        );
    }
    // A malformed id is a 404 too; and A's record survived B's delete.
    assert_eq!(
        send(&f.app, bare("GET", "/api/records/..%2F..%2Fetc", &a, None))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&f.app, bare("GET", &format!("/api/records/{id}"), &a, None))
            .await
            .status,
        StatusCode::OK
    );
    // Without a session: 401.
    let r = send(
        &f.app,
        Request::get("/api/records").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );

    // A corrects the profile: removes the grade; re-reading keeps it removed.
    let profile = send(&f.app, bare("GET", "/api/profile", &a, None))
        .await
        .json();
    let grade = profile["facts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["field"] == "grade")
        .unwrap_or_else(|| panic!("{profile}"))["fact"]
        .as_str()
        .unwrap()
        .to_string();
    let patch = json!({"changes": [{"op": "remove", "field": "grade", "fact": grade}]});
    let r = send(
        &f.app,
        json_req("POST", "/api/profile/facts", &patch, Some(&a)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!r.json()["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["field"] == "grade"));
    let r = send(
        &f.app,
        multipart(&[("second.txt", REPORT)], &a, Some(&a.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let after = send(&f.app, bare("GET", "/api/profile", &a, None))
        .await
        .json();
    assert!(
        !after["facts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "grade"),
        "{after}"
    );
    let page = send(&f.app, bare("GET", "/profile", &a, None)).await.text();
    assert!(
        page.contains("data-op=\"confirm\"") && page.contains("passwd&lt;script&gt;.html")
            || page.contains("passwd&#60;script&#62;.html"),
        "{page}"
    );

    // Deleting a record re-reads the profile.
    let r = send(
        &f.app,
        bare("DELETE", &format!("/api/records/{id}"), &a, Some(&a.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(
        send(&f.app, bare("GET", &format!("/api/records/{id}"), &a, None))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn personal_answers_are_saved_encrypted_and_never_published(db: Db) {
    let Some(f) = fixture(db, true).await else {
        return;
    };
    let (a, _) = sign_up(&f.app, "ann@example.org").await;
    let r = send(
        &f.app,
        multipart(&[("report.txt", REPORT)], &a, Some(&a.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    personalize_on(&f, &a).await;
    let q = "What treatments are there for my cancer?";
    let r = send(
        &f.app,
        json_req(
            "POST",
            "/api/ask",
            &json!({"question": q, "personalize": true}),
            Some(&a),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let ans = r.json();
    assert!(ans["personalization"].is_object(), "{ans}");
    // Saved in A's history, not in the public library.
    let session = f
        .store
        .session(a.cookie.split_once('=').unwrap().1)
        .await
        .unwrap()
        .unwrap();
    let saved = f.store.user(&session).answers().await.unwrap();
    assert_eq!(saved.len(), 1);
    assert_eq!(saved[0].question, q);
    assert!(f.store.public_answers(100).await.unwrap().is_empty());
    // Logged-in general answers are not published either; anonymous ones are.
    send(
        &f.app,
        json_req(
            "POST",
            "/api/ask",
            &json!({"question": "How is breast cancer treated?"}),
            Some(&a),
        ),
    )
    .await;
    assert!(f.store.public_answers(100).await.unwrap().is_empty());
    // Nor are anonymous ones, until the person shares one and a reviewer
    // approves it (issue 19, finding 1).
    let r = send(
        &f.app,
        json_req(
            "POST",
            "/api/ask",
            &json!({"question": "How is breast cancer treated?"}),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(f.store.public_answers(100).await.unwrap().is_empty());
    let r = send(
        &f.app,
        json_req(
            "POST",
            "/api/library/share",
            &json!({"question": "How is breast cancer treated?", "consent": true}),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    assert!(f.store.public_answers(100).await.unwrap().is_empty());
    let pending = f.store.pending_answers(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    f.store
        .review_answer(&pending[0].slug, sextant_store::Review::Approve)
        .await
        .unwrap();
    let public = f.store.public_answers(100).await.unwrap();
    assert_eq!(public.len(), 1);
    let list = send(
        &f.app,
        Request::get("/answers").body(Body::empty()).unwrap(),
    )
    .await
    .text();
    assert!(list.contains("How is breast cancer treated?"));

    // Logging out ends the session; deleting the account needs a session.
    let r = send(
        &f.app,
        bare("POST", "/api/account/logout", &a, Some(&a.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(r.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let r = send(&f.app, bare("GET", "/api/records", &a, None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Issue 19, finding 1: the ended session's cookie still comes with the
    // form (and `personalize=on`). It is never answered as anonymous, so
    // the personal question is never published.
    let published = f.store.public_answers(100).await.unwrap().len();
    let personal = "I am Jane Doe, DOB 03/14/1962, what treatments are there for my cancer?";
    let r = send(
        &f.app,
        Request::post("/ask")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &a.cookie)
            .body(Body::from(format!(
                "question={}&personalize=on&csrf={}",
                urlencode(personal),
                a.csrf
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert!(r.text().contains("signed out"), "{}", r.text());
    assert!(!r.text().contains("Jane Doe"));
    for body in [
        json!({"question": personal, "personalize": true}),
        json!({"question": personal}),
    ] {
        for path in ["/api/ask", "/api/ask/stream"] {
            let r = send(&f.app, json_req("POST", path, &body, Some(&a))).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}: {}", r.text());
            assert_eq!(r.code(), "signed_out", "{path}");
        }
    }
    // An emergency is still answered (what to do now comes first), and
    // not published.
    let r = send(
        &f.app,
        json_req(
            "POST",
            "/api/ask",
            &json!({"question": "I am on chemo and have a fever of 39.1 tonight", "personalize": true}),
            Some(&a),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["kind"], "emergency");
    // Asking for a personal answer with no session at all is refused too.
    let r = send(
        &f.app,
        json_req(
            "POST",
            "/api/ask",
            &json!({"question": personal, "personalize": true}),
            None,
        ),
    )
    .await;
    assert_eq!(r.code(), "signed_out");
    assert_eq!(
        f.store.public_answers(100).await.unwrap().len(),
        published,
        "nothing new is published"
    );
    // Without any cookie, a general question is still answered.
    let r = send(
        &f.app,
        json_req(
            "POST",
            "/api/ask",
            &json!({"question": "How is colon cancer treated?"}),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn deleting_the_account_removes_everything(db: Db) {
    let Some(f) = fixture(db, true).await else {
        return;
    };
    let (a, _) = sign_up(&f.app, "ann@example.org").await;
    send(
        &f.app,
        multipart(&[("report.txt", REPORT)], &a, Some(&a.csrf)),
    )
    .await;
    let r = send(&f.app, bare("DELETE", "/api/account", &a, Some(&a.csrf))).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        send(&f.app, bare("GET", "/api/records", &a, None))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // The email can register again, and sign in.
    let creds = json!({"email": "ann@example.org", "password": "correct horse battery staple"});
    let r = send(
        &f.app,
        json_req("POST", "/api/account/register", &creds, None),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let r = send(&f.app, json_req("POST", "/api/account/login", &creds, None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(f.store.audit_verify().await.unwrap().ok());
}

/// The fake PHI of `REPORT`, uploaded and used for a personal answer, is
/// found in none of: the database files, the public library's pages, the
/// answers of another person.
async fn an_uploaded_canary_never_leaves_its_owner_in_clear(db: Db) {
    let Some(f) = fixture(db, true).await else {
        return;
    };
    let canary = "SECRETMARKER-A";
    let (a, _) = sign_up(&f.app, "ann@example.org").await;
    let r = send(
        &f.app,
        multipart(&[("report-SECRETMARKER-A.txt", REPORT)], &a, Some(&a.csrf)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    send(
        &f.app,
        json_req(
            "POST",
            "/api/account/settings",
            &json!({"personalize": true}),
            Some(&a),
        ),
    )
    .await;
    let r = send(
        &f.app,
        json_req(
            "POST",
            "/api/ask",
            &json!({"question": "How is my breast cancer treated?", "personalize": true}),
            Some(&a),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // An anonymous answer, so the library has a page to check.
    let r = send(
        &f.app,
        json_req(
            "POST",
            "/api/ask",
            &json!({"question": "How is breast cancer treated?"}),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let (b, _) = sign_up(&f.app, "bob@example.org").await;
    let mut seen = Vec::new();
    for uri in [
        "/answers",
        "/api/records",
        "/api/profile",
        "/records",
        "/profile",
    ] {
        let r = send(&f.app, bare("GET", uri, &b, None)).await;
        seen.push((uri.to_string(), r.text()));
    }
    for p in f.store.public_answers(100).await.unwrap() {
        let uri = format!("/answers/{}", p.slug);
        let r = send(&f.app, Request::get(&uri).body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, StatusCode::OK);
        seen.push((uri, r.text()));
    }
    for (uri, body) in &seen {
        assert!(!body.contains(canary), "{uri} shows the canary");
    }
    // The owner does see it: the check above could fail.
    let mine = send(&f.app, bare("GET", "/api/records", &a, None)).await;
    assert!(mine.text().contains(canary), "{}", mine.text());
    // Nothing in clear at rest: on SQLite every file of the database's folder,
    // WAL included; on PostgreSQL every file of the cluster's data directory
    // (all the databases of this test binary), after a CHECKPOINT so that the
    // heap and index files hold what the WAL does.
    let files = match &f.dir {
        Some(dir) => testing::files_under(dir.path()),
        None => {
            testing::checkpoint().await;
            testing::files_under(&testing::pg_cluster().unwrap().data_dir())
        }
    };
    assert!(!files.is_empty(), "{:?}: no database files found", f.db);
    for path in &files {
        // A PostgreSQL file can vanish while we scan (another test's work).
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        assert!(
            !testing::contains(&bytes, canary.as_bytes()),
            "{:?}: {} holds the canary in clear",
            f.db,
            path.display()
        );
    }
}
