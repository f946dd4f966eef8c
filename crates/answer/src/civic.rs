//! What published studies say about a person's gene findings: CIViC's
//! clinical evidence summaries (the 1 August 2021 release, CC0), read from
//! `<data>/biomarkers/civic-2021-08/`. Items are matched by gene, variant
//! (or the gene's general "mutation" and "amplification" items when the
//! records name no variant) and the person's cancer type, and explained in
//! plain words, dated: the data are from 2021 and every item says so in
//! its `source`.

use std::path::Path;

use sextant_core::BiomarkerEvidence;

/// The evidence file inside the data folder.
pub const EVIDENCE_FILE: &str =
    "biomarkers/civic-2021-08/01-Aug-2021-ClinicalEvidenceSummaries.tsv";
/// Said with every item.
pub const SOURCE: &str = "CIViC, release of 1 August 2021";

/// One accepted evidence item.
#[derive(Debug, Clone)]
struct Item {
    gene: String,
    variant: String,
    disease: String,
    drugs: Vec<String>,
    evidence_type: String,
    direction: String,
    level: String,
    significance: String,
    pmid: Option<String>,
}

/// The loaded evidence.
#[derive(Debug, Clone, Default)]
pub struct Civic {
    items: Vec<Item>,
}

impl Civic {
    /// Loads the evidence file under `data`; `None` when it is absent.
    pub fn load(data: &Path) -> std::io::Result<Option<Civic>> {
        let path = data.join(EVIDENCE_FILE);
        if !path.is_file() {
            return Ok(None);
        }
        Ok(Some(Civic::parse(&std::fs::read_to_string(path)?)))
    }

    /// Parses the TSV (header row names the columns). Rows without the
    /// needed columns, and items not accepted, are left out.
    pub fn parse(tsv: &str) -> Civic {
        let mut lines = tsv.lines();
        let Some(header) = lines.next() else {
            return Civic::default();
        };
        let cols: Vec<&str> = header.split('\t').collect();
        let col = |name: &str| cols.iter().position(|c| *c == name);
        let (
            Some(gene),
            Some(variant),
            Some(disease),
            Some(drugs),
            Some(etype),
            Some(dir),
            Some(level),
            Some(sig),
        ) = (
            col("gene"),
            col("variant"),
            col("disease"),
            col("drugs"),
            col("evidence_type"),
            col("evidence_direction"),
            col("evidence_level"),
            col("clinical_significance"),
        )
        else {
            return Civic::default();
        };
        let (cite, source_type, status) = (
            col("citation_id"),
            col("source_type"),
            col("evidence_status"),
        );
        let items = lines
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                let get = |i: usize| f.get(i).map(|s| s.trim()).unwrap_or("");
                if status.is_some_and(|s| get(s) != "accepted") {
                    return None;
                }
                let pmid = match (cite, source_type) {
                    (Some(c), Some(st)) if get(st) == "PubMed" && !get(c).is_empty() => {
                        Some(get(c).to_string())
                    }
                    _ => None,
                };
                Some(Item {
                    gene: get(gene).to_string(),
                    variant: get(variant).to_string(),
                    disease: get(disease).to_string(),
                    drugs: get(drugs)
                        .split(',')
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(str::to_string)
                        .collect(),
                    evidence_type: get(etype).to_string(),
                    direction: get(dir).to_string(),
                    level: get(level).to_string(),
                    significance: get(sig).to_string(),
                    pmid,
                })
            })
            .filter(|i| !i.gene.is_empty())
            .collect();
        Civic { items }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Up to `limit` items for `gene` (and `variant`, when known) in a
    /// disease named by one of `disease_words`, strongest level first.
    pub fn evidence(
        &self,
        gene: &str,
        variant: Option<&str>,
        disease_words: &[&str],
        avoid: &[&str],
        limit: usize,
    ) -> Vec<BiomarkerEvidence> {
        let general = ["MUTATION", "AMPLIFICATION", "OVEREXPRESSION", "EXPRESSION"];
        let mut found: Vec<&Item> = self
            .items
            .iter()
            .filter(|i| i.gene.eq_ignore_ascii_case(gene))
            // "Supports" items only: "does not support" ones are hard to
            // state plainly without misleading.
            .filter(|i| i.direction == "Supports")
            .filter(|i| match variant {
                Some(v) => {
                    i.variant.eq_ignore_ascii_case(v)
                        || i.variant.to_uppercase().contains(&v.to_uppercase())
                }
                None => general.iter().any(|g| i.variant.eq_ignore_ascii_case(g)),
            })
            .filter(|i| {
                let d = i.disease.to_lowercase();
                disease_words.iter().any(|w| d.contains(w)) && !avoid.iter().any(|w| d.contains(w))
            })
            .collect();
        let type_rank = |t: &str| match t {
            "Predictive" => 0,
            "Prognostic" => 1,
            "Diagnostic" => 2,
            _ => 3,
        };
        found.sort_by(|a, b| {
            a.level
                .cmp(&b.level)
                .then(type_rank(&a.evidence_type).cmp(&type_rank(&b.evidence_type)))
                .then(a.pmid.cmp(&b.pmid))
        });
        found.dedup_by(|a, b| {
            a.variant == b.variant && a.drugs == b.drugs && a.significance == b.significance
        });
        found.into_iter().take(limit).map(explain).collect()
    }
}

