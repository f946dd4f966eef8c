//! Shared by the integration tests: finding the test GGUF model, and
//! skipping (or, under SEXTANT_REQUIRE_LLM=1, failing) when it is absent.

#![allow(dead_code)] // each test file uses its own part

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

use sextant_llm::{ChatMessage, ChatRequest};

/// The test model, or None after saying why the test is skipped.
pub fn gguf(test: &str) -> Option<PathBuf> {
    if let Some(p) = sextant_llm::test_gguf_path() {
        return Some(p);
    }
    let want = sextant_llm::models_dir(None).join(sextant_llm::TEST_GGUF);
    if std::env::var("SEXTANT_REQUIRE_LLM").is_ok_and(|v| v == "1") {
        panic!(
            "{test}: SEXTANT_REQUIRE_LLM=1 but {} is missing (run scripts/fetch-models.sh)",
            want.display()
        );
    }
    eprintln!(
        "skipping {test}: no test model at {} (run scripts/fetch-models.sh)",
        want.display()
    );
    None
}

/// A short, ordinary chat request, greedy.
pub fn request(question: &str, max_tokens: u32) -> ChatRequest {
    let mut r = ChatRequest::new(vec![
        ChatMessage::system("You are a helpful assistant. Answer briefly."),
        ChatMessage::user(question),
    ]);
    r.max_tokens = max_tokens;
    r.timeout = Duration::from_secs(120);
    r
}

/// A callback that collects every delta.
pub fn collect(into: &mut Vec<String>) -> impl FnMut(&str) -> ControlFlow<()> + '_ {
    move |d| {
        into.push(d.to_string());
        ControlFlow::Continue(())
    }
}
