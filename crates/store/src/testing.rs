//! Test support (cargo feature `test-support`, off by default; never enable it in a build
//! that ships): a throwaway PostgreSQL cluster so that one test suite runs on both backends.
//!
//! The first call to [`pg_cluster`] in a process looks for `initdb` (on `PATH`, in
//! `/usr/local/bin`, then the newest `/usr/lib/postgresql/*/bin`), creates a cluster in a
//! temporary directory under `/tmp`, and starts it with `pg_ctl` on a unix socket only
//! (`listen_addresses=''`, trust authentication, superuser `sextant`, `fsync=off`). When the
//! tests run as root the server runs as the `postgres` user through `runuser`, because
//! PostgreSQL refuses to run as root. The cluster is stopped (`-m immediate`) and its
//! directory removed when the process exits.
//!
//! When no cluster can be started the PostgreSQL half of a test is skipped with a line on
//! stderr, unless `SEXTANT_REQUIRE_PG` is set: then it is a panic, so CI cannot pass by
//! silently testing SQLite only. `SEXTANT_SKIP_PG` skips PostgreSQL on purpose.
//!
//! ```no_run
//! # async fn demo() {
//! if let Some(url) = sextant_store::testing::postgres_url().await {
//!     // `url` names a fresh, empty database: open a `Store` on it.
//! }
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The per-process PostgreSQL cluster.
pub struct PgCluster {
    /// The cluster's directory: the unix socket, the log and `data/`.
    pub dir: PathBuf,
    /// The port (it only names the socket file: there is no TCP listener).
    pub port: u16,
    pg_ctl: PathBuf,
    as_user: Option<String>,
}

impl PgCluster {
    /// The data directory (for tests that scan the files at rest, after `CHECKPOINT`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The URL of database `db` in this cluster, as the superuser `sextant`.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://sextant@localhost/{db}?host={}&port={}",
            self.dir.display(),
            self.port
        )
    }
}

static PG: OnceLock<Option<PgCluster>> = OnceLock::new();

/// The process's cluster, started on first use; `None` when PostgreSQL is unavailable.
///
/// # Panics
///
/// When it is unavailable and `SEXTANT_REQUIRE_PG` is set.
pub fn pg_cluster() -> Option<&'static PgCluster> {
    PG.get_or_init(|| match start_pg() {
        Ok(c) => Some(c),
        Err(why) => {
            if std::env::var_os("SEXTANT_REQUIRE_PG").is_some() {
                panic!("SEXTANT_REQUIRE_PG is set but PostgreSQL could not be started: {why}");
            }
            eprintln!("SKIPPING PostgreSQL: {why}");
            None
        }
    })
    .as_ref()
}

/// The URL of a fresh, empty database in the process's cluster (a new one on each call),
/// or `None` when PostgreSQL is unavailable (see [`pg_cluster`] for when that panics).
pub async fn postgres_url() -> Option<String> {
    let pg = pg_cluster()?;
    let db = format!("t_{:016x}", rand_u64());
    admin_exec(pg, &format!("CREATE DATABASE {db}")).await;
    Some(pg.url(&db))
}

/// Runs `CHECKPOINT` on the process's cluster, so that what was committed is in the data
/// files and not only in the WAL. Does nothing when no cluster is running.
pub async fn checkpoint() {
    if let Some(pg) = PG.get().and_then(Option::as_ref) {
        admin_exec(pg, "CHECKPOINT").await;
    }
}

async fn admin_exec(pg: &PgCluster, sql: &str) {
    sqlx::any::install_default_drivers();
    let conn = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&pg.url("postgres"))
        .await
        .unwrap_or_else(|e| panic!("test cluster: connect: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&conn)
        .await
        .unwrap_or_else(|e| panic!("test cluster: {sql}: {e}"));
    conn.close().await;
}

/// Every file under `dir` (recursively), for scanning raw bytes.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).expect("operating system randomness unavailable");
    u64::from_le_bytes(b)
}

fn find_initdb() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("initdb"))
                .collect()
        })
        .unwrap_or_default();
    candidates.push("/usr/local/bin/initdb".into());
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> =
            rd.flatten().map(|e| e.path().join("bin/initdb")).collect();
        versions.sort();
        versions.reverse();
        candidates.extend(versions);
    }
    candidates.into_iter().find(|p| p.is_file())
}

