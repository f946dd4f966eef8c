//! `sextant trials ...` and `sextant eval trials`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use sextant_trials::matching::{Person, Status, TrialMatch};
use sextant_trials::store::{self, TrialIndex};

#[derive(clap::Subcommand)]
pub enum TrialsCommand {
    /// Build the trial index inside the knowledge base from trial records (NIH-TrialBench, NCI CTS v2 or ClinicalTrials.gov v2 JSON, gzipped or not); the new index replaces the old one atomically.
    Ingest {
        /// Files or folders of trial records. Default: the data folder's trials/nih-trialbench/trials and trials/nci-cts/v2.
        sources: Vec<PathBuf>,
        /// The date the records were current (YYYY-MM-DD), for records that do not carry their own.
        #[arg(long, value_name = "DATE")]
        data_date: Option<String>,
        /// No embeddings, even when the model is installed.
        #[arg(long)]
        no_vectors: bool,
    },
    /// Trials that may fit a person: each criterion checked against their records (met / not met / unknown), with what would settle the unknowns.
    Match {
        /// A profile (`sextant profile --json` output) or record files (FHIR, C-CDA, text).
        #[arg(long, value_name = "FILE", required_unless_present = "note")]
        profile: Vec<PathBuf>,
        /// A clinical note or history in plain text, read with the clinical-note extractor.
        #[arg(long, value_name = "FILE")]
        note: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// How many trials to show.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Show every criterion, including those checked at screening.
        #[arg(long)]
        all: bool,
    },
    /// Fetch trials from a live registry API and add them to the trial index (needs network access; these build machines have none).
    Fetch {
        /// ctgov (ClinicalTrials.gov API v2) or nci (NCI Clinical Trials Search API v2, key in $SEXTANT_NCI_API_KEY).
        #[arg(value_parser = ["ctgov", "nci"])]
        registry: String,
        /// Condition or keyword to search for ("cervical cancer").
        #[arg(long)]
        query: String,
        /// At most this many pages of results.
        #[arg(long, default_value_t = 10)]
        max_pages: usize,
        /// Include trials that are not open to enrolment.
        #[arg(long)]
        all_statuses: bool,
        /// API base URL (a mirror, or a test server).
        #[arg(long)]
        base_url: Option<String>,
    },
}

fn default_sources(data: &Path) -> Vec<PathBuf> {
    ["trials/nih-trialbench/trials", "trials/nci-cts/v2"]
        .iter()
        .map(|p| data.join(p))
        .filter(|p| p.exists())
        .collect()
}

pub fn run(
    cmd: TrialsCommand,
    data: Option<&Path>,
    kb: Option<&Path>,
    models: Option<&Path>,
) -> Result<()> {
    match cmd {
        TrialsCommand::Ingest {
            sources,
            data_date,
            no_vectors,
        } => ingest(data, kb, models, sources, data_date, no_vectors),
        TrialsCommand::Match {
            profile,
            note,
            json,
            limit,
            all,
        } => match_cmd(kb, models, &profile, note.as_deref(), json, limit, all),
        TrialsCommand::Fetch {
            registry,
            query,
            max_pages,
            all_statuses,
            base_url,
        } => fetch(
            kb,
            models,
            &registry,
            &query,
            max_pages,
            !all_statuses,
            base_url,
        ),
    }
}

