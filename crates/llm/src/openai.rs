//! A synchronous client for OpenAI-compatible chat-completion servers
//! (vLLM, llama.cpp's server, Ollama, hosted APIs): `POST
//! {base_url}/chat/completions` with `"stream": true`, read as server-sent
//! events.
//!
//! Servers differ, so parsing is lenient: every field is optional, an empty
//! or null `finish_reason` means "not yet", usage may come in a last chunk
//! of its own or not at all, and a server that ignores `stream` and answers
//! with one JSON body is understood too. The request's `timeout` is one
//! deadline over everything (connecting, retries, a server that trickles or
//! never answers). Retries happen only before any text was streamed, so
//! the callback never sees text twice.

use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::{BackendInfo, ChatBackend, ChatRequest, Completion, Finish, LlmError};

/// Environment variables holding the API key, first found wins.
pub const API_KEY_VARS: [&str; 2] = ["SEXTANT_LLM_API_KEY", "OPENAI_API_KEY"];

/// Longest SSE line or non-streamed body accepted: a server gone wrong must
/// not eat the memory.
const MAX_LINE: u64 = 4 << 20;
const MAX_BODY: u64 = 16 << 20;
/// How much of an error body is kept for the message.
const MAX_ERROR_BODY: usize = 600;

/// How to reach the server.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Up to and including the API version, e.g. `http://127.0.0.1:8080/v1`
    /// or `https://api.openai.com/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// The model name the server knows.
    pub model: String,
    /// Sent as `Authorization: Bearer …`; none means no header (local
    /// servers usually want none).
    pub api_key: Option<String>,
    /// Longest wait for a connection (within the request's own timeout).
    pub connect_timeout: Duration,
    /// Further attempts after a connection failure, HTTP 429 or 5xx, made
    /// only while no text has been streamed yet.
    pub retries: u32,
    /// Wait before the first retry; doubled each time (a `Retry-After` of
    /// up to 10 s is honoured instead). Never past the deadline.
    pub retry_backoff: Duration,
    /// Ask for `stream_options.include_usage` (token counts in a last
    /// chunk). A few old servers reject the field; turn it off for them.
    pub include_usage: bool,
}

impl std::fmt::Debug for OpenAiConfig {
    // By hand, so the API key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("retries", &self.retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("include_usage", &self.include_usage)
            .finish()
    }
}

impl OpenAiConfig {
    /// Defaults: API key from [`API_KEY_VARS`], 10 s to connect, 2 retries
    /// starting at 250 ms, usage requested.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> OpenAiConfig {
        OpenAiConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: api_key_from_env(),
            connect_timeout: Duration::from_secs(10),
            retries: 2,
            retry_backoff: Duration::from_millis(250),
            include_usage: true,
        }
    }
}

/// `$SEXTANT_LLM_API_KEY`, else `$OPENAI_API_KEY`, ignoring empty values.
pub fn api_key_from_env() -> Option<String> {
    API_KEY_VARS
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

/// An OpenAI-compatible chat-completions client. Cheap to share: calls
/// from several threads each use their own connection from the pool.
pub struct OpenAiBackend {
    config: OpenAiConfig,
    url: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for OpenAiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiBackend")
            .field("config", &self.config)
            .finish()
    }
}

impl OpenAiBackend {
    /// Checks the base URL (http or https, with a host); connects nothing.
    pub fn new(config: OpenAiConfig) -> Result<OpenAiBackend, LlmError> {
        let base = config.base_url.trim().trim_end_matches('/');
        let rest = base
            .strip_prefix("http://")
            .or_else(|| base.strip_prefix("https://"));
        if rest.is_none_or(|r| r.is_empty() || r.starts_with('/')) {
            return Err(LlmError::Connect(format!(
                "the base URL must be http(s)://host[:port]/path, not {:?}",
                config.base_url
            )));
        }
        let url = format!("{base}/chat/completions");
        let agent = ureq::Agent::config_builder()
            // Error statuses are answers to read (their JSON says why),
            // not transport errors.
            .http_status_as_error(false)
            .user_agent(concat!("sextant/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(OpenAiBackend { config, url, agent })
    }

    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    fn body(&self, request: &ChatRequest) -> Vec<u8> {
        let mut body = json!({
            "model": self.config.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": true,
        });
        if let Some(seed) = request.seed {
            body["seed"] = json!(seed);
        }
        if self.config.include_usage {
            body["stream_options"] = json!({ "include_usage": true });
        }
        serde_json::to_vec(&body).expect("a JSON value serializes")
    }

    /// One HTTP exchange. `Err((error, retryable))`.
    fn attempt(
        &self,
        body: &[u8],
        start: Instant,
        deadline: Instant,
        timeout: Duration,
        state: &mut Stream<'_>,
    ) -> Result<Completion, (LlmError, Option<Duration>)> {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err((LlmError::Timeout(timeout), None));
        }
        let mut req = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "text/event-stream, application/json");
        if let Some(key) = &self.config.api_key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        let response = req
            .config()
            // ureq enforces these on every read, so a server that accepts
            // and then says nothing (or trickles) cannot outlast the deadline.
            .timeout_global(Some(remaining))
            .timeout_connect(Some(self.config.connect_timeout.min(remaining)))
            .build()
            .send(body)
            .map_err(|e| classify(e, timeout))?;

        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(10)));
        let mut reader = response.into_body().into_reader();
        if !(200..300).contains(&status) {
            let mut raw = Vec::new();
            // What the body says is a courtesy: a failed read still leaves
            // the status to report.
            let _ = (&mut reader)
                .take(MAX_ERROR_BODY as u64 * 4)
                .read_to_end(&mut raw);
            let err = LlmError::Http {
                status,
                body: error_message(&raw),
            };
            let retryable = status == 429 || status >= 500;
            return Err((err, retryable.then(|| retry_after.unwrap_or_default())));
        }
        state.read(BufReader::new(reader), start, deadline, timeout)
    }
}

