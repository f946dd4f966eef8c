//! The person's corrections: confirm, correct, remove or add a fact. A
//! correction is a JSON patch applied to a saved profile:
//!
//! ```json
//! {"changes": [
//!   {"op": "confirm", "field": "biomarker", "fact": "ER positive"},
//!   {"op": "remove",  "field": "metastasis", "fact": "axillary lymph nodes"},
//!   {"op": "correct", "field": "biomarker", "fact": "HER2 negative",
//!    "value": {"name": "HER2", "result": "low", "detail": "IHC 1+"}},
//!   {"op": "add", "field": "metastasis", "value": {"name": "lung"}}
//! ]}
//! ```
//!
//! Facts are named by their canonical line ([`Profile::canonical_facts`]).
//! A removed or corrected fact stays in the profile as `removed`, so that
//! reading the same record again does not bring it back: the re-read fact
//! merges into the removed one. Corrected and added facts are marked as the
//! person's, and win.

use serde::Deserialize;
use sextant_core::Issue;

use crate::profile::{Fact, FactStatus, Method, Profile, Provenance};

/// A set of changes.
#[derive(Debug, Clone, Deserialize)]
pub struct Patch {
    pub changes: Vec<Change>,
}

/// One change.
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    /// `confirm`, `correct`, `remove` or `add`.
    pub op: String,
    /// `cancer`, `metastasis`, `stage`, `grade`, `biomarker`, `treatment`,
    /// `performance`, `sex`, `birth_date`.
    pub field: String,
    /// The canonical line of the fact changed (not for `add`).
    #[serde(default)]
    pub fact: Option<String>,
    /// The new value (for `correct` and `add`), in the field's JSON shape.
    #[serde(default)]
    pub value: Option<serde_json::Value>,
}

fn person() -> Provenance {
    Provenance {
        file: "you".into(),
        locator: "your correction".into(),
        method: Method::Person,
        excerpt: None,
    }
}

/// Applies the change `c` to `list`, whose facts' canonical lines are
/// `lines` (same order). Returns an issue when it cannot.
fn apply_to<T: serde::de::DeserializeOwned + PartialEq + Clone>(
    list: &mut Vec<Fact<T>>,
    lines: &[String],
    c: &Change,
    at: &str,
) -> Option<Issue> {
    let find = || {
        c.fact
            .as_ref()
            .and_then(|f| lines.iter().position(|l| l == f))
    };
    let parse = || -> Result<T, Issue> {
        let v = c
            .value
            .clone()
            .ok_or_else(|| Issue::new(at, "this change needs a value"))?;
        serde_json::from_value(v)
            .map_err(|e| Issue::new(at, format!("the value does not fit {}: {e}", c.field)))
    };
    match c.op.as_str() {
        "confirm" | "remove" | "correct" => {
            let Some(i) = find() else {
                return Some(Issue::new(
                    at,
                    format!(
                        "no {} fact {:?} in the profile",
                        c.field,
                        c.fact.as_deref().unwrap_or("")
                    ),
                ));
            };
            match c.op.as_str() {
                "confirm" => list[i].status = FactStatus::Confirmed,
                "remove" => list[i].status = FactStatus::Removed,
                _ => {
                    let value = match parse() {
                        Ok(v) => v,
                        Err(issue) => return Some(issue),
                    };
                    list[i].status = FactStatus::Removed;
                    list.push(Fact {
                        value,
                        provenance: vec![person()],
                        status: FactStatus::Corrected,
                    });
                }
            }
            None
        }
        "add" => match parse() {
            Ok(value) => {
                list.push(Fact {
                    value,
                    provenance: vec![person()],
                    status: FactStatus::Corrected,
                });
                None
            }
            Err(issue) => Some(issue),
        },
        other => Some(Issue::new(
            at,
            format!("unknown op {other:?}: use confirm, correct, remove or add"),
        )),
    }
}

/// The canonical lines of one field's facts, in list order.
fn lines_of(p: &Profile, field: &str, n: usize) -> Vec<String> {
    // canonical_facts sorts and skips removed facts; rebuild per fact so
    // positions match the list.
    (0..n)
        .map(|i| {
            let mut one = Profile::default();
            match field {
                "cancer" => one.primary_cancers.push(p.primary_cancers[i].clone()),
                "metastasis" => one.metastatic_sites.push(p.metastatic_sites[i].clone()),
                "stage" => one.stages.push(p.stages[i].clone()),
                "grade" => one.grades.push(p.grades[i].clone()),
                "biomarker" => one.biomarkers.push(p.biomarkers[i].clone()),
                "treatment" => one.treatments.push(p.treatments[i].clone()),
                "performance" => one.performance.push(p.performance[i].clone()),
                "sex" => one.sex.push(p.sex[i].clone()),
                _ => one.birth_date.push(p.birth_date[i].clone()),
            }
            // A removed fact has no line: it cannot be changed again.
            one.canonical_facts()
                .into_iter()
                .next()
                .map(|x| x.1)
                .unwrap_or_default()
        })
        .collect()
}

