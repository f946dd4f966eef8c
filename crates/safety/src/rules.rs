//! Safety routing before retrieval: emergencies the person reports, requests
//! for an individual dose, questions about neither cancer nor health, and
//! questions too short or garbled to answer. Deterministic rules over the
//! person's own words; no model, no knowledge base.
//!
//! A symptom word alone is not an emergency: "why does chemo raise infection
//! risk?" asks *about* fever. An occurrence counts only when it is *live*:
//! not negated ("no fever"), not resolved ("the bleeding stopped"), not in
//! the distant past ("two years ago"), not hypothetical or feared ("what if I
//! get a fever", "I'm scared of bleeding"), and reported by someone ("I",
//! "my mom", "he") or stated outright ("coughing up blood since last night").
//! Self-harm is the exception: any mention that is not negated routes, since
//! a question framed as general is often personal.
//!
//! Phrases are written as tokens of the normalized text (lower case,
//! contractions expanded: "can't" → "can not"): `word*` matches any word
//! starting with `word`, `*` any one word, `#` a number, and `~` zero to
//! five words.

use sextant_core::cancer::{detect, Matching};

use crate::lexicon::{lexicon, Seqs, Words};
use crate::situations::{situations, Escalation, Situation, Urgency};
use sextant_core::text::{edit_distance, is_stopword};

/// A reported emergency.
#[derive(Debug, Clone)]
pub struct Emergency {
    pub situation: &'static Situation,
    /// The situation's level, or `urgent` when the message asks what a
    /// symptom it has had could mean ("I'm coughing up blood, could it be
    /// lung cancer?") and the situation allows that.
    pub level: Urgency,
    /// The clauses of the message, as written, that report it.
    pub evidence: Vec<String>,
    /// The rest of the message when it also asks something else ("and also,
    /// what is HER2?"), to be answered below the emergency part.
    pub rest: Option<String>,
    pub detector: Detector,
}

impl Emergency {
    /// May the learned layer raise this reading to an emergency? Only an
    /// urgent situation read at its own level, and not one whose level is
    /// a guideline's on purpose (`firm_level`), nor one the rules lowered
    /// ("could it be lung cancer?").
    pub fn raisable(&self) -> bool {
        self.level == Urgency::Urgent
            && self.situation.level == Urgency::Urgent
            && !self.situation.firm_level
    }
}

/// One clause of the message: its original text and its normalized tokens.
#[derive(Debug)]
struct Clause {
    orig: String,
    toks: Vec<String>,
    /// A temperature of fever height was written ("101.5", "38.6c").
    hot_number: bool,
    /// A low oxygen reading was written ("oxygen 86", "sats 88%").
    low_sat: bool,
    /// A temperature under 36 °C was written next to a word for it.
    cold_number: bool,
    /// The tokens, for rejecting most phrases with one lookup.
    set: std::collections::HashSet<String>,
}

/// Splits a message into clauses at sentence ends, line breaks, and joins
/// that start another thought ("and also", "also,", "btw").
/// The clauses of a message, parsed once per message and thread: routing
/// reads the same message several times (the rules, the layer's features,
/// the checks on what the layer found, scope), and parsing, with its
/// respelling and typo search, is most of its cost.
fn clauses(message: &str) -> std::rc::Rc<Vec<Clause>> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(String, std::rc::Rc<Vec<Clause>>)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with(|last| {
        if let Some((m, cs)) = last.borrow().as_ref() {
            if m == message {
                return cs.clone();
            }
        }
        let cs = std::rc::Rc::new(parse_clauses(message));
        *last.borrow_mut() = Some((message.to_string(), cs.clone()));
        cs
    })
}

fn parse_clauses(message: &str) -> Vec<Clause> {
    let mut parts: Vec<String> = vec![String::new()];
    let chars: Vec<char> = message.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let last = parts.last_mut().expect("never empty");
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        // "38.5" keeps its point; "Dr." is rare enough in questions.
        let boundary = matches!(c, '?' | '!' | ';' | '\n')
            || (c == '.' && !(prev.is_ascii_digit() && next.is_ascii_digit()));
        if boundary {
            last.push(c);
            parts.push(String::new());
        } else {
            last.push(c);
        }
    }
    // Joins that start a new question.
    let mut out = Vec::new();
    for p in parts {
        // ASCII lower-casing keeps byte offsets valid in `p`.
        let lower = p.to_ascii_lowercase();
        let mut cut = None;
        for j in [
            " and also ",
            " also, ",
            " also what",
            " also how",
            " also can",
            " also when",
            " also does",
            " also do ",
            " also is ",
            " also where",
            " also should",
            " btw ",
            " by the way ",
            " and what ",
            " and how ",
            " and is ",
            " and can ",
        ] {
            if let Some(at) = lower.find(j) {
                if cut.is_none_or(|c| at < c) {
                    cut = Some(at);
                }
            }
        }
        match cut.filter(|&at| p.is_char_boundary(at)) {
            Some(at) => {
                out.push(p[..at].to_string());
                out.push(p[at..].to_string());
            }
            None => out.push(p),
        }
    }
    out.into_iter()
        .filter(|p| p.chars().any(char::is_alphanumeric))
        .map(|orig| {
            let (toks, hot_number) = normalize(&orig);
            let low_sat = low_oxygen(&toks);
            let cold_number = low_temperature(&toks);
            // A reading in a past frame at a past time ("last month I had
            // a temp of 38.9 and was admitted") is history, not a reading.
            let has = |list: &Seqs| list.iter().any(|p| contains_seq(&toks, p).is_some());
            let past_reading = has(&PAST_FRAME) && (has(&PAST_TIME) || has(&DISTANT));
            Clause {
                set: toks.iter().cloned().collect(),
                orig: orig.trim().to_string(),
                toks,
                hot_number: hot_number && !past_reading,
                low_sat,
                cold_number: cold_number && !past_reading,
            }
        })
        .collect()
}

