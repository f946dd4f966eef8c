//! `sextant bench`: how fast and how big.
//!
//! Ingest and cold asks run as child processes of the real binary, so their
//! wall time and peak memory are what a user sees; warm asks (BM25 and
//! hybrid), query embedding with the vector scan, and batched passage
//! embedding run in-process against one open knowledge base.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;
use sextant_answer::{Engine, Retriever};
use sextant_embed::{Embedder, Precision, VectorSearch};

use crate::{quantile, EvalError, Result};

/// The bench figures.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub machine: String,
    /// Full-corpus ingest into an empty knowledge base (child process), seconds.
    pub ingest_seconds: Option<f64>,
    /// A second ingest of the unchanged corpus (no work), seconds.
    pub reingest_unchanged_seconds: Option<f64>,
    /// Peak RSS of the ingest process, MiB.
    pub ingest_peak_rss_mib: Option<f64>,
    /// Whether the timed ingest started from an empty embedding cache.
    pub ingest_cold_cache: bool,
    pub passages: usize,
    /// Batched embedding of a sample of passages (title, section, text).
    pub embed_sample: usize,
    /// Mean tokens per embedded sample passage (after truncation at 256).
    pub embed_mean_tokens: Option<f64>,
    /// The precision the knowledge base's vectors (and so its questions)
    /// were embedded at.
    pub kb_precision: Option<String>,
    /// Each precision measured on the same sample and questions, f32 (the
    /// old path) first.
    pub embedding: Vec<EmbedFigures>,
    /// Cosine between the two precisions' vectors of the sample passages.
    pub int8_cosine_mean: Option<f64>,
    pub int8_cosine_min: Option<f64>,
    pub warm_questions: usize,
    /// Warm in-process asks per retriever.
    pub warm: Vec<WarmFigures>,
    pub cold_runs: usize,
    /// `sextant ask` wall time from process start to exit, milliseconds.
    pub cold_ask_ms_p50: f64,
    pub cold_ask_ms_max: f64,
    /// Peak RSS of a cold `sextant ask` process, MiB.
    pub cold_ask_peak_rss_mib: Option<f64>,
    /// Safety routing (triage, dosing, scope, ambiguity) over the labeled
    /// set's questions, microseconds per question.
    pub routing_questions: usize,
    pub routing_us_p50: f64,
    pub routing_us_p95: f64,
    pub routing_us_max: f64,
    /// Mean routing time as a share of the mean warm ask (default retrieval).
    pub routing_share_of_ask: Option<f64>,
    /// Whether routing included the learned layer (the model was loaded).
    pub routing_learned: bool,
}

/// Embedding speed at one precision.
#[derive(Debug, Clone, Serialize)]
pub struct EmbedFigures {
    pub precision: String,
    pub passages_per_s: f64,
    /// Embedding one question and scanning every passage vector, ms.
    pub query_vector_ms_p50: f64,
    pub query_vector_ms_p95: f64,
}

/// Warm ask latency of one retriever.
#[derive(Debug, Clone, Serialize)]
pub struct WarmFigures {
    pub retriever: String,
    pub ms_p50: f64,
    pub ms_p95: f64,
    pub ms_mean: f64,
}

/// A one-line description of this machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| format!(", {:.0} GiB RAM", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores{mem}")
}

/// Runs the binary; returns wall seconds and the child's own peak RSS (MiB).
fn run_child(exe: &Path, args: &[&str]) -> Result<(f64, Option<f64>)> {
    run_child_env(exe, args, &[])
}

/// [`run_child`] with extra environment variables.
fn run_child_env(exe: &Path, args: &[&str], env: &[(&str, &Path)]) -> Result<(f64, Option<f64>)> {
    use std::io::Read;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| EvalError::Io {
            path: exe.display().to_string(),
            source,
        })?;
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let (status, rss) = wait_with_rusage(child.id() as libc::pid_t);
    let secs = started.elapsed().as_secs_f64();
    if status != Some(0) {
        return Err(EvalError::Other(format!(
            "`sextant {}` failed: {}",
            args.join(" "),
            err.trim()
        )));
    }
    Ok((secs, rss))
}

