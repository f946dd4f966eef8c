//! `sextant profile --edit`: the person reviews their profile fact by fact
//! (confirm, correct, remove, keep) and may add facts the records missed.
//! The answers become a correction patch ([`sextant_records::edit::Patch`]),
//! applied exactly as `--apply` applies a saved one, so the two paths cannot
//! drift apart. Prompts go to the terminal's error stream; the result goes
//! to standard output, so `--edit --json > me.json` saves it.

use std::io::{self, BufRead, Write};

use sextant_records::edit::{self, Change, Entry, Patch, FIELDS};
use sextant_records::Profile;

/// Reads one line; `None` at the end of input (which finishes the review).
fn ask(input: &mut dyn BufRead, out: &mut dyn Write, prompt: &str) -> io::Result<Option<String>> {
    write!(out, "{prompt}")?;
    out.flush()?;
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim().to_string()))
}

/// Asks for each key of a value, offering the current one: Enter keeps it,
/// `-` clears it. `None` when input ended.
fn fill(
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    keys: &[&str],
    current: &serde_json::Value,
) -> io::Result<Option<serde_json::Value>> {
    let shown = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    if keys.is_empty() {
        let now = shown(Some(current));
        let Some(a) = ask(input, out, &format!("  value [{now}]: "))? else {
            return Ok(None);
        };
        return Ok(Some(serde_json::json!(if a.is_empty() { now } else { a })));
    }
    let mut value = current.as_object().cloned().unwrap_or_default();
    for k in keys {
        let now = shown(value.get(*k));
        let Some(a) = ask(input, out, &format!("  {k} [{now}]: "))? else {
            return Ok(None);
        };
        match a.as_str() {
            "" => {}
            "-" => {
                value.remove(*k);
            }
            _ => {
                value.insert(k.to_string(), serde_json::json!(a));
            }
        }
    }
    Ok(Some(serde_json::Value::Object(value)))
}

fn keys_of(field: &str) -> &'static [&'static str] {
    FIELDS
        .iter()
        .find(|f| f.0 == field)
        .map_or(&[][..], |f| f.1)
}

fn describe(e: &Entry) -> String {
    let from: Vec<String> = e
        .provenance
        .iter()
        .map(|p| format!("{}, {}", p.file, p.locator))
        .collect();
    format!("{}: {}  (from {})", e.field, e.line, from.join("; "))
}

/// Walks the person through `profile` and returns their changes.
pub fn review(
    profile: &Profile,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> io::Result<Patch> {
    let mut patch = Patch::default();
    let entries = edit::entries(profile);
    writeln!(
        out,
        "Review {} facts. For each: Enter keeps it, c confirms it, e corrects it, r removes it, q ends the review.",
        entries.len()
    )?;
    let change = |op: &str, e: &Entry, value| Change {
        op: op.into(),
        field: e.field.into(),
        fact: Some(e.line.clone()),
        value,
    };
    'facts: for (i, e) in entries.iter().enumerate() {
        writeln!(out, "\n[{}/{}] {}", i + 1, entries.len(), describe(e))?;
        loop {
            let Some(a) = ask(input, out, "keep, c, e, r or q? ")? else {
                return Ok(patch);
            };
            match a.to_lowercase().as_str() {
                "" | "k" | "keep" => {}
                "c" | "confirm" => patch.changes.push(change("confirm", e, None)),
                "r" | "remove" => patch.changes.push(change("remove", e, None)),
                "e" | "edit" | "correct" => {
                    let Some(v) = fill(input, out, keys_of(e.field), &e.value)? else {
                        return Ok(patch);
                    };
                    patch.changes.push(change("correct", e, Some(v)));
                }
                "q" | "quit" => break 'facts,
                _ => {
                    writeln!(out, "Please type Enter, c, e, r or q.")?;
                    continue;
                }
            }
            break;
        }
    }
    let names: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
    loop {
        let prompt = format!(
            "\nAdd a fact the records missed? Field ({}), or Enter to finish: ",
            names.join(", ")
        );
        let Some(field) = ask(input, out, &prompt)? else {
            break;
        };
        if field.is_empty() {
            break;
        }
        let Some((name, keys)) = FIELDS.iter().find(|f| f.0 == field) else {
            writeln!(out, "No field {field:?}.")?;
            continue;
        };
        let blank = if keys.is_empty() {
            serde_json::json!("")
        } else {
            serde_json::json!({})
        };
        let Some(value) = fill(input, out, keys, &blank)? else {
            break;
        };
        patch.changes.push(Change {
            op: "add".into(),
            field: name.to_string(),
            fact: None,
            value: Some(value),
        });
    }
    Ok(patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_records::{Biomarker, Fact, Method, Provenance, Site};

    fn prov() -> Provenance {
        Provenance {
            file: "report.txt".into(),
            locator: "chars 10..24".into(),
            method: Method::TextPattern,
            excerpt: None,
        }
    }

    fn check(answers: &str) -> (Profile, Vec<String>, String) {
        let mut p = Profile::default();
        p.biomarkers.push(Fact::new(
            Biomarker {
                name: "HER2".into(),
                result: "negative".into(),
                variant: None,
                origin: None,
                detail: None,
                code: None,
            },
            prov(),
        ));
        p.metastatic_sites.push(Fact::new(
            Site {
                name: "liver".into(),
                code: None,
            },
            prov(),
        ));
        p.grades.push(Fact::new("2".into(), prov()));
        let mut out = Vec::new();
        let patch = review(&p, &mut answers.as_bytes(), &mut out).unwrap();
        let issues = edit::apply(&mut p, &patch);
        assert!(issues.is_empty(), "{issues:?}");
        let lines = p
            .canonical_facts()
            .into_iter()
            .map(|(f, v)| format!("{f}: {v}"))
            .collect();
        (p, lines, String::from_utf8(out).unwrap())
    }

    #[test]
    fn confirm_correct_remove_and_add() {
        // Order of review: metastasis, grade, biomarker (canonical lines
        // are sorted).
        let (p, lines, shown) = check("c\nr\ne\n\nlow\n\n\n-\nsex\nfemale\n\n");
        assert_eq!(
            lines,
            vec!["biomarker: HER2 low", "metastasis: liver", "sex: female"]
        );
        assert_eq!(
            p.metastatic_sites[0].status,
            sextant_records::FactStatus::Confirmed
        );
        assert!(shown.contains("metastasis: liver  (from report.txt, chars 10..24)"));
        assert!(shown.contains("  result [negative]: "));
    }

    #[test]
    fn end_of_input_or_quit_keeps_the_rest() {
        let (_, lines, _) = check("r\n");
        assert_eq!(lines, vec!["biomarker: HER2 negative", "grade: 2"]);
        let (_, lines, _) = check("q\n\n");
        assert_eq!(lines.len(), 3);
        // A typo is asked again, not taken as an answer.
        let (_, lines, shown) = check("x\nr\n");
        assert!(shown.contains("Please type"));
        assert_eq!(lines.len(), 2);
    }
}
