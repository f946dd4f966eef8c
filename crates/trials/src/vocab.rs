//! Words for matching: tumor markers, drugs and the drug classes trials
//! name ("prior anti-PD-1 therapy", "a platinum-based regimen").

/// A drug class as trials name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    Checkpoint,
    Ctla4,
    Platinum,
    Taxane,
    AntiVegf,
    Parp,
    AntiHer2,
    EgfrInhibitor,
    AlkInhibitor,
    KrasG12c,
    Cdk46,
    Endocrine,
    Antiandrogen,
    Adc,
    Topo1,
    Anthracycline,
    Fluoropyrimidine,
    VegfrTki,
    BrafMek,
    Chemotherapy,
}

impl Class {
    pub fn label(self) -> &'static str {
        match self {
            Class::Checkpoint => "PD-1/PD-L1 immunotherapy",
            Class::Ctla4 => "anti-CTLA-4 immunotherapy",
            Class::Platinum => "platinum chemotherapy",
            Class::Taxane => "a taxane",
            Class::AntiVegf => "anti-VEGF therapy (such as bevacizumab)",
            Class::Parp => "a PARP inhibitor",
            Class::AntiHer2 => "HER2-targeted therapy",
            Class::EgfrInhibitor => "an EGFR inhibitor",
            Class::AlkInhibitor => "an ALK inhibitor",
            Class::KrasG12c => "a KRAS G12C inhibitor",
            Class::Cdk46 => "a CDK4/6 inhibitor",
            Class::Endocrine => "hormone (endocrine) therapy",
            Class::Antiandrogen => "hormone therapy for prostate cancer",
            Class::Adc => "an antibody-drug conjugate",
            Class::Topo1 => "a topoisomerase I inhibitor",
            Class::Anthracycline => "an anthracycline",
            Class::Fluoropyrimidine => "a fluoropyrimidine (5-FU or capecitabine)",
            Class::VegfrTki => "a VEGFR kinase inhibitor",
            Class::BrafMek => "a BRAF or MEK inhibitor",
            Class::Chemotherapy => "chemotherapy",
        }
    }
}

use Class::*;

/// A drug: generic name, other names, classes.
pub struct Drug {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub classes: &'static [Class],
}

macro_rules! d {
    ($n:literal, [$($a:literal),*], [$($c:ident),*]) => {
        Drug { name: $n, aliases: &[$($a),*], classes: &[$($c),*] }
    };
}

