//! C-CDA XML → profile facts. The patient's sex and birth date come from
//! the header (`recordTarget`); cancers, metastatic sites and stages from the
//! Problems section; cancer medicines from Medications; tumor markers and
//! stages from Results; cancer surgery and radiation from Procedures.
//!
//! Sections are found wherever they are (by LOINC code or templateId), so a
//! section or document fragment is read as well as a whole ClinicalDocument.
//! What counts as a cancer, a cancer medicine or a cancer procedure follows
//! the FHIR reader, so that one patient's facts from both formats merge.
//!
//! XML that does not parse is an error; everything else odd (an entry
//! without a code, a date that is not a date) is an [`Issue`] with its
//! section and entry, and the rest of the document is still read.

use std::collections::HashMap;

use roxmltree::{Document, Node};
use sextant_core::Issue;

use crate::fhir::stage_group;
use crate::profile::{
    add, Biomarker, Cancer, Code, Fact, Method, Profile, Provenance, Site, Stage, Treatment,
    TreatmentKind,
};
use crate::vocab::{
    histology_of, is_cancer, is_cancer_drug, is_secondary, laterality, marker_name, secondary_site,
    type_id, untag, Staging, RADIATION_WORDS, STAGING, SURGERY_WORDS,
};
use crate::{RecordsError, Result};

/// The HL7 v3 namespace C-CDA elements live in.
const V3: &str = "urn:hl7-org:v3";
/// The namespace of `xsi:type`.
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// The templateId of a Problem Observation.
const PROBLEM_OBSERVATION: &str = "2.16.840.1.113883.10.20.22.4.4";
/// Names, titles and values longer than this are cut: a record is
/// untrusted, and no clinical name needs more.
const MAX_TEXT: usize = 300;

/// Reads a C-CDA document into a profile; `name` is what provenance and
/// errors call it.
pub fn read(name: &str, bytes: &[u8]) -> Result<Profile> {
    let mut profile = Profile::default();
    let text = decode(name, bytes, &mut profile);
    let doc = parse(name, text.trim_start_matches('\u{feff}'))?;
    let root = doc.root_element();
    if !is(root, "ClinicalDocument") {
        profile.issues.push(Issue::new(
            name,
            format!(
                "the root element is <{}>, not a C-CDA ClinicalDocument; read as a fragment",
                clean(root.tag_name().name())
            ),
        ));
    }
    for target in root.descendants().filter(|n| is(*n, "recordTarget")) {
        patient(name, target, &mut profile);
    }
    for node in root.descendants().filter(|n| is(*n, "section")) {
        if let Some(kind) = section_kind(node) {
            read_section(name, node, kind, &mut profile);
        }
    }
    profile.find_conflicts();
    Ok(profile)
}

/// Parses the XML. roxmltree's defaults refuse DTDs, so no entity tricks
/// get through; it parses nested elements by recursion, so nesting is
/// bounded first, lest a hostile file overflow the stack.
fn parse<'t>(name: &str, text: &'t str) -> Result<Document<'t>> {
    let malformed = |detail: String| RecordsError::Malformed {
        path: name.to_string(),
        format: "C-CDA XML",
        detail,
    };
    if let Some(at) = too_deep(text.as_bytes()) {
        return Err(malformed(format!(
            "elements nested more than {MAX_NESTING} deep at {}",
            text_pos(text, at)
        )));
    }
    Document::parse(text).map_err(|e| {
        let (msg, pos) = (e.to_string(), e.pos().to_string());
        malformed(match msg.contains(&pos) {
            true => msg,
            false => format!("{msg} at {pos}"),
        })
    })
}

/// The deepest nesting read. Real C-CDA documents nest a few dozen deep.
const MAX_NESTING: usize = 128;

