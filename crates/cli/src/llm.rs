//! The optional language model: command-line options and opening the
//! backend they name. Without `--llm` nothing changes: answers are
//! extractive.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use sextant_answer::generate::GenerateOptions;
use sextant_llm::{ChatBackend, LlmError, LocalBackend, OpenAiBackend, OpenAiConfig};

/// Which kind of language model writes answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LlmKind {
    /// An OpenAI-compatible chat-completions server (vLLM, llama.cpp's
    /// server, Ollama, a hosted API); key from $SEXTANT_LLM_API_KEY or
    /// $OPENAI_API_KEY.
    Openai,
    /// A GGUF model run in this process with llama.cpp (builds with the
    /// `local-llm` feature).
    Local,
}

/// Options shared by `ask`, `serve` and `eval medquad`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LlmArgs {
    /// Let a language model write the answer's body; every sentence shown is first checked against the passage it cites, and the extractive answer is shown when too few pass. Default: $SEXTANT_LLM, else none.
    #[arg(long, global = true, value_enum, env = "SEXTANT_LLM")]
    pub llm: Option<LlmKind>,
    /// For --llm openai: the API's base URL, up to the version (http://127.0.0.1:8000/v1).
    #[arg(long, global = true, value_name = "URL", env = "SEXTANT_LLM_BASE_URL")]
    pub llm_base_url: Option<String>,
    /// For --llm openai: the model's name on the server.
    #[arg(long, global = true, value_name = "NAME", env = "SEXTANT_LLM_MODEL")]
    pub llm_model: Option<String>,
    /// For --llm local: the GGUF file.
    #[arg(long, global = true, value_name = "FILE", env = "SEXTANT_GGUF")]
    pub gguf: Option<PathBuf>,
    /// Longest a generated answer may take (seconds) before the extractive one is shown.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 120)]
    pub llm_timeout: u64,
}

impl LlmArgs {
    /// The backend the options name, or `None` without `--llm`.
    pub fn backend(&self) -> Result<Option<Arc<dyn ChatBackend>>> {
        let Some(kind) = self.llm else {
            if self.llm_base_url.is_some() || self.gguf.is_some() {
                bail!("--llm-base-url and --gguf need --llm openai or --llm local");
            }
            return Ok(None);
        };
        let backend: Arc<dyn ChatBackend> = match kind {
            LlmKind::Openai => {
                let url = self
                    .llm_base_url
                    .clone()
                    .ok_or_else(|| anyhow!("--llm openai needs --llm-base-url URL"))?;
                let model = self
                    .llm_model
                    .clone()
                    .ok_or_else(|| anyhow!("--llm openai needs --llm-model NAME"))?;
                Arc::new(OpenAiBackend::new(OpenAiConfig::new(url, model))?)
            }
            LlmKind::Local => {
                let path = self
                    .gguf
                    .clone()
                    .ok_or_else(|| anyhow!("--llm local needs --gguf FILE"))?;
                match LocalBackend::open(&path) {
                    Ok(b) => Arc::new(b),
                    Err(LlmError::LocalUnavailable) => bail!(
                        "this sextant was built without local models; rebuild with `cargo build --release -p sextant-cli --features local-llm` (needs cmake and libclang-dev: scripts/install-llm-deps.sh)"
                    ),
                    Err(e) => return Err(anyhow!(e).context(format!("opening {}", path.display()))),
                }
            }
        };
        Ok(Some(backend))
    }

    /// How answers are generated.
    pub fn options(&self) -> GenerateOptions {
        GenerateOptions {
            timeout: Duration::from_secs(self.llm_timeout.max(1)),
            ..GenerateOptions::default()
        }
    }
}
