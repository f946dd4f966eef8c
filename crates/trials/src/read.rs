//! Readers: trial records in any of the three formats, as bytes, a file or
//! a folder, into [`Trial`]s.
//!
//! The format is sniffed from the content, never from the file name:
//! gzip is unpacked first (with a bound on the unpacked size), then the
//! JSON's shape decides: `protocolSection` is a ClinicalTrials.gov v2
//! study, `{"studies": [...]}` a ClinicalTrials.gov search page, `nctid` a
//! NIH-TrialBench record, `nci_id` (or `nct_id` with NCI fields) an NCI CTS
//! trial, `{"data"|"trials": [...]}` an NCI CTS search answer. One object a
//! line (JSON Lines) and a JSON array of records are read record by record.
//!
//! Records are untrusted: a wrong-typed or absurd field becomes an
//! [`Issue`] and is left out, a record without an id is skipped with an
//! issue, and only input with nothing readable at all is an error.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use sextant_core::Issue;

use crate::model::{
    parse_age, CodedBiomarker, Eligibility, Format, ListedCriterion, SexEligible, Trial, TrialSite,
    TrialSource,
};
use crate::{Result, TrialsError};

/// Largest trial file read (its size on disk, compressed or not).
pub const MAX_TRIAL_BYTES: u64 = 8 * 1024 * 1024;

/// Largest unpacked gzip content: a 1 KB gzip bomb must not become
/// gigabytes in memory, while a real 8 MiB `.jsonl.gz` still fits.
pub const MAX_UNPACKED_BYTES: u64 = MAX_TRIAL_BYTES * 8;

/// Eligibility text longer than this is cut (the longest of the 106
/// NIH-TrialBench records is 20 KB).
const MAX_CRITERIA_BYTES: usize = 200 * 1024;
/// Summaries and other long prose.
const MAX_PROSE_BYTES: usize = 64 * 1024;
/// Titles, names, statuses, ids.
const MAX_SHORT_BYTES: usize = 4 * 1024;
/// Items kept from one list (sites, conditions...). The largest real trial
/// lists about 1,600 sites.
const MAX_ITEMS: usize = 20_000;
/// Longest record id kept (NCT ids are 11 characters).
const MAX_ID_BYTES: usize = 64;
/// CTS writes 999 years for "no upper age limit".
const NO_MAX_AGE_YEARS: f64 = 999.0;

/// Reads trial records from bytes whose format is sniffed. `origin` names
/// where they came from (a path or URL) in the trials' source and in the
/// issues; `data_date` is the date to record when a record carries none.
/// `Err` only when nothing at all could be read.
pub fn read_bytes(
    origin: &str,
    bytes: &[u8],
    data_date: Option<&str>,
) -> Result<(Vec<Trial>, Vec<Issue>)> {
    read_document(origin, bytes, data_date).map(|d| (d.trials, d.issues))
}