pub static DRUGS: &[Drug] = &[
    d!("pembrolizumab", ["keytruda", "pembro"], [Checkpoint]),
    d!("nivolumab", ["opdivo", "nivo"], [Checkpoint]),
    d!("atezolizumab", ["tecentriq", "atezo"], [Checkpoint]),
    d!("durvalumab", ["imfinzi", "durva"], [Checkpoint]),
    d!("avelumab", ["bavencio"], [Checkpoint]),
    d!("cemiplimab", ["libtayo"], [Checkpoint]),
    d!("dostarlimab", ["jemperli"], [Checkpoint]),
    d!("retifanlimab", [], [Checkpoint]),
    d!("tislelizumab", [], [Checkpoint]),
    d!("toripalimab", [], [Checkpoint]),
    d!("ipilimumab", ["yervoy", "ipi"], [Ctla4]),
    d!("tremelimumab", [], [Ctla4]),
    d!(
        "carboplatin",
        ["carbo", "paraplatin"],
        [Platinum, Chemotherapy]
    ),
    d!("cisplatin", ["cis", "platinol"], [Platinum, Chemotherapy]),
    d!(
        "oxaliplatin",
        ["eloxatin", "oxali"],
        [Platinum, Chemotherapy]
    ),
    d!("paclitaxel", ["taxol"], [Taxane, Chemotherapy]),
    d!("nab-paclitaxel", ["abraxane"], [Taxane, Chemotherapy]),
    d!("docetaxel", ["taxotere"], [Taxane, Chemotherapy]),
    d!("cabazitaxel", ["jevtana"], [Taxane, Chemotherapy]),
    d!("bevacizumab", ["avastin", "bev", "mvasi"], [AntiVegf]),
    d!("ramucirumab", ["cyramza"], [AntiVegf]),
    d!("aflibercept", ["zaltrap"], [AntiVegf]),
    d!("olaparib", ["lynparza"], [Parp]),
    d!("niraparib", ["zejula"], [Parp]),
    d!("rucaparib", ["rubraca"], [Parp]),
    d!("talazoparib", ["talzenna"], [Parp]),
    d!("trastuzumab", ["herceptin"], [AntiHer2]),
    d!("pertuzumab", ["perjeta"], [AntiHer2]),
    d!(
        "trastuzumab deruxtecan",
        ["enhertu", "t-dxd", "ds-8201"],
        [AntiHer2, Adc, Topo1]
    ),
    d!(
        "trastuzumab emtansine",
        ["kadcyla", "t-dm1"],
        [AntiHer2, Adc]
    ),
    d!("tucatinib", ["tukysa"], [AntiHer2]),
    d!("lapatinib", ["tykerb"], [AntiHer2]),
    d!("neratinib", ["nerlynx"], [AntiHer2]),
    d!("osimertinib", ["tagrisso"], [EgfrInhibitor]),
    d!("erlotinib", ["tarceva"], [EgfrInhibitor]),
    d!("gefitinib", ["iressa"], [EgfrInhibitor]),
    d!("afatinib", ["gilotrif"], [EgfrInhibitor]),
    d!("amivantamab", ["rybrevant"], [EgfrInhibitor]),
    d!("cetuximab", ["erbitux"], [EgfrInhibitor]),
    d!("panitumumab", ["vectibix"], [EgfrInhibitor]),
    d!("alectinib", ["alecensa"], [AlkInhibitor]),
    d!("lorlatinib", ["lorbrena"], [AlkInhibitor]),
    d!("crizotinib", ["xalkori"], [AlkInhibitor]),
    d!("brigatinib", ["alunbrig"], [AlkInhibitor]),
    d!("sotorasib", ["lumakras"], [KrasG12c]),
    d!("adagrasib", ["krazati"], [KrasG12c]),
    d!("palbociclib", ["ibrance"], [Cdk46]),
    d!("ribociclib", ["kisqali"], [Cdk46]),
    d!("abemaciclib", ["verzenio"], [Cdk46]),
    d!("letrozole", ["femara"], [Endocrine]),
    d!("anastrozole", ["arimidex"], [Endocrine]),
    d!("exemestane", ["aromasin"], [Endocrine]),
    d!("tamoxifen", [], [Endocrine]),
    d!("fulvestrant", ["faslodex"], [Endocrine]),
    d!("elacestrant", ["orserdu"], [Endocrine]),
    d!("enzalutamide", ["xtandi"], [Antiandrogen]),
    d!("abiraterone", ["zytiga"], [Antiandrogen]),
    d!("apalutamide", ["erleada"], [Antiandrogen]),
    d!("darolutamide", ["nubeqa"], [Antiandrogen]),
    d!("leuprolide", ["lupron", "adt"], [Antiandrogen]),
    d!("degarelix", ["firmagon"], [Antiandrogen]),
    d!(
        "sacituzumab govitecan",
        ["trodelvy", "sacituzumab"],
        [Adc, Topo1]
    ),
    d!("tisotumab vedotin", ["tivdak", "tisotumab"], [Adc]),
    d!("enfortumab vedotin", ["padcev", "enfortumab"], [Adc]),
    d!(
        "mirvetuximab soravtansine",
        ["elahere", "mirvetuximab"],
        [Adc]
    ),
    d!(
        "datopotamab deruxtecan",
        ["dato-dxd", "datroway"],
        [Adc, Topo1]
    ),
    d!("irinotecan", ["camptosar", "cpt-11"], [Topo1, Chemotherapy]),
    d!("topotecan", ["hycamtin"], [Topo1, Chemotherapy]),
    d!(
        "doxorubicin",
        ["adriamycin", "doxil"],
        [Anthracycline, Chemotherapy]
    ),
    d!("epirubicin", [], [Anthracycline, Chemotherapy]),
    d!(
        "fluorouracil",
        ["5-fu", "5fu"],
        [Fluoropyrimidine, Chemotherapy]
    ),
    d!(
        "capecitabine",
        ["xeloda", "cape"],
        [Fluoropyrimidine, Chemotherapy]
    ),
    d!(
        "folfox",
        ["mfolfox6"],
        [Fluoropyrimidine, Platinum, Chemotherapy]
    ),
    d!("folfiri", [], [Fluoropyrimidine, Topo1, Chemotherapy]),
    d!(
        "folfirinox",
        ["mfolfirinox"],
        [Fluoropyrimidine, Platinum, Topo1, Chemotherapy]
    ),
    d!(
        "capox",
        ["xelox"],
        [Fluoropyrimidine, Platinum, Chemotherapy]
    ),
    d!("gemcitabine", ["gemzar", "gem"], [Chemotherapy]),
    d!("pemetrexed", ["alimta"], [Chemotherapy]),
    d!("etoposide", ["vp-16"], [Chemotherapy]),
    d!("cyclophosphamide", ["cytoxan"], [Chemotherapy]),
    d!("vinorelbine", ["navelbine"], [Chemotherapy]),
    d!("eribulin", ["halaven"], [Chemotherapy]),
    d!("temozolomide", ["temodar"], [Chemotherapy]),
    d!("ifosfamide", [], [Chemotherapy]),
    d!("trabectedin", [], [Chemotherapy]),
    d!("lenvatinib", ["lenvima"], [VegfrTki]),
    d!("cabozantinib", ["cabometyx"], [VegfrTki]),
    d!("sunitinib", ["sutent"], [VegfrTki]),
    d!("pazopanib", ["votrient"], [VegfrTki]),
    d!("axitinib", ["inlyta"], [VegfrTki]),
    d!("regorafenib", ["stivarga"], [VegfrTki]),
    d!("sorafenib", ["nexavar"], [VegfrTki]),
    d!("dabrafenib", ["tafinlar"], [BrafMek]),
    d!("trametinib", ["mekinist"], [BrafMek]),
    d!("encorafenib", ["braftovi"], [BrafMek]),
    d!("binimetinib", ["mektovi"], [BrafMek]),
    d!("vemurafenib", ["zelboraf"], [BrafMek]),
    d!("rituximab", ["rituxan"], []),
    d!(
        "r-chop",
        ["chop", "rchop", "r-chop-21"],
        [Anthracycline, Chemotherapy]
    ),
    d!("abvd", [], [Anthracycline, Chemotherapy]),
    d!("brentuximab vedotin", ["adcetris", "brentuximab"], [Adc]),
    d!("bendamustine", ["treanda"], [Chemotherapy]),
    d!("ibrutinib", ["imbruvica"], []),
    d!("lenalidomide", ["revlimid"], []),
    d!("pomalidomide", ["pomalyst"], []),
    d!("bortezomib", ["velcade"], []),
    d!("daratumumab", ["darzalex"], []),
    d!("venetoclax", ["venclexta"], []),
    d!("azacitidine", ["vidaza"], [Chemotherapy]),
    d!("cytarabine", ["ara-c"], [Chemotherapy]),
    d!("bleomycin", [], [Chemotherapy]),
    d!("mitomycin", ["mitomycin c"], [Chemotherapy]),
    d!("everolimus", ["afinitor"], []),
    d!("megestrol", [], [Endocrine]),
];

