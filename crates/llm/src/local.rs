//! A GGUF model run in-process with llama.cpp (crate feature `local`).
//!
//! The model is loaded once; each call makes its own context (KV cache),
//! applies the model's chat template from the GGUF metadata (ChatML when
//! the model has none llama.cpp knows), and decodes on half the cores (see `LocalConfig::threads`).
//!
//! Calls are serialized by a gate: a context per call keeps calls
//! independent, but llama.cpp makes creating contexts from one model in
//! parallel unsound, and on a small machine two generations sharing the
//! cores are no faster than one after the other. Waiting at the gate counts
//! against the request's timeout.
//!
//! Without the feature the types still exist so callers compile either
//! way; [`LocalBackend::open`] then returns [`LlmError::LocalUnavailable`].

use std::path::PathBuf;

#[cfg(not(feature = "local"))]
use crate::LlmError;

/// How to run a GGUF model.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    pub path: PathBuf,
    /// Context size in tokens (prompt plus answer); 0 means the smaller of
    /// 4096 and what the model was trained for.
    pub n_ctx: u32,
    /// CPU threads; 0 means half the available cores (at least one).
    /// llama.cpp's threads spin while they wait for each other, so when
    /// anything else runs on the machine (Sextant's own verification, a
    /// second answer, a build) all-cores decoding measured 7–20× slower
    /// than one thread here; half leaves room for the rest.
    pub threads: usize,
    /// Prompt tokens evaluated per step. The deadline is checked between
    /// steps, so smaller batches stop sooner at a small cost in speed.
    pub n_batch: u32,
    /// A chat template (llama.cpp's name such as `chatml`, or the template
    /// text) instead of the one in the GGUF file.
    pub chat_template: Option<String>,
}

impl LocalConfig {
    pub fn new(path: impl Into<PathBuf>) -> LocalConfig {
        LocalConfig {
            path: path.into(),
            n_ctx: 0,
            threads: 0,
            n_batch: 512,
            chat_template: None,
        }
    }
}

#[cfg(feature = "local")]
pub use imp::LocalBackend;

#[cfg(not(feature = "local"))]
/// Stands in for the local backend in builds without the `local` feature.
#[derive(Debug)]
pub struct LocalBackend {
    _never: std::convert::Infallible,
}

#[cfg(not(feature = "local"))]
impl LocalBackend {
    /// Always [`LlmError::LocalUnavailable`] in this build.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<LocalBackend, LlmError> {
        let _ = path;
        Err(LlmError::LocalUnavailable)
    }

    /// Always [`LlmError::LocalUnavailable`] in this build.
    pub fn with_config(config: LocalConfig) -> Result<LocalBackend, LlmError> {
        let _ = config;
        Err(LlmError::LocalUnavailable)
    }

    /// Whether this build can run a local model.
    pub const AVAILABLE: bool = false;
}

#[cfg(not(feature = "local"))]
impl crate::ChatBackend for LocalBackend {
    fn info(&self) -> crate::BackendInfo {
        match self._never {}
    }
    fn chat(
        &self,
        _: &crate::ChatRequest,
        _: &mut dyn FnMut(&str) -> std::ops::ControlFlow<()>,
    ) -> Result<crate::Completion, LlmError> {
        match self._never {}
    }
}

#[cfg(feature = "local")]
mod imp {

    /// `.cargo/config.toml` builds llama.cpp with AVX2, FMA, F16C and BMI2
    /// (unless the environment turned them off): refuse, with the way out,
    /// instead of dying of an illegal instruction on an older CPU.
    pub(super) fn cpu_supported() -> Result<(), LlmError> {
        #[cfg(target_arch = "x86_64")]
        {
            let wanted = option_env!("GGML_AVX2").is_none_or(|v| v.eq_ignore_ascii_case("on"));
            let has = std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("f16c")
                && std::arch::is_x86_feature_detected!("bmi2");
            if wanted && !has {
                return Err(LlmError::Model(
                    "this build of llama.cpp needs a CPU with AVX2, FMA, F16C and BMI2; rebuild with GGML_AVX2=OFF GGML_FMA=OFF GGML_F16C=OFF GGML_BMI2=OFF GGML_AVX=OFF in the environment".into(),
                ));
            }
        }
        Ok(())
    }