/// Words that put a temperature reading in a past frame ("had a temp of",
/// "was admitted"), and times that, with them, make it history.
static PAST_FRAME: Seqs = Seqs::new("past_frame");
/// What a care team said would happen, and a death already come.
static EXPECTED: Seqs = Seqs::new("expected");
static DECEASED: Seqs = Seqs::new("deceased");
static PAST_TIME: Seqs = Seqs::new("past_time");

/// A temperature below 36 °C written with a decimal or a unit ("35.2",
/// "35c") next to a word for temperature: during treatment, as much a
/// warning of infection as a fever (UKONS).
fn low_temperature(toks: &[String]) -> bool {
    static TEMPERATURE: Words = Words::new("temperature_words");
    let low = |t: &str| {
        let digits: String = t
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let unit = matches!(t[digits.len()..].chars().next(), Some('c'));
        (digits.contains('.') || unit)
            && digits
                .parse::<f32>()
                .is_ok_and(|v| (33.0..36.0).contains(&v))
    };
    toks.iter().any(|t| low(t)) && toks.iter().any(|t| TEMPERATURE.contains(&t.as_str()))
}

/// An oxygen saturation under 92 % next to a word for it ("my oxygen is
/// 86", "sats 88", "pulse ox says 85%").
fn low_oxygen(toks: &[String]) -> bool {
    static OXYGEN: Words = Words::new("oxygen_words");
    let oxygen = |t: &str| OXYGEN.contains(&t);
    toks.iter().enumerate().any(|(i, t)| {
        oxygen(t)
            && toks[i + 1..].iter().take(8).any(|n| {
                n.trim_end_matches('%')
                    .parse::<f32>()
                    .is_ok_and(|v| (50.0..92.0).contains(&v))
            })
    })
}

/// Long words the rules use, for correcting typos by edit distance.
static LONG_WORDS: Words = Words::new("long_words");

/// Lower-cases, expands contractions, fixes known misspellings and splits
/// into word tokens. Also says whether a fever-height temperature was
/// written (≥ 100.4 °F or ≥ 38.0 °C).
/// Lower case without accents: "fièvre" and "fievre", "muchísimo" and
/// "muchisimo" are typed both ways, so the lexicon is kept folded (a test
/// checks) and so is every message before matching.
pub(crate) fn fold(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => o.push('a'),
            'è' | 'é' | 'ê' | 'ë' => o.push('e'),
            'ì' | 'í' | 'î' | 'ï' => o.push('i'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => o.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => o.push('u'),
            'ñ' => o.push('n'),
            'ç' => o.push('c'),
            'ý' | 'ÿ' => o.push('y'),
            'œ' => o.push_str("oe"),
            'æ' => o.push_str("ae"),
            _ => o.push(c),
        }
    }
    o
}

fn normalize(s: &str) -> (Vec<String>, bool) {
    // A comma stays, as a token of its own: it ends the reach of a
    // negation ("not eating, now vomiting blood").
    let lower = fold(s).replace(['’', '‘', '`'], "'").replace(',', " , ");
    let mut toks = Vec::new();
    // A fever-height number with a decimal or a unit ("38.6", "102f") is
    // a temperature; a whole one ("I'm 38 now") only next to a word for
    // temperature.
    let (mut hot, mut hot_whole) = (false, false);
    for raw in lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '.' || c == '-' || c == ','))
    {
        if raw == "," {
            toks.push(",".to_string());
            continue;
        }
        let raw = raw.trim_matches(|c: char| c == '\'' || c == '.' || c == '-' || c == ',');
        if raw.is_empty() {
            continue;
        }
        // Numbers: "101.5", "38.6c", "102f", "39°".
        let digits: String = raw
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        if !digits.is_empty() {
            if let Ok(v) = digits.parse::<f32>() {
                if (100.4..=107.0).contains(&v) || (38.0..=42.5).contains(&v) {
                    let unit = matches!(raw[digits.len()..].chars().next(), Some('c' | 'f'));
                    if digits.contains('.') || unit {
                        hot = true;
                    } else {
                        hot_whole = true;
                    }
                }
            }
            toks.push(raw.to_string());
            continue;
        }
        if let Some(parts) = lexicon().respell(raw) {
            toks.extend(parts.iter().map(|p| p.to_string()));
            continue;
        }
        let stripped = raw.trim_end_matches("'s");
        for piece in stripped.split(['-', '\'']).filter(|p| !p.is_empty()) {
            if let Some(parts) = lexicon().respell(piece) {
                toks.extend(parts.iter().map(|p| p.to_string()));
                continue;
            }
            let w = {
                let n = piece.chars().count();
                if n >= 7 {
                    let max = if n >= 9 { 2 } else { 1 };
                    // A word's own inflection is not a typo: "confusing"
                    // is not "confusion".
                    let ending = |w: &str| {
                        ["ing", "ed", "ly", "es"]
                            .into_iter()
                            .find(|e| w.ends_with(e))
                    };
                    LONG_WORDS
                        .iter()
                        .filter(|l| ending(piece) == ending(l))
                        .find(|l| edit_distance(piece, l, max) <= max)
                        .map_or_else(|| piece.to_string(), |l| l.to_string())
                } else {
                    piece.to_string()
                }
            };
            toks.push(w);
        }
    }
    static TEMPERATURE: Words = Words::new("temperature_words");
    if hot_whole && toks.iter().any(|t| TEMPERATURE.contains(&t.as_str())) {
        hot = true;
    }
    (toks, hot)
}

/// Endings of generic drug names: "-mab" antibodies, "-nib" kinase
/// inhibitors, "-platin", "-taxel", "-rubicin", "-citabine", and the like.
static DRUG_SUFFIXES: Words = Words::new("drug_suffixes");

