//! Live connectors: the ClinicalTrials.gov API v2 and the NCI Clinical
//! Trials Search API v2, read with the same readers as saved files.
//!
//! Every answer is untrusted: status errors, timeouts, bodies that are not
//! JSON or are too big come back as [`TrialsError::Api`] naming the URL
//! (never the API key, which travels in a header). Ids are checked before
//! any request is made, and query values are percent-encoded. A record's
//! data date is its own last-update date, else today (UTC): a live answer
//! is true as of the day it was fetched.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sextant_core::Issue;

use crate::model::Trial;
use crate::read::read_document;
use crate::{Result, TrialsError};

/// Largest answer body read.
pub const MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;
/// Default wait for one whole request, connection to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Environment variable the caller reads the NCI CTS API key from.
pub const NCI_API_KEY_ENV: &str = "SEXTANT_NCI_API_KEY";

/// Longest free-text query value sent.
const MAX_QUERY_CHARS: usize = 1000;
/// Most of an error body quoted in an error.
const MAX_ERROR_QUOTE: usize = 300;

/// A search, for either API. Fields an API has no filter for are ignored,
/// with an issue on the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Condition or disease words (CT.gov `query.cond`; NCI CTS `keyword`).
    pub condition: Option<String>,
    /// Other words (CT.gov `query.term`; NCI CTS `keyword`).
    pub terms: Option<String>,
    /// Only trials open to enrolment: CT.gov `RECRUITING` and
    /// `NOT_YET_RECRUITING`, NCI CTS `Active`.
    pub open_only: bool,
    /// NCIt disease codes (`C4872`): NCI CTS
    /// `diseases.nci_thesaurus_concept_id`.
    pub disease_codes: Vec<String>,
    /// Trials a page (CT.gov 1–1000, NCI CTS 1–50; clamped).
    pub page_size: u32,
    /// Where the page starts: CT.gov's `nextPageToken`, or for NCI CTS the
    /// offset (`from`) as decimal text. `None` for the first page. Copy
    /// [`Page::next_page_token`] here for the next page.
    pub page_token: Option<String>,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            condition: None,
            terms: None,
            open_only: true,
            disease_codes: Vec::new(),
            page_size: 20,
            page_token: None,
        }
    }
}

/// One page of search results.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub trials: Vec<Trial>,
    /// Problems in the records read, or query parts an API ignored.
    pub issues: Vec<Issue>,
    /// The token of the next page; `None` on the last.
    pub next_page_token: Option<String>,
    /// Matching trials in all, when the API says.
    pub total: Option<u64>,
    /// The URL asked.
    pub url: String,
}

/// Something that answers searches page by page.
pub trait TrialSearch {
    fn search(&self, query: &SearchQuery) -> Result<Page>;
}

/// Follows `next_page_token` for at most `max_pages` pages, merging them
/// (trials, issues, total; `url` is the first page's). The returned page's
/// `next_page_token` is where a later call can go on; an issue says when
/// pages were left.
pub fn fetch_all(client: &dyn TrialSearch, query: &SearchQuery, max_pages: usize) -> Result<Page> {
    let mut q = query.clone();
    let mut all = client.search(&q)?;
    let mut seen = vec![q.page_token.clone()];
    let mut pages = 1;
    while let Some(token) = all.next_page_token.clone() {
        if seen.contains(&Some(token.clone())) {
            all.issues.push(Issue::new(
                &all.url,
                "the API gave a page token twice; stopped to avoid a loop",
            ));
            all.next_page_token = None;
            break;
        }
        if pages >= max_pages {
            all.issues.push(Issue::new(
                &all.url,
                format!("stopped after {max_pages} pages; more results exist"),
            ));
            break;
        }
        q.page_token = Some(token.clone());
        seen.push(Some(token));
        let page = client.search(&q)?;
        all.trials.extend(page.trials);
        all.issues.extend(page.issues);
        all.total = page.total.or(all.total);
        all.next_page_token = page.next_page_token;
        pages += 1;
    }
    Ok(all)
}