/// Class phrases in criteria text (lower-case).
const CLASS_PHRASES: &[(&str, Class)] = &[
    ("anti-pd-1", Checkpoint),
    ("anti-pd-l1", Checkpoint),
    ("anti-pd1", Checkpoint),
    ("anti-pdl1", Checkpoint),
    ("pd-1/pd-l1", Checkpoint),
    ("pd-(l)1", Checkpoint),
    ("pd-1 inhibitor", Checkpoint),
    ("pd-l1 inhibitor", Checkpoint),
    ("checkpoint inhibitor", Checkpoint),
    ("immune checkpoint", Checkpoint),
    ("immunotherapy", Checkpoint),
    ("anti-ctla-4", Ctla4),
    ("anti-ctla4", Ctla4),
    ("platinum", Platinum),
    ("taxane", Taxane),
    ("anti-vegf", AntiVegf),
    ("anti-angiogenic", AntiVegf),
    ("antiangiogenic", AntiVegf),
    ("parp inhibitor", Parp),
    ("parpi", Parp),
    ("anti-her2", AntiHer2),
    ("her2-directed", AntiHer2),
    ("her2-targeted", AntiHer2),
    ("her2 directed", AntiHer2),
    ("her2 targeted", AntiHer2),
    ("egfr tki", EgfrInhibitor),
    ("egfr tyrosine kinase inhibitor", EgfrInhibitor),
    ("egfr inhibitor", EgfrInhibitor),
    ("anti-egfr", EgfrInhibitor),
    ("alk inhibitor", AlkInhibitor),
    ("alk tki", AlkInhibitor),
    ("g12c inhibitor", KrasG12c),
    ("cdk4/6", Cdk46),
    ("endocrine therapy", Endocrine),
    ("hormonal therapy", Endocrine),
    ("hormone therapy", Endocrine),
    ("aromatase inhibitor", Endocrine),
    ("androgen deprivation", Antiandrogen),
    ("antiandrogen", Antiandrogen),
    ("androgen receptor pathway inhibitor", Antiandrogen),
    ("antibody-drug conjugate", Adc),
    ("antibody drug conjugate", Adc),
    ("topoisomerase i", Topo1),
    ("topoisomerase-i", Topo1),
    ("topoisomerase 1", Topo1),
    ("anthracycline", Anthracycline),
    ("fluoropyrimidine", Fluoropyrimidine),
    ("braf inhibitor", BrafMek),
    ("mek inhibitor", BrafMek),
    ("chemotherapy", Chemotherapy),
    ("cytotoxic", Chemotherapy),
];

