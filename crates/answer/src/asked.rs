//! What a question asks for: its form (yes or no, which options, how long,
//! what to expect, is it normal, what can help, why, a difference, a
//! definition, a figure) and the clause that asks it. The composer uses the
//! form to choose the sentence that answers, not merely one on the topic.
//!
//! The phrases are data: `data/question-forms.tsv`.

use std::sync::OnceLock;

use crate::quality::{data_rows, padded};

/// The form of what is asked. Earlier forms take precedence when several
/// match ("how long will I need chemo, is that normal?" asks how long).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    Difference,
    Figure,
    HowLong,
    Normal,
    Expect,
    Helps,
    Options,
    Why,
    YesNo,
    Definition,
    /// None of the above ("tell me about ...").
    Open,
}

impl Form {
    /// In order of precedence.
    pub const ALL: [Form; 11] = [
        Form::Difference,
        Form::Figure,
        Form::HowLong,
        Form::Normal,
        Form::Expect,
        Form::Helps,
        Form::Options,
        Form::Why,
        Form::YesNo,
        Form::Definition,
        Form::Open,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Form::Difference => "difference",
            Form::Figure => "figure",
            Form::HowLong => "how_long",
            Form::Normal => "normal",
            Form::Expect => "expect",
            Form::Helps => "helps",
            Form::Options => "options",
            Form::Why => "why",
            Form::YesNo => "yes_no",
            Form::Definition => "definition",
            Form::Open => "open",
        }
    }

    /// Forms whose phrases ("is", "what is") count only where a clause
    /// starts: "is" in the middle of a sentence asks nothing.
    fn anchored(self) -> bool {
        matches!(self, Form::YesNo | Form::Definition)
    }
}

struct Table {
    ask: Vec<(Form, String)>,
    answer: Vec<(Form, String)>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table {
            ask: Vec::new(),
            answer: Vec::new(),
        };
        for r in data_rows(include_str!("../data/question-forms.tsv")) {
            let Some(form) = Form::ALL.into_iter().find(|f| f.as_str() == r[0]) else {
                continue;
            };
            // Kept padded (" may include "), so a match is one `contains`.
            let phrase = padded(r.get(2).copied().unwrap_or(""));
            if phrase.trim().is_empty() {
                continue;
            }
            match r.get(1).copied() {
                Some("ask") => t.ask.push((form, phrase)),
                Some("answer") => t.answer.push((form, phrase)),
                _ => {}
            }
        }
        t
    })
}

/// The padded "%" phrase: a percentage sign anywhere in the text, since
/// `padded` keeps it attached to its number ("90%").
const PERCENT: &str = " % ";

/// What a question asks.
#[derive(Debug, Clone)]
pub struct Asked {
    pub form: Form,
    /// The clause that asks (the last sentence with a question mark, else
    /// the last sentence).
    pub clause: String,
}

impl Asked {
    /// The question asks what something is, so a definition answers it.
    pub fn wants_definition(&self) -> bool {
        matches!(self.form, Form::Definition | Form::Difference)
    }

    /// The question asks for a number (a rate, the chances).
    pub fn wants_figure(&self) -> bool {
        self.form == Form::Figure
    }
}

/// The clause of a question that asks: the last sentence ending in a
/// question mark, else the last sentence.
pub fn asking_clause(question: &str) -> &str {
    let spans = sextant_core::text::sentence_spans(question);
    let asked = spans
        .iter()
        .rev()
        .find(|r| question[(*r).clone()].trim_end().ends_with('?'))
        .or(spans.last());
    asked.map_or(question, |r| &question[r.clone()])
}

/// Where clauses start within a padded clause: its start and after a comma,
/// semicolon or a joining word.
fn clause_starts(raw: &str) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for piece in raw.split([',', ';', ':', '(', ')']) {
        let p = padded(piece);
        // "... so is it curable", "and will it come back"
        let mut rest = p.as_str();
        parts.push(rest.to_string());
        for joint in [" so ", " and ", " but ", " then ", " or "] {
            if let Some(i) = rest.find(joint) {
                rest = &rest[i + joint.len() - 1..];
                parts.push(rest.to_string());
            }
        }
    }
    parts
}

