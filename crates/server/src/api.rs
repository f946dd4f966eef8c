//! The JSON API: asking (whole or streamed), health, and the OpenAPI
//! document.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_answer::generate::GeneratedEvent;
use sextant_core::Answer;

use crate::error::ApiError;
use crate::AppState;

/// The OpenAPI 3.1 document of every route.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// A JSON body whose rejections are the error table's (without quoting the
/// body back).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rej) => Err(match rej.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
                _ => ApiError::BadRequest("the body is not valid JSON for this request".into()),
            }),
        }
    }
}

/// `POST /api/ask` and `/api/ask/stream`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AskRequest {
    pub question: String,
    /// Tailor the answer to the logged-in person's records.
    #[serde(default)]
    pub personalize: bool,
}

/// `POST /api/ask`: the answer, shaped as `sextant ask --json` prints it.
pub async fn ask(
    State(st): State<AppState>,
    who: crate::account::MaybeUser,
    ApiJson(req): ApiJson<AskRequest>,
) -> Result<Json<Answer>, ApiError> {
    let answer = st
        .answer_for(&who, &req.question, req.personalize, None)
        .await?;
    Ok(Json(answer))
}

/// `POST /api/library/preview` and `/api/library/share`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ShareRequest {
    pub question: String,
    /// The person agrees to publish the previewed question and its answer.
    #[serde(default)]
    pub consent: bool,
}

/// `POST /api/library/preview`: what sharing the question would publish
/// (identifying details replaced) and which kinds of detail were removed.
pub async fn library_preview(
    ApiJson(req): ApiJson<ShareRequest>,
) -> Result<Json<crate::library::Preview>, ApiError> {
    Ok(Json(crate::library::preview(&req.question)))
}

/// `POST /api/library/share`: with `consent: true`, queues the previewed
/// question and its general answer for review; 202 with the slug.
pub async fn library_share(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<ShareRequest>,
) -> Result<(StatusCode, Json<crate::library::Shared>), ApiError> {
    let shared = st.share(&req.question, req.consent).await?;
    Ok((StatusCode::ACCEPTED, Json(shared)))
}

/// The answer as NDJSON events, in reading order: the emergency block
/// first, then what the answer is, its sources (so that citation marks
/// resolve as sections arrive), each section or reading, the questions to
/// ask, the bottom line, the notice, the rest of a mixed message, `done`.
pub fn events(a: &Answer) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(u) = &a.urgent {
        out.push(json!({"type": "urgent", "urgent": u}));
    }
    out.push(json!({
        "type": "meta",
        "question": a.question,
        "kind": a.kind,
        "urgency": a.urgency,
        "title": a.title,
        "cancer_types": a.cancer_types,
        "opener": a.opener,
        "retriever": a.retriever,
        "warnings": a.warnings,
        "reading_grade": a.reading_grade,
    }));
    if let Some(p) = &a.personalization {
        out.push(json!({"type": "personalization", "personalization": p}));
    }
    if !a.sources.is_empty() {
        out.push(json!({"type": "sources", "sources": a.sources}));
    }
    for (i, s) in a.sections.iter().enumerate() {
        out.push(json!({"type": "section", "index": i, "section": s}));
    }
    for (i, r) in a.readings.iter().enumerate() {
        out.push(json!({"type": "reading", "index": i, "reading": r}));
    }
    if !a.questions_to_ask.is_empty() {
        out.push(json!({"type": "questions_to_ask", "questions_to_ask": a.questions_to_ask}));
    }
    if !a.bottom_line.is_empty() {
        out.push(json!({"type": "bottom_line", "bottom_line": a.bottom_line}));
    }
    out.push(json!({"type": "notice", "notice": a.notice}));
    if let Some(also) = &a.also {
        out.push(json!({"type": "also", "answer": also}));
    }
    out.push(json!({"type": "done"}));
    out
}

