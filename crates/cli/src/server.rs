//! `sextant init`, `sextant serve` and `sextant audit verify`: where the
//! server's key and database live, and starting it.
//!
//! The master key is kept apart from the database: by default the database
//! is in the data home (`~/.local/share/sextant/sextant.db`) and the key in
//! the config home (`~/.config/sextant/master.key`, mode 0600), or in
//! `$SEXTANT_MASTER_KEY` (base64), which wins. A backup of the database
//! alone reveals no record.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};

/// Where the server keeps its state.
pub struct ServerPaths {
    pub database_url: Option<String>,
    pub key_file: Option<PathBuf>,
    pub audit_head: Option<PathBuf>,
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn env_dir(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(fallback))
        .join("sextant")
}

impl ServerPaths {
    /// `--key-file`, else `$SEXTANT_KEY_FILE`, else
    /// `$XDG_CONFIG_HOME/sextant/master.key`, else `~/.config/sextant/master.key`.
    pub fn key_file(&self) -> PathBuf {
        if let Some(p) = &self.key_file {
            return p.clone();
        }
        if let Some(p) = std::env::var_os("SEXTANT_KEY_FILE").filter(|s| !s.is_empty()) {
            return PathBuf::from(p);
        }
        env_dir("XDG_CONFIG_HOME", ".config").join("master.key")
    }

    /// `--audit-head`, else `$SEXTANT_AUDIT_HEAD`, else `audit.head` beside
    /// the key file: apart from the database, like the key.
    pub fn audit_head(&self) -> PathBuf {
        if let Some(p) = &self.audit_head {
            return p.clone();
        }
        if let Some(p) = std::env::var_os("SEXTANT_AUDIT_HEAD").filter(|s| !s.is_empty()) {
            return PathBuf::from(p);
        }
        self.key_file().with_file_name("audit.head")
    }

    /// `--database-url`, else `$SEXTANT_DATABASE_URL`, else a SQLite file
    /// `$XDG_DATA_HOME/sextant/sextant.db` (`~/.local/share/...`).
    pub fn database_url(&self) -> Result<String> {
        if let Some(u) = &self.database_url {
            return Ok(u.clone());
        }
        if let Ok(u) = std::env::var("SEXTANT_DATABASE_URL") {
            if !u.is_empty() {
                return Ok(u);
            }
        }
        let dir = env_dir("XDG_DATA_HOME", ".local/share");
        std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
        Ok(format!("sqlite://{}", dir.join("sextant.db").display()))
    }