/// Does a token look like a drug name? Generic-name endings, plus brand and
/// common names patients use.
pub fn looks_like_drug(t: &str) -> bool {
    static NAMES: Words = Words::new("drug_names");
    let english = |t: &str| {
        t.len() >= 5
            && DRUG_SUFFIXES.iter().any(|s| t.ends_with(s))
            && !matches!(t, "abandoned" | "condone" | "undone")
            || NAMES.contains(&t)
    };
    english(t) || romance_stem(t).is_some_and(|stem| english(stem) || english(&format!("{stem}e")))
}

/// A Spanish or French spelling of an English generic name loses or swaps
/// its last vowel: "capecitabina", "tamoxifeno", "tamoxifène" (folded to
/// "tamoxifene") → "capecitabin", "tamoxifen".
fn romance_stem(t: &str) -> Option<&str> {
    let stem = t.strip_suffix(['a', 'o', 'e'])?;
    (stem.len() >= 6).then_some(stem)
}

/// Does a token look like a cancer drug: an antineoplastic generic-name
/// ending ("-mab", "-platin") or a regimen or brand name ("FOLFOX")?
pub fn looks_like_cancer_drug(t: &str) -> bool {
    static SUFFIXES: Words = Words::new("cancer_drug_suffixes");
    static NAMES: Words = Words::new("cancer_drug_names");
    let english =
        |t: &str| t.len() >= 5 && SUFFIXES.iter().any(|s| t.ends_with(s)) || NAMES.contains(&t);
    english(t) || romance_stem(t).is_some_and(|stem| english(stem) || english(&format!("{stem}e")))
}

/// Does `pat` (a phrase, or what is left of one) match `toks` starting at
/// `i`? Returns the end. Walks the phrase without allocating: routing runs
/// before every answer.
fn match_at(pat: &str, toks: &[String], i: usize) -> Option<usize> {
    if pat.is_empty() {
        return Some(i);
    }
    let (first, rest) = pat.split_once(' ').unwrap_or((pat, ""));
    if first == "~" {
        for skip in 0..=5 {
            if i + skip > toks.len() {
                break;
            }
            if let Some(end) = match_at(rest, toks, i + skip) {
                return Some(end);
            }
        }
        return None;
    }
    let t = toks.get(i)?;
    let ok = if first == "*" {
        true
    } else if first == "#" {
        t.starts_with(|c: char| c.is_ascii_digit())
    } else if let Some(min) = first.strip_prefix('#').and_then(|n| n.strip_suffix('+')) {
        // "#7+": a number of at least 7 ("10", "10x").
        let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok() >= min.parse::<u32>().ok()
    } else if let Some(stem) = first.strip_suffix('*') {
        t.starts_with(stem)
    } else {
        t == first
    };
    if ok {
        match_at(rest, toks, i + 1)
    } else {
        None
    }
}

/// A phrase list indexed by each phrase's anchor: its first plain word
/// (no `*`, `~` or `#`). A phrase whose anchor the clause lacks cannot
/// match, so only the phrases anchored on the clause's own words, and the
/// few with no anchor, are tried.
struct PhraseIndex {
    by_anchor: std::collections::HashMap<&'static str, Vec<&'static str>>,
    free: Vec<&'static str>,
}

/// The index of a list, built once per list. Lists are `'static` slices of
/// the lexicon, so their address names them.
fn phrase_index(phrases: &'static [&'static str]) -> &'static PhraseIndex {
    type Cache = std::collections::HashMap<(usize, usize), &'static PhraseIndex>;
    static CACHE: std::sync::OnceLock<std::sync::RwLock<Cache>> = std::sync::OnceLock::new();
    let key = (phrases.as_ptr() as usize, phrases.len());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(ix) = cache.read().ok().and_then(|c| c.get(&key).copied()) {
        return ix;
    }
    let mut ix = PhraseIndex {
        by_anchor: std::collections::HashMap::new(),
        free: Vec::new(),
    };
    for &ph in phrases {
        let anchor = (!ph.starts_with('@'))
            .then(|| {
                ph.split(' ')
                    .find(|w| !w.ends_with('*') && *w != "~" && !w.starts_with('#'))
            })
            .flatten();
        match anchor {
            Some(a) => ix.by_anchor.entry(a).or_default().push(ph),
            None => ix.free.push(ph),
        }
    }
    let ix: &'static PhraseIndex = Box::leak(Box::new(ix));
    if let Ok(mut c) = cache.write() {
        c.insert(key, ix);
    }
    ix
}

/// Every occurrence of any of `phrases` in a clause, as token ranges.
fn occurrences(phrases: &'static [&'static str], c: &Clause) -> Vec<(usize, usize)> {
    let ix = phrase_index(phrases);
    let mut anchored: Vec<&'static str> = c
        .set
        .iter()
        .filter_map(|w| ix.by_anchor.get(w.as_str()))
        .flatten()
        .copied()
        .collect();
    // Same order every run: the set's order is not.
    anchored.sort_unstable();
    anchored.dedup();
    let mut out = Vec::new();
    for ph in ix.free.iter().chain(&anchored) {
        if matches!(*ph, "@temp" | "@lowsat" | "@cold") {
            if (*ph == "@temp" && c.hot_number)
                || (*ph == "@lowsat" && c.low_sat)
                || (*ph == "@cold" && c.cold_number)
            {
                out.push((0, 0));
            }
            continue;
        }
        let drug: Option<fn(&str) -> bool> = match *ph {
            "@cancer_drug" => Some(looks_like_cancer_drug),
            "@drug" => Some(looks_like_drug),
            _ => None,
        };
        if let Some(is_drug) = drug {
            out.extend(
                c.toks
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| is_drug(t))
                    .map(|(i, _)| (i, i + 1)),
            );
            continue;
        }
        for i in 0..c.toks.len() {
            if let Some(end) = match_at(ph, &c.toks, i) {
                out.push((i, end));
            }
        }
    }
    out
}

