//! Server-rendered pages (askama: every value escaped unless marked safe,
//! and only our own rendered HTML is), the CSS and the script.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use sextant_core::{Answer, AnswerKind, CitedSentence};

use crate::account::{Authed, MaybeUser};
use crate::error::{correlation_id, ApiError};
use crate::AppState;

const CSS: &str = include_str!("../static/app.css");
const JS: &str = include_str!("../static/app.js");

/// What the layout needs.
pub struct Layout {
    pub title: String,
    pub logged_in: bool,
    pub csrf: String,
    pub accounts: bool,
    /// Whether a trial index is configured (the nav links to /trials).
    pub trials: bool,
}

impl Layout {
    pub(crate) fn new(title: &str, st: &AppState, who: &MaybeUser) -> Layout {
        Layout {
            title: title.to_string(),
            logged_in: who.0.is_some(),
            csrf: who.csrf().unwrap_or("").to_string(),
            accounts: st.store().is_some(),
            trials: st.config().trials.is_some(),
        }
    }
}

pub struct SentenceView {
    pub text: String,
    pub marks: Vec<usize>,
}

pub struct SectionView {
    pub heading: String,
    pub sentences: Vec<SentenceView>,
}

pub struct ReadingView {
    pub label: String,
    pub sections: Vec<SectionView>,
    pub bottom_line: Vec<SentenceView>,
}

pub struct SourceView {
    pub n: usize,
    pub title: String,
    /// Empty when the URL is not https (then it is shown, not linked).
    pub href: String,
    pub url: String,
    pub section: String,
    pub reviewed: String,
    pub passage: String,
}

/// An answer's body, ready for the template.
#[derive(Template)]
#[template(path = "answer_body.html")]
pub struct AnswerBody {
    /// Prefix of element ids (`also-` for the rest of a mixed message).
    pub prefix: String,
    pub urgent: Option<sextant_core::Urgent>,
    pub emergency: bool,
    /// `routine`, `urgent` or `emergency`.
    pub urgency: String,
    pub kind: String,
    pub title: String,
    pub cancer_types: String,
    pub opener: String,
    pub warnings: Vec<String>,
    pub facts: Vec<(String, String)>,
    pub biomarkers: Vec<String>,
    pub sections: Vec<SectionView>,
    pub readings: Vec<ReadingView>,
    pub questions: Vec<String>,
    pub bottom_line: Vec<SentenceView>,
    pub notice: String,
    pub sources_label: String,
    pub sources: Vec<SourceView>,
    /// The rest of a mixed message, rendered by this same template.
    pub also_html: String,
}

fn sentences(a: &Answer, list: &[CitedSentence]) -> Vec<SentenceView> {
    list.iter()
        .map(|s| SentenceView {
            text: s.text.clone(),
            marks: s
                .citations
                .iter()
                .filter_map(|c| a.sources.iter().position(|src| &src.id == c))
                .map(|i| i + 1)
                .collect(),
        })
        .collect()
}

fn sections(a: &Answer, list: &[sextant_core::Section]) -> Vec<SectionView> {
    list.iter()
        .map(|s| SectionView {
            heading: s.heading.clone(),
            sentences: sentences(a, &s.sentences),
        })
        .collect()
}

