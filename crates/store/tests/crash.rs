//! Crash safety: a process killed (SIGKILL) in the middle of uploads leaves a consistent
//! SQLite database: every record row is complete and decrypts, and the audit chain holds.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sextant_store::{MasterKey, Store, SystemClock};

const PW: &str = "correct horse battery";

async fn open(dir: &std::path::Path) -> Store {
    let key = MasterKey::load(&dir.join("master.key")).unwrap();
    Store::open(
        &format!("sqlite://{}", dir.join("db.sqlite").display()),
        key,
        Arc::new(SystemClock),
    )
    .await
    .unwrap()
}

/// The child: uploads (and deletes, to stay under quota) 2 MiB records until killed.
async fn child(dir: &str, token: &str) {
    let store = open(std::path::Path::new(dir)).await;
    let s = store.session(token).await.unwrap().expect("session");
    let me = store.user(&s);
    let payload: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let mut i = 0u64;
    loop {
        let id = me
            .add_record(&format!("upload-{i}"), "pdf", &payload)
            .await
            .unwrap();
        if i == 0 {
            println!("STARTED");
        }
        if i % 3 == 2 {
            me.delete_record(id).await.unwrap();
        }
        if me.records().await.unwrap().len() >= 15 {
            for r in me.records().await.unwrap().into_iter().take(10) {
                me.delete_record(r.id).await.unwrap();
            }
        }
        i += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_upload_leaves_a_consistent_database() {
    if let (Ok(dir), Ok(token)) = (
        std::env::var("SEXTANT_CRASH_DIR"),
        std::env::var("SEXTANT_CRASH_TOKEN"),
    ) {
        child(&dir, &token).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    MasterKey::create_file(&dir.path().join("master.key")).unwrap();
    let store = open(dir.path()).await;
    store.register("ann@example.org", PW).await.unwrap();
    let s = store.login("ann@example.org", PW, "c").await.unwrap();
    store.close().await;
    drop(store);

    for round in 0..3 {
        let mut proc = Command::new(std::env::current_exe().unwrap())
            .args([
                "killed_mid_upload_leaves_a_consistent_database",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SEXTANT_CRASH_DIR", dir.path())
            .env("SEXTANT_CRASH_TOKEN", &s.token)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        let started = Instant::now();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("STARTED") => break,
                Some(_) => {}
                None => panic!("child exited before starting: {:?}", proc.wait()),
            }
            assert!(started.elapsed() < Duration::from_secs(60));
        }
        // Let it run for a while in the middle of writes, then kill it hard.
        std::thread::sleep(Duration::from_millis(300 + 250 * round));
        proc.kill().unwrap();
        proc.wait().unwrap();

        let store = open(dir.path()).await;
        let raw = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&format!(
                "sqlite://{}",
                dir.path().join("db.sqlite").display()
            ))
            .await
            .unwrap();
        let check: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&raw)
            .await
            .unwrap();
        assert_eq!(check, "ok");
        let info = store.session(&s.token).await.unwrap().unwrap();
        let me = store.user(&info);
        let records = me.records().await.unwrap();
        for r in &records {
            let (meta, data) = me
                .record(r.id.clone())
                .await
                .unwrap()
                .expect("complete row");
            assert_eq!(data.len() as i64, meta.size);
        }
        // Each committed upload has its audit row in the same transaction, and vice versa.
        let count = |sql: &'static str| {
            let raw = raw.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&raw)
                    .await
                    .unwrap()
            }
        };
        let added =
            count("SELECT COUNT(*) FROM audit_log WHERE action = 'record.add' AND outcome = 'ok'")
                .await;
        let deleted = count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'record.delete' AND outcome = 'ok'",
        )
        .await;
        assert!(added > 0);
        assert_eq!(records.len() as i64, added - deleted, "round {round}");
        let rep = store.audit_verify().await.unwrap();
        assert!(rep.ok(), "{rep:?}");
        raw.close().await;
        store.close().await;
    }
}