static NEGATORS: Words = Words::new("negators");
/// Everyday figures of speech that use symptom words.
static FIGURATIVE: Words = Words::new("figurative");

/// Words that end a negation's reach looking backwards.
static BARRIERS: Words = Words::new("barriers");
/// Words after a symptom saying it is over.
static RESOLVED: Words = Words::new("resolved");
/// Distant past: the symptom is history, not news.
static DISTANT: Seqs = Seqs::new("distant");
/// Words that make what follows hypothetical, feared, or general.
static HYPOTHETICAL: Seqs = Seqs::new("hypothetical");
/// Markers of a present, ongoing situation: they outweigh a hypothetical
/// framing ("what do I do if my temp is 101 right now").
static PRESENT: Seqs = Seqs::new("present");
/// Plain markers of the present that outweigh a mention of the past.
static NOW: Seqs = Seqs::new("now");
/// Asking what a symptom could mean: "could it be cancer", "signs of".
static DIAGNOSTIC: Seqs = Seqs::new("diagnostic");
/// Plainly hypothetical or taught: "if they get", "in case", "teach patients".
static HYPOTHETICAL_STRONG: Seqs = Seqs::new("hypothetical_strong");
/// Long-standing patterns: "for weeks", "on and off".
static CHRONIC: Seqs = Seqs::new("chronic");
/// Words saying a symptom is mild: "a little", "slightly", "once".
static MILD: Seqs = Seqs::new("mild");
/// Words that make a clause about what usually happens.
static GENERAL: Words = Words::new("general");
/// People the message can be about.
static PERSONAL: Words = Words::new("personal");
/// People in general: a clause about them is not a report.
static GENERIC: Words = Words::new("generic");
/// Words that open a question about something rather than a report.
static INTERROGATIVE: Words = Words::new("interrogative");

fn contains_seq(toks: &[String], seq: &[&str]) -> Option<usize> {
    toks.windows(seq.len())
        .position(|w| w.iter().zip(seq).all(|(a, b)| a == b))
}

/// What makes an occurrence count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Any mention not negated (self-harm: a question framed as general is
    /// often personal).
    Mentioned,
    /// A live report: not hypothetical, general, resolved or long past.
    Reported,
    /// A report that still counts when the signs have passed (a stroke's).
    ReportedEvenPast,
}

/// Is the occurrence `(i, end)` of a symptom in clause `c` live, read as
/// `reading` says?
fn live(c: &Clause, (i, end): (usize, usize), reading: Reading) -> bool {
    let t = &c.toks;
    // Negated: a negator within five words before, not past a conjunction
    // ("I haven't coughed up any blood").
    let mut j = i;
    let mut steps = 0;
    while j > 0 && steps < 5 {
        j -= 1;
        steps += 1;
        if BARRIERS.contains(&t[j].as_str()) {
            break;
        }
        if NEGATORS.contains(&t[j].as_str()) {
            return false;
        }
    }
    // "No blood", inside the phrase ("cough after radiation, no blood").
    if end >= i + 3 && matches!(t[end - 2].as_str(), "no" | "without" | "never") {
        return false;
    }
    // Figures of speech: "spring fever", "a stroke of luck", "confused
    // about my plan", "the bill nearly made me pass out".
    if occurrences(&FIGURATIVE, c)
        .into_iter()
        .any(|(a, b)| a < end && i < b)
    {
        return false;
    }
    // Fiction: "in the film he coughs up blood, is that realistic?"
    static FICTION: Seqs = Seqs::new("fiction");
    if FICTION.iter().any(|f| contains_seq(t, f).is_some()) {
        return false;
    }
    if reading == Reading::Mentioned {
        // Self-harm: a question about someone who died, or about being
        // screened, is not a report ("I said no"); nor is a crisis long
        // past that the writer says they came through ("a few years ago I
        // was suicidal and got help, I'm well now").
        static ABOUT: Seqs = Seqs::new("self_harm_about");
        static RECOVERED: Seqs = Seqs::new("self_harm_recovered");
        let recovered = DISTANT.iter().any(|d| contains_seq(t, d).is_some())
            && RECOVERED.iter().any(|r| contains_seq(t, r).is_some());
        return !recovered && !ABOUT.iter().any(|a| contains_seq(t, a).is_some());
    }
    // Resolved: "the bleeding stopped", "fever went away" (not "won't stop").
    // Looked for inside the phrase too: "bleeding stopped after an hour".
    let after = &t[(i + 1).min(t.len())..(end + 4).min(t.len())];
    // Up to a comma or a conjunction: "diarrhea 5 times today, drinking
    // fine" does not say the diarrhea is fine.
    let after = match after
        .iter()
        .position(|w| w == "," || w == "but" || w == "and")
    {
        Some(k) if i + 1 + k >= end => &after[..k],
        _ => after,
    };
    // "Gone" ends a symptom ("the fever is gone"), unless it says what the
    // symptom became ("my legs have gone numb").
    let resolved_at = after.iter().enumerate().position(|(k, w)| {
        RESOLVED.contains(&w.as_str())
            && (w != "gone"
                || after
                    .get(k + 1)
                    .is_none_or(|n| matches!(n.as_str(), "now" | "and" | "but" | "so" | "away")))
    });
    if let Some(k) = resolved_at.filter(|_| reading == Reading::Reported) {
        if !after[..k].iter().any(|w| w == "not" || w == "never") {
            return false;
        }
    }
    // The past is read up to the end of the symptom's part of the clause:
    // "chest pain now, had a clot last year" reports the chest pain; "two
    // years ago, I had a stroke" does not.
    let upto = t[end.min(t.len())..]
        .iter()
        .position(|w| w == ",")
        .map_or(t.len(), |k| end + k);
    let year = t[..upto].windows(2).any(|w| {
        matches!(w[0].as_str(), "in" | "since" | "during")
            && w[1].len() == 4
            && (w[1].starts_with("19") || w[1].starts_with("20"))
            && w[1].chars().all(|c| c.is_ascii_digit())
    });
    let present = c.hot_number || c.low_sat || PRESENT.iter().any(|p| contains_seq(t, p).is_some());
    // "Had chest radiation last month and tonight it's way worse": the
    // past is context when the message also speaks of now, plainly ("now"
    // and "still" alone do not: "had a stroke in 2015 and now has cancer").
    let now = c.hot_number || c.low_sat || NOW.iter().any(|p| contains_seq(t, p).is_some());
    if (year
        || DISTANT
            .iter()
            .any(|d| contains_seq(&t[..upto], d).is_some()))
        && !now
    {
        // Even signs that passed count only when recent: "two years ago I
        // had a stroke" is history.
        return false;
    }
    // "Sometimes", "in general", "usually": a pattern asked about, not an
    // event reported.
    let general = t.iter().any(|w| GENERAL.contains(&w.as_str()))
        || contains_seq(t, &["in", "general"]).is_some();
    if general && !present {
        return false;
    }
    // "For weeks", "on and off", "keeps getting": a long-standing pattern
    // is for an appointment, not a call tonight, unless it is new today.
    if CHRONIC.iter().any(|p| contains_seq(t, p).is_some()) && !now {
        return false;
    }
    // "A little winded", "aches a bit": mild, said so, just before or after.
    let mild = |r: &[String]| MILD.iter().any(|m| contains_seq(r, m).is_some());
    // After the symptom, "for a bit" is how long, not how much.
    let after_mild = {
        let r = &t[end.min(t.len())..(end + 3).min(t.len())];
        mild(r) && r.first().is_none_or(|w| w != "for")
    };
    if mild(&t[i.saturating_sub(3)..i.min(t.len())]) || after_mild {
        return false;
    }
    // "My granddaughter has a fever, should she stay away from me while I'm
    // on chemo?": about passing an infection on, not about the patient.
    static EXPOSURE: Seqs = Seqs::new("exposure");
    if EXPOSURE.iter().any(|e| contains_seq(t, e).is_some()) && !now {
        return false;
    }
    // "What does neutropenic fever mean?": asking what a word means.
    let definition = t.iter().any(|w| {
        matches!(
            w.as_str(),
            "mean" | "means" | "meaning" | "definition" | "define" | "explain"
        )
    });
    if definition && !(c.hot_number || c.low_sat) {
        return false;
    }
    let before = &t[..i.min(t.len())];
    let hypothetical = HYPOTHETICAL
        .iter()
        .any(|h| contains_seq(before, h).is_some());
    if hypothetical && !present {
        return false;
    }
    // "What if they get a temp of 38": a number does not make a plainly
    // hypothetical clause a report.
    if HYPOTHETICAL_STRONG
        .iter()
        .any(|h| contains_seq(before, h).is_some())
    {
        return false;
    }
    let personal = t.iter().any(|w| PERSONAL.contains(&w.as_str()));
    if personal || present {
        return true;
    }
    // "Can anyone get X?" asks in general; "... don't want to bother
    // anyone" after the symptom does not, nor does a bystander's report
    // ("someone fitting on the bus floor"), which asks nothing.
    let generic = before.iter().any(|w| GENERIC.contains(&w.as_str())) && asks_something(c);
    let opener = t.first().map(String::as_str).unwrap_or("");
    let interrogative = INTERROGATIVE.contains(&opener)
        && !(matches!(opener, "can" | "could" | "do" | "does" | "did")
            && t.get(1).is_some_and(|w| w == "not"));
    !generic && !interrogative
}

