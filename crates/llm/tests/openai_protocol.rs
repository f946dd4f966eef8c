//! The OpenAI-compatible client against a loopback server that answers
//! with hand-written HTTP, byte for byte: the frame variants real servers
//! send, errors, retries, servers that stall, and cancellation.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{collect, request};
use sextant_llm::{ChatBackend, Finish, LlmError, OpenAiBackend, OpenAiConfig};

/// What the server does with one connection.
#[derive(Clone)]
enum Reply {
    /// Writes these parts, waiting before each, then closes.
    Parts(Vec<(Duration, Vec<u8>)>),
    /// Reads the request and then says nothing, holding the connection.
    Hang,
}

fn now(bytes: impl Into<Vec<u8>>) -> Reply {
    Reply::Parts(vec![(Duration::ZERO, bytes.into())])
}

/// A 200 SSE response, delimited by closing the connection.
fn sse(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n{body}")
        .into_bytes()
}

fn with_status(status: &str, content_type: &str, body: &str, extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Scripted {
    addr: SocketAddr,
    /// Every request received: head and body.
    requests: Arc<Mutex<Vec<String>>>,
}

impl Scripted {
    /// Connection i gets replies[i] (the last one repeats).
    fn start(replies: Vec<Reply>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for (i, conn) in listener.incoming().enumerate() {
                let Ok(conn) = conn else { return };
                let reply = replies[i.min(replies.len() - 1)].clone();
                let seen = seen.clone();
                std::thread::spawn(move || serve_one(conn, reply, &seen));
            }
        });
        Scripted { addr, requests }
    }

    fn backend(&self) -> OpenAiBackend {
        OpenAiBackend::new(self.config()).unwrap()
    }

    fn config(&self) -> OpenAiConfig {
        let mut c = OpenAiConfig::new(format!("http://{}/v1", self.addr), "test-model");
        c.api_key = None;
        c.retry_backoff = Duration::from_millis(50);
        c
    }

    fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

fn serve_one(conn: TcpStream, reply: Reply, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    seen.lock()
        .unwrap()
        .push(head + &String::from_utf8_lossy(&body));
    let mut conn = conn;
    match reply {
        Reply::Parts(parts) => {
            for (wait, bytes) in parts {
                std::thread::sleep(wait);
                if conn.write_all(&bytes).and_then(|_| conn.flush()).is_err() {
                    return; // the client went away
                }
            }
        }
        Reply::Hang => std::thread::sleep(Duration::from_secs(30)),
    }
}

fn run(
    b: &OpenAiBackend,
    timeout: Duration,
) -> (Result<sextant_llm::Completion, LlmError>, Vec<String>) {
    let mut r = request("q", 50);
    r.timeout = timeout;
    let mut deltas = Vec::new();
    let res = b.chat(&r, &mut collect(&mut deltas));
    (res, deltas)
}

const LENIENT: &str = concat!(
    // role-only first chunk, no id/model/object
    "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n",
    // null content, empty finish_reason (some servers)
    "data: {\"choices\":[{\"delta\":{\"content\":null},\"finish_reason\":\"\"}]}\n\n",
    ": keep-alive comment\n\n",
    "data: {\"id\":\"x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n",
    // no choices at all
    "data: {\"object\":\"chat.completion.chunk\"}\n\n",
    "data: {\"choices\":[{\"delta\":{\"content\":\" wörld\"},\"finish_reason\":\"\"}]}\n\n",
    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    // usage in a last chunk of its own, with empty choices
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":2,\"total_tokens\":14}}\n\n",
    "data: [DONE]\n\n",
);

