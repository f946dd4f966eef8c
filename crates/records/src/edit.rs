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

use serde::{Deserialize, Serialize};
use sextant_core::Issue;

use crate::profile::{Fact, FactStatus, Method, Profile, Provenance};

/// A set of changes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Patch {
    pub changes: Vec<Change>,
}

/// One change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// `confirm`, `correct`, `remove` or `add`.
    pub op: String,
    /// `cancer`, `metastasis`, `stage`, `grade`, `biomarker`, `treatment`,
    /// `performance`, `sex`, `birth_date`, `age`.
    pub field: String,
    /// The canonical line of the fact changed (not for `add`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fact: Option<String>,
    /// The new value (for `correct` and `add`), in the field's JSON shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// The canonical line of one fact: the name corrections use for it. `put`
/// adds a fact to a profile's field.
fn line_of<T: Clone>(f: &Fact<T>, put: fn(&mut Profile, Fact<T>)) -> String {
    let mut one = Profile::default();
    put(&mut one, f.clone());
    one.canonical_facts()
        .into_iter()
        .next()
        .map(|x| x.1)
        .unwrap_or_default()
}

/// Applies the change `c` to `list`.
fn apply_to<T: serde::de::DeserializeOwned + PartialEq + Clone>(
    list: &mut Vec<Fact<T>>,
    put: fn(&mut Profile, Fact<T>),
    c: &Change,
    at: &str,
) -> Option<Issue> {
    // A removed fact has no line: it cannot be changed again.
    let lines: Vec<String> = list.iter().map(|f| line_of(f, put)).collect();
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
        // A number typed as a string ("47" for an age) is read as JSON.
        let text = v.as_str().map(str::to_string);
        serde_json::from_value(v)
            .or_else(|e| match &text {
                Some(t) => serde_json::from_str(t.trim()).map_err(|_| e),
                None => Err(e),
            })
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

/// Something done to every field of a profile, whatever its value type.
trait FieldVisitor {
    fn visit<T: Serialize + serde::de::DeserializeOwned + PartialEq + Clone>(
        &mut self,
        field: &'static str,
        list: &mut Vec<Fact<T>>,
        put: fn(&mut Profile, Fact<T>),
    );
}

/// The one list of the fields corrections name, with the profile list each
/// names.
fn visit_fields(p: &mut Profile, v: &mut impl FieldVisitor) {
    v.visit("cancer", &mut p.primary_cancers, |p, f| {
        p.primary_cancers.push(f)
    });
    v.visit("metastasis", &mut p.metastatic_sites, |p, f| {
        p.metastatic_sites.push(f)
    });
    v.visit("stage", &mut p.stages, |p, f| p.stages.push(f));
    v.visit("grade", &mut p.grades, |p, f| p.grades.push(f));
    v.visit("biomarker", &mut p.biomarkers, |p, f| p.biomarkers.push(f));
    v.visit("treatment", &mut p.treatments, |p, f| p.treatments.push(f));
    v.visit("performance", &mut p.performance, |p, f| {
        p.performance.push(f)
    });
    v.visit("sex", &mut p.sex, |p, f| p.sex.push(f));
    v.visit("birth_date", &mut p.birth_date, |p, f| p.birth_date.push(f));
    v.visit("age", &mut p.age, |p, f| p.age.push(f));
}

/// The fields corrections can change, with the keys of each one's value
/// (none: the value is a plain string, as for `grade`, or a number written
/// as one, as for `age`), the order a person is asked for them in.
pub const FIELDS: &[(&str, &[&str])] = &[
    (
        "cancer",
        &["name", "type_id", "histology", "site", "laterality"],
    ),
    ("metastasis", &["name"]),
    ("stage", &["group", "t", "n", "m", "kind", "system"]),
    ("grade", &[]),
    (
        "biomarker",
        &["name", "result", "variant", "origin", "detail"],
    ),
    ("treatment", &["kind", "name", "status", "start", "end"]),
    ("performance", &["scale", "value"]),
    ("sex", &[]),
    ("birth_date", &[]),
    ("age", &[]),
];

/// Applies a patch. Changes that cannot be applied are returned as issues;
/// the others are applied.
pub fn apply(p: &mut Profile, patch: &Patch) -> Vec<Issue> {
    struct One<'a> {
        change: &'a Change,
        at: String,
        issue: Option<Issue>,
        found: bool,
    }
    impl FieldVisitor for One<'_> {
        fn visit<T: Serialize + serde::de::DeserializeOwned + PartialEq + Clone>(
            &mut self,
            field: &'static str,
            list: &mut Vec<Fact<T>>,
            put: fn(&mut Profile, Fact<T>),
        ) {
            if field == self.change.field {
                self.found = true;
                self.issue = apply_to(list, put, self.change, &self.at);
            }
        }
    }
    let mut issues = Vec::new();
    for (k, c) in patch.changes.iter().enumerate() {
        let mut one = One {
            change: c,
            at: format!("change {}", k + 1),
            issue: None,
            found: false,
        };
        visit_fields(p, &mut one);
        if !one.found {
            issues.push(Issue::new(
                &one.at,
                format!(
                    "unknown field {:?}: use one of {}",
                    c.field,
                    FIELDS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        issues.extend(one.issue);
    }
    p.find_conflicts();
    issues
}

/// A fact the person can review, named as corrections name it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The patch field (`biomarker`).
    pub field: &'static str,
    /// The fact's canonical line (`HER2 negative`).
    pub line: String,
    /// The value in the field's JSON shape, the starting point of a
    /// correction.
    pub value: serde_json::Value,
    pub provenance: Vec<Provenance>,
    pub status: FactStatus,
}

/// Every fact not removed, in profile order, for review.
pub fn entries(p: &Profile) -> Vec<Entry> {
    struct Collect(Vec<Entry>);
    impl FieldVisitor for Collect {
        fn visit<T: Serialize + serde::de::DeserializeOwned + PartialEq + Clone>(
            &mut self,
            field: &'static str,
            list: &mut Vec<Fact<T>>,
            put: fn(&mut Profile, Fact<T>),
        ) {
            for f in list.iter().filter(|f| f.status != FactStatus::Removed) {
                self.0.push(Entry {
                    field,
                    line: line_of(f, put),
                    value: serde_json::to_value(&f.value).unwrap_or_default(),
                    provenance: f.provenance.clone(),
                    status: f.status,
                });
            }
        }
    }
    let mut c = Collect(Vec::new());
    visit_fields(&mut p.clone(), &mut c);
    c.0
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

    #[test]
    fn every_field_can_be_added_from_its_keys() {
        let mut p = Profile::default();
        let changes = FIELDS
            .iter()
            .map(|(field, keys)| Change {
                op: "add".into(),
                field: field.to_string(),
                fact: None,
                value: Some(if *field == "age" {
                    // A number, typed as text the way a person types it.
                    serde_json::json!("47")
                } else if keys.is_empty() {
                    serde_json::json!("x")
                } else {
                    keys.iter()
                        .map(|k| {
                            let v = if *k == "kind" && *field == "treatment" {
                                "medication"
                            } else {
                                "x"
                            };
                            (k.to_string(), serde_json::json!(v))
                        })
                        .collect()
                }),
            })
            .collect();
        let issues = apply(&mut p, &Patch { changes });
        assert!(issues.is_empty(), "{issues:?}");
        let listed: Vec<&str> = entries(&p).iter().map(|e| e.field).collect();
        let fields: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
        assert_eq!(listed, fields);
    }
}