/// A live occurrence of any phrase in the group, as (clause, start, end).
fn live_hits(
    group: &'static [&'static str],
    cs: &[Clause],
    reading: Reading,
) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for (ci, c) in cs.iter().enumerate() {
        for occ in occurrences(group, c) {
            if live(c, occ, reading) {
                out.push((ci, occ.0, occ.1));
            }
        }
    }
    out
}

/// The emergency a message reports, if any.
pub fn emergency(message: &str) -> Option<Emergency> {
    let cs = clauses(message);
    for s in situations() {
        let reading = if s.escalation == Escalation::Crisis {
            Reading::Mentioned
        } else if s.passed_counts {
            Reading::ReportedEvenPast
        } else {
            Reading::Reported
        };
        for tr in &s.triggers {
            if let Some(context) = tr.context {
                let context = lexicon().list(context);
                if !cs.iter().any(|c| !occurrences(context, c).is_empty()) {
                    continue;
                }
            }
            let hits: Vec<Vec<(usize, usize, usize)>> = tr
                .groups
                .iter()
                .map(|g| live_hits(lexicon().list(g), &cs, reading))
                .collect();
            if hits.iter().any(Vec::is_empty) {
                continue;
            }
            let mut used: Vec<usize> = Vec::new();
            if let Some(w) = tr.near {
                // All groups within `w` tokens in one clause.
                let first = &hits[0];
                let ok = first.iter().find(|&&(ci, s0, _)| {
                    hits[1..].iter().all(|h| {
                        h.iter()
                            .any(|&(cj, s1, _)| cj == ci && s0.abs_diff(s1) <= w)
                    })
                });
                match ok {
                    Some(&(ci, _, _)) => used.push(ci),
                    None => continue,
                }
            } else {
                for h in &hits {
                    used.extend(h.iter().map(|x| x.0));
                }
            }
            used.sort_unstable();
            used.dedup();
            let evidence = used.iter().map(|&ci| cs[ci].orig.clone()).collect();
            let rest: Vec<&str> = cs
                .iter()
                .enumerate()
                .filter(|(ci, c)| !used.contains(ci) && asks_something(c))
                .map(|(_, c)| c.orig.as_str())
                .collect();
            let rest = (!rest.is_empty()).then(|| {
                let r = rest.join(" ");
                r.trim_start_matches(|c: char| !c.is_alphanumeric())
                    .trim_start_matches("and also ")
                    .trim_start_matches("also ")
                    .trim_start_matches("also, ")
                    .trim_start_matches("btw ")
                    .to_string()
            });
            // "Could it be lung cancer?": asking whether a symptom means a
            // cancer is for the doctor today, when the situation allows it.
            let diagnostic = s.diagnostic_urgent
                && cs.iter().any(|c| {
                    DIAGNOSTIC
                        .iter()
                        .any(|p| contains_seq(&c.toks, p).is_some())
                })
                && !detect(message, Matching::Typos).is_empty();
            return Some(Emergency {
                situation: s,
                level: if diagnostic { Urgency::Urgent } else { s.level },
                evidence,
                rest,
                detector: Detector::Rules,
            });
        }
    }
    None
}

