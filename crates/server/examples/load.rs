//! Bounded load test of the web app on loopback: the real server (the
//! anonymous-only app over the real knowledge base, default `Config`) is
//! served on `127.0.0.1:0`, and a minimal HTTP/1.1 client in the same
//! process drives `POST /api/ask` over real TCP at a fixed concurrency (one
//! keep-alive connection per worker) for a bounded number of requests.
//! Prints machine info and a Markdown table: answers/s and p50/p95/p99
//! latency, in three runs, each against a fresh server:
//!
//! 1. **every answer computed**: the answer cache off, lay questions cycled —
//!    the cost of the engine itself (what a stream of never-seen questions
//!    gets);
//! 2. **Zipf**: the cache on and empty at the start, questions drawn from
//!    the lay-question file with a Zipf (s = 1) popularity, as web queries
//!    are — some asked often, most rarely;
//! 3. **20 questions repeated**: the cache on and empty at the start.
//!
//! ```text
//! cargo run --release -p sextant-server --example load -- [--kb KB] [--models DIR] [--concurrency 16] [--requests 400] [--questions N]
//! ```
//!
//! `--kb` defaults to Sextant's usual knowledge base (`$SEXTANT_KB`, else
//! `~/.local/share/sextant/kb`); `--questions` (default: all of them) is how
//! many distinct questions the first run cycles through, spread evenly over
//! `crates/eval/data/lay-questions.tsv`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sextant_server::{app, AppState, Config};
use tokio::net::{TcpListener, TcpStream};

mod common;
use common::{all_questions, cpu_model, ms, open_engine, spread, Res};

const REPEATED_SET: usize = 20;
const WARMUP: usize = 3;
const DIRECT_SAMPLE: usize = 20;

struct Args {
    kb: Option<PathBuf>,
    models: Option<PathBuf>,
    concurrency: usize,
    requests: usize,
    questions: Option<usize>,
}

fn positive(flag: &str, v: String) -> Res<usize> {
    let n: usize = v.parse().map_err(|e| format!("{flag}: {e}"))?;
    if n == 0 {
        return Err(format!("{flag} must be at least 1").into());
    }
    Ok(n)
}

