//! The subcommands. Each opens what it needs, calls the library, prints.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use sextant_answer::Retriever;
use sextant_kb::Progress;

/// Embedding progress as plain lines on stderr, one per tenth of the work,
/// for logs without a terminal.
struct PlainProgress {
    on: bool,
    /// When embedding began (its first report).
    started: std::sync::OnceLock<std::time::Instant>,
    /// The last tenth reported, plus one (0: nothing yet).
    reported: std::sync::atomic::AtomicUsize,
}

impl PlainProgress {
    fn new(on: bool) -> PlainProgress {
        PlainProgress {
            on,
            started: std::sync::OnceLock::new(),
            reported: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn embedding(&self, done: usize, total: usize) {
        use std::sync::atomic::Ordering;
        if !self.on || total == 0 {
            return;
        }
        let tenth = done * 10 / total + 1;
        if self.reported.fetch_max(tenth, Ordering::Relaxed) >= tenth {
            return;
        }
        let secs = self
            .started
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64();
        let rate = done as f64 / secs.max(1e-3);
        let left = if done == 0 || rate <= 0.0 {
            String::new()
        } else if done >= total {
            format!(", {rate:.0} texts/s, done in {:.1} min", secs / 60.0)
        } else {
            format!(
                ", {rate:.0} texts/s, about {:.0} min left",
                ((total - done) as f64 / rate / 60.0).ceil()
            )
        };
        eprintln!(
            "embedding: {done}/{total} passages and sentences ({}%){left}",
            done * 100 / total
        );
    }
}

/// Loads the embedding model. A model that is not installed is a warning
/// (the caller goes on without dense retrieval, and says so); a damaged one
/// is an error.
pub(crate) fn load_embedder(models: Option<&Path>) -> Result<Option<sextant_embed::Embedder>> {
    load_embedder_at(models, sextant_embed::Precision::from_env()?)
}

/// [`load_embedder`] at a chosen precision (a knowledge base's questions
/// are embedded at the precision of its passages).
pub(crate) fn load_embedder_at(
    models: Option<&Path>,
    precision: sextant_embed::Precision,
) -> Result<Option<sextant_embed::Embedder>> {
    let dir = sextant_embed::models_dir(models);
    match sextant_embed::Embedder::load_with(&dir, precision) {
        Ok(e) => Ok(Some(e)),
        Err(e @ sextant_embed::EmbedError::ModelMissing { .. }) => {
            eprintln!("warning: {e}");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn ingest(
    data: Option<&Path>,
    kb: Option<&Path>,
    models: Option<&Path>,
    force: bool,
    quiet: bool,
) -> Result<()> {
    let data = sextant_kb::locate_data(data)?;
    let corpus = sextant_kb::corpus_dir(&data);
    let kb_root = sextant_kb::default_kb(kb);
    let embedder = load_embedder(models)?;
    if embedder.is_none() {
        eprintln!("warning: building a knowledge base without vectors: answers will use BM25 only until the model is installed and `sextant ingest` runs again");
    }
    let options = sextant_kb::IngestOptions {
        force,
        embedder: embedder.as_ref(),
        cache_dir: None,
    };
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:<12} [{bar:30}] {pos}/{len} {elapsed} (eta {eta})",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message("reading");
    // Without a terminal (CI, a container build) the bar draws nothing:
    // embedding, the one long step, says where it is in plain lines.
    let plain = PlainProgress::new(!quiet && !std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let report = sextant_kb::ingest(&corpus, &kb_root, &options, &|p| match p {
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
        Progress::WaitingForCache => {
            bar.set_message("waiting for another ingest to finish embedding");
        }
        Progress::Embedding { done, total } => {
            if done == 0 {
                bar.set_message("embedding");
                bar.reset_elapsed();
            }
            bar.set_length(total as u64);
            bar.set_position(done as u64);
            plain.embedding(done, total);
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
        "  dropped    {} table lines, {} images, {} image captions",
        m.table_lines_dropped, m.images_dropped, m.captions_dropped
    );
    match &m.vectors {
        Some(v) => println!(
            "  vectors    {} × {} ({} embedded now, {} from the cache; {}), and {} sentences",
            m.passages, v.dim, v.embedded, v.cached, v.model, v.sentences
        ),
        None => println!("  vectors    none (BM25 only)"),
    }
    println!("  kb         {}", report.kb_dir.display());
    Ok(())
}

/// Opens the knowledge base with what `retrievers` need. When dense
/// retrieval is wanted but cannot run, says why on stderr: the caller goes on
/// with BM25, visibly.
fn open_engine(
    kb: Option<&Path>,
    models: Option<&Path>,
    retrievers: &[Retriever],
) -> Result<sextant_answer::Engine> {
    let engine = sextant_answer::Engine::open(&sextant_kb::default_kb(kb))?;
    if retrievers.iter().all(|&r| r == Retriever::Bm25) {
        return Ok(engine);
    }
    // A KB without vectors makes the model useless: do not load it.
    if engine.kb().vectors().is_none() {
        if let Some(why) = engine.dense_unavailable() {
            eprintln!("warning: {why}");
        }
        return Ok(engine);
    }
    let precision = engine
        .kb()
        .manifest()
        .vectors
        .as_ref()
        .map(|v| sextant_embed::Precision::of_model_id(&v.model));
    let embedder = match precision {
        Some(p) => load_embedder_at(models, p)?,
        None => load_embedder(models)?,
    };
    let engine = engine.with_embedder(embedder);
    if let Some(why) = engine.dense_unavailable() {
        eprintln!("warning: {why}");
    }
    Ok(engine)
}

/// The region for emergency numbers: `--locale`, else `$SEXTANT_LOCALE`,
/// else the default (US).
fn locale(flag: Option<&str>) -> Result<&'static sextant_answer::Locale> {
    let env = std::env::var("SEXTANT_LOCALE")
        .ok()
        .filter(|v| !v.is_empty());
    match flag.map(str::to_string).or(env) {
        None => Ok(sextant_answer::Locale::default_locale()),
        Some(tag) => sextant_answer::Locale::find(&tag).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown locale {tag:?}: use one of {}",
                sextant_answer::Locale::codes()
            )
        }),
    }
}

/// A saved profile (JSON with `primary_cancers`), or record files read now.
pub(crate) fn load_profile(path: &Path) -> Result<sextant_records::Profile> {
    let bytes = std::fs::read(path).with_context(|| format!("{}", path.display()))?;
    if let Ok(p) = serde_json::from_slice::<sextant_records::Profile>(&bytes) {
        let v: serde_json::Value = serde_json::from_slice(&bytes)?;
        if v.get("primary_cancers").is_some() {
            return Ok(p);
        }
    }
    Ok(sextant_records::read_bytes(
        &path.display().to_string(),
        &bytes,
    )?)
}

/// Where things are: the data folder, the knowledge base, the models.
pub struct Paths<'a> {
    pub data: Option<&'a Path>,
    pub kb: Option<&'a Path>,
    pub models: Option<&'a Path>,
}

/// How an answer is printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Markdown,
    Json,
    /// NDJSON events, as the server's `/api/ask/stream` sends them.
    Stream,
}

pub fn ask(
    paths: &Paths,
    locale_flag: Option<&str>,
    profile: Option<&Path>,
    retriever: Retriever,
    question: &str,
    output: Output,
    llm: &crate::llm::LlmArgs,
) -> Result<()> {
    // Check the question before touching the knowledge base: a bad question
    // is the person's to fix, whatever state the KB is in.
    sextant_answer::analyze::validate(question)?;
    let backend = llm.backend()?;
    let locale = locale(locale_flag)?;
    let profile = profile.map(load_profile).transpose()?;
    let mut engine = open_engine(paths.kb, paths.models, &[retriever])?.with_locale(locale);
    // Biomarker evidence for personal answers, when the data folder has it.
    if profile.is_some() {
        if let Ok(data) = sextant_kb::locate_data(paths.data) {
            engine = engine.with_civic(sextant_answer::civic::Civic::load(&data)?);
        }
    }
    let stream = output == Output::Stream;
    let answer = match &backend {
        None => engine.ask_personal(question, retriever, profile.as_ref())?,
        Some(b) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            engine.ask_generated_with(
                question,
                retriever,
                profile.as_ref(),
                b.as_ref(),
                &llm.options(),
                &mut |ev| {
                    if stream {
                        if let Some(v) = sextant_server::api::generated_event(&ev) {
                            // Stop generating when nobody reads any more.
                            if writeln!(out, "{v}").and_then(|()| out.flush()).is_err() {
                                return std::ops::ControlFlow::Break(());
                            }
                        }
                    }
                    std::ops::ControlFlow::Continue(())
                },
            )?
        }
    };
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
        Output::Markdown => print!("{}", sextant_answer::render::markdown(&answer)),
        Output::Text => print!("{}", sextant_answer::render::text(&answer)),
        Output::Stream => {
            for ev in sextant_server::api::events(&answer) {
                println!("{ev}");
            }
        }
    }
    Ok(())
}
/// The engine `sextant serve` answers with: the KB, the model when the
/// retrieval needs it, the region's emergency numbers, and CIViC evidence
/// for personal answers when the data folder has it.
pub fn serving_engine(
    paths: &Paths,
    locale_flag: Option<&str>,
    retriever: Retriever,
) -> Result<sextant_answer::Engine> {
    let locale = locale(locale_flag)?;
    let mut engine = open_engine(paths.kb, paths.models, &[retriever])?.with_locale(locale);
    if let Ok(data) = sextant_kb::locate_data(paths.data) {
        engine = engine.with_civic(sextant_answer::civic::Civic::load(&data)?);
    }
    Ok(engine)
}

