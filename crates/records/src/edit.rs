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

/// Applies the change `c` to `list`. `put` adds a fact to a profile's
/// field, which gives each fact its canonical line (the name changes use).
fn apply_to<T: serde::de::DeserializeOwned + PartialEq + Clone>(
    list: &mut Vec<Fact<T>>,
    put: fn(&mut Profile, Fact<T>),
    c: &Change,
    at: &str,
) -> Option<Issue> {
    // A removed fact has no line: it cannot be changed again.
    let lines: Vec<String> = list
        .iter()
        .map(|f| {
            let mut one = Profile::default();
            put(&mut one, f.clone());
            one.canonical_facts()
                .into_iter()
                .next()
                .map(|x| x.1)
                .unwrap_or_default()
        })
        .collect();
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

/// Applies a patch. Changes that cannot be applied are returned as issues;
/// the others are applied.
pub fn apply(p: &mut Profile, patch: &Patch) -> Vec<Issue> {
    let mut issues = Vec::new();
    for (k, c) in patch.changes.iter().enumerate() {
        let at = format!("change {}", k + 1);
        let issue = match c.field.as_str() {
            "cancer" => apply_to(
                &mut p.primary_cancers,
                |p, f| p.primary_cancers.push(f),
                c,
                &at,
            ),
            "metastasis" => apply_to(
                &mut p.metastatic_sites,
                |p, f| p.metastatic_sites.push(f),
                c,
                &at,
            ),
            "stage" => apply_to(&mut p.stages, |p, f| p.stages.push(f), c, &at),
            "grade" => apply_to(&mut p.grades, |p, f| p.grades.push(f), c, &at),
            "biomarker" => apply_to(&mut p.biomarkers, |p, f| p.biomarkers.push(f), c, &at),
            "treatment" => apply_to(&mut p.treatments, |p, f| p.treatments.push(f), c, &at),
            "performance" => apply_to(&mut p.performance, |p, f| p.performance.push(f), c, &at),
            "sex" => apply_to(&mut p.sex, |p, f| p.sex.push(f), c, &at),
            "birth_date" => apply_to(&mut p.birth_date, |p, f| p.birth_date.push(f), c, &at),
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
