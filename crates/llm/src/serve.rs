//! An OpenAI-compatible HTTP endpoint over any [`ChatBackend`] (crate
//! feature `serve`): `POST /v1/chat/completions`, streamed (SSE) or not,
//! and `GET /v1/models`.
//!
//! It exists so the HTTP client can be tested against a real model rather
//! than canned text, and so an evaluation can put the local model behind
//! the same protocol a deployment would use. It is not a production
//! inference server: no authentication, one backend, one choice per call.
//!
//! Backends are synchronous, so each call runs on tokio's blocking pool;
//! a client that goes away closes the channel the tokens travel on, which
//! cancels the generation at its next token.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::{ChatBackend, ChatMessage, ChatRequest, Completion, Finish, LlmError, Role};

/// What the endpoint does beyond passing requests through.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The model name reported to clients; default: the backend's.
    pub model_name: Option<String>,
    /// The timeout of every call (clients cannot set one in this protocol).
    pub timeout: Duration,
    /// Cap on `max_tokens`, and its value when a client sends none.
    pub max_tokens: u32,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            model_name: None,
            timeout: Duration::from_secs(300),
            max_tokens: 2048,
        }
    }
}

struct Shared {
    backend: Arc<dyn ChatBackend>,
    model: String,
    options: ServeOptions,
    ids: AtomicU64,
}

/// The routes, to mount in an application or serve with [`serve`].
pub fn router(backend: Arc<dyn ChatBackend>, options: ServeOptions) -> Router {
    let model = options
        .model_name
        .clone()
        .unwrap_or_else(|| backend.info().model);
    let shared = Arc::new(Shared {
        backend,
        model,
        options,
        ids: AtomicU64::new(1),
    });
    Router::new()
        .route("/v1/chat/completions", post(completions))
        .route("/v1/models", get(models))
        .with_state(shared)
}

/// Serves the routes on `listener` until the future is dropped or the
/// listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    backend: Arc<dyn ChatBackend>,
    options: ServeOptions,
) -> std::io::Result<()> {
    axum::serve(listener, router(backend, options)).await
}

