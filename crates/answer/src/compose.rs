//! Extractive composition: retrieved passages → a sectioned answer whose
//! every body sentence is a verbatim, cited sentence of a passage.
//!
//! Sentences are scored by the rank of their passage, how many of the
//! question's words they contain, whether they speak to the question's intent
//! and cancer type, and readability; the most concise strong sentence becomes
//! the bottom line, the rest are sorted into the intent's sections until the
//! word budget is spent. Within a section, sentences keep their source order.

use std::collections::HashSet;

use sextant_core::answer::NOTICE;
use sextant_core::text::{normalize_ws, sentence_spans};
use sextant_core::{Answer, AnswerKind, CitedSentence, Passage, Section, SourceRef};
use sextant_index::Hit;

use crate::analyze::{Analysis, Intent};
use crate::profile::{profile, Profile, SectionSpec};
use crate::{Engine, Result};

/// Body word budget (sections, without the bottom line).
pub const MAX_BODY_WORDS: usize = 260;
/// Below this many body words (with the bottom line), weaker sentences are let in.
pub const MIN_BODY_WORDS: usize = 120;
/// Sentences per section.
const MAX_PER_SECTION: usize = 4;
/// Most a sentence loses for being hard to read (grade 16 and up; nothing
/// at grade 6 or below). Tuned with `sextant eval medquad`: more costs
/// answers their page (BENCHMARKS.md).
const READABILITY_WEIGHT: f32 = 0.25;
/// Candidates weaker than this share of the best are not used.
const RELATIVE_FLOOR: f32 = 0.45;

/// One candidate sentence.
#[derive(Debug, Clone)]
struct Candidate {
    text: String,
    norm: String,
    /// Rank of its passage among the retrieved ones, and its position there.
    rank: usize,
    pos: usize,
    score: f32,
    topical: bool,
    words: usize,
    word_set: HashSet<String>,
    /// Indices into the retrieved passages whose sentences include it.
    passages: Vec<usize>,
}

/// Words whose presence says little about relevance.
fn is_generic(stem: &str) -> bool {
    matches!(
        stem,
        "cancer"
            | "tumor"
            | "option"
            | "patient"
            | "peopl"
            | "person"
            | "treatment"
            | "adult"
            | "type"
    )
}

/// Words that make a run of text a statement rather than a heading or a
/// list fragment ("Yellowing of the skin.").
fn has_verb(lower_words: &[String]) -> bool {
    const VERBS: &[&str] = &[
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "may",
        "can",
        "could",
        "will",
        "would",
        "should",
        "might",
        "must",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "include",
        "includes",
        "cause",
        "causes",
        "help",
        "helps",
        "make",
        "makes",
        "use",
        "uses",
        "need",
        "needs",
        "get",
        "gets",
        "depend",
        "depends",
        "affect",
        "affects",
        "show",
        "shows",
        "form",
        "forms",
        "spread",
        "spreads",
        "grow",
        "grows",
        "begin",
        "begins",
        "start",
        "starts",
        "tell",
        "tells",
        "mean",
        "means",
        "occur",
        "occurs",
        "increase",
        "increases",
        "lower",
        "lowers",
        "find",
        "kill",
        "kills",
        "remove",
        "removes",
        "work",
        "works",
        "become",
        "becomes",
        "contain",
        "contains",
        "keep",
        "keeps",
        "give",
        "gives",
        "take",
        "takes",
        "stop",
        "stops",
        "block",
        "blocks",
        "check",
    ];
    lower_words
        .iter()
        .any(|w| VERBS.contains(&w.as_str()) || (w.len() > 4 && w.ends_with("ed")))
}