/// Reads one trial file (`.json`, `.jsonl`, either gzipped).
pub fn read_file(path: &Path, data_date: Option<&str>) -> Result<(Vec<Trial>, Vec<Issue>)> {
    let shown = path.display().to_string();
    let io = |source| TrialsError::Io {
        path: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_TRIAL_BYTES {
        return Err(TrialsError::TooLarge {
            path: shown,
            size,
            limit: MAX_TRIAL_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // The file may grow between the size check and the read.
    file.take(MAX_TRIAL_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_TRIAL_BYTES {
        return Err(TrialsError::TooLarge {
            path: shown,
            size: bytes.len() as u64,
            limit: MAX_TRIAL_BYTES,
        });
    }
    read_bytes(&shown, &bytes, data_date)
}

/// Reads every `*.json`, `*.json.gz`, `*.jsonl` and `*.jsonl.gz` file under
/// `dir` (recursively, in path order). A file that cannot be read becomes
/// an issue. Records of the same trial (same id, or an NCI id that another
/// record lists) are kept once: the richest, the newest on a tie.
pub fn read_dir(dir: &Path, data_date: Option<&str>) -> Result<(Vec<Trial>, Vec<Issue>)> {
    let mut files = Vec::new();
    let mut issues = Vec::new();
    if !dir.is_dir() {
        return Err(TrialsError::Io {
            path: dir.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        });
    }
    collect_files(dir, 0, &mut files, &mut issues);
    files.sort();
    let mut trials = Vec::new();
    for path in files {
        match read_file(&path, data_date) {
            Ok((t, i)) => {
                trials.extend(t);
                issues.extend(i);
            }
            Err(e) => {
                let shown = path.display().to_string();
                // The error names the file already; the issue's `at` does.
                let message = e.to_string();
                let message = message
                    .strip_prefix(&format!("{shown}: "))
                    .unwrap_or(&message)
                    .to_string();
                issues.push(Issue::new(shown, message));
            }
        }
    }
    Ok((dedupe(trials), issues))
}

/// Folders deeper than this are not walked (a link loop, or a mistake).
const MAX_DIR_DEPTH: usize = 32;

fn collect_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, issues: &mut Vec<Issue>) {
    if depth > MAX_DIR_DEPTH {
        issues.push(Issue::new(
            dir.display().to_string(),
            "folders nested too deep, not read",
        ));
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            issues.push(Issue::new(dir.display().to_string(), e.to_string()));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // file_type() does not follow links, so a link to a parent cannot
        // loop; linked files are still read through is_file below.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_files(&path, depth + 1, out, issues);
        } else if is_trial_file(&path) && path.is_file() {
            out.push(path);
        }
    }
}

fn is_trial_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    [".json", ".json.gz", ".jsonl", ".jsonl.gz"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// What one document held: its trials, issues, and the paging fields of a
/// search answer (for the live connectors).
#[derive(Debug, Default)]
pub(crate) struct Document {
    pub trials: Vec<Trial>,
    pub issues: Vec<Issue>,
    /// ClinicalTrials.gov `nextPageToken`.
    pub next_page_token: Option<String>,
    /// `totalCount` (ClinicalTrials.gov) or `total` (NCI CTS).
    pub total: Option<u64>,
    /// How many records the search page held, read or not.
    pub records: usize,
    /// Whether a search page (a list of records) was read.
    pub is_page: bool,
}

/// The format a byte string looks like, before any record is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Gzip magic: unpack first.
    Gzip,
    /// One JSON value (object or array).
    Json,
    /// Several JSON values, one a line.
    JsonLines,
    /// Not JSON.
    Other,
}

/// Sniffs the container from the content (a BOM and leading white space
/// are skipped).
pub(crate) fn sniff(bytes: &[u8]) -> Shape {
    if is_gzip(bytes) {
        return Shape::Gzip;
    }
    let text = trim_start(bytes);
    match text.first() {
        Some(b'{') | Some(b'[') => {
            // A first line that is a complete object with more lines after
            // it is JSON Lines; a pretty-printed object's first line ("{")
            // is never complete on its own.
            let first_end = text.iter().position(|&b| b == b'\n');
            match first_end {
                Some(end)
                    if !trim_start(&text[end..]).is_empty()
                        && serde_json::from_slice::<serde::de::IgnoredAny>(&text[..end])
                            .is_ok() =>
                {
                    Shape::JsonLines
                }
                _ => Shape::Json,
            }
        }
        _ => Shape::Other,
    }
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Unpacks gzip (several members too), refusing more than `limit` bytes.
fn gunzip(origin: &str, bytes: &[u8], limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut reader = flate2::read::MultiGzDecoder::new(bytes).take(limit + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|e| TrialsError::Malformed {
            path: origin.to_string(),
            format: "gzip",
            detail: e.to_string(),
        })?;
    if out.len() as u64 > limit {
        return Err(TrialsError::TooLarge {
            path: format!("{origin} (unpacked)"),
            size: out.len() as u64,
            limit,
        });
    }
    Ok(out)
}

/// Reads any supported document; the connectors use the paging fields.
pub(crate) fn read_document(
    origin: &str,
    bytes: &[u8],
    data_date: Option<&str>,
) -> Result<Document> {
    let mut doc = Document::default();
    let fallback = data_date.and_then(|d| {
        let n = normalize_date(d);
        if n.is_none() {
            doc.issues.push(Issue::new(
                origin,
                format!("the given data date {d:?} is not YYYY-MM-DD or YYYY-MM, not used"),
            ));
        }
        n
    });
    let unpacked;
    let mut bytes = bytes;
    if is_gzip(bytes) {
        unpacked = gunzip(origin, bytes, MAX_UNPACKED_BYTES)?;
        bytes = &unpacked;
        if is_gzip(bytes) {
            return Err(TrialsError::Unrecognized {
                path: origin.to_string(),
                why: "gzip inside gzip".into(),
            });
        }
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(e) => {
            doc.issues.push(Issue::new(
                origin,
                format!(
                    "not valid UTF-8 (first bad byte at {}); bad bytes replaced",
                    e.valid_up_to()
                ),
            ));
            String::from_utf8_lossy(bytes)
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let reader = Reader {
        origin,
        fallback: fallback.as_deref(),
    };
    match sniff(text.as_bytes()) {
        Shape::Other | Shape::Gzip => {
            let why = if text.trim().is_empty() {
                "it is empty".to_string()
            } else {
                format!("not JSON: it starts with {:?}", preview(text))
            };
            Err(TrialsError::Unrecognized {
                path: origin.to_string(),
                why,
            })
        }
        Shape::Json => {
            let value: Value = serde_json::from_str(text).map_err(|e| TrialsError::Malformed {
                path: origin.to_string(),
                format: "JSON",
                detail: e.to_string(),
            })?;
            match value {
                Value::Array(items) => {
                    if items.is_empty() {
                        return Err(TrialsError::Unrecognized {
                            path: origin.to_string(),
                            why: "an empty list".into(),
                        });
                    }
                    let mut recognized = 0;
                    for (i, item) in items.into_iter().enumerate() {
                        let at = format!("{origin}[{i}]");
                        match reader.read_value(&at, item, &mut doc) {
                            Ok(()) => recognized += 1,
                            Err(why) => doc.issues.push(Issue::new(at, why)),
                        }
                    }
                    if recognized == 0 {
                        return Err(TrialsError::Unrecognized {
                            path: origin.to_string(),
                            why: "a list with no trial record in it".into(),
                        });
                    }
                    Ok(doc)
                }
                value => match reader.read_value(origin, value, &mut doc) {
                    Ok(()) => Ok(doc),
                    Err(why) => Err(TrialsError::Unrecognized {
                        path: origin.to_string(),
                        why,
                    }),
                },
            }
        }
        Shape::JsonLines => {
            let mut recognized = 0;
            let mut bad = 0;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let at = format!("{origin}:{}", n + 1);
                let value: Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    Err(e) => {
                        bad += 1;
                        doc.issues
                            .push(Issue::new(at, format!("not a JSON line: {e}")));
                        continue;
                    }
                };
                match reader.read_value(&at, value, &mut doc) {
                    Ok(()) => recognized += 1,
                    Err(why) => {
                        bad += 1;
                        doc.issues.push(Issue::new(at, why));
                    }
                }
            }
            if recognized == 0 {
                return Err(TrialsError::Unrecognized {
                    path: origin.to_string(),
                    why: format!("JSON Lines with no trial record in {bad} lines"),
                });
            }
            Ok(doc)
        }
    }
}

/// The start of a text, to name it in a message.
fn preview(text: &str) -> String {
    text.trim_start().chars().take(24).collect()
}

/// Reads one decoded record into trials of one of the three formats.
struct Reader<'a> {
    origin: &'a str,
    fallback: Option<&'a str>,
}

impl Reader<'_> {
    /// Reads one JSON value: a record or a search page. `Err(why)` when it
    /// is no shape Sextant knows (nothing read, no issue pushed).
    fn read_value(
        &self,
        at: &str,
        value: Value,
        doc: &mut Document,
    ) -> std::result::Result<(), String> {
        let Value::Object(obj) = value else {
            return Err(format!("not a trial record: a JSON {}", kind(&value)));
        };
        if obj.contains_key("protocolSection") {
            self.push(self.ctgov(at, &obj, &mut doc.issues), doc);
            return Ok(());
        }
        if obj.contains_key("nctid") {
            self.push(self.trialbench(at, &obj, &mut doc.issues), doc);
            return Ok(());
        }
        if is_nci_record(&obj) {
            self.push(self.nci(at, &obj, &mut doc.issues), doc);
            return Ok(());
        }
        let page = ["studies", "data", "trials"]
            .into_iter()
            .find_map(|k| obj.get(k).map(|v| (k, v)));
        if let Some((key, list)) = page {
            let Value::Array(items) = list else {
                return Err(format!("`{key}` is a {}, not a list", kind(list)));
            };
            // CTS autocomplete answers are `{"data": [...]}` too, of terms.
            if !items.is_empty() && !items.iter().any(looks_like_record) {
                return Err(format!(
                    "a `{key}` list of {} items none of which is a trial record",
                    items.len()
                ));
            }
            doc.total = ["totalCount", "total"]
                .iter()
                .find_map(|k| obj.get(*k).and_then(Value::as_u64))
                .or(doc.total);
            if key == "studies" {
                match obj.get("nextPageToken") {
                    Some(Value::String(t)) if !t.is_empty() && t.len() <= MAX_SHORT_BYTES => {
                        doc.next_page_token = Some(t.clone())
                    }
                    None | Some(Value::Null) => {}
                    Some(other) => doc.issues.push(Issue::new(
                        at,
                        format!("nextPageToken is {}, not used", kind(other)),
                    )),
                }
            }
            doc.records += items.len();
            doc.is_page = true;
            for (i, item) in items.iter().enumerate() {
                let at = format!("{at} {key}[{i}]");
                let Value::Object(rec) = item else {
                    doc.issues.push(Issue::new(
                        at,
                        format!("not a trial record: a JSON {}", kind(item)),
                    ));
                    continue;
                };
                let trial = if key == "studies" || rec.contains_key("protocolSection") {
                    self.ctgov(&at, rec, &mut doc.issues)
                } else if rec.contains_key("nctid") {
                    self.trialbench(&at, rec, &mut doc.issues)
                } else {
                    self.nci(&at, rec, &mut doc.issues)
                };
                self.push(trial, doc);
            }
            return Ok(());
        }
        Err(if obj.is_empty() {
            "an empty JSON object".to_string()
        } else {
            "an object with none of the fields of a trial record (protocolSection, \
             studies, nctid, nci_id, data)"
                .to_string()
        })
    }

    fn push(&self, trial: Option<Trial>, doc: &mut Document) {
        if let Some(t) = trial {
            doc.trials.push(t);
        }
    }

    fn source(&self, format: Format, own_date: Option<String>) -> TrialSource {
        TrialSource {
            format,
            origin: self.origin.to_string(),
            data_date: own_date.or_else(|| self.fallback.map(str::to_string)),
        }
    }

    /// A new trial, or `None` (with an issue) when the id is unusable.
    fn start(
        &self,
        at: &str,
        id: Option<String>,
        id_field: &str,
        title: Option<String>,
        source: TrialSource,
        issues: &mut Vec<Issue>,
    ) -> Option<Trial> {
        let Some(id) = id else {
            issues.push(Issue::new(
                at,
                format!("no {id_field}: the record is skipped"),
            ));
            return None;
        };
        if id.len() > MAX_ID_BYTES
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            issues.push(Issue::new(
                at,
                format!(
                    "{id_field} {:?} is not a registry id: the record is skipped",
                    preview(&id)
                ),
            ));
            return None;
        }
        let title = title.unwrap_or_else(|| {
            issues.push(Issue::new(
                format!("{at} {id}"),
                "no title: the id stands for it",
            ));
            id.clone()
        });
        Some(Trial::new(&id, &title, source))
    }

    /// NIH-TrialBench `trials/<NCT>.json`.
    fn trialbench(
        &self,
        at: &str,
        obj: &Map<String, Value>,
        issues: &mut Vec<Issue>,
    ) -> Option<Trial> {
        let mut f = Fields::new(at, issues);
        let id = f.short(obj, "nctid");
        let title = f.short(obj, "title");
        let source = self.source(Format::TrialBench, None);
        let mut t = self.start(at, id, "nctid", title, source, f.issues)?;
        let mut f = Fields::new(&format!("{at} {}", t.id), issues);
        t.summary = f.prose(obj, "brief_summary").unwrap_or_default();
        t.study_type = f.short(obj, "study_type");
        t.phases = f.short_list(obj, "phases");
        t.purpose = f.short(obj, "primary_purpose");
        t.status = f.short(obj, "overall_status");
        t.conditions = f.short_list(obj, "condition");
        t.sex = f.sex(obj, "sex");
        t.min_age = f.age(obj, "minimum_age");
        t.max_age = f.age(obj, "maximum_age");
        t.eligibility = f.criteria_text(obj, "raw_criteria");
        Some(t)
    }

    /// ClinicalTrials.gov API v2 study.
    fn ctgov(&self, at: &str, obj: &Map<String, Value>, issues: &mut Vec<Issue>) -> Option<Trial> {
        let mut f = Fields::new(at, issues);
        let proto = f.object(obj, "protocolSection");
        let ident = proto.and_then(|p| f.object(p, "identificationModule"));
        let status = proto.and_then(|p| f.object(p, "statusModule"));
        let id = ident.and_then(|m| f.short(m, "nctId"));
        let title = ident.and_then(|m| {
            f.short(m, "briefTitle")
                .or_else(|| f.short(m, "officialTitle"))
                .or_else(|| f.short(m, "acronym"))
        });
        let own_date = status.and_then(|s| {
            f.date(s, "lastUpdateSubmitDate")
                .or_else(|| {
                    f.object(s, "lastUpdatePostDateStruct")
                        .and_then(|d| f.date(d, "date"))
                })
                .or_else(|| f.date(s, "statusVerifiedDate"))
        });
        let source = self.source(Format::CtGov, own_date);
        let mut t = self.start(
            at,
            id,
            "protocolSection.identificationModule.nctId",
            title,
            source,
            f.issues,
        )?;
        let mut f = Fields::new(&format!("{at} {}", t.id), issues);
        let module = |f: &mut Fields, name: &str| proto.and_then(|p| f.object(p, name));

        if let Some(m) = ident {
            let mut ids = Vec::new();
            if let Some(org) = f.object(m, "orgStudyIdInfo") {
                ids.extend(f.short(org, "id"));
            }
            for s in f.objects(m, "secondaryIdInfos") {
                ids.extend(f.short(s, "id"));
            }
            t.other_ids = dedupe_strings(ids, &t.id);
        }
        if let Some(m) = module(&mut f, "descriptionModule") {
            t.summary = f.prose(m, "briefSummary").unwrap_or_default();
        }
        if let Some(m) = module(&mut f, "conditionsModule") {
            t.conditions = f.short_list(m, "conditions");
        }
        if let Some(m) = module(&mut f, "armsInterventionsModule") {
            let names = f
                .objects(m, "interventions")
                .into_iter()
                .filter_map(|i| f.short(i, "name"))
                .collect();
            t.interventions = dedupe_strings(names, "");
        }
        if let Some(m) = module(&mut f, "designModule") {
            t.study_type = f.short(m, "studyType");
            t.phases = f.short_list(m, "phases");
            t.purpose = f
                .object(m, "designInfo")
                .and_then(|d| f.short(d, "primaryPurpose"));
        }
        if let Some(s) = status {
            t.status = f.short(s, "overallStatus");
        }
        if let Some(m) = module(&mut f, "eligibilityModule") {
            t.eligibility = f.criteria_text(m, "eligibilityCriteria");
            t.sex = f.sex(m, "sex");
            t.min_age = f.age(m, "minimumAge");
            t.max_age = f.age(m, "maximumAge");
        }
        if let Some(m) = module(&mut f, "contactsLocationsModule") {
            let mut sites = Vec::new();
            let mut unnamed = 0;
            for l in f.objects(m, "locations") {
                let city = f.short(l, "city");
                let country = f.short(l, "country");
                // A site without a facility name still places the trial.
                let Some(name) = f
                    .short(l, "facility")
                    .or_else(|| city.clone())
                    .or_else(|| country.clone())
                else {
                    unnamed += 1;
                    continue;
                };
                sites.push(TrialSite {
                    name,
                    city,
                    state: f.short(l, "state"),
                    country,
                    status: f.short(l, "status"),
                });
            }
            if unnamed > 0 {
                f.issue(format!(
                    "{unnamed} locations with no facility, city or country left out"
                ));
            }
            t.sites = sites;
        }
        Some(t)
    }

    /// NCI CTS v2 trial document or search summary.
    fn nci(&self, at: &str, obj: &Map<String, Value>, issues: &mut Vec<Issue>) -> Option<Trial> {
        let mut f = Fields::new(at, issues);
        let nct = f.short(obj, "nct_id");
        let nci = f.short(obj, "nci_id");
        let id = nct.clone().or_else(|| nci.clone());
        let title = f
            .short(obj, "brief_title")
            .or_else(|| f.short(obj, "official_title"));
        // The newest of the record's own dates: each says the record was
        // true then.
        let own_date = [
            "date_last_updated_anything",
            "record_verification_date",
            "current_trial_status_date",
        ]
        .iter()
        .filter_map(|k| f.date(obj, k))
        .max();
        let source = self.source(Format::NciCts, own_date);
        let mut t = self.start(at, id, "nct_id or nci_id", title, source, f.issues)?;
        let mut f = Fields::new(&format!("{at} {}", t.id), issues);

        let mut ids: Vec<String> = [nci, nct].into_iter().flatten().collect();
        for k in ["protocol_id", "ctep_id", "dcp_id", "ccr_id"] {
            ids.extend(f.short(obj, k));
        }
        for o in f.objects(obj, "other_ids") {
            ids.extend(f.short(o, "value"));
        }
        t.other_ids = dedupe_strings(ids, &t.id);
        t.summary = f.prose(obj, "brief_summary").unwrap_or_default();
        t.status = f.short(obj, "current_trial_status");
        t.study_type = f.short(obj, "study_protocol_type");
        // v2 writes a code; v1 wrapped it in an object.
        t.phases = match obj.get("phase") {
            Some(Value::Object(p)) => f.short(p, "phase").into_iter().collect(),
            _ => f.short(obj, "phase").into_iter().collect(),
        };
        t.purpose = match obj.get("primary_purpose") {
            Some(Value::Object(p)) => f.short(p, "primary_purpose_code"),
            _ => f.short(obj, "primary_purpose"),
        };

        // Diseases, biomarkers and interventions carry the trial's own
        // terms ("TRIAL") and their NCIt ancestors ("TREE", added for
        // search): only the trial's own are the trial's.
        let diseases = f.objects(obj, "diseases");
        let own: Vec<&Map<String, Value>> = diseases
            .iter()
            .copied()
            .filter(|d| is_trial_term(d) == Some(true))
            .collect();
        let mut chosen = if own.is_empty() { diseases } else { own };
        // The lead disease first (v2 `is_lead_disease`, v1
        // `lead_disease_indicator`).
        chosen.sort_by_key(|d| {
            let lead = d.get("is_lead_disease") == Some(&Value::Bool(true))
                || d.get("lead_disease_indicator").and_then(Value::as_str) == Some("YES");
            !lead
        });
        // v1 names diseases `preferred_name` / `display_name`.
        let names = chosen
            .into_iter()
            .filter_map(|d| {
                f.short(d, "name")
                    .or_else(|| f.short(d, "preferred_name"))
                    .or_else(|| f.short(d, "display_name"))
            })
            .collect();
        t.conditions = dedupe_strings(names, "");

        let mut biomarkers: Vec<CodedBiomarker> = Vec::new();
        let mut seen = HashSet::new();
        for b in f.objects(obj, "biomarkers") {
            if is_trial_term(b) == Some(false) {
                continue;
            }
            let Some(name) = f.short(b, "name") else {
                continue;
            };
            let code = f.short(b, "nci_thesaurus_concept_id");
            if !seen.insert((name.clone(), code.clone())) {
                continue;
            }
            biomarkers.push(CodedBiomarker {
                name,
                criterion: f.short(b, "eligibility_criterion"),
                code,
            });
        }
        t.biomarkers = biomarkers;

        let mut interventions = Vec::new();
        for arm in f.objects(obj, "arms") {
            for i in f.objects(arm, "interventions") {
                if is_trial_term(i) == Some(false) {
                    continue;
                }
                interventions.extend(
                    f.short(i, "name")
                        .or_else(|| f.short(i, "intervention_name")),
                );
            }
        }
        t.interventions = dedupe_strings(interventions, "");

        if let Some(e) = f.object(obj, "eligibility") {
            t.eligibility = f.listed(e, "unstructured");
            if let Some(s) = f.object(e, "structured") {
                t.sex = f.sex(s, "sex").or_else(|| f.sex(s, "gender"));
                t.min_age = f.nci_age(s, "min");
                t.max_age = f
                    .nci_age(s, "max")
                    .filter(|&a| f64::from(a) < NO_MAX_AGE_YEARS);
            }
        }

        let mut sites = Vec::new();
        let mut unnamed = 0;
        for s in f.objects(obj, "sites") {
            let Some(name) = f.short(s, "org_name") else {
                unnamed += 1;
                continue;
            };
            sites.push(TrialSite {
                name,
                city: f.short(s, "org_city"),
                state: f.short(s, "org_state_or_province"),
                country: f.short(s, "org_country"),
                status: f.short(s, "recruitment_status"),
            });
        }
        if unnamed > 0 {
            f.issue(format!("{unnamed} sites with no org_name left out"));
        }
        t.sites = sites;
        Some(t)
    }
}

/// Whether a list item has the id field of any record format.
fn looks_like_record(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        ["protocolSection", "nctid", "nci_id", "nct_id"]
            .iter()
            .any(|k| o.contains_key(*k))
    })
}

