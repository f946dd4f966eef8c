//! De-identification of free text: finds the details that point to a person
//! (names, dates, record and other identifying numbers, phone numbers,
//! e-mail addresses and links, places, ages over 89) and replaces each with
//! its kind in brackets ("[name]", "[date]"...).
//!
//! It runs on a question before a person is shown what would be published
//! (they then choose), so it errs toward removing. It works on words and
//! their shape, with the word lists in `data/lexicon.tsv`: cues that a name
//! follows ("my son", "Dr", "my name is"), sign-offs, place cues and a
//! small gazetteer, month names, identifier cues and age words. Medical
//! eponyms and organisations that are not a place of care are kept.
//! `data/cases.tsv` (written by someone who never saw this code) is the
//! test set: what must go, and what must stay.

use std::collections::HashMap;
use std::sync::OnceLock;

/// What kind of detail a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Name,
    Date,
    Number,
    Contact,
    Place,
    Age,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::Name,
        Kind::Date,
        Kind::Number,
        Kind::Contact,
        Kind::Place,
        Kind::Age,
    ];

    /// Its name: "name", "date", "number", "contact", "place", "age".
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Name => "name",
            Kind::Date => "date",
            Kind::Number => "number",
            Kind::Contact => "contact",
            Kind::Place => "place",
            Kind::Age => "age",
        }
    }

    /// The placeholder that replaces it.
    pub fn placeholder(self) -> &'static str {
        match self {
            Kind::Name => "[name]",
            Kind::Date => "[date]",
            Kind::Number => "[number]",
            Kind::Contact => "[contact]",
            Kind::Place => "[place]",
            Kind::Age => "[age over 89]",
        }
    }
}

/// One identifying detail: its kind and byte range in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

/// The text with every detail replaced, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deidentified {
    pub text: String,
    pub found: Vec<Found>,
}

/// Longest input read; the rest is dropped (a question is far shorter).
pub const MAX_INPUT_BYTES: usize = 16 * 1024;

const LEXICON: &str = include_str!("../data/lexicon.tsv");

fn lists() -> &'static HashMap<&'static str, Vec<&'static str>> {
    static L: OnceLock<HashMap<&'static str, Vec<&'static str>>> = OnceLock::new();
    L.get_or_init(|| {
        let mut m: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
        for line in LEXICON.lines() {
            if line.starts_with('#') || line == "list\tword" || line.trim().is_empty() {
                continue;
            }
            if let Some((list, word)) = line.split_once('\t') {
                m.entry(list).or_default().push(word.trim());
            }
        }
        m
    })
}

fn list(name: &str) -> &'static [&'static str] {
    lists().get(name).map_or(&[], Vec::as_slice)
}

fn in_list(name: &str, word: &str) -> bool {
    list(name).contains(&word)
}

/// A word of the input with its byte range and its lower-case form, edge
/// punctuation trimmed (kept apart in `before`/`after`).
#[derive(Debug, Clone)]
struct Tok<'a> {
    raw: &'a str,
    lower: String,
    start: usize,
    end: usize,
    /// Punctuation right after the word ends a phrase: ",", ".", "?"...
    stop_after: bool,
    /// The word starts a sentence.
    sentence_start: bool,
    /// The word follows an opening bracket.
    bracketed: bool,
}

fn tokens(text: &str) -> Vec<Tok<'_>> {
    let mut out: Vec<Tok> = Vec::new();
    let mut sentence_start = true;
    let mut pos = 0;
    for piece in text.split_inclusive(char::is_whitespace) {
        let start_piece = pos;
        pos += piece.len();
        let word = piece.trim_end();
        let lead = word.len()
            - word
                .trim_start_matches(['(', '"', '\'', '[', '¿', '¡'])
                .len();
        let core = word.trim_start_matches(['(', '"', '\'', '[', '¿', '¡']);
        let trimmed = core.trim_end_matches([',', '.', '?', '!', ';', ':', ')', '"', '\'', ']']);
        if trimmed.is_empty() {
            if word.contains(['.', '?', '!']) {
                sentence_start = true;
            }
            continue;
        }
        let tail = &core[trimmed.len()..];
        let start = start_piece + lead;
        out.push(Tok {
            raw: trimmed,
            lower: trimmed.to_lowercase(),
            start,
            end: start + trimmed.len(),
            stop_after: !tail.is_empty(),
            sentence_start,
            bracketed: word.starts_with('('),
        });
        sentence_start = tail.contains(['.', '?', '!']);
    }
    out
}