/// `wait4` on one child: its exit code and its own peak RSS in MiB.
fn wait_with_rusage(pid: libc::pid_t) -> (Option<i32>, Option<f64>) {
    let mut status: libc::c_int = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: pid is our unwaited child; status and usage point to valid memory.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
    if rc != pid {
        return (None, None);
    }
    // SAFETY: wait4 succeeded, so it filled `usage`.
    let usage = unsafe { usage.assume_init() };
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, Some(usage.ru_maxrss as f64 / 1024.0))
}

/// Inputs of a bench run.
pub struct BenchInput<'a> {
    /// The `sextant` binary (for child processes).
    pub exe: &'a Path,
    /// The data folder.
    pub data: &'a Path,
    /// Knowledge base used for asks (ingested first if `scratch_kb` is None and it is missing).
    pub kb: &'a Path,
    /// When set, full ingest is timed into this (empty) folder, which is then used for asks.
    pub scratch_kb: Option<&'a Path>,
    pub questions: &'a [String],
    pub cold_runs: usize,
    /// The models folder.
    pub models: &'a Path,
    /// Time the full ingest with an empty embedding cache (embeds every
    /// passage: about 35-40 minutes on 2 cores) instead of the shared one.
    pub cold_cache: bool,
}

pub fn run(input: &BenchInput<'_>, progress: &dyn Fn(&str)) -> Result<BenchReport> {
    let mut report = BenchReport {
        machine: machine(),
        ingest_seconds: None,
        reingest_unchanged_seconds: None,
        ingest_peak_rss_mib: None,
        ingest_cold_cache: input.cold_cache,
        passages: 0,
        embed_sample: 0,
        embed_mean_tokens: None,
        kb_precision: None,
        embedding: Vec::new(),
        int8_cosine_mean: None,
        int8_cosine_min: None,
        warm_questions: 0,
        warm: Vec::new(),
        cold_runs: input.cold_runs,
        cold_ask_ms_p50: 0.0,
        cold_ask_ms_max: 0.0,
        cold_ask_peak_rss_mib: None,
        routing_questions: 0,
        routing_us_p50: 0.0,
        routing_us_p95: 0.0,
        routing_us_max: 0.0,
        routing_share_of_ask: None,
        routing_learned: false,
    };
    let data = input.data.to_string_lossy().to_string();
    let kb_path = input.scratch_kb.unwrap_or(input.kb);
    let kb = kb_path.to_string_lossy().to_string();
    if input.scratch_kb.is_none() && sextant_kb::store::current_generation(kb_path)?.is_none() {
        progress("ingesting (no knowledge base yet)");
        run_child(input.exe, &["--data", &data, "--kb", &kb, "ingest", "-q"])?;
    }
    // Cold asks first, so the children's peak RSS is the ask's alone.
    let seed = "Is surgery an option for metastatic liver cancer?";
    if input.scratch_kb.is_some() {
        progress("ingesting the full corpus");
        let models = input.models.to_string_lossy().to_string();
        let mut args = vec!["--data", &data, "--kb", &kb, "--models", &models];
        args.extend(["ingest", "-q", "--force"]);
        let cache = kb_path.join("..").join("bench-embedding-cache");
        let (secs, rss) = if input.cold_cache {
            run_child_env(input.exe, &args, &[("SEXTANT_CACHE", &cache)])?
        } else {
            run_child(input.exe, &args)?
        };
        let _ = std::fs::remove_dir_all(&cache);
        report.ingest_seconds = Some(secs);
        report.ingest_peak_rss_mib = rss;
        progress("re-ingesting the unchanged corpus");
        report.reingest_unchanged_seconds =
            Some(run_child(input.exe, &["--data", &data, "--kb", &kb, "ingest", "-q"])?.0);
    }
    progress("cold asks");
    let mut cold = Vec::new();
    let mut peak: Option<f64> = None;
    for _ in 0..input.cold_runs {
        let (secs, rss) = run_child(input.exe, &["--kb", &kb, "ask", "--json", seed])?;
        cold.push(secs * 1000.0);
        peak = match (peak, rss) {
            (Some(p), Some(r)) => Some(p.max(r)),
            (p, r) => p.or(r),
        };
    }
    report.cold_ask_peak_rss_mib = peak;
    cold.sort_by(f64::total_cmp);
    report.cold_ask_ms_p50 = quantile(&cold, 0.5);
    report.cold_ask_ms_max = cold.last().copied().unwrap_or(0.0);
    let engine = Engine::open(kb_path)?;
    let kb_precision = engine
        .kb()
        .manifest()
        .vectors
        .as_ref()
        .map(|v| Precision::of_model_id(&v.model));
    let embedder = match kb_precision.map_or_else(
        || Embedder::load(input.models),
        |p| Embedder::load_with(input.models, p),
    ) {
        Ok(e) => Some(e),
        Err(e) => {
            progress(&format!("no dense figures: {e}"));
            None
        }
    };
    report.kb_precision = kb_precision.map(|p| p.as_str().to_string());
    let engine = engine.with_embedder(embedder);
    report.passages = engine.kb().len();
    if let (Some(_), Some(v)) = (engine.embedder(), engine.kb().vectors()) {
        let kb = engine.kb();
        let step = (kb.len() / EMBED_SAMPLE).max(1);
        let mut texts = Vec::new();
        for ord in (0..kb.len()).step_by(step).take(EMBED_SAMPLE) {
            let p = kb.passage(ord as u32)?;
            if let Some(page) = kb.page(p.page) {
                texts.push(sextant_kb::embed_text(page, &p));
            }
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        report.embed_sample = refs.len();
        let mut vectors = Vec::new();
        // The old path (f32) and the new (int8) on the same texts, one
        // after the other.
        for precision in [Precision::F32, Precision::Int8] {
            let e = Embedder::load_with(input.models, precision)?;
            report.embed_mean_tokens = Some(e.mean_tokens(&refs)?);
            progress(&format!(
                "embedding a sample of passages ({})",
                precision.as_str()
            ));
            // As `sextant ingest` runs it: one batch per core, candle's own
            // threading off. Nothing else runs while the variable is set.
            let before = std::env::var_os("RAYON_NUM_THREADS");
            std::env::set_var("RAYON_NUM_THREADS", "1");
            let started = Instant::now();
            let embedded = e.embed(&refs, &|_| {});
            let secs = started.elapsed().as_secs_f64();
            match before {
                Some(v) => std::env::set_var("RAYON_NUM_THREADS", v),
                None => std::env::remove_var("RAYON_NUM_THREADS"),
            }
            vectors.push(embedded?);
            progress(&format!(
                "query embedding and vector scan ({})",
                precision.as_str()
            ));
            let mut ms = Vec::with_capacity(input.questions.len());
            for q in input.questions {
                let started = Instant::now();
                let qv = e.embed_one(q)?;
                let _ = v.search(&qv, 100);
                ms.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            ms.sort_by(f64::total_cmp);
            report.embedding.push(EmbedFigures {
                precision: precision.as_str().to_string(),
                passages_per_s: refs.len() as f64 / secs,
                query_vector_ms_p50: quantile(&ms, 0.5),
                query_vector_ms_p95: quantile(&ms, 0.95),
            });
        }
        let cos: Vec<f64> = vectors[0]
            .chunks(sextant_embed::DIM)
            .zip(vectors[1].chunks(sextant_embed::DIM))
            .map(|(a, b)| sextant_embed::dot(a, b) as f64)
            .collect();
        report.int8_cosine_mean = Some(cos.iter().sum::<f64>() / cos.len().max(1) as f64);
        report.int8_cosine_min = cos.iter().copied().reduce(f64::min);
    }
    for r in [Retriever::Bm25, Retriever::Hybrid] {
        if engine.effective(r) != r {
            continue;
        }
        progress(&format!("warm asks ({r})"));
        let mut warm = Vec::with_capacity(input.questions.len());
        for q in input.questions {
            let started = Instant::now();
            let _ = engine.ask_with(q, r)?;
            warm.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        warm.sort_by(f64::total_cmp);
        report.warm_questions = warm.len();
        report.warm.push(WarmFigures {
            retriever: r.as_str().to_string(),
            ms_p50: quantile(&warm, 0.5),
            ms_p95: quantile(&warm, 0.95),
            ms_mean: warm.iter().sum::<f64>() / warm.len().max(1) as f64,
        });
    }
    // Routing, measured over the safety sets (every question 5 times): the
    // rules and the learned layer, over embeddings computed beforehand (the
    // engine computes the question's embedding once, for routing and dense
    // retrieval; its cost is the "query embedding" line above).
    progress("safety routing");
    let mut questions = Vec::new();
    for (_, path) in crate::safety::default_sets() {
        let (rows, _) = crate::safety::load(&path)?;
        questions.extend(rows.into_iter().map(|r| r.question));
    }
    let vectors: Vec<Option<Vec<f32>>> = questions
        .iter()
        .map(|q| engine.question_vector(q).ok().flatten())
        .collect();
    let mut us = Vec::with_capacity(questions.len() * 5);
    for _ in 0..5 {
        for (q, v) in questions.iter().zip(&vectors) {
            let started = Instant::now();
            let r = sextant_answer::route_with(q, engine.drug_names(), v.as_deref());
            us.push(started.elapsed().as_secs_f64() * 1e6);
            std::hint::black_box(r);
        }
    }
    report.routing_learned = vectors.iter().any(Option::is_some);
    us.sort_by(f64::total_cmp);
    report.routing_questions = questions.len();
    report.routing_us_p50 = quantile(&us, 0.5);
    report.routing_us_p95 = quantile(&us, 0.95);
    report.routing_us_max = us.last().copied().unwrap_or(0.0);
    let mean_us = us.iter().sum::<f64>() / us.len().max(1) as f64;
    report.routing_share_of_ask = report.warm.last().map(|w| mean_us / (w.ms_mean * 1000.0));
    Ok(report)
}

/// Passages embedded for the throughput figure.
const EMBED_SAMPLE: usize = 512;

/// The report as text.
pub fn table(r: &BenchReport) -> String {
    let opt = |v: Option<f64>, unit: &str| {
        v.map_or("not measured".to_string(), |v| format!("{v:.2} {unit}"))
    };
    let mut o = format!(
        "machine: {}\n\
         full-corpus ingest ({} embedding cache): {}\n\
         re-ingest, unchanged corpus:   {}\n\
         ingest peak RSS:               {}\n\
         passages:                      {}\n\
         embedding ({} passages, mean {} tokens; knowledge base at {}):\n",
        r.machine,
        if r.ingest_cold_cache {
            "empty"
        } else {
            "shared"
        },
        opt(r.ingest_seconds, "s"),
        opt(r.reingest_unchanged_seconds, "s"),
        opt(r.ingest_peak_rss_mib, "MiB"),
        r.passages,
        r.embed_sample,
        r.embed_mean_tokens
            .map_or("?".into(), |t| format!("{t:.0}")),
        r.kb_precision.as_deref().unwrap_or("no vectors"),
    );
    for e in &r.embedding {
        o.push_str(&format!(
            "  {:<4}: {:.1} passages/s; query embedding + vector scan p50 {:.2} ms, p95 {:.2} ms\n",
            e.precision, e.passages_per_s, e.query_vector_ms_p50, e.query_vector_ms_p95
        ));
    }
    if let [old, new] = &r.embedding[..] {
        o.push_str(&format!(
            "  int8 / f32: {:.2}× passages/s, {:.2}× faster questions; cosine mean {}, min {}\n",
            new.passages_per_s / old.passages_per_s,
            old.query_vector_ms_p50 / new.query_vector_ms_p50,
            r.int8_cosine_mean.map_or("?".into(), |c| format!("{c:.5}")),
            r.int8_cosine_min.map_or("?".into(), |c| format!("{c:.5}")),
        ));
    }
    for w in &r.warm {
        o.push_str(&format!(
            "warm ask, {:<6} ({} questions): p50 {:.2} ms, p95 {:.2} ms, mean {:.2} ms\n",
            w.retriever, r.warm_questions, w.ms_p50, w.ms_p95, w.ms_mean
        ));
    }
    o.push_str(&format!(
        "cold `sextant ask` ({} runs):   p50 {:.1} ms, max {:.1} ms\n\
         cold ask peak RSS:             {}\n",
        r.cold_runs,
        r.cold_ask_ms_p50,
        r.cold_ask_ms_max,
        opt(r.cold_ask_peak_rss_mib, "MiB"),
    ));
    o.push_str(&format!(
        "safety routing{} ({} questions × 5): p50 {:.0} µs, p95 {:.0} µs, max {:.0} µs; {} of a warm ask\n",
        if r.routing_learned {
            ", rules + learned layer, embedding apart"
        } else {
            ", rules"
        },
        r.routing_questions,
        r.routing_us_p50,
        r.routing_us_p95,
        r.routing_us_max,
        r.routing_share_of_ask
            .map_or("?".to_string(), |s| format!("{:.1}%", s * 100.0)),
    ));
    o
}
