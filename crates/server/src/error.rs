//! The one error table of the API: every error has a stable `code`, an HTTP
//! status and a message safe to show (no internals, no health information),
//! and carries the request's correlation id.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

tokio::task_local! {
    /// The correlation id of the request being served (set by
    /// [`crate::security::correlate`]).
    pub static CORRELATION_ID: String;
}

/// The correlation id of the current request, or `"-"` outside one.
pub fn correlation_id() -> String {
    CORRELATION_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "-".to_string())
}

/// What a `busy` reply asks the client to wait, in seconds.
pub const BUSY_RETRY_SECS: u64 = 30;

/// An API error. [`ApiError::code`] and [`ApiError::status`] are the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The body is not the JSON (or form) the route expects.
    BadRequest(String),
    /// The question is empty or has no letters or digits.
    EmptyQuestion,
    /// The question is over the length limit.
    QuestionTooLong {
        chars: usize,
        max: usize,
    },
    /// The request body (or an uploaded file) is over its size limit.
    PayloadTooLarge,
    /// The body's content type is not one the route takes.
    UnsupportedMediaType,
    /// Nothing here by that name (also: someone else's record).
    NotFound,
    MethodNotAllowed,
    /// Logging in is needed.
    Unauthorized,
    /// The request carries a session that has ended (expired or logged
    /// out), or asks for a personal answer without one: never answered as
    /// anonymous, so nothing is published.
    SignedOut,
    /// A state-changing request without the session's CSRF token.
    Csrf,
    /// A record file is not one Sextant reads.
    UnsupportedRecord(String),
    /// The knowledge base (or the store) is not ready.
    Unavailable,
    /// No trial index is configured: trial matching is off until one is
    /// built.
    TrialsUnavailable,
    /// An error from the account store, by its stable code.
    Store {
        code: &'static str,
        status: StatusCode,
        message: String,
        /// Seconds to wait (429 `too_many_attempts`): sent as `Retry-After`.
        retry_after: Option<u64>,
    },
    /// Sharing to the public library without ticking the consent box.
    ConsentRequired,
    /// The answer is not one the library takes (personal, routed, uncited).
    NotShareable,
    /// The library's review queue is full.
    LibraryFull,
    /// The request took longer than the server allows.
    Timeout,
    /// The client went away while its answer was being written: the work
    /// was stopped, and nothing was cached or saved. No one reads the reply.
    ClientGone,
    /// Every slot for reading records is taken for longer than a request
    /// waits: try again shortly (sent with `Retry-After`).
    Busy,
    /// Anything else: the message is generic, the details stay out.
    Internal,
}

