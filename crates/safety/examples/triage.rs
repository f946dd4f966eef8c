//! Prints the triage of each line of standard input (rules only):
//! `echo "temp 38.6 after FOLFOX" | cargo run -p sextant-safety --example triage`.
use std::io::BufRead;

fn main() {
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        match sextant_safety::emergency(&line) {
            Some(e) => println!(
                "{}:{}\t{}\t{:?}",
                e.level.as_str(),
                e.situation.id,
                line,
                e.evidence
            ),
            None => println!("routine\t{line}"),
        }
    }
}
