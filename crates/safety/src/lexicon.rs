//! The word lists of `data/lexicon.tsv` and the respellings of
//! `data/spelling.tsv`, parsed once. Every phrase is a `&'static str`
//! slice of the embedded file: loading allocates only the tables.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::OnceLock;

const LEXICON: &str = include_str!("../data/lexicon.tsv");
const SPELLING: &str = include_str!("../data/spelling.tsv");

/// Rows of a TSV kept as data: comments (`#`) and the header skipped.
pub(crate) fn rows<'a>(text: &'a str, header: &str) -> impl Iterator<Item = Vec<&'a str>> + 'a {
    let header = header.to_string();
    text.lines()
        .filter(move |l| !l.trim().is_empty() && !l.starts_with('#') && *l != header)
        .map(|l| l.split('\t').map(str::trim).collect())
}

pub(crate) struct Lexicon {
    lists: HashMap<&'static str, Vec<&'static str>>,
    seqs: HashMap<&'static str, Vec<Vec<&'static str>>>,
    spelling: HashMap<&'static str, Vec<&'static str>>,
}

pub(crate) fn lexicon() -> &'static Lexicon {
    static L: OnceLock<Lexicon> = OnceLock::new();
    L.get_or_init(|| {
        let mut lists: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for r in rows(LEXICON, "list\tphrase") {
            if let [list, phrase] = r[..] {
                lists.entry(list).or_default().push(phrase);
            }
        }
        let seqs = lists
            .iter()
            .map(|(k, v)| (*k, v.iter().map(|p| p.split(' ').collect()).collect()))
            .collect();
        let mut spelling = HashMap::new();
        for r in rows(SPELLING, "typed\tmeant") {
            if let [typed, meant] = r[..] {
                spelling.insert(typed, meant.split(' ').collect());
            }
        }
        Lexicon {
            lists,
            seqs,
            spelling,
        }
    })
}

impl Lexicon {
    /// A list by name; empty when the data has none (the tests check that
    /// every list the code and the situations name exists).
    pub(crate) fn list(&self, name: &str) -> &[&'static str] {
        self.lists.get(name).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.lists.contains_key(name)
    }

    /// What a typed word means: "cant" → ["can", "not"].
    pub(crate) fn respell(&self, typed: &str) -> Option<&[&'static str]> {
        self.spelling.get(typed).map(Vec::as_slice)
    }
}

/// A named word list, looked up once.
pub(crate) struct Words {
    pub(crate) name: &'static str,
    cell: OnceLock<&'static [&'static str]>,
}

impl Words {
    pub(crate) const fn new(name: &'static str) -> Words {
        Words {
            name,
            cell: OnceLock::new(),
        }
    }
}

impl Deref for Words {
    type Target = [&'static str];
    fn deref(&self) -> &[&'static str] {
        self.cell.get_or_init(|| lexicon().list(self.name))
    }
}

/// A named list of word sequences ("years ago", "in case").
pub(crate) struct Seqs {
    pub(crate) name: &'static str,
    cell: OnceLock<&'static [Vec<&'static str>]>,
}

impl Seqs {
    pub(crate) const fn new(name: &'static str) -> Seqs {
        Seqs {
            name,
            cell: OnceLock::new(),
        }
    }
}

impl Deref for Seqs {
    type Target = [Vec<&'static str>];
    fn deref(&self) -> &[Vec<&'static str>] {
        self.cell
            .get_or_init(|| lexicon().seqs.get(self.name).map_or(&[], Vec::as_slice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists matched as a whole-text substring, not as token patterns.
    const SUBSTRING_LISTS: &[&str] = &["health"];
    const SPECIAL: &[&str] = &["@temp", "@lowsat", "@cold", "@drug", "@cancer_drug"];

    /// Why a phrase can never match the normalized tokens, if it cannot.
    fn pattern_issue(phrase: &str) -> Option<String> {
        if phrase.is_empty() || phrase != phrase.trim() || phrase.contains("  ") {
            return Some("empty or badly spaced".into());
        }
        for tok in phrase.split(' ') {
            if SPECIAL.contains(&tok) || matches!(tok, "*" | "#" | "~") {
                continue;
            }
            if let Some(n) = tok.strip_prefix('#').and_then(|n| n.strip_suffix('+')) {
                if n.parse::<u32>().is_err() {
                    return Some(format!("`{tok}`: `#N+` needs a number"));
                }
                continue;
            }
            let word = tok.strip_suffix('*').unwrap_or(tok);
            if word.is_empty() || word.contains('*') {
                return Some(format!("`{tok}`: `*` only ends a word"));
            }
            if word != "," && word.chars().any(|c| !(c.is_alphanumeric() || c == '.')) {
                return Some(format!("`{tok}`: the tokenizer splits at this character"));
            }
            if crate::rules::fold(word) != word {
                return Some(format!("`{tok}`: tokens are lower case, without accents"));
            }
            if !tok.ends_with('*') && lexicon().respell(word).is_some_and(|m| m != [word]) {
                return Some(format!("`{tok}` is respelled before matching"));
            }
        }
        if phrase.starts_with("~ ") || phrase.ends_with(" ~") {
            return Some("a gap at an end matches nothing more".into());
        }
        None
    }

    #[test]
    fn every_pattern_compiles() {
        let mut bad = Vec::new();
        for name in lexicon().lists.keys() {
            if SUBSTRING_LISTS.contains(name) {
                continue;
            }
            for p in lexicon().list(name) {
                if let Some(why) = pattern_issue(p) {
                    bad.push(format!("{name}\t{p}: {why}"));
                }
            }
        }
        bad.sort();
        assert!(
            bad.is_empty(),
            "phrases that can never match:\n{}",
            bad.join("\n")
        );
    }

    #[test]
    fn the_checker_rejects_what_cannot_match() {
        assert!(pattern_issue("crise d'épilepsie").is_some());
        assert!(pattern_issue("Fever").is_some());
        assert!(pattern_issue("fièvre").is_some());
        assert!(pattern_issue("fe*ver").is_some());
        assert!(pattern_issue("can't breathe").is_some());
        assert!(pattern_issue("can not breath*").is_none());
        assert!(pattern_issue("vomit* ~ times").is_none());
    }

    #[test]
    fn every_list_the_code_names_exists() {
        let code = [include_str!("rules.rs"), include_str!("lexicon.rs")].concat();
        let mut missing = Vec::new();
        for part in code.split("::new(\"").skip(1) {
            let name = part.split('"').next().unwrap_or("");
            if !name.is_empty() && !lexicon().has(name) && name != "{name}" {
                missing.push(name.to_string());
            }
        }
        for kind in lexicon().list("dose_kinds") {
            if !lexicon().has(&format!("dose.{kind}")) {
                missing.push(format!("dose.{kind}"));
            }
        }
        assert!(
            missing.is_empty(),
            "lists missing from lexicon.tsv: {missing:?}"
        );
    }

    #[test]
    fn spelling_rows_have_two_fields() {
        for r in rows(SPELLING, "typed\tmeant") {
            assert_eq!(r.len(), 2, "{r:?}");
            assert!(!r[1].is_empty() && r[0] == r[0].to_lowercase(), "{r:?}");
        }
        for r in rows(LEXICON, "list\tphrase") {
            assert_eq!(r.len(), 2, "{r:?}");
        }
    }
}
