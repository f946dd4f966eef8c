//! Markdown of the corpus → headings and plain-text paragraphs.
//!
//! Markup removal keeps what a reader sees and drops what they would not:
//! links keep their text (glossary links also yield the term id), images,
//! "Enlarge" links, reference markers (`[[3](#cit/...)]`) and tables are
//! dropped. Lists of short fragments are flattened into the sentence that
//! introduces them ("... may include: a; b; c.") so that every answer
//! sentence is a complete, verbatim sentence of its passage; lists of whole
//! sentences stay one item per line.

/// A block of a page.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading { level: usize, text: String },
    Paragraph { text: String, terms: Vec<u32> },
}

/// Counts of what markup removal dropped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub table_lines: usize,
    pub images: usize,
    /// Paragraphs that caption the image above them ("Anatomy of the
    /// urinary system showing ... An inset shows ..."): they describe a
    /// drawing the reader of an answer cannot see.
    pub captions: usize,
}

/// Parses a page body into blocks.
pub fn parse(body: &str) -> (Vec<Block>, Dropped) {
    let mut p = Parser::default();
    for raw in body.lines() {
        p.line(raw);
    }
    p.flush_paragraph();
    p.flush_list();
    (p.blocks, p.dropped)
}

#[derive(Default)]
struct Parser {
    blocks: Vec<Block>,
    /// Raw lines of the open paragraph: cleaned together at the end, since a
    /// link may wrap across lines.
    para: Vec<String>,
    /// Raw text of the open list's items.
    list: Vec<String>,
    dropped: Dropped,
    prev_blank: bool,
    /// Lower-case words of the alt text of an image that stood alone as the
    /// last block: the next paragraph captions it if it opens with them.
    image_alt: Option<Vec<String>>,
}

impl Parser {
    fn line(&mut self, raw: &str) {
        let prev_blank = std::mem::replace(&mut self.prev_blank, raw.trim().is_empty());
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            self.flush_paragraph();
            return; // a blank line does not end a list: nested lists are separated by them
        }
        if let Some((level, text)) = heading(trimmed) {
            self.flush_paragraph();
            self.flush_list();
            self.image_alt = None;
            let (text, _) = clean_inline(text, &mut self.dropped);
            if !text.is_empty() {
                self.blocks.push(Block::Heading { level, text });
            }
            return;
        }
        if trimmed.starts_with('|') {
            self.flush_paragraph();
            self.dropped.table_lines += 1;
            return;
        }
        if matches!(trimmed, "---" | "***" | "___") {
            self.flush_paragraph();
            return;
        }
        if let Some(item) = list_item(trimmed) {
            self.flush_paragraph();
            self.list.push(item.to_string());
            return;
        }
        let content = trimmed.strip_prefix('>').map_or(trimmed, str::trim_start);
        if !self.list.is_empty() && self.para.is_empty() {
            // A line indented under a list item, or directly after it (a
            // "lazy" continuation), belongs to it.
            if line.starts_with("  ") || !prev_blank {
                if let Some(last) = self.list.last_mut() {
                    last.push(' ');
                    last.push_str(content);
                }
                return;
            }
            self.flush_list();
        }
        self.para.push(content.to_string());
    }

    fn flush_paragraph(&mut self) {
        if self.para.is_empty() {
            return;
        }
        let raw = self.para.join(" ");
        self.para.clear();
        if is_navigation(&raw) {
            return;
        }
        let (text, terms) = clean_inline(&raw, &mut self.dropped);
        let alt = self.image_alt.take();
        if text.is_empty() {
            // An image on its own: remember what it shows.
            let alts = image_alts(&raw);
            if !alts.is_empty() {
                self.image_alt = Some(alts);
            }
            return;
        }
        if alt.is_some_and(|alt| is_caption(&text, &alt)) {
            self.dropped.captions += 1;
            return;
        }
        self.blocks.push(Block::Paragraph { text, terms });
    }

    fn flush_list(&mut self) {
        if self.list.is_empty() {
            return;
        }
        let raw_items = std::mem::take(&mut self.list);
        let items: Vec<(String, Vec<u32>)> = raw_items
            .iter()
            .map(|r| clean_inline(r, &mut self.dropped))
            .filter(|(t, _)| !t.is_empty())
            .collect();
        if items.is_empty() {
            return;
        }
        let sentence_items = items
            .iter()
            .any(|(t, _)| ends_sentence(t) && t.split_whitespace().count() >= 6);
        if sentence_items {
            for (text, terms) in items {
                self.blocks.push(Block::Paragraph { text, terms });
            }
            return;
        }
        // Flatten fragments into the introducing sentence when there is one.
        let (mut text, mut terms) = match self.blocks.last() {
            Some(Block::Paragraph { text, .. }) if text.ends_with(':') => match self.blocks.pop() {
                Some(Block::Paragraph { text, terms }) => (text, terms),
                _ => unreachable!("just matched a paragraph"),
            },
            _ => (String::new(), Vec::new()),
        };
        let n = items.len();
        for (i, (item, t)) in items.into_iter().enumerate() {
            let item = item.trim_end_matches([';', ',']).trim_end();
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(item);
            if i + 1 < n && !item.ends_with(':') {
                text.push(';');
            }
            terms.extend(t);
        }
        if !ends_sentence(&text) {
            text.push('.');
        }
        self.blocks.push(Block::Paragraph { text, terms });
    }
}