pub fn eval_medquad(
    data: Option<&Path>,
    kb: Option<&Path>,
    models: Option<&Path>,
    retriever: Retriever,
    json: bool,
    limit: Option<usize>,
    llm: &crate::llm::LlmArgs,
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
    let engine = open_engine(kb, models, &[retriever])?;
    if let Some(backend) = llm.backend()? {
        return eval_medquad_llm(&engine, &items, retriever, backend.as_ref(), llm, json);
    }
    let bar = ProgressBar::new(items.len() as u64);
    let report = sextant_eval::medquad::run(&engine, &items, retriever, &|done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", sextant_eval::medquad::table(&report));
    }
    Ok(())
}
/// `eval medquad --llm`: every question answered by the language model
/// (verified), against MedQuAD's reference answers.
fn eval_medquad_llm(
    engine: &sextant_answer::Engine,
    items: &[sextant_eval::medquad::Item],
    retriever: Retriever,
    backend: &dyn sextant_llm::ChatBackend,
    llm: &crate::llm::LlmArgs,
    json: bool,
) -> Result<()> {
    use sextant_answer::generate::GeneratedEvent;
    let mut figures = sextant_eval::llm::LlmFigures::new();
    let options = llm.options();
    let bar = ProgressBar::new(items.len() as u64);
    for item in items {
        let mut stats = None;
        let answer = engine.ask_generated_with(
            &item.question,
            retriever,
            None,
            backend,
            &options,
            &mut |ev| {
                if let GeneratedEvent::Finished(s) = ev {
                    stats = Some(s);
                }
                std::ops::ControlFlow::Continue(())
            },
        )?;
        figures.add(&answer, stats.as_ref(), Some(&item.answer));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let report = figures.report();
    let info = backend.info();
    if json {
        let mut v = serde_json::to_value(&report)?;
        v["backend"] = info.kind.into();
        v["model"] = info.model.into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("model: {} ({})", info.model, info.kind);
        print!("{}", sextant_eval::llm::llm_table(&report));
    }
    Ok(())
}

/// `eval adversarial`: the verifier against the hand-written attacks.
pub fn eval_adversarial(kb: Option<&Path>, models: Option<&Path>, json: bool) -> Result<()> {
    use sextant_eval::llm;
    let set = llm::load_adversarial(Path::new(llm::ADVERSARIAL_SET))?;
    let engine = open_engine(kb, models, &[Retriever::Hybrid])?;
    let report = llm::run_adversarial(&set, engine.drug_names(), engine.embedder())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", llm::adversarial_table(&report));
    }
    Ok(())
}