#[test]
fn lenient_stream_with_missing_fields_and_usage_last() {
    let s = Scripted::start(vec![now(sse(LENIENT))]);
    let (res, deltas) = run(&s.backend(), Duration::from_secs(10));
    let c = res.unwrap();
    assert_eq!(c.text, "Hello wörld");
    assert_eq!(deltas, ["Hello", " wörld"]);
    assert_eq!(c.finish, Finish::Stop);
    assert_eq!((c.prompt_tokens, c.completion_tokens), (Some(12), Some(2)));
    assert!(c.first_token.is_some());

    // What was sent: the OpenAI request shape, streamed, no key header.
    let req = s.requests.lock().unwrap()[0].clone();
    assert!(
        req.starts_with("POST /v1/chat/completions HTTP/1.1"),
        "{req}"
    );
    assert!(
        !req.to_ascii_lowercase().contains("authorization:"),
        "{req}"
    );
    let body: serde_json::Value =
        serde_json::from_str(&req[req.find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 50);
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(body["messages"][1]["content"], "q");
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[test]
fn chunked_crlf_no_done_and_length() {
    // Chunked transfer encoding, CRLF line ends, data lines with no blank
    // line between them, and a stream that simply ends.
    let events = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"b\"},\"finish_reason\":\"length\"}]}\r\n";
    let (one, two) = events.split_at(30); // a chunk boundary mid-line
    let body = format!(
        "{:x}\r\n{one}\r\n{:x}\r\n{two}\r\n0\r\n\r\n",
        one.len(),
        two.len()
    );
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n";
    let s = Scripted::start(vec![Reply::Parts(vec![
        (Duration::ZERO, head.into()),
        (Duration::from_millis(20), body.into_bytes()),
    ])]);
    let (res, deltas) = run(&s.backend(), Duration::from_secs(10));
    let c = res.unwrap();
    assert_eq!(deltas, ["a", "b"]);
    assert_eq!(c.finish, Finish::Length);
    assert_eq!(c.prompt_tokens, None);
}

#[test]
fn a_server_that_ignores_stream_sends_one_body() {
    let body = r#"{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Whole answer."},"finish_reason":"length"}],"usage":{"prompt_tokens":7,"completion_tokens":3}}"#;
    let s = Scripted::start(vec![now(with_status(
        "200 OK",
        "application/json",
        body,
        "",
    ))]);
    let (res, deltas) = run(&s.backend(), Duration::from_secs(10));
    let c = res.unwrap();
    assert_eq!(c.text, "Whole answer.");
    assert_eq!(deltas, ["Whole answer."]);
    assert_eq!(c.finish, Finish::Length);
    assert_eq!((c.prompt_tokens, c.completion_tokens), (Some(7), Some(3)));
}

#[test]
fn a_500_is_retried_then_succeeds() {
    let s = Scripted::start(vec![
        now(with_status(
            "500 Internal Server Error",
            "application/json",
            r#"{"error":{"message":"boom"}}"#,
            "",
        )),
        now(sse(LENIENT)),
    ]);
    let (res, _) = run(&s.backend(), Duration::from_secs(10));
    assert_eq!(res.unwrap().text, "Hello wörld");
    assert_eq!(s.hits(), 2);
}

#[test]
fn a_429_with_retry_after_is_retried() {
    let s = Scripted::start(vec![
        now(with_status(
            "429 Too Many Requests",
            "application/json",
            r#"{"error":{"message":"slow down"}}"#,
            "Retry-After: 0\r\n",
        )),
        now(sse(LENIENT)),
    ]);
    let (res, _) = run(&s.backend(), Duration::from_secs(10));
    assert_eq!(res.unwrap().text, "Hello wörld");
    assert_eq!(s.hits(), 2);
}

#[test]
fn a_401_is_not_retried_and_keeps_the_servers_message() {
    let s = Scripted::start(vec![now(with_status(
        "401 Unauthorized",
        "application/json",
        r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#,
        "",
    ))]);
    let mut cfg = s.config();
    cfg.api_key = Some("sk-test".into());
    let (res, deltas) = run(&OpenAiBackend::new(cfg).unwrap(), Duration::from_secs(10));
    match res.unwrap_err() {
        LlmError::Http { status, body } => {
            assert_eq!(status, 401);
            assert_eq!(body, "Incorrect API key provided");
        }
        other => panic!("{other}"),
    }
    assert!(deltas.is_empty());
    assert_eq!(s.hits(), 1);
    let req = s.requests.lock().unwrap()[0].to_ascii_lowercase();
    assert!(req.contains("authorization: bearer sk-test"), "{req}");
}

#[test]
fn retries_give_up_after_two() {
    let s = Scripted::start(vec![now(with_status(
        "503 Service Unavailable",
        "text/plain",
        "try later",
        "",
    ))]);
    let (res, _) = run(&s.backend(), Duration::from_secs(10));
    match res.unwrap_err() {
        LlmError::Http { status: 503, body } => assert_eq!(body, "try later"),
        other => panic!("{other}"),
    }
    assert_eq!(s.hits(), 3);
}

#[test]
fn no_retry_once_text_was_streamed() {
    // Text, then the server stalls past the deadline: a timeout, not a
    // second attempt that would repeat the text.
    let s = Scripted::start(vec![Reply::Parts(vec![
        (
            Duration::ZERO,
            sse("data: {\"choices\":[{\"delta\":{\"content\":\"partial\"}}]}\n\n"),
        ),
        (Duration::from_secs(20), b"data: [DONE]\n\n".to_vec()),
    ])]);
    let t = Instant::now();
    let (res, deltas) = run(&s.backend(), Duration::from_millis(800));
    assert!(matches!(res, Err(LlmError::Timeout(_))), "{res:?}");
    assert_eq!(deltas, ["partial"]);
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert_eq!(s.hits(), 1);
}

#[test]
fn a_server_that_never_answers_times_out_at_the_deadline() {
    let s = Scripted::start(vec![Reply::Hang]);
    let t = Instant::now();
    let (res, _) = run(&s.backend(), Duration::from_secs(1));
    let took = t.elapsed();
    assert!(matches!(res, Err(LlmError::Timeout(_))), "{res:?}");
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[test]
fn a_server_that_trickles_keep_alives_times_out_at_the_deadline() {
    let mut parts = vec![(
        Duration::ZERO,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n".to_vec(),
    )];
    parts.extend((0..100).map(|_| (Duration::from_millis(100), b": ping\n\n".to_vec())));
    let s = Scripted::start(vec![Reply::Parts(parts)]);
    let t = Instant::now();
    let (res, _) = run(&s.backend(), Duration::from_secs(1));
    let took = t.elapsed();
    assert!(matches!(res, Err(LlmError::Timeout(_))), "{res:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn a_refused_connection_is_retried_then_reported() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = OpenAiConfig::new(format!("http://127.0.0.1:{port}/v1"), "m");
    cfg.retry_backoff = Duration::from_millis(50);
    let t = Instant::now();
    let (res, _) = run(&OpenAiBackend::new(cfg).unwrap(), Duration::from_secs(10));
    assert!(matches!(res, Err(LlmError::Connect(_))), "{res:?}");
    // Two backoffs (50 + 100 ms) were waited.
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn an_error_event_mid_stream_is_reported() {
    let s = Scripted::start(vec![now(sse(concat!(
        "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n",
        "data: {\"error\":{\"message\":\"model overloaded\",\"code\":503}}\n\n",
    )))]);
    let (res, deltas) = run(&s.backend(), Duration::from_secs(10));
    match res.unwrap_err() {
        LlmError::Protocol(m) => assert!(m.contains("model overloaded"), "{m}"),
        other => panic!("{other}"),
    }
    assert_eq!(deltas, ["a"]);
    assert_eq!(s.hits(), 1);
}

#[test]
fn cancelling_drops_the_connection() {
    // Ten deltas 100 ms apart; the caller stops after the second.
    let mut parts = vec![(Duration::ZERO, sse(""))];
    for i in 0..10 {
        let ev = format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"t{i} \"}}}}]}}\n\n");
        parts.push((Duration::from_millis(100), ev.into_bytes()));
    }
    parts.push((Duration::ZERO, b"data: [DONE]\n\n".to_vec()));
    let s = Scripted::start(vec![Reply::Parts(parts)]);
    let mut r = request("q", 50);
    r.timeout = Duration::from_secs(10);
    let mut n = 0;
    let t = Instant::now();
    let c = s
        .backend()
        .chat(&r, &mut |_| {
            n += 1;
            if n == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
    assert_eq!(c.finish, Finish::Cancelled);
    assert_eq!(c.text, "t0 t1 ");
    assert_eq!(n, 2);
    assert!(
        t.elapsed() < Duration::from_millis(600),
        "{:?}",
        t.elapsed()
    );
}