fn capitalised(t: &Tok) -> bool {
    let mut cs = t.raw.chars();
    cs.next().is_some_and(char::is_uppercase) && cs.any(char::is_lowercase)
}

fn digits(s: &str) -> usize {
    s.chars().filter(char::is_ascii_digit).count()
}

/// Finds every identifying detail in `text`.
pub fn find(text: &str) -> Vec<Found> {
    let text = clip(text);
    // A placeholder of an earlier pass is no cue either ("[name] is back"
    // is not "my name is Back"): its words are masked, byte for byte.
    let masked = mask_placeholders(text);
    let toks = tokens(&masked);
    let mut found: Vec<Found> = Vec::new();
    let mut mark = |kind: Kind, a: usize, b: usize| {
        if a < b {
            found.push(Found {
                kind,
                start: toks[a].start,
                end: toks[b - 1].end,
            })
        }
    };
    let n = toks.len();
    for i in 0..n {
        let t = &toks[i];
        let w = t.lower.as_str();
        // Contact: e-mail addresses and links.
        if (w.contains('@') && w.contains('.'))
            || w.starts_with("http")
            || w.starts_with("www.")
            || (w.contains(".com") || w.contains(".org") || w.contains(".net"))
        {
            mark(Kind::Contact, i, i + 1);
            continue;
        }
        // Dates made of numbers: 03/14/1962, 2023-11-02, 11.04.1955, 7/4.
        if numeric_date(w) {
            mark(Kind::Date, i, i + 1);
            continue;
        }
        // A number after an identifier cue: "MRN A-12345", "NHS 943 476 5919".
        let cue_before = i > 0 && in_list("id_cue", &toks[i - 1].lower)
            || i > 1
                && in_list("id_cue", &toks[i - 2].lower)
                && matches!(
                    toks[i - 1].lower.as_str(),
                    "number" | "no" | "no." | "#" | "is" | ":"
                );
        if cue_before && digits(w) >= 3 {
            let mut j = i + 1;
            while j < n
                && digits(&toks[j].lower) >= 2
                && toks[j]
                    .lower
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !toks[j - 1].stop_after
            {
                j += 1;
            }
            mark(Kind::Number, i, j);
            continue;
        }
        // Runs of digit groups: phone numbers, "943 476 5919", "(555) 234-7788".
        if phone_part(w) {
            let mut j = i;
            let mut total = 0;
            while j < n && phone_part(&toks[j].lower) {
                total += digits(&toks[j].lower);
                if toks[j].stop_after {
                    j += 1;
                    break;
                }
                j += 1;
            }
            if total >= 7 {
                mark(Kind::Number, i, j);
                continue;
            }
        }
        // Identifiers: long numbers and letter-digit codes (not trial ids);
        // user names ("jenny_k_88").
        if identifier(w.trim_start_matches('#')) || w.contains('_') {
            mark(Kind::Number, i, i + 1);
            continue;
        }
        // Ages over 89: "93 year old", "aged 91", "she's 96".
        if let Ok(v) = w.trim_end_matches(['y', 'o']).parse::<u32>() {
            if (90..=125).contains(&v) {
                let near = toks[i.saturating_sub(2)..(i + 3).min(n)]
                    .iter()
                    .any(|x| {
                        in_list("age_word", &x.lower)
                            || x.lower.split('-').any(|p| in_list("age_word", p))
                    })
                    || w.ends_with("yo")
                    || (i > 0 && matches!(toks[i - 1].lower.as_str(), "she's" | "he's" | "i'm" | "im" | "is" | "was" | "am" | "tiene" | "a"))
                    || (i > 0 && toks[i - 1].lower.ends_with("'s"))
                    // "my grandfather, 96, has": set off by commas.
                    || (i > 0
                        && text[toks[i - 1].end..].starts_with(',')
                        && t.stop_after);
                if near {
                    mark(Kind::Age, i, i + 1);
                    continue;
                }
            }
        }
        // "93-year-old".
        if let Some((num, rest)) = w.split_once('-') {
            if rest.starts_with("year") && num.parse::<u32>().is_ok_and(|v| (90..=125).contains(&v))
            {
                mark(Kind::Age, i, i + 1);
                continue;
            }
        }
        // Dates with a month name: "March 14th", "14 March 1962", "5th of May",
        // "12 janvier 2024", "3 de marzo".
        if in_list("month", w.trim_end_matches('.')) {
            let day = |x: &Tok| day_number(&x.lower);
            let year = |x: &Tok| year_number(&x.lower);
            let mut a = i;
            let mut b = i + 1;
            if b < n && (day(&toks[b]) || year(&toks[b])) && !toks[i].stop_after {
                b += 1;
                if b < n && year(&toks[b]) && !toks[b - 1].stop_after || b < n && year(&toks[b]) {
                    b += 1;
                }
            }
            if a >= 1 && day(&toks[a - 1]) {
                a -= 1;
            } else if a >= 2
                && day(&toks[a - 2])
                && matches!(toks[a - 1].lower.as_str(), "of" | "de")
            {
                a -= 2;
            }
            if b > i + 1 || a < i {
                if b == i + 1 && b < n && year(&toks[b]) {
                    b += 1;
                }
                mark(Kind::Date, a, b);
                continue;
            }
        }
        // A year of birth: "born in 1958", "born 1958".
        if year_number(w)
            && (1..=3).any(|k| {
                i >= k && {
                    let b = toks[i - k].lower.as_str();
                    b.starts_with("born") || matches!(b, "nacido" | "nacida" | "née" | "ne")
                }
            })
        {
            mark(Kind::Date, i, i + 1);
            continue;
        }
    }
    names_and_places(&toks, &mut found);
    // A placeholder of an earlier pass ("[name]") is not a detail: a
    // de-identified text stays as it is.
    // Nor is any word inside one ("age" in "[age over 89]").
    let placeholders: Vec<(usize, usize)> = Kind::ALL
        .iter()
        .flat_map(|k| {
            let p = k.placeholder();
            text.match_indices(p).map(move |(at, _)| (at, at + p.len()))
        })
        .collect();
    found.retain(|f| !placeholders.iter().any(|&(a, b)| f.start < b && a < f.end));
    merge(found)
}