pub fn eval_retrieval(
    data: Option<&Path>,
    kb: Option<&Path>,
    compare_kb: Option<&Path>,
    models: Option<&Path>,
    retrievers: &[Retriever],
    json: bool,
    limit: Option<usize>,
) -> Result<()> {
    use sextant_eval::retrieval;
    let data = sextant_kb::locate_data(data)?;
    let (items, issues) = sextant_eval::medquad::load(&data.join("eval/medquad/1_CancerGov_QA"))?;
    for i in &issues {
        eprintln!("warning: {i}");
    }
    let measure = |kb: Option<&Path>| -> Result<(String, retrieval::Report)> {
        let engine = open_engine(kb, models, retrievers)?;
        let mut queries = retrieval::medquad_queries(&engine, &items);
        let (lay, lay_issues) = retrieval::lay_queries(&engine, &items, retrieval::LAY_QUESTIONS);
        let (live, live_issues) =
            retrieval::liveqa_queries(&engine, &data, retrieval::LIVEQA_JUDGMENTS)?;
        for i in lay_issues.iter().chain(&live_issues) {
            eprintln!("warning: {i}");
        }
        if let Some(n) = limit {
            queries.truncate(n);
        }
        queries.extend(lay.into_iter().take(limit.unwrap_or(usize::MAX)));
        queries.extend(live.into_iter().take(limit.unwrap_or(usize::MAX)));
        let bar = ProgressBar::new(queries.len() as u64);
        let report = retrieval::run(&engine, &queries, retrievers, &|done, _| {
            bar.set_position(done as u64)
        })?;
        bar.finish_and_clear();
        let name = engine
            .embedder()
            .map_or("bm25 only", |e| e.precision().as_str())
            .to_string();
        Ok((name, report))
    };
    let (name, report) = measure(kb)?;
    let other = compare_kb.map(|k| measure(Some(k))).transpose()?;
    if json {
        let mut v = serde_json::json!({ "report": report, "vectors": name });
        if let Some((other_name, other)) = &other {
            v["compare"] = serde_json::json!({
                "report": other,
                "vectors": other_name,
                "largest_difference": retrieval::largest_difference(other, &report),
            });
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("knowledge base vectors: {name}");
    print!("{}", retrieval::table(&report));
    if let Some((other_name, other)) = other {
        println!("\ncompared knowledge base vectors: {other_name}");
        print!("{}", retrieval::table(&other));
        println!("\nside by side ({other_name} → {name}):");
        print!(
            "{}",
            retrieval::compare_table(&other_name, &other, &name, &report)
        );
        println!(
            "largest difference in hit@3 or MRR: {:.4}",
            retrieval::largest_difference(&other, &report)
        );
    }
    Ok(())
}

/// Reads record files into one profile and prints it. Exit status 2 when a
/// file cannot be read at all; parts that cannot be read are listed as issues.
pub fn profile(files: &[PathBuf], apply: Option<&Path>, edit: bool, json: bool) -> Result<()> {
    let mut profile = sextant_records::Profile::default();
    for f in files {
        profile.merge(load_profile(f)?);
    }
    if let Some(patch) = apply {
        let text =
            std::fs::read_to_string(patch).with_context(|| format!("{}", patch.display()))?;
        let patch: sextant_records::edit::Patch = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a correction patch", patch.display()))?;
        for issue in sextant_records::edit::apply(&mut profile, &patch) {
            eprintln!("warning: {issue}");
        }
    }
    if edit {
        let stdin = std::io::stdin();
        let patch = crate::review::review(&profile, &mut stdin.lock(), &mut std::io::stderr())?;
        for issue in sextant_records::edit::apply(&mut profile, &patch) {
            eprintln!("warning: {issue}");
        }
        eprintln!("{} changes applied.", patch.changes.len());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&profile)?);
    } else {
        print!("{}", sextant_records::render::text(&profile));
    }
    Ok(())
}