/// ClinicalTrials.gov API v2 (no key needed).
#[derive(Clone)]
pub struct CtGovClient {
    base_url: String,
    timeout: Duration,
    agent: ureq::Agent,
}

impl std::fmt::Debug for CtGovClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CtGovClient")
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Default for CtGovClient {
    fn default() -> Self {
        CtGovClient::new()
    }
}

impl CtGovClient {
    pub const DEFAULT_BASE_URL: &'static str = "https://clinicaltrials.gov/api/v2";

    /// The public API, with [`DEFAULT_TIMEOUT`].
    pub fn new() -> CtGovClient {
        CtGovClient {
            base_url: Self::DEFAULT_BASE_URL.to_string(),
            timeout: DEFAULT_TIMEOUT,
            agent: agent(DEFAULT_TIMEOUT, true),
        }
    }

    /// Another server (a mirror, a test server): `http(s)://host[:port]/path`.
    pub fn with_base_url(base_url: &str) -> Result<CtGovClient> {
        Ok(CtGovClient {
            base_url: check_base_url(base_url)?,
            ..CtGovClient::new()
        })
    }

    /// The longest wait for one request, connection to last byte.
    pub fn timeout(mut self, timeout: Duration) -> CtGovClient {
        self.timeout = timeout;
        self.agent = agent(timeout, true);
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET {base}/studies?...`: one page of studies.
    pub fn search(&self, query: &SearchQuery) -> Result<Page> {
        let mut params: Vec<(&str, String)> = Vec::new();
        let mut issues = Vec::new();
        if let Some(c) = nonempty(&query.condition) {
            params.push(("query.cond", check_text(&self.base_url, "condition", c)?));
        }
        if let Some(t) = nonempty(&query.terms) {
            params.push(("query.term", check_text(&self.base_url, "terms", t)?));
        }
        if query.open_only {
            params.push((
                "filter.overallStatus",
                "RECRUITING,NOT_YET_RECRUITING".into(),
            ));
        }
        params.push(("pageSize", query.page_size.clamp(1, 1000).to_string()));
        match nonempty(&query.page_token) {
            Some(t) => params.push(("pageToken", check_text(&self.base_url, "page token", t)?)),
            None => params.push(("countTotal", "true".into())),
        }
        params.push(("format", "json".into()));
        let url = format!("{}/studies?{}", self.base_url, query_string(&params));
        if !query.disease_codes.is_empty() {
            issues.push(Issue::new(
                &url,
                "NCIt disease codes are not a ClinicalTrials.gov filter; ignored",
            ));
        }
        let body = get(&self.agent, &url, &[], self.timeout, Api::CtGov)?;
        page(&url, &body, issues).map(|p| p.page)
    }

    /// `GET {base}/studies/{nct}`: one study.
    pub fn study(&self, nct: &str) -> Result<Trial> {
        let nct = nct.trim();
        if !is_nct(nct) {
            return Err(bad_id(
                &self.base_url,
                nct,
                "an NCT number (NCT + 8 digits)",
            ));
        }
        let url = format!("{}/studies/{nct}?format=json", self.base_url);
        let body = get(&self.agent, &url, &[], self.timeout, Api::CtGov)?;
        one_trial(&url, &body)
    }
}

impl TrialSearch for CtGovClient {
    fn search(&self, query: &SearchQuery) -> Result<Page> {
        CtGovClient::search(self, query)
    }
}

/// NCI Clinical Trials Search API v2 (needs a free API key).
#[derive(Clone)]
pub struct NciCtsClient {
    base_url: String,
    api_key: Option<String>,
    timeout: Duration,
    agent: ureq::Agent,
}

impl std::fmt::Debug for NciCtsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NciCtsClient")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl NciCtsClient {
    pub const DEFAULT_BASE_URL: &'static str = "https://clinicaltrialsapi.cancer.gov/api/v2";

    /// The public API with this key (sent as `X-API-KEY`).
    pub fn new(api_key: Option<String>) -> NciCtsClient {
        NciCtsClient {
            base_url: Self::DEFAULT_BASE_URL.to_string(),
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            timeout: DEFAULT_TIMEOUT,
            // Redirects are not followed: the key must not go to another host.
            agent: agent(DEFAULT_TIMEOUT, false),
        }
    }

    /// The public API with the key from [`NCI_API_KEY_ENV`], if set.
    pub fn from_env() -> NciCtsClient {
        NciCtsClient::new(std::env::var(NCI_API_KEY_ENV).ok())
    }

    /// Another server: `http(s)://host[:port]/path`.
    pub fn with_base_url(base_url: &str, api_key: Option<String>) -> Result<NciCtsClient> {
        Ok(NciCtsClient {
            base_url: check_base_url(base_url)?,
            ..NciCtsClient::new(api_key)
        })
    }

    /// The longest wait for one request, connection to last byte.
    pub fn timeout(mut self, timeout: Duration) -> NciCtsClient {
        self.timeout = timeout;
        self.agent = agent(timeout, false);
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn headers(&self) -> Vec<(&'static str, &str)> {
        self.api_key
            .as_deref()
            .map(|k| ("X-API-KEY", k))
            .into_iter()
            .collect()
    }

    /// `GET {base}/trials?...`: one page of trials; `total` is set.
    pub fn search(&self, query: &SearchQuery) -> Result<Page> {
        let mut params: Vec<(&str, String)> = Vec::new();
        let words: Vec<&str> = [nonempty(&query.condition), nonempty(&query.terms)]
            .into_iter()
            .flatten()
            .collect();
        if !words.is_empty() {
            params.push((
                "keyword",
                check_text(&self.base_url, "keyword", &words.join(" "))?,
            ));
        }
        for code in &query.disease_codes {
            let code = code.trim();
            if !is_ncit_code(code) {
                return Err(bad_id(&self.base_url, code, "an NCIt code (C + digits)"));
            }
            params.push(("diseases.nci_thesaurus_concept_id", code.to_string()));
        }
        if query.open_only {
            params.push(("current_trial_status", "Active".into()));
        }
        let size = query.page_size.clamp(1, 50);
        let from: u64 = match nonempty(&query.page_token) {
            None => 0,
            Some(t) => t.parse().map_err(|_| {
                bad_id(
                    &self.base_url,
                    t,
                    "an offset (NCI CTS page tokens are numbers)",
                )
            })?,
        };
        params.push(("size", size.to_string()));
        params.push(("from", from.to_string()));
        let url = format!("{}/trials?{}", self.base_url, query_string(&params));
        let body = get(
            &self.agent,
            &url,
            &self.headers(),
            self.timeout,
            Api::NciCts,
        )?;
        let mut p = page(&url, &body, Vec::new())?;
        // CTS pages by offset: the next page starts after the records this
        // one held, while the total says there are more.
        let next = from + p.records as u64;
        p.page.next_page_token = match p.page.total {
            Some(total) if p.records > 0 && next < total => Some(next.to_string()),
            _ => None,
        };
        Ok(p.page)
    }

    /// `GET {base}/trials/{id}`: one trial by NCT or NCI id.
    pub fn trial(&self, id: &str) -> Result<Trial> {
        let id = id.trim();
        if !is_nct(id) && !is_nci_id(id) {
            return Err(bad_id(
                &self.base_url,
                id,
                "an NCT number (NCT + 8 digits) or an NCI id (NCI-YYYY-NNNNN)",
            ));
        }
        let url = format!("{}/trials/{id}", self.base_url);
        let body = get(
            &self.agent,
            &url,
            &self.headers(),
            self.timeout,
            Api::NciCts,
        )?;
        one_trial(&url, &body)
    }
}

impl TrialSearch for NciCtsClient {
    fn search(&self, query: &SearchQuery) -> Result<Page> {
        NciCtsClient::search(self, query)
    }
}

/// Which API answered, for what its errors mean.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    CtGov,
    NciCts,
}

fn agent(timeout: Duration, follow_redirects: bool) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        // Error statuses are answers to explain, not transport errors.
        .http_status_as_error(false)
        // End to end: a server that accepts and then says nothing, or
        // trickles, cannot hold a call longer than this.
        .timeout_global(Some(timeout))
        .user_agent(concat!("sextant/", env!("CARGO_PKG_VERSION")));
    if !follow_redirects {
        config = config.max_redirects(0).max_redirects_will_error(false);
    }
    config.build().new_agent()
}