/// An NCI CTS record: `nci_id`, or `nct_id` with a CTS field next to it.
fn is_nci_record(obj: &Map<String, Value>) -> bool {
    obj.contains_key("nci_id")
        || (obj.contains_key("nct_id")
            && [
                "brief_title",
                "official_title",
                "eligibility",
                "current_trial_status",
            ]
            .iter()
            .any(|k| obj.contains_key(*k)))
}

/// `Some(true)` for a trial's own term, `Some(false)` for an ancestor
/// added for search, `None` when the record does not say.
fn is_trial_term(obj: &Map<String, Value>) -> Option<bool> {
    match obj.get("inclusion_indicator")?.as_str()? {
        s if s.eq_ignore_ascii_case("TRIAL") => Some(true),
        s if s.eq_ignore_ascii_case("TREE") => Some(false),
        _ => None,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Keeps the first of each string, dropping `except` (the trial's id).
fn dedupe_strings(items: Vec<String>, except: &str) -> Vec<String> {
    // A set, not `Vec::contains`: lists may hold thousands of items.
    let mut seen: HashSet<String> = HashSet::with_capacity(items.len());
    items
        .into_iter()
        .filter(|s| s != except && seen.insert(s.clone()))
        .collect()
}

/// `YYYY-MM-DD` or `YYYY-MM` from a date or timestamp, else `None`.
pub(crate) fn normalize_date(s: &str) -> Option<String> {
    let s = s.trim();
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    if !(digits(0..4) && b.get(4) == Some(&b'-') && digits(5..7)) {
        return None;
    }
    let month: u32 = s[5..7].parse().ok()?;
    if !(1..=12).contains(&month) {
        return None;
    }
    if b.get(7) == Some(&b'-') && digits(8..10) {
        let day: u32 = s[8..10].parse().ok()?;
        if !(1..=31).contains(&day) {
            return None;
        }
        // A timestamp ("2021-08-16T12:00:00") is fine; "2021-08-160" is not.
        if b.get(10).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        return Some(s[..10].to_string());
    }
    if b.len() == 7 {
        return Some(s[..7].to_string());
    }
    None
}

/// Strips control characters (keeping newlines; tabs become spaces) and
/// caps the length at a character boundary. Returns the text and whether
/// it was cut.
pub(crate) fn clean_text(s: &str, max: usize) -> (String, bool) {
    let mut out = String::with_capacity(s.len().min(max));
    let mut cut = false;
    for c in s.chars() {
        let c = match c {
            '\n' => '\n',
            '\t' => ' ',
            c if c.is_control() => continue,
            c => c,
        };
        if out.len() + c.len_utf8() > max {
            cut = true;
            break;
        }
        out.push(c);
    }
    let trimmed = out.trim();
    if trimmed.len() != out.len() {
        out = trimmed.to_string();
    }
    (out, cut)
}

/// Typed field access that turns wrong types and absurd sizes into issues.
struct Fields<'a> {
    at: String,
    issues: &'a mut Vec<Issue>,
}

impl<'a> Fields<'a> {
    fn new(at: &str, issues: &'a mut Vec<Issue>) -> Self {
        Fields {
            at: at.to_string(),
            issues,
        }
    }

    fn issue(&mut self, message: impl Into<String>) {
        self.issues.push(Issue::new(self.at.clone(), message));
    }

    fn wrong(&mut self, key: &str, want: &str, got: &Value) {
        self.issue(format!(
            "{key}: expected {want}, found a {}; left out",
            kind(got)
        ));
    }

    fn text(&mut self, obj: &Map<String, Value>, key: &str, max: usize) -> Option<String> {
        match obj.get(key)? {
            Value::Null => None,
            Value::String(s) => self.clean(key, s, max),
            other => {
                self.wrong(key, "text", other);
                None
            }
        }
    }

    fn clean(&mut self, key: &str, s: &str, max: usize) -> Option<String> {
        let (text, cut) = clean_text(s, max);
        if cut {
            self.issue(format!("{key}: {} bytes, cut to the first {max}", s.len()));
        }
        (!text.is_empty()).then_some(text)
    }

    fn short(&mut self, obj: &Map<String, Value>, key: &str) -> Option<String> {
        self.text(obj, key, MAX_SHORT_BYTES)
    }

    fn prose(&mut self, obj: &Map<String, Value>, key: &str) -> Option<String> {
        self.text(obj, key, MAX_PROSE_BYTES)
    }

    fn object<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
    ) -> Option<&'v Map<String, Value>> {
        match obj.get(key)? {
            Value::Null => None,
            Value::Object(o) => Some(o),
            other => {
                self.wrong(key, "an object", other);
                None
            }
        }
    }

    /// The list's items, capped at [`MAX_ITEMS`].
    fn list<'v>(&mut self, obj: &'v Map<String, Value>, key: &str) -> &'v [Value] {
        match obj.get(key) {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => {
                if items.len() > MAX_ITEMS {
                    self.issue(format!(
                        "{key}: {} items, only the first {MAX_ITEMS} read",
                        items.len()
                    ));
                    &items[..MAX_ITEMS]
                } else {
                    items
                }
            }
            Some(other) => {
                self.wrong(key, "a list", other);
                &[]
            }
        }
    }

    /// The list's objects; other items are counted in one issue.
    fn objects<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        key: &str,
    ) -> Vec<&'v Map<String, Value>> {
        let items = self.list(obj, key);
        let out: Vec<_> = items.iter().filter_map(Value::as_object).collect();
        let other = items
            .iter()
            .filter(|v| !v.is_object() && !v.is_null())
            .count();
        if other > 0 {
            self.issue(format!("{key}: {other} items are not objects; left out"));
        }
        out
    }

    /// A list of short texts (a lone text counts as a one-item list).
    fn short_list(&mut self, obj: &Map<String, Value>, key: &str) -> Vec<String> {
        if let Some(Value::String(s)) = obj.get(key) {
            return self.clean(key, s, MAX_SHORT_BYTES).into_iter().collect();
        }
        let mut out = Vec::new();
        let mut other = 0;
        for item in self.list(obj, key) {
            match item {
                Value::String(s) => out.extend(self.clean(key, s, MAX_SHORT_BYTES)),
                Value::Null => {}
                _ => other += 1,
            }
        }
        if other > 0 {
            self.issue(format!("{key}: {other} items are not text; left out"));
        }
        dedupe_strings(out, "")
    }

    fn date(&mut self, obj: &Map<String, Value>, key: &str) -> Option<String> {
        let s = self.short(obj, key)?;
        let d = normalize_date(&s);
        if d.is_none() {
            self.issue(format!("{key}: {:?} is not a date; left out", preview(&s)));
        }
        d
    }

    fn sex(&mut self, obj: &Map<String, Value>, key: &str) -> Option<SexEligible> {
        let s = self.short(obj, key)?;
        match s.to_ascii_uppercase().as_str() {
            "ALL" | "BOTH" => Some(SexEligible::All),
            "FEMALE" | "FEMALES" => Some(SexEligible::Female),
            "MALE" | "MALES" => Some(SexEligible::Male),
            _ => {
                self.issue(format!(
                    "{key}: {:?} is not ALL, FEMALE or MALE; left out",
                    preview(&s)
                ));
                None
            }
        }
    }

    /// An age limit written as registries do ("18 Years", "N/A").
    fn age(&mut self, obj: &Map<String, Value>, key: &str) -> Option<f32> {
        match obj.get(key)? {
            Value::Number(n) => self.years(key, n.as_f64()),
            Value::String(s) => {
                let s = s.trim();
                if s.is_empty() || s.eq_ignore_ascii_case("N/A") || s.eq_ignore_ascii_case("none") {
                    return None;
                }
                let a = parse_age(s);
                if a.is_none() {
                    self.issue(format!("{key}: {:?} is not an age; left out", preview(s)));
                }
                a
            }
            Value::Null => None,
            other => {
                self.wrong(key, "an age", other);
                None
            }
        }
    }

    fn years(&mut self, key: &str, n: Option<f64>) -> Option<f32> {
        match n {
            Some(y) if y.is_finite() && (0.0..=NO_MAX_AGE_YEARS).contains(&y) => Some(y as f32),
            _ => {
                self.issue(format!("{key}: not an age in years; left out"));
                None
            }
        }
    }

    /// CTS structured ages: `{min,max}_age_in_years`, else the
    /// `{min,max}_age` text ("18 Years").
    fn nci_age(&mut self, obj: &Map<String, Value>, which: &str) -> Option<f32> {
        let years = format!("{which}_age_in_years");
        match obj.get(&years) {
            Some(Value::Number(n)) => return self.years(&years, n.as_f64()),
            Some(Value::Null) | None => {}
            Some(other) => self.wrong(&years, "a number", other),
        }
        self.age(obj, &format!("{which}_age"))
    }

    fn criteria_text(&mut self, obj: &Map<String, Value>, key: &str) -> Eligibility {
        match self.text(obj, key, MAX_CRITERIA_BYTES) {
            Some(t) => Eligibility::Text(t),
            None => Eligibility::None,
        }
    }

    /// CTS `unstructured` criteria, in `display_order`.
    fn listed(&mut self, obj: &Map<String, Value>, key: &str) -> Eligibility {
        let mut items: Vec<(Option<i64>, ListedCriterion)> = Vec::new();
        let mut unsure = 0;
        let mut total = 0;
        for c in self.objects(obj, key) {
            let Some(text) = self.text(c, "description", MAX_CRITERIA_BYTES) else {
                continue;
            };
            total += text.len();
            if total > MAX_CRITERIA_BYTES {
                self.issue(format!(
                    "{key}: criteria over {MAX_CRITERIA_BYTES} bytes in all; the rest left out"
                ));
                break;
            }
            // Guessing the side would turn an exclusion into an inclusion.
            let inclusion = match c.get("inclusion_indicator") {
                Some(Value::Bool(b)) => *b,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("inclusion") => true,
                Some(Value::String(s)) if s.eq_ignore_ascii_case("exclusion") => false,
                _ => {
                    unsure += 1;
                    continue;
                }
            };
            let order = c.get("display_order").and_then(Value::as_i64);
            items.push((order, ListedCriterion { inclusion, text }));
        }
        if unsure > 0 {
            self.issue(format!(
                "{key}: {unsure} criteria do not say inclusion or exclusion; left out"
            ));
        }
        // Stable: items without an order keep their place after the rest.
        items.sort_by_key(|(o, _)| o.unwrap_or(i64::MAX));
        if items.is_empty() {
            Eligibility::None
        } else {
            Eligibility::Listed(items.into_iter().map(|(_, c)| c).collect())
        }
    }
}

