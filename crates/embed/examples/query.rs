//! Query-embedding latency: `cargo run --release -p sextant-embed --example query`.
use std::time::Instant;

fn main() {
    let e = sextant_embed::Embedder::load(&sextant_embed::models_dir(None)).expect("model");
    let qs = [
        "What are the symptoms of Adult Acute Lymphoblastic Leukemia ?",
        "food gets stuck when I swallow, is it cancer?",
        "Is surgery an option for metastatic liver cancer?",
    ];
    for q in qs {
        let _ = e.embed_one(q).unwrap();
        let t = Instant::now();
        for _ in 0..50 {
            let _ = e.embed_one(q).unwrap();
        }
        println!("{:.2} ms  {q}", t.elapsed().as_secs_f64() * 1000.0 / 50.0);
    }
}