fn args() -> Res<Args> {
    let mut a = Args {
        kb: None,
        models: None,
        concurrency: 16,
        requests: 400,
        questions: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--kb" => a.kb = Some(PathBuf::from(value()?)),
            "--models" => a.models = Some(PathBuf::from(value()?)),
            "--concurrency" => a.concurrency = positive(&flag, value()?)?,
            "--requests" => a.requests = positive(&flag, value()?)?,
            "--questions" => a.questions = Some(positive(&flag, value()?)?),
            "-h" | "--help" => {
                println!(
                    "usage: load [--kb KB] [--models DIR] [--concurrency 16] [--requests 400] [--questions N]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    Ok(a)
}

// --- a minimal HTTP/1.1 client over a keep-alive TcpStream ---------------
//
// Written on `readable`/`try_read` and `writable`/`try_write`, which need
// only tokio's `net` feature.

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    host: String,
}

struct Response {
    status: u16,
    body: Vec<u8>,
    close: bool,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Res<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            host: addr.to_string(),
        })
    }

    async fn write_all(&self, mut data: &[u8]) -> Res<()> {
        while !data.is_empty() {
            self.stream.writable().await?;
            match self.stream.try_write(data) {
                Ok(0) => return Err("connection closed while writing".into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Reads more bytes into the buffer; an error at end of stream.
    async fn fill(&mut self) -> Res<()> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            self.stream.readable().await?;
            match self.stream.try_read(&mut chunk) {
                Ok(0) => return Err("connection closed by the server".into()),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn post_json(&mut self, path: &str, body: &[u8]) -> Res<Response> {
        let mut req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        )
        .into_bytes();
        req.extend_from_slice(body);
        self.write_all(&req).await?;

        // The head.
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            if self.buf.len() > 64 * 1024 {
                return Err("response head larger than 64 KiB".into());
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .map_err(|_| "response head is not UTF-8")?
            .to_string();
        self.buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with("HTTP/1.") {
            return Err(format!("bad status line {status_line:?}").into());
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut length = None;
        let mut close = version == "HTTP/1.0";
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .parse::<usize>()
                        .map_err(|_| format!("bad Content-Length {value:?}"))?,
                );
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(format!("unexpected Transfer-Encoding {value:?}").into());
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        let length = length.ok_or("response without Content-Length")?;

        // The body.
        while self.buf.len() < length {
            self.fill().await?;
        }
        let body: Vec<u8> = self.buf.drain(..length).collect();
        Ok(Response {
            status,
            body,
            close,
        })
    }
}

/// One ask: status 200 and a JSON body with a `kind`.
async fn ask(conn: &mut Conn, body: &[u8]) -> Res<()> {
    let r = conn.post_json("/api/ask", body).await?;
    let snippet = || String::from_utf8_lossy(&r.body[..r.body.len().min(300)]).to_string();
    if r.status != 200 {
        return Err(format!("status {}: {}", r.status, snippet()).into());
    }
    let v: Value = serde_json::from_slice(&r.body)
        .map_err(|e| format!("body not JSON ({e}): {}", snippet()))?;
    if !v.get("kind").is_some_and(|k| k.is_string()) {
        return Err(format!("answer without a kind: {}", snippet()).into());
    }
    if r.close {
        return Err("server asked to close the connection".into());
    }
    Ok(())
}

fn ask_body(q: &str) -> Vec<u8> {
    serde_json::json!({"question": q, "personalize": false})
        .to_string()
        .into_bytes()
}

// --- measurement ------------------------------------------------------------

#[derive(Default)]
struct Outcome {
    lat: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    reconnects: usize,
}

struct Run {
    name: String,
    distinct: usize,
    /// Cache hits and misses during the run.
    hits: u64,
    misses: u64,
    requests: usize,
    out: Outcome,
    wall: Duration,
    cpu: CpuSample,
}

/// One ask per entry of `seq` (an index into `qs`), from `concurrency`
/// workers, one keep-alive connection each.
async fn load(
    addr: SocketAddr,
    qs: &[String],
    seq: Arc<Vec<usize>>,
    concurrency: usize,
) -> Res<(Outcome, Duration)> {
    let requests = seq.len();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(qs.iter().map(|q| ask_body(q)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    // Connect every worker first, so connection set-up is not timed.
    let mut conns = Vec::new();
    for _ in 0..concurrency {
        conns.push(Conn::open(addr).await?);
    }
    let t = Instant::now();
    let mut tasks = Vec::new();
    for mut conn in conns {
        let bodies = bodies.clone();
        let next = next.clone();
        let seq = seq.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let body = &bodies[seq[i]];
                let s = Instant::now();
                match ask(&mut conn, body).await {
                    Ok(()) => out.lat.push(s.elapsed()),
                    Err(e) => {
                        out.errors += 1;
                        out.first_error.get_or_insert_with(|| e.to_string());
                        // Start afresh: the connection may be in any state.
                        match Conn::open(addr).await {
                            Ok(c) => {
                                conn = c;
                                out.reconnects += 1;
                            }
                            Err(_) => break,
                        }
                    }
                }
            }
            out
        }));
    }
    let mut all = Outcome::default();
    for task in tasks {
        let o = task.await?;
        all.lat.extend(o.lat);
        all.errors += o.errors;
        all.reconnects += o.reconnects;
        if all.first_error.is_none() {
            all.first_error = o.first_error;
        }
    }
    let wall = t.elapsed();
    let done = all.lat.len() + all.errors;
    all.errors += requests.saturating_sub(done); // workers that gave up
    Ok((all, wall))
}

/// `n` draws of ranks `0..k` with P(rank r) ∝ 1/(r+1)^s, from a fixed
/// seed (xorshift64*), so every run asks the same sequence.
fn zipf(k: usize, n: usize, s: f64) -> Vec<usize> {
    let weights: Vec<f64> = (1..=k).map(|r| 1.0 / (r as f64).powf(s)).collect();
    let total: f64 = weights.iter().sum();
    let mut cdf = Vec::with_capacity(k);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cdf.push(acc);
    }
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let u = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
            cdf.partition_point(|&c| c < u).min(k - 1)
        })
        .collect()
}

