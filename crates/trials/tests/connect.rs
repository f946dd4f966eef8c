//! Live connectors against a loopback HTTP server that serves saved API
//! answers (`tests/fixtures/`): the requests sent (path, encoded query,
//! headers), paging, and every way an answer can go wrong (status errors,
//! a missing API key, timeouts, garbage, oversize bodies, redirects), plus
//! ids refused before any request is made.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sextant_trials::connect::{
    fetch_all, today_utc, CtGovClient, NciCtsClient, Page, SearchQuery, TrialSearch, MAX_BODY_BYTES,
};
use sextant_trials::{Eligibility, Format, TrialsError};

/// What the server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Path and query, as sent.
    target: String,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

enum Reply {
    /// Status, content type, body.
    Send(u16, &'static str, Vec<u8>),
    /// A redirect to this location.
    Redirect(String),
    /// Accept, read the request, then say nothing for this long.
    Hang(Duration),
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

fn json(body: Vec<u8>) -> Reply {
    Reply::Send(200, "application/json", body)
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Serves each request with `route`, one thread per connection so a
    /// hanging answer does not hold the others. The server lives as long
    /// as the test process.
    fn start(route: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let route = Arc::new(route);
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let route = Arc::clone(&route);
                let log = Arc::clone(&log);
                std::thread::spawn(move || serve(stream, &*route, &log));
            }
        });
        Server { addr, seen }
    }

    fn base(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, route: &dyn Fn(&Seen) -> Reply, log: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let seen = Seen {
        method,
        target,
        headers,
    };
    log.lock().unwrap().push(seen.clone());
    let mut stream = stream;
    let (status, head, body) = match route(&seen) {
        Reply::Send(status, ctype, body) => (status, format!("Content-Type: {ctype}\r\n"), body),
        Reply::Redirect(to) => (302, format!("Location: {to}\r\n"), Vec::new()),
        Reply::Hang(d) => {
            std::thread::sleep(d);
            return;
        }
    };
    let reason = match status {
        200 => "OK",
        302 => "Found",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        _ => "Internal Server Error",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\n{head}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
    let _ = stream.flush();
    // Drain what the client may still send so the close is clean.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let _ = reader.read(&mut [0; 64]);
}

fn api_error(r: Result<impl std::fmt::Debug, TrialsError>) -> (String, String) {
    match r {
        Err(TrialsError::Api { url, detail }) => (url, detail),
        other => panic!("expected an API error, got {other:?}"),
    }
}

// ---- ClinicalTrials.gov --------------------------------------------------

fn ctgov_server() -> Server {
    Server::start(|req| {
        let t = req.target.as_str();
        if t.starts_with("/api/v2/studies?") && t.contains("pageToken=NF0g5J%2BGBl%2FPMuwQY%3D") {
            json(fixture("ctgov_search_page2.json"))
        } else if t.starts_with("/api/v2/studies?") {
            json(fixture("ctgov_search_page1.json"))
        } else if t == "/api/v2/studies/NCT02513394?format=json" {
            json(fixture("ctgov_study_NCT02513394.json"))
        } else {
            Reply::Send(404, "text/plain", b"Not Found".to_vec())
        }
    })
}

#[test]
fn ctgov_search_sends_an_encoded_query_and_pages() {
    let server = ctgov_server();
    let client = CtGovClient::with_base_url(&server.base("/api/v2/")).unwrap();
    let query = SearchQuery {
        condition: Some("breast cancer & HER2+".into()),
        terms: Some("palbociclib".into()),
        page_size: 1,
        ..SearchQuery::default()
    };
    let page = client.search(&query).unwrap();
    assert!(page.issues.is_empty(), "{:?}", page.issues);
    assert_eq!(page.trials.len(), 1);
    let t = &page.trials[0];
    assert_eq!(t.id, "NCT02513394");
    assert_eq!(t.source.format, Format::CtGov);
    // The record's own date, not today.
    assert_eq!(t.source.data_date.as_deref(), Some("2023-06-13"));
    assert!(matches!(&t.eligibility, Eligibility::Text(s) if s.starts_with("Inclusion Criteria")));
    assert_eq!(t.sites.len(), 3);
    assert_eq!(page.next_page_token.as_deref(), Some("NF0g5J+GBl/PMuwQY="));
    assert_eq!(page.total, Some(2));
    let url = server.base(
        "/api/v2/studies?query.cond=breast%20cancer%20%26%20HER2%2B&query.term=palbociclib\
         &filter.overallStatus=RECRUITING,NOT_YET_RECRUITING&pageSize=1&countTotal=true&format=json",
    );
    assert_eq!(page.url, url);
    assert_eq!(t.source.origin, url);

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(server.base(&seen[0].target), url);
    assert_eq!(seen[0].header("accept"), Some("application/json"));
    assert!(seen[0]
        .header("user-agent")
        .unwrap()
        .starts_with("sextant/"));
    assert_eq!(seen[0].header("x-api-key"), None);

    // The next page, by its token.
    let next = SearchQuery {
        page_token: page.next_page_token.clone(),
        ..query.clone()
    };
    let page2 = client.search(&next).unwrap();
    assert_eq!(page2.trials.len(), 1);
    assert_eq!(page2.trials[0].id, "NCT00003838");
    assert_eq!(page2.trials[0].source.data_date.as_deref(), Some("2019-03"));
    assert_eq!(page2.next_page_token, None);
    let target = &server.seen()[1].target;
    assert!(
        target.ends_with("&pageSize=1&pageToken=NF0g5J%2BGBl%2FPMuwQY%3D&format=json"),
        "{target}"
    );
    assert!(!target.contains("countTotal"));

    // Every page, or at most one.
    let all = fetch_all(&client, &query, 10).unwrap();
    assert_eq!(
        all.trials.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        ["NCT02513394", "NCT00003838"]
    );
    assert_eq!(all.next_page_token, None);
    assert!(all.issues.is_empty());
    let one = fetch_all(&client, &query, 1).unwrap();
    assert_eq!(one.trials.len(), 1);
    assert!(one.next_page_token.is_some());
    assert!(one.issues[0].message.contains("stopped after 1 pages"));

    // Not open only, and a disease code CT.gov cannot use.
    let q = SearchQuery {
        open_only: false,
        disease_codes: vec!["C4872".into()],
        ..SearchQuery::default()
    };
    let page = client.search(&q).unwrap();
    assert!(page.issues[0]
        .message
        .contains("not a ClinicalTrials.gov filter"));
    let target = server.seen().last().unwrap().target.clone();
    assert_eq!(
        target,
        "/api/v2/studies?pageSize=20&countTotal=true&format=json"
    );
}

#[test]
fn ctgov_single_study() {
    let server = ctgov_server();
    let client = CtGovClient::with_base_url(&server.base("/api/v2")).unwrap();
    let t = client.study(" NCT02513394 ").unwrap();
    assert_eq!(t.id, "NCT02513394");
    assert_eq!(t.title, "PALbociclib CoLlaborative Adjuvant Study");
    assert_eq!(t.url, "https://clinicaltrials.gov/study/NCT02513394");
    assert_eq!(
        server.seen()[0].target,
        "/api/v2/studies/NCT02513394?format=json"
    );

    // An unknown study: the server's 404, said plainly.
    let (url, detail) = api_error(client.study("NCT99999999"));
    assert!(url.ends_with("/studies/NCT99999999?format=json"), "{url}");
    assert!(detail.starts_with("HTTP 404"), "{detail}");
    assert!(detail.contains("no such trial"), "{detail}");
}

#[test]
fn bad_ids_are_refused_without_a_request() {
    let server = ctgov_server();
    let ct = CtGovClient::with_base_url(&server.base("/api/v2")).unwrap();
    let nci = NciCtsClient::with_base_url(&server.base("/v2"), Some("k".into())).unwrap();
    for id in [
        "",
        "NCT123",
        "NCT0251339X",
        "nct02513394",
        "../../etc/passwd",
        "NCT02513394?x=1",
        "NCT02513394/../x",
        "NCI-2014-01507",
    ] {
        let (_, detail) = api_error(ct.study(id));
        assert!(detail.contains("nothing was asked"), "{id}: {detail}");
    }
    for id in ["NCI-2014-1507", "NCI_2014_01507", "C4872", "NCT 02513394"] {
        let (_, detail) = api_error(nci.trial(id));
        assert!(detail.contains("not an NCT number"), "{id}: {detail}");
    }
    let q = SearchQuery {
        disease_codes: vec!["C48 72&x=1".into()],
        ..SearchQuery::default()
    };
    api_error(nci.search(&q));
    let q = SearchQuery {
        page_token: Some("ten".into()),
        ..SearchQuery::default()
    };
    api_error(nci.search(&q));
    let q = SearchQuery {
        terms: Some("x".repeat(5000)),
        ..SearchQuery::default()
    };
    api_error(ct.search(&q));
    assert!(server.seen().is_empty(), "{:?}", server.seen());

    for base in [
        "ftp://host/api",
        "http://",
        "http:///x",
        "host/api",
        "http://a b/",
    ] {
        api_error(CtGovClient::with_base_url(base));
        api_error(NciCtsClient::with_base_url(base, None));
    }
}

// ---- NCI CTS -------------------------------------------------------------

fn nci_server() -> Server {
    Server::start(|req| {
        let t = req.target.as_str();
        if req.header("x-api-key") != Some("secret-key") {
            return Reply::Send(
                401,
                "application/json",
                br#"{"message": "Unauthorized"}"#.to_vec(),
            );
        }
        if t.starts_with("/v2/trials?") && t.contains("keyword=paged") {
            // Three in all, two a page.
            let mut v: serde_json::Value =
                serde_json::from_slice(&fixture("nci_search.json")).unwrap();
            v["total"] = 3.into();
            json(v.to_string().into_bytes())
        } else if t.starts_with("/v2/trials?") {
            json(fixture("nci_search.json"))
        } else if t == "/v2/trials/NCI-2015-00045" || t == "/v2/trials/NCT00596999" {
            json(fixture("nci_trial_NCI-2015-00045.json"))
        } else {
            Reply::Send(
                404,
                "application/json",
                br#"{"message": "Not Found"}"#.to_vec(),
            )
        }
    })
}

#[test]
fn nci_search_sends_the_key_and_codes() {
    let server = nci_server();
    let client = NciCtsClient::with_base_url(&server.base("/v2"), Some("secret-key".into()))
        .unwrap()
        .timeout(Duration::from_secs(10));
    assert!(!format!("{client:?}").contains("secret-key"));
    let query = SearchQuery {
        condition: Some("breast cancer".into()),
        terms: Some("HER2+".into()),
        disease_codes: vec!["C4872".into(), " C9335 ".into()],
        page_size: 500,
        ..SearchQuery::default()
    };
    let page = client.search(&query).unwrap();
    assert!(page.issues.is_empty(), "{:?}", page.issues);
    assert_eq!(page.total, Some(2));
    assert_eq!(page.next_page_token, None);
    assert_eq!(
        page.trials
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        ["NCT00495300", "NCT00596999"]
    );
    let today = today_utc();
    for t in &page.trials {
        assert_eq!(t.source.format, Format::NciCts);
        // Search summaries carry no date: they are true today.
        assert_eq!(t.source.data_date.as_deref(), Some(today.as_str()));
        assert!(t.other_ids[0].starts_with("NCI-"));
    }
    let seen = &server.seen()[0];
    assert_eq!(seen.header("x-api-key"), Some("secret-key"));
    assert_eq!(
        seen.target,
        "/v2/trials?keyword=breast%20cancer%20HER2%2B\
         &diseases.nci_thesaurus_concept_id=C4872&diseases.nci_thesaurus_concept_id=C9335\
         &current_trial_status=Active&size=50&from=0"
    );
    // The key travels in a header, never in the URL.
    assert!(!page.url.contains("secret"));
}

#[test]
fn nci_search_pages_by_offset() {
    let server = nci_server();
    let client =
        NciCtsClient::with_base_url(&server.base("/v2"), Some("secret-key".into())).unwrap();
    let query = SearchQuery {
        terms: Some("paged".into()),
        page_size: 2,
        open_only: false,
        ..SearchQuery::default()
    };
    let page = client.search(&query).unwrap();
    assert_eq!(page.total, Some(3));
    assert_eq!(page.next_page_token.as_deref(), Some("2"));
    let next = SearchQuery {
        page_token: page.next_page_token,
        ..query.clone()
    };
    client.search(&next).unwrap();
    let seen = server.seen();
    assert_eq!(seen[0].target, "/v2/trials?keyword=paged&size=2&from=0");
    assert_eq!(seen[1].target, "/v2/trials?keyword=paged&size=2&from=2");
    // Both pages, merged (the fixture server answers the same trials).
    let all = fetch_all(&client, &query, 50).unwrap();
    assert_eq!(all.trials.len(), 4);
    assert_eq!(all.next_page_token, None);
    assert_eq!(server.seen().len(), 4);
}

/// A search that always points at the same next page.
struct Stuck;

impl TrialSearch for Stuck {
    fn search(&self, _: &SearchQuery) -> Result<Page, TrialsError> {
        Ok(Page {
            next_page_token: Some("again".into()),
            url: "stuck".into(),
            ..Page::default()
        })
    }
}

#[test]
fn fetch_all_stops_on_a_repeated_token() {
    let all = fetch_all(&Stuck, &SearchQuery::default(), 100).unwrap();
    assert_eq!(all.next_page_token, None);
    assert!(all.issues[0].message.contains("twice"), "{:?}", all.issues);
}

#[test]
fn nci_single_trial() {
    let server = nci_server();
    let client =
        NciCtsClient::with_base_url(&server.base("/v2/"), Some("secret-key".into())).unwrap();
    for id in ["NCI-2015-00045", "NCT00596999"] {
        let t = client.trial(id).unwrap();
        assert_eq!(t.id, "NCT00596999");
        assert!(t.other_ids.contains(&"NCI-2015-00045".to_string()));
        assert_eq!(t.source.data_date.as_deref(), Some("2007-11-01"));
        let Eligibility::Listed(items) = &t.eligibility else {
            panic!("{:?}", t.eligibility)
        };
        assert!(items.iter().any(|c| c.inclusion) && items.iter().any(|c| !c.inclusion));
        assert_eq!((t.min_age, t.max_age), (Some(0.0), Some(55.0)));
    }
    let targets: Vec<String> = server.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(
        targets,
        ["/v2/trials/NCI-2015-00045", "/v2/trials/NCT00596999"]
    );

    let (_, detail) = api_error(client.trial("NCI-2099-00001"));
    assert!(detail.starts_with("HTTP 404"), "{detail}");
}

#[test]
fn nci_without_a_key_says_a_key_is_needed() {
    let server = nci_server();
    for key in [None, Some("wrong-key".to_string())] {
        let client = NciCtsClient::with_base_url(&server.base("/v2"), key.clone()).unwrap();
        let (url, detail) = api_error(client.search(&SearchQuery::default()));
        assert!(detail.starts_with("HTTP 401"), "{detail}");
        assert!(detail.contains("API key"), "{detail}");
        assert!(detail.contains("SEXTANT_NCI_API_KEY"), "{detail}");
        assert!(
            detail.contains("Unauthorized"),
            "the server's words: {detail}"
        );
        assert!(!detail.contains("wrong-key") && !url.contains("wrong-key"));
        let err = client.trial("NCI-2015-00045").unwrap_err().to_string();
        assert!(
            err.contains("API key") && !err.contains("wrong-key"),
            "{err}"
        );
    }
    // No key at all: no header.
    assert!(server
        .seen()
        .iter()
        .any(|s| s.header("x-api-key").is_none()));
}

// ---- failures --------------------------------------------------------------

#[test]
fn server_errors_and_garbage_are_clear_errors() {
    let server = Server::start(|req| match req.target.as_str() {
        t if t.starts_with("/500/") => Reply::Send(
            500,
            "text/html",
            b"<html>\n<body>Internal\x07 error</body>\n</html>".to_vec(),
        ),
        t if t.starts_with("/429/") => Reply::Send(429, "text/plain", b"slow down".to_vec()),
        t if t.starts_with("/html/") => {
            Reply::Send(200, "text/html", b"<html>Maintenance</html>".to_vec())
        }
        t if t.starts_with("/cut/") => {
            json(fixture("ctgov_study_NCT02513394.json")[..500].to_vec())
        }
        t if t.starts_with("/empty/") => json(Vec::new()),
        t if t.starts_with("/object/") => json(b"{\"status\": \"ok\"}".to_vec()),
        t if t.starts_with("/noid/") => {
            json(br#"{"protocolSection": {"identificationModule": {}}}"#.to_vec())
        }
        t if t.starts_with("/gzip/") => json(vec![0x1f, 0x8b, 8, 0, 1, 2, 3]),
        t if t.starts_with("/redirect/") => {
            Reply::Redirect("http://elsewhere.invalid/steal".into())
        }
        _ => Reply::Send(404, "text/plain", Vec::new()),
    });
    let ct = |p: &str| CtGovClient::with_base_url(&server.base(p)).unwrap();

    let (url, detail) = api_error(ct("/500").study("NCT02513394"));
    assert!(url.contains("/500/studies/NCT02513394"), "{url}");
    assert_eq!(
        detail,
        "HTTP 500 Internal Server Error (<html> <body>Internal error</body> </html>)"
    );
    let (_, detail) = api_error(ct("/429").search(&SearchQuery::default()));
    assert!(
        detail.contains("429") && detail.contains("try again later"),
        "{detail}"
    );
    let (_, detail) = api_error(ct("/html").study("NCT02513394"));
    assert!(
        detail.contains("not trial data") && detail.contains("<html>"),
        "{detail}"
    );
    let (_, detail) = api_error(ct("/cut").study("NCT02513394"));
    assert!(detail.contains("malformed JSON"), "{detail}");
    let (_, detail) = api_error(ct("/empty").search(&SearchQuery::default()));
    assert!(detail.contains("empty"), "{detail}");
    let (_, detail) = api_error(ct("/object").search(&SearchQuery::default()));
    assert!(detail.contains("not trial data"), "{detail}");
    let (_, detail) = api_error(ct("/noid").study("NCT02513394"));
    assert!(
        detail.contains("no readable trial") && detail.contains("nctId"),
        "{detail}"
    );
    let (_, detail) = api_error(ct("/noid").search(&SearchQuery::default()));
    assert!(detail.contains("not a search page"), "{detail}");
    let (_, detail) = api_error(ct("/gzip").study("NCT02513394"));
    assert!(detail.contains("gzip"), "{detail}");

    // NCI CTS does not follow redirects: the key would go with them.
    let nci = NciCtsClient::with_base_url(&server.base("/redirect"), Some("k".into())).unwrap();
    let (_, detail) = api_error(nci.trial("NCI-2015-00045"));
    assert!(detail.starts_with("HTTP 302"), "{detail}");
    assert!(
        detail.contains("elsewhere.invalid") && detail.contains("not followed"),
        "{detail}"
    );
    assert_eq!(
        server
            .seen()
            .iter()
            .filter(|s| s.target.contains("steal"))
            .count(),
        0
    );
}

#[test]
fn a_server_that_never_answers_times_out() {
    let server = Server::start(|_| Reply::Hang(Duration::from_secs(20)));
    let client = CtGovClient::with_base_url(&server.base("/api/v2"))
        .unwrap()
        .timeout(Duration::from_millis(500));
    let start = Instant::now();
    let (_, detail) = api_error(client.study("NCT02513394"));
    let took = start.elapsed();
    assert!(detail.contains("timed out after 0.5 s"), "{detail}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(took >= Duration::from_millis(400), "{took:?}");

    let nci = NciCtsClient::with_base_url(&server.base("/v2"), None)
        .unwrap()
        .timeout(Duration::from_millis(300));
    let (_, detail) = api_error(nci.search(&SearchQuery::default()));
    assert!(detail.contains("timed out"), "{detail}");
}

#[test]
fn nobody_listening_is_a_connection_error() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = CtGovClient::with_base_url(&format!("http://127.0.0.1:{port}/api/v2"))
        .unwrap()
        .timeout(Duration::from_secs(5));
    let (_, detail) = api_error(client.study("NCT02513394"));
    assert!(
        detail.contains("connect") || detail.contains("refused"),
        "{detail}"
    );
}

#[test]
fn oversize_bodies_are_refused() {
    let big = Arc::new(vec![b' '; MAX_BODY_BYTES as usize + 1024]);
    let body = Arc::clone(&big);
    let server = Server::start(move |_| json(body.to_vec()));
    let client = CtGovClient::with_base_url(&server.base("/api/v2"))
        .unwrap()
        .timeout(Duration::from_secs(60));
    let (_, detail) = api_error(client.study("NCT02513394"));
    assert!(detail.contains("over the 33554432-byte limit"), "{detail}");
}
