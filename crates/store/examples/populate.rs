//! Fills a store with people, records, profiles and saved answers, to time
//! `sextant backup` and the restore drill at a realistic size:
//!
//! ```sh
//! sextant init --key-file K --database-url sqlite://D
//! cargo run --release -p sextant-store --example populate -- sqlite://D K 200 5 204800
//! ```
//! (URL, key file, people, records each, bytes per record).

use std::sync::Arc;

use sextant_store::{MasterKey, Store, SystemClock};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, key, people, records, bytes] = args.as_slice() else {
        eprintln!("usage: populate URL KEY_FILE PEOPLE RECORDS_EACH BYTES_PER_RECORD");
        std::process::exit(2);
    };
    let parse = |s: &str| s.parse::<usize>().expect("a number");
    let (people, records, bytes) = (parse(people), parse(records), parse(bytes));
    let key = MasterKey::load(std::path::Path::new(key)).expect("the key file");
    let store = Store::open(url, key, Arc::new(SystemClock))
        .await
        .expect("the store");
    let line = b"Progress note: invasive ductal carcinoma, ER positive, on letrozole.\n";
    let body: Vec<u8> = line.iter().copied().cycle().take(bytes).collect();
    let t = std::time::Instant::now();
    for p in 0..people {
        let email = format!("person{p}@example.org");
        let pw = "correct horse battery staple";
        store.register(&email, pw).await.expect("register");
        // One client per person: logins are budgeted per client.
        let client = format!("10.0.{}.{}", p / 256, p % 256);
        let s = store.login(&email, pw, &client).await.expect("login");
        let info = store.session(&s.token).await.unwrap().unwrap();
        let me = store.user(&info);
        for r in 0..records {
            me.add_record(&format!("note-{r}.txt"), "text/plain", &body)
                .await
                .expect("record");
        }
        me.save_profile(r#"{"cancer_type":"breast"}"#)
            .await
            .unwrap();
        me.save_answer("Is it curable?", "{}").await.unwrap();
    }
    println!(
        "{people} people, {} records of {bytes} bytes, in {:.1} s",
        people * records,
        t.elapsed().as_secs_f64()
    );
}
