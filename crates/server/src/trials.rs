//! Clinical trials that may fit a person: `POST /api/trials/match` and the
//! `/trials` page, over [`sextant_trials::store::TrialIndex`].
//!
//! What a person gives here (a profile, a pasted history) is personal
//! health information: it is matched in memory and dropped. Results are
//! never published to the answer library, never cached, never saved, and
//! nothing here logs them.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use sextant_records::Profile;
use sextant_trials::matching::{CheckedCriterion, Person, Status, TrialMatch, Verdict};
use sextant_trials::store::TrialIndex;

use crate::account::{self, MaybeUser};
use crate::api::ApiJson;
use crate::error::ApiError;
use crate::pages::{error_page, html, Layout};
use crate::AppState;

/// The trial index, shared. A newtype because [`TrialIndex`] has no
/// `Debug` and [`crate::Config`] derives it.
#[derive(Clone)]
pub struct Trials(pub Arc<TrialIndex>);

impl Trials {
    pub fn new(index: TrialIndex) -> Trials {
        Trials(Arc::new(index))
    }
}

impl From<Arc<TrialIndex>> for Trials {
    fn from(index: Arc<TrialIndex>) -> Trials {
        Trials(index)
    }
}

impl std::ops::Deref for Trials {
    type Target = TrialIndex;
    fn deref(&self) -> &TrialIndex {
        &self.0
    }
}

impl std::fmt::Debug for Trials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0.manifest();
        f.debug_struct("Trials")
            .field("trials", &m.trials)
            .field("fingerprint", &m.fingerprint)
            .finish()
    }
}

/// Shown with every result, in the API and on the page.
pub const NOTICE: &str = "This is not medical advice. Sextant checks trial criteria against \
what your records or summary say, by rule, and can be wrong or out of date. Only the trial \
team can say whether you can join a trial: talk it over with your care team, and check the \
trial's registry page for its current status.";

/// Results a request may ask for by default, and at most.
pub const DEFAULT_LIMIT: usize = 10;
pub const MAX_LIMIT: usize = 50;

/// `POST /api/trials/match`.
#[derive(Debug, Default, Deserialize)]
pub struct MatchRequest {
    /// A profile in the shape `sextant profile --json` prints (missing
    /// fields are empty), or the body of `GET /api/profile`.
    #[serde(default)]
    pub profile: Option<Value>,
    /// A free-text clinical note or history, read into a profile.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

/// A profile from JSON: lenient about missing fields (every field of a
/// profile is a list, empty by default), and accepting `GET /api/profile`'s
/// body as is, so that a client can pass it straight back.
pub fn profile_from_json(v: Value) -> Result<Profile, ApiError> {
    let bad = || {
        ApiError::BadRequest(
            "the profile is not in the shape `sextant profile --json` prints".into(),
        )
    };
    let Value::Object(mut given) = v else {
        return Err(bad());
    };
    if !given.contains_key("primary_cancers") {
        if let Some(Value::Object(inner)) = given.remove("profile") {
            given = inner;
        }
    }
    let mut base = serde_json::to_value(Profile::default()).map_err(|_| ApiError::Internal)?;
    let Some(obj) = base.as_object_mut() else {
        return Err(ApiError::Internal);
    };
    obj.extend(given);
    serde_json::from_value(base).map_err(|_| bad())
}

fn no_input() -> ApiError {
    ApiError::BadRequest(
        "give a \"profile\" or a \"note\" (a summary of your history) to match trials against"
            .into(),
    )
}

fn index(st: &AppState) -> Result<Trials, ApiError> {
    st.config()
        .trials
        .clone()
        .ok_or(ApiError::TrialsUnavailable)
}

/// The current year, for ages from birth dates.
fn this_year() -> i32 {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs() / 86_400) as i64)
        .unwrap_or(0);
    crate::library::civil_date(days)[..4]
        .parse()
        .unwrap_or(2025)
}

/// What to match: a profile, a note read into one, or both merged.
struct Input {
    profile: Option<Profile>,
    note: Option<String>,
}