fn check_base_url(base_url: &str) -> Result<String> {
    let base = base_url.trim().trim_end_matches('/');
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"));
    let ok = rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with('/')
            && !r.contains(['?', '#', ' '])
            && r.chars().all(|c| c.is_ascii_graphic())
    });
    if !ok {
        return Err(TrialsError::Api {
            url: base_url.to_string(),
            detail: "the base URL must be http(s)://host[:port]/path".into(),
        });
    }
    Ok(base.to_string())
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Free text as a query value: bounded, without control characters.
fn check_text(base: &str, what: &str, s: &str) -> Result<String> {
    if s.chars().count() > MAX_QUERY_CHARS {
        return Err(TrialsError::Api {
            url: base.to_string(),
            detail: format!("the {what} is over {MAX_QUERY_CHARS} characters; nothing was asked"),
        });
    }
    Ok(s.chars().filter(|c| !c.is_control()).collect())
}

fn bad_id(base: &str, id: &str, want: &str) -> TrialsError {
    let shown: String = id.chars().take(40).collect();
    TrialsError::Api {
        url: base.to_string(),
        detail: format!("{shown:?} is not {want}; nothing was asked"),
    }
}

/// `NCT` and 8 digits.
pub fn is_nct(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 11 && b.starts_with(b"NCT") && b[3..].iter().all(u8::is_ascii_digit)
}

