//! End-to-end tests of sextant-store on real databases: each test body runs on SQLite and on
//! PostgreSQL (when `initdb` is available; otherwise a SKIPPING line is printed).

mod common;

use common::{contains, files_under, harnesses, H};
use sextant_store::{AnswerId, RecordId, SessionInfo, Store, StoreError, MAX_RECORD_BYTES};

const PW: &str = "correct horse battery";

fn code<T: std::fmt::Debug>(r: Result<T, StoreError>) -> &'static str {
    r.unwrap_err().code()
}

async fn user(store: &Store, email: &str) -> (String, SessionInfo) {
    store.register(email, PW).await.unwrap();
    let s = store.login(email, PW, "10.0.0.1").await.unwrap();
    let info = store.session(&s.token).await.unwrap().unwrap();
    (s.token, info)
}

/// Compiles only if the store's futures are `Send` (the server spawns them
/// on a multi-threaded runtime); never run.
#[allow(dead_code)]
fn store_futures_are_send(store: &Store, s: &SessionInfo) {
    fn send<T: Send>(_: T) {}
    send(store.login("", "", ""));
    send(store.session(""));
    send(store.delete_account(s));
    send(store.audit_verify());
    let scope = store.user(s);
    send(scope.add_record("", "", b""));
    if let Ok(id) = "".parse() {
        send(scope.record(id));
    }
    send(scope.answers());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_logout() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        assert_eq!(
            code(st.register("not-an-email", PW).await),
            "invalid_email",
            "{n}"
        );
        assert_eq!(
            code(st.register("ann@example.org", "short").await),
            "weak_password",
            "{n}"
        );
        let ann = st.register("Ann@Example.org", PW).await.unwrap();
        assert_eq!(
            code(st.register("ann@example.org ", PW).await),
            "email_taken",
            "{n}"
        );

        let s = st.login("ann@example.org", PW, "c1").await.unwrap();
        assert_eq!(s.user, ann);
        assert_eq!(s.token.len(), 43);
        assert_eq!(s.expires_at, common::T0 + 12 * 3600);
        let info = st.session(&s.token).await.unwrap().expect("session");
        assert_eq!(info.user, ann);
        assert_eq!(info.email, "ann@example.org");
        assert_eq!(info.csrf, s.csrf);
        assert!(!info.personalize);
        st.user(&info).set_personalize(true).await.unwrap();
        assert!(
            st.session(&s.token).await.unwrap().unwrap().personalize,
            "{n}"
        );

        // Only the token's hash is stored.
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM sessions")
            .fetch_all(&h.raw)
            .await
            .unwrap();
        assert_eq!(stored, vec![info.token_hash.clone()]);
        assert!(!stored.contains(&s.token));
        // The email is not stored in clear.
        let emails: i64 = h
            .count(
                "SELECT COUNT(*) FROM users WHERE email_lookup = $1",
                "ann@example.org",
            )
            .await;
        assert_eq!(emails, 0);

        // Wrong password and unknown email look the same.
        let wrong = st
            .login("ann@example.org", "wrong password!", "c1")
            .await
            .unwrap_err();
        let unknown = st.login("bob@example.org", PW, "c1").await.unwrap_err();
        assert_eq!(
            (wrong.code(), unknown.code()),
            ("bad_credentials", "bad_credentials"),
            "{n}"
        );
        assert_eq!(wrong.to_string(), unknown.to_string());

        // Garbage tokens are just "no session".
        assert!(st.session("").await.unwrap().is_none());
        assert!(st.session(&"x".repeat(43)).await.unwrap().is_none());

        st.logout(&s.token).await.unwrap();
        assert!(
            st.session(&s.token).await.unwrap().is_none(),
            "{n}: logout must invalidate"
        );
        st.logout(&s.token).await.unwrap();
        st.logout("nonsense").await.unwrap();
        assert!(st.audit_verify().await.unwrap().ok());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_throttling() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        st.register("ann@example.org", PW).await.unwrap();
        for _ in 0..5 {
            assert_eq!(
                code(st.login("ann@example.org", "wrong password", "ip1").await),
                "bad_credentials"
            );
        }
        // Sixth attempt: refused even with the right password, and from
        // another client too (issue 19, finding 4: many IPs shared no budget
        // before, each had its own).
        for ip in ["ip1", "ip2"] {
            match st.login("ann@example.org", PW, ip).await {
                Err(StoreError::TooManyAttempts { retry_after }) => {
                    assert!((1..=15 * 60).contains(&retry_after), "{n}: {retry_after}")
                }
                other => panic!("{n}: {:?}", other.map(|_| ())),
            }
        }
        // Unknown emails are throttled the same way.
        for _ in 0..5 {
            assert_eq!(
                code(st.login("nobody@example.org", PW, "ip3").await),
                "bad_credentials"
            );
        }
        assert_eq!(
            code(st.login("nobody@example.org", PW, "ip3").await),
            "too_many_attempts",
            "{n}"
        );
        // Still throttled 14 minutes later, free after the 15-minute window:
        // the owner is never locked out for longer.
        h.clock.advance(14 * 60);
        assert_eq!(
            code(st.login("ann@example.org", PW, "ip1").await),
            "too_many_attempts",
            "{n}"
        );
        h.clock.advance(61);
        st.login("ann@example.org", PW, "ip1").await.unwrap();
        // A success clears the account's count.
        for _ in 0..4 {
            let _ = st.login("ann@example.org", "wrong password", "ip1").await;
        }
        st.login("ann@example.org", PW, "ip1").await.unwrap();
        for _ in 0..4 {
            let _ = st.login("ann@example.org", "wrong password", "ip1").await;
        }
        st.login("ann@example.org", PW, "ip1").await.unwrap();
        // An operator can end a lockout at once.
        for _ in 0..5 {
            let _ = st.login("ann@example.org", "wrong password", "ip4").await;
        }
        assert_eq!(
            code(st.login("ann@example.org", PW, "ip4").await),
            "too_many_attempts"
        );
        assert!(st.unlock_account("ann@example.org").await.unwrap());
        st.login("ann@example.org", PW, "ip4").await.unwrap();
        // One client guessing across many accounts is refused too.
        h.clock.advance(16 * 60);
        let mut refused = false;
        for i in 0..sextant_store::CLIENT_MAX_FAILURES + 1 {
            let r = st
                .login(&format!("user{i}@example.org"), "wrong password", "ip9")
                .await;
            refused |= code(r) == "too_many_attempts";
        }
        assert!(refused, "{n}: per-client limit");
        assert_eq!(
            code(st.login("ann@example.org", PW, "ip9").await),
            "too_many_attempts"
        );
        st.login("ann@example.org", PW, "ip10").await.unwrap();
    }
}

