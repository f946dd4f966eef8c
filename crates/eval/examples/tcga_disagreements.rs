//! Prints a sample of the TCGA comparisons where Sextant and the silver
//! label disagree, with Sextant's excerpt and the text around it, for
//! reading by hand (not part of `sextant eval records`' output).
//!
//! `cargo run --release -p sextant-eval --example tcga_disagreements --
//! DATA [N per type and field] [FIELD] [CONTEXT chars]`

use std::path::PathBuf;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let data = PathBuf::from(args.get(1).map_or("/work/shared/data", String::as_str));
    let n: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let only = args.get(3).filter(|f| f.as_str() != "all").cloned();
    let context: usize = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(160);
    let (report, comparisons, texts) = match sextant_eval::tcga::run(&data, true) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    eprint!("{}", sextant_eval::tcga::table(&report));
    for t in &texts {
        for field in sextant_eval::tcga::FIELDS {
            if only.as_deref().is_some_and(|f| f != field) {
                continue;
            }
            let bad: Vec<_> = comparisons
                .iter()
                .filter(|c| c.cancer_type == t.cancer_type && c.field == field)
                .filter(|c| c.agree == Some(false))
                .collect();
            if bad.is_empty() {
                continue;
            }
            // Evenly spaced over the file, deterministic.
            let step = (bad.len() / n.max(1)).max(1);
            for c in bad.iter().step_by(step).take(n) {
                let text = t
                    .texts
                    .iter()
                    .find(|(i, _)| *i == c.index)
                    .map_or("", |(_, s)| s.as_str());
                let around = c.span.map_or(String::new(), |(a, b)| {
                    let mut s = a.saturating_sub(context);
                    while !text.is_char_boundary(s) {
                        s -= 1;
                    }
                    let mut e = (b + context).min(text.len());
                    while !text.is_char_boundary(e) {
                        e += 1;
                    }
                    text[s..e].split_whitespace().collect::<Vec<_>>().join(" ")
                });
                println!(
                    "=== {} #{} {}\n  label:   {}\n  sextant: {}\n  excerpt: {}\n  context: {}\n",
                    c.cancer_type, c.index, field, c.label, c.sextant, c.excerpt, around
                );
            }
        }
    }
}