impl AnswerBody {
    pub fn new(a: &Answer, prefix: &str) -> AnswerBody {
        let also_html = a
            .also
            .as_ref()
            .and_then(|also| {
                AnswerBody::new(also, &format!("{prefix}also-"))
                    .render()
                    .ok()
            })
            .unwrap_or_default();
        let p = a.personalization.as_ref();
        AnswerBody {
            prefix: prefix.to_string(),
            urgent: a.urgent.clone(),
            emergency: a.kind == AnswerKind::Emergency,
            urgency: a.urgency.as_str().to_string(),
            kind: a.kind.as_str().to_string(),
            title: a.title.clone(),
            cancer_types: a.cancer_types.join(", "),
            opener: a.opener.clone(),
            warnings: notes(a),
            facts: p
                .map(|p| {
                    p.facts_used
                        .iter()
                        .map(|f| (f.text.clone(), f.source.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            biomarkers: p
                .map(|p| {
                    p.biomarker_evidence
                        .iter()
                        .map(|e| e.summary.clone())
                        .collect()
                })
                .unwrap_or_default(),
            sections: sections(a, &a.sections),
            readings: a
                .readings
                .iter()
                .map(|r| ReadingView {
                    label: r.label.clone(),
                    sections: sections(a, &r.sections),
                    bottom_line: sentences(a, &r.bottom_line),
                })
                .collect(),
            questions: a.questions_to_ask.clone(),
            bottom_line: sentences(a, &a.bottom_line),
            notice: a.notice.clone(),
            sources_label: if a.kind == AnswerKind::NoEvidence {
                "Nearest topics found".into()
            } else {
                "Sources".into()
            },
            sources: a
                .sources
                .iter()
                .enumerate()
                .map(|(i, s)| SourceView {
                    n: i + 1,
                    title: s.title.clone(),
                    href: if s.url.starts_with("https://") {
                        s.url.clone()
                    } else {
                        String::new()
                    },
                    url: s.url.clone(),
                    section: s.section.clone(),
                    reviewed: s.last_reviewed.clone().unwrap_or_default(),
                    passage: s.passage.clone(),
                })
                .collect(),
            also_html,
        }
    }
}

pub(crate) fn html<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(body) => {
            let mut r = (status, Html(body)).into_response();
            // A page chosen by a handler, error status or not, stays as is.
            r.extensions_mut().insert(crate::error::Handled);
            r
        }
        Err(_) => ApiError::Internal.into_response(),
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Layout,
    code: String,
    message: String,
    correlation_id: String,
}

/// The error page for a refused or failed page request.
pub fn error_page(e: &ApiError) -> Response {
    let t = ErrorPage {
        page: Layout {
            title: "Something went wrong".into(),
            logged_in: false,
            csrf: String::new(),
            accounts: false,
            trials: false,
        },
        code: e.code().into(),
        message: e.message(),
        correlation_id: correlation_id(),
    };
    html(e.status(), &t)
}

#[derive(Template)]
#[template(path = "ask.html")]
struct AskPage {
    page: Layout,
    question: String,
    error: String,
    personal: bool,
    /// The hosted language model that would receive record facts with a
    /// tailored question, named so the person knows before they ask.
    llm_host: Option<String>,
}

/// A hosted (not local) language model writes answers: its model name.
fn llm_host(st: &AppState) -> Option<String> {
    let info = st.config().llm.as_ref()?.backend.info();
    (info.kind != "local").then_some(info.model)
}

/// `GET /`.
pub async fn ask_page(State(st): State<AppState>, who: MaybeUser) -> Response {
    let personal = who.0.as_ref().is_some_and(|u| u.session.personalize);
    html(
        StatusCode::OK,
        &AskPage {
            page: Layout::new("Ask a question", &st, &who),
            question: String::new(),
            error: String::new(),
            personal,
            llm_host: llm_host(&st),
        },
    )
}

#[derive(Deserialize)]
pub struct AskForm {
    pub question: String,
    #[serde(default)]
    pub personalize: Option<String>,
    #[serde(default)]
    pub csrf: Option<String>,
}

#[derive(Template)]
#[template(path = "answer.html")]
struct AnswerPage {
    page: Layout,
    question: String,
    body: String,
    questions: Vec<String>,
    /// What sharing would publish, for a general answer: offered, never
    /// done without the person's consent.
    share: Option<crate::library::Preview>,
}

/// `POST /ask` (the ask form): the answer page.
pub async fn ask_form(
    State(st): State<AppState>,
    who: MaybeUser,
    Form(f): Form<AskForm>,
) -> Response {
    if let Err(e) = who.check_form_csrf(f.csrf.as_deref()) {
        return error_page(&e);
    }
    let personalize = f.personalize.is_some();
    match st.answer_for(&who, &f.question, personalize, None).await {
        Ok(a) => {
            let body = AnswerBody::new(&a, "").render().unwrap_or_default();
            let share =
                crate::library::shareable_kind(&a).then(|| crate::library::preview(&a.question));
            html(
                StatusCode::OK,
                &AnswerPage {
                    page: Layout::new(&a.title, &st, &who),
                    question: a.question.clone(),
                    body,
                    questions: a.questions_to_ask.clone(),
                    share,
                },
            )
        }
        Err(e @ (ApiError::EmptyQuestion | ApiError::QuestionTooLong { .. })) => html(
            e.status(),
            &AskPage {
                page: Layout::new("Ask a question", &st, &who),
                question: f.question.chars().take(4000).collect(),
                error: e.message(),
                personal: who.0.as_ref().is_some_and(|u| u.session.personalize),
                llm_host: llm_host(&st),
            },
        ),
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize)]
pub struct ShareForm {
    pub question: String,
    #[serde(default)]
    pub consent: Option<String>,
    #[serde(default)]
    pub csrf: Option<String>,
}

#[derive(Template)]
#[template(path = "shared.html")]
struct SharedPage {
    page: Layout,
    question: String,
}

/// `POST /answers/share` (the answer page's share form): with the consent
/// box ticked, the previewed question goes to the review queue.
pub async fn share_form(
    State(st): State<AppState>,
    who: MaybeUser,
    Form(f): Form<ShareForm>,
) -> Response {
    if let Err(e) = who.check_form_csrf(f.csrf.as_deref()) {
        return error_page(&e);
    }
    match st.share(&f.question, f.consent.is_some()).await {
        Ok(shared) => html(
            StatusCode::ACCEPTED,
            &SharedPage {
                page: Layout::new("Sent for review", &st, &who),
                question: shared.question,
            },
        ),
        Err(e) => error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "questions.html")]
struct QuestionsPage {
    page: Layout,
    question: String,
    items: Vec<String>,
}

/// `POST /questions`: the printable "Questions for my next appointment"
/// (fields `question` and repeated `item`).
pub async fn questions_form(
    State(st): State<AppState>,
    who: MaybeUser,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if let Err(e) = who.check_form_csrf(csrf) {
        return error_page(&e);
    }
    let question = fields
        .iter()
        .find(|(k, _)| k == "question")
        .map(|(_, v)| v.chars().take(2000).collect())
        .unwrap_or_default();
    let items = fields
        .into_iter()
        .filter(|(k, v)| k == "item" && !v.trim().is_empty())
        .map(|(_, v)| v.chars().take(500).collect())
        .take(30)
        .collect();
    html(
        StatusCode::OK,
        &QuestionsPage {
            page: Layout::new("Questions for my next appointment", &st, &who),
            question,
            items,
        },
    )
}

#[derive(Template)]
#[template(path = "library.html")]
struct LibraryPage {
    page: Layout,
    items: Vec<(String, String, String)>,
}

/// `GET /answers`.
pub async fn library_page(State(st): State<AppState>, who: MaybeUser) -> Response {
    let items = st
        .library()
        .list(st.config().library_page)
        .await
        .into_iter()
        .map(|p| (p.slug, p.question, p.date))
        .collect();
    html(
        StatusCode::OK,
        &LibraryPage {
            page: Layout::new("Answer library", &st, &who),
            items,
        },
    )
}

#[derive(Template)]
#[template(path = "library_entry.html")]
struct LibraryEntry {
    page: Layout,
    slug: String,
    question: String,
    date: String,
    body: String,
}

/// `GET /answers/{slug}`.
pub async fn library_entry(
    State(st): State<AppState>,
    who: MaybeUser,
    Path(slug): Path<String>,
) -> Response {
    let Some(p) = st.library().get(&slug).await else {
        return error_page(&ApiError::NotFound);
    };
    let body = AnswerBody::new(&p.answer, "").render().unwrap_or_default();
    html(
        StatusCode::OK,
        &LibraryEntry {
            page: Layout::new(&p.question, &st, &who),
            slug: p.slug,
            question: p.question,
            date: p.date,
            body,
        },
    )
}

/// `GET /answers/{slug}/questions`: the printable questions of a library
/// answer.
pub async fn library_questions(
    State(st): State<AppState>,
    who: MaybeUser,
    Path(slug): Path<String>,
) -> Response {
    let Some(p) = st.library().get(&slug).await else {
        return error_page(&ApiError::NotFound);
    };
    html(
        StatusCode::OK,
        &QuestionsPage {
            page: Layout::new("Questions for my next appointment", &st, &who),
            question: p.question,
            items: p.answer.questions_to_ask,
        },
    )
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Layout,
    register: bool,
}

/// `GET /login`.
pub async fn login_page(State(st): State<AppState>, who: MaybeUser) -> Response {
    if st.store().is_none() {
        return error_page(&ApiError::NotFound);
    }
    html(
        StatusCode::OK,
        &LoginPage {
            page: Layout::new("Log in", &st, &who),
            register: false,
        },
    )
}

/// `GET /register`.
pub async fn register_page(State(st): State<AppState>, who: MaybeUser) -> Response {
    if st.store().is_none() {
        return error_page(&ApiError::NotFound);
    }
    html(
        StatusCode::OK,
        &LoginPage {
            page: Layout::new("Create an account", &st, &who),
            register: true,
        },
    )
}

#[derive(Template)]
#[template(path = "records.html")]
struct RecordsPage {
    page: Layout,
    records: Vec<(String, String, String, i64)>,
    max_file_mb: usize,
    /// Who opened the person's data, newest first.
    activity: Vec<ActivityView>,
}

/// `GET /records`: the upload page.
pub async fn records_page(State(st): State<AppState>, Authed(u): Authed) -> Response {
    let who = MaybeUser(Some(u.clone()), false, Default::default());
    let records = match st.store() {
        Some(s) => match s.user(&u.session).records().await {
            Ok(list) => list
                .into_iter()
                .map(|r| (r.id.to_string(), r.name, r.format, r.size))
                .collect(),
            Err(e) => return error_page(&crate::account::store_error(e)),
        },
        None => Vec::new(),
    };
    // Who opened the person's data, and when: every access is audited,
    // and the person can see it (the newest 20).
    let activity = match st.store() {
        Some(s) => match s.user(&u.session).access_log(20).await {
            Ok(log) => log.iter().map(ActivityView::of).collect(),
            Err(e) => return error_page(&crate::account::store_error(e)),
        },
        None => Vec::new(),
    };
    html(
        StatusCode::OK,
        &RecordsPage {
            page: Layout::new("Your records", &st, &who),
            records,
            max_file_mb: st.config().max_upload_file_bytes / (1024 * 1024),
            activity,
        },
    )
}

/// One row of the person's activity list, in words.
pub struct ActivityView {
    pub when: String,
    pub what: String,
    pub who: &'static str,
    pub result: String,
}

impl ActivityView {
    fn of(a: &sextant_store::Access) -> ActivityView {
        let secs = a.at.rem_euclid(86_400);
        let when = format!(
            "{} {:02}:{:02} UTC",
            crate::library::civil_date(a.at.div_euclid(86_400)),
            secs / 3600,
            secs % 3600 / 60
        );
        let who = if a.this_session {
            "you, in this session"
        } else if a.by_owner {
            "you, in another session"
        } else {
            "not you (a failed sign-in, or the server's operator)"
        };
        let result = match a.outcome.as_str() {
            "ok" => "done".to_string(),
            "not_found" => "nothing found".to_string(),
            other => other.replace('_', " "),
        };
        ActivityView {
            when,
            what: crate::account::activity_words(&a.action).to_string(),
            who,
            result,
        }
    }
}

pub struct FactView {
    pub field: String,
    pub fact: String,
    pub value: String,
    pub status: String,
    pub sources: Vec<String>,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    page: Layout,
    /// Whether answers may be tailored to the records (the setting).
    personalize: bool,
    facts: Vec<FactView>,
    conflicts: Vec<String>,
}

/// `GET /profile`: the facts read from the records, with where each came
/// from, to confirm, correct or remove.
pub async fn profile_page(State(st): State<AppState>, Authed(u): Authed) -> Response {
    let who = MaybeUser(Some(u.clone()), false, Default::default());
    let profile = match crate::account::load_profile(&st, &u).await {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => return error_page(&e),
    };
    let facts = sextant_records::edit::entries(&profile)
        .into_iter()
        .map(|e| FactView {
            field: e.field.to_string(),
            fact: e.line,
            value: e.value.to_string(),
            status: serde_json::to_value(e.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            sources: e
                .provenance
                .iter()
                .map(|p| format!("{} ({})", p.file, p.locator))
                .collect(),
        })
        .collect();
    html(
        StatusCode::OK,
        &ProfilePage {
            page: Layout::new("Your profile", &st, &who),
            personalize: u.session.personalize,
            facts,
            conflicts: profile.conflicts.clone(),
        },
    )
}

/// `GET /static/app.css`.
pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// `GET /static/app.js`.
pub async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        JS,
    )
        .into_response()
}

/// The answer's warnings, and how it was written when a language model
/// took part (shown with the warnings, above the body).
fn notes(a: &Answer) -> Vec<String> {
    let mut out = a.warnings.clone();
    if let Some(g) = &a.generation {
        match (&a.generator, &g.fallback) {
            (sextant_core::Generator::Llm, _) => out.push(format!(
                "a language model ({}) wrote the sections below from the sources listed; each sentence was checked against the passage it cites{}.",
                g.model,
                match g.dropped_sentences {
                    0 => String::new(),
                    1 => " (1 sentence that could not be checked was left out)".to_string(),
                    n => format!(" ({n} sentences that could not be checked were left out)"),
                }
            )),
            (_, Some(_)) => out.push(
                "a language model was asked, but its answer could not be checked against the sources closely enough; this answer quotes the sources directly instead.".to_string(),
            ),
            _ => {}
        }
    }
    out
}