pub fn eval_safety(
    data: Option<&Path>,
    kb: Option<&Path>,
    models: Option<&Path>,
    json: bool,
    routing_only: bool,
    sets: &[PathBuf],
    train: bool,
) -> Result<()> {
    use sextant_eval::safety;
    let sets: Vec<(String, PathBuf)> = if sets.is_empty() {
        safety::default_sets()
            .into_iter()
            .map(|(n, p)| (n.to_string(), p))
            .collect()
    } else {
        sets.iter()
            .map(|p| {
                (
                    p.file_stem()
                        .map_or("set".into(), |s| s.to_string_lossy().into_owned()),
                    p.clone(),
                )
            })
            .collect()
    };
    let engine = if routing_only || train {
        None
    } else {
        Some(open_engine(kb, models, &[Retriever::DEFAULT])?)
    };
    // The learned layer reads the question's embedding: routing-only runs
    // load the model too when it is installed.
    let own_embedder = match engine.as_ref().and_then(|e| e.embedder()) {
        Some(_) => None,
        None => {
            let dir = sextant_embed::models_dir(models);
            if sextant_embed::embedder::model_present(&dir) {
                Some(sextant_embed::Embedder::load(&dir)?)
            } else {
                if !train {
                    eprintln!(
                        "warning: no embedding model in {}: routing by the rules alone, without the learned layer",
                        dir.display()
                    );
                }
                None
            }
        }
    };
    let embedder = engine
        .as_ref()
        .and_then(|e| e.embedder())
        .or(own_embedder.as_ref());
    let data = sextant_kb::locate_data(data)?;
    let ordinary_sets = ordinary_questions(&data)?;
    if train {
        return train_triage(embedder, &ordinary_sets, json);
    }
    let drugs: Vec<String> = engine
        .as_ref()
        .map(|e| e.drug_names().to_vec())
        .unwrap_or_default();
    let mut reports = Vec::new();
    for (name, path) in &sets {
        let (rows, issues) = safety::load(path)?;
        for i in &issues {
            eprintln!("warning: {i}");
        }
        reports.push(safety::run(name, &rows, &drugs, engine.as_ref(), embedder)?);
    }
    let mut ordinary = Vec::new();
    for (name, questions) in &ordinary_sets {
        ordinary.push(safety::ordinary(name, questions, &drugs, embedder)?);
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "sets": reports,
                "ordinary": ordinary,
                "learned_layer": embedder.is_some() && sextant_safety::Classifier::shipped().is_some(),
            }))?
        );
    } else {
        print!("{}", safety::format_reports(&reports));
        print!("{}", safety::format_ordinary(&ordinary));
    }
    Ok(())
}