fn usable(s: &str, words: usize) -> bool {
    // A list of options ("... may include: a; b; c.") reads as one
    // statement and may run longer than a sentence.
    let max = if s.contains(": ") && s.contains("; ") {
        110
    } else {
        80
    };
    if !(5..=max).contains(&words) || !s.ends_with(['.', '!', '?']) {
        return false;
    }
    if !has_verb(&sextant_core::text::words(s)) {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_uppercase() || first.is_ascii_digit()) {
        return false;
    }
    let l = s.to_lowercase();
    const NOISE: &[&str] = &[
        "http",
        "www.",
        "learn more",
        "click",
        "see the",
        "this summary",
        "pdq",
        "go to ",
        "table ",
        "figure",
        "the following",
        "below",
        "above",
        "(see",
        "see also",
        "for more information",
        "listed",
        "search",
        "this page",
        "this section",
        "described in",
        "editorial board",
        "magnitude of effect",
        "study design",
        "internal validity",
        "external validity",
        "consistency:",
        "level of evidence",
        "any of these",
        "these problems",
        "these symptoms",
        "these signs",
        "as follows",
        "learn about",
        ", see ",
        "read about",
        "visit ",
        "call 1-800",
        "cancer information service",
        // Reports of single studies speak to clinicians, not patients.
        "randomly assigned",
        "randomized",
        "randomised",
        "phase iii",
        "phase ii ",
        "hazard ratio",
        "confidence interval",
        "in the era of",
        " era ",
        "study included",
        "trial included",
        "enrolled",
        "studies evaluated",
        "study evaluated",
        "[level",
    ];
    // Quoted speech, first-person stories and rhetorical questions read
    // wrongly out of their page.
    let quoted = s.contains(['“', '”', '"']);
    let first_person = s.starts_with("I ") || s.contains(" I ") || s.contains(" I'");
    // "Whether the cancer has spread." is a list item, not a statement.
    !s.starts_with("Whether ")
        && !NOISE.iter().any(|n| l.contains(n))
        && !s.starts_with("See ")
        && !quoted
        && !first_person
        && !s.ends_with('?')
}

/// Words that need the sentence before them to make sense.
fn needs_context(s: &str) -> bool {
    const LEADS: &[&str] = &[
        "Whether ",
        "This ",
        "These ",
        "They ",
        "It ",
        "Its ",
        "Such ",
        "Both ",
        "Other ",
        "Another ",
        "Also",
        "However",
        "In addition",
        "Because of this",
        "Those ",
        "And ",
        "But ",
        "Or ",
        "So ",
        "Then ",
        "For example",
        "Instead",
        "Still",
        "Yet ",
        "Thus",
        "Therefore",
        "Of these",
        "In this",
        "He ",
        "She ",
        "Their ",
    ];
    LEADS.iter().any(|l| s.starts_with(l))
}

fn section_of(sections: &[SectionSpec], lower: &str) -> usize {
    for (i, s) in sections.iter().enumerate() {
        if s.cues.is_empty() {
            return i;
        }
        if s.cues.iter().any(|c| lower.contains(c)) && !s.not.iter().any(|n| lower.contains(n)) {
            return i;
        }
    }
    sections.len() - 1
}

