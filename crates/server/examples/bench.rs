//! In-process benchmark of the web app: every request goes through the
//! whole router (hardening layers included) with `tower::ServiceExt::oneshot`,
//! no socket, against the real knowledge base and a SQLite store in a
//! temporary folder. Prints machine info and a Markdown table.
//!
//! ```text
//! cargo run --release -p sextant-server --example bench -- --kb KB [--data DATA] [--models DIR] [--n N]
//! ```
//!
//! `--kb` defaults to Sextant's usual knowledge base (`$SEXTANT_KB`, else
//! `~/.local/share/sextant/kb`); `--data` to the usual data folder (it holds
//! the record uploaded); `--n` (default 50) is how many questions are asked.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use sextant_answer::Retriever;
use sextant_server::{app, AppState, Config};
use sextant_store::{MasterKey, Store, SystemClock};
use tower::ServiceExt;

mod common;
use common::{all_questions, cpu_model, ms, open_engine, spread, Res};

const PATIENT: &str =
    "records/mcode/ctm-app/src/utils/r4_test_patients/TrialMatching_Patient01.json";
const PERSONAL_Q: &str = "Is surgery an option for metastatic liver cancer?";
const PASSWORD: &str = "correct horse battery staple";
const BOUNDARY: &str = "sextantBENCHBOUNDARY7";
const ACCOUNTS: usize = 10;
const UPLOADS: usize = 10;
const PERSONAL_ASKS: usize = 10;
const WORKERS: usize = 8;

struct Args {
    kb: Option<PathBuf>,
    data: Option<PathBuf>,
    models: Option<PathBuf>,
    n: usize,
}

fn args() -> Res<Args> {
    let mut a = Args {
        kb: None,
        data: None,
        models: None,
        n: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--kb" => a.kb = Some(PathBuf::from(value()?)),
            "--data" => a.data = Some(PathBuf::from(value()?)),
            "--models" => a.models = Some(PathBuf::from(value()?)),
            "--n" => {
                a.n = value()?.parse().map_err(|e| format!("--n: {e}"))?;
                if a.n == 0 {
                    return Err("--n must be at least 1".into());
                }
            }
            "-h" | "--help" => {
                println!("usage: bench [--kb KB] [--data DATA] [--models DIR] [--n N]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(a)
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Res<Value> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "{e}: {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(300)])
            )
            .into()
        })
    }
    fn expect(self, want: StatusCode, what: &str) -> Res<Reply> {
        if self.status != want {
            return Err(format!(
                "{what}: expected {want}, got {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body[..self.body.len().min(500)])
            )
            .into());
        }
        Ok(self)
    }
}

async fn send(app: &Router, req: Request<Body>) -> Res<Reply> {
    let res = app.clone().oneshot(req).await?;
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await?.to_bytes().to_vec();
    Ok(Reply {
        status,
        headers,
        body,
    })
}

#[derive(Clone)]
struct Who {
    cookie: String,
    csrf: String,
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
    b.body(Body::from(body.to_string())).expect("valid request")
}

fn with_session(method: &str, uri: &str, who: &Who) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::COOKIE, &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .body(Body::empty())
        .expect("valid request")
}

fn upload_req(name: &str, bytes: &[u8], who: &Who) -> Request<Body> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/json\r\n\r\n"
        )
        .as_bytes(),
    );
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
        .expect("valid request")
}

fn ask_req(q: &str, personalize: bool, who: Option<&Who>, stream: bool) -> Request<Body> {
    let uri = if stream {
        "/api/ask/stream"
    } else {
        "/api/ask"
    };
    json_req(
        "POST",
        uri,
        &json!({"question": q, "personalize": personalize}),
        who,
    )
}

async fn ask(app: &Router, q: &str) -> Res<Value> {
    send(app, ask_req(q, false, None, false))
        .await?
        .expect(StatusCode::OK, "POST /api/ask")?
        .json()
}