/// The ordinary questions used as false-alarm controls: MedQuAD's CancerGov
/// questions, their lay rewrites, and the answers dev set.
fn ordinary_questions(data: &Path) -> Result<Vec<(String, Vec<String>)>> {
    let (items, _) = sextant_eval::medquad::load(&data.join("eval/medquad/1_CancerGov_QA"))?;
    let medquad: Vec<String> = items.into_iter().map(|i| i.question).collect();
    let lay_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../eval/data/lay-questions.tsv"),
    )?;
    let lay: Vec<String> = lay_text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t').map(|(_, q)| q.trim().to_string()))
        .collect();
    let (dev, _) = sextant_eval::answers::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../eval/data/answers-questions.tsv"),
    )?;
    let answers: Vec<String> = dev.into_iter().map(|q| q.question).collect();
    Ok(vec![
        ("medquad-cancergov".to_string(), medquad),
        ("lay-questions".to_string(), lay),
        ("answers-dev".to_string(), answers),
    ])
}

/// `eval safety --train`: trains and calibrates the learned layer and
/// writes it to crates/safety/data/classifier.tsv.
fn train_triage(
    embedder: Option<&sextant_embed::Embedder>,
    ordinary: &[(String, Vec<String>)],
    json: bool,
) -> Result<()> {
    use sextant_eval::{safety, triage_model};
    let Some(embedder) = embedder else {
        anyhow::bail!("training needs the embedding model: run scripts/fetch-models.sh");
    };
    const CALIBRATE: &[&str] = &["dev-e", safety::HELD_OUT];
    let mut train = Vec::new();
    let mut calibrate = Vec::new();
    // The scope gate: every labeled row but the unseen sets', about health
    // unless labeled out of scope.
    let mut gate = Vec::new();
    let about_health = |rows: &[safety::Row]| -> Vec<(String, bool)> {
        rows.iter()
            .map(|r| (r.question.clone(), r.expect != "out_of_scope"))
            .collect()
    };
    for (name, path) in safety::default_sets() {
        let (rows, _) = safety::load(&path)?;
        let pairs = triage_model::labeled(&rows);
        if CALIBRATE.contains(&name) {
            calibrate.extend(pairs);
            gate.extend(about_health(&rows));
        } else if name.starts_with("dev") {
            train.extend(pairs);
            gate.extend(about_health(&rows));
        }
        // The later held-out sets are neither: they stay unseen.
    }
    for path in safety::training_sets() {
        let (rows, _) = safety::load(&path)?;
        train.extend(triage_model::labeled(&rows));
        gate.extend(about_health(&rows));
    }
    // Ordinary questions: alternate ones train and calibrate.
    let mut ordinary_calibration = Vec::new();
    let mut ordinary_train = Vec::new();
    for (_, questions) in ordinary {
        for (i, q) in questions.iter().enumerate() {
            gate.push((q.clone(), true));
            if i % 2 == 0 {
                train.push((q.clone(), 0));
                ordinary_train.push(q.clone());
            } else {
                ordinary_calibration.push(q.clone());
            }
        }
    }
    let (scope_gate, gate_report) = triage_model::train_gate(embedder, &gate)?;
    let gate_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../safety/data/scope-gate.tsv");
    let gate_header = format!(
        "Scope gate: written by `sextant eval safety --train`; do not edit.\n\
         Logistic regression over the all-MiniLM-L6-v2 question embedding and the rules' reading: P(about health).\n\
         Trained on {:?} (off-topic, health) examples; health_at calibrated on out-of-fold scores.",
        gate_report.examples
    );
    let tmp = gate_path.with_extension("tsv.tmp");
    std::fs::write(&tmp, scope_gate.to_tsv(&gate_header))?;
    std::fs::rename(&tmp, &gate_path)?;
    let (model, report) = triage_model::train(
        embedder,
        &train,
        &calibrate,
        &ordinary_calibration,
        &ordinary_train,
    )?;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../safety/data/classifier.tsv");
    let header = format!(
        "Safety routing's learned layer: written by `sextant eval safety --train`; do not edit.\n\
         Logistic regression over the all-MiniLM-L6-v2 question embedding, classes routine/urgent/emergency.\n\
         Trained on {:?} (routine, urgent, emergency) examples; calibrated on {:?}.\n\
         threshold: P(emergency) for emergency; P(urgent)+P(emergency) for urgent.",
        report.train_examples, report.calibration_examples
    );
    let tmp = path.with_extension("tsv.tmp");
    std::fs::write(&tmp, model.to_tsv(&header))?;
    std::fs::rename(&tmp, &path)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "layer": report,
                "scope_gate": gate_report,
            }))?
        );
    } else {
        println!("wrote {}", path.display());
        println!("{report:#?}");
        println!("wrote {}", gate_path.display());
        println!("{gate_report:#?}");
    }
    Ok(())
}