/// `NCI-YYYY-NNNNN`.
pub fn is_nci_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 14
        && b.starts_with(b"NCI-")
        && b[4..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'-'
        && b[9..].iter().all(u8::is_ascii_digit)
}

fn is_ncit_code(code: &str) -> bool {
    let b = code.as_bytes();
    (2..=10).contains(&b.len()) && b[0] == b'C' && b[1..].iter().all(u8::is_ascii_digit)
}

/// Percent-encodes a query value: everything but RFC 3986 unreserved
/// characters (commas too, so a status list is sent as one value).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query_string(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| {
            // Status lists keep their literal commas, as the API documents.
            let v = if *k == "filter.overallStatus" {
                v.split(',')
                    .map(percent_encode)
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                percent_encode(v)
            };
            format!("{}={v}", percent_encode(k))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// One GET; the body of a 2xx answer, else a clear error.
fn get(
    agent: &ureq::Agent,
    url: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
    api: Api,
) -> Result<Vec<u8>> {
    let err = |detail: String| TrialsError::Api {
        url: url.to_string(),
        detail,
    };
    let mut req = agent.get(url).header("accept", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut response = req.call().map_err(|e| err(transport(e, timeout)))?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let quote = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .map(|b| error_quote(&b))
            .unwrap_or_default();
        let reason = response.status().canonical_reason().unwrap_or("");
        let mut detail = format!("HTTP {status} {reason}").trim_end().to_string();
        match (status, api) {
            (401 | 403, Api::NciCts) => detail.push_str(&format!(
                ": NCI CTS needs a valid API key (free at \
                 https://clinicaltrialsapi.cancer.gov); set {NCI_API_KEY_ENV}"
            )),
            (404, _) => detail.push_str(": no such trial or endpoint"),
            (429, _) => detail.push_str(": too many requests; try again later"),
            (300..=399, _) => detail.push_str(&format!(
                ": redirected to {}; not followed",
                location.as_deref().unwrap_or("nowhere")
            )),
            _ => {}
        }
        if !quote.is_empty() {
            detail.push_str(&format!(" ({quote})"));
        }
        return Err(err(detail));
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_vec()
        .map_err(|e| {
            err(match e {
                ureq::Error::BodyExceedsLimit(_) => {
                    format!("the answer is over the {MAX_BODY_BYTES}-byte limit")
                }
                e => format!("reading the answer: {}", transport(e, timeout)),
            })
        })
}

/// What a transport error means to a person.
fn transport(e: ureq::Error, timeout: Duration) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("timed out after {} s", timeout.as_secs_f32()),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            format!("timed out after {} s", timeout.as_secs_f32())
        }
        ureq::Error::HostNotFound => "host not found (offline?)".into(),
        ureq::Error::ConnectionFailed => "could not connect".into(),
        ureq::Error::Io(io) => format!("connection failed: {io}"),
        e => e.to_string(),
    }
}