/// Maps a transport error; connection failures may be retried.
fn classify(e: ureq::Error, timeout: Duration) -> (LlmError, Option<Duration>) {
    use ureq::Timeout as T;
    match e {
        ureq::Error::Timeout(T::Connect | T::Resolve) => (
            LlmError::Connect("timed out connecting".into()),
            Some(Duration::ZERO),
        ),
        ureq::Error::Timeout(_) => (LlmError::Timeout(timeout), None),
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            (LlmError::Connect(e.to_string()), Some(Duration::ZERO))
        }
        ureq::Error::Io(io) => {
            use std::io::ErrorKind as K;
            let retry = matches!(
                io.kind(),
                K::ConnectionRefused
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::NotConnected
                    | K::BrokenPipe
                    | K::UnexpectedEof
            );
            (
                LlmError::Connect(io.to_string()),
                retry.then_some(Duration::ZERO),
            )
        }
        other => (LlmError::Connect(other.to_string()), None),
    }
}

/// A read error inside the body: a ureq timeout comes back wrapped in io.
fn read_error(e: std::io::Error, timeout: Duration) -> LlmError {
    match ureq::Error::from(e) {
        ureq::Error::Timeout(_) => LlmError::Timeout(timeout),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            LlmError::Timeout(timeout)
        }
        other => LlmError::Connect(format!("the connection failed mid-answer: {other}")),
    }
}

/// The readable part of an error body: OpenAI's `error.message`, other
/// servers' `error` string, `detail` or `message`, else the text itself.
fn error_message(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let msg = serde_json::from_str::<Value>(text.trim())
        .ok()
        .and_then(|v| json_error(&v))
        .unwrap_or_else(|| text.trim().to_string());
    truncate(&msg, MAX_ERROR_BODY)
}

