//! Reading level: the Flesch–Kincaid grade of a text, with a rule-based
//! syllable count (no dictionary). Patient materials aim at grade 8 or lower.

/// Syllables in one English word, by vowel groups: a silent final "e", and
/// "-es"/"-ed" endings that add no syllable, are not counted. Tokens
/// without letters ("2", "IV") count as one. Off by one on some words, as
/// every rule-based counter is; good enough for a grade.
pub fn syllables(word: &str) -> usize {
    let w: String = word
        .chars()
        .filter(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    if w.is_empty() {
        return usize::from(word.chars().any(|c| c.is_alphanumeric()));
    }
    if w.chars().count() <= 3 {
        return 1;
    }
    let vowel = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
    let chars: Vec<char> = w.chars().collect();
    let n = chars.len();
    // Drop endings that are not voiced: "shape", "shapes", "shaped", but keep
    // "-le" after a consonant ("table") and "-ted"/"-ded" ("treated").
    let mut end = n;
    let consonant_le = chars[n - 2] == 'l' && !vowel(chars[n - 3]);
    if chars[n - 1] == 'e' && !consonant_le {
        end = n - 1;
    } else if n >= 4
        && (w.ends_with("es") || w.ends_with("ed"))
        && !vowel(chars[n - 3])
        && !matches!(chars[n - 3], 't' | 'd')
        && !(w.ends_with("es") && matches!(chars[n - 3], 's' | 'x' | 'z' | 'h' | 'c' | 'g'))
    {
        end = n - 2;
    }
    let mut count = 0;
    let mut prev_vowel = false;
    for (i, &c) in chars[..end].iter().enumerate() {
        // A leading "y" is a consonant ("yellow").
        let v = vowel(c) && !(i == 0 && c == 'y');
        if v && !prev_vowel {
            count += 1;
        }
        prev_vowel = v;
    }
    count.max(1)
}

/// The Flesch–Kincaid grade of sentences taken as given (each item one
/// sentence), or `None` when there are no words.
pub fn grade_sentences(sentences: &[&str]) -> Option<f32> {
    let mut words = 0usize;
    let mut syl = 0usize;
    let mut sents = 0usize;
    for s in sentences {
        let ws: Vec<&str> = s
            .split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .collect();
        if ws.is_empty() {
            continue;
        }
        sents += 1;
        words += ws.len();
        syl += ws.iter().map(|w| syllables(w)).sum::<usize>();
    }
    (words > 0)
        .then(|| 0.39 * words as f32 / sents as f32 + 11.8 * syl as f32 / words as f32 - 15.59)
}

/// The Flesch–Kincaid grade of one sentence.
pub fn grade(sentence: &str) -> Option<f32> {
    grade_sentences(&[sentence])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_syllables_of_common_words() {
        for (w, n) in [
            ("cancer", 2),
            ("the", 1),
            ("liver", 2),
            ("surgery", 3),
            ("treated", 2),
            ("shape", 1),
            ("shapes", 1),
            ("table", 2),
            ("chemotherapy", 5),
            ("yellow", 2),
            ("nausea", 2),
            ("doctor", 2),
            ("IV", 1),
            ("2", 1),
            ("immunotherapy", 6),
            ("boxes", 2),
        ] {
            assert_eq!(syllables(w), n, "{w}");
        }
    }

    #[test]
    fn grades_simple_text_lower_than_dense_text() {
        let simple = grade("The doctor will check your blood.").unwrap();
        let dense = grade(
            "Hepatocellular carcinoma treatment considerations include underlying hepatic \
             functional reserve, portal hypertension, and comorbidities.",
        )
        .unwrap();
        assert!(simple < 4.0, "{simple}");
        assert!(dense > 14.0, "{dense}");
        assert_eq!(grade_sentences(&[]), None);
        assert_eq!(grade("..."), None);
    }
}
