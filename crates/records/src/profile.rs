//! The patient profile: facts that matter for cancer questions, each with
//! where it came from and how it was obtained. Facts from several files are
//! merged ([`Profile::merge`]); facts that disagree are both kept and listed
//! in [`Profile::conflicts`], never silently resolved.

use serde::{Deserialize, Serialize};
use sextant_core::Issue;

/// A code from a code system (SNOMED CT, LOINC, RxNorm, ICD-10...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Code {
    /// The system's URI or short name (`http://snomed.info/sct`).
    pub system: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// How a fact was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// From a coded element (a FHIR or C-CDA code).
    Coded,
    /// From a pattern in free text.
    TextPattern,
    /// Stated or corrected by the person.
    Person,
}

/// Where a fact came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Provenance {
    /// The file, as given.
    pub file: String,
    /// Where in it: `Observation/abc123 valueCodeableConcept`, `section
    /// Problems, entry 2`, or `chars 120..135`.
    pub locator: String,
    pub method: Method,
    /// The words the fact was read from, for text patterns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
}

/// What the person has said about a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactStatus {
    /// Read from a record, not yet reviewed.
    #[default]
    Extracted,
    /// The person confirmed it.
    Confirmed,
    /// The person corrected it (the value is theirs).
    Corrected,
    /// The person removed it; kept so that a re-read record does not bring
    /// it back.
    Removed,
}

/// A value with its sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact<T> {
    pub value: T,
    pub provenance: Vec<Provenance>,
    #[serde(default)]
    pub status: FactStatus,
}

impl<T> Fact<T> {
    pub fn new(value: T, provenance: Provenance) -> Fact<T> {
        Fact {
            value,
            provenance: vec![provenance],
            status: FactStatus::Extracted,
        }
    }
}

/// A primary cancer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cancer {
    /// Sextant's catalog id (`breast`), when the cancer maps to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_id: Option<String>,
    /// As the record names it ("Infiltrating duct carcinoma of breast").
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histology: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub laterality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
}

/// A site the cancer has spread to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Site {
    /// Plain name ("liver", "bone", "axillary lymph nodes").
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
}

/// A stage: a group, TNM categories, or both.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Stage {
    /// `clinical` or `pathologic`, when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The stage group in Roman numerals ("IV", "IIA").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<String>,
    /// The staging system ("AJCC 8th"), when stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
}

/// A biomarker result: a receptor, a score, or a gene variant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Biomarker {
    /// Short name: `ER`, `PR`, `HER2`, `Ki-67`, `PD-L1`, `MSI`, `TMB`, or a
    /// gene symbol (`KRAS`).
    pub name: String,
    /// `positive`, `negative`, `equivocal`, `present`, `absent`, `high`,
    /// `low`, or a value ("2+", "30%").
    pub result: String,
    /// For gene variants: the change ("G12C", "exon 19 deletion").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `somatic` or `germline`, where stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Method or detail ("IHC", "FISH not amplified").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
}

/// What kind of treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TreatmentKind {
    Medication,
    Surgery,
    Radiation,
    Other,
}

/// A treatment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Treatment {
    pub kind: TreatmentKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// As recorded (`active`, `completed`, `stopped`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
}

/// A performance status.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Performance {
    /// `ECOG` or `Karnofsky`.
    pub scale: String,
    pub value: String,
}

/// Everything extracted from a person's records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub primary_cancers: Vec<Fact<Cancer>>,
    pub metastatic_sites: Vec<Fact<Site>>,
    pub stages: Vec<Fact<Stage>>,
    pub grades: Vec<Fact<String>>,
    pub biomarkers: Vec<Fact<Biomarker>>,
    pub treatments: Vec<Fact<Treatment>>,
    pub performance: Vec<Fact<Performance>>,
    /// `female`, `male`, `other`, `unknown`, as recorded.
    pub sex: Vec<Fact<String>>,
    /// `YYYY-MM-DD` or `YYYY`, as recorded.
    pub birth_date: Vec<Fact<String>>,
    /// Age in years as a record states it (a clinical note's
    /// "47-year-old").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub age: Vec<Fact<u32>>,
    /// Facts of the same kind that disagree ("ER positive" in one file,
    /// "ER negative" in another), in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
    /// What could not be read, and where.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<Issue>,
}