/// Works out what a question asks.
pub fn asked(question: &str) -> Asked {
    let clause = asking_clause(question).to_string();
    let padded_clause = padded(&clause);
    let starts = clause_starts(&clause);
    let t = table();
    let form = Form::ALL
        .into_iter()
        .find(|f| {
            t.ask.iter().filter(|(g, _)| g == f).any(|(_, p)| {
                if f.anchored() {
                    starts.iter().any(|s| s.starts_with(p.as_str()))
                } else {
                    padded_clause.contains(p.as_str()) || (p == PERCENT && clause.contains('%'))
                }
            })
        })
        .unwrap_or(Form::Open);
    Asked { form, clause }
}

/// Whether a sentence says the kind of thing that answers `form` ("may
/// include" for options, "weeks" for how long, "common" for is it normal).
pub fn answers_form(form: Form, sentence: &str) -> bool {
    let p = padded(sentence);
    table()
        .answer
        .iter()
        .filter(|(f, _)| *f == form)
        .any(|(_, phrase)| {
            if phrase == PERCENT {
                sentence.contains('%')
            } else {
                p.contains(phrase.as_str())
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(q: &str, form: Form) {
        assert_eq!(asked(q).form, form, "{q}");
    }

    #[test]
    fn forms_of_questions() {
        check(
            "Is surgery an option for metastatic liver cancer?",
            Form::YesNo,
        );
        check("can melonoma come back after its been cut out", Form::YesNo);
        check(
            "What is the difference between a lumpectomy and a mastectomy?",
            Form::Difference,
        );
        check("Is dry mouth after radiation permanent?", Form::YesNo);
        check("What are the symptoms of a brain tumor?", Form::Definition);
        check("How long does chemo for breast cancer take?", Form::HowLong);
        check(
            "I finished radiation six weeks ago and swallowing still hurts. Is this normal at this point?",
            Form::Normal,
        );
        check("What can help with nausea from chemo?", Form::Helps);
        check(
            "What are my treatment options for stage 3 colon cancer?",
            Form::Options,
        );
        check("Why does chemo make your hair fall out?", Form::Why);
        check(
            "What is the survival rate for pancreatic cancer?",
            Form::Figure,
        );
        check("What is HER2?", Form::Definition);
        check("My dad has CLL, so what should we expect?", Form::Expect);
        check("Tell me about thyroid cancer", Form::Open);
        // "is" in the middle of a clause asks nothing.
        check(
            "My mother is 80 and has lymphoma. Tell me about it.",
            Form::Open,
        );
    }

    #[test]
    fn the_last_question_is_the_one_asked() {
        let q = "I have stage 2 breast cancer. My friend had chemo. Will I need chemo too?";
        assert_eq!(asking_clause(q), "Will I need chemo too?");
        assert_eq!(
            asking_clause("no question mark here"),
            "no question mark here"
        );
    }

    #[test]
    fn sentences_that_answer_a_form() {
        assert!(answers_form(
            Form::Options,
            "Treatment of stage II colon cancer may include surgery."
        ));
        assert!(answers_form(
            Form::HowLong,
            "Hair usually grows back in 3 to 6 months."
        ));
        assert!(!answers_form(Form::HowLong, "Hair loss is common."));
        assert!(answers_form(
            Form::Figure,
            "About 90% of people live five years."
        ));
    }

    #[test]
    fn the_data_table_is_sorted_and_known() {
        let rows: Vec<Vec<&str>> = data_rows(include_str!("../data/question-forms.tsv")).collect();
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "question-forms.tsv is not sorted"
        );
        for r in &rows {
            assert_eq!(r.len(), 3, "{r:?}");
            assert!(Form::ALL.iter().any(|f| f.as_str() == r[0]), "{r:?}");
            assert!(r[1] == "ask" || r[1] == "answer", "{r:?}");
        }
    }
}