fn ends_sentence(t: &str) -> bool {
    let t = t.trim_end_matches(['"', '\'', ')', ']']);
    t.ends_with(['.', '!', '?'])
}

fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    if (1..=6).contains(&level) && line[level..].starts_with([' ', '\t']) {
        Some((level, line[level..].trim().trim_end_matches('#').trim()))
    } else {
        None
    }
}

fn list_item(line: &str) -> Option<&str> {
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(marker) {
            return Some(rest.trim());
        }
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && digits < 4 {
        let rest = &line[digits..];
        if let Some(r) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(r.trim());
        }
    }
    None
}

/// A line that is nothing but one link ("Go to Health Professional Version")
/// is page navigation, not content.
fn is_navigation(line: &str) -> bool {
    let l = line.trim();
    if !(l.starts_with('[') && l.ends_with(')')) {
        return false;
    }
    match find_link(l, 0) {
        Some(link) => link.end == l.len() && link.start == 0,
        None => false,
    }
}

struct Link<'a> {
    start: usize,
    end: usize,
    text: &'a str,
    target: &'a str,
    image: bool,
}

/// Finds the first `[text](target)` or `![alt](target)` at or after `from`.
fn find_link(s: &str, from: usize) -> Option<Link<'_>> {
    let bytes = s.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        if bytes[i] == b'[' && (i == 0 || bytes[i - 1] != b'\\') {
            // Matching close bracket, with nesting.
            let mut depth = 0usize;
            let mut j = i;
            let mut close = None;
            while j < bytes.len() {
                match bytes[j] {
                    b'\\' => j += 1,
                    b'[' => depth += 1,
                    b']' => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(j);
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            if let Some(c) = close {
                if bytes.get(c + 1) == Some(&b'(') {
                    // Closing paren, skipping a quoted title.
                    let mut k = c + 2;
                    let mut in_quote = false;
                    let mut pdepth = 1usize;
                    while k < bytes.len() {
                        match bytes[k] {
                            b'"' => in_quote = !in_quote,
                            b'(' if !in_quote => pdepth += 1,
                            b')' if !in_quote => {
                                pdepth -= 1;
                                if pdepth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        k += 1;
                    }
                    if k < bytes.len() {
                        let image = i > 0 && bytes[i - 1] == b'!';
                        let target = s[c + 2..k].split_whitespace().next().unwrap_or("");
                        return Some(Link {
                            start: if image { i - 1 } else { i },
                            end: k + 1,
                            text: &s[i + 1..c],
                            target,
                            image,
                        });
                    }
                }
            }
        }
        i += 1;
    }
    None
}

/// The lower-case words of the alt texts of the images in `raw`.
fn image_alts(raw: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut pos = 0;
    while let Some(link) = find_link(raw, pos) {
        pos = link.end;
        if link.image {
            words.extend(sextant_core::text::words(link.text));
        }
    }
    words
}

/// Whether a paragraph right after an image captions it: its first four
/// words are all words of the image's alt text ("Anatomy of the urinary
/// system showing ..." under "Anatomy of the urinary system; drawing
/// showing ...").
fn is_caption(text: &str, alt: &[String]) -> bool {
    let first = sextant_core::text::words(text);
    first.len() >= 4 && first.iter().take(4).all(|w| alt.contains(w))
}

fn glossary_id(target: &str) -> Option<u32> {
    if !target.contains("popDefinition.aspx") {
        return None;
    }
    let q = target
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("id="))?;
    q.parse().ok()
}

/// Removes inline markup; returns the plain text (whitespace normalized) and
/// the glossary term ids linked from it.
pub fn clean_inline(s: &str, dropped: &mut Dropped) -> (String, Vec<u32>) {
    let mut terms = Vec::new();
    let delinked = strip_links(s, &mut terms, dropped);
    let delinked = strip_evidence_levels(&delinked);
    let mut out = String::with_capacity(delinked.len());
    let mut chars = delinked.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(&n) = chars.peek() {
                    if n.is_ascii_punctuation() {
                        out.push(n);
                        chars.next();
                        continue;
                    }
                }
                out.push(c);
            }
            '*' => {} // emphasis markers; a literal star is written `\*`
            _ => out.push(c),
        }
    }
    let out = decode_entities(&out);
    (sextant_core::text::normalize_ws(&out), terms)
}

