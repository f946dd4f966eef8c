//! Extractive composition: retrieved passages → a sectioned answer whose
//! every body sentence is a verbatim, cited sentence of a passage.
//!
//! Sentences are scored by the rank of their passage, how many of the
//! question's words they contain, whether they speak to the question's intent
//! and cancer type, and readability; the most concise strong sentence becomes
//! the bottom line, the rest are sorted into the intent's sections until the
//! word budget is spent. Within a section, sentences keep their source order.

use std::collections::{HashMap, HashSet};

use sextant_core::answer::{NOTICE, SHORT_ANSWER};
use sextant_core::text::{normalize_ws, sentence_spans};
use sextant_core::{Answer, AnswerKind, Audience, CitedSentence, Passage, Section, SourceRef};
use sextant_index::Hit;

use crate::analyze::{Analysis, Intent};
use crate::asked::{answers_form, asked};
use crate::profile::{profile, Profile, SectionSpec};
use crate::quality::{self, needs_context, Context};
use crate::sentence_model::{self, Features, FEATURES};
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
/// A second sentence joins the short answer when its probability of
/// answering is at least this share of the first's.
const SECOND_ANSWER_SHARE: f32 = 0.92;
/// ...and the short answer stays within this many words with it.
const SHORT_MAX_WORDS: usize = 60;

/// One candidate sentence.
#[derive(Debug, Clone)]
struct Candidate {
    text: String,
    norm: String,
    /// Rank of its passage among the retrieved ones, and its position there.
    rank: usize,
    pos: usize,
    score: f32,
    /// How well it answers what is asked (chooses the short answer and the
    /// bottom line); `score` is how well it fits the topic (fills sections).
    answers: f32,
    /// It needs the sentence before it.
    dangling: bool,
    /// It has some of the asking clause's own words.
    on_clause: bool,
    /// It could be the bottom line: no definition, figure, fragment or
    /// dangling start, unless the question asks for one.
    stands_alone: bool,
    topical: bool,
    words: usize,
    word_set: HashSet<String>,
    /// Indices into the retrieved passages whose sentences include it.
    passages: Vec<usize>,
    /// What the sentence model reads.
    features: Features,
}

