//! A profile in plain words for a terminal, each fact followed by where it
//! came from (JSON is serde's).

use crate::profile::{Fact, FactStatus, Profile, Provenance, TreatmentKind};

fn sources(p: &[Provenance]) -> String {
    p.iter()
        .map(|p| format!("{} ({})", p.file, p.locator))
        .collect::<Vec<_>>()
        .join("; ")
}

fn line<T>(o: &mut String, f: &Fact<T>, text: String) {
    let mark = match f.status {
        FactStatus::Extracted => "",
        FactStatus::Confirmed => " [confirmed]",
        FactStatus::Corrected => " [corrected by you]",
        FactStatus::Removed => return,
    };
    o.push_str(&format!(
        "  - {text}{mark}\n      from {}\n",
        sources(&f.provenance)
    ));
}

/// The profile as text.
pub fn text(p: &Profile) -> String {
    let mut o = String::from("Patient profile\n===============\n");
    if p.is_empty() {
        o.push_str("\nNothing about cancer was found in these records.\n");
    }
    let section = |o: &mut String, title: &str, empty: bool| {
        if !empty {
            o.push_str(&format!("\n{title}\n"));
        }
    };
    section(&mut o, "Cancer", p.primary_cancers.is_empty());
    for f in &p.primary_cancers {
        let c = &f.value;
        let mut t = c.name.clone();
        if let Some(s) = &c.site {
            t.push_str(&format!("; site: {s}"));
        }
        if let Some(l) = &c.laterality {
            t.push_str(&format!("; {l}"));
        }
        if let Some(code) = &c.code {
            t.push_str(&format!(
                " [{} {}]",
                code.system.rsplit('/').next().unwrap_or(""),
                code.code
            ));
        }
        line(&mut o, f, t);
    }
    section(
        &mut o,
        "Spread to (metastatic sites)",
        p.metastatic_sites.is_empty(),
    );
    for f in &p.metastatic_sites {
        line(&mut o, f, f.value.name.clone());
    }
    section(&mut o, "Stage", p.stages.is_empty());
    for f in &p.stages {
        let s = &f.value;
        let mut parts = Vec::new();
        if let Some(g) = &s.group {
            parts.push(format!("stage {g}"));
        }
        for (l, v) in [("T", &s.t), ("N", &s.n), ("M", &s.m)] {
            if let Some(v) = v {
                parts.push(format!("{l}: {v}"));
            }
        }
        if let Some(k) = &s.kind {
            parts.push(format!("({k})"));
        }
        line(&mut o, f, parts.join(" "));
    }
    section(&mut o, "Grade", p.grades.is_empty());
    for f in &p.grades {
        line(&mut o, f, f.value.clone());
    }
    section(&mut o, "Biomarkers", p.biomarkers.is_empty());
    for f in &p.biomarkers {
        let b = &f.value;
        let mut t = format!("{}: {}", b.name, b.result);
        if let Some(v) = &b.variant {
            t.push_str(&format!(" ({v})"));
        }
        if let Some(orig) = &b.origin {
            t.push_str(&format!(", {orig}"));
        }
        line(&mut o, f, t);
    }
    section(&mut o, "Treatments", p.treatments.is_empty());
    for f in &p.treatments {
        let t = &f.value;
        let kind = match t.kind {
            TreatmentKind::Medication => "medicine",
            TreatmentKind::Surgery => "surgery",
            TreatmentKind::Radiation => "radiation",
            TreatmentKind::Other => "treatment",
        };
        let mut s = format!("{kind}: {}", t.name);
        if let Some(st) = &t.status {
            s.push_str(&format!(", {st}"));
        }
        if let Some(d) = &t.start {
            s.push_str(&format!(", from {d}"));
        }
        if let Some(d) = &t.end {
            s.push_str(&format!(" to {d}"));
        }
        line(&mut o, f, s);
    }
    section(&mut o, "Performance status", p.performance.is_empty());
    for f in &p.performance {
        line(&mut o, f, format!("{} {}", f.value.scale, f.value.value));
    }
    section(
        &mut o,
        "About you",
        p.sex.is_empty() && p.birth_date.is_empty() && p.age.is_empty(),
    );
    for f in &p.sex {
        line(&mut o, f, format!("sex: {}", f.value));
    }
    for f in &p.birth_date {
        line(&mut o, f, format!("born: {}", f.value));
    }
    for f in &p.age {
        line(&mut o, f, format!("age: {}", f.value));
    }
    if !p.conflicts.is_empty() {
        o.push_str("\nRecords that disagree (ask your care team which is right)\n");
        for c in &p.conflicts {
            o.push_str(&format!("  - {c}\n"));
        }
    }
    if !p.issues.is_empty() {
        o.push_str("\nParts that could not be read\n");
        for i in &p.issues {
            o.push_str(&format!("  - {i}\n"));
        }
    }
    o
}