fn json_error(v: &Value) -> Option<String> {
    let e = v.get("error").or_else(|| v.get("detail"));
    let e = match e {
        Some(e) => e,
        None => return v.get("message")?.as_str().map(str::to_string),
    };
    match e {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => Some(
            o.get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
        ),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// What one call has streamed so far, kept across attempts.
struct Stream<'a> {
    on_delta: &'a mut dyn FnMut(&str) -> ControlFlow<()>,
    text: String,
    finish: Option<Finish>,
    prompt_tokens: Option<u32>,
    completion_tokens: Option<u32>,
    first_token: Option<Duration>,
    cancelled: bool,
}

/// How the body turned out to be framed (decided by its first line: some
/// servers ignore `stream`, some label SSE with the wrong content type).
#[derive(PartialEq)]
enum Framing {
    Unknown,
    Sse,
    Json,
}

impl Stream<'_> {
    fn read(
        &mut self,
        mut reader: impl BufRead,
        start: Instant,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Completion, (LlmError, Option<Duration>)> {
        let fatal = |e| (e, None);
        let mut framing = Framing::Unknown;
        let mut line = Vec::new();
        let mut data = String::new(); // the current event's data lines
        let mut event = String::new(); // the current event's name
        let mut whole = Vec::new(); // a non-streamed body
        let mut events = 0usize;
        loop {
            if Instant::now() >= deadline {
                return Err(fatal(LlmError::Timeout(timeout)));
            }
            line.clear();
            let n = (&mut reader)
                .take(MAX_LINE)
                .read_until(b'\n', &mut line)
                .map_err(|e| fatal(read_error(e, timeout)))?;
            let eof = n == 0;
            if !eof && !line.ends_with(b"\n") && line.len() as u64 >= MAX_LINE {
                return Err(fatal(LlmError::Protocol(
                    "a line of the answer is too long".into(),
                )));
            }
            if framing == Framing::Unknown && !eof {
                let t = String::from_utf8_lossy(&line);
                let t = t.trim_start_matches('\u{feff}').trim();
                if t.is_empty() {
                    continue;
                }
                framing = if t.starts_with('{') || t.starts_with('[') {
                    Framing::Json
                } else {
                    Framing::Sse
                };
            }
            if framing == Framing::Json {
                whole.extend_from_slice(&line);
                if whole.len() as u64 > MAX_BODY {
                    return Err(fatal(LlmError::Protocol("the answer is too long".into())));
                }
                if eof {
                    let v: Value = serde_json::from_slice(&whole).map_err(|e| {
                        fatal(LlmError::Protocol(format!(
                            "the answer is not JSON ({e}): {}",
                            truncate(&String::from_utf8_lossy(&whole), 200)
                        )))
                    })?;
                    if let Some(msg) = json_error(&v) {
                        return Err(fatal(LlmError::Protocol(format!(
                            "the server reported an error: {msg}"
                        ))));
                    }
                    self.chunk(&v, start);
                    return Ok(self.done(start));
                }
                continue;
            }
            // Server-sent events: `field: value` lines, a blank line ends
            // an event; comments (`:`) are keep-alives.
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\n', '\r']);
            if eof || text.is_empty() {
                if !data.is_empty() {
                    events += 1;
                    if self.event(&event, &data, start).map_err(fatal)? {
                        return Ok(self.done(start));
                    }
                }
                data.clear();
                event.clear();
                if eof {
                    if events == 0 {
                        return Err(fatal(LlmError::Protocol(
                            "the server closed the stream without sending anything".into(),
                        )));
                    }
                    // No [DONE]: servers that just close are common enough.
                    return Ok(self.done(start));
                }
                if self.cancelled {
                    return Ok(self.done(start));
                }
                continue;
            }
            let (field, value) = match text.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (text, ""),
            };
            match field {
                "data" => {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(value);
                    // Some servers put no blank line between events: a data
                    // line that is a whole JSON value (or [DONE]) is an event.
                    let d = data.trim();
                    if d == "[DONE]" || serde_json::from_str::<Value>(d).is_ok() {
                        events += 1;
                        if self.event(&event, &data, start).map_err(fatal)? {
                            return Ok(self.done(start));
                        }
                        data.clear();
                        event.clear();
                    }
                }
                "event" => event = value.to_string(),
                _ => {} // comments, id:, retry:
            }
            if self.cancelled {
                return Ok(self.done(start));
            }
        }
    }

    /// Handles one event; `Ok(true)` at the end of the stream or on
    /// cancellation.
    fn event(&mut self, name: &str, data: &str, start: Instant) -> Result<bool, LlmError> {
        let data = data.trim();
        if data == "[DONE]" {
            return Ok(true);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            LlmError::Protocol(format!(
                "an event is not JSON ({e}): {}",
                truncate(data, 200)
            ))
        })?;
        if name == "error" || v.get("error").is_some_and(|e| !e.is_null()) {
            let msg = json_error(&v).unwrap_or_else(|| truncate(data, 200));
            return Err(LlmError::Protocol(format!(
                "the server reported an error mid-answer: {msg}"
            )));
        }
        self.chunk(&v, start);
        Ok(self.cancelled)
    }

    /// Takes what a chunk (or a whole non-streamed answer) holds.
    fn chunk(&mut self, v: &Value, start: Instant) {
        if let Some(usage) = v.get("usage").filter(|u| u.is_object()) {
            let n = |k: &str| usage.get(k).and_then(Value::as_u64).map(|n| n as u32);
            self.prompt_tokens = n("prompt_tokens").or(self.prompt_tokens);
            self.completion_tokens = n("completion_tokens").or(self.completion_tokens);
        }
        let Some(choices) = v.get("choices").and_then(Value::as_array) else {
            return;
        };
        // One choice is asked for; a server that sends more is read for
        // the first (index 0 when indices are given).
        let choice = choices
            .iter()
            .find(|c| c.get("index").and_then(Value::as_u64) == Some(0))
            .or_else(|| choices.first());
        let Some(choice) = choice else { return };
        let content = ["delta", "message"]
            .iter()
            .find_map(|k| choice.get(k)?.get("content")?.as_str())
            .or_else(|| choice.get("text").and_then(Value::as_str));
        if let Some(s) = content.filter(|s| !s.is_empty()) {
            if !self.cancelled {
                self.first_token.get_or_insert_with(|| start.elapsed());
                self.text.push_str(s);
                if (self.on_delta)(s).is_break() {
                    self.cancelled = true;
                }
            }
        }
        match choice.get("finish_reason").and_then(Value::as_str) {
            Some("length") => self.finish = Some(Finish::Length),
            Some("") | None => {}
            Some(_) => self.finish = Some(Finish::Stop),
        }
    }

    fn done(&mut self, start: Instant) -> Completion {
        let finish = if self.cancelled {
            Finish::Cancelled
        } else {
            self.finish.clone().unwrap_or(Finish::Stop)
        };
        Completion {
            text: std::mem::take(&mut self.text),
            finish,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            first_token: self.first_token,
            total: start.elapsed(),
        }
    }
}