/// Words whose presence says little about relevance.
pub(crate) fn is_generic(stem: &str) -> bool {
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
    if !quality::has_verb(s) {
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
        "find clinical trials",
        "check for trials",
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

/// What [`compose`] works from: the passages (retrieved, then those
/// [`Engine::locate`] found) and their candidate sentences, best fitting
/// the topic first.
struct Gathered {
    passages: Vec<(Passage, f32)>,
    cands: Vec<Candidate>,
    prof: &'static Profile,
    q_stems: Vec<String>,
    clause_stems: Vec<String>,
    idf: HashMap<String, f32>,
    asked_types: Vec<&'static str>,
}

fn gather(engine: &Engine, a: &Analysis, hits: &[Hit]) -> Result<Gathered> {
    let kb = engine.kb();
    let prof = profile(a.intent);
    let asks = asked(&a.question);
    let mut asked_ctx = quality::contexts(&a.question);
    if a.about_child {
        asked_ctx.insert(Context::Child);
    }
    let mut passages: Vec<(Passage, f32)> = Vec::with_capacity(hits.len());
    let mut ords: Vec<u32> = Vec::with_capacity(hits.len());
    for h in hits {
        passages.push((kb.passage(h.ord)?, h.score));
        ords.push(h.ord);
    }
    // The sections of the same pages that hold the asking clause's words.
    for h in engine.locate(a, hits)? {
        passages.push((kb.passage(h.ord)?, h.score));
        ords.push(h.ord);
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
    let own_stems = |text: &str| -> Vec<String> {
        let mut v: Vec<String> = bm25
            .analyze(text)
            .into_iter()
            .filter(|s| {
                !is_generic(s) && !type_stems.contains(s) && !sextant_core::text::is_stopword(s)
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let q_stems: Vec<String> = own_stems(&a.content_words.join(" "));
    // The clause that asks ("... Is this normal at this point?"): in a long,
    // personal question, its words say what is asked better than the story.
    let clause_stems: Vec<String> = own_stems(&asks.clause);
    let idf: HashMap<String, f32> = q_stems
        .iter()
        .chain(&clause_stems)
        .map(|s| (s.clone(), bm25.idf(s).max(0.1)))
        .collect();
    let weighted = |want: &[String], have: &HashSet<String>| -> f32 {
        let total: f32 = want.iter().map(|s| idf[s.as_str()]).sum();
        if total <= 0.0 {
            return 0.0;
        }
        want.iter()
            .filter(|s| have.contains(*s))
            .map(|s| idf[s.as_str()])
            .sum::<f32>()
            / total
    };
    let asked_types: Vec<&str> = a.cancer_types.iter().map(|c| c.id).collect();
    let top_score = passages.first().map_or(1.0, |p| p.1.max(f32::EPSILON));

    // Gather candidate sentences.
    let mut cands: Vec<Candidate> = Vec::new();
    for (rank, (p, score)) in passages.iter().enumerate() {
        let page = kb.page(p.page);
        // Research news speaks of single studies, for the news.
        if page.is_some_and(|pg| pg.kind == sextant_core::PageKind::News)
            && a.intent != Intent::Research
            && !asked_ctx.contains(Context::Research)
        {
            continue;
        }
        // Childhood-cancer pages speak to a child's parents ("your child's
        // chances"): not to an adult patient, even one whose question
        // mentions children.
        if page.is_some_and(crate::is_child_page) && !a.about_child {
            continue;
        }
        let professional = page.is_some_and(|pg| pg.audience == Audience::HealthProfessional);
        // PDQ headings are often whole statements of the topic ("Certain
        // factors affect prognosis"); a passage under such a heading is on topic.
        let section_lower = format!(" {} ", p.section_label().to_lowercase());
        let section_topical = prof.topic.iter().any(|t| section_lower.contains(t));
        // A section about another reader ("Treatment during pregnancy",
        // "Childhood ...") puts every sentence under it in that context.
        let section_ctx = quality::contexts(&p.section_label());
        // A drug question is best answered by the drug's own page.
        let drug_page =
            matches!((&a.drug, page), (Some(d), Some(pg)) if crate::is_page_of_drug(pg, d));
        let page_type_match = asked_types.is_empty()
            || page.is_some_and(|pg| {
                pg.cancer_types
                    .iter()
                    .any(|t| asked_types.contains(&t.as_str()))
            });
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
            // Written for another reader or situation than the asker's.
            let mut ctx = quality::contexts(&norm);
            if let Some(c) = section_ctx.iter().next() {
                ctx.insert(c);
            }
            if !ctx.beyond(asked_ctx).is_empty() {
                continue;
            }
            // Trial figures from a clinicians' page.
            if professional && quality::is_statistic(&norm) && !asks.wants_figure() {
                continue;
            }
            let mut stems: HashSet<String> = bm25.analyze(&norm).into_iter().collect();
            // "Stage IIB" answers a question about stage II.
            for v in &a.stage_variants {
                if stems.contains(v) {
                    stems.insert(v[..v.len() - 1].to_string());
                }
            }
            let overlap = weighted(&q_stems, &stems);
            let clause_overlap = weighted(&clause_stems, &stems);
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
            if mentions_type || (page_type_match && !asked_types.is_empty()) {
                s += 0.10;
            }
            let dangling = needs_context(&norm);
            if dangling {
                s -= 0.08;
            }
            if drug_page {
                s += 0.15;
            }
            if page.is_some_and(|pg| pg.audience == Audience::Patient) {
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
            // How well it answers what is asked: the learned sentence model
            // over the asking clause's words, the whole question's, the form
            // of answer asked for, the topic, and how it reads.
            let stands_alone = quality::bottom_line_flaw(&norm, &asks).is_none();
            let mut f: Features = [0.0; FEATURES.len()];
            let mut set = |name: &str, v: f32| f[sentence_model::feature(name)] = v;
            set("bias", 1.0);
            set("retrieval", score / top_score);
            set("overlap", overlap);
            set("clause_overlap", clause_overlap);
            // The kind of thing asked for counts on the topic asked about:
            // "include" in a list of signs does not answer "what are the
            // treatment options".
            let form = answers_form(asks.form, &norm) && (topical || clause_overlap > 0.0);
            set("form", f32::from(u8::from(form)));
            set("topical", f32::from(u8::from(topical)));
            set("section_topical", f32::from(u8::from(section_topical)));
            let typed = mentions_type || (page_type_match && !asked_types.is_empty());
            set("type", f32::from(u8::from(typed)));
            let patient = page.is_some_and(|pg| pg.audience == Audience::Patient);
            set("patient", f32::from(u8::from(patient)));
            set("short", f32::from(u8::from(words < 8)));
            let hard = sextant_core::readability::grade(&norm)
                .map_or(0.0, |g| ((g - 6.0).max(0.0) / 10.0).min(1.0));
            set("hard_to_read", hard);
            set("stands_alone", f32::from(u8::from(stands_alone)));
            set("dangling", f32::from(u8::from(dangling)));
            set(
                "definition",
                f32::from(u8::from(quality::is_definition(&norm))),
            );
            set(
                "statistic",
                f32::from(u8::from(quality::is_statistic(&norm))),
            );
            set("lead", f32::from(u8::from(pos == 0)));
            set("located", f32::from(u8::from(rank >= hits.len())));
            set("drug_page", f32::from(u8::from(drug_page)));
            set("length", (words as f32 / 40.0).min(1.5));
            let answers = sentence_model::Model::shipped_lexical().logit(&f);
            cands.push(Candidate {
                word_set: sextant_core::text::words(&norm).into_iter().collect(),
                text: text.to_string(),
                norm,
                rank,
                pos,
                score: s,
                answers,
                dangling,
                on_clause: clause_overlap > 0.0,
                stands_alone,
                topical,
                words,
                features: f,
                passages: vec![rank],
            });
        }
    }
    semantic_features(engine, a, &asks.clause, &ords, &mut cands)?;
    cands.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then(x.rank.cmp(&y.rank))
            .then(x.pos.cmp(&y.pos))
    });
    Ok(Gathered {
        passages,
        cands,
        prof,
        q_stems,
        clause_stems,
        idf,
        asked_types,
    })
}

/// Sets the candidates' embedding features (cosines with the question and
/// with its asking clause) and scores them with the full sentence model.
/// The sentences' vectors come from the knowledge base (`sentences.i8`,
/// made at ingest); one it lacks is embedded here. Without the embedding
/// model the keyword-only model's scores stand.
fn semantic_features(
    engine: &Engine,
    a: &Analysis,
    clause: &str,
    ords: &[u32],
    cands: &mut [Candidate],
) -> Result<()> {
    if cands.is_empty() || !engine.dense_ready() {
        return Ok(());
    }
    let (Some(e), Some(qv)) = (engine.embedder(), engine.question_vector(&a.question)?) else {
        return Ok(());
    };
    let cv = engine
        .question_vector(clause)?
        .unwrap_or_else(|| qv.clone());
    let stored = engine.kb().sentence_vectors();
    let cosines = |c: &Candidate| -> Option<(f32, f32)> {
        let row = stored?.row(*ords.get(c.rank)? as usize, c.pos, &c.norm)?;
        Some((row.dot(&qv), row.dot(&cv)))
    };
    let mut found: Vec<Option<(f32, f32)>> = cands.iter().map(cosines).collect();
    let missing: Vec<usize> = (0..cands.len()).filter(|&i| found[i].is_none()).collect();
    if !missing.is_empty() {
        let texts: Vec<&str> = missing.iter().map(|&i| cands[i].norm.as_str()).collect();
        let vecs = e.embed(&texts, &|_| {})?;
        for (k, &i) in missing.iter().enumerate() {
            let v = &vecs[k * qv.len()..(k + 1) * qv.len()];
            found[i] = Some((sextant_embed::dot(&qv, v), sextant_embed::dot(&cv, v)));
        }
    }
    let best = found.iter().flatten().map(|x| x.1).fold(f32::MIN, f32::max);
    let model = sentence_model::Model::shipped();
    for (c, (q, k)) in cands.iter_mut().zip(found.into_iter().flatten()) {
        c.features[sentence_model::feature("semantic")] = q;
        c.features[sentence_model::feature("clause_semantic")] = k;
        c.features[sentence_model::feature("semantic_gap")] = k - best;
        c.answers = model.logit(&c.features);
    }
    Ok(())
}

/// Every candidate sentence of the passages retrieved for `a` (or, with
/// `hits`, of those), with the features the sentence model reads, best
/// fitting the topic first: what `sextant eval answers` writes out for
/// reviewers to mark and fits the model on.
pub fn candidate_features(
    engine: &Engine,
    a: &Analysis,
    hits: &[Hit],
) -> Result<Vec<(String, Features)>> {
    Ok(gather(engine, a, hits)?
        .cands
        .into_iter()
        .map(|c| (c.norm, c.features))
        .collect())
}

/// Composes the answer to an analyzed question from its retrieved passages.
/// `strength` is the dense evidence ([`Engine::evidence_strength`]); below
/// [`crate::ABSTAIN_BELOW`] the reply is `no_evidence`.
///
/// The answer opens with what answers the question ([`SHORT_ANSWER`]): the
/// sentence that best answers what is asked ([`crate::asked`]), not merely
/// one on the topic, and the bottom line is that sentence. Sentences for
/// another reader (a child, a pregnancy, clinicians' trial statistics,
/// research news) are left out unless the question is about them, and a
/// sentence that needs the one before it is shown only right after it
/// ([`crate::quality`]).
pub fn compose(
    engine: &Engine,
    a: &Analysis,
    hits: &[Hit],
    strength: Option<f32>,
) -> Result<Answer> {
    let kb = engine.kb();
    let bm25 = kb.bm25();
    let Gathered {
        passages,
        mut cands,
        prof,
        q_stems,
        clause_stems,
        idf,
        asked_types,
    } = gather(engine, a, hits)?;

    // Evidence: the top passages speak of what was asked, either by being
    // about the cancer type named or by containing most of the question's
    // words (counting the intent's own words, "prognosis" for "outlook").
    // A long, personal question is judged by the words of the clause that
    // asks: the story around it ("my husband", "last week") is not what the
    // sources need to cover.
    let evidence = {
        let top: Vec<&Passage> = passages.iter().take(3).map(|(p, _)| p).collect();
        let type_match = !asked_types.is_empty()
            && top.iter().any(|p| {
                kb.page(p.page).is_some_and(|pg| {
                    pg.cancer_types
                        .iter()
                        .any(|t| asked_types.contains(&t.as_str()))
                })
            });
        let mut stems: HashSet<String> = HashSet::new();
        for p in &top {
            stems.extend(bm25.analyze(&p.text));
            stems.extend(bm25.analyze(&p.section_label()));
        }
        let long = sentence_spans(&a.question).len() >= 2 && clause_stems.len() >= 2;
        let judged = if long { &clause_stems } else { &q_stems };
        let found = judged.iter().filter(|s| stems.contains(*s)).count();
        let intent_found = prof
            .expansion
            .iter()
            .flat_map(|e| bm25.analyze(e))
            .any(|s| stems.contains(&s));
        let needed = judged.len().div_ceil(2);
        // A question with no words of its own ("what is it?") has nothing to look up.
        type_match || (!judged.is_empty() && found + usize::from(intent_found) >= needed.max(1))
    };
    // A question that names a cancer type the top passages are about has
    // its evidence; the embedding's similarity, which typos ("lukemia")
    // lower, only decides for questions that name none.
    // A top page titled by the question's rarest word ("Tamoxifen Citrate"
    // for "side effects of tamoxifen") covers it, whatever the embedding says.
    let title_match = q_stems
        .iter()
        .max_by(|x, y| idf[x.as_str()].total_cmp(&idf[y.as_str()]))
        .is_some_and(|rare| {
            passages.iter().take(3).any(|(p, _)| {
                kb.page(p.page)
                    .is_some_and(|pg| bm25.analyze(&pg.title).contains(rare))
            })
        });
    let weak = asked_types.is_empty()
        && !title_match
        && strength.is_some_and(|s| s < crate::ABSTAIN_BELOW);
    if cands.is_empty() || !evidence || weak {
        return Ok(no_evidence(engine, a, &passages));
    }
    let best = cands[0].score.max(f32::EPSILON);

    // The bottom line: the sentence that best answers what is asked, and
    // that a reader can take on its own (not a definition, a figure or a
    // fragment unless those are asked for).
    let fit = |c: &Candidate| {
        c.stands_alone
            && (c.words <= 40 || (c.norm.contains(": ") && c.norm.contains("; ")))
            && c.score >= best * RELATIVE_FLOOR
    };
    // Only a sentence with some of the asking clause's words can answer it;
    // when none has any, the sentence that best fits the topic leads.
    let any_on_clause = cands.iter().any(|c| fit(c) && c.on_clause);
    // Among the sentences about as likely to answer as the best, the
    // plainest: one for patients, then the lowest reading grade.
    let eligible = |c: &Candidate| fit(c) && (c.on_clause || !any_on_clause);
    let best_p = cands
        .iter()
        .filter(|c| eligible(c))
        .map(|c| sentence_model::probability(c.answers))
        .fold(0.0f32, f32::max);
    let plainness = |c: &Candidate| {
        c.features[sentence_model::feature("patient")]
            - c.features[sentence_model::feature("hard_to_read")]
    };
    let bottom_idx = cands
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            eligible(c)
                && sentence_model::probability(c.answers) >= best_p * sentence_model::PLAIN_MARGIN
        })
        .max_by(|(_, x), (_, y)| {
            plainness(x)
                .total_cmp(&plainness(y))
                .then(x.answers.total_cmp(&y.answers))
                .then(y.rank.cmp(&x.rank))
                .then(y.pos.cmp(&x.pos))
        })
        .map(|(i, _)| i)
        .or_else(|| {
            cands
                .iter()
                .position(|c| c.topical && c.words <= 35 && !c.dangling && c.score >= best * 0.7)
        })
        .unwrap_or(0);
    let bottom = cands.remove(bottom_idx);
    // A second sentence joins it at the top when it answers nearly as well
    // and says something else.
    let second = cands
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            fit(c)
                && (c.on_clause || !any_on_clause)
                && sentence_model::probability(c.answers)
                    >= sentence_model::probability(bottom.answers) * SECOND_ANSWER_SHARE
                && !similar(&c.word_set, &bottom.word_set)
                && bottom.words + c.words <= SHORT_MAX_WORDS
        })
        .max_by(|(_, x), (_, y)| x.answers.total_cmp(&y.answers))
        .map(|(i, _)| i);
    let short: Vec<Candidate> = match second {
        Some(i) => vec![bottom.clone(), cands.remove(i)],
        None => vec![bottom.clone()],
    };

    // Fill sections.
    let n_sections = prof.sections.len();
    let mut chosen: Vec<Vec<Candidate>> = vec![Vec::new(); n_sections];
    let mut used_words = short.iter().map(|c| c.words).sum::<usize>();
    let mut picked: Vec<&Candidate> = short.iter().collect();
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
    // In source order, a sentence that needs the one before it stays only
    // right after it.
    for list in &mut chosen {
        list.sort_by_key(|c| (c.rank, c.pos));
        let mut kept: Vec<Candidate> = Vec::with_capacity(list.len());
        for c in list.drain(..) {
            let follows = kept
                .last()
                .is_some_and(|p| p.rank == c.rank && p.pos + 1 == c.pos);
            if !c.dangling || follows {
                kept.push(c);
            }
        }
        *list = kept;
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
    let mut sections = vec![Section {
        heading: SHORT_ANSWER.to_string(),
        sentences: short.iter().map(&mut cite).collect(),
    }];
    for (i, list) in chosen.into_iter().enumerate() {
        if list.is_empty() {
            continue;
        }
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
    // When even the best sentence is unlikely to answer what was asked, the
    // answer says so before anything else rather than pass it off as one.
    if sentence_model::probability(bottom.answers) < sentence_model::DIRECT_ANSWER {
        answer.opener = format!("{NOT_DIRECT} {}", answer.opener);
    }
    answer.sections = sections;
    answer.bottom_line = bottom_line;
    answer.sources = sources;
    Ok(answer)
}

/// What the opener says first when no sentence found answers the question
/// directly.
pub const NOT_DIRECT: &str = "The pages Sextant found do not answer this question directly; below is what they say that comes closest, and your care team can answer the rest.";

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
        // "Side effects of tamoxifen", not "of cancer".
        if let Some(d) = &a.drug {
            return d.clone();
        }
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
            // "Is surgery possible for my surgery?": a surgery question's
            // templates already name surgery.
            Some(&"surgery") if a.intent == Intent::Surgery => "cancer".to_string(),
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
    let caregiver = asks_for_someone_else(&a.question);
    prof.questions
        .iter()
        .map(|q| {
            let q = fill(q, a);
            if caregiver {
                for_someone_else(&q)
            } else {
                q
            }
        })
        .collect()
}

/// Whether the question is asked for someone else: "my dad", "my wife's".
pub(crate) fn asks_for_someone_else(question: &str) -> bool {
    let w = sextant_core::text::words(question);
    let relative = crate::analyze::people("relative");
    w.windows(2).any(|p| {
        matches!(p[0].as_str(), "my" | "our")
            && (relative.binary_search(&p[1].as_str()).is_ok()
                || relative.binary_search(&p[1].trim_end_matches('s')).is_ok())
    })
}

/// A question for the care team, reworded for someone asking about another
/// person: "my" becomes "their", "I" becomes "they", "me" becomes "them".
fn for_someone_else(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 8);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let swapped = match word.as_str() {
            "my" => "their",
            "My" => "Their",
            "me" => "them",
            "I" => "they",
            "I'm" => "they're",
            "I've" => "they've",
            "am" => "are",
            _ => word.as_str(),
        };
        out.push_str(swapped);
        word.clear();
    };
    for ch in q.chars() {
        if ch.is_alphanumeric() || ch == '\'' {
            word.push(ch);
        } else {
            flush(&mut word, &mut out);
            out.push(ch);
        }
    }
    flush(&mut word, &mut out);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_for_someone_else_read_right() {
        assert!(asks_for_someone_else(
            "My dad has stage 4 colon cancer, what now?"
        ));
        assert!(asks_for_someone_else("how do i help my wife's nausea"));
        assert!(!asks_for_someone_else("Is surgery an option for me?"));
        assert_eq!(
            for_someone_else("Is surgery possible for my liver cancer, and if not, why not?"),
            "Is surgery possible for their liver cancer, and if not, why not?"
        );
        assert_eq!(
            for_someone_else("What can I do to feel better in the meantime?"),
            "What can they do to feel better in the meantime?"
        );
        // Every template, reworded, keeps its grammar.
        for intent in crate::profile::ALL_INTENTS {
            for q in profile(*intent).questions {
                let r = for_someone_else(q);
                for bad in ["they am", "they was", "they has", "are they am", "Are they"] {
                    assert!(!r.contains(bad), "{q} -> {r}");
                }
                assert!(
                    !sextant_core::text::words(&r)
                        .iter()
                        .any(|w| w == "i" || w == "my"),
                    "{r}"
                );
            }
        }
    }
}
