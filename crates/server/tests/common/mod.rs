//! What the server's test binaries share: a small knowledge base written
//! and ingested in a temporary folder.

use std::sync::Arc;

use sextant_answer::{Engine, Retriever};

/// A fixture page: (file name, title, URL, Markdown body).
pub type Page<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Writes `pages` as cancer.gov-shaped Markdown, ingests them, and opens a
/// BM25 engine over them (the folder lives as long as the returned guard).
pub fn engine_over(pages: &[Page]) -> (tempfile::TempDir, Arc<Engine>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("corpus");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, title, url, body) in pages {
        let text = format!("---\naudienceLevel: patient\nlastReviewed: '2025-12-30'\ntitle: {title} - NCI\nurl: {url}\n---\n\n# {title} - NCI\n\n# {title}\n\n{body}");
        std::fs::write(dir.join(name), text).unwrap();
    }
    let kb = tmp.path().join("kb");
    sextant_kb::ingest(&dir, &kb, &Default::default(), &|_| {}).unwrap();
    let engine = Engine::open(&kb).unwrap().with_retriever(Retriever::Bm25);
    (tmp, Arc::new(engine))
}

/// A response read whole, for assertions.
#[allow(dead_code)] // not every test binary sends requests
pub struct Reply {
    pub status: axum::http::StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

#[allow(dead_code)]
impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// Sends one request to the app, with no socket.
#[allow(dead_code)]
pub async fn send(app: &axum::Router, req: axum::http::Request<axum::body::Body>) -> Reply {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = app.clone().oneshot(req).await.unwrap();
    Reply {
        status: res.status(),
        headers: res.headers().clone(),
        body: res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    }
}

/// A form post, as a browser sends it.
#[allow(dead_code)]
pub fn form(uri: &str, body: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post(uri)
        .header(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

/// Percent-encodes a form value.
#[allow(dead_code)]
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
