//! Test harness: every test body runs against a fresh SQLite file and, when `initdb` is
//! available, a fresh database in a throwaway PostgreSQL cluster (one per test binary,
//! unix socket only, stopped and removed at exit).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use sextant_store::{Backend, ManualClock, MasterKey, Store};
use sqlx::AnyPool;

pub const T0: i64 = 1_800_000_000;

pub struct H {
    pub name: &'static str,
    pub store: Store,
    pub clock: Arc<ManualClock>,
    pub raw: AnyPool,
    pub url: String,
    pub key_b64: String,
    /// SQLite: the database file. PostgreSQL: the cluster's data directory.
    pub files: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl H {
    pub fn is_pg(&self) -> bool {
        self.store.backend() == Backend::Postgres
    }

    /// A second store on the same database with the same key and clock (a "replica").
    pub async fn reopen(&self) -> Store {
        let key = MasterKey::parse(&self.key_b64).unwrap();
        Store::open(&self.url, key, self.clock.clone())
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &'static str, bind: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(bind)
            .fetch_one(&self.raw)
            .await
            .unwrap()
    }

    pub async fn exec(&self, sql: &'static str) {
        sqlx::raw_sql(sql).execute(&self.raw).await.unwrap();
    }
}

/// Fresh stores: SQLite always, PostgreSQL when a cluster could be started.
pub async fn harnesses() -> Vec<H> {
    sqlx::any::install_default_drivers();
    let mut out = vec![sqlite().await];
    if let Some(pg) = pg_cluster() {
        out.push(postgres(pg).await);
    }
    out
}

async fn open(
    name: &'static str,
    url: String,
    files: PathBuf,
    dir: Option<tempfile::TempDir>,
) -> H {
    let key = MasterKey::generate();
    let key_b64 = key.to_base64().to_string();
    let clock = Arc::new(ManualClock::new(T0));
    let store = Store::open(&url, key, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("{name}: open: {e}"));
    let raw = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .unwrap();
    H {
        name,
        store,
        clock,
        raw,
        url,
        key_b64,
        files,
        _dir: dir,
    }
}

async fn sqlite() -> H {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("sextant.db");
    let url = format!("sqlite://{}", path.display());
    open("sqlite", url, path, Some(dir)).await
}

async fn postgres(pg: &'static PgCluster) -> H {
    let admin = format!(
        "postgres://sextant@localhost/postgres?host={}&port={}",
        pg.dir.display(),
        pg.port
    );
    let db = format!("t_{:016x}", rand_u64());
    let conn = sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&admin)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&conn)
        .await
        .unwrap();
    conn.close().await;
    let url = format!(
        "postgres://sextant@localhost/{db}?host={}&port={}",
        pg.dir.display(),
        pg.port
    );
    open("postgres", url, pg.dir.join("data"), None).await
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    getrandom_fill(&mut b);
    u64::from_le_bytes(b)
}

fn getrandom_fill(b: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(b)
        .unwrap();
}

pub struct PgCluster {
    pub dir: PathBuf,
    pub port: u16,
    pg_ctl: PathBuf,
    as_user: Option<String>,
}

static PG: OnceLock<Option<PgCluster>> = OnceLock::new();

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
        let data = pg.dir.join("data");
        let _ = run(
            &pg.pg_ctl,
            &[
                "-D",
                data.to_str().unwrap(),
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
    let as_user = if unsafe { libc::geteuid() } == 0 {
        let name = std::ffi::CString::new("postgres").unwrap();
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
            return Err("chown of the cluster directory failed".into());
        }
    }
    let data = dir.join("data");
    let port = 20000 + (rand_u64() % 20000) as u16;
    let cluster = PgCluster {
        dir: dir.clone(),
        port,
        pg_ctl: pg_ctl.clone(),
        as_user: as_user.clone(),
    };
    let res = (|| {
        run(
            &initdb,
            &[
                "-D",
                data.to_str().unwrap(),
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
                data.to_str().unwrap(),
                "-o",
                &opts,
                "-l",
                log.to_str().unwrap(),
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
    unsafe { libc::atexit(stop_pg) };
    eprintln!(
        "PostgreSQL test cluster running in {} (port {port})",
        dir.display()
    );
    Ok(cluster)
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

pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