fn ingest(
    data: Option<&Path>,
    kb: Option<&Path>,
    models: Option<&Path>,
    sources: Vec<PathBuf>,
    data_date: Option<String>,
    no_vectors: bool,
) -> Result<()> {
    let sources = if sources.is_empty() {
        let data = sextant_kb::locate_data(data)?;
        let s = default_sources(&data);
        if s.is_empty() {
            bail!(
                "no trial records under {}/trials; name the files or folders to read",
                data.display()
            );
        }
        s
    } else {
        sources
    };
    if let Some(d) = &data_date {
        if !valid_date(d) {
            bail!("--data-date {d}: expected YYYY-MM-DD or YYYY-MM");
        }
    }
    let kb_root = sextant_kb::default_kb(kb);
    let embedder = if no_vectors {
        None
    } else {
        crate::commands::load_embedder(models)?
    };
    let t0 = std::time::Instant::now();
    let report = store::ingest(&kb_root, &sources, data_date.as_deref(), embedder.as_ref())?;
    let m = &report.manifest;
    for i in report.issues.iter().take(20) {
        eprintln!("note: {i}");
    }
    if report.issues.len() > 20 {
        eprintln!("note: ... and {} more", report.issues.len() - 20);
    }
    println!(
        "trial index: {} trials ({} with criteria){} in {:.1} s → {}",
        m.trials,
        m.with_criteria,
        if m.vectors.is_some() {
            ", with embeddings"
        } else {
            ", BM25 only"
        },
        t0.elapsed().as_secs_f64(),
        report.generation.display()
    );
    let dates: Vec<String> = m
        .data_dates
        .iter()
        .map(|(d, n)| format!("{d}: {n}"))
        .collect();
    println!("data dates: {}", dates.join(", "));
    Ok(())
}

fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    (d.len() == 7 || d.len() == 10)
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && (d.len() == 7 || (b[7] == b'-' && digits(8..10)))
}

fn match_cmd(
    kb: Option<&Path>,
    models: Option<&Path>,
    profiles: &[PathBuf],
    note: Option<&Path>,
    json: bool,
    limit: usize,
    all: bool,
) -> Result<()> {
    let mut profile = sextant_records::Profile::default();
    for p in profiles {
        profile.merge(crate::commands::load_profile(p)?);
    }
    let mut note_text = None;
    if let Some(n) = note {
        let text = std::fs::read_to_string(n).with_context(|| n.display().to_string())?;
        profile.merge(sextant_records::read_note(&n.display().to_string(), &text));
        note_text = Some(text);
    }
    let kb_root = sextant_kb::default_kb(kb);
    let index = TrialIndex::open(&kb_root)?;
    let embedder = if index.has_vectors() {
        crate::commands::load_embedder(models)?
    } else {
        None
    };
    let person = Person::from_profile(&profile, current_year());
    let matches =
        index.match_person(&person, note_text.as_deref(), embedder.as_ref(), 100, limit)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&matches)?);
    } else {
        print!("{}", render_text(&matches, all));
    }
    Ok(())
}

fn current_year() -> i32 {
    // The year only turns birth dates into ages; a year's error is within
    // what "about N years old" says.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    1970 + (secs as f64 / 31_556_952.0) as i32
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Met => "[met]    ",
        Status::NotMet => "[not met]",
        Status::Unknown => "[unknown]",
    }
}

