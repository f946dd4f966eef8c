//! The OpenAI-compatible client against a real server: the `serve`
//! module serving the local test model on loopback. What comes through
//! HTTP must be exactly what the model gives when called directly.
#![cfg(feature = "local")]

mod common;

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{collect, gguf, request};
use sextant_llm::serve::{ServeOptions, Server};
use sextant_llm::{
    BackendInfo, ChatBackend, ChatRequest, Completion, Finish, LlmError, LocalBackend,
    OpenAiBackend, OpenAiConfig,
};

fn model(test: &str) -> Option<Arc<LocalBackend>> {
    static MODEL: OnceLock<Arc<LocalBackend>> = OnceLock::new();
    let path = gguf(test)?;
    Some(
        MODEL
            .get_or_init(|| Arc::new(LocalBackend::open(path).expect("the test model loads")))
            .clone(),
    )
}

/// Passes calls to the model and keeps how each one ended, to see what
/// the server side did.
struct Recorder {
    inner: Arc<LocalBackend>,
    ended: Mutex<Vec<Result<Completion, String>>>,
}

impl ChatBackend for Recorder {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    fn chat(
        &self,
        request: &ChatRequest,
        on_delta: &mut dyn FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Completion, LlmError> {
        let r = self.inner.chat(request, on_delta);
        self.ended
            .lock()
            .unwrap()
            .push(r.as_ref().map(Clone::clone).map_err(|e| e.to_string()));
        r
    }
}

fn client(server: &Server) -> OpenAiBackend {
    let mut cfg = OpenAiConfig::new(server.base_url(), "ignored-by-this-server");
    cfg.api_key = None;
    OpenAiBackend::new(cfg).unwrap()
}

#[test]
fn streamed_over_http_equals_the_model_called_directly() {
    let Some(m) = model("streamed_over_http_equals_the_model_called_directly") else {
        return;
    };
    let server = Server::start(
        m.clone(),
        "127.0.0.1:0".parse().unwrap(),
        ServeOptions::default(),
    )
    .unwrap();
    let r = request("What is immunotherapy for cancer?", 60);

    let direct = m.chat(&r, &mut |_| ControlFlow::Continue(())).unwrap();
    let mut deltas = Vec::new();
    let http = client(&server).chat(&r, &mut collect(&mut deltas)).unwrap();

    assert!(!direct.text.is_empty());
    assert_eq!(http.text, direct.text);
    assert_eq!(deltas.concat(), direct.text);
    assert!(deltas.len() > 1, "the answer came in one piece: {deltas:?}");
    assert_eq!(http.finish, direct.finish);
    assert_eq!(http.prompt_tokens, direct.prompt_tokens);
    assert_eq!(http.completion_tokens, direct.completion_tokens);
    assert!(http.first_token.unwrap() < http.total);

    // The same through a non-streamed request, as other clients send it.
    let body = serde_json::json!({
        "model": "x",
        "messages": r.messages,
        "max_tokens": r.max_tokens,
        "temperature": 0,
    });
    let mut resp = ureq::post(format!("{}/chat/completions", server.base_url()))
        .header("content-type", "application/json")
        .send(serde_json::to_vec(&body).unwrap())
        .unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], direct.text.as_str());
    assert_eq!(v["model"], "SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(
        v["usage"]["completion_tokens"],
        direct.completion_tokens.unwrap()
    );
}

#[test]
fn max_tokens_comes_back_as_length() {
    let Some(m) = model("max_tokens_comes_back_as_length") else {
        return;
    };
    let server = Server::start(m, "127.0.0.1:0".parse().unwrap(), ServeOptions::default()).unwrap();
    let r = request(
        "Write a long story about a lighthouse keeper and the sea.",
        6,
    );
    let c = client(&server)
        .chat(&r, &mut |_| ControlFlow::Continue(()))
        .unwrap();
    assert_eq!(c.finish, Finish::Length);
    assert_eq!(c.completion_tokens, Some(6));
}

#[test]
fn errors_before_any_text_are_http_errors() {
    let Some(m) = model("errors_before_any_text_are_http_errors") else {
        return;
    };
    let server = Server::start(m, "127.0.0.1:0".parse().unwrap(), ServeOptions::default()).unwrap();
    // Longer than the model's context: the server answers 500 with the
    // model's reason, and the client does retry it (5xx) but then reports it.
    let long = "Tell me about cancer. ".repeat(1200);
    let e = client(&server)
        .chat(&request(&long, 5), &mut |_| ControlFlow::Continue(()))
        .unwrap_err();
    match e {
        LlmError::Http { status: 500, body } => assert!(body.contains("context"), "{body}"),
        other => panic!("{other}"),
    }
    // A malformed request is a 400.
    let resp = ureq::post(format!("{}/chat/completions", server.base_url()))
        .config()
        .http_status_as_error(false)
        .build()
        .send("{\"messages\": 3}")
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[test]
fn cancelling_through_http_stops_the_model() {
    let Some(m) = model("cancelling_through_http_stops_the_model") else {
        return;
    };
    let rec = Arc::new(Recorder {
        inner: m,
        ended: Mutex::new(Vec::new()),
    });
    let server = Server::start(
        rec.clone(),
        "127.0.0.1:0".parse().unwrap(),
        ServeOptions::default(),
    )
    .unwrap();
    let mut r = request("Count from 1 to 1000, separated by commas.", 1500);
    r.timeout = Duration::from_secs(60);
    let mut n = 0;
    let c = client(&server)
        .chat(&r, &mut |_| {
            n += 1;
            if n == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(c.finish, Finish::Cancelled);
    // The server notices the closed connection and stops generating well
    // before max_tokens.
    let t = Instant::now();
    let ended = loop {
        if let Some(e) = rec.ended.lock().unwrap().first().cloned() {
            break e;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the server never stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let ended = ended.unwrap();
    assert_eq!(ended.finish, Finish::Cancelled, "{ended:?}");
    assert!(ended.completion_tokens.unwrap() < 200, "{ended:?}");
}