/// The start of an error body, on one line.
fn error_quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut quote: String = one_line.chars().take(MAX_ERROR_QUOTE).collect();
    if quote.len() < one_line.len() {
        quote.push('…');
    }
    quote
}

struct ReadPage {
    page: Page,
    records: usize,
}

/// Reads a search answer; a body that is not a page is an API error.
fn page(url: &str, body: &[u8], mut issues: Vec<Issue>) -> Result<ReadPage> {
    let today = today_utc();
    let doc = read_document(url, body, Some(&today)).map_err(|e| not_trials(url, e))?;
    // A lone record where a page was expected is still read; an answer
    // with neither a list nor a record is no search page.
    if !doc.is_page && doc.trials.is_empty() {
        let why = doc
            .issues
            .first()
            .map(|i| format!(": {}", i.message))
            .unwrap_or_default();
        return Err(TrialsError::Api {
            url: url.to_string(),
            detail: format!("the answer is not a search page{why}"),
        });
    }
    issues.extend(doc.issues);
    Ok(ReadPage {
        records: doc.records.max(doc.trials.len()),
        page: Page {
            trials: doc.trials,
            issues,
            next_page_token: doc.next_page_token,
            total: doc.total,
            url: url.to_string(),
        },
    })
}

/// Reads a single-record answer.
fn one_trial(url: &str, body: &[u8]) -> Result<Trial> {
    let today = today_utc();
    let doc = read_document(url, body, Some(&today)).map_err(|e| not_trials(url, e))?;
    let why = doc
        .issues
        .first()
        .map(|i| format!(": {}", i.message))
        .unwrap_or_default();
    doc.trials
        .into_iter()
        .next()
        .ok_or_else(|| TrialsError::Api {
            url: url.to_string(),
            detail: format!("the answer holds no readable trial{why}"),
        })
}

fn not_trials(url: &str, e: TrialsError) -> TrialsError {
    let detail = match e {
        TrialsError::Unrecognized { why, .. } => format!("the answer is not trial data: {why}"),
        TrialsError::Malformed { format, detail, .. } => {
            format!("the answer is malformed {format}: {detail}")
        }
        TrialsError::TooLarge { size, limit, .. } => {
            format!("the answer unpacks to over {limit} bytes ({size} read)")
        }
        other => other.to_string(),
    };
    TrialsError::Api {
        url: url.to_string(),
        detail,
    }
}

/// Today's date in UTC, `YYYY-MM-DD`.
pub fn today_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        let today = today_utc();
        assert_eq!(today.len(), 10);
        assert!(today.as_str() > "2024-01-01");
    }

    #[test]
    fn ids_and_encoding() {
        assert!(is_nct("NCT02513394"));
        assert!(!is_nct("NCT0251339"));
        assert!(!is_nct("NCT02513394/../x"));
        assert!(is_nci_id("NCI-2014-01507"));
        assert!(!is_nci_id("NCI-2014-0150"));
        assert!(is_ncit_code("C4872"));
        assert!(!is_ncit_code("C48 72"));
        assert_eq!(
            percent_encode("breast cancer & HER2+/ü"),
            "breast%20cancer%20%26%20HER2%2B%2F%C3%BC"
        );
        assert!(check_base_url("ftp://x").is_err());
        assert!(check_base_url("http:///x").is_err());
        assert_eq!(
            check_base_url("http://127.0.0.1:9/api/").unwrap(),
            "http://127.0.0.1:9/api"
        );
    }
}
