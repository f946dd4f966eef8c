//! Text and Markdown renderings of an answer (JSON is serde's).

use sextant_core::{Answer, AnswerKind, CitedSentence};

fn marks(answer: &Answer, s: &CitedSentence, md: bool) -> String {
    s.citations
        .iter()
        .filter_map(|c| answer.sources.iter().position(|src| &src.id == c))
        .map(|i| {
            if md {
                format!("[^{}]", i + 1)
            } else {
                format!("[{}]", i + 1)
            }
        })
        .collect::<Vec<_>>()
        .join("")
}

fn paragraph(answer: &Answer, sentences: &[CitedSentence], md: bool) -> String {
    sentences
        .iter()
        .map(|s| {
            format!("{} {}", s.text, marks(answer, s, md))
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Plain text for a terminal.
pub fn text(answer: &Answer) -> String {
    let mut o = String::new();
    o.push_str(&answer.title);
    o.push('\n');
    o.push_str(&"=".repeat(answer.title.chars().count()));
    o.push('\n');
    if !answer.cancer_types.is_empty() {
        o.push_str(&format!(
            "Cancer type: {}\n",
            answer.cancer_types.join(", ")
        ));
    }
    o.push_str(&format!("\n{}\n", answer.opener));
    for s in &answer.sections {
        o.push_str(&format!(
            "\n{}\n{}\n",
            s.heading,
            "-".repeat(s.heading.chars().count())
        ));
        o.push_str(&paragraph(answer, &s.sentences, false));
        o.push('\n');
    }
    if !answer.questions_to_ask.is_empty() {
        o.push_str("\nQuestions to ask your care team\n-------------------------------\n");
        for q in &answer.questions_to_ask {
            o.push_str(&format!("  - {q}\n"));
        }
    }
    if !answer.bottom_line.is_empty() {
        o.push_str("\nThe bottom line\n---------------\n");
        o.push_str(&paragraph(answer, &answer.bottom_line, false));
        o.push('\n');
    }
    o.push_str(&format!("\n{}\n", answer.notice));
    if !answer.sources.is_empty() {
        let label = if answer.kind == AnswerKind::NoEvidence {
            "Nearest topics found"
        } else {
            "Sources"
        };
        o.push_str(&format!("\n{label}\n{}\n", "-".repeat(label.len())));
        for (i, s) in answer.sources.iter().enumerate() {
            let reviewed = s
                .last_reviewed
                .as_deref()
                .map(|d| format!(" (last reviewed {d})"))
                .unwrap_or_default();
            o.push_str(&format!(
                "[{}] {} — {}{}\n    {}\n",
                i + 1,
                s.title,
                s.section,
                reviewed,
                s.url
            ));
        }
    }
    o
}

/// Markdown, with footnote citations.
pub fn markdown(answer: &Answer) -> String {
    let mut o = format!("# {}\n\n", answer.title);
    if !answer.cancer_types.is_empty() {
        o.push_str(&format!(
            "*Cancer type: {}*\n\n",
            answer.cancer_types.join(", ")
        ));
    }
    o.push_str(&format!("{}\n", answer.opener));
    for s in &answer.sections {
        o.push_str(&format!(
            "\n## {}\n\n{}\n",
            s.heading,
            paragraph(answer, &s.sentences, true)
        ));
    }
    if !answer.questions_to_ask.is_empty() {
        o.push_str("\n## Questions to ask your care team\n\n");
        for q in &answer.questions_to_ask {
            o.push_str(&format!("- {q}\n"));
        }
    }
    if !answer.bottom_line.is_empty() {
        o.push_str(&format!(
            "\n## The bottom line\n\n{}\n",
            paragraph(answer, &answer.bottom_line, true)
        ));
    }
    o.push_str(&format!("\n> {}\n", answer.notice));
    if !answer.sources.is_empty() {
        o.push('\n');
        for (i, s) in answer.sources.iter().enumerate() {
            let reviewed = s
                .last_reviewed
                .as_deref()
                .map(|d| format!(", last reviewed {d}"))
                .unwrap_or_default();
            o.push_str(&format!(
                "[^{}]: [{}]({}) — {}{}\n",
                i + 1,
                s.title,
                s.url,
                s.section,
                reviewed
            ));
        }
    }
    o
}