/// `eval answers`: a question set answered for reviewers, with the
/// automatic checks and the stored judgments of unchanged answers.
/// An answers set by name (`dev`, `held-out`...) or path: (name, questions).
fn answers_set(set: &str) -> Result<(String, Vec<sextant_eval::answers::Question>)> {
    use sextant_eval::answers;
    let (name, path) = match answers::default_sets().into_iter().find(|(n, _)| *n == set) {
        Some((n, p)) => (n.to_string(), p),
        None => (
            Path::new(set)
                .file_stem()
                .map_or("set".into(), |s| s.to_string_lossy().into_owned()),
            PathBuf::from(set),
        ),
    };
    let (questions, issues) = answers::load(&path)?;
    for i in &issues {
        eprintln!("warning: {i}");
    }
    Ok((name, questions))
}

/// Writes what reviewers mark: `file` (the stored TSV) and `file.txt` (what
/// they read). Returns the second path.
fn write_for_reviewers(file: &Path, tsv: String, text: String) -> Result<PathBuf> {
    std::fs::write(file, tsv).with_context(|| format!("writing {}", file.display()))?;
    let txt = PathBuf::from(format!("{}.txt", file.display()));
    std::fs::write(&txt, text).with_context(|| format!("writing {}", txt.display()))?;
    Ok(txt)
}

/// A set's marks files in `dir` (`NAME-marks-*`), in order.
fn marks_files(dir: &Path, name: &str) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with(&format!("{name}-marks-")))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// `sextant eval answers --candidates FILE`.
pub fn answer_candidates(
    kb: Option<&Path>,
    models: Option<&Path>,
    set: &str,
    file: &Path,
    retriever: Retriever,
) -> Result<()> {
    use sextant_eval::sentences;
    let (_, questions) = answers_set(set)?;
    let engine = open_engine(kb, models, &[retriever])?;
    let cands = sentences::candidates(&engine, &questions, retriever, sentences::PER_QUESTION)?;
    let txt = write_for_reviewers(
        file,
        sentences::candidates_tsv(&questions, &cands),
        sentences::reviewer_file(&questions, &cands),
    )?;
    println!(
        "{} questions, {} candidate sentences: {} and {}",
        cands.len(),
        cands.values().map(Vec::len).sum::<usize>(),
        file.display(),
        txt.display()
    );
    Ok(())
}