fn strip_links(s: &str, terms: &mut Vec<u32>, dropped: &mut Dropped) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    while let Some(link) = find_link(s, pos) {
        out.push_str(&s[pos..link.start]);
        pos = link.end;
        if link.image {
            dropped.images += 1;
            continue;
        }
        let text = link.text.trim();
        if text.eq_ignore_ascii_case("enlarge") {
            continue;
        }
        // Reference markers: "[[3](#cit/section_1.3)]", "[[4](#..)-[7](#..)]".
        if link.target.starts_with('#')
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '-' || c.is_whitespace())
        {
            continue;
        }
        if text.starts_with('[') && text.contains("](#") {
            continue;
        }
        if let Some(id) = glossary_id(link.target) {
            terms.push(id);
        }
        out.push_str(&strip_links(text, terms, dropped));
    }
    out.push_str(&s[pos..]);
    // A reference group leaves its outer brackets: "[]" or "[-]" or "[,]".
    let mut cleaned = String::with_capacity(out.len());
    let mut rest = out.as_str();
    while let Some(i) = rest.find('[') {
        let after = &rest[i + 1..];
        let close = after.find(']');
        match close {
            Some(c) if after[..c].chars().all(|ch| matches!(ch, ',' | '-' | ' ')) => {
                cleaned.push_str(&rest[..i]);
                rest = &after[c + 1..];
            }
            _ => {
                cleaned.push_str(&rest[..=i]);
                rest = after;
            }
        }
    }
    cleaned.push_str(rest);
    remove_empty_parens(&remove_orphans(&cleaned))
}