/// How much a record tells: the one kept when two describe the same trial.
fn richness(t: &Trial) -> usize {
    let criteria = match &t.eligibility {
        Eligibility::Listed(l) if !l.is_empty() => 1000 + l.len().min(999),
        Eligibility::Text(s) if !s.is_empty() => 1000,
        _ => 0,
    };
    let fields = [
        !t.summary.is_empty(),
        !t.conditions.is_empty(),
        !t.interventions.is_empty(),
        !t.biomarkers.is_empty(),
        !t.phases.is_empty(),
        !t.sites.is_empty(),
        !t.other_ids.is_empty(),
        t.study_type.is_some(),
        t.purpose.is_some(),
        t.status.is_some(),
        t.sex.is_some(),
        t.min_age.is_some(),
        t.max_age.is_some(),
    ];
    criteria + 10 * fields.iter().filter(|b| **b).count()
}

/// The NCT number is the id other sources use: when the record dropped as
/// a duplicate had it and the kept one did not, the kept one takes it.
fn adopt_nct_id(kept: &mut Trial, other_id: String) {
    if kept.id == other_id {
        return;
    }
    if other_id.starts_with("NCT") && !kept.id.starts_with("NCT") {
        kept.other_ids.retain(|x| x != &other_id);
        let own = std::mem::replace(&mut kept.id, other_id);
        kept.other_ids.insert(0, own);
        kept.url = crate::model::registry_url(&kept.id);
    } else if !kept.other_ids.contains(&other_id) {
        kept.other_ids.push(other_id);
    }
}