/// Where elements first nest deeper than [`MAX_NESTING`], by a scan of the
/// tags (comments, CDATA, declarations and quoted attribute values
/// skipped). Exact for well-formed XML; where the XML is not, the parser
/// stops at the first fault anyway.
fn too_deep(b: &[u8]) -> Option<usize> {
    let past = |from: usize, pat: &[u8]| {
        b[from..]
            .windows(pat.len())
            .position(|w| w == pat)
            .map_or(b.len(), |i| from + i + pat.len())
    };
    let (mut i, mut depth) = (0, 0usize);
    while let Some(lt) = b[i..].iter().position(|&c| c == b'<') {
        let at = i + lt;
        let rest = &b[at..];
        i = if rest.starts_with(b"<!--") {
            past(at, b"-->")
        } else if rest.starts_with(b"<![CDATA[") {
            past(at, b"]]>")
        } else if rest.starts_with(b"<?") {
            past(at, b"?>")
        } else if rest.starts_with(b"<!") {
            past(at, b">")
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            past(at, b">")
        } else {
            // An open tag: find its end outside quoted values.
            let mut j = at + 1;
            let mut quote = None;
            while j < b.len() {
                match (quote, b[j]) {
                    (None, q @ (b'"' | b'\'')) => quote = Some(q),
                    (Some(q), c) if c == q => quote = None,
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            if b[j - 1] != b'/' {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(at);
                }
            }
            j + 1
        };
        if i >= b.len() {
            break;
        }
    }
    None
}

/// "line:column" of a byte offset, as roxmltree says positions.
fn text_pos(text: &str, at: usize) -> String {
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    format!("{line}:{column}")
}

/// The document as text. Bytes that are not UTF-8 are replaced (and said
/// so) rather than failing a whole record for one bad character.
fn decode<'b>(name: &str, bytes: &'b [u8], p: &mut Profile) -> std::borrow::Cow<'b, str> {
    if let Err(e) = std::str::from_utf8(bytes) {
        p.issues.push(Issue::new(
            name,
            format!(
                "not valid UTF-8 from byte {}; unreadable characters were replaced",
                e.valid_up_to()
            ),
        ));
    }
    String::from_utf8_lossy(bytes)
}

// ---------------------------------------------------------------------------
// XML helpers. Elements are matched by local name in the HL7 v3 namespace
// (or none, for fragments), so `sdtc:` extensions never stand in for them.

type N<'a, 'i> = Node<'a, 'i>;

fn is(n: N, name: &str) -> bool {
    n.is_element()
        && n.tag_name().name() == name
        && matches!(n.tag_name().namespace(), None | Some(V3))
}

fn child<'a, 'i>(n: N<'a, 'i>, name: &str) -> Option<N<'a, 'i>> {
    n.children().find(|c| is(*c, name))
}

fn children<'a, 'i: 'a>(n: N<'a, 'i>, name: &'a str) -> impl Iterator<Item = N<'a, 'i>> + 'a {
    n.children().filter(move |c| is(*c, name))
}

/// The element at a path of child names.
fn path<'a, 'i>(n: N<'a, 'i>, names: &[&str]) -> Option<N<'a, 'i>> {
    names.iter().try_fold(n, |n, name| child(n, name))
}

/// A non-blank attribute, trimmed.
fn attr<'a>(n: N<'a, '_>, name: &str) -> Option<&'a str> {
    n.attribute(name).map(str::trim).filter(|s| !s.is_empty())
}

/// `xsi:type` without any namespace prefix of its own ("CD", "PQ").
fn xsi_type<'a>(n: N<'a, '_>) -> Option<&'a str> {
    let t = n.attribute((XSI, "type"))?;
    Some(t.rsplit(':').next().unwrap_or(t).trim())
}

fn has_template(n: N, root: &str) -> bool {
    children(n, "templateId").any(|t| t.attribute("root") == Some(root))
}

/// All the text under an element, whitespace collapsed.
fn text_of(n: N) -> String {
    let mut s = String::new();
    for t in n
        .descendants()
        .filter(|d| d.is_text())
        .filter_map(|d| d.text())
    {
        s.push_str(t);
        s.push(' ');
        if s.len() > 4 * MAX_TEXT {
            break;
        }
    }
    clean(&s)
}

