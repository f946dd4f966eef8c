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
            // In plain text a no-break space ties the mark to its sentence.
            let sep = if md { ' ' } else { '\u{a0}' };
            format!("{}{sep}{}", s.text, marks(answer, s, md))
                .trim_end_matches([' ', '\u{a0}'])
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Said under a reading the sources do not cover.
const NOT_COVERED: &str =
    "Sextant's sources do not answer the question for this meaning; your care team can.";

/// Width plain text is wrapped to.
pub const TEXT_WIDTH: usize = 88;

/// Word-wraps `text` to `width` columns, prefixing every line with `indent`
/// (the first with `first`). Words longer than a line (URLs) stay whole.
fn wrap(text: &str, width: usize, first: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(first);
    let mut line_len = first.chars().count();
    let mut empty = true;
    // Split on plain spaces only: a no-break space keeps a citation mark on
    // the line of the sentence it belongs to.
    for word in text.split([' ', '\n', '\t']).filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        if !empty && line_len + 1 + n > width {
            out.push_str(&line);
            out.push('\n');
            line = String::from(indent);
            line_len = indent.chars().count();
            empty = true;
        }
        if !empty {
            line.push(' ');
            line_len += 1;
        }
        line.push_str(word);
        line_len += n;
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// A paragraph wrapped to [`TEXT_WIDTH`].
fn block(text: &str) -> String {
    wrap(text, TEXT_WIDTH, "", "")
}

/// An underlined heading.
fn heading(o: &mut String, h: &str, under: char) {
    o.push_str(&format!(
        "\n{h}\n{}\n",
        under.to_string().repeat(h.chars().count())
    ));
}

/// The heading of the "what to do now" block, by triage level.
fn urgent_heading(u: &sextant_core::Urgent) -> String {
    match u.level {
        sextant_core::Urgency::Urgent => {
            format!("URGENT: CONTACT YOUR CARE TEAM TODAY ({})", u.situation)
        }
        _ => format!("EMERGENCY: WHAT TO DO NOW ({})", u.situation),
    }
}

/// The "what to do now" block of an emergency or urgent message, first
/// thing on the page.
fn urgent_text(o: &mut String, u: &sextant_core::Urgent) {
    o.push_str(&"!".repeat(TEXT_WIDTH));
    o.push('\n');
    o.push_str(&block(&urgent_heading(u)));
    for (i, step) in u.do_now.iter().enumerate() {
        o.push_str(&wrap(step, TEXT_WIDTH, &format!("  {}. ", i + 1), "     "));
    }
    o.push_str(&block(&format!("Why: {}", u.why)));
    for c in &u.contacts {
        o.push_str(&wrap(
            &format!("{}: {}", c.name, c.number),
            TEXT_WIDTH,
            "  * ",
            "    ",
        ));
    }
    o.push_str(&block(&format!(
        "You wrote: {}",
        u.evidence
            .iter()
            .map(|e| format!("“{e}”"))
            .collect::<Vec<_>>()
            .join(" ")
    )));
    o.push_str(&"!".repeat(TEXT_WIDTH));
    o.push('\n');
}

/// Plain text for a terminal, wrapped to [`TEXT_WIDTH`] columns.
pub fn text(answer: &Answer) -> String {
    let mut o = String::new();
    if let Some(u) = &answer.urgent {
        urgent_text(&mut o, u);
        o.push('\n');
    }
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
    o.push('\n');
    o.push_str(&block(&answer.opener));
    if let Some(p) = &answer.personalization {
        if !p.facts_used.is_empty() {
            heading(&mut o, "For your situation (from your records)", '-');
            for f in &p.facts_used {
                o.push_str(&wrap(
                    &format!("{} (from {})", f.text, f.source),
                    TEXT_WIDTH,
                    "  - ",
                    "    ",
                ));
            }
        }
        if !p.biomarker_evidence.is_empty() {
            heading(&mut o, "What studies say about your gene findings", '-');
            o.push_str(&block(
                "From CIViC's summaries of published studies, as of August 2021; newer studies may say more. Ask your care team what they mean for you.",
            ));
            for e in &p.biomarker_evidence {
                let pmid = e
                    .pmid
                    .as_deref()
                    .map(|id| format!(" PubMed {id}."))
                    .unwrap_or_default();
                o.push_str(&wrap(
                    &format!("{}{pmid}", e.summary),
                    TEXT_WIDTH,
                    "  - ",
                    "    ",
                ));
            }
        }
    }
    for s in &answer.sections {
        heading(&mut o, &s.heading, '-');
        o.push_str(&block(&paragraph(answer, &s.sentences, false)));
    }
    for r in &answer.readings {
        heading(&mut o, &r.label, '=');
        if r.sections.is_empty() {
            o.push_str(&block(NOT_COVERED));
        }
        for s in &r.sections {
            heading(&mut o, &s.heading, '-');
            o.push_str(&block(&paragraph(answer, &s.sentences, false)));
        }
    }
    if !answer.questions_to_ask.is_empty() {
        heading(&mut o, "Questions to ask your care team", '-');
        for q in &answer.questions_to_ask {
            o.push_str(&wrap(q, TEXT_WIDTH, "  - ", "    "));
        }
    }
    let reading_lines: Vec<&sextant_core::Reading> = answer
        .readings
        .iter()
        .filter(|r| !r.bottom_line.is_empty())
        .collect();
    if !answer.bottom_line.is_empty() || !reading_lines.is_empty() {
        heading(&mut o, "The bottom line", '-');
        if !answer.bottom_line.is_empty() {
            o.push_str(&block(&paragraph(answer, &answer.bottom_line, false)));
        }
        for r in reading_lines {
            o.push_str(&block(&format!(
                "{}: {}",
                r.label,
                paragraph(answer, &r.bottom_line, false)
            )));
        }
    }
    o.push('\n');
    o.push_str(&block(&answer.notice));
    if !answer.sources.is_empty() {
        let label = if answer.kind == AnswerKind::NoEvidence {
            "Nearest topics found"
        } else {
            "Sources"
        };
        heading(&mut o, label, '-');
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
    if let Some(also) = &answer.also {
        o.push('\n');
        o.push_str(&"-".repeat(TEXT_WIDTH));
        o.push_str("\nAbout the rest of your message\n\n");
        o.push_str(&text(also));
    }
    o
}

/// Markdown, with footnote citations.
pub fn markdown(answer: &Answer) -> String {
    let mut o = String::new();
    if let Some(u) = &answer.urgent {
        o.push_str(&format!("> **{}**\n>\n", urgent_heading(u)));
        for (i, step) in u.do_now.iter().enumerate() {
            o.push_str(&format!("> {}. {step}\n", i + 1));
        }
        o.push_str(&format!(">\n> *Why:* {}\n>\n", u.why));
        for c in &u.contacts {
            o.push_str(&format!("> - **{}**: {}\n", c.name, c.number));
        }
        o.push('\n');
    }
    o.push_str(&format!("# {}\n\n", answer.title));
    if !answer.cancer_types.is_empty() {
        o.push_str(&format!(
            "*Cancer type: {}*\n\n",
            answer.cancer_types.join(", ")
        ));
    }
    o.push_str(&format!("{}\n", answer.opener));
    if let Some(p) = &answer.personalization {
        if !p.facts_used.is_empty() {
            o.push_str("\n## For your situation (from your records)\n\n");
            for f in &p.facts_used {
                o.push_str(&format!("- {} *(from {})*\n", f.text, f.source));
            }
        }
        if !p.biomarker_evidence.is_empty() {
            o.push_str("\n## What studies say about your gene findings\n\n*From CIViC's summaries of published studies, as of August 2021; newer studies may say more. Ask your care team what they mean for you.*\n\n");
            for e in &p.biomarker_evidence {
                let pmid = e
                    .pmid
                    .as_deref()
                    .map(|id| format!(" [PubMed {id}](https://pubmed.ncbi.nlm.nih.gov/{id}/)"))
                    .unwrap_or_default();
                o.push_str(&format!("- {}{pmid}\n", e.summary));
            }
        }
    }
    for s in &answer.sections {
        o.push_str(&format!(
            "\n## {}\n\n{}\n",
            s.heading,
            paragraph(answer, &s.sentences, true)
        ));
    }
    for r in &answer.readings {
        o.push_str(&format!("\n## {}\n", r.label));
        if r.sections.is_empty() {
            o.push_str(&format!("\n{NOT_COVERED}\n"));
        }
        for s in &r.sections {
            o.push_str(&format!(
                "\n### {}\n\n{}\n",
                s.heading,
                paragraph(answer, &s.sentences, true)
            ));
        }
    }
    if !answer.questions_to_ask.is_empty() {
        o.push_str("\n## Questions to ask your care team\n\n");
        for q in &answer.questions_to_ask {
            o.push_str(&format!("- {q}\n"));
        }
    }
    let reading_lines: Vec<&sextant_core::Reading> = answer
        .readings
        .iter()
        .filter(|r| !r.bottom_line.is_empty())
        .collect();
    if !answer.bottom_line.is_empty() || !reading_lines.is_empty() {
        o.push_str("\n## The bottom line\n\n");
        if !answer.bottom_line.is_empty() {
            o.push_str(&format!(
                "{}\n",
                paragraph(answer, &answer.bottom_line, true)
            ));
        }
        for r in reading_lines {
            o.push_str(&format!(
                "- *{}:* {}\n",
                r.label,
                paragraph(answer, &r.bottom_line, true)
            ));
        }
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
    if let Some(also) = &answer.also {
        // Footnote labels restart in the nested answer; prefix them.
        let nested = markdown(also).replace("[^", "[^also-");
        o.push_str("\n---\n\n## About the rest of your message\n\n");
        o.push_str(&nested.replacen("# ", "### ", 1));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_at_word_boundaries_and_keeps_long_words() {
        let w = wrap("aaa bbb ccc ddd", 7, "- ", "  ");
        assert_eq!(w, "- aaa\n  bbb\n  ccc\n  ddd\n");
        let url = "https://www.cancer.gov/types/liver/what-is-liver-cancer/treatment";
        assert_eq!(wrap(url, 10, "", ""), format!("{url}\n"));
        for line in wrap(&"word ".repeat(100), 88, "", "").lines() {
            assert!(line.chars().count() <= 88);
        }
    }
}