/// A language model's progress as a stream event: `sentence` (verified,
/// with its heading and citations) or `withdrawn` (the generated sentences
/// sent so far are replaced by the extractive answer that follows).
/// Dropped sentences are never sent: they failed verification.
pub fn generated_event(ev: &GeneratedEvent) -> Option<Value> {
    match ev {
        GeneratedEvent::Sentence { heading, sentence } => Some(json!({
            "type": "sentence",
            "heading": heading,
            "sentence": sentence,
        })),
        GeneratedEvent::Fallback { reason } => Some(json!({"type": "withdrawn", "reason": reason})),
        GeneratedEvent::Dropped { .. } | GeneratedEvent::Finished(_) => None,
    }
}

fn line(v: &Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

/// `POST /api/ask/stream`: NDJSON, one event a line (see [`events`]). A bad
/// question is refused before the stream starts, with the usual error; an
/// error after it started is an `{"type": "error", "error": {...}}` line.
///
/// A reported emergency's `urgent` block is sent as soon as the question is
/// routed (well under a millisecond), before retrieval and composition: the
/// person sees what to do now while the rest of the answer is made. With a
/// language model, each verified sentence follows as a `sentence` event as
/// it passes (see [`generated_event`]), then the whole answer's events.
pub async fn ask_stream(
    State(st): State<AppState>,
    who: crate::account::MaybeUser,
    ApiJson(req): ApiJson<AskRequest>,
) -> Result<Response, ApiError> {
    let q = sextant_answer::analyze::validate(&req.question)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let id = crate::error::correlation_id();
    let early = match st.engine().route(&q) {
        sextant_answer::Route::Emergency(e) => {
            Some(sextant_answer::routes::urgent(st.engine(), &e))
        }
        _ => None,
    };
    // An ended session is refused before the stream starts, unless the
    // message reports an emergency (see `AppState::answer_for`).
    if who.signed_out(req.personalize) && early.is_none() {
        return Err(ApiError::SignedOut);
    }
    let audited = id.clone();
    tokio::spawn(crate::error::CORRELATION_ID.scope(
        id,
        sextant_store::with_request(audited, async move {
            if let Some(u) = &early {
                if tx
                    .send(line(&json!({"type": "urgent", "urgent": u})))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            // With a language model: each sentence as it passes verification.
            let (gen_tx, mut gen_rx) = tokio::sync::mpsc::channel(16);
            let live = tx.clone();
            let forward = async move {
                while let Some(ev) = gen_rx.recv().await {
                    // Every event of the model (a dropped sentence too)
                    // checks the reader is still there.
                    if live.is_closed() {
                        return;
                    }
                    if let Some(v) = generated_event(&ev) {
                        // A reader gone: stop reading the model's events, which
                        // stops the model at its next sentence (the answer is
                        // then neither cached nor saved).
                        if live.send(line(&v)).await.is_err() {
                            return;
                        }
                    }
                }
            };
            let answering = st.answer_for(&who, &req.question, req.personalize, Some(gen_tx));
            let (result, ()) = tokio::join!(answering, forward);
            match result {
                Ok(a) => {
                    for ev in events(&a) {
                        // Already sent (the same block: routing is deterministic).
                        if early.is_some() && ev["type"] == "urgent" {
                            continue;
                        }
                        if tx.send(line(&ev)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    let body = serde_json::to_value(e.body()).unwrap_or(Value::Null);
                    let mut ev = json!({"type": "error"});
                    ev["error"] = body["error"].clone();
                    let _ = tx.send(line(&ev)).await;
                }
            }
        }),
    ));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, Infallible>(b), rx))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson; charset=utf-8"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /healthz`: the process is alive.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the knowledge base is open (and the store answers, when
/// there is one).
pub async fn readyz(State(st): State<AppState>) -> Response {
    let pages = st.engine().kb().pages().len();
    let store_ok = st.store_healthy().await;
    if pages == 0 || !store_ok {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "not_ready", "pages": pages, "store": store_ok})),
        )
            .into_response();
    }
    Json(json!({"status": "ready", "pages": pages, "store": store_ok})).into_response()
}