/// Whitespace collapsed, cut to [`MAX_TEXT`] characters.
fn clean(s: &str) -> String {
    let mut out = String::new();
    for w in s.split_whitespace() {
        if out.len() + w.len() >= MAX_TEXT {
            let room = MAX_TEXT.saturating_sub(out.len() + 1);
            let cut: String = w.chars().take(room).collect();
            if !out.is_empty() && !cut.is_empty() {
                out.push(' ');
            }
            out.push_str(&cut);
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

fn nonempty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

// ---------------------------------------------------------------------------
// Codes.

/// FHIR URIs of the code systems records use, so that the same code read
/// from C-CDA and from FHIR is the same [`Code`].
const CODE_SYSTEMS: &[(&str, &str)] = &[
    ("2.16.840.1.113883.6.96", "http://snomed.info/sct"),
    ("2.16.840.1.113883.6.1", "http://loinc.org"),
    (
        "2.16.840.1.113883.6.88",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
    ),
    (
        "2.16.840.1.113883.6.90",
        "http://hl7.org/fhir/sid/icd-10-cm",
    ),
    ("2.16.840.1.113883.6.3", "http://hl7.org/fhir/sid/icd-10"),
    (
        "2.16.840.1.113883.6.103",
        "http://hl7.org/fhir/sid/icd-9-cm",
    ),
    ("2.16.840.1.113883.6.12", "http://www.ama-assn.org/go/cpt"),
    (
        "2.16.840.1.113883.6.4",
        "http://www.cms.gov/Medicare/Coding/ICD10",
    ),
    ("2.16.840.1.113883.6.285", "urn:oid:2.16.840.1.113883.6.285"),
    ("2.16.840.1.113883.6.69", "http://hl7.org/fhir/sid/ndc"),
    ("2.16.840.1.113883.3.26.1.1", "http://ncit.nci.nih.gov"),
    (
        "2.16.840.1.113883.6.43.1",
        "http://terminology.hl7.org/CodeSystem/icd-o-3",
    ),
];

fn system_uri(oid: Option<&str>) -> String {
    match oid {
        None => String::new(),
        Some(oid) => CODE_SYSTEMS
            .iter()
            .find(|(o, _)| *o == oid)
            .map(|(_, uri)| uri.to_string())
            .unwrap_or_else(|| format!("urn:oid:{}", clean(oid))),
    }
}

/// A coded element (`code`, `value`, `methodCode`...) read: its code, and
/// the names it gives, best first: displayName, then originalText (only
/// without a displayName: the narrative it points to is sometimes another
/// row's), then translations.
struct Coded {
    code: Option<Code>,
    names: Vec<String>,
}

impl Coded {
    fn name(&self) -> Option<&str> {
        self.names.first().map(String::as_str)
    }

    /// Whether any of its names satisfies `f`.
    fn any(&self, f: impl Fn(&str) -> bool) -> bool {
        self.names.iter().any(|n| f(n))
    }
}

fn code_of(el: N) -> Option<Code> {
    Some(Code {
        system: system_uri(attr(el, "codeSystem")),
        code: clean(attr(el, "code")?),
        display: attr(el, "displayName").map(clean),
    })
}

fn coded(el: N, ids: &Ids) -> Coded {
    let mut names = Vec::new();
    names.extend(attr(el, "displayName").map(clean));
    if names.is_empty() {
        names.extend(original_text(el, ids));
    }
    for t in children(el, "translation") {
        names.extend(attr(t, "displayName").map(clean));
    }
    names.retain(|n| !n.is_empty());
    let code = code_of(el).or_else(|| children(el, "translation").find_map(code_of));
    Coded { code, names }
}

/// A coded child element read; nothing when it is absent.
fn coded_child(parent: N, name: &str, ids: &Ids) -> Coded {
    match child(parent, name) {
        Some(el) => coded(el, ids),
        None => Coded {
            code: None,
            names: Vec::new(),
        },
    }
}

/// The elements of a section's narrative by their `ID`, for
/// `originalText/reference`.
type Ids<'a, 'i> = HashMap<&'a str, N<'a, 'i>>;

fn narrative_ids<'a, 'i>(section: N<'a, 'i>) -> Ids<'a, 'i> {
    let Some(text) = child(section, "text") else {
        return Ids::new();
    };
    text.descendants()
        .filter_map(|d| Some((d.attribute("ID")?, d)))
        .collect()
}

/// `originalText`: its own words, or the narrative it references.
fn original_text(el: N, ids: &Ids) -> Option<String> {
    let ot = child(el, "originalText")?;
    let reference = child(ot, "reference");
    let own = match reference {
        // The reference's own text (rare) is not the original text.
        Some(_) => clean(
            &ot.children()
                .filter(|c| c.is_text())
                .filter_map(|c| c.text())
                .collect::<String>(),
        ),
        None => text_of(ot),
    };
    if !own.is_empty() {
        return Some(own);
    }
    let id = reference?.attribute("value")?.trim().strip_prefix('#')?;
    nonempty(text_of(*ids.get(id)?))
}

// ---------------------------------------------------------------------------
// Dates.

/// An HL7 timestamp ("20130703", "201307061145-0800") → "2013-07-03",
/// "2013-07" or "2013"; `None` when it is not one.
fn hl7_date(s: &str) -> Option<String> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    // After the digits: a fraction of a second, then a zone ("-0800").
    let rest = &s[digits.len()..];
    let rest = match rest.strip_prefix('.') {
        Some(r) => r.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    let zone_ok = match rest.strip_prefix(['+', '-']) {
        Some(z) => z.len() == 4 && z.bytes().all(|b| b.is_ascii_digit()),
        None => rest.is_empty(),
    };
    if !zone_ok {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|d| d.parse::<u32>().ok());
    let year = num(0..4)?;
    match (digits.len(), num(4..6), num(6..8)) {
        (4, _, _) => Some(format!("{year:04}")),
        (6, Some(m @ 1..=12), _) => Some(format!("{year:04}-{m:02}")),
        (8.., Some(m @ 1..=12), Some(d @ 1..=31)) => Some(format!("{year:04}-{m:02}-{d:02}")),
        _ => None,
    }
}

/// The date of an element with a `value` (`birthTime`, `low`, `high`);
/// an unreadable one is an issue.
fn date_at(el: Option<N>, at: &At, what: &str, p: &mut Profile) -> Option<String> {
    let v = attr(el?, "value")?;
    let date = hl7_date(v);
    if date.is_none() {
        let message = format!("{what} {:?} is not an HL7 date, left out", clean(v));
        at.issue(p, message);
    }
    date
}

/// Start and end from `effectiveTime`: an interval's low and high, or a
/// single point. Frequencies (PIVL_TS, EIVL_TS) are not dates.
fn period(el: N, at: &At, p: &mut Profile) -> (Option<String>, Option<String>) {
    let Some(t) = children(el, "effectiveTime")
        .find(|t| !matches!(xsi_type(*t), Some("PIVL_TS" | "EIVL_TS" | "SXPR_TS")))
    else {
        return (None, None);
    };
    if attr(t, "value").is_some() {
        return (date_at(Some(t), at, "effectiveTime", p), None);
    }
    (
        date_at(child(t, "low"), at, "effectiveTime/low", p),
        date_at(child(t, "high"), at, "effectiveTime/high", p),
    )
}

// ---------------------------------------------------------------------------
// Where a fact comes from.

/// An entry being read: for provenance and issues.
struct At<'s> {
    file: &'s str,
    place: String,
}

impl At<'_> {
    fn prov(&self) -> Provenance {
        Provenance {
            file: self.file.to_string(),
            locator: self.place.clone(),
            method: Method::Coded,
            excerpt: None,
        }
    }

    fn issue(&self, p: &mut Profile, message: impl Into<String>) {
        p.issues
            .push(Issue::new(format!("{} {}", self.file, self.place), message));
    }
}

// ---------------------------------------------------------------------------
// The header.

fn patient(name: &str, target: N, p: &mut Profile) {
    let Some(pt) = path(target, &["patientRole", "patient"]) else {
        return;
    };
    let at = |element: &str| At {
        file: name,
        place: format!("recordTarget/patientRole/patient {element}"),
    };
    if let Some(g) = child(pt, "administrativeGenderCode") {
        let sex = match attr(g, "code").map(str::to_ascii_uppercase).as_deref() {
            Some("F") => Some("female"),
            Some("M") => Some("male"),
            Some("UN") => Some("other"),
            Some("UNK") => Some("unknown"),
            // A nullFlavor says nothing.
            None => None,
            Some(other) => {
                at("administrativeGenderCode").issue(
                    p,
                    format!("unknown gender code {:?}, left out", clean(other)),
                );
                None
            }
        };
        if let Some(sex) = sex {
            let prov = at("administrativeGenderCode").prov();
            add(&mut p.sex, Fact::new(sex.to_string(), prov));
        }
    }
    let born = at("birthTime");
    if let Some(d) = date_at(child(pt, "birthTime"), &born, "birthTime", p) {
        add(&mut p.birth_date, Fact::new(d, born.prov()));
    }
}

// ---------------------------------------------------------------------------
// Sections.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Problems,
    Medications,
    Results,
    Procedures,
}