    fn master_key(&self) -> Result<sextant_store::MasterKey> {
        let env = std::env::var("SEXTANT_MASTER_KEY").ok();
        let path = self.key_file();
        sextant_store::MasterKey::from_env_or_file(env.as_deref(), &path).with_context(|| {
            "the server needs its master key: run `sextant init` first (or set SEXTANT_MASTER_KEY)"
        })
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn open_store(paths: &ServerPaths) -> Result<sextant_store::Store> {
    let key = paths.master_key()?;
    let url = paths.database_url()?;
    let store = sextant_store::Store::open(&url, key, Arc::new(sextant_store::SystemClock))
        .await
        .with_context(|| "opening the database".to_string())?;
    store.export_audit_head_to(paths.audit_head())?;
    Ok(store)
}

/// `sextant backup --to FILE`: a consistent copy of the database while it
/// serves: SQLite's `VACUUM INTO`, or `pg_dump --format=custom` for
/// PostgreSQL. The copy is sealed as the database is, and the master key is
/// never in it: keep the key apart.
pub fn backup(paths: &ServerPaths, to: &Path) -> Result<()> {
    let url = paths.database_url()?;
    let t = std::time::Instant::now();
    if is_postgres(&url) {
        if to.exists() {
            anyhow::bail!("{} already exists; choose a new file", to.display());
        }
        let out = std::process::Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(to)
            .arg(&url)
            .output()
            .context("running pg_dump (install the PostgreSQL client tools)")?;
        if !out.status.success() {
            anyhow::bail!(
                "pg_dump failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))?;
        }
    } else {
        runtime()?.block_on(async {
            let store = open_store(paths).await?;
            let res = store.backup_sqlite_to(to).await;
            store.close().await;
            res.with_context(|| format!("backing up to {}", to.display()))
        })?;
    }
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    println!(
        "backed up to {} ({bytes} bytes) in {:.2} s",
        to.display(),
        t.elapsed().as_secs_f64()
    );
    println!(
        "the master key is not in the backup: keep {} (or $SEXTANT_MASTER_KEY) apart from it",
        paths.key_file().display()
    );
    Ok(())
}

/// `pg_restore --clean` of a custom-format dump into `url`, in one
/// transaction: on failure nothing was changed.
fn pg_restore(url: &str, dump: &Path) -> Result<()> {
    let out = std::process::Command::new("pg_restore")
        .args([
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
        ])
        .arg(url)
        .arg(dump)
        .output()
        .context("running pg_restore (install the PostgreSQL client tools)")?;
    if !out.status.success() {
        anyhow::bail!(
            "pg_restore of {} failed, nothing was changed: {}",
            dump.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `sextant restore --from FILE`, with the server stopped. SQLite: the
/// database file (and its WAL) is moved aside as `*.before-restore-TIME`,
/// never deleted, and the backup put in its place; PostgreSQL:
/// `pg_restore --clean --single-transaction`. Then the drill: the audit
/// chain must verify and every sealed row of every user must open with the
/// master key; otherwise (SQLite) the old database is put back. The chain's
/// new head is written to the head file: a restore moves the anchor back on
/// purpose, and the audit log says so (`store.check`).
pub fn restore(paths: &ServerPaths, from: &Path) -> Result<()> {
    let url = paths.database_url()?;
    let t = std::time::Instant::now();
    if !from.is_file() {
        anyhow::bail!("{}: no such backup file", from.display());
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // The head file names the chain in place; a failed drill puts it back.
    let head_before = std::fs::read(paths.audit_head()).ok();
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut pg_before: Option<PathBuf> = None;
    if is_postgres(&url) {
        // What is there now is dumped first, beside the backup, so a failed
        // drill can put it back.
        let before = (0..)
            .map(|i| from.with_file_name(format!("before-restore-{stamp}-{i}.dump")))
            .find(|p| !p.exists())
            .context("no free name for the dump of the database in place")?;
        backup(paths, &before).context("saving the database in place before the restore")?;
        pg_restore(&url, from)?;
        pg_before = Some(before);
    } else {
        let target = sextant_store::sqlite_path(&url)
            .with_context(|| format!("{url}: not a SQLite file"))?;
        let tmp = target.with_extension("restore-tmp");
        std::fs::copy(from, &tmp).with_context(|| format!("copying {}", from.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        }
        // The old database and its WAL go aside together: a WAL left beside
        // the restored file would be replayed into it.
        const SUFFIXES: [&str; 3] = ["", "-wal", "-shm"];
        let aside_of = |i: u32, suffix: &str| {
            PathBuf::from(format!(
                "{}.before-restore-{stamp}-{i}{suffix}",
                target.display()
            ))
        };
        let free = (0..)
            .find(|&i| SUFFIXES.iter().all(|s| !aside_of(i, s).exists()))
            .context("no free name to keep the database in place")?;
        for suffix in SUFFIXES {
            let old = PathBuf::from(format!("{}{suffix}", target.display()));
            if old.exists() {
                let aside = aside_of(free, suffix);
                std::fs::rename(&old, &aside)
                    .with_context(|| format!("moving {} aside", old.display()))?;
                moved.push((aside, old));
            }
        }
        std::fs::rename(&tmp, &target)?;
    }
    // The restored chain is older than the head on file: the head is
    // written afresh by the drill's audited check (and put back if it fails).
    let _ = std::fs::remove_file(paths.audit_head());
    let checked = runtime()?.block_on(async {
        let store = open_store(paths).await?;
        let chain = store.audit_verify().await?;
        let rows = store.check_every_row().await?;
        store.close().await;
        anyhow::Ok((chain, rows))
    });
    let problem = match &checked {
        Err(e) => Some(format!("{e:#}")),
        Ok((chain, _)) if !chain.ok() => Some(format!(
            "its audit chain is broken at row {}",
            chain.first_broken.unwrap_or(0)
        )),
        Ok((_, rows)) if !rows.ok() => Some(format!(
            "{} rows did not open with this master key: {}",
            rows.failed.len(),
            rows.failed
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Ok(_) => None,
    };
    if let Some(why) = problem {
        if let Some(bytes) = &head_before {
            let _ = std::fs::write(paths.audit_head(), bytes);
        }
        if let Some(before) = &pg_before {
            pg_restore(&url, before)?;
            anyhow::bail!(
                "the restore drill failed: {why}; the previous database was put back (from {})",
                before.display()
            );
        }
        if !moved.is_empty() {
            let target = sextant_store::sqlite_path(&url).context("sqlite path")?;
            let _ = std::fs::rename(&target, target.with_extension("failed-restore"));
            for (aside, old) in &moved {
                std::fs::rename(aside, old)?;
            }
            anyhow::bail!("the restore drill failed: {why}; the previous database was put back");
        }
        anyhow::bail!("the restore drill failed: {why}");
    }
    let (chain, rows) = checked?;
    println!(
        "restored from {} in {:.2} s: {} users, {} records, {} profiles, {} saved answers, every one opened; audit chain intact ({} rows)",
        from.display(),
        t.elapsed().as_secs_f64(),
        rows.users,
        rows.records,
        rows.profiles,
        rows.answers,
        chain.rows
    );
    for aside in moved.iter().take(1).map(|m| &m.0).chain(&pg_before) {
        println!("the previous database is kept as {}", aside.display());
    }
    println!(
        "the audit head in {} now names the restored chain",
        paths.audit_head().display()
    );
    Ok(())
}

/// `sextant library review`: lists the shared answers waiting for review,
/// or approves and rejects them by slug.
pub fn library_review(
    paths: &ServerPaths,
    approve: &[String],
    reject: &[String],
    approve_all: bool,
) -> Result<()> {
    use sextant_store::Review;
    runtime()?.block_on(async {
        let store = open_store(paths).await?;
        let pending = store.pending_answers(1000).await?;
        let mut decisions: Vec<(String, Review)> = Vec::new();
        if approve_all {
            decisions.extend(pending.iter().map(|p| (p.slug.clone(), Review::Approve)));
        }
        decisions.extend(approve.iter().map(|s| (s.clone(), Review::Approve)));
        decisions.extend(reject.iter().map(|s| (s.clone(), Review::Reject)));
        if decisions.is_empty() {
            if pending.is_empty() {
                println!("no shared answers wait for review");
            }
            for p in &pending {
                println!("{}\t{}", p.slug, p.question);
            }
        }
        let mut missing = 0;
        for (slug, d) in &decisions {
            match store.review_answer(slug, *d).await {
                Ok(()) => println!(
                    "{} {slug}",
                    if *d == Review::Approve {
                        "published"
                    } else {
                        "rejected"
                    }
                ),
                Err(sextant_store::StoreError::NotFound) => {
                    eprintln!("no pending answer {slug}");
                    missing += 1;
                }
                Err(e) => {
                    store.close().await;
                    return Err(e.into());
                }
            }
        }
        store.close().await;
        if missing > 0 {
            bail!("{missing} slug(s) were not in the review queue");
        }
        Ok(())
    })
}

/// `sextant account unlock EMAIL`: forgets the account's failed logins.
pub fn account_unlock(paths: &ServerPaths, email: &str) -> Result<()> {
    runtime()?.block_on(async {
        let store = open_store(paths).await?;
        let r = store.unlock_account(email).await;
        store.close().await;
        if r? {
            println!("unlocked: its failed logins are forgotten");
        } else {
            println!("no failed logins were counted for that account");
        }
        Ok(())
    })
}

/// `sextant init`: creates the master key (never overwriting one) and the
/// database with its tables.
pub fn init(paths: &ServerPaths) -> Result<()> {
    let path = paths.key_file();
    if std::env::var("SEXTANT_MASTER_KEY").is_ok_and(|v| !v.trim().is_empty()) {
        println!("using the master key from SEXTANT_MASTER_KEY; no key file written");
    } else if path.exists() {
        println!("master key: {} (exists; kept)", path.display());
    } else {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("{}", dir.display()))?;
        }
        sextant_store::MasterKey::create_file(&path)?;
        println!(
            "master key: {} (new, mode 0600). Back it up apart from the database: without it no record can be read.",
            path.display()
        );
    }
    runtime()?.block_on(async {
        let store = open_store(paths).await?;
        store.close().await;
        anyhow::Ok(())
    })?;
    println!("database: {}", redact(&paths.database_url()?));
    Ok(())
}

/// A database URL without its password, for printing.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Options of `sextant serve`.
pub struct ServeOptions {
    pub addr: SocketAddr,
    pub insecure_cookies: bool,
    pub anonymous_only: bool,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub retriever: sextant_answer::Retriever,
    /// Entries of the general-answer cache (0: off).
    pub answer_cache: usize,
    /// The language model that writes answers, if any.
    pub llm: Option<sextant_server::Llm>,
}

/// `sextant serve`: answers on `addr` until Ctrl-C.
pub fn serve(
    engine: sextant_answer::Engine,
    paths: &ServerPaths,
    options: &ServeOptions,
) -> Result<()> {
    if options.insecure_cookies && !options.addr.ip().is_loopback() {
        bail!(
            "--insecure-cookies is only for plain-HTTP localhost; serve {} behind TLS instead",
            options.addr
        );
    }
    let config = sextant_server::Config {
        secure_cookies: !options.insecure_cookies,
        retriever: options.retriever,
        answer_cache_entries: options.answer_cache,
        llm: options.llm.clone(),
        trials: open_trials(&engine),
        trusted_proxies: options.trusted_proxies.clone(),
        ..Default::default()
    };
    let engine = Arc::new(engine);
    runtime()?.block_on(async {
        let state = if options.anonymous_only {
            sextant_server::AppState::new(engine, config)
        } else {
            // No key, no server: records must never be stored unencrypted.
            let store = open_store(paths).await?;
            sextant_server::AppState::with_store(engine, config, store)
        };
        eprintln!("sextant: serving on http://{}", options.addr);
        sextant_server::serve(options.addr, state)
            .await
            .with_context(|| format!("serving on {}", options.addr))
    })
}

/// The trial index of the engine's knowledge base, if one was ingested.
/// The server runs without it (trial matching answers 503).
fn open_trials(engine: &sextant_answer::Engine) -> Option<sextant_server::trials::Trials> {
    // The engine holds the live generation; the knowledge base root is its
    // parent, where `sextant trials ingest` writes `trials/`.
    let kb_root = engine.kb().dir().parent()?;
    match sextant_trials::store::TrialIndex::open(kb_root) {
        Ok(index) => Some(sextant_server::trials::Trials::new(index)),
        Err(sextant_trials::TrialsError::NotIngested(_)) => {
            eprintln!("sextant: no trial index; /trials disabled until `sextant trials ingest`");
            None
        }
        Err(e) => {
            eprintln!("sextant: the trial index could not be opened ({e}); /trials disabled");
            None
        }
    }
}

/// `sextant audit verify [--head FILE]`: walks the audit log's keyed hash
/// chain, and checks it still reaches the head written outside the database.
pub fn audit_verify(paths: &ServerPaths, head: Option<&Path>) -> Result<()> {
    let head_file = head.map_or_else(|| paths.audit_head(), Path::to_path_buf);
    // Read before the store opens: opening may write (keying an old chain).
    let anchor = match std::fs::read_to_string(&head_file) {
        Ok(text) => Some(
            sextant_store::AuditHead::parse(&text)
                .with_context(|| format!("{}: not an audit head file", head_file.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && head.is_none() => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", head_file.display())),
    };
    runtime()?.block_on(async {
        let store = open_store(paths).await?;
        let report = match &anchor {
            Some(a) => store.audit_verify_against(a).await?,
            None => store.audit_verify().await?,
        };
        store.close().await;
        match (&report.first_broken, &report.problem) {
            (None, _) => {
                println!(
                    "audit log intact: {} rows, head {}",
                    report.rows, report.head_hash
                );
                match &anchor {
                    Some(a) => println!(
                        "it reaches the head in {} (row {})",
                        head_file.display(),
                        a.seq
                    ),
                    None => println!(
                        "no head file at {} yet: rows cut off the end cannot be told",
                        head_file.display()
                    ),
                }
            }
            (Some(seq), problem) => {
                println!(
                    "audit log BROKEN at row {seq} of {}: {}",
                    report.rows,
                    problem.as_deref().unwrap_or("changed")
                );
                bail!("the audit log was edited or rows were deleted");
            }
        }
        Ok(())
    })
}
