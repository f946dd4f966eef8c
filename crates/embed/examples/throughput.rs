//! Embedding throughput, int8 against f32 in the same run, on texts read from
//! a JSON-lines file of passages (`{"text": ...}` per line), with the
//! cosine between the two precisions' vectors:
//! `cargo run --release -p sextant-embed --example throughput -- KB/gen-*/passages.jsonl 160 [BATCH...]`.
//! f32 runs as the CLI runs it (`RAYON_NUM_THREADS=1`, one batch per core).
use sextant_embed::{Embedder, Precision, DIM};
use std::time::Instant;

fn main() {
    std::env::set_var("RAYON_NUM_THREADS", "1");
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("passages.jsonl");
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(512);
    let batches: Vec<usize> = args.filter_map(|s| s.parse().ok()).collect();
    let texts: Vec<String> = std::fs::read_to_string(path)
        .expect("readable")
        .lines()
        .take(n)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(str::to_string))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let dir = sextant_embed::models_dir(None);
    let mut results = Vec::new();
    for precision in [Precision::F32, Precision::Int8] {
        let e = Embedder::load_with(&dir, precision).expect("model");
        println!(
            "{}: {} texts, {:.0} tokens on average",
            precision.as_str(),
            refs.len(),
            e.mean_tokens(&refs).expect("tokenizes")
        );
        let sizes = if batches.is_empty() {
            vec![sextant_embed::embedder::BATCH]
        } else {
            batches.clone()
        };
        let mut last = Vec::new();
        for &batch in &sizes {
            let t = Instant::now();
            last = e.embed_batched(&refs, batch, &|_| {}).expect("embeds");
            let s = t.elapsed().as_secs_f64();
            println!(
                "  batch {batch:>3}: {:.1} passages/s",
                refs.len() as f64 / s
            );
        }
        results.push(last);
    }
    let cos: Vec<f32> = results[0]
        .chunks(DIM)
        .zip(results[1].chunks(DIM))
        .map(|(a, b)| sextant_embed::dot(a, b))
        .collect();
    let mean = cos.iter().sum::<f32>() / cos.len() as f32;
    let worst = cos.iter().cloned().fold(1f32, f32::min);
    println!("cosine int8 vs f32: mean {mean:.5}, worst {worst:.5}");
}