/// `text` with every placeholder's bytes turned to `#`, so no word of one
/// is read, while every offset stays the same.
fn mask_placeholders(text: &str) -> String {
    let mut out = text.to_owned();
    for k in Kind::ALL {
        let p = k.placeholder();
        let hits: Vec<usize> = out.match_indices(p).map(|(at, _)| at).collect();
        for at in hits {
            out.replace_range(at..at + p.len(), &"#".repeat(p.len()));
        }
    }
    out
}

fn names_and_places(toks: &[Tok], found: &mut Vec<Found>) {
    let n = toks.len();
    let keep = |t: &Tok| in_list("keep", &t.lower) || t.raw.chars().all(|c| !c.is_lowercase());
    let span = |kind, a: usize, b: usize, found: &mut Vec<Found>| {
        // "Bence Jones protein": a medical term, not a person.
        let medical = kind == Kind::Name
            && b < n
            && in_list("medical_head", toks[b].lower.trim_end_matches("'s"));
        if a < b && !medical {
            found.push(Found {
                kind,
                start: toks[a].start,
                end: toks[b - 1].end,
            })
        }
    };
    let phrase_at = |i: usize, list_name: &str| -> Option<usize> {
        for p in list(list_name) {
            let ws: Vec<&str> = p.split(' ').collect();
            if i + ws.len() <= n
                && ws.iter().enumerate().all(|(k, w)| toks[i + k].lower == *w)
                && ws.len() > 1
                || ws.len() == 1 && toks[i].lower == ws[0]
            {
                return Some(i + ws.len());
            }
        }
        None
    };
    for i in 0..n {
        // Gazetteer: states and large cities, in any case.
        if let Some(end) = phrase_at(i, "place") {
            if !(toks[i].raw == "May"
                || toks[i].lower == "georgia" && i > 0 && in_list("name_cue", &toks[i - 1].lower))
            {
                span(Kind::Place, i, end, found);
            }
        }
        // Capitalised words ending in a place-of-care word: "Elmwood Medical
        // Centre", "Great Ormond Street", "Royal Marsden".
        if in_list("place_end", toks[i].lower.trim_end_matches("'s"))
            && (capitalised(&toks[i]) || i > 0 && capitalised(&toks[i - 1]))
        {
            let mut a = i;
            while a > 0
                && (capitalised(&toks[a - 1]) || matches!(toks[a - 1].raw, "&" | "of"))
                && !toks[a - 1].stop_after
                && !in_list("name_cue", &toks[a - 1].lower)
            {
                a -= 1;
            }
            if a < i || capitalised(&toks[i]) && i > 0 && !toks[i].sentence_start {
                // A house number before a street: "42 Elm Street".
                if a > 0 && toks[a - 1].lower.chars().all(|c| c.is_ascii_digit()) {
                    a -= 1;
                }
                span(Kind::Place, a, i + 1, found);
            }
        }
        let w = toks[i].lower.as_str();
        // After a place cue: capitalised words ("in Leeds", "at St Mary's").
        if in_list("place_cue", w) && !toks[i].stop_after && i + 1 < n {
            let mut b = i + 1;
            while b < n
                && capitalised(&toks[b])
                && !keep(&toks[b])
                && !in_list("month", &toks[b].lower)
                && !in_list("name_cue", &toks[b].lower)
            {
                let stop = toks[b].stop_after;
                b += 1;
                if stop || b - i > 4 {
                    break;
                }
            }
            if b > i + 1 {
                span(Kind::Place, i + 1, b, found);
            }
        }
        // Names after a cue. Strong cues ("my name is", "me llamo", "Dr")
        // take the next words whatever their case; relations ("my son")
        // take capitalised words only.
        for cue in list("name_cue") {
            let ws: Vec<&str> = cue.split(' ').collect();
            if i + ws.len() > n || !ws.iter().enumerate().all(|(k, x)| toks[i + k].lower == *x) {
                continue;
            }
            let at = i + ws.len();
            if at >= n || toks[at - 1].stop_after && !cue.ends_with('.') && ws.len() > 1 {
                continue;
            }
            let is_strong = in_list("strong_name_cue", cue);
            let self_intro = in_list("self_intro_cue", cue);
            let relation = !is_strong && !self_intro;
            let mut b = at;
            while b < n && b - at < 3 {
                let t = &toks[b];
                let ok = if is_strong {
                    t.raw.chars().next().is_some_and(char::is_alphabetic)
                        && !in_list("keep", &t.lower)
                        && !in_list("function_word", &t.lower)
                } else if self_intro {
                    // "hi im sarah jones from ohio": lower case names only
                    // when what follows ends the introduction.
                    capitalised(t) && !keep(t) || {
                        let end = (b + 1..(b + 3).min(n + 1)).find(|&e| {
                            e == n || toks[e - 1].stop_after || in_list("intro_end", &toks[e].lower)
                        });
                        end.is_some()
                            && t.raw.chars().all(char::is_alphabetic)
                            && !in_list("function_word", &t.lower)
                            && !in_list("not_name", &t.lower)
                    }
                } else {
                    capitalised(t) && !keep(t) && !t.sentence_start
                        // "my dad john smith, 74": lower case when an age follows.
                        || relation && {
                            let end = (b..(b + 2).min(n)).find(|&e| toks[e].stop_after);
                            end.is_some_and(|e| e + 1 < n && age_like(&toks[e + 1].lower))
                                && t.raw.chars().all(char::is_alphabetic)
                                && !in_list("function_word", &t.lower)
                                && !in_list("not_name", &t.lower)
                        }
                };
                if !ok {
                    break;
                }
                let stop = t.stop_after;
                b += 1;
                if stop || is_strong && b - at >= 2 {
                    break;
                }
            }
            if b > at {
                span(Kind::Name, at, b, found);
            }
        }
        // Two capitalised words mid-sentence: "Priya Sharma", unless
        // eponyms or a place already named.
        if i + 1 < n
            && capitalised(&toks[i])
            && capitalised(&toks[i + 1])
            && !toks[i].sentence_start
            && !toks[i].stop_after
            && !keep(&toks[i])
            && !keep(&toks[i + 1])
            && !in_list("month", &toks[i].lower)
            && !in_list("month", &toks[i + 1].lower)
            && !in_list("place_end", &toks[i + 1].lower)
        {
            span(Kind::Name, i, i + 2, found);
        }
        // One capitalised word set off by commas or brackets mid-sentence,
        // or followed by an age: "my 11 yr old, Zoe, has", "Harold (88)",
        // "(Ava 9 and Leo 6)", "Gerald, Leicester".
        if capitalised(&toks[i])
            && !keep(&toks[i])
            && !in_list("month", &toks[i].lower)
            && !in_list("place_end", &toks[i].lower)
        {
            let set_off = i > 0
                && (toks[i - 1].stop_after || toks[i - 1].raw.ends_with(['(', ',']))
                && !toks[i].sentence_start
                && toks[i].stop_after;
            let bracketed = i > 0 && text_before_is_paren(&toks[i]);
            let aged = i + 1 < n && age_like(&toks[i + 1].lower) && !toks[i].sentence_start;
            let here = i + 1 < n
                && toks[i + 1].lower == "here"
                && (toks[i].sentence_start || i > 0 && toks[i - 1].stop_after);
            if set_off || aged || bracketed || here {
                span(Kind::Name, i, i + 1, found);
            }
        }
        // "at UCSF", "at the Christie": a care place named after "at".
        if w == "at" && i + 1 < n {
            let j = if toks[i + 1].lower == "the" {
                i + 2
            } else {
                i + 1
            };
            if j < n && j > i + 1 && capitalised(&toks[j]) && !keep(&toks[j]) {
                span(Kind::Place, j, j + 1, found);
            }
            if j < n
                && toks[j].raw.len() >= 3
                && toks[j].raw.chars().all(|c| c.is_ascii_uppercase())
                && !in_list("keep", &toks[j].lower)
            {
                span(Kind::Place, j, j + 1, found);
            }
        }
        // UK postcodes: "LS6 2QB".
        if i + 1 < n && postcode(&toks[i].lower, &toks[i + 1].lower) {
            span(Kind::Place, i, i + 2, found);
        }
        // A sign-off at the end: "thanks, Marg", "cheers - Tom".
        if in_list("signoff", w)
            || i + 1 < n && in_list("signoff", &format!("{w} {}", toks[i + 1].lower))
        {
            let at = if in_list("signoff", w) { i + 1 } else { i + 2 };
            if at < n
                && n - at <= 4
                && toks[at..].iter().all(|t| {
                    (t.raw
                        .chars()
                        .all(|c| c.is_alphabetic() || c == '-' || c == '\'')
                        || age_like(&t.lower))
                        && !in_list("function_word", &t.lower)
                        && !in_list("not_name", &t.lower)
                })
            {
                span(Kind::Name, at, n, found);
            }
        }
    }
}

