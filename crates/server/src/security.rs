//! The layers every response passes through: a correlation id, security
//! headers, the last-resort panic handler, and the normalizer that turns a
//! layer's or the router's bare refusal (404, 405, 413...) into the error
//! table's shape.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Response, StatusCode};
use axum::middleware::Next;
use axum::response::IntoResponse;

use crate::error::{correlation_id, ApiError, Handled, CORRELATION_ID};

/// The header that carries the correlation id on every response.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The Content-Security-Policy of every response: nothing from elsewhere,
/// no inline script or style, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// 128 random bits, hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS generator failing is not something to serve through.
    getrandom::fill(&mut buf).expect("the operating system's random generator failed");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Gives the request a correlation id (readable through
/// [`crate::error::correlation_id`] while it is served) and puts it on the
/// response. A client-sent id is not trusted: ids are always minted here.
pub async fn correlate(req: Request, next: Next) -> Response<Body> {
    let id = random_hex(12);
    // Audit rows written while it is served carry it too.
    let served = sextant_store::with_request(id.clone(), next.run(req));
    let mut res = CORRELATION_ID.scope(id.clone(), served).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(CORRELATION_HEADER, v);
    }
    res
}

/// Security headers, and `Cache-Control: no-store` for everything but the
/// static files (answers may be personal).
pub async fn headers(req: Request, next: Next) -> Response<Body> {
    let is_static = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, k: HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if !is_static && !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}

/// Replaces a bare error response (from the router or a layer, not from a
/// handler) by the error table's JSON under `/api/`, or the error page
/// elsewhere.
pub async fn normalize_errors(req: Request, next: Next) -> Response<Body> {
    let api = req.uri().path().starts_with("/api/");
    // The route's pattern ("/api/records/{id}"), never the path: a path
    // can carry an id, and a query anything.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("-", |m| m.as_str())
        .to_string();
    let method = req.method().clone();
    let res = next.run(req).await;
    let status = res.status();
    // Every server error is logged with its correlation id (issue 19,
    // finding 16: only panics were), so a person's report can be traced.
    if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        eprintln!(
            "sextant-server: {} {method} {route} (correlation id {})",
            status.as_u16(),
            correlation_id()
        );
    }
    if !(status.is_client_error() || status.is_server_error())
        || res.extensions().get::<Handled>().is_some()
    {
        return res;
    }
    let err = match status {
        // An extractor's rejection: keep what kind it was, not its text
        // (which may quote the body).
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            ApiError::BadRequest("the body is not what this address expects".into())
        }
        s => ApiError::from_status(s),
    };
    let allow = res.headers().get(header::ALLOW).cloned();
    let mut out = if api {
        err.into_response()
    } else {
        crate::pages::error_page(&err)
    };
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

/// The last-resort answer to a panic in a handler: a 500 with a generic
/// message and the correlation id; no payload, no backtrace.
pub fn panic_response(_payload: Box<dyn Any + Send + 'static>) -> Response<Body> {
    // The payload may quote a question or a record: it is dropped unread.
    eprintln!(
        "sextant-server: a handler panicked (correlation id {})",
        correlation_id()
    );
    ApiError::Internal.into_response()
}

/// Installs a panic hook that reports where a panic happened but not its
/// message, which could hold a person's question or record.
pub fn quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "?".into());
        eprintln!("sextant-server: panic at {at} (message withheld: it may hold personal data)");
    }));
}