    use std::num::NonZeroU32;
    use std::ops::ControlFlow;
    use std::path::Path;
    use std::sync::{Condvar, Mutex, OnceLock};
    use std::time::{Duration, Instant};

    use llama_cpp_2::context::params::LlamaContextParams;
    use llama_cpp_2::llama_backend::LlamaBackend;
    use llama_cpp_2::llama_batch::LlamaBatch;
    use llama_cpp_2::model::params::LlamaModelParams;
    use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
    use llama_cpp_2::sampling::LlamaSampler;
    use llama_cpp_2::token::LlamaToken;

    use super::LocalConfig;
    use crate::utf8::Utf8Stream;
    use crate::{
        BackendInfo, ChatBackend, ChatMessage, ChatRequest, Completion, Finish, LlmError, Role,
    };

    /// llama.cpp's process-wide state: initialized once, never torn down.
    fn backend() -> Result<&'static LlamaBackend, LlmError> {
        static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
        BACKEND
            .get_or_init(|| {
                let mut b = LlamaBackend::init().map_err(|e| e.to_string())?;
                // llama.cpp logs every tensor and setting to stderr, which
                // would bury Sextant's own output; SEXTANT_LLAMA_LOG=1
                // keeps it for debugging.
                if std::env::var_os("SEXTANT_LLAMA_LOG").is_none_or(|v| v.is_empty() || v == "0") {
                    b.void_logs();
                }
                Ok(b)
            })
            .as_ref()
            .map_err(|e| LlmError::Model(format!("could not start llama.cpp: {e}")))
    }

    /// A GGUF chat model. See the module documentation for how calls share it.
    pub struct LocalBackend {
        model: LlamaModel,
        template: LlamaChatTemplate,
        name: String,
        n_ctx: u32,
        threads: i32,
        n_batch: u32,
        busy: Mutex<bool>,
        freed: Condvar,
    }

    impl std::fmt::Debug for LocalBackend {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("LocalBackend")
                .field("model", &self.name)
                .field("n_ctx", &self.n_ctx)
                .field("threads", &self.threads)
                .finish()
        }
    }

    impl LocalBackend {
        /// Whether this build can run a local model.
        pub const AVAILABLE: bool = true;

        /// Loads the model at `path` with the default [`LocalConfig`].
        pub fn open(path: impl AsRef<Path>) -> Result<LocalBackend, LlmError> {
            LocalBackend::with_config(LocalConfig::new(path.as_ref()))
        }

        pub fn with_config(config: LocalConfig) -> Result<LocalBackend, LlmError> {
            let path = &config.path;
            if !path.is_file() {
                return Err(LlmError::Model(format!(
                    "no GGUF model at {}",
                    path.display()
                )));
            }
            cpu_supported()?;
            let backend = backend()?;
            let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
                .map_err(|e| LlmError::Model(format!("could not load {}: {e}", path.display())))?;
            let trained = model.n_ctx_train().max(1);
            let n_ctx = match config.n_ctx {
                0 => trained.min(4096),
                n => n.min(trained),
            };
            let template = match &config.chat_template {
                Some(t) => LlamaChatTemplate::new(t)
                    .map_err(|e| LlmError::Model(format!("bad chat template: {e}")))?,
                None => usable_template(&model),
            };
            let threads = match config.threads {
                0 => (std::thread::available_parallelism().map_or(1, |n| n.get()) / 2).max(1),
                n => n,
            };
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(LocalBackend {
                model,
                template,
                name,
                n_ctx,
                threads: threads.min(i32::MAX as usize) as i32,
                n_batch: config.n_batch.clamp(1, n_ctx),
                busy: Mutex::new(false),
                freed: Condvar::new(),
            })
        }

        /// Context size in tokens (prompt plus answer).
        pub fn n_ctx(&self) -> u32 {
            self.n_ctx
        }

        /// CPU threads a call uses.
        pub fn threads(&self) -> usize {
            self.threads as usize
        }

        /// The prompt text the model sees for these messages.
        pub fn render(&self, messages: &[ChatMessage]) -> Result<String, LlmError> {
            let chat = messages
                .iter()
                .map(|m| {
                    let role = match m.role {
                        Role::System => "system",
                        Role::User => "user",
                        Role::Assistant => "assistant",
                    };
                    // A NUL cannot cross into C; it carries no meaning here.
                    LlamaChatMessage::new(role.into(), m.content.replace('\0', ""))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| LlmError::Model(format!("bad chat message: {e}")))?;
            self.model
                .apply_chat_template(&self.template, &chat, true)
                .map_err(|e| LlmError::Model(format!("could not apply the chat template: {e}")))
        }

        /// The prompt's tokens for these messages.
        pub fn tokenize(&self, messages: &[ChatMessage]) -> Result<Vec<LlamaToken>, LlmError> {
            let prompt = self.render(messages)?;
            let vocab = self.model.vocab();
            // Special tokens in the template (<|im_start|>) must be parsed as
            // such; BOS only if the model wants one and the template did not
            // already write it.
            let mut tokens = vocab.tokenize(prompt.as_bytes(), true, true);
            if tokens.len() >= 2 && tokens[0] == vocab.bos() && tokens[1] == vocab.bos() {
                tokens.remove(0);
            }
            if tokens.is_empty() {
                return Err(LlmError::Model("the prompt is empty".into()));
            }
            Ok(tokens)
        }

        /// Waits for the gate until the deadline.
        fn enter(&self, deadline: Instant, timeout: Duration) -> Result<Gate<'_>, LlmError> {
            let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
            while *busy {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(LlmError::Timeout(timeout));
                }
                busy = self
                    .freed
                    .wait_timeout(busy, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            *busy = true;
            Ok(Gate(self))
        }
    }

    /// Held for one generation; opens the gate for the next when dropped
    /// (also on an error or a panic).
    struct Gate<'a>(&'a LocalBackend);

    impl Drop for Gate<'_> {
        fn drop(&mut self) {
            *self.0.busy.lock().unwrap_or_else(|e| e.into_inner()) = false;
            self.0.freed.notify_one();
        }
    }

    /// The GGUF's own template when llama.cpp can apply it, else ChatML.
    /// llama.cpp matches templates by pattern and fails on ones it does not
    /// know; ChatML is what most small instruct models were trained on.
    fn usable_template(model: &LlamaModel) -> LlamaChatTemplate {
        let probe = [
            LlamaChatMessage::new("system".into(), "s".into()),
            LlamaChatMessage::new("user".into(), "u".into()),
        ];
        if let (Ok(t), [Ok(a), Ok(b)]) = (model.chat_template(None), probe) {
            if model.apply_chat_template(&t, &[a, b], true).is_ok() {
                return t;
            }
        }
        LlamaChatTemplate::new("chatml").expect("no NUL in a literal")
    }

    impl ChatBackend for LocalBackend {
        fn info(&self) -> BackendInfo {
            BackendInfo {
                kind: "local",
                model: self.name.clone(),
            }
        }

        fn chat(
            &self,
            request: &ChatRequest,
            on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
        ) -> Result<Completion, LlmError> {
            let start = Instant::now();
            let timeout = request.timeout;
            let deadline = start + timeout;
            let late = || Instant::now() >= deadline;
            let model_err =
                |what: &str, e: &dyn std::fmt::Display| LlmError::Model(format!("{what}: {e}"));

            let prompt = self.tokenize(&request.messages)?;
            let n_ctx = self.n_ctx as usize;
            if prompt.len() >= n_ctx {
                return Err(LlmError::Model(format!(
                    "the prompt is {} tokens, more than the model's context of {} tokens \
                     leaves room for an answer",
                    prompt.len(),
                    n_ctx
                )));
            }

            let _gate = self.enter(deadline, timeout)?;
            let params = LlamaContextParams::default()
                .with_n_ctx(NonZeroU32::new(self.n_ctx))
                .with_n_batch(self.n_batch)
                .with_n_ubatch(self.n_batch)
                .with_n_threads(self.threads)
                .with_n_threads_batch(self.threads);
            let mut ctx = self
                .model
                .new_context(backend()?, params)
                .map_err(|e| model_err("could not make a context", &e))?;

            // The prompt, n_batch tokens at a time; logits for the last only.
            let n_batch = self.n_batch as usize;
            let mut batch = LlamaBatch::new(n_batch.max(1), 1);
            for (c, chunk) in prompt.chunks(n_batch).enumerate() {
                if late() {
                    return Err(LlmError::Timeout(timeout));
                }
                batch.clear();
                for (i, &t) in chunk.iter().enumerate() {
                    let pos = c * n_batch + i;
                    let last = pos + 1 == prompt.len();
                    batch
                        .add(t, pos as i32, &[0], last)
                        .map_err(|e| model_err("batch", &e))?;
                }
                ctx.decode(&mut batch)
                    .map_err(|e| model_err("could not read the prompt", &e))?;
            }
            if late() {
                return Err(LlmError::Timeout(timeout));
            }

            let mut sampler = if request.temperature <= 0.0 {
                LlamaSampler::greedy()
            } else {
                let seed = request.seed.unwrap_or_else(|| {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as u64)
                });
                LlamaSampler::chain_simple([
                    LlamaSampler::top_k(40),
                    LlamaSampler::top_p(0.95, 1),
                    LlamaSampler::temp(request.temperature),
                    LlamaSampler::dist((seed ^ (seed >> 32)) as u32),
                ])
            };

            let vocab = self.model.vocab();
            let mut utf8 = Utf8Stream::default();
            let mut text = String::new();
            let mut first_token = None;
            let mut generated = 0u32;
            let mut pos = prompt.len();
            let mut logits_at = batch.n_tokens() - 1;
            let mut piece = Vec::new();
            let mut emit = |s: String, text: &mut String| -> ControlFlow<()> {
                if s.is_empty() {
                    return ControlFlow::Continue(());
                }
                first_token.get_or_insert_with(|| start.elapsed());
                text.push_str(&s);
                on_delta(&s)
            };
            let finish = loop {
                if generated >= request.max_tokens || pos >= n_ctx {
                    break Finish::Length;
                }
                if late() {
                    return Err(LlmError::Timeout(timeout));
                }
                let token = sampler.sample(&ctx, logits_at);
                if vocab.is_eog(token) {
                    break Finish::Stop;
                }
                generated += 1;
                piece.clear();
                // Control tokens render as nothing: they are not answer text.
                vocab.token_to_piece_into(token, &mut piece, false, None);
                if emit(utf8.push(&piece), &mut text).is_break() {
                    break Finish::Cancelled;
                }
                if generated >= request.max_tokens || pos + 1 >= n_ctx {
                    // No need to evaluate a token nothing will follow.
                    break Finish::Length;
                }
                batch.clear();
                batch
                    .add(token, pos as i32, &[0], true)
                    .map_err(|e| model_err("batch", &e))?;
                ctx.decode(&mut batch)
                    .map_err(|e| model_err("could not generate", &e))?;
                pos += 1;
                logits_at = 0;
            };
            if finish != Finish::Cancelled {
                // The last bytes of an unfinished character, if any.
                let _ = emit(utf8.finish(), &mut text);
            }
            Ok(Completion {
                text,
                finish,
                prompt_tokens: Some(prompt.len() as u32),
                completion_tokens: Some(generated),
                first_token,
                total: start.elapsed(),
            })
        }
    }
}