/// Composes the answer to an analyzed question from its retrieved passages.
/// `strength` is the dense evidence ([`Engine::evidence_strength`]); below
/// [`crate::ABSTAIN_BELOW`] the reply is `no_evidence`.
pub fn compose(
    engine: &Engine,
    a: &Analysis,
    hits: &[Hit],
    strength: Option<f32>,
) -> Result<Answer> {
    let kb = engine.kb();
    let prof = profile(a.intent);
    let mut passages: Vec<(Passage, f32)> = Vec::with_capacity(hits.len());
    for h in hits {
        passages.push((kb.passage(h.ord)?, h.score));
    }
    let bm25 = kb.bm25();
    let type_stems: HashSet<String> = a
        .cancer_types
        .iter()
        .flat_map(|c| {
            c.aliases
                .iter()
                .map(|x| x.trim_start_matches('~'))
                .chain(c.abbreviations.iter().copied())
        })
        .flat_map(|x| bm25.analyze(x))
        .filter(|s| !is_generic(s))
        .collect();
    let q_stems: Vec<String> = {
        let mut v: Vec<String> = bm25
            .analyze(&a.content_words.join(" "))
            .into_iter()
            .filter(|s| !is_generic(s) && !type_stems.contains(s))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let asked: Vec<&str> = a.cancer_types.iter().map(|c| c.id).collect();
    let top_score = passages.first().map_or(1.0, |p| p.1.max(f32::EPSILON));

    // Gather candidate sentences.
    let mut cands: Vec<Candidate> = Vec::new();
    for (rank, (p, score)) in passages.iter().enumerate() {
        let page = kb.page(p.page);
        // PDQ headings are often whole statements of the topic ("Certain
        // factors affect prognosis"); a passage under such a heading is on topic.
        let section_lower = format!(" {} ", p.section_label().to_lowercase());
        let section_topical = prof.topic.iter().any(|t| section_lower.contains(t));
        // A drug question is best answered by the drug's own page.
        let drug_page =
            matches!((&a.drug, page), (Some(d), Some(pg)) if crate::is_page_of_drug(pg, d));
        let page_type_match = asked.is_empty()
            || page.is_some_and(|pg| pg.cancer_types.iter().any(|t| asked.contains(&t.as_str())));
        for (pos, span) in sentence_spans(&p.text).into_iter().enumerate() {
            let text = &p.text[span];
            let norm = normalize_ws(text);
            if let Some(c) = cands.iter_mut().find(|c| c.norm == norm) {
                if !c.passages.contains(&rank) {
                    c.passages.push(rank);
                }
                continue;
            }
            let words = norm.split_whitespace().count();
            if !usable(&norm, words) {
                continue;
            }
            if !a.focus.is_empty() {
                let l = norm.to_lowercase();
                if !a.focus.iter().any(|f| l.contains(f)) {
                    continue;
                }
            }
            let mut stems: HashSet<String> = bm25.analyze(&norm).into_iter().collect();
            // "Stage IIB" answers a question about stage II.
            for v in &a.stage_variants {
                if stems.contains(v) {
                    stems.insert(v[..v.len() - 1].to_string());
                }
            }
            let overlap = if q_stems.is_empty() {
                0.0
            } else {
                q_stems.iter().filter(|s| stems.contains(*s)).count() as f32 / q_stems.len() as f32
            };
            let lower = format!(" {} ", norm.to_lowercase());
            let topical = prof.topic.iter().any(|t| lower.contains(t));
            let mentions_type = type_stems.iter().any(|s| stems.contains(s));
            // Off-topic sentences from lower-ranked passages are padding.
            if overlap == 0.0 && !topical && !section_topical && rank >= 2 {
                continue;
            }
            let mut s =
                0.40 * (score / top_score) + 0.35 * overlap + if topical { 0.15 } else { 0.0 };
            if section_topical {
                s += 0.08;
            }
            // "What is X?" is best answered by a sentence that says what X is.
            if a.intent == Intent::General
                && mentions_type
                && (lower.contains(" is a ")
                    || lower.contains(" is cancer ")
                    || lower.contains(" are a "))
            {
                s += 0.12;
            }
            if mentions_type || (page_type_match && !asked.is_empty()) {
                s += 0.10;
            }
            if needs_context(&norm) {
                s -= 0.08;
            }
            if drug_page {
                s += 0.15;
            }
            if page.is_some_and(|pg| pg.audience == sextant_core::Audience::Patient) {
                s += 0.08;
            }
            if lower.contains(" this ") || lower.contains(" these ") {
                s -= 0.05;
            }
            if !(8..=45).contains(&words) {
                s -= 0.08;
            }
            // Between equally relevant sentences, the plainer one: up to
            // 0.06 off for a sentence far above grade 8.
            if let Some(g) = sextant_core::readability::grade(&norm) {
                s -= ((g - 6.0).max(0.0) / 10.0).min(1.0) * READABILITY_WEIGHT;
            }
            cands.push(Candidate {
                word_set: sextant_core::text::words(&norm).into_iter().collect(),
                text: text.to_string(),
                norm,
                rank,
                pos,
                score: s,
                topical,
                words,
                passages: vec![rank],
            });
        }
    }
    cands.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(x.rank.cmp(&y.rank))
            .then(x.pos.cmp(&y.pos))
    });

    // Evidence: the top passages speak of what was asked, either by being
    // about the cancer type named or by containing most of the question's
    // words (counting the intent's own words, "prognosis" for "outlook").
    let evidence = {
        let top: Vec<&Passage> = passages.iter().take(3).map(|(p, _)| p).collect();
        let type_match = !asked.is_empty()
            && top.iter().any(|p| {
                kb.page(p.page)
                    .is_some_and(|pg| pg.cancer_types.iter().any(|t| asked.contains(&t.as_str())))
            });
        let mut stems: HashSet<String> = HashSet::new();
        for p in &top {
            stems.extend(bm25.analyze(&p.text));
            stems.extend(bm25.analyze(&p.section_label()));
        }
        let found = q_stems.iter().filter(|s| stems.contains(*s)).count();
        let intent_found = prof
            .expansion
            .iter()
            .flat_map(|e| bm25.analyze(e))
            .any(|s| stems.contains(&s));
        let needed = q_stems.len().div_ceil(2);
        // A question with no words of its own ("what is it?") has nothing to look up.
        type_match || (!q_stems.is_empty() && found + usize::from(intent_found) >= needed.max(1))
    };
    // A question that names a cancer type the top passages are about has
    // its evidence; the embedding's similarity, which typos ("lukemia")
    // lower, only decides for questions that name none.
    let weak = asked.is_empty() && strength.is_some_and(|s| s < crate::ABSTAIN_BELOW);
    if cands.is_empty() || !evidence || weak {
        return Ok(no_evidence(engine, a, &passages));
    }
    let best = cands[0].score.max(f32::EPSILON);

    // The bottom line: the strongest concise, on-topic sentence.
    let bottom_idx = cands
        .iter()
        .position(|c| {
            c.topical && c.words <= 35 && !needs_context(&c.text) && c.score >= best * 0.7
        })
        .unwrap_or(0);
    let bottom = cands.remove(bottom_idx);

    // Fill sections.
    let n_sections = prof.sections.len();
    let mut chosen: Vec<Vec<Candidate>> = vec![Vec::new(); n_sections];
    let mut used_words = 0;
    let mut picked: Vec<&Candidate> = vec![&bottom];
    // A first pass takes only strong sentences; later passes relax the bar
    // until the answer has two sections and enough to read.
    for (floor, catch_all_floor, catch_all_cap) in
        [(RELATIVE_FLOOR, 0.6, 2), (RELATIVE_FLOOR * 0.7, 0.45, 3)]
    {
        for c in &cands {
            if c.score < best * floor || used_words + c.words > MAX_BODY_WORDS {
                continue;
            }
            if picked
                .iter()
                .any(|p| p.norm == c.norm || similar(&p.word_set, &c.word_set))
            {
                continue;
            }
            let lower = format!(" {} ", c.norm.to_lowercase());
            let sec = section_of(prof.sections, &lower);
            // The catch-all section takes only a few strong sentences.
            let catch_all = prof.sections[sec].cues.is_empty();
            let cap = if catch_all {
                catch_all_cap
            } else {
                MAX_PER_SECTION
            };
            if chosen[sec].len() >= cap || (catch_all && c.score < best * catch_all_floor) {
                continue;
            }
            chosen[sec].push(c.clone());
            picked.push(c);
            used_words += c.words;
        }
        let sections_filled = chosen.iter().filter(|s| !s.is_empty()).count();
        if sections_filled >= 2 && used_words + bottom.words >= MIN_BODY_WORDS {
            break;
        }
    }

    // Sources in order of first citation.
    let mut source_ranks: Vec<usize> = Vec::new();
    let mut cite = |c: &Candidate| -> CitedSentence {
        let mut ids = Vec::new();
        for &r in c.passages.iter().take(3) {
            if !source_ranks.contains(&r) {
                source_ranks.push(r);
            }
            ids.push(passages[r].0.id.clone());
        }
        CitedSentence {
            text: c.text.clone(),
            citations: ids,
        }
    };
    let mut sections = Vec::new();
    for (i, mut list) in chosen.into_iter().enumerate() {
        if list.is_empty() {
            continue;
        }
        list.sort_by_key(|c| (c.rank, c.pos));
        sections.push(Section {
            heading: prof.sections[i].heading.to_string(),
            sentences: list.iter().map(&mut cite).collect(),
        });
    }
    let bottom_line = vec![cite(&bottom)];
    let sources = source_ranks
        .iter()
        .map(|&r| source_ref(engine, &passages[r].0))
        .collect();
    let mut answer = shell(a, AnswerKind::Answer);
    answer.sections = sections;
    answer.bottom_line = bottom_line;
    answer.sources = sources;
    Ok(answer)
}