impl ChatBackend for OpenAiBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "openai",
            model: self.config.model.clone(),
        }
    }

    fn chat(
        &self,
        request: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        let start = Instant::now();
        let deadline = start + request.timeout;
        let body = self.body(request);
        let mut state = Stream {
            on_delta,
            text: String::new(),
            finish: None,
            prompt_tokens: None,
            completion_tokens: None,
            first_token: None,
            cancelled: false,
        };
        let mut backoff = self.config.retry_backoff;
        let mut attempt = 0;
        loop {
            match self.attempt(&body, start, deadline, request.timeout, &mut state) {
                Ok(c) => return Ok(c),
                Err((err, Some(retry_after)))
                    if attempt < self.config.retries && state.text.is_empty() =>
                {
                    let wait = retry_after.max(backoff);
                    if Instant::now() + wait >= deadline {
                        return Err(err);
                    }
                    std::thread::sleep(wait);
                    backoff *= 2;
                    attempt += 1;
                }
                Err((err, _)) => return Err(err),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<(Completion, Vec<String>), LlmError> {
        let mut deltas = Vec::new();
        let mut cb = |d: &str| {
            deltas.push(d.to_string());
            ControlFlow::Continue(())
        };
        let mut s = Stream {
            on_delta: &mut cb,
            text: String::new(),
            finish: None,
            prompt_tokens: None,
            completion_tokens: None,
            first_token: None,
            cancelled: false,
        };
        let start = Instant::now();
        let t = Duration::from_secs(5);
        let c = s
            .read(body.as_bytes(), start, start + t, t)
            .map_err(|(e, _)| e)?;
        Ok((c, deltas))
    }

    #[test]
    fn sse_without_blank_lines_or_done() {
        let (c, d) = parse(
            "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\
             data: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\n",
        )
        .unwrap();
        assert_eq!(d, ["a", "b"]);
        assert_eq!(c.finish, Finish::Length);
    }

    #[test]
    fn multi_line_data_and_comments_and_crlf() {
        let (c, _) = parse(
            ": keep-alive\r\n\r\nevent: message\r\ndata: {\"choices\":\r\ndata: [{\"delta\":{\"content\":\"x\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n",
        )
        .unwrap();
        assert_eq!(c.text, "x");
        assert_eq!(c.finish, Finish::Stop);
    }

    #[test]
    fn error_event_mid_stream() {
        let e = parse("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: {\"error\":{\"message\":\"overloaded\"}}\n\n")
            .unwrap_err();
        assert!(e.to_string().contains("overloaded"), "{e}");
    }

    #[test]
    fn empty_body_is_a_protocol_error() {
        assert!(matches!(parse(""), Err(LlmError::Protocol(_))));
        assert!(matches!(
            parse("data: not json\n\n"),
            Err(LlmError::Protocol(_))
        ));
    }

    #[test]
    fn error_messages_are_extracted_and_truncated() {
        assert_eq!(
            error_message(br#"{"error":{"message":"bad key","type":"x"}}"#),
            "bad key"
        );
        assert_eq!(error_message(br#"{"error":"nope"}"#), "nope");
        assert_eq!(error_message(br#"{"detail":"Not Found"}"#), "Not Found");
        assert_eq!(error_message(b" plain text "), "plain text");
        let long = "é".repeat(1000);
        assert!(error_message(long.as_bytes()).chars().count() <= MAX_ERROR_BODY / 2 + 1);
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for bad in ["", "localhost:8080", "ftp://x/v1", "http://", "http:///v1"] {
            assert!(
                OpenAiBackend::new(OpenAiConfig::new(bad, "m")).is_err(),
                "{bad}"
            );
        }
        let b = OpenAiBackend::new(OpenAiConfig::new("http://127.0.0.1:1/v1/", "m")).unwrap();
        assert_eq!(b.url, "http://127.0.0.1:1/v1/chat/completions");
    }
}