/// Issue 19, finding 4: concurrent guesses were all checked because the
/// count was read outside the write. Now each is counted before its check:
/// of 100 at once, at most 5 reach the password, and the right one, sent
/// among them, cannot get in after the budget is spent. The refusals are
/// audited once per key, not once per attempt (finding 5).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_guesses_are_counted_before_they_are_checked() {
    for h in harnesses().await {
        let st = h.store.clone();
        st.register("bob@example.org", PW).await.unwrap();
        let before = st.audit_verify().await.unwrap().rows;
        let mut tasks = Vec::new();
        for i in 0..100 {
            let st = st.clone();
            tasks.push(tokio::spawn(async move {
                code(
                    st.login(
                        "bob@example.org",
                        &format!("guess number {i}"),
                        &format!("10.0.0.{i}"),
                    )
                    .await,
                )
            }));
        }
        let mut checked: i64 = 0;
        for t in tasks {
            let c = t.await.unwrap();
            if c == "bad_credentials" {
                checked += 1;
            } else {
                assert_eq!(c, "too_many_attempts", "{}", h.name);
            }
        }
        eprintln!(
            "{}: {checked} of 100 concurrent guesses were checked",
            h.name
        );
        assert!(checked <= 5, "{}: {checked} guesses were checked", h.name);
        assert_eq!(
            code(st.login("bob@example.org", PW, "10.0.0.99").await),
            "too_many_attempts",
            "{}",
            h.name
        );
        let rows = st.audit_verify().await.unwrap().rows - before;
        // One row per checked guess, one for the account's refusals.
        assert!(rows <= checked + 1, "{}: {rows} audit rows", h.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_expiry() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        st.register("ann@example.org", PW).await.unwrap();
        // Idle timeout: each use refreshes; 30 minutes of silence ends it.
        let s = st.login("ann@example.org", PW, "c").await.unwrap();
        h.clock.advance(29 * 60);
        assert!(st.session(&s.token).await.unwrap().is_some(), "{n}");
        h.clock.advance(29 * 60);
        assert!(
            st.session(&s.token).await.unwrap().is_some(),
            "{n}: refreshed by the previous use"
        );
        h.clock.advance(30 * 60 + 1);
        assert!(
            st.session(&s.token).await.unwrap().is_none(),
            "{n}: idle expiry"
        );
        h.clock.advance(-(30 * 60 + 1));
        assert!(
            st.session(&s.token).await.unwrap().is_none(),
            "{n}: an expired session is gone for good"
        );

        // Absolute timeout: 12 hours after login even when used constantly.
        let s = st.login("ann@example.org", PW, "c").await.unwrap();
        let start = h.clock_now();
        while h.clock_now() + 20 * 60 <= start + 12 * 3600 {
            h.clock.advance(20 * 60);
            assert!(st.session(&s.token).await.unwrap().is_some(), "{n}");
        }
        h.clock.set(start + 12 * 3600 + 1);
        assert!(
            st.session(&s.token).await.unwrap().is_none(),
            "{n}: absolute expiry"
        );
    }
}