/// An answer with the parts every reply to an analyzed question has
/// (question, kind, title, cancer types, opener, questions for the care
/// team, notice) and no body.
pub(crate) fn shell(a: &Analysis, kind: AnswerKind) -> Answer {
    let prof = profile(a.intent);
    Answer {
        question: a.question.clone(),
        kind,
        title: title(prof, a),
        cancer_types: type_names(a),
        opener: prof.opener.to_string(),
        questions_to_ask: questions(prof, a),
        notice: NOTICE.to_string(),
        ..Answer::default()
    }
}

/// Two sentences that share most of their words say the same thing.
fn similar(a: &HashSet<String>, b: &HashSet<String>) -> bool {
    let inter = a.intersection(b).count() as f32;
    let union = a.union(b).count().max(1) as f32;
    inter / union > 0.75
}

pub(crate) fn source_ref(engine: &Engine, p: &Passage) -> SourceRef {
    let page = engine.kb().page(p.page);
    let base = page.map_or(String::new(), |pg| pg.url.clone());
    let url = match &p.fragment {
        Some(f) => format!("{base}#{f}"),
        None => base,
    };
    SourceRef {
        id: p.id.clone(),
        title: page.map_or(String::new(), |pg| pg.title.clone()),
        url,
        section: p.section_label(),
        last_reviewed: page.and_then(|pg| pg.last_reviewed.clone()),
        passage: p.text.clone(),
    }
}