/// Adds `fact` to `list`: the same value merges its provenance into the
/// existing fact; a new value is appended.
pub fn add<T: PartialEq>(list: &mut Vec<Fact<T>>, fact: Fact<T>) {
    match list.iter_mut().find(|f| f.value == fact.value) {
        Some(f) => {
            for p in fact.provenance {
                if !f.provenance.contains(&p) {
                    f.provenance.push(p);
                }
            }
        }
        None => list.push(fact),
    }
}

impl Profile {
    /// Merges another profile (another file's facts) into this one, then
    /// lists conflicts.
    pub fn merge(&mut self, other: Profile) {
        for f in other.primary_cancers {
            add(&mut self.primary_cancers, f);
        }
        for f in other.metastatic_sites {
            add(&mut self.metastatic_sites, f);
        }
        for f in other.stages {
            add(&mut self.stages, f);
        }
        for f in other.grades {
            add(&mut self.grades, f);
        }
        for f in other.biomarkers {
            add(&mut self.biomarkers, f);
        }
        for f in other.treatments {
            add(&mut self.treatments, f);
        }
        for f in other.performance {
            add(&mut self.performance, f);
        }
        for f in other.sex {
            add(&mut self.sex, f);
        }
        for f in other.birth_date {
            add(&mut self.birth_date, f);
        }
        for f in other.age {
            add(&mut self.age, f);
        }
        self.issues.extend(other.issues);
        self.fold_stages();
        self.find_conflicts();
    }

    /// Folds a stage that says less into one that says the same and more
    /// ("IV" from a condition's summary into "IV, clinical, AJCC 8th" from
    /// its staging observation), keeping both sources.
    pub fn fold_stages(&mut self) {
        let mut i = 0;
        while i < self.stages.len() {
            let a = self.stages[i].value.clone();
            let richer = self.stages.iter().position(|b| {
                let b = &b.value;
                b != &a
                    && [
                        (&a.group, &b.group),
                        (&a.t, &b.t),
                        (&a.n, &b.n),
                        (&a.m, &b.m),
                        (&a.kind, &b.kind),
                        (&a.system, &b.system),
                    ]
                    .iter()
                    .all(|(x, y)| x.is_none() || x == y)
            });
            match richer {
                Some(j) => {
                    let gone = self.stages.remove(i);
                    let j = if j > i { j - 1 } else { j };
                    for p in gone.provenance {
                        if !self.stages[j].provenance.contains(&p) {
                            self.stages[j].provenance.push(p);
                        }
                    }
                }
                None => i += 1,
            }
        }
    }

    /// Recomputes [`Profile::conflicts`]: biomarkers of one name (and
    /// variant) with different results, different stage groups, sexes,
    /// birth dates or ages.
    pub fn find_conflicts(&mut self) {
        let mut out = Vec::new();
        let live = |s: FactStatus| s != FactStatus::Removed;
        let bms: Vec<&Fact<Biomarker>> =
            self.biomarkers.iter().filter(|f| live(f.status)).collect();
        for (i, a) in bms.iter().enumerate() {
            for b in &bms[i + 1..] {
                if a.value.name.eq_ignore_ascii_case(&b.value.name)
                    && a.value.variant == b.value.variant
                    && !a.value.result.eq_ignore_ascii_case(&b.value.result)
                {
                    out.push(format!(
                        "{}: {} and {} in different records",
                        a.value.name, a.value.result, b.value.result
                    ));
                }
            }
        }
        let mut groups: Vec<&str> = self
            .stages
            .iter()
            .filter(|f| live(f.status))
            .filter_map(|f| f.value.group.as_deref())
            .collect();
        groups.sort_unstable();
        groups.dedup();
        if groups.len() > 1 {
            out.push(format!(
                "stage: {} in different records",
                groups.join(" and ")
            ));
        }
        for (what, list) in [("sex", &self.sex), ("birth date", &self.birth_date)] {
            let mut vals: Vec<&str> = list
                .iter()
                .filter(|f| live(f.status))
                .map(|f| f.value.as_str())
                .collect();
            vals.sort_unstable();
            vals.dedup();
            if vals.len() > 1 {
                out.push(format!(
                    "{what}: {} in different records",
                    vals.join(" and ")
                ));
            }
        }
        let mut ages: Vec<u32> = self
            .age
            .iter()
            .filter(|f| live(f.status))
            .map(|f| f.value)
            .collect();
        ages.sort_unstable();
        ages.dedup();
        if ages.len() > 1 {
            let ages: Vec<String> = ages.iter().map(u32::to_string).collect();
            out.push(format!("age: {} in different records", ages.join(" and ")));
        }
        self.conflicts = out;
    }

