//! Query-embedding latency in one run: int8 (the default), the f32
//! single-text path, and candle (ratios hold when the machine is busy):
//! `cargo run --release -p sextant-embed --example query`.
use std::time::Instant;

/// CPU time of the whole process (all threads), in ms.
fn cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only into `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1000.0 + ts.tv_nsec as f64 / 1e6
}

fn main() {
    use sextant_embed::{Embedder, Precision};
    let dir = sextant_embed::models_dir(None);
    let e = Embedder::load_with(&dir, Precision::F32).expect("model");
    let q8 = Embedder::load_with(&dir, Precision::Int8).expect("model");
    let qs = [
        "What are the symptoms of Adult Acute Lymphoblastic Leukemia ?",
        "food gets stuck when I swallow, is it cancer?",
        "Is surgery an option for metastatic liver cancer?",
        "my husband is 52 and just got diagnosed with acute lymphoblastic lukemia, what even is that",
    ];
    const RUNS: u32 = 50;
    println!(
        "| question | int8: wall ms / CPU ms | f32 single-text path: wall ms / CPU ms | candle: wall ms / CPU ms | CPU ratio candle / int8 |"
    );
    println!("|---|---:|---:|---:|---:|");
    for q in qs {
        let _ = e.embed_one(q).unwrap();
        let _ = e.embed_one_candle(q).unwrap();
        let _ = q8.embed_one(q).unwrap();
        let (t, c) = (Instant::now(), cpu_ms());
        for _ in 0..RUNS {
            std::hint::black_box(q8.embed_one(q).unwrap());
        }
        let int8 = t.elapsed().as_secs_f64() * 1000.0 / RUNS as f64;
        let int8_cpu = (cpu_ms() - c) / RUNS as f64;
        let (t, c) = (Instant::now(), cpu_ms());
        for _ in 0..RUNS {
            std::hint::black_box(e.embed_one(q).unwrap());
        }
        let fast = t.elapsed().as_secs_f64() * 1000.0 / RUNS as f64;
        let fast_cpu = (cpu_ms() - c) / RUNS as f64;
        let (t, c) = (Instant::now(), cpu_ms());
        for _ in 0..RUNS {
            std::hint::black_box(e.embed_one_candle(q).unwrap());
        }
        let slow = t.elapsed().as_secs_f64() * 1000.0 / RUNS as f64;
        let slow_cpu = (cpu_ms() - c) / RUNS as f64;
        println!(
            "| {q} | {int8:.2} / {int8_cpu:.2} | {fast:.2} / {fast_cpu:.2} | {slow:.2} / {slow_cpu:.2} | ×{:.1} |",
            slow_cpu / int8_cpu
        );
    }
}
