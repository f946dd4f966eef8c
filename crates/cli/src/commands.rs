//! The subcommands. Each opens what it needs, calls the library, prints.

use std::path::Path;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sextant_kb::Progress;

pub fn ingest(data: Option<&Path>, kb: Option<&Path>, force: bool, quiet: bool) -> Result<()> {
    let data = sextant_kb::locate_data(data)?;
    let corpus = sextant_kb::corpus_dir(&data);
    let kb_root = sextant_kb::default_kb(kb);
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<12} [{bar:30}] {pos}/{len} {elapsed}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message("reading");
    let report = sextant_kb::ingest(&corpus, &kb_root, force, &|p| match p {
        Progress::Read { files } => {
            bar.set_length(files as u64);
            bar.set_message("parsing");
        }
        Progress::Parsed { done, total } => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        Progress::Indexing { passages } => {
            bar.set_message(format!("indexing {passages} passages"));
        }
    })
    .with_context(|| format!("ingesting {}", corpus.display()))?;
    bar.finish_and_clear();
    for issue in &report.issues {
        eprintln!("warning: {issue}");
    }
    let m = &report.manifest;
    if report.up_to_date {
        println!(
            "Knowledge base is up to date ({} pages, {} passages) at {} — nothing to do ({:.2} s).",
            m.pages,
            m.passages,
            report.kb_dir.display(),
            report.seconds
        );
        return Ok(());
    }
    println!("Ingested {} in {:.1} s", corpus.display(), report.seconds);
    println!("  files      {}", m.files);
    println!("  pages      {}", m.pages);
    println!("  skipped    {}", m.skipped.len());
    for (reason, n) in report.skipped_by_reason() {
        println!("    {n:>4}  {}", reason.as_str());
    }
    println!(
        "  passages   {} ({} duplicate passages dropped)",
        m.passages, m.duplicates_dropped
    );
    println!(
        "  dropped    {} table lines, {} images",
        m.table_lines_dropped, m.images_dropped
    );
    println!("  kb         {}", report.kb_dir.display());
    Ok(())
}

pub fn ask(kb: Option<&Path>, question: &str, markdown: bool, json: bool) -> Result<()> {
    // Check the question before touching the knowledge base: a bad question
    // is the person's to fix, whatever state the KB is in.
    sextant_answer::analyze::validate(question)?;
    let engine = sextant_answer::Engine::open(&sextant_kb::default_kb(kb))?;
    let answer = engine.ask(question)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else if markdown {
        print!("{}", sextant_answer::render::markdown(&answer));
    } else {
        print!("{}", sextant_answer::render::text(&answer));
    }
    Ok(())
}
pub fn eval_medquad(
    data: Option<&Path>,
    kb: Option<&Path>,
    json: bool,
    limit: Option<usize>,
) -> Result<()> {
    let data = sextant_kb::locate_data(data)?;
    let dir = data.join("eval/medquad/1_CancerGov_QA");
    let (mut items, issues) = sextant_eval::medquad::load(&dir)?;
    for i in &issues {
        eprintln!("warning: {i}");
    }
    if let Some(n) = limit {
        items.truncate(n);
    }
    let engine = sextant_answer::Engine::open(&sextant_kb::default_kb(kb))?;
    let bar = ProgressBar::new(items.len() as u64);
    let report =
        sextant_eval::medquad::run(&engine, &items, &|done, _| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", sextant_eval::medquad::table(&report));
    }
    Ok(())
}
pub fn bench(
    data: Option<&Path>,
    kb: Option<&Path>,
    json: bool,
    skip_ingest: bool,
    cold_runs: usize,
) -> Result<()> {
    let data = sextant_kb::locate_data(data)?;
    let kb = sextant_kb::default_kb(kb);
    let (items, _) = sextant_eval::medquad::load(&data.join("eval/medquad/1_CancerGov_QA"))?;
    let questions: Vec<String> = items.into_iter().map(|i| i.question).collect();
    let exe = std::env::current_exe().context("locating the sextant binary")?;
    let scratch = tempfile_dir()?;
    let input = sextant_eval::bench::BenchInput {
        exe: &exe,
        data: &data,
        kb: &kb,
        scratch_kb: (!skip_ingest).then_some(scratch.as_path()),
        questions: &questions,
        cold_runs: cold_runs.max(1),
    };
    let report = sextant_eval::bench::run(&input, &|step| {
        if !json {
            eprintln!("bench: {step}");
        }
    });
    let _ = std::fs::remove_dir_all(&scratch);
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", sextant_eval::bench::table(&report));
    }
    Ok(())
}

/// A fresh folder for the timed ingest, removed afterwards.
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("sextant-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