fn run(cmd: &Path, args: &[&str], as_user: &Option<String>) -> Result<(), String> {
    let out = match as_user {
        Some(u) => Command::new("runuser")
            .arg("-u")
            .arg(u)
            .arg("--")
            .arg(cmd)
            .args(args)
            .output(),
        None => Command::new(cmd).args(args).output(),
    }
    .map_err(|e| format!("{}: {e}", cmd.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} failed: {}{}",
            cmd.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

extern "C" fn stop_pg() {
    if let Some(Some(pg)) = PG.get() {
        let data = pg.data_dir();
        let _ = run(
            &pg.pg_ctl,
            &[
                "-D",
                data.to_str().unwrap_or_default(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            &pg.as_user,
        );
        let _ = std::fs::remove_dir_all(&pg.dir);
    }
}

fn start_pg() -> Result<PgCluster, String> {
    if !cfg!(feature = "postgres") {
        return Err("sextant-store was built without its `postgres` feature".into());
    }
    if std::env::var_os("SEXTANT_SKIP_PG").is_some() {
        return Err("SEXTANT_SKIP_PG is set".into());
    }
    let initdb = find_initdb()
        .ok_or("initdb not found (PATH, /usr/local/bin, /usr/lib/postgresql/*/bin)")?;
    let pg_ctl = initdb.with_file_name("pg_ctl");
    let pg_ctl = if pg_ctl.is_file() {
        pg_ctl
    } else {
        PathBuf::from("pg_ctl")
    };
    // PostgreSQL refuses to run as root: run it as the `postgres` user when we are root.
    // SAFETY: geteuid has no preconditions and cannot fail.
    let as_user = if unsafe { libc::geteuid() } == 0 {
        let name = std::ffi::CString::new("postgres").expect("no NUL");
        // SAFETY: `name` is a valid NUL-terminated string; the result is only null-checked.
        let pw = unsafe { libc::getpwnam(name.as_ptr()) };
        if pw.is_null() {
            return Err("running as root and there is no `postgres` user to run the server".into());
        }
        Some("postgres".to_owned())
    } else {
        None
    };
    let dir = tempfile::Builder::new()
        .prefix("sextant-pg-")
        .tempdir_in("/tmp")
        .map_err(|e| e.to_string())?
        .keep();
    if let Some(u) = &as_user {
        let st = Command::new("chown")
            .arg("-R")
            .arg(u)
            .arg(&dir)
            .status()
            .map_err(|e| e.to_string())?;
        if !st.success() {
            let _ = std::fs::remove_dir_all(&dir);
            return Err("chown of the cluster directory failed".into());
        }
    }
    let port = 20000 + (rand_u64() % 20000) as u16;
    let cluster = PgCluster {
        dir: dir.clone(),
        port,
        pg_ctl: pg_ctl.clone(),
        as_user: as_user.clone(),
    };
    let data = cluster.data_dir();
    let data = data.to_str().ok_or("non-UTF-8 temporary directory")?;
    let res = (|| {
        run(
            &initdb,
            &[
                "-D",
                data,
                "-U",
                "sextant",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            &as_user,
        )?;
        let opts = format!(
            "-k {} -p {port} -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=200",
            dir.display()
        );
        let log = dir.join("log");
        run(
            &pg_ctl,
            &[
                "-D",
                data,
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap_or_default(),
                "-w",
                "-t",
                "60",
                "start",
            ],
            &as_user,
        )
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e);
    }
    // SAFETY: `stop_pg` is an `extern "C" fn()` that does not unwind.
    unsafe { libc::atexit(stop_pg) };
    eprintln!(
        "PostgreSQL test cluster running in {} (port {port})",
        dir.display()
    );
    Ok(cluster)
}

/// Puts `store`'s database back as schema 3 left it (rows sealed with the
/// old associated data, no bound columns), to test the upgrade; `store` must
/// not be used afterwards: open the database again.
pub async fn seal_as_schema_3(store: &crate::Store) -> crate::Result<()> {
    crate::scope::seal_as_schema_3(store).await
}