/// A server on its own thread and runtime, for synchronous callers (tests,
/// evaluations). Stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Binds `addr` (port 0 picks a free one) and starts serving.
    pub fn start(
        backend: Arc<dyn ChatBackend>,
        addr: SocketAddr,
        options: ServeOptions,
    ) -> std::io::Result<Server> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sextant-llm-serve".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let app = router(backend, options);
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
                // Generations still running on the blocking pool are
                // cancelled by their closed channels; do not wait for them.
                runtime.shutdown_background();
            })?;
        Ok(Server {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/v1`, what [`crate::OpenAiConfig::new`] takes.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn models(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "object": "list",
        "data": [{ "id": s.model, "object": "model", "owned_by": "sextant" }],
    }))
}

/// An error in OpenAI's shape.
fn error(status: StatusCode, message: &str, kind: &str) -> Response {
    let body = json!({ "error": { "message": message, "type": kind, "code": Value::Null } });
    (status, Json(body)).into_response()
}

fn llm_error(e: &LlmError) -> Response {
    let status = match e {
        LlmError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        LlmError::Http { status, .. } => {
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        LlmError::Connect(_) | LlmError::Protocol(_) => StatusCode::BAD_GATEWAY,
        LlmError::Model(_) => StatusCode::INTERNAL_SERVER_ERROR,
        LlmError::LocalUnavailable => StatusCode::NOT_IMPLEMENTED,
    };
    error(status, &e.to_string(), "server_error")
}

/// Reads a request the way servers do: unknown fields ignored, content as
/// a string or as a list of text parts.
fn parse(v: &Value, options: &ServeOptions) -> Result<(ChatRequest, bool, bool), String> {
    let messages = v
        .get("messages")
        .and_then(Value::as_array)
        .ok_or("`messages` must be a list")?;
    let mut out = Vec::with_capacity(messages.len());
    for m in messages {
        let role = match m.get("role").and_then(Value::as_str) {
            Some("system" | "developer") => Role::System,
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            other => return Err(format!("unsupported message role {other:?}")),
        };
        let content = match m.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
            Some(Value::Null) | None => String::new(),
            Some(_) => return Err("message `content` must be text".into()),
        };
        out.push(ChatMessage { role, content });
    }
    if out.is_empty() {
        return Err("`messages` is empty".into());
    }
    let mut request = ChatRequest::new(out);
    let max = ["max_tokens", "max_completion_tokens"]
        .iter()
        .find_map(|k| v.get(k)?.as_u64());
    request.max_tokens = max.map_or(options.max_tokens, |m| {
        m.min(options.max_tokens as u64) as u32
    });
    // Greedy unless asked otherwise: reproducible answers are the point.
    request.temperature = v.get("temperature").and_then(Value::as_f64).unwrap_or(0.0) as f32;
    request.seed = v.get("seed").and_then(Value::as_u64).or(request.seed);
    request.timeout = options.timeout;
    let stream = v.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let usage = v
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok((request, stream, usage))
}

enum Event {
    Delta(String),
    Done(Result<Completion, LlmError>),
}

fn finish_reason(f: &Finish) -> &'static str {
    match f {
        Finish::Length => "length",
        // A cancelled call has no client left to tell.
        Finish::Stop | Finish::Cancelled => "stop",
    }
}

fn usage(c: &Completion) -> Value {
    let p = c.prompt_tokens.unwrap_or(0);
    let n = c.completion_tokens.unwrap_or(0);
    json!({ "prompt_tokens": p, "completion_tokens": n, "total_tokens": p + n })
}

async fn completions(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the body is not JSON: {e}"),
                "invalid_request_error",
            )
        }
    };
    let (request, stream, include_usage) = match parse(&v, &s.options) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e, "invalid_request_error"),
    };
    let id = format!("chatcmpl-{}", s.ids.fetch_add(1, Ordering::Relaxed));
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());

    // A small buffer: a slow or vanished client soon stalls (and then
    // cancels) the generation instead of letting it run ahead.
    let (tx, mut rx) = mpsc::channel::<Event>(16);
    let backend = s.backend.clone();
    tokio::task::spawn_blocking(move || {
        let result = backend.chat(
            &request,
            &mut |d| match tx.blocking_send(Event::Delta(d.into())) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            },
        );
        let _ = tx.blocking_send(Event::Done(result));
    });

    if !stream {
        let mut text = String::new();
        let completion = loop {
            match rx.recv().await {
                Some(Event::Delta(d)) => text.push_str(&d),
                Some(Event::Done(r)) => break r,
                None => {
                    return error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the model stopped",
                        "server_error",
                    )
                }
            }
        };
        return match completion {
            Ok(c) => Json(json!({
                "id": id,
                "object": "chat.completion",
                "created": created,
                "model": s.model,
                "choices": [{
                    "index": 0,
                    "message": { "role": "assistant", "content": text },
                    "finish_reason": finish_reason(&c.finish),
                }],
                "usage": usage(&c),
            }))
            .into_response(),
            Err(e) => llm_error(&e),
        };
    }

    // Wait for the first event so that a call failing before any text
    // (prompt too long, timeout) gets a real HTTP error status.
    let first = match rx.recv().await {
        Some(Event::Done(Err(e))) => return llm_error(&e),
        Some(ev) => ev,
        None => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the model stopped",
                "server_error",
            )
        }
    };
    let model = s.model.clone();
    let chunk = move |delta: Value, finish: Value, usage: Option<Value>| -> Bytes {
        let mut c = json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        if let Some(u) = usage {
            c["choices"] = json!([]);
            c["usage"] = u;
        }
        Bytes::from(format!("data: {c}\n\n"))
    };
    let role = chunk(
        json!({ "role": "assistant", "content": "" }),
        Value::Null,
        None,
    );
    // (events, pending first event, sent [DONE]) → frames.
    let frames = futures_util::stream::unfold(
        (rx, Some(first), false, Some(role)),
        move |(mut rx, mut pending, done, mut lead)| {
            let chunk = chunk.clone();
            async move {
                if let Some(b) = lead.take() {
                    return Some((
                        Ok::<_, std::convert::Infallible>(b),
                        (rx, pending, done, None),
                    ));
                }
                if done {
                    return None;
                }
                let ev = match pending.take() {
                    Some(ev) => ev,
                    None => rx.recv().await?,
                };
                let bytes = match ev {
                    Event::Delta(d) => chunk(json!({ "content": d }), Value::Null, None),
                    Event::Done(Ok(c)) => {
                        let mut b =
                            chunk(json!({}), json!(finish_reason(&c.finish)), None).to_vec();
                        if include_usage {
                            b.extend_from_slice(&chunk(json!({}), Value::Null, Some(usage(&c))));
                        }
                        b.extend_from_slice(b"data: [DONE]\n\n");
                        return Some((Ok(Bytes::from(b)), (rx, None, true, None)));
                    }
                    Event::Done(Err(e)) => {
                        // Headers are gone: report the error in-band, as
                        // OpenAI-compatible servers do, and end.
                        let err = json!({ "error": { "message": e.to_string(), "type": "server_error" } });
                        return Some((
                            Ok(Bytes::from(format!("data: {err}\n\n"))),
                            (rx, None, true, None),
                        ));
                    }
                };
                Some((Ok(bytes), (rx, None, false, None)))
            }
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(frames))
        .unwrap_or_else(|_| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "response",
                "server_error",
            )
        })
}