/// The patient view in plain text.
pub fn render_text(matches: &[TrialMatch], all: bool) -> String {
    let mut s = String::from("Trials that may fit you\n\n");
    if matches.is_empty() {
        s.push_str("No trial in the index fits what your records say.\n");
    }
    for (i, m) in matches.iter().enumerate() {
        s.push_str(&format!(
            "{}. {} ({})\n   {}\n",
            i + 1,
            m.title,
            m.trial_id,
            m.url
        ));
        s.push_str(&format!(
            "   {} — status: {} {}\n",
            m.verdict.label(),
            m.status.as_deref().unwrap_or("not stated"),
            m.as_of
        ));
        if let Some(p) = &m.phase {
            s.push_str(&format!("   {p}\n"));
        }
        if m.site_count > 0 {
            s.push_str(&format!(
                "   Sites {} ({} in all):\n",
                m.as_of, m.site_count
            ));
            for site in &m.sites {
                s.push_str(&format!("     - {site}\n"));
            }
        }
        if !m.summary.is_empty() {
            s.push_str(&format!("   {}\n", m.summary));
        }
        for r in &m.reasons {
            s.push_str(&format!("   • {r}\n"));
        }
        if let Some(c) = &m.cohort {
            s.push_str(&format!("   Checked against: {c}\n"));
        }
        s.push_str(&format!(
            "   Checklist ({} met, {} not met, {} unknown):\n",
            m.met, m.not_met, m.unknown
        ));
        for c in &m.checklist {
            if !all && c.screening && c.status == Status::Unknown {
                continue;
            }
            let side = if c.criterion.inclusion {
                ""
            } else {
                "(exclusion) "
            };
            s.push_str(&format!(
                "     {} {side}{}\n              {}\n",
                mark(c.status),
                shorten(&c.criterion.full_text(), 160),
                c.reason
            ));
        }
        let hidden = m
            .checklist
            .iter()
            .filter(|c| c.screening && c.status == Status::Unknown)
            .count();
        if !all && hidden > 0 {
            s.push_str(&format!("     ({hidden} more are checked by the trial team at screening; --all shows them)\n"));
        }
        if !m.to_settle.is_empty() {
            s.push_str("   What would settle the unknowns:\n");
            for t in &m.to_settle {
                s.push_str(&format!("     - {t}\n"));
            }
        }
        s.push_str("   Questions to ask the trial team:\n");
        for q in &m.questions {
            s.push_str(&format!("     - {q}\n"));
        }
        s.push('\n');
    }
    s.push_str("This is not medical advice: only the trial team can confirm eligibility. Status and sites are as of each record's data date.\n");
    s
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

fn fetch(
    kb: Option<&Path>,
    models: Option<&Path>,
    registry: &str,
    query: &str,
    max_pages: usize,
    open_only: bool,
    base_url: Option<String>,
) -> Result<()> {
    use sextant_trials::connect::{self, CtGovClient, NciCtsClient, SearchQuery, TrialSearch};
    let q = SearchQuery {
        condition: Some(query.to_string()),
        open_only,
        ..SearchQuery::default()
    };
    let client: Box<dyn TrialSearch> = match (registry, base_url) {
        ("ctgov", None) => Box::new(CtGovClient::new()),
        ("ctgov", Some(u)) => Box::new(CtGovClient::with_base_url(&u)?),
        (_, None) => Box::new(NciCtsClient::from_env()),
        (_, Some(u)) => Box::new(NciCtsClient::with_base_url(
            &u,
            std::env::var(connect::NCI_API_KEY_ENV).ok(),
        )?),
    };
    let page = connect::fetch_all(client.as_ref(), &q, max_pages.max(1))?;
    let fetched = page.trials.len();
    let kb_root = sextant_kb::default_kb(kb);
    // Fetched trials join the live index (a fetched record replaces the
    // stored one of the same id).
    let mut trials = match TrialIndex::open(&kb_root) {
        Ok(i) => i.trials().to_vec(),
        Err(sextant_trials::TrialsError::NotIngested(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    trials.retain(|t| !page.trials.iter().any(|f| f.id == t.id));
    trials.extend(page.trials);
    let embedder = crate::commands::load_embedder(models)?;
    let report = store::ingest_trials(
        &kb_root,
        trials,
        page.issues,
        vec![page.url.clone()],
        embedder.as_ref(),
    )?;
    println!(
        "{fetched} trial(s) fetched from {}; the index now holds {} trials",
        page.url, report.manifest.trials
    );
    Ok(())
}

pub fn eval(data: Option<&Path>, models: Option<&Path>, json: bool) -> Result<()> {
    use sextant_eval::trials;
    let data = sextant_kb::locate_data(data)?;
    let work = trials::default_work();
    std::fs::create_dir_all(&work)?;
    let models = sextant_embed::models_dir(models);
    let report = trials::run(&data, &work, Some(&models));
    let _ = std::fs::remove_dir_all(&work);
    let report = report?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", trials::render(&report));
        println!("\nDisagreements with the clinicians (first 15):\n");
        print!("{}", trials::disagreements(&report, 15));
    }
    Ok(())
}