/// An item in plain words.
fn explain(i: &Item) -> BiomarkerEvidence {
    let level = match i.level.as_str() {
        "A" => "Validated evidence",
        "B" => "Evidence from clinical studies",
        "C" => "Evidence from case reports",
        "D" => "Evidence from laboratory studies",
        _ => "Indirect evidence",
    };
    let what = format!("{} {}", i.gene, i.variant.to_lowercase());
    let drugs = i.drugs.join(" and ");
    let finding = match i.significance.as_str() {
        "Sensitivity/Response" => format!("was linked to a response to {drugs}"),
        "Resistance" => format!("was linked to resistance to {drugs}"),
        "Reduced Sensitivity" => format!("was linked to a weaker response to {drugs}"),
        "Adverse Response" => format!("was linked to side effects from {drugs}"),
        "Poor Outcome" => "was linked to a worse outlook".to_string(),
        "Better Outcome" => "was linked to a better outlook".to_string(),
        "Positive" => "helped confirm the diagnosis".to_string(),
        "Negative" => "made the diagnosis less likely".to_string(),
        "Pathogenic" | "Likely Pathogenic" => "raised the risk of cancer".to_string(),
        other => format!("was described as: {}", other.to_lowercase()),
    };
    BiomarkerEvidence {
        gene: i.gene.clone(),
        variant: i.variant.clone(),
        disease: i.disease.clone(),
        therapies: i.drugs.clone(),
        evidence_type: i.evidence_type.clone(),
        level: i.level.clone(),
        significance: i.significance.clone(),
        summary: format!(
            "{level} (level {}): in {}, {what} {finding}.",
            i.level,
            i.disease.to_lowercase()
        ),
        pmid: i.pmid.clone(),
        source: SOURCE.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TSV: &str = "gene\tvariant\tdisease\tdrugs\tevidence_type\tevidence_direction\tevidence_level\tclinical_significance\tcitation_id\tsource_type\tevidence_status\n\
PIK3CA\tMUTATION\tBreast Cancer\tAlpelisib\tPredictive\tSupports\tA\tSensitivity/Response\t31091374\tPubMed\taccepted\n\
PIK3CA\tMUTATION\tColorectal Cancer\tAspirin\tPredictive\tSupports\tB\tSensitivity/Response\t1\tPubMed\taccepted\n\
PIK3CA\tE545K\tBreast Cancer\tEverolimus\tPredictive\tSupports\tC\tSensitivity/Response\t2\tPubMed\taccepted\n\
PIK3CA\tMUTATION\tBreast Cancer\tX\tPredictive\tDoes Not Support\tB\tResistance\t3\tPubMed\taccepted\n\
PIK3CA\tMUTATION\tBreast Cancer\tY\tPredictive\tSupports\tB\tResistance\t4\tPubMed\tsubmitted\n";

    #[test]
    fn matches_gene_disease_and_variant_and_says_it_is_from_2021() {
        let c = Civic::parse(TSV);
        assert_eq!(c.len(), 4);
        let e = c.evidence("PIK3CA", None, &["breast"], &[], 5);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].therapies, vec!["Alpelisib"]);
        assert_eq!(e[0].pmid.as_deref(), Some("31091374"));
        assert!(
            e[0].summary.contains("response to Alpelisib"),
            "{}",
            e[0].summary
        );
        assert_eq!(e[0].source, SOURCE);
        let e = c.evidence("PIK3CA", Some("E545K"), &["breast"], &[], 5);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].variant, "E545K");
        assert!(c.evidence("KRAS", None, &["breast"], &[], 5).is_empty());
        assert!(c
            .evidence("PIK3CA", None, &["breast"], &["breast cancer"], 5)
            .is_empty());
    }
}
