//! The situations that need care now, read from `data/situations.tsv`, and
//! the triggers that recognise them, from `data/triggers.tsv`. Each names
//! its triage level, who to call first, and its source: a cancer.gov page
//! or a named guideline of `data/guidelines.tsv`.

use std::sync::OnceLock;

use crate::lexicon::{lexicon, rows};

const SITUATIONS: &str = include_str!("../data/situations.tsv");
const TRIGGERS: &str = include_str!("../data/triggers.tsv");
const GUIDELINES: &str = include_str!("../data/guidelines.tsv");

pub use sextant_core::Urgency;

/// Who the instructions send the person to first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// Emergency services now.
    EmergencyServices,
    /// The cancer care team's 24-hour line now, else the emergency department.
    CareTeamNow,
    /// A crisis line, and emergency services if in danger now.
    Crisis,
    /// The poison-control line and emergency services.
    Poison,
}

impl Escalation {
    fn parse(s: &str) -> Option<Escalation> {
        Some(match s {
            "emergency_services" => Escalation::EmergencyServices,
            "care_team_now" => Escalation::CareTeamNow,
            "crisis" => Escalation::Crisis,
            "poison" => Escalation::Poison,
            _ => return None,
        })
    }
}

/// A situation that needs care now.
#[derive(Debug)]
pub struct Situation {
    /// Stable id, as in `urgent.category`.
    pub id: &'static str,
    pub level: Urgency,
    pub escalation: Escalation,
    /// Plain name: "a fever or chills during cancer treatment".
    pub name: &'static str,
    /// Why it is urgent, in one plain sentence.
    pub why: &'static str,
    /// Words that find what the knowledge base says about it.
    pub query: &'static str,
    /// Lower-case words, one of which a cited sentence about it contains.
    pub cite_cues: Vec<&'static str>,
    /// Where the rule comes from: a cancer.gov URL or a guideline id.
    pub source: &'static str,
    /// Signs that have passed still count (a stroke's warning signs).
    pub passed_counts: bool,
    /// A message asking what the symptom could mean ("could it be
    /// cancer?") is urgent, not an emergency.
    pub diagnostic_urgent: bool,
    /// Its level is a guideline's on purpose (a fever when treatment is not
    /// known is urgent): the learned layer never raises it.
    pub firm_level: bool,
    pub(crate) triggers: Vec<Trigger>,
}

/// Every group must have a live occurrence; with `near`, within that many
/// tokens of each other in one clause. `context` phrases need only appear
/// somewhere in the message ("chemo" for a fever).
#[derive(Debug)]
pub(crate) struct Trigger {
    pub(crate) groups: Vec<&'static str>,
    pub(crate) near: Option<usize>,
    pub(crate) context: Option<&'static str>,
}

/// A named guideline a rule may cite.
#[derive(Debug)]
pub struct Guideline {
    pub id: &'static str,
    pub citation: &'static str,
}

/// Problems in the data: every one is a bug, caught by the tests.
pub fn data_issues() -> Vec<String> {
    let mut out = Vec::new();
    for r in rows(SITUATIONS, HEADER) {
        if r.len() != 9 {
            out.push(format!(
                "situations.tsv: {} fields, expected 9: {r:?}",
                r.len()
            ));
        } else if let Some(f) = r[3].split(',').find(|f| *f != "-" && !FLAGS.contains(f)) {
            out.push(format!("situations.tsv: {}: unknown flag `{f}`", r[0]));
        }
    }
    for r in rows(TRIGGERS, TRIGGER_HEADER) {
        if r.len() != 4 || !situations().iter().any(|s| s.id == r[0]) {
            out.push(format!("triggers.tsv: bad row {r:?}"));
        }
    }
    for s in situations() {
        if s.triggers.is_empty() && !s.id.starts_with("learned_") {
            out.push(format!("{}: no trigger", s.id));
        }
        for t in &s.triggers {
            for g in t.groups.iter().chain(t.context.iter()) {
                if !lexicon().has(g) {
                    out.push(format!("{}: list `{g}` is not in lexicon.tsv", s.id));
                }
            }
        }
        let source_ok = s.source.starts_with("https://www.cancer.gov/")
            || guidelines().iter().any(|g| g.id == s.source);
        if !source_ok {
            out.push(format!(
                "{}: source `{}` is neither a cancer.gov page nor a guideline",
                s.id, s.source
            ));
        }
    }
    out
}

/// The flags `situations.tsv` may set.
const FLAGS: &[&str] = &["passed_counts", "diagnostic_urgent", "firm_level"];

const HEADER: &str = "id\tlevel\tescalation\tflags\tname\twhy\tquery\tcite_cues\tsource";
const TRIGGER_HEADER: &str = "situation\tgroups\tnear\tcontext";

/// Every situation, in the order they are tried: most specific first.
pub fn situations() -> &'static [Situation] {
    static S: OnceLock<Vec<Situation>> = OnceLock::new();
    S.get_or_init(|| {
        let mut out: Vec<Situation> = rows(SITUATIONS, HEADER)
            .filter(|r| r.len() == 9)
            .filter_map(|r| {
                Some(Situation {
                    id: r[0],
                    level: Urgency::parse(r[1])?,
                    escalation: Escalation::parse(r[2])?,
                    passed_counts: r[3].split(',').any(|f| f == "passed_counts"),
                    diagnostic_urgent: r[3].split(',').any(|f| f == "diagnostic_urgent"),
                    firm_level: r[3].split(',').any(|f| f == "firm_level"),
                    name: r[4],
                    why: r[5],
                    query: r[6],
                    cite_cues: r[7].split(',').map(str::trim).collect(),
                    source: r[8],
                    triggers: Vec::new(),
                })
            })
            .collect();
        for r in rows(TRIGGERS, TRIGGER_HEADER) {
            let [id, groups, near, context] = r[..] else {
                continue;
            };
            if let Some(s) = out.iter_mut().find(|s| s.id == id) {
                s.triggers.push(Trigger {
                    groups: groups.split('+').map(str::trim).collect(),
                    near: near.parse().ok(),
                    context: (context != "-").then_some(context),
                });
            }
        }
        out
    })
}

/// A situation by id.
pub fn situation(id: &str) -> Option<&'static Situation> {
    situations().iter().find(|s| s.id == id)
}

/// The guidelines rules cite where cancer.gov has no page.
pub fn guidelines() -> &'static [Guideline] {
    static G: OnceLock<Vec<Guideline>> = OnceLock::new();
    G.get_or_init(|| {
        rows(GUIDELINES, "id\tcitation")
            .filter_map(|r| match r[..] {
                [id, citation] => Some(Guideline { id, citation }),
                _ => None,
            })
            .collect()
    })
}