/// A registry id that names one trial everywhere (a protocol id may not).
fn is_registry_id(s: &str) -> bool {
    crate::connect::is_nct(s) || crate::connect::is_nci_id(s)
}

/// Keeps one record per trial, in first-seen order: the richest, then the
/// newest. Records are the same trial when their ids are, or when one's id
/// is a registry id the other lists (an NCI-only record of an NCT trial).
pub(crate) fn dedupe(trials: Vec<Trial>) -> Vec<Trial> {
    let mut kept: Vec<Trial> = Vec::with_capacity(trials.len());
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for t in trials {
        let found = std::iter::once(&t.id)
            .chain(t.other_ids.iter().filter(|i| is_registry_id(i)))
            .find_map(|i| by_id.get(i).copied());
        let slot = match found {
            Some(i) => {
                let old = &kept[i];
                let better =
                    (richness(&t), &t.source.data_date) > (richness(old), &old.source.data_date);
                if better {
                    let old = std::mem::replace(&mut kept[i], t);
                    adopt_nct_id(&mut kept[i], old.id);
                } else {
                    adopt_nct_id(&mut kept[i], t.id);
                }
                i
            }
            None => {
                kept.push(t);
                kept.len() - 1
            }
        };
        let k = &kept[slot];
        for id in std::iter::once(&k.id).chain(k.other_ids.iter().filter(|i| is_registry_id(i))) {
            by_id.entry(id.clone()).or_insert(slot);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_containers() {
        assert_eq!(sniff(b"\x1f\x8b\x08\x00"), Shape::Gzip);
        assert_eq!(sniff(b"{\n  \"a\": 1\n}"), Shape::Json);
        assert_eq!(sniff(b"  [1, 2]"), Shape::Json);
        assert_eq!(sniff(b"\xEF\xBB\xBF{\"a\":1}"), Shape::Json);
        assert_eq!(sniff(b"{\"a\":1}\n{\"b\":2}\n"), Shape::JsonLines);
        assert_eq!(sniff(b"{\"a\":1}\n"), Shape::Json);
        // A truncated pretty-printed object is JSON (and then malformed).
        assert_eq!(sniff(b"{\n\"a\": 1,\n"), Shape::Json);
        assert_eq!(sniff(b""), Shape::Other);
        assert_eq!(sniff(b"<html>"), Shape::Other);
        assert_eq!(sniff(b"\"text\""), Shape::Other);
    }

    #[test]
    fn sniffs_record_formats() {
        let fmt = |json: &str| {
            read_bytes("t", json.as_bytes(), None)
                .map(|(t, _)| t.into_iter().map(|t| t.source.format).collect::<Vec<_>>())
        };
        assert_eq!(
            fmt(r#"{"protocolSection":{"identificationModule":{"nctId":"NCT00000001","briefTitle":"A"}}}"#)
                .unwrap(),
            [Format::CtGov]
        );
        assert_eq!(
            fmt(r#"{"nctid":"NCT00000001","title":"A"}"#).unwrap(),
            [Format::TrialBench]
        );
        assert_eq!(
            fmt(r#"{"nci_id":"NCI-2020-00001","brief_title":"A"}"#).unwrap(),
            [Format::NciCts]
        );
        assert_eq!(
            fmt(r#"{"total":1,"data":[{"nct_id":"NCT00000001","brief_title":"A"}]}"#).unwrap(),
            [Format::NciCts]
        );
        assert_eq!(fmt(r#"{"studies":[]}"#).unwrap(), []);
        assert!(matches!(
            fmt(r#"{"resourceType":"Bundle"}"#),
            Err(TrialsError::Unrecognized { .. })
        ));
    }

    #[test]
    fn cleans_text() {
        assert_eq!(
            clean_text(" a\r\nb\tc\u{7}d ", 100),
            ("a\nb cd".into(), false)
        );
        let (t, cut) = clean_text("ééé", 5);
        assert_eq!((t.as_str(), cut), ("éé", true));
    }

    #[test]
    fn dates() {
        assert_eq!(normalize_date("2021-08-16"), Some("2021-08-16".into()));
        assert_eq!(
            normalize_date("2021-08-16T10:00:00Z"),
            Some("2021-08-16".into())
        );
        assert_eq!(normalize_date("2023-04"), Some("2023-04".into()));
        assert_eq!(normalize_date("2023-13"), None);
        assert_eq!(normalize_date("April 2023"), None);
        assert_eq!(normalize_date("2021-08-160"), None);
    }

    #[test]
    fn registry_ids() {
        assert!(is_registry_id("NCT02201992"));
        assert!(is_registry_id("NCI-2014-01507"));
        assert!(!is_registry_id("NCT0220199"));
        assert!(!is_registry_id("s16-02072"));
    }
}
