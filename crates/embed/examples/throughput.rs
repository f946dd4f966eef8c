//! Embedding throughput by batch size on texts read from a JSON-lines file
//! of passages (`{"text": ...}` per line). Run with `RAYON_NUM_THREADS=1`, like
//! the CLI:
//! `cargo run --release -p sextant-embed --example throughput -- KB/gen-*/passages.jsonl 160`.
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("passages.jsonl");
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(512);
    let texts: Vec<String> = std::fs::read_to_string(path)
        .expect("readable")
        .lines()
        .take(n)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let e = sextant_embed::Embedder::load(&sextant_embed::models_dir(None)).expect("model");
    for batch in [2, 4, 8, 32] {
        let t = Instant::now();
        e.embed_batched(&refs, batch, &|_| {}).expect("embeds");
        let s = t.elapsed().as_secs_f64();
        println!("batch {batch:>3}: {:.1} passages/s", refs.len() as f64 / s);
    }
}