/// The cancer types to show: those the question names. A question that
/// names none is not tagged from its sources: a coping question answered
/// from a breast cancer page is not about breast cancer.
fn type_names(a: &Analysis) -> Vec<String> {
    a.cancer_types.iter().map(|c| c.name.to_string()).collect()
}

/// The cancer named in titles and questions: "metastatic liver cancer"; for
/// a question that names no cancer, the treatment it names ("chemotherapy").
fn cancer_of(a: &Analysis) -> String {
    let Some(first) = a.cancer_types.first() else {
        let lower = a.question.to_lowercase();
        const TREATMENTS: &[&str] = &[
            "chemotherapy",
            "radiation therapy",
            "immunotherapy",
            "targeted therapy",
            "hormone therapy",
            "stem cell transplant",
            "surgery",
            "chemo",
            "radiation",
        ];
        return match TREATMENTS.iter().find(|t| lower.contains(*t)) {
            Some(&"chemo") => "chemotherapy".to_string(),
            Some(&"radiation") => "radiation therapy".to_string(),
            Some(t) => t.to_string(),
            None => "cancer".to_string(),
        };
    };
    let lower = a.question.to_lowercase();
    let modifier = [
        "metastatic",
        "recurrent",
        "advanced",
        "early-stage",
        "childhood",
    ]
    .into_iter()
    .find(|m| lower.contains(m));
    match modifier {
        Some(m) => format!("{m} {}", first.name),
        None => first.name.to_string(),
    }
}

fn title(prof: &Profile, a: &Analysis) -> String {
    // "Treatment options for chemotherapy" reads wrongly: a treatment
    // question that names no cancer is about the treatment itself.
    if a.cancer_types.is_empty() && matches!(a.intent, Intent::Treatment | Intent::Surgery) {
        return capitalize(&format!("About {}", cancer_of(a)));
    }
    capitalize(&fill(prof.title, a))
}

fn questions(prof: &Profile, a: &Analysis) -> Vec<String> {
    prof.questions.iter().map(|q| fill(q, a)).collect()
}

/// A profile template with `{c}` (the cancer, see [`cancer_of`]) and `{d}`
/// (the drug) filled in.
fn fill(template: &str, a: &Analysis) -> String {
    let d = a
        .drug
        .as_deref()
        .map(capitalize)
        .unwrap_or_else(|| "this drug".to_string());
    template.replace("{c}", &cancer_of(a)).replace("{d}", &d)
}

fn capitalize(s: &str) -> String {
    let mut ch = s.chars();
    match ch.next() {
        Some(f) => f.to_uppercase().collect::<String>() + ch.as_str(),
        None => String::new(),
    }
}

fn no_evidence(engine: &Engine, a: &Analysis, passages: &[(Passage, f32)]) -> Answer {
    let prof = profile(if a.cancer_types.is_empty() {
        Intent::General
    } else {
        a.intent
    });
    Answer {
        question: a.question.clone(),
        kind: AnswerKind::NoEvidence,
        cancer_types: type_names(a),
        title: "Our sources do not answer this question".to_string(),
        opener: "Sextant's sources do not cover this question well enough to answer it, and rather than stitch together sentences that do not fit, it lists the nearest topics it found. Your doctor, nurse or pharmacist can answer it for your situation.".to_string(),
        questions_to_ask: questions(prof, a),
        sources: passages.iter().take(3).map(|(p, _)| source_ref(engine, p)).collect(),
        notice: NOTICE.to_string(),
        ..Answer::default()
    }
}