/// Names of [`features`], in order.
pub const FEATURES: &[&str] = &[
    "personal",
    "present",
    "now",
    "hypothetical",
    "hypothetical_strong",
    "distant",
    "negated",
    "general",
    "chronic",
    "asks",
    "fever_number",
    "low_oxygen",
    "figurative",
    "mild",
];

/// What the rules' reading of a message says, as numbers for the learned
/// layer: is someone reporting something now, or asking about it, in the
/// past, hypothetically, negated? The embedding alone blurs these.
pub fn features(message: &str) -> Vec<f32> {
    let cs = clauses(message);
    let any = |f: &dyn Fn(&Clause) -> bool| f32::from(u8::from(cs.iter().any(f)));
    let seq = |list: &'static Seqs| {
        move |c: &Clause| list.iter().any(|p| contains_seq(&c.toks, p).is_some())
    };
    vec![
        any(&|c| c.toks.iter().any(|w| PERSONAL.contains(&w.as_str()))),
        any(&seq(&PRESENT)),
        any(&seq(&NOW)),
        any(&seq(&HYPOTHETICAL)),
        any(&seq(&HYPOTHETICAL_STRONG)),
        any(&seq(&DISTANT)),
        any(&|c| c.toks.iter().any(|w| NEGATORS.contains(&w.as_str()))),
        any(&|c| c.toks.iter().any(|w| GENERAL.contains(&w.as_str()))),
        any(&seq(&CHRONIC)),
        any(&asks_something),
        any(&|c| c.hot_number),
        any(&|c| c.low_sat),
        any(&|c| !occurrences(&FIGURATIVE, c).is_empty()),
        any(&seq(&MILD)),
    ]
}

/// How an emergency was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detector {
    /// A rule of `triggers.tsv` named it.
    Rules,
    /// The learned layer scored it over its calibrated threshold.
    Learned,
    /// The rules read it as urgent; the learned layer, sure it is an
    /// emergency, raised it.
    Raised,
}

/// The emergency or urgent problem a message reports, if any: the rules
/// first, then the learned layer over `embedding` (the message's sentence
/// embedding, when the caller has one) for what no rule names.
pub fn triage(message: &str, embedding: Option<&[f32]>) -> Option<Emergency> {
    let ruled = emergency(message);
    let layer = crate::Classifier::shipped().zip(embedding);
    let cs = clauses(message);
    let says = |list: &Seqs| {
        cs.iter()
            .any(|c| list.iter().any(|p| contains_seq(&c.toks, p).is_some()))
    };
    // "The hospice team said this would happen", "in her last days": the
    // team already knows and is the one to call, now if need be.
    let expected = says(&EXPECTED);
    if let Some(mut e) = ruled {
        if expected
            && e.level == crate::Urgency::Emergency
            && e.situation.escalation != crate::Escalation::Crisis
        {
            e.level = crate::Urgency::Urgent;
            return Some(e);
        }
        // An urgent situation the layer is sure is an emergency is raised
        // ("neutrophils 0.4 on friday, temp now 38.0"). Not one the rules
        // lowered on purpose ("could it be lung cancer?").
        if let Some((c, v)) = layer {
            if e.raisable() && c.raises(&c.scores(&c.input(v, message))) {
                e.level = crate::Urgency::Emergency;
                e.detector = Detector::Raised;
            }
        }
        return Some(e);
    }
    let (c, v) = layer?;
    let level = c.level(&c.scores(&c.input(v, message)));
    if level == crate::Urgency::Routine {
        return None;
    }
    // The rules read it and said no: the symptom they know is negated,
    // past, hypothetical or asked about ("no chest pain, but why an
    // echo?"). The layer is for wordings the rules do not know.
    if judged_not_live(message) {
        return None;
    }
    // A figure of speech the lexicon knows ("dying of boredom", "going to
    // kill me when he finds out") is what the layer reacted to: the rules
    // found nothing else.
    if cs.iter().any(|c| !occurrences(&FIGURATIVE, c).is_empty()) {
        return None;
    }
    // Nor what a team expects, nor a death already certified ("Mum died
    // peacefully this morning; what do we do with her medicines?"). The
    // rules still read those messages: "I think he has died" is theirs.
    if expected || says(&DECEASED) {
        return None;
    }
    // A question about a missed, stopped, started or changed dose
    // ("forgot my anastrozole yesterday, take it now?") reads, to the
    // layer, like an extra dose taken, so the layer leaves it to the dosing
    // route. Not a doubled dose: that is where an extra dose already taken
    // hides ("gave him his insulin twice").
    if dosing(message, &[]).is_some_and(|d| d.kind != "double") {
        return None;
    }
    let id = match level {
        crate::Urgency::Emergency => "learned_emergency",
        crate::Urgency::Urgent => "learned_urgent",
        crate::Urgency::Routine => return None,
    };
    Some(Emergency {
        situation: crate::situation(id)?,
        level,
        evidence: vec![message.trim().to_string()],
        rest: None,
        detector: Detector::Learned,
    })
}