/// Reference links inside parentheses ("early in life ([1], [2])") leave
/// "()" or "(–)" behind once removed; drop such groups with the space before them.
fn remove_empty_parens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('(') {
        let after = &rest[i + 1..];
        match after.find(')') {
            Some(c)
                if after[..c]
                    .chars()
                    .all(|ch| matches!(ch, ',' | '-' | '–' | '—' | ';' | ' ')) =>
            {
                out.push_str(rest[..i].trim_end_matches(' '));
                rest = &after[c + 1..];
            }
            _ => {
                out.push_str(&rest[..=i]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A link whose text spans blank lines (cancer.gov's promo cards) reaches
/// the paragraph parser in pieces: an opening "[" with no close, and later a
/// "...](url)" with no opening. Both pieces of markup are dropped.
fn remove_orphans(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("](") {
        out.push_str(&rest[..i]);
        match rest[i..].find(')') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
                break;
            }
        }
    }
    out.push_str(rest);
    // An unmatched "[" (no "]" after it).
    let mut result = String::with_capacity(out.len());
    for (i, c) in out.char_indices() {
        if c == '[' && !out[i..].contains(']') {
            continue;
        }
        result.push(c);
    }
    result
}

/// Health-professional summaries grade evidence inline: "[Level of evidence
/// B1]". The grade is meaningless to a patient reading one sentence.
fn strip_evidence_levels(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("[Level of evidence") {
        out.push_str(&rest[..i]);
        match rest[i..].find(']') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> (String, Vec<u32>) {
        clean_inline(s, &mut Dropped::default())
    }

    #[test]
    fn links_keep_text_and_glossary_ids() {
        let (t, terms) = clean("A [lobe](/Common/PopUps/popDefinition.aspx?id=46188&version=patient) of the **liver** and [more](https://x.gov \"t (x)\").");
        assert_eq!(t, "A lobe of the liver and more.");
        assert_eq!(terms, vec![46188]);
    }

    #[test]
    fn drops_the_caption_under_an_image_and_keeps_other_paragraphs() {
        let body = "Intro text here.\n\n[Enlarge](https://a/b.jpg)![Anatomy of the urinary system; drawing showing the kidneys. An inset shows the renal tubules.](https://a/c.jpg \"Anatomy\")\n\nAnatomy of the urinary system showing the kidneys. An inset shows the renal tubules.\n\nThe kidneys make urine.\n\n![Drawing of a lung](https://a/d.jpg)\n\nLung cancer often starts in the cells that line the airways.\n";
        let (blocks, dropped) = parse(body);
        let texts: Vec<&str> = blocks
            .iter()
            .map(|b| match b {
                Block::Paragraph { text, .. } => text.as_str(),
                Block::Heading { text, .. } => text.as_str(),
            })
            .collect();
        assert_eq!(
            texts,
            [
                "Intro text here.",
                "The kidneys make urine.",
                "Lung cancer often starts in the cells that line the airways."
            ]
        );
        assert_eq!(dropped.captions, 1);
        assert_eq!(dropped.images, 2);
    }

    #[test]
    fn drops_images_enlarge_and_reference_markers() {
        let (t, _) = clean("tomography.[Enlarge](https://a/b.jpg)![Drawing (CT) shows](https://a/c.jpg \"Drawing (CT)\") Next.");
        assert_eq!(t, "tomography. Next.");
        let (t, _) = clean("Cirrhosis.[[5](#cit/section_1.5),[7](#cit/section_1.7)] Alcohol.[[4](#cit/section_1.4)-[7](#cit/section_1.7)] End.[[1](#cit/section_1.1)]");
        assert_eq!(t, "Cirrhosis. Alcohol. End.");
        let (t, _) = clean("Survival was 20%.[Level of evidence C1] Next.");
        assert_eq!(t, "Survival was 20%. Next.");
    }

    #[test]
    fn escapes_and_entities() {
        assert_eq!(clean(r"5 \* 3 &lt; 20 \_ok").0, "5 * 3 < 20 _ok");
    }

    #[test]
    fn flattens_fragment_lists_into_their_intro() {
        let md = "## Treatment\n\nTreatment may include:\n\n- surgery\n- chemotherapy\n- ablation using:\n\n- radiofrequency ablation\n- cryoablation\n\nAfter the list.\n";
        let (blocks, _) = parse(md);
        assert_eq!(blocks[1], Block::Paragraph { text: "Treatment may include: surgery; chemotherapy; ablation using: radiofrequency ablation; cryoablation.".into(), terms: vec![] });
        assert_eq!(
            blocks[2],
            Block::Paragraph {
                text: "After the list.".into(),
                terms: vec![]
            }
        );
    }

    #[test]
    fn empty_parentheses_left_by_references_are_dropped() {
        assert_eq!(
            clean("early in life ([1](#r1), [2](#r2)). Next (see below).").0,
            "early in life. Next (see below)."
        );
        assert_eq!(clean("tongue ([3](#r3)–[5](#r5)).").0, "tongue.");
    }

    #[test]
    fn orphaned_link_pieces_are_dropped() {
        assert_eq!(clean("[![Chart](/a.png)").0, "");
        assert_eq!(
            clean("Learn about survival.](https://seer.cancer.gov/statfacts/)").0,
            "Learn about survival."
        );
    }

    #[test]
    fn links_may_wrap_across_lines() {
        let (blocks, _) = parse("Scientists look at [risk\nfactors](/Common/PopUps/popDefinition.aspx?id=45873) here.\n\n- a [wrapped\nlink](/x) item\n");
        assert_eq!(
            blocks[0],
            Block::Paragraph {
                text: "Scientists look at risk factors here.".into(),
                terms: vec![45873]
            }
        );
        assert_eq!(
            blocks[1],
            Block::Paragraph {
                text: "a wrapped link item.".into(),
                terms: vec![]
            }
        );
    }

    #[test]
    fn lazy_continuation_lines_stay_in_their_item() {
        let md = "Prognosis depends on:\n\n- the stage (the size of the tumor and whether it is\nin the lung only)\n- the type of lung\ncancer\n- your health\n";
        let (blocks, _) = parse(md);
        assert_eq!(blocks, vec![Block::Paragraph { text: "Prognosis depends on: the stage (the size of the tumor and whether it is in the lung only); the type of lung cancer; your health.".into(), terms: vec![] }]);
    }

    #[test]
    fn sentence_lists_stay_one_item_per_block() {
        let md = "- **Radiofrequency ablation:** Special needles are inserted through the skin.\n- **Microwave therapy:** The tumor is exposed to high temperatures.\n";
        let (blocks, _) = parse(md);
        assert_eq!(blocks.len(), 2);
        assert_eq!(
            blocks[0],
            Block::Paragraph {
                text: "Radiofrequency ablation: Special needles are inserted through the skin."
                    .into(),
                terms: vec![]
            }
        );
    }

    #[test]
    fn tables_and_navigation_are_dropped() {
        let md = "[Go to Health Professional Version](/types/x)\n\n| a | b |\n| --- | --- |\nText here.\n";
        let (blocks, dropped) = parse(md);
        assert_eq!(
            blocks,
            vec![Block::Paragraph {
                text: "Text here.".into(),
                terms: vec![]
            }]
        );
        assert_eq!(dropped.table_lines, 2);
    }
}