/// A bare number that reads as an age.
fn age_like(w: &str) -> bool {
    w.parse::<u32>().is_ok_and(|v| v <= 120)
}

/// Is the word right after an opening bracket: "(Hannah, 42)"?
fn text_before_is_paren(t: &Tok) -> bool {
    t.bracketed
}

/// A UK postcode: outward code ("ls6", "sw1a") and inward code ("2qb").
fn postcode(a: &str, b: &str) -> bool {
    let a_ok = (2..=4).contains(&a.len())
        && a.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && a.chars().any(|c| c.is_ascii_digit())
        && a.chars().all(|c| c.is_ascii_alphanumeric());
    let b: Vec<char> = b.chars().collect();
    a_ok && b.len() == 3
        && b[0].is_ascii_digit()
        && b[1].is_ascii_alphabetic()
        && b[2].is_ascii_alphabetic()
}

/// Dates made of numbers and separators.
fn numeric_date(w: &str) -> bool {
    for sep in ['/', '-', '.'] {
        let parts: Vec<&str> = w.split(sep).collect();
        if parts.len() < 2
            || parts.len() > 3
            || parts
                .iter()
                .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
        {
            continue;
        }
        let nums: Vec<u32> = parts.iter().filter_map(|p| p.parse().ok()).collect();
        if parts.len() == 3 {
            let (a, b, c) = (nums[0], nums[1], nums[2]);
            let ymd = parts[0].len() == 4 && (1..=12).contains(&b) && (1..=31).contains(&c);
            let dmy = (1..=31).contains(&a)
                && (1..=31).contains(&b)
                && (a <= 12 || b <= 12)
                && (parts[2].len() == 2 || parts[2].len() == 4);
            // "3.5.1" is not a version here; a date needs a plausible year.
            if ymd || dmy && (sep != '.' || parts[2].len() >= 2) {
                return true;
            }
        } else if sep == '/' && parts.iter().all(|p| p.len() <= 2) {
            // "7/4": a day and month, not a fraction of small numbers? Both
            // must be in range; "3/4" is read as a date as well (errs to remove).
            let (a, b) = (nums[0], nums[1]);
            if (1..=31).contains(&a) && (1..=31).contains(&b) && (a > 4 || b > 4) {
                return true;
            }
        }
    }
    false
}

