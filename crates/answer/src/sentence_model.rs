//! How well a sentence answers what is asked: a logistic regression over a
//! few named features of the sentence, its passage and the question. It
//! chooses the short answer and the bottom line (`compose`).
//!
//! The weights are data (`data/sentence-model.tsv`), fitted by
//! `sextant eval answers --fit-sentences LABELS` on sentences that reviewers
//! who never saw the composer marked as answering their question or not
//! (`crates/eval/data/answers-sentences/`).

use std::sync::OnceLock;

use crate::logistic;

/// The features, in the order of [`Features`]. Each is in about [0, 1].
pub const FEATURES: [&str; 22] = [
    // 1 for every sentence: the intercept.
    "bias",
    // The passage's retrieval score as a share of the best passage's.
    "retrieval",
    // Share of the question's words (IDF-weighted) in the sentence.
    "overlap",
    // Share of the asking clause's words (IDF-weighted) in the sentence.
    "clause_overlap",
    // It says the kind of thing the question's form asks for
    // (`asked::answers_form`: "may include" for options, "weeks" for how long).
    "form",
    // It has a word of the intent's topic ("treat" for treatment options).
    "topical",
    // Its section's heading has one.
    "section_topical",
    // It, or its page, is about the cancer type asked about.
    "type",
    // Its page is written for patients.
    "patient",
    // Fewer than 8 words.
    "short",
    // How far its reading grade is above 6, in tens of grades (0 to 1).
    "hard_to_read",
    // It reads on its own: no fragment, no dangling start, no definition or
    // figure unless asked for (`quality::bottom_line_flaw`).
    "stands_alone",
    // It starts by pointing back ("This", "These").
    "dangling",
    // It defines a word ("is called").
    "definition",
    // It reports a figure.
    "statistic",
    // It is the first sentence of its passage.
    "lead",
    // Its passage was found by the asking clause within a page already
    // found (`Engine::locate`).
    "located",
    // It is on the page of the drug asked about.
    "drug_page",
    // Its length, in 40s of words (capped at 1.5).
    "length",
    // Cosine of its embedding with the question's.
    "semantic",
    // Cosine of its embedding with the asking clause's.
    "clause_semantic",
    // How far its clause cosine is below the best candidate's (0 for the best).
    "semantic_gap",
];

/// Features the model is not fitted on: plain language and audience are
/// the composer's policy, not a question of what answers. Reviewers mark
/// the fuller, harder health-professional sentence as answering more often;
/// the composer instead chooses the plainest among the sentences about as
/// likely to answer (`compose`, [`PLAIN_MARGIN`]).
pub const NOT_FITTED: [&str; 2] = ["hard_to_read", "patient"];

/// Among sentences whose probability of answering is at least this share
/// of the best one's, the composer takes the plainest.
pub const PLAIN_MARGIN: f32 = 0.95;

/// A sentence's features, in the order of [`FEATURES`].
pub type Features = [f32; FEATURES.len()];

/// Index of a named feature.
pub fn feature(name: &str) -> usize {
    FEATURES
        .iter()
        .position(|f| *f == name)
        .unwrap_or_else(|| panic!("unknown sentence feature {name}"))
}

/// The features read from embeddings. Without the embedding model (a
/// keyword-only knowledge base) the composer scores with
/// [`Model::shipped_lexical`], fitted without them.
pub const SEMANTIC: [&str; 3] = ["semantic", "clause_semantic", "semantic_gap"];

/// Below this probability that its best sentence answers, an answer says
/// that its sources do not answer the question directly
/// (`compose::NOT_DIRECT`). Chosen with the fitted model on the reviewers'
/// marks (BENCHMARKS.md).
pub const DIRECT_ANSWER: f32 = 0.5;

/// The probability of a log-odds.
pub fn probability(logit: f32) -> f32 {
    logistic::probability(logit)
}

/// Weights of the features.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub weights: Features,
}