/// `sextant eval answers --fit-sentences`.
pub fn fit_sentences(
    kb: Option<&Path>,
    models: Option<&Path>,
    set: &str,
    retriever: Retriever,
) -> Result<()> {
    use sextant_answer::sentence_model::{Model, SEMANTIC};
    use sextant_eval::sentences;
    let (name, questions) = answers_set(set)?;
    let dir = sentences::dir();
    let cands = dir.join(format!("{name}-candidates.tsv"));
    let mut marks = Vec::new();
    let files = marks_files(&dir, &name)?;
    for f in &files {
        let (m, issues) = sentences::load_marks(&cands, f)?;
        for i in &issues {
            eprintln!("warning: {i}");
        }
        marks.extend(m);
    }
    anyhow::ensure!(
        !marks.is_empty(),
        "no marks for set {name} in {}",
        dir.display()
    );
    let engine = open_engine(kb, models, &[retriever])?;
    let (examples, lost) = sentences::examples(&engine, &questions, &marks, retriever)?;
    let answers = examples.iter().filter(|e| e.2).count();
    let before = sentences::pairwise_accuracy(Model::shipped(), &examples);
    let (model, cv) = sentences::fit(&examples, &[]);
    let after = sentences::pairwise_accuracy(&model, &examples);
    // The model for knowledge bases without embeddings.
    let (lexical, lexical_cv) = sentences::fit(&examples, &SEMANTIC);
    println!(
        "{} marked sentences ({answers} answers) from {} files; {lost} no longer candidates",
        examples.len(),
        files.len()
    );
    println!("answers ranked above non-answers of the same question:");
    println!("  shipped model            {before:.3}");
    println!("  fitted, 5-fold (unseen)  {cv:.3}");
    println!("  fitted, on all marks     {after:.3}");
    println!("  without embeddings, 5-fold (unseen)  {lexical_cv:.3}");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../answer/data/sentence-model.tsv");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let head: String = old
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&path, head + &Model::pair_to_tsv(&model, &lexical))
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

/// `sextant eval answers --dispute-pairs FILE`.
pub fn dispute_pairs(
    kb: Option<&Path>,
    models: Option<&Path>,
    set: &str,
    file: &Path,
    retriever: Retriever,
) -> Result<()> {
    use sextant_eval::disputes;
    let (_, questions) = answers_set(set)?;
    let engine = open_engine(kb, models, &[retriever])?;
    let shown = disputes::shown(&engine, &questions, retriever)?;
    let txt = write_for_reviewers(
        file,
        disputes::shown_tsv(&shown),
        disputes::reviewer_file(&questions, &shown),
    )?;
    println!(
        "{} pairs: {} and {}",
        shown.len(),
        file.display(),
        txt.display()
    );
    Ok(())
}

/// `sextant eval answers --disputes`: the belief check measured against
/// every set's stored dispute marks (`SET-pairs.tsv` and `SET-marks-*.tsv`
/// in `crates/eval/data/answers-disputes/`), beside a logistic regression
/// over all the pairs' features on questions it was not fitted on.
pub fn eval_disputes(kb: Option<&Path>, models: Option<&Path>, retriever: Retriever) -> Result<()> {
    use sextant_eval::disputes;
    use sextant_eval::sentences;
    let dir = disputes::dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .filter_map(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            f.strip_suffix("-pairs.tsv").map(str::to_string)
        })
        .collect();
    names.sort();
    let engine = open_engine(kb, models, &[retriever])?;
    let (mut examples, mut lost, mut files) = (Vec::new(), 0, 0);
    for name in &names {
        let (_, questions) = answers_set(name)?;
        let pairs = dir.join(format!("{name}-pairs.tsv"));
        let mine = marks_files(&dir, name)?;
        let mut marks = Vec::new();
        for f in &mine {
            let (m, issues) = sentences::load_marks(&pairs, f)?;
            for i in &issues {
                eprintln!("warning: {i}");
            }
            marks.extend(m);
        }
        files += mine.len();
        let (ex, l) = disputes::examples(&engine, &questions, &marks, retriever)?;
        // Question ids are unique within a set, not across sets.
        examples.extend(ex.into_iter().map(|mut e| {
            e.id = format!("{name}/{}", e.id);
            e
        }));
        lost += l;
    }
    anyhow::ensure!(!examples.is_empty(), "no marks in {}", dir.display());
    let yes = examples.iter().filter(|e| e.disputes).count();
    println!(
        "{} marked pairs ({yes} disputes) from {files} files; {lost} no longer found",
        examples.len()
    );
    println!("questions whose quoted sentence disputes the premise (right) or does not (wrong):");
    let row = |label: &str, h: disputes::Held| {
        println!(
            "  {label:<52} right {:>3}  wrong {:>3}  of {} disputable  (AUC {:.3})",
            h.right, h.wrong, h.disputable, h.auc
        )
    };
    row("the check", disputes::check(&examples));
    for (label, leave_out) in [
        ("learned, 5-fold (unseen)", &[][..]),
        (
            "learned without embeddings, 5-fold",
            &sextant_answer::belief::SEMANTIC[..],
        ),
    ] {
        let cv = disputes::learned(&examples, leave_out);
        match disputes::choose_threshold(&cv) {
            Some(t) => row(&format!("{label}, at {t:.3}"), disputes::held(&cv, t)),
            None => {
                let h = disputes::held(&cv, 0.5);
                println!(
                    "  {label:<52} no threshold quotes {} right per wrong  (AUC {:.3})",
                    disputes::RIGHT_PER_WRONG,
                    h.auc
                );
                for t in [0.5f32, 0.7, 0.8, 0.85, 0.9] {
                    let h = disputes::held(&cv, t);
                    println!(
                        "      at {t:.2}: right {:>3}  wrong {:>3}",
                        h.right, h.wrong
                    );
                }
            }
        }
    }
    Ok(())
}