fn day_number(w: &str) -> bool {
    let w = w.trim_end_matches(',');
    let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
    let rest = &w[digits.len()..];
    !digits.is_empty()
        && digits.parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
        && matches!(rest, "" | "st" | "nd" | "rd" | "th" | "er")
}

fn year_number(w: &str) -> bool {
    let w = w.trim_end_matches(',');
    w.len() == 4
        && w.chars().all(|c| c.is_ascii_digit())
        && w.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y))
}

fn phone_part(w: &str) -> bool {
    let core = w.trim_matches(['(', ')', '+']);
    !core.is_empty()
        && core
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
        && digits(core) >= 2
        && !core.contains("..")
        && !(core.contains('.') && digits(core) <= 4)
}

/// Long numbers and codes that mix letters and digits, but not trial ids
/// (NCT...), gene variants (G12C, V600E) or staging (T2N1M0).
fn identifier(w: &str) -> bool {
    let d = digits(w);
    if w.starts_with("nct") || w.starts_with("isrctn") {
        return false;
    }
    let alnum = w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    alnum
        && (d >= 5 && !w.contains('.')
            || d >= 4 && w.chars().any(|c| c.is_ascii_alphabetic()) && w.contains('-'))
}

/// Overlapping spans joined, sorted.
fn merge(mut found: Vec<Found>) -> Vec<Found> {
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut out: Vec<Found> = Vec::new();
    for f in found {
        match out.last_mut() {
            Some(last) if f.start <= last.end => {
                last.end = last.end.max(f.end);
            }
            _ => out.push(f),
        }
    }
    out
}