/// The drug a treatment name refers to (generic, brand or abbreviation).
pub fn drug(name: &str) -> Option<&'static Drug> {
    let n = name.trim().to_lowercase();
    DRUGS.iter().find(|d| {
        d.name == n || d.aliases.contains(&n.as_str()) || n.starts_with(&format!("{} ", d.name))
    })
}

/// Is `phrase` in `lower` as whole words?
pub fn has_word(lower: &str, phrase: &str) -> bool {
    let b = lower.as_bytes();
    let mut from = 0;
    while let Some(i) = lower[from..].find(phrase) {
        let s = from + i;
        let e = s + phrase.len();
        let before = s == 0 || !b[s - 1].is_ascii_alphanumeric();
        let after = e >= b.len() || !b[e].is_ascii_alphanumeric();
        if before && after {
            return true;
        }
        from = s + 1;
        while from < lower.len() && !lower.is_char_boundary(from) {
            from += 1;
        }
        if from >= lower.len() {
            break;
        }
    }
    false
}

/// Drugs named in a text.
pub fn drugs_in(text: &str) -> Vec<&'static Drug> {
    let l = text.to_lowercase();
    DRUGS
        .iter()
        .filter(|d| {
            // Short abbreviations ("cis", "gem", "ipi") only count in
            // records, never in criteria text.
            has_word(&l, d.name)
                || d.aliases
                    .iter()
                    .any(|a| a.len() > 4 && has_word(&l, a) && *a != "sacituzumab")
        })
        .collect()
}

/// Drug classes named in a text, by class phrase or by a drug of the class.
pub fn classes_in(text: &str) -> Vec<Class> {
    let l = text.to_lowercase();
    let mut out: Vec<Class> = Vec::new();
    for (p, c) in CLASS_PHRASES {
        if l.contains(p) && !out.contains(c) {
            out.push(*c);
        }
    }
    out
}

/// A tumor marker and the names that mean it.
pub struct Marker {
    pub name: &'static str,
    /// Case-sensitive whole-token symbols.
    pub symbols: &'static [&'static str],
    /// Lower-case phrases.
    pub phrases: &'static [&'static str],
    /// What someone would ask for to settle it.
    pub test: &'static str,
}

macro_rules! m {
    ($n:literal, [$($s:literal),*], [$($p:literal),*], $t:literal) => {
        Marker { name: $n, symbols: &[$($s),*], phrases: &[$($p),*], test: $t }
    };
}