/// Does the message name a symptom the rules know, only in ways that are not
/// a live report (negated, past, hypothetical, general)?
fn judged_not_live(message: &str) -> bool {
    named_symptoms(message) == Named::NotLive
}

/// How a message names the symptoms the situations' triggers know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Named {
    Nothing,
    /// Only negated, past, hypothetical or asked about.
    NotLive,
    /// At least one reported now.
    Live,
}

fn named_symptoms(message: &str) -> Named {
    let cs = clauses(message);
    let mut seen = false;
    for s in situations() {
        let reading = if s.escalation == Escalation::Crisis {
            Reading::Mentioned
        } else {
            Reading::Reported
        };
        for tr in &s.triggers {
            for g in &tr.groups {
                let list = lexicon().list(g);
                for c in cs.iter() {
                    for occ in occurrences(list, c) {
                        if live(c, occ, reading) {
                            return Named::Live;
                        }
                        seen = true;
                    }
                }
            }
        }
    }
    if seen {
        Named::NotLive
    } else {
        Named::Nothing
    }
}

/// A clause that asks something on its own ("what is HER2?"), not a
/// remark ("help", "please").
fn asks_something(c: &Clause) -> bool {
    let content = c
        .toks
        .iter()
        .filter(|w| {
            !is_stopword(w)
                && !matches!(
                    w.as_str(),
                    "also" | "btw" | "please" | "help" | "thanks" | "ok"
                )
        })
        .count();
    let question = c.orig.trim_end().ends_with('?')
        || c.toks
            .iter()
            .take(3)
            .any(|w| INTERROGATIVE.contains(&w.as_str()));
    question && content >= 1
}

/// What a dosing question asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DosingAsk {
    /// Which kind: amount, missed, double, stop, start, change.
    pub kind: &'static str,
    /// The clause that asks it.
    pub evidence: String,
}

/// Personal forms that make a dose question individual.
static SELF_DOSE: Words = Words::new("self_dose");

static DOSE_KINDS: Words = Words::new("dose_kinds");

