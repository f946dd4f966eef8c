//! The local GGUF backend end to end, on the real test model
//! (SmolLM2-135M-Instruct from scripts/fetch-models.sh).
#![cfg(feature = "local")]

mod common;

use std::ops::ControlFlow;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::{collect, gguf, request};
use sextant_llm::{ChatBackend, ChatMessage, Finish, LlmError, LocalBackend, LocalConfig};

/// One load for the whole file (the gate serializes the calls anyway).
fn model(test: &str) -> Option<Arc<LocalBackend>> {
    static MODEL: OnceLock<Arc<LocalBackend>> = OnceLock::new();
    let path = gguf(test)?;
    Some(
        MODEL
            .get_or_init(|| Arc::new(LocalBackend::open(path).expect("the test model loads")))
            .clone(),
    )
}

#[test]
fn generates_streamed_text_with_counts() {
    let Some(m) = model("generates_streamed_text_with_counts") else {
        return;
    };
    assert_eq!(m.info().kind, "local");
    assert_eq!(m.info().model, "SmolLM2-135M-Instruct.Q4_1.gguf");
    let mut deltas = Vec::new();
    let c = m
        .chat(
            &request("What is chemotherapy?", 48),
            &mut collect(&mut deltas),
        )
        .unwrap();
    assert!(!c.text.trim().is_empty(), "no text");
    // The callback saw exactly the returned text, in order.
    assert_eq!(deltas.concat(), c.text);
    assert!(deltas.iter().all(|d| !d.is_empty()));
    assert!(c.prompt_tokens.unwrap() > 10);
    let n = c.completion_tokens.unwrap();
    assert!(n > 0 && n <= 48, "{n}");
    assert!(matches!(c.finish, Finish::Stop | Finish::Length));
    assert!(c.first_token.unwrap() <= c.total);
    // The chat template came from the GGUF (SmolLM2 uses ChatML markers)
    // and ends with the assistant's turn opened.
    let prompt = m.render(&[ChatMessage::user("hi")]).unwrap();
    assert!(
        prompt.contains("<|im_start|>user\nhi<|im_end|>"),
        "{prompt}"
    );
    assert!(
        prompt.trim_end().ends_with("<|im_start|>assistant"),
        "{prompt}"
    );
    // No control token leaks into the answer.
    assert!(!c.text.contains("<|im_"), "{}", c.text);
}

#[test]
fn greedy_is_deterministic() {
    let Some(m) = model("greedy_is_deterministic") else {
        return;
    };
    let r = request("Name three common side effects of radiation therapy.", 40);
    let a = m.chat(&r, &mut |_| ControlFlow::Continue(())).unwrap();
    let b = m.chat(&r, &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(a.text, b.text);
    assert_eq!(a.completion_tokens, b.completion_tokens);
    // Two threads at once give the same answer too (they take turns).
    let texts: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                let r = r.clone();
                s.spawn(move || m.chat(&r, &mut |_| ControlFlow::Continue(())).unwrap().text)
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(texts, [a.text.clone(), a.text]);
}

#[test]
fn max_tokens_is_respected() {
    let Some(m) = model("max_tokens_is_respected") else {
        return;
    };
    let r = request(
        "Write a long story about a lighthouse keeper and the sea.",
        5,
    );
    let c = m.chat(&r, &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(c.finish, Finish::Length);
    assert_eq!(c.completion_tokens, Some(5));
    assert!(!c.text.is_empty());
}

#[test]
fn cancellation_stops_early() {
    let Some(m) = model("cancellation_stops_early") else {
        return;
    };
    let r = request(
        "Write a long story about a lighthouse keeper and the sea.",
        200,
    );
    let mut seen = 0;
    let c = m
        .chat(&r, &mut |_| {
            seen += 1;
            if seen == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(c.finish, Finish::Cancelled);
    assert_eq!(seen, 3, "no delta after Break");
    assert!(
        c.completion_tokens.unwrap() <= 4,
        "{:?}",
        c.completion_tokens
    );
}

#[test]
fn timeout_is_an_error() {
    let Some(m) = model("timeout_is_an_error") else {
        return;
    };
    let mut r = request("What is chemotherapy?", 40);
    r.timeout = Duration::ZERO;
    let e = m.chat(&r, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(e, LlmError::Timeout(_)), "{e}");
}

#[test]
fn a_prompt_longer_than_the_context_is_a_clear_error() {
    let Some(path) = gguf("a_prompt_longer_than_the_context_is_a_clear_error") else {
        return;
    };
    let mut cfg = LocalConfig::new(path);
    cfg.n_ctx = 128;
    let m = LocalBackend::with_config(cfg).unwrap();
    assert_eq!(m.n_ctx(), 128);
    let long = "The patient asked about treatment options. ".repeat(40);
    let e = m
        .chat(&request(&long, 10), &mut |_| ControlFlow::Continue(()))
        .unwrap_err();
    match e {
        LlmError::Model(msg) => assert!(msg.contains("context of 128 tokens"), "{msg}"),
        other => panic!("{other}"),
    }
    // A prompt that fits still answers, stopping when the context is full.
    let c = m
        .chat(&request("Hi", 500), &mut |_| ControlFlow::Continue(()))
        .unwrap();
    assert!(c.prompt_tokens.unwrap() + c.completion_tokens.unwrap() <= 128);
}

#[test]
fn a_missing_file_is_a_model_error() {
    let e = LocalBackend::open("/nonexistent/model.gguf").unwrap_err();
    assert!(matches!(e, LlmError::Model(_)), "{e}");
}