    /// Every fact that is not removed, as `(field, value)` in one canonical
    /// line each ("biomarker", "ER positive"): what `eval records` and the
    /// expected-profile tests compare.
    pub fn canonical_facts(&self) -> Vec<(&'static str, String)> {
        fn live<T>(fs: &[Fact<T>]) -> impl Iterator<Item = &T> {
            fs.iter()
                .filter(|f| f.status != FactStatus::Removed)
                .map(|f| &f.value)
        }
        fn opt(label: &str, v: &Option<String>) -> Option<String> {
            v.as_ref().map(|v| format!("{label}{v}"))
        }
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for c in live(&self.primary_cancers) {
            let parts: Vec<String> = [
                opt("type=", &c.type_id),
                opt("histology=", &c.histology),
                opt("site=", &c.site),
                opt("laterality=", &c.laterality),
            ]
            .into_iter()
            .flatten()
            .collect();
            out.push(("cancer", parts.join(" ")));
        }
        for m in live(&self.metastatic_sites) {
            out.push(("metastasis", m.name.clone()));
        }
        for st in live(&self.stages) {
            let parts: Vec<String> = [
                opt("group=", &st.group),
                opt("t=", &st.t),
                opt("n=", &st.n),
                opt("m=", &st.m),
            ]
            .into_iter()
            .flatten()
            .collect();
            out.push(("stage", parts.join(" ")));
        }
        for g in live(&self.grades) {
            out.push(("grade", g.clone()));
        }
        for b in live(&self.biomarkers) {
            let mut v = format!("{} {}", b.name, b.result);
            if let Some(x) = &b.variant {
                v.push_str(&format!(" {x}"));
            }
            out.push(("biomarker", v));
        }
        for t in live(&self.treatments) {
            let field = match t.kind {
                TreatmentKind::Medication => "medication",
                TreatmentKind::Surgery => "surgery",
                TreatmentKind::Radiation => "radiation",
                TreatmentKind::Other => "treatment",
            };
            // The drug or procedure, as its first word for medicines
            // ("fulvestrant Injectable Product" → "fulvestrant").
            let name = match t.kind {
                TreatmentKind::Medication => t
                    .name
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_lowercase(),
                _ => t.name.to_lowercase(),
            };
            let when = t
                .start
                .as_deref()
                .map(|d| d.get(..10).unwrap_or(d))
                .unwrap_or("?");
            out.push((
                field,
                format!("{name} {} {when}", t.status.as_deref().unwrap_or("?")),
            ));
        }
        for p in live(&self.performance) {
            out.push(("performance", format!("{} {}", p.scale, p.value)));
        }
        for s in live(&self.sex) {
            out.push(("sex", s.clone()));
        }
        for b in live(&self.birth_date) {
            out.push(("birth_date", b.clone()));
        }
        for a in live(&self.age) {
            out.push(("age", a.to_string()));
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether nothing was extracted.
    pub fn is_empty(&self) -> bool {
        self.primary_cancers.is_empty()
            && self.metastatic_sites.is_empty()
            && self.stages.is_empty()
            && self.grades.is_empty()
            && self.biomarkers.is_empty()
            && self.treatments.is_empty()
            && self.performance.is_empty()
            && self.sex.is_empty()
            && self.birth_date.is_empty()
            && self.age.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prov(file: &str) -> Provenance {
        Provenance {
            file: file.into(),
            locator: "x".into(),
            method: Method::Coded,
            excerpt: None,
        }
    }

    fn er(result: &str, file: &str) -> Fact<Biomarker> {
        Fact::new(
            Biomarker {
                name: "ER".into(),
                result: result.into(),
                variant: None,
                origin: None,
                detail: None,
                code: None,
            },
            prov(file),
        )
    }

    #[test]
    fn same_facts_merge_their_sources_and_different_ones_conflict() {
        let mut a = Profile::default();
        a.biomarkers.push(er("positive", "a.json"));
        let mut b = Profile::default();
        b.biomarkers.push(er("positive", "b.xml"));
        a.merge(b);
        assert_eq!(a.biomarkers.len(), 1);
        assert_eq!(a.biomarkers[0].provenance.len(), 2);
        assert!(a.conflicts.is_empty());
        let mut c = Profile::default();
        c.biomarkers.push(er("negative", "c.txt"));
        a.merge(c);
        assert_eq!(a.biomarkers.len(), 2);
        assert_eq!(
            a.conflicts,
            vec!["ER: positive and negative in different records"]
        );
    }
}
