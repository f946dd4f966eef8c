//! Blocks of a page → passages along the heading hierarchy.
//!
//! A passage never crosses a heading. Paragraphs under one heading are packed
//! into passages of at most [`MAX_WORDS`]; a paragraph longer than that is
//! cut at sentence boundaries; a short tail is folded into the passage before
//! it. A section that is short on its own stays a short passage: merging it
//! with a neighbour would cite text under the wrong heading.

use crate::markdown::Block;

/// Passages aim for this many words at most...
pub const MAX_WORDS: usize = 200;
/// ...and at least this many, where the section is long enough.
pub const MIN_WORDS: usize = 40;

/// A passage before it is given ids and a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub section_path: Vec<String>,
    pub text: String,
    pub terms: Vec<u32>,
}

/// Section headings whose content is not patient information (PDQ boilerplate,
/// bibliographies, link lists). Their whole subtree is skipped.
fn is_skipped_heading(h: &str) -> bool {
    let l = h.to_lowercase();
    l == "references"
        || l.starts_with("about this pdq summary")
        || l.starts_with("to learn more about")
        || l == "related resources"
        || l == "latest news"
        || l.starts_with("changes to this summary")
}

/// Cuts a page's blocks into chunks. `root` is the page title, used as the
/// first element of the section path when the page has no top heading.
pub fn chunk(blocks: &[Block], root: &str) -> Vec<Chunk> {
    let mut out = Vec::new();
    // (level, text) of the open headings.
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut skip_below: Option<usize> = None;
    let mut paras: Vec<(&str, &[u32])> = Vec::new();
    for b in blocks {
        match b {
            Block::Heading { level, text } => {
                flush(&stack, root, &mut paras, &mut out);
                if let Some(l) = skip_below {
                    if *level > l {
                        continue;
                    }
                    skip_below = None;
                }
                // "Liver Cancer Treatment - NCI": the scraper's copy of the title.
                if *level == 1 && text.ends_with(" - NCI") {
                    continue;
                }
                if is_skipped_heading(text) {
                    skip_below = Some(*level);
                    continue;
                }
                while stack.last().is_some_and(|(l, _)| *l >= *level) {
                    stack.pop();
                }
                stack.push((*level, text.clone()));
            }
            Block::Paragraph { text, terms } => {
                if skip_below.is_none() {
                    paras.push((text, terms));
                }
            }
        }
    }
    flush(&stack, root, &mut paras, &mut out);
    out
}

fn flush(
    stack: &[(usize, String)],
    root: &str,
    paras: &mut Vec<(&str, &[u32])>,
    out: &mut Vec<Chunk>,
) {
    if paras.is_empty() {
        return;
    }
    let mut path: Vec<String> = stack.iter().map(|(_, t)| t.clone()).collect();
    if stack.first().is_none_or(|(l, _)| *l > 1) {
        path.insert(0, root.to_string());
    }
    // Pieces: paragraphs, long ones cut at sentence boundaries.
    let mut pieces: Vec<(String, Vec<u32>)> = Vec::new();
    for (text, terms) in paras.drain(..) {
        if text.split_whitespace().count() <= MAX_WORDS {
            pieces.push((text.to_string(), terms.to_vec()));
            continue;
        }
        let mut cur = String::new();
        let mut first = true;
        for s in sextant_core::text::sentences(text) {
            let n = s.split_whitespace().count();
            if !cur.is_empty() && cur.split_whitespace().count() + n > MAX_WORDS {
                pieces.push((
                    std::mem::take(&mut cur),
                    if first { terms.to_vec() } else { Vec::new() },
                ));
                first = false;
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(s);
        }
        if !cur.is_empty() {
            pieces.push((cur, if first { terms.to_vec() } else { Vec::new() }));
        }
    }
    // Pack pieces into passages.
    let mut packed: Vec<(String, Vec<u32>, usize)> = Vec::new();
    for (text, terms) in pieces {
        let n = text.split_whitespace().count();
        match packed.last_mut() {
            Some((t, tm, w)) if *w + n <= MAX_WORDS || *w < MIN_WORDS => {
                t.push_str("\n\n");
                t.push_str(&text);
                tm.extend(terms);
                *w += n;
            }
            _ => packed.push((text, terms, n)),
        }
    }
    // Fold a short tail into the passage before it when that stays reasonable.
    if packed.len() >= 2 {
        let last_words = packed[packed.len() - 1].2;
        let prev_words = packed[packed.len() - 2].2;
        if last_words < MIN_WORDS && prev_words + last_words <= MAX_WORDS + MIN_WORDS {
            let (t, tm, w) = packed.pop().expect("len >= 2");
            let prev = packed.last_mut().expect("len >= 1");
            prev.0.push_str("\n\n");
            prev.0.push_str(&t);
            prev.1.extend(tm);
            prev.2 += w;
        }
    }
    for (text, mut terms, _) in packed {
        terms.sort_unstable();
        terms.dedup();
        out.push(Chunk {
            section_path: path.clone(),
            text,
            terms,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markdown::parse;

    fn words(n: usize, w: &str) -> String {
        let mut s = vec![w; n].join(" ");
        s.push('.');
        s
    }

    #[test]
    fn never_crosses_headings_and_keeps_the_path() {
        let md = format!(
            "# Page - NCI\n\n# Liver Cancer Treatment\n\n## Surgery\n\n{}\n\n## Transplant\n\n{}\n",
            words(50, "cut"),
            words(45, "graft")
        );
        let (blocks, _) = parse(&md);
        let chunks = chunk(&blocks, "Liver Cancer Treatment");
        assert_eq!(chunks.len(), 2);
        assert_eq!(
            chunks[0].section_path,
            vec!["Liver Cancer Treatment", "Surgery"]
        );
        assert_eq!(
            chunks[1].section_path,
            vec!["Liver Cancer Treatment", "Transplant"]
        );
        assert!(chunks[0].text.starts_with("cut") && !chunks[0].text.contains("graft"));
    }

    #[test]
    fn long_sections_are_split_within_bounds() {
        let mut md = String::from("## Long\n\n");
        for i in 0..12 {
            md.push_str(&format!("{}\n\n", words(35, &format!("w{i}"))));
        }
        let (blocks, _) = parse(&md);
        let chunks = chunk(&blocks, "Root");
        assert!(chunks.len() >= 2);
        for c in &chunks {
            let n = c.text.split_whitespace().count();
            assert!((MIN_WORDS..=MAX_WORDS + MIN_WORDS).contains(&n), "{n}");
            assert_eq!(c.section_path, vec!["Root", "Long"]);
        }
    }

    #[test]
    fn a_very_long_paragraph_is_cut_at_sentences() {
        let mut para = String::new();
        for i in 0..40 {
            para.push_str(&format!(
                "Sentence number {i} has exactly seven words here. "
            ));
        }
        let (blocks, _) = parse(&format!("## S\n\n{para}\n"));
        let chunks = chunk(&blocks, "R");
        assert!(chunks.len() >= 2);
        for c in &chunks {
            assert!(c.text.ends_with('.'));
            assert!(c.text.split_whitespace().count() <= MAX_WORDS + MIN_WORDS);
        }
    }

    #[test]
    fn boilerplate_sections_are_skipped() {
        let md = "## Treatment\n\nReal text here.\n\n## About This PDQ Summary\n\n### Purpose\n\nBoilerplate.\n\n## Next\n\nMore text.\n";
        let (blocks, _) = parse(md);
        let texts: Vec<_> = chunk(&blocks, "R").into_iter().map(|c| c.text).collect();
        assert_eq!(texts, vec!["Real text here.", "More text."]);
    }
}
