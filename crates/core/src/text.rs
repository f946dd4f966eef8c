//! Plain-text helpers shared by ingest and answering: whitespace
//! normalization, word tokens, sentence boundaries, edit distance.

/// Collapses every run of whitespace to one space and trims the ends.
/// Verbatim checks compare texts after this normalization.
pub fn normalize_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Lower-cased alphanumeric word tokens (apostrophes and inner hyphens split words).
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

/// Words too common to carry meaning in a question.
pub fn is_stopword(w: &str) -> bool {
    STOPWORDS.binary_search(&w).is_ok()
}

// Sorted, so `binary_search` works; the test below keeps it sorted.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "between", "both", "but", "by", "can", "could", "did",
    "do", "does", "doing", "during", "each", "for", "from", "get", "gets", "getting", "had", "has",
    "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into",
    "is", "it", "its", "just", "know", "like", "may", "me", "might", "more", "most", "much", "my",
    "no", "not", "now", "of", "on", "one", "or", "other", "our", "out", "over", "please", "same",
    "she", "should", "so", "some", "such", "tell", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "to", "too", "under", "up", "us", "very", "want",
    "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
    "with", "would", "you", "your",
];

/// Abbreviations after which a period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "approx", "dr", "e.g", "etc", "fig", "i.e", "inc", "jr", "mr", "mrs", "ms", "no", "prof", "sr",
    "st", "u.s", "vs", "dept", "al", "ca",
];

/// Splits text into sentences and returns their byte ranges in `text`.
///
/// Boundaries are `.`, `!` or `?` (optionally followed by closing quotes or
/// brackets) before whitespace and an upper-case letter, digit, quote or
/// bracket — unless the word before the period is a known abbreviation or a
/// single initial. A blank line or a line break also ends a sentence, so list
/// items and paragraphs never merge. Every range is trimmed and non-empty, so
/// `&text[range]` is the sentence verbatim.
pub fn sentence_spans(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'\n' {
            push_trimmed(text, start, i, &mut spans);
            start = i + 1;
        } else if matches!(b, b'.' | b'!' | b'?') {
            let mut end = i + 1;
            while end < bytes.len() && matches!(bytes[end], b'"' | b'\'' | b')' | b']') {
                end += 1;
            }
            if is_boundary(text, start, i, end) {
                push_trimmed(text, start, end, &mut spans);
                start = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    push_trimmed(text, start, bytes.len(), &mut spans);
    spans
}

/// The sentences of `text`, verbatim.
pub fn sentences(text: &str) -> Vec<&str> {
    sentence_spans(text).into_iter().map(|r| &text[r]).collect()
}

fn push_trimmed(text: &str, start: usize, end: usize, spans: &mut Vec<std::ops::Range<usize>>) {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let trail = slice.len() - slice.trim_end().len();
    if lead + trail < slice.len() {
        spans.push(start + lead..end - trail);
    }
}

fn is_boundary(text: &str, sentence_start: usize, dot: usize, after: usize) -> bool {
    let rest = &text[after..];
    // Must be followed by whitespace (or the end).
    let Some(first) = rest.chars().next() else {
        return true;
    };
    if !first.is_whitespace() {
        return false;
    }
    let next = rest.trim_start_matches([' ', '\t']).chars().next();
    match next {
        None | Some('\n') | Some('\r') => return true,
        Some(c)
            if c.is_uppercase() || c.is_ascii_digit() || matches!(c, '"' | '(' | '[' | '\'') => {}
        _ => return false,
    }
    if text.as_bytes()[dot] != b'.' {
        return true;
    }
    // The word just before the period.
    let before = &text[sentence_start..dot];
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("");
    let lower = word.to_lowercase();
    if ABBREVIATIONS.contains(&lower.as_str()) {
        return false;
    }
    // A single initial such as "J." or "U.S." style tokens.
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    if letters == 1
        && word.chars().all(|c| c.is_alphabetic() || c == '.')
        && word.chars().next().is_some_and(char::is_uppercase)
    {
        return false;
    }
    true
}

/// Damerau–Levenshtein (optimal string alignment) distance, bounded: returns
/// `max + 1` as soon as the distance is known to exceed `max`.
pub fn edit_distance(a: &str, b: &str, max: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let w = b.len() + 1;
    let mut prev2 = vec![0usize; w];
    let mut prev: Vec<usize> = (0..w).collect();
    let mut cur = vec![0usize; w];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return max + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()].min(max + 1)
}

/// Typo allowance for a word of this length: none up to 4 letters, one up to
/// 7, two beyond.
pub fn typo_budget(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopwords_sorted() {
        let mut s = STOPWORDS.to_vec();
        s.sort_unstable();
        assert_eq!(s, STOPWORDS);
    }

    #[test]
    fn splits_sentences_but_not_abbreviations() {
        let t = "Surgery may be done, e.g. a partial hepatectomy. It removes part of the liver (about 5.5 cm). Dr. Smith agrees!\n- item one\n- item two";
        assert_eq!(
            sentences(t),
            vec![
                "Surgery may be done, e.g. a partial hepatectomy.",
                "It removes part of the liver (about 5.5 cm).",
                "Dr. Smith agrees!",
                "- item one",
                "- item two"
            ]
        );
    }

    #[test]
    fn lowercase_after_period_is_not_a_boundary() {
        assert_eq!(
            sentences("Tumors of 3 cm. or less are small. Yes."),
            vec!["Tumors of 3 cm. or less are small.", "Yes."]
        );
    }

    #[test]
    fn initials_do_not_split() {
        assert_eq!(
            sentences("In the U.S. Food and Drug Administration rules. Next."),
            vec!["In the U.S. Food and Drug Administration rules.", "Next."]
        );
    }

    #[test]
    fn edit_distance_handles_typos() {
        assert_eq!(edit_distance("pancretic", "pancreatic", 2), 1);
        assert_eq!(edit_distance("lymphona", "lymphoma", 2), 1);
        assert_eq!(edit_distance("leukmeia", "leukemia", 2), 1);
        assert_eq!(edit_distance("breast", "liver", 1), 2);
        assert_eq!(edit_distance("", "abc", 5), 3);
    }

    #[test]
    fn normalizes_whitespace() {
        assert_eq!(normalize_ws("  a \n\n b\tc "), "a b c");
    }
}