/// Each dosing kind with its phrases (`dose.KIND` in the lexicon), in the
/// order they are tried; looked up once, not per message.
fn dose_patterns() -> &'static [(&'static str, &'static [&'static str])] {
    static P: std::sync::OnceLock<Vec<(&'static str, &'static [&'static str])>> =
        std::sync::OnceLock::new();
    P.get_or_init(|| {
        DOSE_KINDS
            .iter()
            .map(|k| (*k, lexicon().list(&format!("dose.{k}"))))
            .collect()
    })
}

/// Words that make "stop"/"skip"/"start" about medicine rather than life.
static MEDICINE_WORDS: Words = Words::new("medicine_words");

/// A request for an individual dosing decision. `drugs` are the lower-case
/// drug names the knowledge base has pages for, sorted; they count as medicine words.
pub fn dosing(message: &str, drugs: &[String]) -> Option<DosingAsk> {
    for c in clauses(message).iter() {
        // "Is it OK to begin taking CBD oil while on chemo?" asks for the
        // person's own decision without saying "I".
        let asks_permission = c.toks.windows(4).any(|w| {
            w[0] == "is"
                && w[1] == "it"
                && matches!(w[2].as_str(), "ok" | "okay" | "safe" | "alright" | "fine")
                && w[3] == "to"
        });
        let personal = asks_permission || c.toks.iter().any(|w| SELF_DOSE.contains(&w.as_str()));
        let medicine = !occurrences(&MEDICINE_WORDS, c).is_empty()
            || c.toks
                .iter()
                .any(|w| looks_like_drug(w) || drugs.binary_search(w).is_ok());
        // "What is high-dose chemotherapy?", "dose-dense": about dosing in
        // general, unless the person's own dose is asked about.
        static GENERAL_DOSE: Seqs = Seqs::new("dose_general");
        let general = GENERAL_DOSE
            .iter()
            .any(|g| contains_seq(&c.toks, g).is_some());
        if general && !personal {
            continue;
        }
        for &(kind, patterns) in dose_patterns() {
            let hit = occurrences(patterns, c)
                .into_iter()
                .any(|occ| live(c, occ, Reading::Mentioned));
            // A dose question names a medicine (or the word "dose") and is
            // about someone's own: "how much does it cost" and "stop
            // worrying" are not.
            let dose_word = c
                .toks
                .iter()
                .any(|w| w.starts_with("dose") || w.starts_with("dosage"));
            // "How much water should I drink during chemo?" asks an amount
            // of something that is not a medicine.
            static NOT_MEDICINE: Words = Words::new("not_medicine");
            let amount_of_other = kind == "amount"
                && c.toks.windows(3).any(|w| {
                    w[0] == "how"
                        && matches!(w[1].as_str(), "much" | "many")
                        && NOT_MEDICINE.contains(&w[2].as_str())
                });
            if amount_of_other {
                continue;
            }
            if hit && (medicine || dose_word) && personal {
                return Some(DosingAsk {
                    kind,
                    evidence: c.orig.clone(),
                });
            }
        }
    }
    None
}

/// Stems of words about health, the body, or cancer care. A question with
/// none of them, and no cancer type or drug, is out of scope.
static HEALTH: Words = Words::new("health");

/// Endings of medical words: "-oma", "-itis", "-ectomy", "-scopy".
static MEDICAL_SUFFIXES: Words = Words::new("medical_suffixes");

/// Is the message about neither cancer nor health? `drugs` as for [`dosing`].
pub fn out_of_scope(message: &str, drugs: &[String]) -> bool {
    let lower = format!(" {} ", fold(message));
    let (toks, hot) = normalize(message);
    let medical = |t: &String| {
        looks_like_drug(t)
            || drugs.binary_search(t).is_ok()
            || (t.len() >= 6 && MEDICAL_SUFFIXES.iter().any(|s| t.ends_with(s)))
    };
    if hot || toks.iter().any(medical) {
        return false;
    }
    let words: Vec<&str> = toks.iter().map(String::as_str).collect();
    let joined = format!(" {} ", words.join(" "));
    let health = HEALTH.iter().any(|h| {
        if h.contains(' ') || h.contains('-') {
            lower.contains(h) || joined.contains(h)
        } else if h.len() <= 3 {
            // Short stems match whole words only ("ill", not "will").
            words
                .iter()
                .any(|w| w == h || w.strip_suffix('s') == Some(h))
        } else {
            words.iter().any(|w| w.starts_with(h))
        }
    });
    // The typo-tolerant catalog search ("lukemia") is the slow part: only
    // for what the word lists found nothing in. A symptom the situations
    // know, even not live ("someone fitting on the bus"), is health too.
    !health && detect(message, Matching::Typos).is_empty() && !names_a_symptom(message)
}

/// Does the message name any symptom or situation the triggers know, live
/// or not?
fn names_a_symptom(message: &str) -> bool {
    named_symptoms(message) != Named::Nothing
}

/// [`out_of_scope`], unless the scope gate, reading the message's
/// embedding (when the caller has one), says it is about health.
pub fn out_of_scope_with(message: &str, drugs: &[String], embedding: Option<&[f32]>) -> bool {
    out_of_scope(message, drugs)
        && !crate::ScopeGate::shipped()
            .zip(embedding)
            .is_some_and(|(g, v)| g.keeps(&crate::input(v, message)))
}

/// Keyboard rows: runs of them are key-mashing, not words.
static KEYBOARD_ROWS: Words = Words::new("keyboard_rows");

/// Words that carry no question on their own.
static VAGUE: Words = Words::new("vague");

/// Is the message too short or garbled to answer without guessing?
pub fn unclear(message: &str, drugs: &[String]) -> bool {
    if !detect(message, Matching::Exact).is_empty() {
        return false;
    }
    let (toks, _) = normalize(message);
    let alpha: Vec<&String> = toks
        .iter()
        .filter(|t| t.chars().any(char::is_alphabetic))
        .collect();
    if alpha.is_empty() {
        return true;
    }
    if toks.iter().any(|t| drugs.binary_search(t).is_ok()) {
        return false;
    }
    let mashed = |t: &str| {
        let n = t.chars().count();
        let vowels = t.chars().filter(|c| "aeiouy".contains(*c)).count();
        (n >= 4 && vowels == 0)
            || (n >= 3 && KEYBOARD_ROWS.iter().any(|r| r.contains(t)))
            || t.chars()
                .collect::<Vec<_>>()
                .windows(3)
                .any(|w| w[0] == w[1] && w[1] == w[2])
    };
    let garbled = alpha.iter().filter(|t| mashed(t)).count();
    if garbled * 2 >= alpha.len() {
        return true;
    }
    // "cancr", "cancre": the vague word, misspelled.
    let vague = |t: &str| VAGUE.contains(&t) || edit_distance(t, "cancer", 1) <= 1;
    let meaningful = alpha
        .iter()
        .filter(|t| !is_stopword(t) && !vague(t) && t.chars().count() >= 2)
        .count();
    let numbers = toks.iter().any(|t| t.chars().any(|c| c.is_ascii_digit()));
    meaningful == 0 && !numbers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation(q: &str) -> Option<&'static str> {
        emergency(q).map(|e| e.situation.id)
    }

    #[test]
    fn reports_route_and_questions_about_symptoms_do_not() {
        assert_eq!(
            situation("I have a fever of 101 after chemo yesterday"),
            Some("neutropenic_fever")
        );
        assert_eq!(situation("Why does chemo raise infection risk?"), None);
        assert_eq!(situation("why does chemo cause fever?"), None);
        assert_eq!(
            situation("What should I do if I get a fever during chemo?"),
            None
        );
        assert_eq!(
            situation("I don't have a fever but I feel tired after chemo"),
            None
        );
        assert_eq!(situation("my mom cant breath"), Some("trouble_breathing"));
        assert_eq!(
            situation("help my dad isn't breathing"),
            Some("trouble_breathing")
        );
        assert_eq!(situation("I'm not short of breath at all"), None);
        assert_eq!(
            situation("my back hurts and my legs went numb this morning"),
            Some("spinal_cord_compression")
        );
        assert_eq!(situation("the bleeding won't stop"), Some("bleeding"));
        assert_eq!(situation("the bleeding stopped after an hour"), None);
        assert_eq!(situation("i want to kill myself"), Some("self_harm"));
        assert_eq!(situation("I don't want to die"), None);
        assert_eq!(
            situation("I had a fever during chemo two years ago, will it happen again?"),
            None
        );
    }

    #[test]
    fn a_mixed_message_keeps_its_other_question() {
        let e = emergency("I have a fever after chemo and also what is HER2?").unwrap();
        assert_eq!(e.situation.id, "neutropenic_fever");
        assert_eq!(e.rest.as_deref(), Some("what is HER2?"));
        assert_eq!(e.evidence, vec!["I have a fever after chemo".to_string()]);
    }

    #[test]
    fn dosing_scope_and_unclear() {
        let drugs = vec!["tamoxifen".to_string()];
        assert_eq!(
            dosing(
                "I missed my tamoxifen yesterday, should I take two today?",
                &drugs
            )
            .map(|d| d.kind),
            Some("double")
        );
        assert!(dosing("What is tamoxifen?", &drugs).is_none());
        assert!(dosing("What is high-dose chemotherapy?", &drugs).is_none());
        assert!(out_of_scope(
            "What's the weather in Paris tomorrow?",
            &drugs
        ));
        assert!(!out_of_scope("How much sleep do adults need?", &drugs));
        assert!(!out_of_scope("what is HCC", &drugs));
        assert!(unclear("asdf qwer", &drugs));
        assert!(unclear("cancer?", &drugs));
        assert!(!unclear("melanoma", &drugs));
    }
}