trait Now {
    fn clock_now(&self) -> i64;
}
impl Now for H {
    fn clock_now(&self) -> i64 {
        use sextant_store::Clock;
        self.clock.now()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_profile_answers_roundtrip_and_quota() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        let (_, ann) = user(st, "ann@example.org").await;
        let me = st.user(&ann);
        assert!(me.records().await.unwrap().is_empty());
        assert!(me.profile().await.unwrap().is_none());

        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let id = me
            .add_record("labs.json", "fhir+json", &bytes)
            .await
            .unwrap();
        assert_eq!(id.as_str().len(), 32);
        let (meta, data) = me.record(id.clone()).await.unwrap().unwrap();
        assert_eq!(
            (meta.name.as_str(), meta.format.as_str(), meta.size),
            ("labs.json", "fhir+json", 100_000)
        );
        assert_eq!(data, bytes);
        assert_eq!(me.records().await.unwrap(), vec![meta]);
        assert_eq!(code(me.add_record("", "pdf", b"x").await), "invalid_input");
        assert_eq!(
            code(me.add_record("a", "p df", b"x").await),
            "invalid_input"
        );

        me.save_profile(r#"{"cancer":"x"}"#).await.unwrap();
        me.save_profile(r#"{"cancer":"y"}"#).await.unwrap();
        assert_eq!(me.profile().await.unwrap().unwrap(), r#"{"cancer":"y"}"#);

        let a1 = me.save_answer("q1?", r#"{"a":1}"#).await.unwrap();
        h.clock.advance(1);
        let a2 = me.save_answer("q2?", r#"{"a":2}"#).await.unwrap();
        let all = me.answers().await.unwrap();
        assert_eq!(
            all.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
            vec![a2.clone(), a1.clone()],
            "{n}"
        );
        assert_eq!(
            me.answer(a1.clone()).await.unwrap().unwrap().question,
            "q1?"
        );

        assert!(me.delete_record(id.clone()).await.unwrap());
        assert!(!me.delete_record(id.clone()).await.unwrap());
        assert!(me.record(id).await.unwrap().is_none());

        // Count quota: 20 records.
        for i in 0..20 {
            me.add_record(&format!("r{i}"), "text", b"x").await.unwrap();
        }
        assert_eq!(
            code(me.add_record("r21", "text", b"x").await),
            "quota_exceeded",
            "{n}"
        );
        for r in me.records().await.unwrap().into_iter().skip(1) {
            assert!(me.delete_record(r.id).await.unwrap());
        }
        // Size quota: 50 MiB in all (one record of 1 byte is left).
        let big = vec![7u8; (MAX_RECORD_BYTES - 11) as usize];
        let big_id = me.add_record("big.pdf", "pdf", &big).await.unwrap();
        assert_eq!(
            code(me.add_record("more", "text", &[0u8; 11]).await),
            "quota_exceeded",
            "{n}"
        );
        me.add_record("fits", "text", &[0u8; 10]).await.unwrap();
        assert_eq!(me.record(big_id).await.unwrap().unwrap().1.len(), big.len());
        assert_eq!(
            code(
                me.add_record("over", "pdf", &vec![0u8; MAX_RECORD_BYTES as usize + 1])
                    .await
            ),
            "quota_exceeded"
        );

        let report = st.audit_verify().await.unwrap();
        assert!(report.ok(), "{n}: {report:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_user_isolation() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        let (_, ann) = user(st, "ann@example.org").await;
        let (_, bob) = user(st, "bob@example.org").await;
        let a = st.user(&ann);
        let b = st.user(&bob);
        let rec = a
            .add_record("ann.pdf", "pdf", b"ann's record")
            .await
            .unwrap();
        let ans = a.save_answer("ann's question", "{}").await.unwrap();
        a.save_profile("{\"ann\":true}").await.unwrap();

        assert!(b.record(rec.clone()).await.unwrap().is_none(), "{n}");
        assert!(b.answer(ans.clone()).await.unwrap().is_none(), "{n}");
        assert!(b.records().await.unwrap().is_empty(), "{n}");
        assert!(b.answers().await.unwrap().is_empty(), "{n}");
        assert!(b.profile().await.unwrap().is_none(), "{n}");
        assert!(!b.delete_record(rec.clone()).await.unwrap(), "{n}");
        b.save_profile("{\"bob\":true}").await.unwrap();
        b.set_personalize(true).await.unwrap();

        assert_eq!(a.record(rec).await.unwrap().unwrap().1, b"ann's record");
        assert!(a.answer(ans).await.unwrap().is_some());
        assert_eq!(a.profile().await.unwrap().unwrap(), "{\"ann\":true}");
        assert!(!st.session_for_test(&h, "ann").await);
        // Failed cross-user reads are audited as not_found for the caller.
        let nf: i64 = h
            .count(
                "SELECT COUNT(*) FROM audit_log WHERE actor = $1 AND outcome = 'not_found'",
                bob.user.as_str(),
            )
            .await;
        assert_eq!(nf, 4, "{n}"); // record, answer, profile (none), delete
    }
}

trait SessionForTest {
    async fn session_for_test(&self, h: &H, who: &str) -> bool;
}
impl SessionForTest for Store {
    /// Whether `who`'s personalize flag is on (ann never turned it on; bob did).
    async fn session_for_test(&self, h: &H, who: &str) -> bool {
        let email = format!("{who}@example.org");
        let s = self.login(&email, PW, "t").await.unwrap();
        let _ = h;
        self.session(&s.token).await.unwrap().unwrap().personalize
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_never_reaches_disk_in_clear() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        let canary = format!(
            "CANARY-{:x}-PHI",
            std::process::id() as u64 * 7919 + h.name.len() as u64
        );
        let email = format!("{}@example.org", canary.to_lowercase());
        st.register(&email, PW).await.unwrap();
        let s = st.login(&email, PW, "c").await.unwrap();
        let info = st.session(&s.token).await.unwrap().unwrap();
        let me = st.user(&info);
        let rec = me
            .add_record(
                &format!("{canary}.txt"),
                "text",
                format!("diagnosis {canary}").as_bytes(),
            )
            .await
            .unwrap();
        me.save_profile(&format!("{{\"name\":\"{canary}\"}}"))
            .await
            .unwrap();
        me.save_answer(
            &format!("what about {canary}?"),
            &format!("{{\"text\":\"{canary}\"}}"),
        )
        .await
        .unwrap();
        // Reads work (so the data is really there) ...
        assert!(me.record(rec).await.unwrap().is_some());
        // ... but no byte of any database file holds the canary.
        let files: Vec<std::path::PathBuf> = if h.is_pg() {
            h.exec("CHECKPOINT").await;
            files_under(&h.files)
        } else {
            let before = sqlite_files(&h);
            scan(&before, canary.as_bytes(), n, "before checkpoint");
            scan(
                &before,
                canary.to_lowercase().as_bytes(),
                n,
                "before checkpoint",
            );
            h.exec("PRAGMA wal_checkpoint(TRUNCATE)").await;
            sqlite_files(&h)
        };
        assert!(!files.is_empty());
        scan(&files, canary.as_bytes(), n, "after checkpoint");
        scan(
            &files,
            canary.to_lowercase().as_bytes(),
            n,
            "after checkpoint",
        );
        // The audit log has ids and actions only.
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT target, action, outcome FROM audit_log")
                .fetch_all(&h.raw)
                .await
                .unwrap();
        assert!(rows.len() >= 5);
        for r in rows {
            assert!(!format!("{r:?}")
                .to_lowercase()
                .contains(&canary.to_lowercase()));
        }
    }
}

fn sqlite_files(h: &H) -> Vec<std::path::PathBuf> {
    let p = h.files.display().to_string();
    [
        p.clone(),
        format!("{p}-wal"),
        format!("{p}-shm"),
        format!("{p}-journal"),
    ]
    .into_iter()
    .map(std::path::PathBuf::from)
    .filter(|p| p.exists())
    .collect()
}

fn scan(files: &[std::path::PathBuf], needle: &[u8], n: &str, when: &str) {
    for f in files {
        if let Ok(bytes) = std::fs::read(f) {
            assert!(
                !contains(&bytes, needle),
                "{n}: canary found in {} ({when})",
                f.display()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_ciphertexts_fail_integrity() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        let (_, ann) = user(st, "ann@example.org").await;
        let (_, bob) = user(st, "bob@example.org").await;
        let a = st.user(&ann);
        let b = st.user(&bob);
        let rec = a.add_record("ann.pdf", "pdf", b"ann's data").await.unwrap();
        let bob_rec = b.add_record("bob.pdf", "pdf", b"bob's data").await.unwrap();
        let ann_other = a
            .add_record("other.pdf", "pdf", b"ann's other data")
            .await
            .unwrap();
        let ans = a.save_answer("q", "{}").await.unwrap();
        a.save_profile("{}").await.unwrap();

        // A flipped byte in the record data.
        flip(
            &h,
            "SELECT data_enc FROM records WHERE id = $1",
            "UPDATE records SET data_enc = $1 WHERE id = $2",
            rec.as_str(),
        )
        .await;
        assert_eq!(code(a.record(rec.clone()).await), "integrity", "{n}");
        // In the name (listing decrypts names).
        flip(
            &h,
            "SELECT name_enc FROM records WHERE id = $1",
            "UPDATE records SET name_enc = $1 WHERE id = $2",
            rec.as_str(),
        )
        .await;
        assert_eq!(code(a.records().await), "integrity", "{n}");
        // In a saved answer.
        flip(
            &h,
            "SELECT answer_enc FROM answers WHERE id = $1",
            "UPDATE answers SET answer_enc = $1 WHERE id = $2",
            ans.as_str(),
        )
        .await;
        assert_eq!(code(a.answer(ans.clone()).await), "integrity", "{n}");
        // In the profile.
        flip(
            &h,
            "SELECT json_enc FROM profiles WHERE user_id = $1",
            "UPDATE profiles SET json_enc = $1 WHERE user_id = $2",
            ann.user.as_str(),
        )
        .await;
        assert_eq!(code(a.profile().await), "integrity", "{n}");
        // Failures are audited with their code.
        let integ: i64 = h
            .count(
                "SELECT COUNT(*) FROM audit_log WHERE actor = $1 AND outcome = 'integrity'",
                ann.user.as_str(),
            )
            .await;
        assert_eq!(integ, 4, "{n}");

        // Moving a ciphertext to another row of the same user fails too: the row id is bound.
        let bob_blob: Vec<u8> = sqlx::query_scalar("SELECT data_enc FROM records WHERE id = $1")
            .bind(bob_rec.as_str())
            .fetch_one(&h.raw)
            .await
            .unwrap();
        let rec3 = b.add_record("b2.pdf", "pdf", b"bob two").await.unwrap();
        sqlx::query("UPDATE records SET data_enc = $1 WHERE id = $2")
            .bind(&bob_blob)
            .bind(rec3.as_str())
            .execute(&h.raw)
            .await
            .unwrap();
        assert_eq!(
            code(b.record(rec3.clone()).await),
            "integrity",
            "{n}: swapped between rows"
        );
        // Moving ann's ciphertext into bob's row: another user's key and owner.
        let ann_blob: Vec<u8> = sqlx::query_scalar("SELECT data_enc FROM records WHERE id = $1")
            .bind(ann_other.as_str())
            .fetch_one(&h.raw)
            .await
            .unwrap();
        sqlx::query("UPDATE records SET data_enc = $1 WHERE id = $2")
            .bind(&ann_blob)
            .bind(rec3.as_str())
            .execute(&h.raw)
            .await
            .unwrap();
        assert_eq!(
            code(b.record(rec3).await),
            "integrity",
            "{n}: swapped between users"
        );
        // A tampered wrapped data key.
        flip(
            &h,
            "SELECT wrapped_key FROM users WHERE id = $1",
            "UPDATE users SET wrapped_key = $1 WHERE id = $2",
            bob.user.as_str(),
        )
        .await;
        assert_eq!(code(b.record(bob_rec).await), "integrity", "{n}");
        // A different master key opens nothing.
        let other = Store::open(
            &h.url,
            sextant_store::MasterKey::generate(),
            h.clock.clone(),
        )
        .await
        .unwrap();
        let before = st.audit_verify().await.unwrap();
        assert!(before.ok(), "{n}: {before:?}");
        assert_eq!(
            code(other.user(&ann).save_profile("{}").await),
            "integrity",
            "{n}"
        );
        // The failure it audited was keyed with the wrong key: the chain
        // shows where a process without the database's key wrote.
        let after = st.audit_verify().await.unwrap();
        assert_eq!(after.first_broken, Some(before.rows + 1), "{n}: {after:?}");
    }
}

/// Issue 19, finding 8: an older copy of a row, a deleted row put back, a
/// relabelled record and a session row written by hand are all refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolled_back_restored_relabelled_or_injected_rows_are_refused() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        // An older copy of the profile row.
        let (_, ann) = user(st, "ann@example.org").await;
        let a = st.user(&ann);
        a.save_profile(r#"{"v":1}"#).await.unwrap();
        let old: (Vec<u8>, i64) =
            sqlx::query_as("SELECT json_enc, version FROM profiles WHERE user_id = $1")
                .bind(ann.user.as_str())
                .fetch_one(&h.raw)
                .await
                .unwrap();
        a.save_profile(r#"{"v":2}"#).await.unwrap();
        let now: (Vec<u8>, i64) =
            sqlx::query_as("SELECT json_enc, version FROM profiles WHERE user_id = $1")
                .bind(ann.user.as_str())
                .fetch_one(&h.raw)
                .await
                .unwrap();
        assert_eq!(a.profile().await.unwrap().unwrap(), r#"{"v":2}"#, "{n}");
        let put = |row: (Vec<u8>, i64)| {
            sqlx::query("UPDATE profiles SET json_enc = $1, version = $2 WHERE user_id = $3")
                .bind(row.0)
                .bind(row.1)
                .bind(ann.user.as_str())
                .execute(&h.raw)
        };
        put(old.clone()).await.unwrap();
        assert_eq!(code(a.profile().await), "integrity", "{n}: old row");
        put((old.0.clone(), now.1)).await.unwrap();
        assert_eq!(code(a.profile().await), "integrity", "{n}: old text");
        put(now.clone()).await.unwrap();
        assert_eq!(a.profile().await.unwrap().unwrap(), r#"{"v":2}"#, "{n}");
        // The profile row deleted behind the store's back.
        h.exec("DELETE FROM profiles").await;
        assert_eq!(code(a.profile().await), "integrity", "{n}: deleted");

        // A deleted record put back.
        let (_, bob) = user(st, "bob@example.org").await;
        let b = st.user(&bob);
        let keep = b.add_record("keep.pdf", "pdf", b"kept").await.unwrap();
        let gone = b.add_record("gone.pdf", "pdf", b"gone").await.unwrap();
        type Row = (String, String, Vec<u8>, String, i64, Vec<u8>, i64, i64);
        let copy: Row = sqlx::query_as(
            "SELECT id, user_id, name_enc, format, size, data_enc, created_at, unpacked \
             FROM records WHERE id = $1",
        )
        .bind(gone.as_str())
        .fetch_one(&h.raw)
        .await
        .unwrap();
        assert!(b.delete_record(gone.clone()).await.unwrap(), "{n}");
        assert_eq!(b.records().await.unwrap().len(), 1, "{n}");
        sqlx::query(
            "INSERT INTO records (id, user_id, name_enc, format, size, data_enc, created_at, unpacked) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(copy.0)
        .bind(copy.1)
        .bind(copy.2)
        .bind(copy.3)
        .bind(copy.4)
        .bind(copy.5)
        .bind(copy.6)
        .bind(copy.7)
        .execute(&h.raw)
        .await
        .unwrap();
        assert_eq!(code(b.records().await), "integrity", "{n}: put back");
        assert_eq!(code(b.record(gone).await), "integrity", "{n}");
        assert_eq!(code(b.record(keep).await), "integrity", "{n}");

        // A record relabelled as another format.
        let (_, cat) = user(st, "cat@example.org").await;
        let c = st.user(&cat);
        let rec = c.add_record("labs.json", "fhir+json", b"{}").await.unwrap();
        sqlx::query("UPDATE records SET format = 'text/plain' WHERE id = $1")
            .bind(rec.as_str())
            .execute(&h.raw)
            .await
            .unwrap();
        assert_eq!(code(c.record(rec).await), "integrity", "{n}: relabelled");

        // A session row written by hand, and a real one moved to another user.
        use sha2::Digest;
        let token = "handmade-token-handmade-token-handmade-tok";
        let th = hex(&sha2::Sha256::digest(token.as_bytes()));
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen, mac) \
             VALUES ($1, $2, 'x', $3, $3, '')",
        )
        .bind(&th)
        .bind(ann.user.as_str())
        .bind(common::T0)
        .execute(&h.raw)
        .await
        .unwrap();
        assert!(st.session(token).await.unwrap().is_none(), "{n}: injected");
        let (dan_token, _) = user(st, "dan@example.org").await;
        assert!(st.session(&dan_token).await.unwrap().is_some(), "{n}");
        sqlx::query("UPDATE sessions SET user_id = $1 WHERE user_id <> $1 AND mac <> ''")
            .bind(ann.user.as_str())
            .execute(&h.raw)
            .await
            .unwrap();
        assert!(
            st.session(&dan_token).await.unwrap().is_none(),
            "{n}: moved to another user"
        );
    }
}

/// Issue 19, finding 7: audit rows carry the session (a keyed reference,
/// never the token) and the request they were written in, and the chain's
/// hash covers both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_rows_carry_session_and_request() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        let (token, ann) = user(st, "ann@example.org").await;
        let other = st.login("ann@example.org", PW, "10.0.0.2").await.unwrap();
        let ann2 = st.session(&other.token).await.unwrap().unwrap();
        sextant_store::with_request("req-one".into(), st.user(&ann).records())
            .await
            .unwrap();
        st.user(&ann2).records().await.unwrap();
        let log = st.user(&ann).access_log(10).await.unwrap();
        let lists: Vec<_> = log.iter().filter(|a| a.action == "record.list").collect();
        assert_eq!(lists.len(), 2, "{n}: {log:?}");
        let (second, first) = (lists[0], lists[1]);
        assert_eq!(first.request, "req-one", "{n}");
        assert_eq!(second.request, "", "{n}");
        assert_eq!(first.session.len(), 16, "{n}");
        assert_ne!(first.session, second.session, "{n}: two sessions");
        let login = log.iter().find(|a| a.action == "login").unwrap();
        assert_eq!(
            login.session, second.session,
            "{n}: login names its session"
        );
        for a in &log {
            assert!(!token.contains(&a.session) || a.session.is_empty(), "{n}");
            assert!(
                !ann.token_hash.contains(&a.session) || a.session.is_empty(),
                "{n}"
            );
        }
        assert!(st.audit_verify().await.unwrap().ok(), "{n}");
        // The hash covers them: a row moved to another request is an edit.
        sqlx::query("UPDATE audit_log SET request = 'req-two' WHERE request = 'req-one'")
            .execute(&h.raw)
            .await
            .unwrap();
        let rep = st.audit_verify().await.unwrap();
        assert!(!rep.ok(), "{n}: {rep:?}");
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A database written before schema 4 is sealed again when opened: every
/// row still opens, and from then on rows are bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_3_database_is_sealed_again_on_open() {
    for h in harnesses().await {
        let n = h.name;
        let (token, ann) = user(&h.store, "ann@example.org").await;
        let a = h.store.user(&ann);
        let rec = a
            .add_record("labs.json", "fhir+json", b"{\"resourceType\":\"Bundle\"}")
            .await
            .unwrap();
        a.save_profile(r#"{"p":1}"#).await.unwrap();
        let ans = a.save_answer("is it curable?", "{}").await.unwrap();
        sextant_store::testing::seal_as_schema_3(&h.store)
            .await
            .unwrap();
        let again = h.reopen().await;
        let a = again.user(&ann);
        let (meta, bytes) = a.record(rec.clone()).await.unwrap().unwrap();
        assert_eq!(bytes, b"{\"resourceType\":\"Bundle\"}", "{n}");
        assert_eq!(meta.unpacked, meta.size, "{n}");
        assert_eq!(a.profile().await.unwrap().unwrap(), r#"{"p":1}"#, "{n}");
        assert_eq!(
            a.answer(ans).await.unwrap().unwrap().question,
            "is it curable?",
            "{n}"
        );
        // Sessions from before are ended; logging in again works.
        assert!(again.session(&token).await.unwrap().is_none(), "{n}");
        again
            .login("ann@example.org", PW, "10.0.0.1")
            .await
            .unwrap();
        // Bound from now on.
        sqlx::query("UPDATE records SET format = 'pdf' WHERE id = $1")
            .bind(rec.as_str())
            .execute(&h.raw)
            .await
            .unwrap();
        assert_eq!(code(a.record(rec).await), "integrity", "{n}");
        assert!(again.audit_verify().await.unwrap().ok(), "{n}");
    }
}

async fn flip(h: &H, select: &'static str, update: &'static str, id: &str) {
    let mut blob: Vec<u8> = sqlx::query_scalar(select)
        .bind(id)
        .fetch_one(&h.raw)
        .await
        .unwrap();
    let i = blob.len() - 20;
    blob[i] ^= 0x01;
    sqlx::query(update)
        .bind(blob)
        .bind(id)
        .execute(&h.raw)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_chain_detects_edits_deletions_and_reordering() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        let (token, ann) = user(st, "ann@example.org").await;
        let me = st.user(&ann);
        let r = me.add_record("r", "text", b"x").await.unwrap();
        me.records().await.unwrap();
        me.record(r.clone()).await.unwrap();
        me.delete_record(r).await.unwrap();
        me.save_profile("{}").await.unwrap();
        me.profile().await.unwrap();
        let a = me.save_answer("q", "{}").await.unwrap();
        me.answers().await.unwrap();
        me.answer(a).await.unwrap();
        me.set_personalize(true).await.unwrap();
        st.logout(&token).await.unwrap();
        let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq")
            .fetch_all(&h.raw)
            .await
            .unwrap();
        assert_eq!(
            actions,
            [
                "register",
                "login",
                "record.add",
                "record.list",
                "record.read",
                "record.delete",
                "profile.write",
                "profile.read",
                "answer.save",
                "answer.list",
                "answer.read",
                "personalize.on",
                "logout"
            ],
            "{n}"
        );
        let ok = st.audit_verify().await.unwrap();
        assert!(ok.ok() && ok.rows == 13, "{n}: {ok:?}");

        // Edit a row.
        h.exec("UPDATE audit_log SET outcome = 'denied' WHERE seq = 5")
            .await;
        let rep = st.audit_verify().await.unwrap();
        assert_eq!(rep.first_broken, Some(5), "{n}: {rep:?}");
        h.exec("UPDATE audit_log SET outcome = 'ok' WHERE seq = 5")
            .await;
        assert!(st.audit_verify().await.unwrap().ok());
        // Edit the time of a row.
        h.exec("UPDATE audit_log SET at = at + 1 WHERE seq = 7")
            .await;
        assert_eq!(
            st.audit_verify().await.unwrap().first_broken,
            Some(7),
            "{n}"
        );
        h.exec("UPDATE audit_log SET at = at - 1 WHERE seq = 7")
            .await;
        // Reorder two rows (swap their sequence numbers).
        h.exec("UPDATE audit_log SET seq = -1 WHERE seq = 8").await;
        h.exec("UPDATE audit_log SET seq = 8 WHERE seq = 9").await;
        h.exec("UPDATE audit_log SET seq = 9 WHERE seq = -1").await;
        assert_eq!(
            st.audit_verify().await.unwrap().first_broken,
            Some(8),
            "{n}"
        );
        h.exec("UPDATE audit_log SET seq = -1 WHERE seq = 8").await;
        h.exec("UPDATE audit_log SET seq = 8 WHERE seq = 9").await;
        h.exec("UPDATE audit_log SET seq = 9 WHERE seq = -1").await;
        assert!(st.audit_verify().await.unwrap().ok());
        // Delete a middle row.
        let row: (i64, i64, String, String, String, String, String, String, String) =
            sqlx::query_as("SELECT seq, at, actor, subject, target, action, outcome, prev_hash, hash FROM audit_log WHERE seq = 3")
                .fetch_one(&h.raw)
                .await
                .unwrap();
        let (v, session, request): (i64, String, String) =
            sqlx::query_as("SELECT v, session, request FROM audit_log WHERE seq = 3")
                .fetch_one(&h.raw)
                .await
                .unwrap();
        h.exec("DELETE FROM audit_log WHERE seq = 3").await;
        let rep = st.audit_verify().await.unwrap();
        assert_eq!(rep.first_broken, Some(3), "{n}: {rep:?}");
        sqlx::query("INSERT INTO audit_log (seq, at, actor, subject, target, action, outcome, prev_hash, hash, v, session, request) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)")
            .bind(row.0).bind(row.1).bind(row.2).bind(row.3).bind(row.4).bind(row.5).bind(row.6).bind(row.7).bind(row.8)
            .bind(v).bind(session).bind(request)
            .execute(&h.raw).await.unwrap();
        assert!(st.audit_verify().await.unwrap().ok());
        // Delete the last row.
        h.exec("DELETE FROM audit_log WHERE seq = 13").await;
        assert_eq!(
            st.audit_verify().await.unwrap().first_broken,
            Some(13),
            "{n}"
        );
    }
}

/// The SHA-256 chain hash of a row, as anyone can compute it without the
/// key (the chain's first, unkeyed version).
#[allow(clippy::too_many_arguments)]
fn unkeyed_hash(prev: &str, seq: i64, at: i64, fields: [&str; 5]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"sextant-audit/v1");
    let (seq, at) = (seq.to_string(), at.to_string());
    for f in [prev, seq.as_str(), at.as_str()].into_iter().chain(fields) {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Rewrites the whole chain as someone with write access to the database
/// but not the key would (issue 19, finding 7): every `record.read` row
/// removed, the rest renumbered and re-hashed, the head updated.
/// `v`: what the rows claim to be (`None`: a log from before the column).
async fn forge_chain_without_the_key(h: &H, v: Option<i64>) {
    h.exec("DELETE FROM audit_log WHERE action = 'record.read'")
        .await;
    type Row = (i64, i64, String, String, String, String, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, at, actor, subject, target, action, outcome FROM audit_log ORDER BY seq",
    )
    .fetch_all(&h.raw)
    .await
    .unwrap();
    let mut prev = "0".repeat(64);
    for (i, (seq, at, actor, subject, target, action, outcome)) in rows.into_iter().enumerate() {
        let new_seq = i as i64 + 1;
        let hash = unkeyed_hash(
            &prev,
            new_seq,
            at,
            [&actor, &subject, &target, &action, &outcome],
        );
        let q = match v {
            Some(v) => sqlx::query(
                "UPDATE audit_log SET seq = $1, prev_hash = $2, hash = $3, v = $4 WHERE seq = $5",
            )
            .bind(new_seq)
            .bind(&prev)
            .bind(&hash)
            .bind(v)
            .bind(seq),
            None => sqlx::query(
                "UPDATE audit_log SET seq = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
            )
            .bind(new_seq)
            .bind(&prev)
            .bind(&hash)
            .bind(seq),
        };
        q.execute(&h.raw).await.unwrap();
        prev = hash;
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&h.raw)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(n)
        .bind(&prev)
        .execute(&h.raw)
        .await
        .unwrap();
}

/// Issue 19, finding 7: the chain was unkeyed SHA-256 with its head in the
/// same database, so deleting rows and recomputing it, or cutting rows off
/// the end and rewriting the head, passed `audit verify`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_chain_is_keyed_and_anchored_outside_the_database() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        let dir = tempfile::tempdir().unwrap();
        let head_file = dir.path().join("audit.head");
        st.export_audit_head_to(head_file.clone()).unwrap();
        let (_, ann) = user(st, "ann@example.org").await;
        let me = st.user(&ann);
        let r = me.add_record("r", "text", b"x").await.unwrap();
        me.record(r.clone()).await.unwrap();
        me.records().await.unwrap();
        me.record(r).await.unwrap();
        let anchor = sextant_store::AuditHead::parse(&std::fs::read_to_string(&head_file).unwrap())
            .unwrap_or_else(|| panic!("{n}: no head file"));
        let (seq, hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_one(&h.raw)
                .await
                .unwrap();
        assert_eq!(
            (anchor.seq, anchor.hash.clone()),
            (seq, hash),
            "{n}: the file holds the head"
        );
        assert!(st.audit_verify_against(&anchor).await.unwrap().ok(), "{n}");

        // Cut the last two rows and point the head at the new last row: the
        // chain is a valid prefix, but it no longer reaches the anchor.
        let (last_seq, last_hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM audit_log WHERE seq = $1")
                .bind(seq - 2)
                .fetch_one(&h.raw)
                .await
                .unwrap();
        sqlx::query("DELETE FROM audit_log WHERE seq > $1")
            .bind(last_seq)
            .execute(&h.raw)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(last_seq)
            .bind(&last_hash)
            .execute(&h.raw)
            .await
            .unwrap();
        assert!(
            st.audit_verify().await.unwrap().ok(),
            "{n}: a prefix still chains"
        );
        let rep = st.audit_verify_against(&anchor).await.unwrap();
        assert_eq!(rep.first_broken, Some(anchor.seq), "{n}: {rep:?}");

        // Recomputing the chain without the key is caught with or without
        // the anchor, whether the rows claim to be keyed or not.
        for v in [2, 1] {
            forge_chain_without_the_key(&h, Some(v)).await;
            let rep = st.audit_verify().await.unwrap();
            assert_eq!(rep.first_broken, Some(1), "{n} (v = {v}): {rep:?}");
            // Reopening does not take the unkeyed forgery for an old log.
            let rep = h.reopen().await.audit_verify().await.unwrap();
            assert_eq!(
                rep.first_broken,
                Some(1),
                "{n} (v = {v}, reopened): {rep:?}"
            );
        }
    }
}

/// A log written before the chain was keyed (plain SHA-256) is checked and
/// keyed once, by the migration that brings the key; the upgrade is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unkeyed_chain_from_before_is_keyed_on_open() {
    for h in harnesses().await {
        let n = h.name;
        let (_, ann) = user(&h.store, "ann@example.org").await;
        h.store.user(&ann).records().await.unwrap();
        // The database as an older Sextant left it: schema version 2, no
        // `v` column, rows hashed without the key (no record.read rows
        // here, so the helper only re-hashes, as v1 did).
        h.exec("ALTER TABLE audit_log DROP COLUMN v").await;
        h.exec("DELETE FROM sextant_schema WHERE version = 3").await;
        forge_chain_without_the_key(&h, None).await;
        let again = h.reopen().await;
        let rep = again.audit_verify().await.unwrap();
        assert!(rep.ok(), "{n}: {rep:?}");
        let unkeyed = h
            .count(
                "SELECT COUNT(*) FROM audit_log WHERE v < CAST($1 AS BIGINT)",
                "2",
            )
            .await;
        assert_eq!(unkeyed, 0, "{n}");
        let last: String =
            sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1")
                .fetch_one(&h.raw)
                .await
                .unwrap();
        assert_eq!(last, "audit.keyed", "{n}");
    }
}

async fn counts(h: &H, id: &str) -> Vec<i64> {
    let mut v = Vec::new();
    for sql in [
        "SELECT COUNT(*) FROM records WHERE user_id = $1",
        "SELECT COUNT(*) FROM answers WHERE user_id = $1",
        "SELECT COUNT(*) FROM profiles WHERE user_id = $1",
        "SELECT COUNT(*) FROM sessions WHERE user_id = $1",
        "SELECT COUNT(*) FROM users WHERE id = $1",
    ] {
        v.push(h.count(sql, id).await);
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_account_removes_everything_of_that_user_only() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        let (ann_token, ann) = user(st, "ann@example.org").await;
        let (_, bob) = user(st, "bob@example.org").await;
        let ann_second_login = st.login("ann@example.org", PW, "other").await.unwrap();
        for who in [&ann, &bob] {
            let s = st.user(who);
            s.add_record("r1", "text", b"1").await.unwrap();
            s.add_record("r2", "text", b"2").await.unwrap();
            s.save_profile("{}").await.unwrap();
            s.save_answer("q", "{}").await.unwrap();
        }
        assert_eq!(counts(&h, ann.user.as_str()).await, [2, 1, 1, 2, 1], "{n}");
        assert_eq!(counts(&h, bob.user.as_str()).await, [2, 1, 1, 1, 1], "{n}");

        st.delete_account(&ann).await.unwrap();
        assert_eq!(counts(&h, ann.user.as_str()).await, [0, 0, 0, 0, 0], "{n}");
        assert_eq!(counts(&h, bob.user.as_str()).await, [2, 1, 1, 1, 1], "{n}");
        assert!(st.session(&ann_token).await.unwrap().is_none());
        assert!(st.session(&ann_second_login.token).await.unwrap().is_none());
        assert_eq!(
            code(st.login("ann@example.org", PW, "c").await),
            "bad_credentials"
        );
        assert_eq!(code(st.delete_account(&ann).await), "not_found");
        // A stale SessionInfo can no longer reach the data.
        assert_eq!(code(st.user(&ann).records().await), "not_found");
        // Bob is intact.
        assert_eq!(st.user(&bob).records().await.unwrap().len(), 2);
        // The audit keeps a delete_account row with ids only, and the chain holds.
        let del: i64 = h.count("SELECT COUNT(*) FROM audit_log WHERE actor = $1 AND action = 'delete_account' AND outcome = 'ok'", ann.user.as_str()).await;
        assert_eq!(del, 1, "{n}");
        assert!(st.audit_verify().await.unwrap().ok());
        // The email can be registered again, as a new account.
        let again = st.register("ann@example.org", PW).await.unwrap();
        assert_ne!(again, ann.user);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_mid_transaction_leaves_nothing() {
    for h in harnesses().await {
        let st = &h.store;
        let n = h.name;
        let (_, ann) = user(st, "ann@example.org").await;
        let me = st.user(&ann);
        // Break the audit append, which runs after the record insert in the same transaction.
        h.exec("DELETE FROM audit_head").await;
        let err = me.add_record("r", "text", b"payload").await.unwrap_err();
        assert_eq!(err.code(), "database", "{n}");
        assert!(me.save_answer("q", "{}").await.is_err());
        assert!(me.save_profile("{}").await.is_err());
        let recs = h
            .count(
                "SELECT COUNT(*) FROM records WHERE user_id = $1",
                ann.user.as_str(),
            )
            .await;
        let ans = h
            .count(
                "SELECT COUNT(*) FROM answers WHERE user_id = $1",
                ann.user.as_str(),
            )
            .await;
        let prof = h
            .count(
                "SELECT COUNT(*) FROM profiles WHERE user_id = $1",
                ann.user.as_str(),
            )
            .await;
        assert_eq!(
            (recs, ans, prof),
            (0, 0, 0),
            "{n}: a failed transaction must leave nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_replicas_keep_one_chain() {
    for h in harnesses().await {
        let n = h.name;
        let replica = h.reopen().await;
        let (_, ann) = user(&h.store, "ann@example.org").await;
        let mut tasks = Vec::new();
        for i in 0..16 {
            let st = if i % 2 == 0 {
                h.store.clone()
            } else {
                replica.clone()
            };
            let ann = ann.clone();
            tasks.push(tokio::spawn(async move {
                let me = st.user(&ann);
                if i % 4 < 2 {
                    me.add_record(&format!("r{i}"), "text", b"x")
                        .await
                        .map(|_| ())
                } else {
                    me.save_answer("q", "{}").await.map(|_| ())
                }
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let rep = h.store.audit_verify().await.unwrap();
        assert!(rep.ok(), "{n}: {rep:?}");
        assert_eq!(rep.rows, 2 + 16);
        assert_eq!(h.store.user(&ann).records().await.unwrap().len(), 8);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_runs_migrations_once_and_keeps_data() {
    for h in harnesses().await {
        let (_, ann) = user(&h.store, "ann@example.org").await;
        let id = h
            .store
            .user(&ann)
            .add_record("r", "text", b"kept")
            .await
            .unwrap();
        let again = h.reopen().await;
        again.health().await.unwrap();
        assert_eq!(
            again.user(&ann).record(id).await.unwrap().unwrap().1,
            b"kept"
        );
        let versions = h
            .count(
                "SELECT COUNT(*) FROM sextant_schema WHERE version >= CAST($1 AS BIGINT)",
                "0",
            )
            .await;
        // Each migration once: 0001 to 0004.
        assert_eq!(versions, 4, "{}", h.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_library() {
    for h in harnesses().await {
        let st = &h.store;
        let slug = st
            .publish_answer("What is Stage II breast cancer?", r#"{"v":1}"#)
            .await
            .unwrap();
        assert!(
            slug.starts_with("what-is-stage-ii-breast-cancer-"),
            "{slug}"
        );
        h.clock.advance(5);
        let other = st
            .publish_answer("What is chemo brain?", r#"{"v":1}"#)
            .await
            .unwrap();
        h.clock.advance(5);
        assert_eq!(
            st.publish_answer("What is Stage II breast cancer?", r#"{"v":2}"#)
                .await
                .unwrap(),
            slug
        );
        let a = st.public_answer(&slug).await.unwrap().unwrap();
        assert_eq!(a.answer_json, r#"{"v":2}"#);
        assert_eq!(a.updated, a.created + 10);
        assert!(st.public_answer("nope").await.unwrap().is_none());
        let list = st.public_answers(10).await.unwrap();
        assert_eq!(
            list.iter().map(|a| a.slug.clone()).collect::<Vec<_>>(),
            vec![slug, other]
        );
        assert_eq!(st.public_answers(1).await.unwrap().len(), 1);
        assert_eq!(code(st.publish_answer("  ", "{}").await), "invalid_input");
    }
}

/// A full answer history makes room: the oldest answer goes, the new one
/// is saved (it used to fail with `quota_exceeded`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_answers_keep_the_newest() {
    for h in harnesses().await {
        let (_, s) = user(&h.store, "ann@example.org").await;
        let me = h.store.user(&s);
        for i in 0..sextant_store::MAX_SAVED_ANSWERS {
            me.save_answer(&format!("question {i}"), "{}")
                .await
                .unwrap();
            h.clock.advance(1);
        }
        me.save_answer("one more", "{}").await.unwrap();
        let all = me.answers().await.unwrap();
        assert_eq!(
            all.len() as i64,
            sextant_store::MAX_SAVED_ANSWERS,
            "{}",
            h.name
        );
        assert_eq!(all[0].question, "one more");
        assert!(
            !all.iter().any(|a| a.question == "question 0"),
            "{}",
            h.name
        );
        assert!(me.delete_answer(all[0].id.clone()).await.unwrap());
        assert!(!me.delete_answer(all[0].id.clone()).await.unwrap());
    }
}

/// A shared answer waits for review: invisible until approved, gone when
/// rejected; a published answer is not taken down by a new submission; the
/// queue is capped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_answers_wait_for_review() {
    use sextant_store::{Review, MAX_PENDING};
    for h in harnesses().await {
        let st = &h.store;
        let a = st
            .submit_answer("Can CLL be cured?", r#"{"v":1}"#)
            .await
            .unwrap();
        let b = st
            .submit_answer("What is a PICC line?", r#"{"v":1}"#)
            .await
            .unwrap();
        assert!(st.public_answer(&a).await.unwrap().is_none(), "{}", h.name);
        assert!(
            st.public_answers(10).await.unwrap().is_empty(),
            "{}",
            h.name
        );
        let pending: Vec<String> = st
            .pending_answers(10)
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.slug)
            .collect();
        assert_eq!(pending, vec![a.clone(), b.clone()], "{}", h.name);
        st.review_answer(&a, Review::Approve).await.unwrap();
        st.review_answer(&b, Review::Reject).await.unwrap();
        assert!(st.public_answer(&a).await.unwrap().is_some(), "{}", h.name);
        assert!(st.public_answer(&b).await.unwrap().is_none(), "{}", h.name);
        assert!(
            st.pending_answers(10).await.unwrap().is_empty(),
            "{}",
            h.name
        );
        assert_eq!(
            code(st.review_answer(&b, Review::Approve).await),
            "not_found"
        );
        // Submitted again, the published answer stays published.
        st.submit_answer("Can CLL be cured?", r#"{"v":2}"#)
            .await
            .unwrap();
        let again = st.public_answer(&a).await.unwrap().unwrap();
        assert_eq!(again.answer_json, r#"{"v":2}"#, "{}", h.name);
        // The queue is capped.
        for i in 0..MAX_PENDING {
            st.submit_answer(&format!("question {i}"), "{}")
                .await
                .unwrap();
        }
        assert_eq!(
            code(st.submit_answer("one too many", "{}").await),
            "quota_exceeded",
            "{}",
            h.name
        );
    }
}

#[test]
fn ids_are_opaque() {
    assert!("0".parse::<RecordId>().is_err());
    assert!("00000000000000000000000000000000"
        .parse::<AnswerId>()
        .is_ok());
}