/// A fresh server (anonymous-only, default config but for the cache size)
/// on 127.0.0.1:0.
async fn start_server(
    engine: Arc<sextant_answer::Engine>,
    cache_entries: usize,
) -> Res<(
    SocketAddr,
    AppState,
    tokio::task::JoinHandle<std::io::Result<()>>,
)> {
    let config = Config {
        answer_cache_entries: cache_entries,
        ..Config::default()
    };
    let state = AppState::new(engine, config);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let served = state.clone();
    let handle = tokio::spawn(async move {
        axum::serve(
            listener,
            app(served).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Ok((addr, state, handle))
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// --- machine info -------------------------------------------------------------

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn mem_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_else(|| "unknown".into())
}

/// CPU time in clock ticks (assumed 100 per second, as on Linux x86 and
/// arm64): this process's user+system, and the whole machine's busy and
/// total time.
#[derive(Clone, Copy, Default)]
struct CpuSample {
    proc_ticks: u64,
    busy_ticks: u64,
    total_ticks: u64,
}

const TICKS_PER_S: f64 = 100.0;

fn cpu_sample() -> CpuSample {
    let proc_ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name (which may hold spaces).
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15, i.e. 11 and 12 here.
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    let (busy_ticks, total_ticks) = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().next()?;
            let v: Vec<u64> = line
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            let total: u64 = v.iter().take(8).sum();
            let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
            Some((total - idle, total))
        })
        .unwrap_or((0, 0));
    CpuSample {
        proc_ticks,
        busy_ticks,
        total_ticks,
    }
}

impl CpuSample {
    fn since(self, before: CpuSample) -> CpuSample {
        CpuSample {
            proc_ticks: self.proc_ticks.saturating_sub(before.proc_ticks),
            busy_ticks: self.busy_ticks.saturating_sub(before.busy_ticks),
            total_ticks: self.total_ticks.saturating_sub(before.total_ticks),
        }
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = rt.block_on(run()) {
        eprintln!("load: error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Res<()> {
    let a = args()?;
    let kb = sextant_kb::default_kb(a.kb.as_deref());
    let load_at_start = loadavg();

    let t = Instant::now();
    let (engine, dense_note) = open_engine(&kb, a.models.as_deref())?;
    let open_time = t.elapsed();
    let engine = Arc::new(engine);
    let pages = engine.kb().pages().len();

    let config = Config::default();
    let permits = config.max_concurrent_answers;
    let retriever = config.retriever;
    let cache_entries = config.answer_cache_entries;
    sextant_server::security::quiet_panic_hook();

    let all = all_questions()?;
    let main_qs = spread(&all, a.questions.unwrap_or(all.len()).min(all.len()));
    let small_qs = spread(&all, REPEATED_SET);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);

    // Warm up over the socket (cache off): the first answers load indexes,
    // vectors and the model.
    {
        let (addr, _, server) = start_server(engine.clone(), 0).await?;
        let mut conn = Conn::open(addr).await?;
        for q in main_qs.iter().take(WARMUP) {
            ask(&mut conn, &ask_body(q)).await?;
        }
        server.abort();
    }

    // The engine alone, one at a time, on the same thread pool the server
    // uses: the cost of an answer, and so the ceiling on answers/s.
    let sample = spread(&all, DIRECT_SAMPLE);
    let direct = {
        let engine = engine.clone();
        tokio::task::spawn_blocking(move || -> Res<Vec<Duration>> {
            let mut v = Vec::new();
            for q in &sample {
                let t = Instant::now();
                let ans = engine.ask_with(q, retriever)?;
                v.push(t.elapsed());
                std::hint::black_box(ans);
            }
            Ok(v)
        })
        .await??
    };
    let direct_mean = direct.iter().sum::<Duration>() / direct.len() as u32;
    let ceiling = permits.min(cores) as f64 / direct_mean.as_secs_f64();

    let n = a.requests;
    let cycled: Vec<usize> = (0..n).map(|i| i % main_qs.len()).collect();
    let plan: [(&str, &Vec<String>, Vec<usize>, usize); 3] = [
        (
            "every answer computed (cache off), lay questions cycled",
            &main_qs,
            cycled,
            0,
        ),
        (
            "Zipf (s = 1) over the lay questions, cache on (empty at start)",
            &main_qs,
            zipf(main_qs.len(), n, 1.0),
            cache_entries,
        ),
        (
            "20 questions repeated, cache on (empty at start)",
            &small_qs,
            (0..n).map(|i| i % small_qs.len()).collect(),
            cache_entries,
        ),
    ];
    let mut runs = Vec::new();
    for (name, qs, seq, cache) in plan {
        let mut distinct = seq.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let (addr, state, server) = start_server(engine.clone(), cache).await?;
        let before = cpu_sample();
        let (out, wall) = load(addr, qs, Arc::new(seq), a.concurrency).await?;
        let cpu = cpu_sample().since(before);
        server.abort();
        let stats = state.cache_stats();
        runs.push(Run {
            name: name.to_string(),
            distinct: distinct.len(),
            hits: stats.hits,
            misses: stats.misses,
            requests: n,
            out,
            wall,
            cpu,
        });
    }

    println!("## Sextant server load test (loopback TCP, HTTP/1.1 keep-alive)\n");
    println!(
        "- CPU: {} ({cores} logical cores available); memory {}",
        cpu_model(),
        mem_total()
    );
    println!(
        "- load average at start: {load_at_start}; at end: {}",
        loadavg()
    );
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
    println!(
        "- server: anonymous-only `AppState::new`, default `Config` (retriever {retriever:?}, {permits} answer permits, answer cache of {cache_entries} unless off), `axum::serve` on 127.0.0.1, a fresh one per run"
    );
    println!(
        "- client: same process, {} workers, one keep-alive connection each, {} requests per run; `POST /api/ask`, 200 and a JSON body with a `kind` required",
        a.concurrency, a.requests
    );
    println!(
        "- engine alone (`Engine::ask_with`, one at a time, {} questions): mean {} ms, p50 {} ms per answer → ceiling ≈ {ceiling:.1} answers/s on {} permits\n",
        direct.len(),
        ms(direct_mean),
        ms({
            let mut d = direct.clone();
            d.sort();
            pct(&d, 50.0)
        }),
        permits.min(cores)
    );

    println!("| run | distinct questions | requests | cache hits | errors | wall s | answers/s | p50 ms | p95 ms | p99 ms | max ms | CPU: this process / machine busy |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in &runs {
        let mut lat = r.out.lat.clone();
        lat.sort();
        let ok = lat.len();
        let secs = r.wall.as_secs_f64();
        let total_s = r.cpu.total_ticks as f64 / TICKS_PER_S;
        let cpu_note = if r.cpu.total_ticks == 0 {
            "unknown".to_string()
        } else {
            format!(
                "{:.1} / {:.1} of {:.1} core·s ({:.1} ms CPU per answer)",
                r.cpu.proc_ticks as f64 / TICKS_PER_S,
                r.cpu.busy_ticks as f64 / TICKS_PER_S,
                total_s,
                r.cpu.proc_ticks as f64 / TICKS_PER_S * 1000.0 / ok.max(1) as f64
            )
        };
        let hits = if r.hits + r.misses == 0 {
            "—".to_string()
        } else {
            format!("{:.0}%", 100.0 * r.hits as f64 / (r.hits + r.misses) as f64)
        };
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.1} | {} | {} | {} | {} | {} |",
            r.name,
            r.distinct,
            r.requests,
            hits,
            r.out.errors,
            secs,
            ok as f64 / secs,
            ms(pct(&lat, 50.0)),
            ms(pct(&lat, 95.0)),
            ms(pct(&lat, 99.0)),
            ms(lat.last().copied().unwrap_or_default()),
            cpu_note
        );
    }
    for r in &runs {
        if let Some(e) = &r.out.first_error {
            println!(
                "\n{}: {} errors ({} reconnects); first: {e}",
                r.name, r.out.errors, r.out.reconnects
            );
        }
    }
    // A load test that lost requests fails (CI runs it).
    let failed: usize = runs.iter().map(|r| r.out.errors).sum();
    if failed > 0 {
        return Err(format!("{failed} requests failed").into());
    }
    Ok(())
}