// Registers and logs in; returns the session and the two durations.
async fn sign_up(app: &Router, email: &str) -> Res<(Who, Duration, Duration)> {
    let creds = json!({"email": email, "password": PASSWORD});
    let t = Instant::now();
    // Each account from its own address: registrations are limited per
    // client (5 in 15 minutes).
    let mut req = json_req("POST", "/api/account/register", &creds, None);
    let n = email.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, n],
            1,
        ))));
    send(app, req)
        .await?
        .expect(StatusCode::ACCEPTED, "register")?;
    let reg = t.elapsed();
    let t = Instant::now();
    let r = send(app, json_req("POST", "/api/account/login", &creds, None))
        .await?
        .expect(StatusCode::OK, "login")?;
    let login = t.elapsed();
    let set = r
        .headers
        .get(header::SET_COOKIE)
        .ok_or("login set no cookie")?
        .to_str()?;
    let cookie = set.split(';').next().unwrap_or_default().to_string();
    let csrf = r.json()?["csrf"]
        .as_str()
        .ok_or("login returned no csrf")?
        .to_string();
    Ok((Who { cookie, csrf }, reg, login))
}

#[derive(Default)]
struct Stats(Vec<Duration>);

impl Stats {
    fn push(&mut self, d: Duration) {
        self.0.push(d);
    }
    fn pct(&self, p: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
        v[rank.clamp(1, v.len()) - 1]
    }
    fn total(&self) -> Duration {
        self.0.iter().sum()
    }
}

struct Table(Vec<[String; 5]>);

