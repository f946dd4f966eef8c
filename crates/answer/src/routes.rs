//! The replies that are not ordinary answers: an emergency (what to do now,
//! then what the sources say), a dosing request (a kind refusal, who to
//! ask, and general cited information on the drug), a question outside
//! Sextant's scope, and one too unclear to answer. Their own words are
//! fixed text written here; everything from a source is a cited sentence.

use sextant_core::answer::NOTICE;
use sextant_core::text::{normalize_ws, sentence_spans};
use sextant_core::{Answer, AnswerKind, CitedSentence, Contact, Section, Urgent};

use crate::analyze::Intent;
use crate::{Engine, Result, Retriever};
use sextant_safety::{DosingAsk, Emergency, Escalation, Urgency};

/// Emergency and crisis numbers for where the person is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale {
    /// Region code (`US`).
    pub code: &'static str,
    /// Emergency services.
    pub emergency: &'static str,
    /// The suicide and crisis line, and its number.
    pub crisis_name: &'static str,
    pub crisis_number: &'static str,
    /// The poison-control line, and its number.
    pub poison_name: &'static str,
    pub poison_number: &'static str,
}

/// Regions with known numbers. The first is the default.
pub static LOCALES: &[Locale] = &[
    Locale {
        code: "US",
        emergency: "911",
        crisis_name: "988 Suicide & Crisis Lifeline (call or text)",
        crisis_number: "988",
        poison_name: "Poison Help line",
        poison_number: "1-800-222-1222",
    },
    Locale {
        code: "CA",
        emergency: "911",
        crisis_name: "9-8-8 Suicide Crisis Helpline (call or text)",
        crisis_number: "988",
        poison_name: "Canadian Poison Centre line",
        poison_number: "1-844-764-7669",
    },
    Locale {
        code: "GB",
        emergency: "999",
        crisis_name: "Samaritans",
        crisis_number: "116 123",
        poison_name: "NHS 111 (poisoning advice)",
        poison_number: "111",
    },
    Locale {
        code: "IE",
        emergency: "112",
        crisis_name: "Samaritans",
        crisis_number: "116 123",
        poison_name: "National Poisons Information Centre",
        poison_number: "01 809 2166",
    },
    Locale {
        code: "AU",
        emergency: "000",
        crisis_name: "Lifeline",
        crisis_number: "13 11 14",
        poison_name: "Poisons Information Centre",
        poison_number: "13 11 26",
    },
    Locale {
        code: "NZ",
        emergency: "111",
        crisis_name: "Need to talk? (call or text)",
        crisis_number: "1737",
        poison_name: "National Poisons Centre",
        poison_number: "0800 764 766",
    },
];