/// Sections by LOINC code, and by templateId root (entries optional and
/// required): (kind, codes, templates).
type SectionType = (Kind, &'static [&'static str], &'static [&'static str]);

const SECTIONS: &[SectionType] = &[
    (
        Kind::Problems,
        &["11450-4"],
        &[
            "2.16.840.1.113883.10.20.22.2.5",
            "2.16.840.1.113883.10.20.22.2.5.1",
        ],
    ),
    (
        Kind::Medications,
        // 29549-3: medications administered (during the encounter).
        &["10160-0", "29549-3"],
        &[
            "2.16.840.1.113883.10.20.22.2.1",
            "2.16.840.1.113883.10.20.22.2.1.1",
            "2.16.840.1.113883.10.20.22.2.38",
        ],
    ),
    (
        Kind::Results,
        &["30954-2"],
        &[
            "2.16.840.1.113883.10.20.22.2.3",
            "2.16.840.1.113883.10.20.22.2.3.1",
        ],
    ),
    (
        Kind::Procedures,
        &["47519-4"],
        &[
            "2.16.840.1.113883.10.20.22.2.7",
            "2.16.840.1.113883.10.20.22.2.7.1",
        ],
    ),
];

/// A section's kind: by its LOINC code when it has one (templateIds are
/// sometimes copied wrong), else by templateId.
fn section_kind(section: N) -> Option<Kind> {
    let found = match child(section, "code").and_then(|c| attr(c, "code")) {
        Some(code) => SECTIONS.iter().find(|(_, codes, _)| codes.contains(&code)),
        None => SECTIONS
            .iter()
            .find(|(_, _, templates)| templates.iter().any(|t| has_template(section, t))),
    };
    found.map(|(kind, _, _)| *kind)
}