impl Table {
    fn row(&mut self, what: &str, n: usize, s: &Stats, note: &str) {
        self.0.push([
            what.to_string(),
            n.to_string(),
            ms(s.pct(50.0)),
            ms(s.pct(95.0)),
            note.to_string(),
        ]);
    }
    fn print(&self) {
        println!("| measurement | n | p50 ms | p95 ms | notes |");
        println!("|---|---:|---:|---:|---|");
        for r in &self.0 {
            println!("| {} | {} | {} | {} | {} |", r[0], r[1], r[2], r[3], r[4]);
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = rt.block_on(run()) {
        eprintln!("bench: error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Res<()> {
    let a = args()?;
    let kb = sextant_kb::default_kb(a.kb.as_deref());
    let data = sextant_kb::locate_data(a.data.as_deref()).map_err(|e| {
        format!("no data folder (it holds the record uploaded; pass --data DATA): {e}")
    })?;
    let patient_path = data.join(PATIENT);
    let patient = std::fs::read(&patient_path)
        .map_err(|e| format!("cannot read {}: {e}", patient_path.display()))?;

    let t = Instant::now();
    let (engine, dense_note) = open_engine(&kb, a.models.as_deref())?;
    let open_time = t.elapsed();
    let engine = Arc::new(engine);
    let pages = engine.kb().pages().len();

    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("sextant.db").display());
    let store = Store::open(&url, MasterKey::generate(), Arc::new(SystemClock)).await?;
    // No answer cache: every row times an answer computed (the load
    // example measures the cache).
    let config = Config {
        secure_cookies: false,
        retriever: Retriever::DEFAULT,
        answer_cache_entries: 0,
        ..Config::default()
    };
    let permits = config.max_concurrent_answers;
    let app = app(AppState::with_store(engine.clone(), config, store));

    let qs = spread(&all_questions()?, a.n);
    let distinct = {
        let mut v = qs.clone();
        v.sort();
        v.dedup();
        v.len()
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);

    println!("## Sextant server benchmark (in-process, tower oneshot, no socket)\n");
    println!("- CPU: {} ({} logical cores available)", cpu_model(), cores);
    println!(
        "- build: {}",
        if cfg!(debug_assertions) {
            "debug (numbers are not representative: use --release)"
        } else {
            "release"
        }
    );
    println!(
        "- KB: {} ({pages} pages), opened in {} ms; {dense_note}",
        kb.display(),
        ms(open_time)
    );
    println!("- store: SQLite in a temp dir; server answer permits: {permits}");
    println!(
        "- questions: {} asked ({distinct} distinct) from crates/eval/data/lay-questions.tsv\n",
        qs.len()
    );

    // Warm up: the first answers load indexes, vectors and the model.
    for q in qs.iter().take(3) {
        let _ = engine.ask_with(q, Retriever::DEFAULT)?;
        ask(&app, q).await?;
    }

    let mut table = Table(Vec::new());

    // Anonymous ask: HTTP vs direct, interleaved (alternating which goes first).
    let mut http = Stats::default();
    let mut direct = Stats::default();
    let mut retriever_seen = String::new();
    for (i, q) in qs.iter().enumerate() {
        let do_direct = |direct: &mut Stats| -> Res<()> {
            let t = Instant::now();
            let ans = tokio::task::block_in_place(|| engine.ask_with(q, Retriever::DEFAULT))?;
            direct.push(t.elapsed());
            std::hint::black_box(ans);
            Ok(())
        };
        if i % 2 == 1 {
            do_direct(&mut direct)?;
        }
        let t = Instant::now();
        let v = ask(&app, q).await?;
        http.push(t.elapsed());
        if retriever_seen.is_empty() {
            retriever_seen = v["retriever"].to_string();
        }
        if i % 2 == 0 {
            do_direct(&mut direct)?;
        }
    }
    let ratio = http.total().as_secs_f64() / direct.total().as_secs_f64().max(1e-9);
    let p50_ratio = http.pct(50.0).as_secs_f64() / direct.pct(50.0).as_secs_f64().max(1e-9);
    table.row(
        "`POST /api/ask` (anonymous)",
        qs.len(),
        &http,
        &format!("retriever {retriever_seen}"),
    );
    table.row(
        "`Engine::ask_with(q, Retriever::DEFAULT)` (direct)",
        qs.len(),
        &direct,
        "same questions, same run",
    );
    table.0.push([
        "HTTP+JSON overhead (HTTP / direct)".into(),
        qs.len().to_string(),
        format!("×{p50_ratio:.3}"),
        String::new(),
        format!(
            "sum ×{ratio:.3}; mean extra {} ms per ask",
            ms((http.total().saturating_sub(direct.total())) / qs.len() as u32)
        ),
    ]);

    // Streaming: time to the first event and to the last.
    let mut first = Stats::default();
    let mut last = Stats::default();
    let mut events = 0usize;
    let mut gap = Duration::ZERO;
    for q in &qs {
        let t = Instant::now();
        let res = app.clone().oneshot(ask_req(q, false, None, true)).await?;
        if res.status() != StatusCode::OK {
            return Err(format!("POST /api/ask/stream: {}", res.status()).into());
        }
        let mut body = res.into_body();
        let mut got_first = None;
        let mut text = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame?;
            if let Some(data) = frame.data_ref() {
                if !data.is_empty() && got_first.is_none() {
                    got_first = Some(t.elapsed());
                }
                text.extend_from_slice(data);
            }
        }
        let end = t.elapsed();
        let lines: Vec<&[u8]> = text
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let last_line: Value = serde_json::from_slice(lines.last().copied().unwrap_or(b"{}"))?;
        if last_line["type"] != "done" {
            return Err(format!("stream did not end with done: {last_line}").into());
        }
        events += lines.len();
        gap += end.saturating_sub(got_first.unwrap_or(end));
        first.push(got_first.unwrap_or(end));
        last.push(end);
    }
    let nstream = first.0.len();
    table.row(
        "`POST /api/ask/stream`: first event",
        nstream,
        &first,
        &format!(
            "{:.1} events per answer",
            events as f64 / nstream.max(1) as f64
        ),
    );
    table.row(
        "`POST /api/ask/stream`: last event",
        nstream,
        &last,
        &format!(
            "mean first→last {:.3} ms: the answer is computed before the first event",
            gap.as_secs_f64() * 1000.0 / nstream.max(1) as f64
        ),
    );

    // Accounts: register (argon2id hash) and login (argon2id verify).
    let mut reg = Stats::default();
    let mut login = Stats::default();
    let mut people = Vec::new();
    for i in 0..ACCOUNTS {
        let (who, r, l) = sign_up(&app, &format!("bench{i}@example.org")).await?;
        reg.push(r);
        login.push(l);
        people.push(who);
    }
    table.row(
        "`POST /api/account/register`",
        ACCOUNTS,
        &reg,
        "argon2id hash",
    );
    table.row(
        "`POST /api/account/login`",
        ACCOUNTS,
        &login,
        "argon2id verify, new session",
    );

    // Records: upload (sniff, read once, encrypt, merge the kept extracts),
    // profile, delete (merge the remaining extracts; no record is read).
    let who = people[0].clone();
    let mut up = Stats::default();
    let mut prof = Stats::default();
    let mut del = Stats::default();
    let name = Path::new(PATIENT)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("patient.json");
    let mut facts = 0usize;
    for i in 0..UPLOADS {
        let t = Instant::now();
        let r = send(&app, upload_req(name, &patient, &who))
            .await?
            .expect(StatusCode::CREATED, "POST /api/records")?;
        up.push(t.elapsed());
        let v = r.json()?;
        let id = v["records"][0]["id"]
            .as_str()
            .map(str::to_string)
            .or_else(|| v["records"][0]["id"].as_i64().map(|n| n.to_string()))
            .ok_or("upload returned no record id")?;
        let t = Instant::now();
        let p = send(&app, with_session("GET", "/api/profile", &who))
            .await?
            .expect(StatusCode::OK, "GET /api/profile")?;
        prof.push(t.elapsed());
        facts = p.json()?["facts"].as_array().map_or(0, Vec::len);
        if i + 1 < UPLOADS {
            let t = Instant::now();
            send(
                &app,
                with_session("DELETE", &format!("/api/records/{id}"), &who),
            )
            .await?
            .expect(StatusCode::NO_CONTENT, "DELETE /api/records/{id}")?;
            del.push(t.elapsed());
        }
    }
    table.row(
        &format!(
            "`POST /api/records` ({} KiB FHIR bundle)",
            patient.len() / 1024
        ),
        UPLOADS,
        &up,
        "multipart, read once, encrypt, merge kept extracts",
    );
    table.row(
        "`GET /api/profile`",
        UPLOADS,
        &prof,
        "decrypt saved profile",
    );
    table.row(
        "`DELETE /api/records/{id}`",
        del.0.len(),
        &del,
        "merges the remaining kept extracts; reads no record",
    );

    // Personalized ask on the uploaded record.
    send(
        &app,
        json_req(
            "POST",
            "/api/account/settings",
            &json!({"personalize": true}),
            Some(&who),
        ),
    )
    .await?
    .expect(StatusCode::OK, "POST /api/account/settings")?;
    let mut personal = Stats::default();
    let mut personalized = 0usize;
    for _ in 0..PERSONAL_ASKS {
        let t = Instant::now();
        let v = send(&app, ask_req(PERSONAL_Q, true, Some(&who), false))
            .await?
            .expect(StatusCode::OK, "personalized POST /api/ask")?
            .json()?;
        personal.push(t.elapsed());
        if !v["personalization"].is_null() {
            personalized += 1;
        }
    }
    table.row(
        "`POST /api/ask` personalized",
        PERSONAL_ASKS,
        &personal,
        &format!(
            "{PERSONAL_Q:?}; {personalized}/{PERSONAL_ASKS} tailored; {facts} profile facts from the record; saves the answer encrypted"
        ),
    );

    // Concurrency: the same questions, 1 at a time vs 8 tasks at once.
    let t = Instant::now();
    for q in &qs {
        ask(&app, q).await?;
    }
    let serial = t.elapsed();
    let next = Arc::new(AtomicUsize::new(0));
    let qs_shared = Arc::new(qs.clone());
    let t = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let app = app.clone();
        let next = next.clone();
        let qs = qs_shared.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(q) = qs.get(i) else { break };
                let s = Instant::now();
                ask(&app, q).await?;
                lat.push(s.elapsed());
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(lat)
        }));
    }
    let mut conc_lat = Stats::default();
    for task in tasks {
        for d in task.await?? {
            conc_lat.push(d);
        }
    }
    let concurrent = t.elapsed();
    let tput1 = qs.len() as f64 / serial.as_secs_f64();
    let tput8 = qs.len() as f64 / concurrent.as_secs_f64();
    table.0.push([
        "throughput, 1 at a time".into(),
        qs.len().to_string(),
        String::new(),
        String::new(),
        format!("{tput1:.2} answers/s ({:.2} s)", serial.as_secs_f64()),
    ]);
    table.row(
        &format!("throughput, {WORKERS} concurrent tasks"),
        qs.len(),
        &conc_lat,
        &format!(
            "{tput8:.2} answers/s ({:.2} s), ×{:.2} vs 1 at a time; {permits} answer permits on {cores} cores",
            concurrent.as_secs_f64(),
            tput8 / tput1
        ),
    );

    table.print();
    Ok(())
}
