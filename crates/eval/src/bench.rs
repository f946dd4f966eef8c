//! `sextant bench`: how fast and how big.
//!
//! Ingest and cold asks run as child processes of the real binary, so their
//! wall time and peak memory are what a user sees; warm asks run in-process
//! over the MedQuAD questions against one open knowledge base.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;
use sextant_answer::Engine;

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
    pub passages: usize,
    pub warm_questions: usize,
    pub warm_ask_ms_p50: f64,
    pub warm_ask_ms_p95: f64,
    pub warm_ask_ms_mean: f64,
    pub cold_runs: usize,
    /// `sextant ask` wall time from process start to exit, milliseconds.
    pub cold_ask_ms_p50: f64,
    pub cold_ask_ms_max: f64,
    /// Peak RSS of a cold `sextant ask` process, MiB.
    pub cold_ask_peak_rss_mib: Option<f64>,
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
    use std::io::Read;
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args(args)
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
}

pub fn run(input: &BenchInput<'_>, progress: &dyn Fn(&str)) -> Result<BenchReport> {
    let mut report = BenchReport {
        machine: machine(),
        ingest_seconds: None,
        reingest_unchanged_seconds: None,
        ingest_peak_rss_mib: None,
        passages: 0,
        warm_questions: 0,
        warm_ask_ms_p50: 0.0,
        warm_ask_ms_p95: 0.0,
        warm_ask_ms_mean: 0.0,
        cold_runs: input.cold_runs,
        cold_ask_ms_p50: 0.0,
        cold_ask_ms_max: 0.0,
        cold_ask_peak_rss_mib: None,
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
        let (secs, rss) = run_child(
            input.exe,
            &["--data", &data, "--kb", &kb, "ingest", "-q", "--force"],
        )?;
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
    progress("warm asks");
    let engine = Engine::open(kb_path)?;
    report.passages = engine.kb().len();
    let mut warm = Vec::with_capacity(input.questions.len());
    for q in input.questions {
        let started = Instant::now();
        let _ = engine.ask(q)?;
        warm.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    warm.sort_by(f64::total_cmp);
    report.warm_questions = warm.len();
    report.warm_ask_ms_p50 = quantile(&warm, 0.5);
    report.warm_ask_ms_p95 = quantile(&warm, 0.95);
    report.warm_ask_ms_mean = warm.iter().sum::<f64>() / warm.len().max(1) as f64;
    Ok(report)
}

/// The report as text.
pub fn table(r: &BenchReport) -> String {
    let opt = |v: Option<f64>, unit: &str| {
        v.map_or("not measured".to_string(), |v| format!("{v:.2} {unit}"))
    };
    format!(
        "machine: {}\n\
         full-corpus ingest:            {}\n\
         re-ingest, unchanged corpus:   {}\n\
         ingest peak RSS:               {}\n\
         passages:                      {}\n\
         warm ask ({} questions):      p50 {:.2} ms, p95 {:.2} ms, mean {:.2} ms\n\
         cold `sextant ask` ({} runs):   p50 {:.1} ms, max {:.1} ms\n\
         cold ask peak RSS:             {}\n",
        r.machine,
        opt(r.ingest_seconds, "s"),
        opt(r.reingest_unchanged_seconds, "s"),
        opt(r.ingest_peak_rss_mib, "MiB"),
        r.passages,
        r.warm_questions,
        r.warm_ask_ms_p50,
        r.warm_ask_ms_p95,
        r.warm_ask_ms_mean,
        r.cold_runs,
        r.cold_ask_ms_p50,
        r.cold_ask_ms_max,
        opt(r.cold_ask_peak_rss_mib, "MiB"),
    )
}