/// How a locator names a section: its title, else its code.
fn section_label(section: N, kind: Kind) -> String {
    child(section, "title")
        .map(text_of)
        .and_then(nonempty)
        .or_else(|| {
            child(section, "code")
                .and_then(|c| attr(c, "code"))
                .map(clean)
        })
        .unwrap_or_else(|| format!("{kind:?}"))
}

fn read_section(file: &str, section: N, kind: Kind, p: &mut Profile) {
    let label = section_label(section, kind);
    let ids = narrative_ids(section);
    // Entries are numbered from 1, as people count.
    for (i, entry) in children(section, "entry").enumerate() {
        let at = At {
            file,
            place: format!("section {label}, entry {}", i + 1),
        };
        match kind {
            Kind::Problems => problems(entry, &at, &ids, p),
            Kind::Medications => medications(entry, &at, &ids, p),
            Kind::Results => results(entry, &at, &ids, p),
            Kind::Procedures => procedures(entry, &at, &ids, p),
        }
    }
}

/// Whether an element, or anything around it within its entry, says it
/// did not happen.
fn negated(n: N, entry: N) -> bool {
    n.ancestors().take_while(|a| *a != entry).any(|a| {
        a.attribute("negationInd")
            .is_some_and(|v| v.trim() == "true")
    })
}