fn clip(text: &str) -> &str {
    if text.len() <= MAX_INPUT_BYTES {
        return text;
    }
    let mut end = MAX_INPUT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The text with each detail replaced by its placeholder.
pub fn deidentify(text: &str) -> Deidentified {
    let text = clip(text);
    let found = find(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in &found {
        out.push_str(&text[at..f.start]);
        out.push_str(f.kind.placeholder());
        at = f.end;
    }
    out.push_str(&text[at..]);
    Deidentified { text: out, found }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &str = include_str!("../data/cases.tsv");
    const HELD_OUT: &str = include_str!("../data/cases-heldout.tsv");
    /// Floors under the held-out set's first measurement (issue 19).
    const HELD_OUT_FLOOR: (f64, f64) = (0.88, 0.97);

    /// Per case: (question, must go, must stay).
    fn cases(set: &'static str) -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
        let field = |f: &'static str| -> Vec<&'static str> {
            if f.trim() == "-" {
                Vec::new()
            } else {
                f.split(" | ")
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            }
        };
        set.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                assert_eq!(f.len(), 3, "{l}");
                (f[0], field(f[1]), field(f[2]))
            })
            .collect()
    }

    /// The figures over the case set: details removed, medical words kept,
    /// questions with nothing identifying left intact.
    #[test]
    fn the_case_set_is_de_identified() {
        let f = measure(CASES);
        assert!(f.must_go >= 100, "the set names at least 100 details");
        assert!(f.removed() >= 0.95, "removed {:.3}", f.removed());
        assert!(f.kept() >= 0.95, "kept {:.3}", f.kept());
    }

    /// A second set, written blind to the same brief and never tuned on
    /// (issue 19): its figures are reported as measured; the floors only
    /// catch a regression.
    #[test]
    fn the_held_out_case_set_is_de_identified() {
        let f = measure(HELD_OUT);
        assert!(f.must_go >= 100, "the set names at least 100 details");
        assert!(
            f.removed() >= HELD_OUT_FLOOR.0,
            "removed {:.3}",
            f.removed()
        );
        assert!(f.kept() >= HELD_OUT_FLOOR.1, "kept {:.3}", f.kept());
    }

    struct Figures {
        gone: usize,
        must_go: usize,
        kept: usize,
        must_keep: usize,
    }

    impl Figures {
        fn removed(&self) -> f64 {
            self.gone as f64 / self.must_go as f64
        }
        fn kept(&self) -> f64 {
            self.kept as f64 / self.must_keep as f64
        }
    }

    /// Runs the pass over a case set and prints its figures and misses.
    fn measure(set: &'static str) -> Figures {
        let (mut gone, mut must_go, mut kept, mut must_keep, mut clean, mut clean_total) =
            (0, 0, 0, 0, 0, 0);
        let mut misses = Vec::new();
        for (q, go, stay) in cases(set) {
            let out = deidentify(q).text;
            for g in &go {
                must_go += 1;
                if out.contains(g) {
                    misses.push(format!("left `{g}`: {out}"));
                } else {
                    gone += 1;
                }
            }
            for s in &stay {
                must_keep += 1;
                if out.contains(s) {
                    kept += 1;
                } else {
                    misses.push(format!("lost `{s}`: {out}"));
                }
            }
            if go.is_empty() {
                clean_total += 1;
                if out == q {
                    clean += 1;
                }
            }
        }
        let f = Figures {
            gone,
            must_go,
            kept,
            must_keep,
        };
        eprintln!(
            "removed {gone}/{must_go} ({:.3}); kept {kept}/{must_keep} ({:.3}); clean questions untouched {clean}/{clean_total}\n{}",
            f.removed(),
            f.kept(),
            misses.join("\n")
        );
        f
    }

    #[test]
    fn the_cue_lists_are_name_cues() {
        for list_name in ["strong_name_cue", "self_intro_cue"] {
            assert!(!list(list_name).is_empty(), "{list_name}");
            for cue in list(list_name) {
                assert!(
                    in_list("name_cue", cue),
                    "{list_name} {cue} is not a name_cue"
                );
            }
        }
        for l in [
            "function_word",
            "intro_end",
            "not_name",
            "keep",
            "place",
            "month",
        ] {
            assert!(!list(l).is_empty(), "{l}");
        }
    }

    #[test]
    fn a_deidentified_text_is_left_as_it_is() {
        for (q, _, _) in cases(CASES).into_iter().chain(cases(HELD_OUT)) {
            let once = deidentify(q).text;
            assert_eq!(deidentify(&once).text, once);
        }
    }

    #[test]
    fn placeholders_replace_spans() {
        let d = deidentify("I am Jane Doe, DOB 03/14/1962, MRN A-12345, call 555-234-7788");
        assert!(!d.text.contains("Jane"), "{}", d.text);
        assert!(!d.text.contains("1962"), "{}", d.text);
        assert!(!d.text.contains("12345"), "{}", d.text);
        assert!(!d.text.contains("7788"), "{}", d.text);
        assert!(
            d.text.contains("[name]") && d.text.contains("[date]"),
            "{}",
            d.text
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_spans_are_in_bounds(s in "\\PC{0,300}") {
            let d = deidentify(&s);
            for f in &d.found {
                proptest::prop_assert!(f.start < f.end && f.end <= s.len());
                proptest::prop_assert!(s.is_char_boundary(f.start) && s.is_char_boundary(f.end));
            }
        }
    }
}