/// Applies a patch. Changes that cannot be applied are returned as issues;
/// the others are applied.
pub fn apply(p: &mut Profile, patch: &Patch) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (k, c) in patch.changes.iter().enumerate() {
        let at = format!("change {}", k + 1);
        let issue = match c.field.as_str() {
            "cancer" => {
                let l = lines_of(p, "cancer", p.primary_cancers.len());
                apply_to(&mut p.primary_cancers, &l, c, &at)
            }
            "metastasis" => {
                let l = lines_of(p, "metastasis", p.metastatic_sites.len());
                apply_to(&mut p.metastatic_sites, &l, c, &at)
            }
            "stage" => {
                let l = lines_of(p, "stage", p.stages.len());
                apply_to(&mut p.stages, &l, c, &at)
            }
            "grade" => {
                let l = lines_of(p, "grade", p.grades.len());
                apply_to(&mut p.grades, &l, c, &at)
            }
            "biomarker" => {
                let l = lines_of(p, "biomarker", p.biomarkers.len());
                apply_to(&mut p.biomarkers, &l, c, &at)
            }
            "treatment" => {
                let l = lines_of(p, "treatment", p.treatments.len());
                apply_to(&mut p.treatments, &l, c, &at)
            }
            "performance" => {
                let l = lines_of(p, "performance", p.performance.len());
                apply_to(&mut p.performance, &l, c, &at)
            }
            "sex" => {
                let l = lines_of(p, "sex", p.sex.len());
                apply_to(&mut p.sex, &l, c, &at)
            }
            "birth_date" => {
                let l = lines_of(p, "birth_date", p.birth_date.len());
                apply_to(&mut p.birth_date, &l, c, &at)
            }
            other => Some(Issue::new(&at, format!("unknown field {other:?}"))),
        };
        issues.extend(issue);
    }
    p.find_conflicts();
    issues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Biomarker, Site};

    fn prov() -> Provenance {
        Provenance {
            file: "r.json".into(),
            locator: "Observation/1".into(),
            method: Method::Coded,
            excerpt: None,
        }
    }

    fn profile() -> Profile {
        let mut p = Profile::default();
        p.biomarkers.push(Fact::new(
            Biomarker {
                name: "HER2".into(),
                result: "negative".into(),
                variant: None,
                origin: None,
                detail: None,
                code: None,
            },
            prov(),
        ));
        p.metastatic_sites.push(Fact::new(
            Site {
                name: "liver".into(),
                code: None,
            },
            prov(),
        ));
        p
    }

    #[test]
    fn corrections_win_and_removed_facts_do_not_come_back() {
        let mut p = profile();
        let patch: Patch = serde_json::from_str(
            r#"{"changes": [
                {"op": "correct", "field": "biomarker", "fact": "HER2 negative",
                 "value": {"name": "HER2", "result": "low", "detail": "IHC 1+"}},
                {"op": "remove", "field": "metastasis", "fact": "liver"},
                {"op": "add", "field": "metastasis", "value": {"name": "lung"}},
                {"op": "confirm", "field": "biomarker", "fact": "ER positive"}
            ]}"#,
        )
        .unwrap();
        let issues = apply(&mut p, &patch);
        assert_eq!(issues.len(), 1, "{issues:?}"); // no ER fact to confirm
        let lines: Vec<String> = p
            .canonical_facts()
            .into_iter()
            .map(|(f, v)| format!("{f}: {v}"))
            .collect();
        assert_eq!(lines, vec!["biomarker: HER2 low", "metastasis: lung"]);
        let her2 = p
            .biomarkers
            .iter()
            .find(|f| f.value.result == "low")
            .unwrap();
        assert_eq!(her2.status, FactStatus::Corrected);
        assert_eq!(her2.provenance[0].method, Method::Person);
        // Reading the record again does not bring back what was removed.
        p.merge(profile());
        let lines: Vec<String> = p
            .canonical_facts()
            .into_iter()
            .map(|(f, v)| format!("{f}: {v}"))
            .collect();
        assert_eq!(lines, vec!["biomarker: HER2 low", "metastasis: lung"]);
        assert!(p.conflicts.is_empty(), "{:?}", p.conflicts);
    }
}