/// Reads the note and matches, on the blocking pool under the answers'
/// concurrency limit (both are CPU-bound). Returns the profile matched and
/// the matches; an empty profile is refused (it would match nothing in
/// particular and everything in general).
async fn run(
    st: &AppState,
    trials: Trials,
    input: Input,
    limit: usize,
) -> Result<(Profile, Vec<TrialMatch>), ApiError> {
    let _permit = st
        .inner
        .answering
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable)?;
    let engine = st.inner.engine.clone();
    let year = this_year();
    let candidates = (limit * 10).clamp(50, 200);
    tokio::task::spawn_blocking(move || {
        let mut profile = input.profile.unwrap_or_default();
        if let Some(note) = &input.note {
            profile.merge(sextant_records::read_note("note", note));
        }
        if profile.is_empty() {
            return Err(ApiError::BadRequest(
                "nothing in the profile or note could be read as a diagnosis, stage, tumor \
                 marker, treatment or test result"
                    .into(),
            ));
        }
        let person = Person::from_profile(&profile, year);
        let matches = trials
            .match_person(
                &person,
                input.note.as_deref(),
                engine.embedder(),
                candidates,
                limit,
            )
            .map_err(|_| ApiError::Internal)?;
        Ok((profile, matches))
    })
    .await
    // A panic in matching: the blocking task died, the server did not.
    .map_err(|_| ApiError::Internal)?
}

fn index_json(t: &TrialIndex) -> Value {
    let m = t.manifest();
    let dates: Vec<Value> = m
        .data_dates
        .iter()
        .map(|(d, n)| json!({"date": d, "trials": n}))
        .collect();
    json!({"trials": m.trials, "data_dates": dates})
}

fn text_of(s: Option<String>) -> Option<String> {
    s.filter(|n| !n.trim().is_empty())
}

/// `POST /api/trials/match`: trials ranked for a profile or a note (or,
/// for a logged-in person who gives neither, their saved profile).
pub async fn match_api(
    State(st): State<AppState>,
    who: MaybeUser,
    ApiJson(req): ApiJson<MatchRequest>,
) -> Result<Json<Value>, ApiError> {
    let trials = index(&st)?;
    let limit = req.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let profile = req.profile.map(profile_from_json).transpose()?;
    let note = text_of(req.note);
    let profile = match (&profile, &note, &who.0) {
        (None, None, Some(u)) => Some(account::load_profile(&st, u).await?.ok_or_else(|| {
            ApiError::BadRequest(
                "your profile is empty: upload a record first, or give a \"profile\" or a \"note\""
                    .into(),
            )
        })?),
        (None, None, None) => return Err(no_input()),
        _ => profile,
    };
    let (_, matches) = run(&st, trials.clone(), Input { profile, note }, limit).await?;
    Ok(Json(json!({
        "trials": matches,
        "index": index_json(&trials),
        "notice": NOTICE,
    })))
}

/// One criterion on the page.
pub struct CheckView {
    /// `met`, `not-met`, `unknown` (a class).
    pub class: &'static str,
    /// Shown next to the word, hidden from screen readers.
    pub symbol: &'static str,
    pub word: &'static str,
    /// "Must apply" or "Must not apply".
    pub kind: &'static str,
    pub text: String,
    pub any_of: Vec<String>,
    pub reason: String,
}

impl CheckView {
    fn new(c: &CheckedCriterion) -> CheckView {
        let (class, symbol, word) = match c.status {
            Status::Met => ("met", "✓", "Met"),
            Status::NotMet => ("not-met", "✗", "Not met"),
            Status::Unknown => ("unknown", "?", "Unknown"),
        };
        CheckView {
            class,
            symbol,
            word,
            kind: if c.criterion.inclusion {
                "Must apply"
            } else {
                "Must not apply"
            },
            text: c.criterion.text.clone(),
            any_of: c.criterion.any_of.clone(),
            reason: c.reason.clone(),
        }
    }
}