impl Model {
    /// The shipped model (`data/sentence-model.tsv`, column `weight`).
    pub fn shipped() -> &'static Model {
        static M: OnceLock<Model> = OnceLock::new();
        M.get_or_init(|| Model::parse(include_str!("../data/sentence-model.tsv")))
    }

    /// The shipped model fitted without the [`SEMANTIC`] features (column
    /// `lexical`), for knowledge bases without embeddings.
    pub fn shipped_lexical() -> &'static Model {
        static M: OnceLock<Model> = OnceLock::new();
        M.get_or_init(|| Model::parse_column(include_str!("../data/sentence-model.tsv"), 2))
    }

    /// Reads `feature<TAB>weight` rows; features not listed weigh 0.
    pub fn parse(text: &str) -> Model {
        Model::parse_column(text, 1)
    }

    /// Reads the weights in column `column` (0 is the feature's name) of
    /// `feature<TAB>weight<TAB>...` rows; features not listed weigh 0.
    pub fn parse_column(text: &str, column: usize) -> Model {
        Model::from_slice(&logistic::parse_column(text, &FEATURES, column))
    }

    fn from_slice(w: &[f32]) -> Model {
        let mut weights = [0.0; FEATURES.len()];
        weights.copy_from_slice(w);
        Model { weights }
    }

    /// The model as `feature<TAB>weight` rows (no header).
    pub fn to_tsv(&self) -> String {
        logistic::columns_tsv(&FEATURES, &[&self.weights])
    }

    /// Both models as `data/sentence-model.tsv` rows (no header):
    /// `feature<TAB>weight<TAB>lexical`.
    pub fn pair_to_tsv(with_vectors: &Model, lexical: &Model) -> String {
        logistic::columns_tsv(&FEATURES, &[&with_vectors.weights, &lexical.weights])
    }

    /// The log-odds that the sentence answers the question.
    pub fn logit(&self, f: &Features) -> f32 {
        logistic::logit(&self.weights, f)
    }

    /// Fits the model ([`logistic::fit`]). Features in `leave_out` keep
    /// weight 0, as do [`NOT_FITTED`].
    pub fn fit(examples: &[(Features, bool)], epochs: usize, l2: f32, leave_out: &[&str]) -> Model {
        let fitted: Vec<bool> = FEATURES
            .iter()
            .map(|f| !NOT_FITTED.contains(f) && !leave_out.contains(f))
            .collect();
        let ex: Vec<(&[f32], bool)> = examples.iter().map(|(x, y)| (&x[..], *y)).collect();
        Model::from_slice(&logistic::fit(&ex, &fitted, epochs, l2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, f32)]) -> Features {
        let mut x = [0.0; FEATURES.len()];
        x[0] = 1.0;
        for (k, v) in pairs {
            x[feature(k)] = *v;
        }
        x
    }

    #[test]
    fn shipped_model_names_only_known_features() {
        for l in include_str!("../data/sentence-model.tsv").lines() {
            if let Some(name) = l.split('\t').next().filter(|_| !l.starts_with('#')) {
                assert!(
                    name.is_empty() || FEATURES.contains(&name),
                    "unknown feature {name}"
                );
            }
        }
        let m = Model::shipped();
        assert_eq!(Model::parse(&m.to_tsv()), *m);
        // The keyword-only model reads no embedding feature, and both
        // columns survive a round trip.
        let lex = Model::shipped_lexical();
        for s in SEMANTIC {
            assert_eq!(lex.weights[feature(s)], 0.0, "{s}");
        }
        assert!(lex.weights[feature("clause_overlap")] != 0.0);
        let pair = Model::pair_to_tsv(m, lex);
        assert_eq!(Model::parse(&pair), *m);
        assert_eq!(Model::parse_column(&pair, 2), *lex);
    }

    #[test]
    fn fitting_learns_which_feature_marks_an_answer() {
        // Answers share the asking clause's words; other sentences do not.
        let mut ex = Vec::new();
        for i in 0..40 {
            let v = (i % 5) as f32 / 10.0;
            ex.push((f(&[("clause_overlap", 0.6 + v), ("retrieval", v)]), true));
            ex.push((
                f(&[("clause_overlap", v / 4.0), ("retrieval", 0.5 + v)]),
                false,
            ));
        }
        let m = Model::fit(&ex, 400, 0.001, &[]);
        assert!(m.weights[feature("clause_overlap")] > 1.0, "{m:?}");
        let without = Model::fit(&ex, 400, 0.001, &["clause_overlap"]);
        assert_eq!(without.weights[feature("clause_overlap")], 0.0);
        let yes = m.logit(&f(&[("clause_overlap", 0.8)]));
        let no = m.logit(&f(&[("clause_overlap", 0.05), ("retrieval", 0.9)]));
        assert!(yes > 0.0 && no < 0.0, "{yes} {no}");
        assert_eq!(Model::fit(&ex, 400, 0.001, &[]), m, "deterministic");
    }
}
