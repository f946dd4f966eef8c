//! Times each routing step over the labeled safety set:
//! `cargo run --release -p sextant-answer --example route_parts`.
use std::time::Instant;

fn main() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../eval/data/safety.tsv"
    ))
    .unwrap();
    let qs: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("expect"))
        .filter_map(|l| l.splitn(3, '\t').nth(2))
        .collect();
    let drugs: Vec<String> = vec![];
    type Step<'a> = (&'a str, Box<dyn Fn(&str) -> bool>);
    let steps: Vec<Step> = vec![
        (
            "emergency",
            Box::new(|q| sextant_safety::emergency(q).is_some()),
        ),
        (
            "unclear",
            Box::new(move |q| sextant_safety::unclear(q, &[])),
        ),
        (
            "dosing",
            Box::new(move |q| sextant_safety::dosing(q, &[]).is_some()),
        ),
        (
            "out_of_scope",
            Box::new(move |q| sextant_safety::out_of_scope(q, &[])),
        ),
        (
            "ambiguity",
            Box::new(|q| sextant_answer::ambiguity::detect(q).is_some()),
        ),
        (
            "route",
            Box::new(move |q| {
                matches!(
                    sextant_answer::route(q, &drugs),
                    sextant_answer::Route::Question
                )
            }),
        ),
    ];
    for (name, f) in &steps {
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..5 {
            for q in &qs {
                n += usize::from(f(q));
            }
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / (5 * qs.len()) as f64;
        println!("{name:<14} {us:>8.1} µs/question ({n} true)");
    }
}