/// One trial on the page.
pub struct TrialView {
    pub n: usize,
    pub id: String,
    pub title: String,
    /// Empty when the URL is not https (then it is shown, not linked).
    pub href: String,
    pub url: String,
    pub verdict: String,
    pub verdict_class: &'static str,
    pub status: String,
    pub as_of: String,
    /// Sites as recorded, true as of `as_of`; `site_count` in all.
    pub sites: Vec<String>,
    pub site_count: usize,
    pub phase: String,
    pub summary: String,
    pub conditions: String,
    pub reasons: Vec<String>,
    pub cohort: String,
    pub other_cohorts: Vec<String>,
    pub met: usize,
    pub not_met: usize,
    pub unknown: usize,
    /// Decided by the records, or unknown and not settled at screening.
    pub checks: Vec<CheckView>,
    /// Unknown, and checked by the trial team at screening anyway.
    pub screening: Vec<CheckView>,
    pub to_settle: Vec<String>,
    pub questions: Vec<String>,
}

/// `RECRUITING` → `Recruiting`, `ACTIVE_NOT_RECRUITING` → `Active, not
/// recruiting`.
fn status_words(s: &str) -> String {
    let lower = s.trim().replace('_', " ").to_lowercase();
    let lower = lower.replacen("active not", "active, not", 1);
    let mut c = lower.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl TrialView {
    fn new(n: usize, m: &TrialMatch) -> TrialView {
        let (screening, checks): (Vec<&CheckedCriterion>, Vec<&CheckedCriterion>) = m
            .checklist
            .iter()
            .partition(|c| c.screening && c.status == Status::Unknown);
        TrialView {
            n,
            id: m.trial_id.clone(),
            title: m.title.clone(),
            href: if m.url.starts_with("https://") {
                m.url.clone()
            } else {
                String::new()
            },
            url: m.url.clone(),
            verdict: capitalized(m.verdict.label()),
            verdict_class: match m.verdict {
                Verdict::LikelyEligible => "likely-eligible",
                Verdict::Possibly => "possibly",
                Verdict::LikelyExcluded => "likely-excluded",
            },
            status: m
                .status
                .as_deref()
                .map(status_words)
                .unwrap_or_else(|| "Not stated".into()),
            as_of: m.as_of.clone(),
            sites: m.sites.clone(),
            site_count: m.site_count,
            phase: m.phase.clone().unwrap_or_default(),
            summary: m.summary.clone(),
            conditions: m.conditions.join("; "),
            reasons: m.reasons.clone(),
            cohort: m.cohort.clone().unwrap_or_default(),
            other_cohorts: m.other_cohorts.clone(),
            met: m.met,
            not_met: m.not_met,
            unknown: m.unknown,
            checks: checks.into_iter().map(CheckView::new).collect(),
            screening: screening.into_iter().map(CheckView::new).collect(),
            to_settle: m.to_settle.clone(),
            questions: m.questions.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "trials.html")]
struct TrialsPage {
    page: Layout,
    /// Whether results were computed (else: the form alone).
    searched: bool,
    /// What the results come from: "your profile" or "the summary you
    /// pasted".
    from: String,
    /// The facts read, in words, so the person can see what was matched.
    facts: Vec<String>,
    trials: Vec<TrialView>,
    /// The pasted text, back in the form after an error (never stored).
    note: String,
    error: String,
    index_trials: usize,
    data_dates: String,
    notice: &'static str,
}

impl TrialsPage {
    fn new(st: &AppState, who: &MaybeUser, trials: &TrialIndex) -> TrialsPage {
        let m = trials.manifest();
        TrialsPage {
            page: Layout::new("Trials that may fit you", st, who),
            searched: false,
            from: String::new(),
            facts: Vec::new(),
            trials: Vec::new(),
            note: String::new(),
            error: String::new(),
            index_trials: m.trials,
            data_dates: m
                .data_dates
                .iter()
                .map(|(d, _)| d.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            notice: NOTICE,
        }
    }

    fn with_results(mut self, from: &str, profile: &Profile, matches: &[TrialMatch]) -> TrialsPage {
        self.searched = true;
        self.from = from.to_string();
        self.facts = sextant_records::edit::entries(profile)
            .into_iter()
            .map(|e| fact_words(e.field, &e.line))
            .collect();
        self.trials = matches
            .iter()
            .enumerate()
            .map(|(i, m)| TrialView::new(i + 1, m))
            .collect();
        self
    }
}

/// A profile fact in words for the page: its kind, then the values of its
/// canonical line (`type=cervical histology=squamous cell carcinoma
/// site=cervix` → `Cancer: squamous cell carcinoma, cervix`), without the
/// catalog id and the `?` of parts not recorded.
fn fact_words(field: &str, line: &str) -> String {
    let label = match field {
        "cancer" => "Cancer",
        "metastasis" => "Spread to",
        "stage" => "Stage",
        "grade" => "Grade",
        "biomarker" => "Tumor marker",
        "treatment" => "Treatment",
        "performance" => "Daily activity",
        "sex" => "Sex",
        "birth_date" => "Born",
        "age" => "Age",
        other => other,
    };
    let mut parts: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
    for word in line.split_whitespace() {
        match word.split_once('=') {
            Some((k, v)) => parts.push((Some(k), vec![v])),
            None => match parts.last_mut() {
                Some((_, words)) => words.push(word),
                None => parts.push((None, vec![word])),
            },
        }
    }
    let mut values: Vec<String> = Vec::new();
    for (key, words) in parts {
        let v = words
            .into_iter()
            .filter(|w| *w != "?")
            .collect::<Vec<_>>()
            .join(" ");
        if key != Some("type") && !v.is_empty() && !values.contains(&v) {
            values.push(v);
        }
    }
    format!("{label}: {}", values.join(", "))
}

/// `GET /trials`: results from a logged-in person's profile, else the
/// form to paste a summary.
pub async fn trials_page(State(st): State<AppState>, who: MaybeUser) -> Response {
    let trials = match index(&st) {
        Ok(t) => t,
        Err(e) => return error_page(&e),
    };
    let page = TrialsPage::new(&st, &who, &trials);
    let profile = match &who.0 {
        Some(u) => match account::load_profile(&st, u).await {
            Ok(p) => p,
            Err(e) => return error_page(&e),
        },
        None => None,
    };
    let Some(profile) = profile else {
        return html(StatusCode::OK, &page);
    };
    let input = Input {
        profile: Some(profile),
        note: None,
    };
    match run(&st, trials, input, DEFAULT_LIMIT).await {
        Ok((p, matches)) => html(
            StatusCode::OK,
            &page.with_results("your profile", &p, &matches),
        ),
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize)]
pub struct TrialsForm {
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub csrf: Option<String>,
}

/// `POST /trials` (the form): results for the pasted summary, which is
/// neither stored nor logged.
pub async fn trials_form(
    State(st): State<AppState>,
    who: MaybeUser,
    Form(f): Form<TrialsForm>,
) -> Response {
    if let Err(e) = who.check_form_csrf(f.csrf.as_deref()) {
        return error_page(&e);
    }
    let trials = match index(&st) {
        Ok(t) => t,
        Err(e) => return error_page(&e),
    };
    let page = TrialsPage::new(&st, &who, &trials);
    // The form again, with the pasted text and what to change.
    let refused = |page: TrialsPage, error: String, note: &str| {
        html(
            StatusCode::BAD_REQUEST,
            &TrialsPage {
                note: note.chars().take(20_000).collect(),
                error,
                ..page
            },
        )
    };
    let Some(note) = text_of(Some(f.note)) else {
        return refused(page, "Paste a summary of your history first.".into(), "");
    };
    let input = Input {
        profile: None,
        note: Some(note.clone()),
    };
    match run(&st, trials, input, DEFAULT_LIMIT).await {
        Ok((p, matches)) => html(
            StatusCode::OK,
            &page.with_results("the summary you pasted", &p, &matches),
        ),
        Err(ApiError::BadRequest(_)) => refused(
            page,
            "Sextant could not find a diagnosis, stage, tumor marker, treatment or test result \
             in your summary: name the cancer and what has been done so far."
                .into(),
            &note,
        ),
        Err(e) => error_page(&e),
    }
}