impl ApiError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::EmptyQuestion => "empty_question",
            ApiError::QuestionTooLong { .. } => "question_too_long",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::SignedOut => "signed_out",
            ApiError::Csrf => "csrf",
            ApiError::UnsupportedRecord(_) => "unsupported_record",
            ApiError::Unavailable => "unavailable",
            ApiError::TrialsUnavailable => "trials_unavailable",
            ApiError::Store { code, .. } => code,
            ApiError::ConsentRequired => "consent_required",
            ApiError::NotShareable => "not_shareable",
            ApiError::LibraryFull => "library_full",
            ApiError::Timeout => "timeout",
            ApiError::Busy => "busy",
            ApiError::ClientGone => "client_gone",
            ApiError::Internal => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::EmptyQuestion | ApiError::QuestionTooLong { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized | ApiError::SignedOut => StatusCode::UNAUTHORIZED,
            ApiError::Csrf => StatusCode::FORBIDDEN,
            ApiError::UnsupportedRecord(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable | ApiError::TrialsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store { status, .. } => *status,
            ApiError::ConsentRequired => StatusCode::BAD_REQUEST,
            ApiError::NotShareable => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::LibraryFull => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            // nginx's "client closed request".
            ApiError::ClientGone => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message for people. Never contains a question or a record.
    pub fn message(&self) -> String {
        match self {
            ApiError::BadRequest(why) => format!("The request could not be read: {why}"),
            ApiError::EmptyQuestion => {
                "The question is empty: ask something like \"Is surgery an option for liver cancer?\""
                    .into()
            }
            ApiError::QuestionTooLong { chars, max } => {
                format!("The question is {chars} characters long; please keep it under {max}.")
            }
            ApiError::PayloadTooLarge => "The request is larger than this server accepts.".into(),
            ApiError::UnsupportedMediaType => {
                "Send the request as JSON (Content-Type: application/json).".into()
            }
            ApiError::NotFound => "Nothing was found here.".into(),
            ApiError::MethodNotAllowed => "This address does not take that method.".into(),
            ApiError::Unauthorized => "Please log in first.".into(),
            ApiError::SignedOut => "You are signed out: your session has ended. Sign in again to ask with your records. Your question was not answered, saved or published.".into(),
            ApiError::Csrf => {
                "The request is missing its security token; reload the page and try again.".into()
            }
            ApiError::UnsupportedRecord(why) => format!("This file cannot be read: {why}"),
            ApiError::Unavailable => "The service is not ready yet; try again shortly.".into(),
            ApiError::TrialsUnavailable => "No trial index: run `sextant trials ingest`".into(),
            ApiError::Store { message, .. } => message.clone(),
            ApiError::ConsentRequired => "Nothing was shared: tick the box to agree that this question and its answer may be shown publicly.".into(),
            ApiError::NotShareable => "This answer cannot be shared: the library takes only general, cited answers. Nothing was shared.".into(),
            ApiError::LibraryFull => "The answer library's review queue is full; please try sharing again later. Nothing was shared.".into(),
            ApiError::Timeout => "The request took too long and was stopped; please try again.".into(),
            ApiError::ClientGone => "The request was closed before its answer was ready; nothing was saved.".into(),
            ApiError::Busy => "The server is busy reading other records. Nothing was changed; please try again in a minute.".into(),
            ApiError::Internal => {
                "Something went wrong on our side. Please try again; if it keeps happening, \
                 give the correlation id to the people who run this server."
                    .into()
            }
        }
    }

    /// Every code in the table with its status, for the documentation and
    /// the tests.
    pub fn table() -> Vec<(&'static str, u16)> {
        [
            ApiError::BadRequest(String::new()),
            ApiError::EmptyQuestion,
            ApiError::QuestionTooLong { chars: 0, max: 0 },
            ApiError::PayloadTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::Unauthorized,
            ApiError::SignedOut,
            ApiError::Csrf,
            ApiError::UnsupportedRecord(String::new()),
            ApiError::Unavailable,
            ApiError::TrialsUnavailable,
            ApiError::ConsentRequired,
            ApiError::NotShareable,
            ApiError::LibraryFull,
            ApiError::Timeout,
            ApiError::Busy,
            ApiError::ClientGone,
            ApiError::Internal,
        ]
        .iter()
        .map(|e| (e.code(), e.status().as_u16()))
        .collect()
    }

    /// The error a status code means when a layer (not a handler) refused
    /// the request.
    pub fn from_status(status: StatusCode) -> ApiError {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::NOT_FOUND => ApiError::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable,
            StatusCode::REQUEST_TIMEOUT => ApiError::Timeout,
            s if s.is_client_error() => {
                ApiError::BadRequest(s.canonical_reason().unwrap_or("bad request").into())
            }
            _ => ApiError::Internal,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.message(),
                correlation_id: correlation_id(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for ApiError {}

/// `{"error": {"code", "message", "correlation_id"}}`.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub correlation_id: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (self.status(), axum::Json(self.body())).into_response();
        let retry = match &self {
            ApiError::Store { retry_after, .. } => *retry_after,
            ApiError::Busy => Some(BUSY_RETRY_SECS),
            _ => None,
        };
        if let Some(secs) = retry {
            r.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
        }
        r.extensions_mut().insert(Handled);
        r
    }
}

/// Marks a response whose error body is already in the table's shape.
#[derive(Debug, Clone, Copy)]
pub struct Handled;

impl From<sextant_answer::QuestionError> for ApiError {
    fn from(e: sextant_answer::QuestionError) -> ApiError {
        match e {
            sextant_answer::QuestionError::Empty => ApiError::EmptyQuestion,
            sextant_answer::QuestionError::TooLong { chars } => ApiError::QuestionTooLong {
                chars,
                max: sextant_answer::analyze::MAX_QUESTION_CHARS,
            },
        }
    }
}

impl From<sextant_answer::AnswerError> for ApiError {
    fn from(e: sextant_answer::AnswerError) -> ApiError {
        match e {
            sextant_answer::AnswerError::Question(q) => q.into(),
            _ => ApiError::Internal,
        }
    }
}