pub static MARKERS: &[Marker] = &[
    m!(
        "HER2",
        ["HER2", "HER-2", "ERBB2", "Her2", "HER2/neu"],
        ["human epidermal growth factor receptor 2"],
        "a HER2 test (IHC or FISH) on the tumor"
    ),
    m!(
        "ER",
        ["ER", "ER+", "ER-"],
        ["estrogen receptor", "oestrogen receptor"],
        "the estrogen receptor (ER) result from the pathology report"
    ),
    m!(
        "PR",
        ["PR", "PgR"],
        ["progesterone receptor"],
        "the progesterone receptor (PR) result from the pathology report"
    ),
    m!(
        "HR",
        [],
        ["hormone receptor", "hr-positive", "hr+"],
        "the hormone receptor (ER/PR) results from the pathology report"
    ),
    m!(
        "PD-L1",
        ["PD-L1", "PDL1", "CPS", "TPS"],
        [
            "programmed death-ligand 1",
            "programmed death ligand 1",
            "combined positive score",
            "tumor proportion score"
        ],
        "a PD-L1 test on the tumor"
    ),
    m!(
        "MSI",
        ["MSI", "MSI-H", "MSS", "MSI-high"],
        ["microsatellite"],
        "a microsatellite instability (MSI) test"
    ),
    m!(
        "MMR",
        ["dMMR", "pMMR", "MMR"],
        ["mismatch repair"],
        "a mismatch repair (MMR) test on the tumor"
    ),
    m!(
        "TMB",
        ["TMB", "TMB-H"],
        ["tumor mutational burden", "tumour mutational burden"],
        "a tumor mutational burden (TMB) result from genomic testing"
    ),
    m!(
        "KRAS",
        ["KRAS"],
        [],
        "genomic testing of the tumor for KRAS"
    ),
    m!(
        "NRAS",
        ["NRAS"],
        [],
        "genomic testing of the tumor for NRAS"
    ),
    m!(
        "BRAF",
        ["BRAF"],
        [],
        "genomic testing of the tumor for BRAF"
    ),
    m!(
        "EGFR",
        ["EGFR"],
        ["epidermal growth factor receptor"],
        "genomic testing of the tumor for EGFR"
    ),
    m!("ALK", ["ALK"], [], "testing of the tumor for ALK"),
    m!("ROS1", ["ROS1"], [], "testing of the tumor for ROS1"),
    m!(
        "MET",
        ["MET", "cMET", "c-MET", "c-Met"],
        [],
        "testing of the tumor for MET"
    ),
    m!("RET", ["RET"], [], "testing of the tumor for RET"),
    m!(
        "NTRK",
        ["NTRK", "NTRK1", "NTRK2", "NTRK3", "TRK"],
        [],
        "testing of the tumor for NTRK fusions"
    ),
    m!(
        "PIK3CA",
        ["PIK3CA"],
        [],
        "genomic testing of the tumor for PIK3CA"
    ),
    m!(
        "AKT1",
        ["AKT1"],
        [],
        "genomic testing of the tumor for AKT1"
    ),
    m!(
        "PTEN",
        ["PTEN"],
        [],
        "genomic testing of the tumor for PTEN"
    ),
    m!(
        "BRCA",
        ["BRCA", "BRCA1", "BRCA2", "BRCA1/2", "gBRCA", "sBRCA"],
        [],
        "BRCA testing (blood or tumor)"
    ),
    m!(
        "HRD",
        ["HRD"],
        ["homologous recombination"],
        "a homologous recombination deficiency (HRD) test"
    ),
    m!(
        "IDH",
        ["IDH1", "IDH2", "IDH"],
        [],
        "testing of the tumor for IDH1/IDH2"
    ),
    m!(
        "FGFR",
        ["FGFR", "FGFR1", "FGFR2", "FGFR3", "FGFR4"],
        [],
        "genomic testing of the tumor for FGFR changes"
    ),
    m!("KIT", ["KIT", "c-KIT"], [], "testing of the tumor for KIT"),
    m!("ESR1", ["ESR1"], [], "testing for ESR1 mutations"),
    m!(
        "TP53",
        ["TP53", "p53"],
        [],
        "genomic testing of the tumor for TP53"
    ),
    m!(
        "HPV",
        ["HPV"],
        ["human papillomavirus"],
        "an HPV (p16) test result"
    ),
    m!(
        "CLDN18.2",
        ["CLDN18.2", "CLDN18"],
        ["claudin 18.2", "claudin-18.2", "claudin18.2"],
        "a claudin 18.2 test on the tumor"
    ),
    m!(
        "TROP2",
        ["TROP2", "TROP-2"],
        [],
        "a TROP2 test on the tumor"
    ),
    m!(
        "FRα",
        ["FRα", "FOLR1"],
        [
            "folate receptor alpha",
            "folate receptor-alpha",
            "folate receptor α"
        ],
        "a folate receptor alpha test on the tumor"
    ),
    m!("B7-H3", ["B7-H3", "B7H3"], [], "a B7-H3 test on the tumor"),
    m!("DLL3", ["DLL3"], [], "a DLL3 test on the tumor"),
    m!("PSMA", ["PSMA"], [], "a PSMA PET scan"),
    m!(
        "HLA",
        ["HLA-A*02:01", "HLA-A2", "HLA-A*02"],
        [],
        "an HLA type blood test"
    ),
    m!(
        "NRG1",
        ["NRG1"],
        [],
        "testing of the tumor for NRG1 fusions"
    ),
    m!("MTAP", ["MTAP"], [], "testing of the tumor for MTAP loss"),
];