impl Locale {
    /// The default region: the United States.
    pub fn default_locale() -> &'static Locale {
        &LOCALES[0]
    }

    /// Finds a region by code or locale tag ("US", "en-GB", "en_AU.UTF-8").
    pub fn find(tag: &str) -> Option<&'static Locale> {
        let region = tag
            .split('.')
            .next()
            .unwrap_or("")
            .rsplit(['-', '_'])
            .next()
            .unwrap_or("");
        let region = if region.eq_ignore_ascii_case("uk") {
            "GB"
        } else {
            region
        };
        LOCALES.iter().find(|l| l.code.eq_ignore_ascii_case(region))
    }

    /// Known region codes, for error messages.
    pub fn codes() -> String {
        LOCALES
            .iter()
            .map(|l| l.code)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What to do now, by escalation and level.
fn do_now(e: Escalation, level: Urgency, l: &Locale) -> Vec<String> {
    if level == Urgency::Urgent {
        return vec![
            "Call your cancer care team's 24-hour number today, now if it is getting worse, and tell them what you notice and when your last treatment was.".to_string(),
            "If you are having chemotherapy or had it in the last six weeks, a temperature of 38 °C (100.4 °F) or higher is an emergency: call them now, day or night.".to_string(),
            format!("If you cannot reach them, or you get much worse (trouble breathing, chest pain, confusion, bleeding that will not stop), call {} or go to the nearest emergency department.", l.emergency),
        ];
    }
    match e {
        Escalation::Poison => vec![
            format!("If the person is hard to wake, has a seizure or has trouble breathing, call {} now.", l.emergency),
            format!("Otherwise call the {} now, at {}, even if they feel well: some medicines cause harm hours later. Have the bottle or packet with you.", l.poison_name, l.poison_number),
            "Do not make them vomit unless you are told to. Then tell the cancer care team what happened, using their 24-hour number.".to_string(),
        ],
        Escalation::EmergencyServices => vec![
            format!("Call {} (emergency services) now, or have someone take you to the nearest emergency department. Do not drive yourself.", l.emergency),
            "Then tell your cancer care team what happened, using their 24-hour number.".to_string(),
            "Tell the people treating you that you have cancer and which treatment you are having, and bring your medicine list.".to_string(),
        ],
        Escalation::CareTeamNow => vec![
            "Call your cancer care team's 24-hour number now, even at night or on a weekend, and tell them your symptoms and when your last treatment was.".to_string(),
            format!("If you cannot reach them quickly, go to the nearest emergency department; if you feel very unwell, call {}.", l.emergency),
            "Do not wait to see whether it passes, and do not take medicine to lower a fever before you have spoken with them unless they told you to.".to_string(),
        ],
        Escalation::Crisis => vec![
            format!("If you might act on these thoughts or are in danger now, call {} now.", l.emergency),
            format!("You can talk with someone trained to help right now, any time of day: {}, {}.", l.crisis_name, l.crisis_number),
            "If you can, tell someone you trust and your care team how you are feeling; you do not have to face this alone.".to_string(),
        ],
    }
}

fn contacts(e: Escalation, level: Urgency, l: &Locale) -> Vec<Contact> {
    let emergency = Contact {
        name: "Emergency services".to_string(),
        number: l.emergency.to_string(),
    };
    let care = Contact {
        name: "Your cancer care team's 24-hour line".to_string(),
        number: "the number your clinic gave you".to_string(),
    };
    if level == Urgency::Urgent {
        return vec![care, emergency];
    }
    match e {
        Escalation::Poison => vec![
            Contact {
                name: l.poison_name.to_string(),
                number: l.poison_number.to_string(),
            },
            emergency,
            care,
        ],
        Escalation::EmergencyServices => vec![emergency, care],
        Escalation::CareTeamNow => vec![care, emergency],
        Escalation::Crisis => vec![
            Contact {
                name: l.crisis_name.to_string(),
                number: l.crisis_number.to_string(),
            },
            emergency,
        ],
    }
}

/// Up to `max` sentences of the passages found for `query` that contain
/// one of `cues`, cited. Used where only a few on-point sentences are
/// wanted, not a composed answer.
fn cited_from(
    engine: &Engine,
    query: &str,
    cues: &[&str],
    max: usize,
    retriever: Retriever,
) -> Result<(Vec<CitedSentence>, Vec<sextant_core::SourceRef>)> {
    let a = engine.analyze(query)?;
    let hits = engine.retrieve(&a, 6, retriever)?;
    let mut out: Vec<CitedSentence> = Vec::new();
    let mut sources = Vec::new();
    for h in hits {
        if out.len() >= max {
            break;
        }
        let p = engine.kb().passage(h.ord)?;
        let mut used = false;
        for span in sentence_spans(&p.text) {
            let s = normalize_ws(&p.text[span.clone()]);
            let lower = s.to_lowercase();
            let words = s.split_whitespace().count();
            if out.len() >= max
                || !(6..=45).contains(&words)
                || !s.ends_with('.')
                || !s.starts_with(|c: char| c.is_uppercase())
                || lower.contains("http")
                || lower.contains("pdq")
                || lower.contains("see the")
                || !cues.iter().any(|c| lower.contains(c))
                || out.iter().any(|o| normalize_ws(&o.text) == s)
            {
                continue;
            }
            out.push(CitedSentence {
                text: p.text[span].to_string(),
                citations: vec![p.id.clone()],
            });
            used = true;
            if out.iter().filter(|o| o.citations[0] == p.id).count() >= 2 {
                break;
            }
        }
        if used {
            sources.push(crate::compose::source_ref(engine, &p));
        }
    }
    Ok((out, sources))
}

/// What to do now about a reported emergency: needs no retrieval, so a
/// stream can send it the moment the question is routed.
pub fn urgent(engine: &Engine, e: &Emergency) -> Urgent {
    let s = e.situation;
    let l = engine.locale();
    Urgent {
        level: e.level,
        category: s.id.to_string(),
        situation: s.name.to_string(),
        evidence: e.evidence.clone(),
        do_now: do_now(s.escalation, e.level, l),
        why: s.why.to_string(),
        contacts: contacts(s.escalation, e.level, l),
    }
}

/// The reply to a reported emergency. `also` is the answer to the rest of a
/// mixed message, if any.
pub fn emergency(
    engine: &Engine,
    question: &str,
    e: &Emergency,
    retriever: Retriever,
    also: Option<Answer>,
) -> Result<Answer> {
    let s = e.situation;
    let l = engine.locale();
    let (sentences, sources) = cited_from(engine, s.query, &s.cite_cues, 3, retriever)?;
    let (title, opener) = if e.level == Urgency::Urgent {
        (
            "Contact your care team today".to_string(),
            format!(
                "What you describe may be {}. Please call your cancer care team's 24-hour line today, and now if it is getting worse; the answer to your question follows below.",
                s.name
            ),
        )
    } else if s.escalation == Escalation::Crisis {
        (
            "You deserve support right now".to_string(),
            format!(
                "Thank you for saying this. What you wrote sounds like {}. Please reach out now: {} is there to talk, any time.",
                s.name, l.crisis_name.split(" (").next().unwrap_or(l.crisis_name)
            ),
        )
    } else {
        (
            "This needs medical care now".to_string(),
            format!(
                "What you describe may be {}. Please get help now, before reading anything else.",
                s.name
            ),
        )
    };
    let mut sections = Vec::new();
    if !sentences.is_empty() {
        sections.push(Section {
            heading: "What cancer.gov says".to_string(),
            sentences,
        });
    }
    Ok(Answer {
        question: question.to_string(),
        kind: if e.level == Urgency::Urgent {
            AnswerKind::Urgent
        } else {
            AnswerKind::Emergency
        },
        urgency: e.level,
        title,
        opener,
        sections,
        questions_to_ask: vec![
            "Which number should I call at night or on weekends, and what should I tell them?"
                .to_string(),
            "Which symptoms mean I should go straight to the emergency department?".to_string(),
        ],
        sources,
        notice: NOTICE.to_string(),
        urgent: Some(urgent(engine, e)),
        also: also.map(Box::new),
        ..Answer::default()
    })
}

/// The reply to a request for an individual dosing decision.
pub fn dosing(
    engine: &Engine,
    question: &str,
    d: &DosingAsk,
    retriever: Retriever,
) -> Result<Answer> {
    let a = engine.analyze(question)?;
    let drug = a.drug.clone();
    let name = drug.as_deref().map(capitalize);
    let what = name.as_deref().unwrap_or("a medicine");
    let decision = match d.kind {
        "missed" | "double" => "what to do about a missed dose, or whether to take extra",
        "stop" => "whether to stop or skip it",
        "start" => "whether to start it, or take it with something else",
        "change" => "whether to change your dose or how you take it",
        _ => "how much to take or how often",
    };
    let opener = format!(
        "Sextant cannot tell you {decision} for {what}: the right dose depends on your body, your other medicines and your treatment plan, which only your care team knows. \
         Please ask your oncologist, your oncology pharmacist, or your clinic's nurse line; they can usually answer the same day. \
         Until then, follow the instructions you were given with the medicine, and if you took too much or feel unwell, call your care team now."
    );
    // General information about the drug, from its own page.
    let mut sections = Vec::new();
    let mut sources = Vec::new();
    if let Some(dr) = &drug {
        let info = engine.analyze(&format!("What is {dr} and how is it used?"))?;
        let mut info = info;
        info.intent = Intent::Drug;
        let hits = engine.retrieve(&info, crate::COMPOSE_PASSAGES, retriever)?;
        // The drug's own page, when the knowledge base has it: general
        // information about the drug, not about whatever else matched.
        let own: Vec<_> = hits
            .iter()
            .filter(|h| {
                let kb = engine.kb();
                kb.page_of(h.ord)
                    .and_then(|p| kb.page(p))
                    .is_some_and(|p| crate::is_page_of_drug(p, dr))
            })
            .cloned()
            .collect();
        let hits = if own.is_empty() { hits } else { own };
        let composed = crate::compose::compose(engine, &info, &hits, None)?;
        if composed.kind == AnswerKind::Answer {
            let mut sents: Vec<CitedSentence> = composed
                .sections
                .iter()
                .flat_map(|s| s.sentences.iter().cloned())
                .collect();
            sents.truncate(4);
            if !sents.is_empty() {
                sources = composed
                    .sources
                    .into_iter()
                    .filter(|src| sents.iter().any(|s| s.citations.contains(&src.id)))
                    .collect();
                sections.push(Section {
                    heading: format!("About {}", name.clone().unwrap_or_default()),
                    sentences: sents,
                });
            }
        }
    }
    let d_or = name.unwrap_or_else(|| "this medicine".to_string());
    Ok(Answer {
        question: question.to_string(),
        kind: AnswerKind::Dosing,
        cancer_types: a.cancer_types.iter().map(|c| c.name.to_string()).collect(),
        title: "Dosing questions need your care team".to_string(),
        opener,
        sections,
        questions_to_ask: vec![
            format!("What should I do if I miss a dose of {d_or}, or throw it up?"),
            format!("Can I take {d_or} with my other medicines, vitamins and supplements?"),
            "Which side effects mean I should call you, and which number do I call after hours?"
                .to_string(),
            "Should my dose change if I have side effects, and who decides that?".to_string(),
        ],
        sources,
        notice: NOTICE.to_string(),
        ..Answer::default()
    })
}

/// The reply to a question about neither cancer nor health.
pub fn out_of_scope(question: &str) -> Answer {
    Answer {
        question: question.to_string(),
        kind: AnswerKind::OutOfScope,
        title: "Sextant answers questions about cancer".to_string(),
        opener: "Sextant can help with questions about cancer and health: types of cancer, tests, treatments and their side effects, living with cancer, and caring for someone who has it, with every answer cited to cancer.gov. This question seems to be about something else.".to_string(),
        notice: NOTICE.to_string(),
        ..Answer::default()
    }
}

/// The reply to a question too short or garbled to answer.
pub fn unclear(question: &str) -> Answer {
    Answer {
        question: question.to_string(),
        kind: AnswerKind::Unclear,
        title: "Could you say a bit more?".to_string(),
        opener: "Sextant could not tell what you are asking, and would rather not guess. Please ask a whole question, for example “What are the treatment options for stage 2 breast cancer?” or “What side effects does chemotherapy cause?” If you feel unwell now, call your care team or emergency services.".to_string(),
        notice: NOTICE.to_string(),
        ..Answer::default()
    }
}

fn capitalize(s: &str) -> String {
    let mut ch = s.chars();
    match ch.next() {
        Some(f) => f.to_uppercase().collect::<String>() + ch.as_str(),
        None => String::new(),
    }
}