pub fn eval_answers(
    kb: Option<&Path>,
    models: Option<&Path>,
    set: &str,
    out: Option<&Path>,
    judgments: &[PathBuf],
    retriever: Retriever,
    json: bool,
) -> Result<()> {
    use sextant_eval::answers;
    let (name, questions) = answers_set(set)?;
    let engine = open_engine(kb, models, &[retriever])?;
    let bar = ProgressBar::new(questions.len() as u64);
    let run = answers::run(&engine, &name, &questions, retriever, &|done, _| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    if let Some(dir) = out {
        let write = |file: &str, text: String| -> Result<()> {
            let p = dir.join(file);
            std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
        };
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        write("answers.txt", answers::reviewer_file(&run))?;
        let mut lines = String::new();
        for a in &run.answered {
            lines.push_str(&serde_json::to_string(a)?);
            lines.push('\n');
        }
        write("answers.jsonl", lines)?;
    }
    // Stored judgments of this set: files named after it.
    let files: Vec<PathBuf> = if judgments.is_empty() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(answers::judgments_dir())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().is_some_and(|f| {
                    let f = f.to_string_lossy();
                    // "held-out-2-..." is not a judgment of "held-out".
                    f.starts_with(&format!("{name}-"))
                        && !answers::default_sets().iter().any(|(other, _)| {
                            other.len() > name.len()
                                && other.starts_with(&name)
                                && f.starts_with(&format!("{other}-"))
                        })
                })
            })
            .collect();
        v.sort();
        v
    } else {
        judgments.to_vec()
    };
    let mut all = Vec::new();
    for f in &files {
        let (js, issues) = answers::load_judgments(f)?;
        for i in &issues {
            eprintln!("warning: {i}");
        }
        all.extend(js);
    }
    let judged = (!all.is_empty()).then(|| answers::judge(&run, &all));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "set": run.set,
                "retriever": run.retriever,
                "proxies": run.proxies,
                "judged": judged,
                "judgment_files": files,
            }))?
        );
    } else {
        print!("{}", answers::table(&run, judged.as_ref()));
    }
    Ok(())
}

pub fn eval_records(data: Option<&Path>, json: bool) -> Result<()> {
    let data = sextant_kb::locate_data(data)?;
    let report = sextant_eval::records::run(&data)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", sextant_eval::records::table(&report));
    }
    Ok(())
}

pub fn eval_abstention(
    data: Option<&Path>,
    kb: Option<&Path>,
    models: Option<&Path>,
    json: bool,
    limit: Option<usize>,
) -> Result<()> {
    use sextant_eval::abstention;
    let data = sextant_kb::locate_data(data)?;
    let engine = open_engine(kb, models, &[Retriever::DEFAULT])?;
    let report = abstention::run(&engine, &data, limit)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", abstention::table(&report));
    }
    Ok(())
}

pub fn bench(
    data: Option<&Path>,
    kb: Option<&Path>,
    models: Option<&Path>,
    json: bool,
    skip_ingest: bool,
    cold_runs: usize,
    cold_cache: bool,
) -> Result<()> {
    let models = sextant_embed::models_dir(models);
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
        models: &models,
        cold_cache,
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