/// Markers a text names as tumor markers (not as drug targets: "anti-PD-L1
/// therapy" or "EGFR inhibitor" name a treatment, not a test).
pub fn markers_in(text: &str) -> Vec<&'static Marker> {
    let lower = text.to_lowercase();
    let mut out: Vec<&'static Marker> = Vec::new();
    // Case-sensitive tokens, split on characters that never occur inside a
    // symbol.
    let toks: Vec<(usize, &str)> = tokens(text);
    for (i, (pos, tok)) in toks.iter().enumerate() {
        let tok = tok.trim_end_matches(['+', '-', ',', '.', ';', ':']);
        let tok_plain = tok;
        for m in MARKERS {
            if out.iter().any(|o| o.name == m.name) {
                continue;
            }
            let hit = m.symbols.iter().any(|s| {
                *s == tok_plain
                    || tok_plain.strip_prefix(s).is_some_and(|r| {
                        r.starts_with(['-', '/', '(']) && !r.starts_with("-directed")
                    })
            });
            if hit && !as_drug_target(text, *pos, toks.get(i + 1).map(|t| t.1)) {
                out.push(m);
            }
        }
    }
    for m in MARKERS {
        if out.iter().any(|o| o.name == m.name) {
            continue;
        }
        if m.phrases.iter().any(|p| lower.contains(p)) {
            out.push(m);
        }
    }
    out
}

fn tokens(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let inside = c.is_alphanumeric() || matches!(c, '-' | '+' | '/' | '*' | ':' | '.' | 'α');
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// "anti-PD-L1", "PD-L1 inhibitor", "EGFR TKI", "HER2-directed": a drug.
/// `pos` is a char boundary of `text` (lower-casing can change byte
/// lengths, so each side is lower-cased on its own).
fn as_drug_target(text: &str, pos: usize, next: Option<&str>) -> bool {
    let before = text[..pos].to_lowercase();
    if before.ends_with("anti-") || before.ends_with("anti ") || before.ends_with("pd-1/") {
        return true;
    }
    let next = next.map(|n| n.to_lowercase()).unwrap_or_default();
    let rest = text[pos..].to_lowercase();
    let tail = rest.split_whitespace().next().unwrap_or("");
    [
        "inhibitor",
        "inhibitors",
        "tki",
        "tkis",
        "blockade",
        "antibody",
        "antibodies",
        "agent",
        "agents",
        "-directed",
        "-targeted",
        "directed",
        "targeted",
        "therapy",
        "-based",
        "based",
    ]
    .iter()
    .any(|w| next.starts_with(w) || tail.ends_with(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &str) -> Vec<&'static str> {
        markers_in(t).iter().map(|m| m.name).collect()
    }

    #[test]
    fn markers_not_drug_targets() {
        assert_eq!(names("PD-L1 CPS >= 1"), vec!["PD-L1"]);
        assert!(names("prior anti-PD-1/PD-L1 therapy").is_empty());
        assert!(names("prior EGFR inhibitor").is_empty());
        assert_eq!(names("EGFR exon 19 deletion"), vec!["EGFR"]);
        assert_eq!(names("HER2-positive breast cancer"), vec!["HER2"]);
        assert!(names("eGFR >= 60 mL/min").is_empty());
        assert_eq!(names("MSI-H or dMMR"), vec!["MSI", "MMR"]);
        assert_eq!(names("KRAS G12C mutation"), vec!["KRAS"]);
        // Lower-casing "İ" grows it by a byte: positions must not be shared.
        assert!(names("İİİİ anti-PD-L1 İ").is_empty());
        assert_eq!(names("ȺȺȺ PD-L1 positive"), vec!["PD-L1"]);
    }

    #[test]
    fn drugs_and_classes() {
        assert_eq!(drug("Carbo").map(|d| d.name), Some("carboplatin"));
        assert_eq!(drug("KEYTRUDA").map(|d| d.name), Some("pembrolizumab"));
        let found: Vec<_> = drugs_in("prior sacituzumab govitecan or Enhertu")
            .iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(
            found,
            vec!["trastuzumab deruxtecan", "sacituzumab govitecan"]
        );
        assert_eq!(
            classes_in("a platinum-based regimen and anti-PD-1 therapy"),
            vec![Checkpoint, Platinum]
        );
        assert!(has_word("prior cis.", "cis"));
        assert!(!has_word("precision", "cis"));
    }
}