/// The elements of `names` in an entry that are not inside another of
/// them: the entry's own acts, not their sub-parts.
fn outermost<'a, 'i>(entry: N<'a, 'i>, names: &[&str]) -> Vec<N<'a, 'i>> {
    let hit = |n: &N| names.iter().any(|name| is(*n, name));
    entry
        .descendants()
        .filter(|n| {
            hit(n)
                && !n
                    .ancestors()
                    .skip(1)
                    .take_while(|a| *a != entry)
                    .any(|a| hit(&a))
        })
        .collect()
}

/// Observations in an entry that carry a staging code, read as stages.
fn stagings(entry: N, at: &At, ids: &Ids, p: &mut Profile) {
    for obs in entry.descendants().filter(|n| is(*n, "observation")) {
        if let Some(staging) = staging_of(obs) {
            if !negated(obs, entry) {
                stage(obs, staging, at, ids, p);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Problems.

fn problems(entry: N, at: &At, ids: &Ids, p: &mut Profile) {
    let is_staging = |o: &N| staging_of(*o).is_some();
    let mut found: Vec<N> = entry
        .descendants()
        .filter(|n| is(*n, "observation") && has_template(*n, PROBLEM_OBSERVATION))
        .collect();
    if found.is_empty() {
        // Without templateIds: the first observation with a value.
        found.extend(
            entry
                .descendants()
                .find(|n| is(*n, "observation") && child(*n, "value").is_some() && !is_staging(n)),
        );
    }
    let has_staging = entry
        .descendants()
        .any(|n| is(n, "observation") && is_staging(&n));
    if found.is_empty() && !has_staging {
        at.issue(p, "no problem observation with a value, skipped");
    }
    for obs in found {
        if !negated(obs, entry) {
            problem(obs, at, ids, p);
        }
    }
    stagings(entry, at, ids, p);
}

fn problem(obs: N, at: &At, ids: &Ids, p: &mut Profile) {
    let Some(value) = child(obs, "value") else {
        at.issue(p, "a problem observation without a value, skipped");
        return;
    };
    let mut c = coded(value, ids);
    if matches!(xsi_type(value), Some("ST")) {
        c.names.extend(nonempty(text_of(value)));
    }
    if c.names.is_empty() {
        if c.code.is_none() {
            at.issue(p, "a problem without a code or a name, skipped");
        }
        return;
    }
    if let Some(name) = c.names.iter().find(|n| is_secondary(n)) {
        let site = secondary_site(name);
        add(
            &mut p.metastatic_sites,
            Fact::new(
                Site {
                    name: site,
                    code: c.code,
                },
                at.prov(),
            ),
        );
        return;
    }
    // The first name that says cancer (a translation may say it when the
    // displayName does not).
    let Some(name) = c.names.iter().find(|n| is_cancer(n)).map(|n| untag(n)) else {
        return;
    };
    let site = child(obs, "targetSiteCode").and_then(|t| coded(t, ids).names.into_iter().next());
    let site = site.map(|s| untag(&s).replace(" structure", "").to_lowercase());
    // Laterality is a word of the name or site, or a qualifier's value.
    let qualifiers: Vec<String> = obs
        .descendants()
        .filter(|n| is(*n, "qualifier"))
        .filter_map(|q| child(q, "value").and_then(|v| attr(v, "displayName")))
        .map(str::to_lowercase)
        .collect();
    let words = format!(
        "{} {} {}",
        name.to_lowercase(),
        site.clone().unwrap_or_default(),
        qualifiers.join(" ")
    );
    let cancer = Cancer {
        type_id: type_id(&name, site.as_deref()),
        histology: histology_of(&name),
        laterality: laterality(&words),
        name,
        site,
        code: c.code,
    };
    add(&mut p.primary_cancers, Fact::new(cancer, at.prov()));
}

// ---------------------------------------------------------------------------
// Stages and tumor markers.

/// What an observation stages, by its code.
fn staging_of(obs: N) -> Option<&'static Staging> {
    let code = child(obs, "code").and_then(|c| attr(c, "code"))?;
    STAGING.iter().find(|(s, _, _)| *s == code)
}

fn stage(obs: N, staging: &Staging, at: &At, ids: &Ids, p: &mut Profile) {
    let (_, part, kind) = *staging;
    let Some((value, _)) = child(obs, "value").and_then(|v| value_words(v, ids)) else {
        at.issue(p, "a staging observation without a value, skipped");
        return;
    };
    let mut stage = Stage {
        kind: Some(kind.to_string()),
        system: coded_child(obs, "methodCode", ids)
            .names
            .into_iter()
            .next()
            .map(|m| untag(&m)),
        ..Stage::default()
    };
    match part {
        "group" => stage.group = Some(stage_group(&value)),
        "t" => stage.t = Some(value),
        "n" => stage.n = Some(value),
        _ => stage.m = Some(value),
    }
    add(&mut p.stages, Fact::new(stage, at.prov()));
}

/// A value in words: text, a code's name ("Positive"), or a quantity with
/// its unit ("12 ng/mL", "30%"); and whether it is a quantity.
fn value_words(v: N, ids: &Ids) -> Option<(String, bool)> {
    if matches!(xsi_type(v), Some("ST" | "ED")) {
        return nonempty(text_of(v)).map(|t| (t, false));
    }
    let c = coded(v, ids);
    if let Some(name) = c.name() {
        return Some((untag(name), false));
    }
    if let Some(n) = attr(v, "value") {
        // UCUM's "1" is no unit.
        let unit = attr(v, "unit").filter(|u| *u != "1").unwrap_or("");
        let sep = if unit.is_empty() || unit == "%" {
            ""
        } else {
            " "
        };
        return Some((clean(&format!("{n}{sep}{unit}")), true));
    }
    let code = c.code.map(|c| c.code);
    code.or_else(|| nonempty(text_of(v))).map(|w| (w, false))
}

// ---------------------------------------------------------------------------
// Results.

fn results(entry: N, at: &At, ids: &Ids, p: &mut Profile) {
    for obs in entry.descendants().filter(|n| is(*n, "observation")) {
        if negated(obs, entry) {
            continue;
        }
        let Some(code_el) = child(obs, "code") else {
            at.issue(p, "a result observation without a code, skipped");
            continue;
        };
        if let Some(staging) = staging_of(obs) {
            stage(obs, staging, at, ids, p);
            continue;
        }
        let c = coded(code_el, ids);
        let loinc = c.code.as_ref().map(|c| c.code.as_str());
        if c.code.is_none() && c.names.is_empty() {
            at.issue(p, "a result observation without a code, skipped");
            continue;
        }
        if let Some(name) = marker_name(loinc, &c.names) {
            marker(obs, name, c.code, at, ids, p);
        }
    }
}

fn marker(obs: N, name: &str, code: Option<Code>, at: &At, ids: &Ids, p: &mut Profile) {
    let Some((words, quantity)) = child(obs, "value").and_then(|v| value_words(v, ids)) else {
        at.issue(p, format!("a {name} result without a value, skipped"));
        return;
    };
    // "positive", as the FHIR reader says results; units keep their case.
    let result = if quantity {
        words
    } else {
        words.to_lowercase()
    };
    let detail = coded_child(obs, "methodCode", ids)
        .names
        .into_iter()
        .next()
        .map(|m| untag(&m));
    let biomarker = Biomarker {
        name: name.to_string(),
        result,
        variant: None,
        origin: None,
        detail,
        code,
    };
    add(&mut p.biomarkers, Fact::new(biomarker, at.prov()));
}

// ---------------------------------------------------------------------------
// Medications.

fn medications(entry: N, at: &At, ids: &Ids, p: &mut Profile) {
    let found = outermost(entry, &["substanceAdministration"]);
    if found.is_empty() {
        at.issue(p, "no substanceAdministration, skipped");
    }
    for sa in found {
        if !negated(sa, entry) {
            medication(sa, entry, at, ids, p);
        }
    }
}

/// An act's `statusCode` (`active`, `completed`...).
fn status(n: N) -> Option<String> {
    child(n, "statusCode")
        .and_then(|s| attr(s, "code"))
        .map(clean)
}

/// Whether an act was recorded in error.
fn nullified(n: N) -> bool {
    status(n).as_deref() == Some("nullified")
}

fn medication(sa: N, entry: N, at: &At, ids: &Ids, p: &mut Profile) {
    if nullified(sa) {
        return;
    }
    let Some(material) = path(
        sa,
        &["consumable", "manufacturedProduct", "manufacturedMaterial"],
    ) else {
        at.issue(
            p,
            "a medication without consumable/manufacturedProduct/manufacturedMaterial, skipped",
        );
        return;
    };
    let mut c = coded_child(material, "code", ids);
    c.names
        .extend(child(material, "name").map(text_of).and_then(nonempty));
    let Some(name) = c.name().map(untag) else {
        at.issue(p, "a medication without a code or a name, skipped");
        return;
    };
    // A medicine given for a cancer is cancer-related whatever its name.
    let for_cancer = sa
        .descendants()
        .filter(|n| is(*n, "entryRelationship") && n.attribute("typeCode") == Some("RSON"))
        .filter_map(|r| child(r, "observation").filter(|o| !negated(*o, entry)))
        .filter_map(|o| child(o, "value"))
        .any(|v| coded(v, ids).any(is_cancer));
    if !c.any(is_cancer_drug) && !for_cancer {
        return;
    }
    let (start, end) = period(sa, at, p);
    let treatment = Treatment {
        kind: TreatmentKind::Medication,
        name,
        code: c.code,
        status: status(sa),
        start,
        end,
    };
    add(&mut p.treatments, Fact::new(treatment, at.prov()));
}

// ---------------------------------------------------------------------------
// Procedures.

fn procedures(entry: N, at: &At, ids: &Ids, p: &mut Profile) {
    let found = outermost(entry, &["procedure", "act", "observation"]);
    if found.is_empty() {
        at.issue(p, "no procedure, skipped");
    }
    for proc in found {
        if !negated(proc, entry) {
            procedure(proc, at, ids, p);
        }
    }
}

fn procedure(proc: N, at: &At, ids: &Ids, p: &mut Profile) {
    if nullified(proc) {
        return;
    }
    let c = coded_child(proc, "code", ids);
    let Some(name) = c.name().map(untag) else {
        at.issue(p, "a procedure without a code or a name, skipped");
        return;
    };
    let has = |words: &[&str]| c.any(|n| words.iter().any(|w| n.to_lowercase().contains(w)));
    let kind = if has(RADIATION_WORDS) {
        TreatmentKind::Radiation
    } else if has(SURGERY_WORDS) {
        TreatmentKind::Surgery
    } else {
        return;
    };
    let (start, end) = period(proc, at, p);
    let treatment = Treatment {
        kind,
        name,
        code: c.code,
        status: status(proc),
        start,
        end,
    };
    add(&mut p.treatments, Fact::new(treatment, at.prov()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hl7_dates() {
        assert_eq!(hl7_date("19590101"), Some("1959-01-01".into()));
        assert_eq!(hl7_date("201307061145-0800"), Some("2013-07-06".into()));
        assert_eq!(hl7_date("2013"), Some("2013".into()));
        assert_eq!(hl7_date("201307"), Some("2013-07".into()));
        assert_eq!(
            hl7_date("20130706114512.123+0100"),
            Some("2013-07-06".into())
        );
        assert_eq!(hl7_date("2013-07-06"), None);
        assert_eq!(hl7_date("1959-01-01"), None);
        assert_eq!(hl7_date("20131306"), None);
        assert_eq!(hl7_date("abc"), None);
        assert_eq!(hl7_date("٢٠١٣"), None);
    }

    #[test]
    fn clean_cuts_on_characters() {
        let long = "é".repeat(1000);
        let c = clean(&long);
        assert!(c.chars().count() <= MAX_TEXT);
        assert_eq!(clean("  a \n b  "), "a b");
    }

    #[test]
    fn secondary_sites() {
        assert_eq!(
            secondary_site("Secondary malignant neoplasm of liver (disorder)"),
            "liver"
        );
        assert!(is_secondary("Metastasis to bone"));
        assert!(!is_secondary("Metastatic breast cancer"));
    }
}
