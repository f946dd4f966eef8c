//! # sextant-server: Sextant's web app
//!
//! An axum 0.8 application over [`sextant_answer::Engine`]:
//!
//! - **JSON API**: `POST /api/ask` (the answer, shaped exactly as
//!   `sextant ask --json` prints it), `POST /api/ask/stream` (the same
//!   answer as NDJSON events, the emergency block first), `GET
//!   /api/openapi.json` (a hand-written OpenAPI 3.1 document of every route),
//!   `GET /healthz` (alive) and `GET /readyz` (knowledge base open, store
//!   answering).
//! - **Pages**, rendered on the server with askama (escaped by default), one
//!   CSS file and one small script served by the app, nothing from elsewhere:
//!   the ask page, the answer view with citation marks that reveal their
//!   passage, a printable "Questions for my next appointment" view, and the
//!   public answer library (`/answers`, `/answers/{slug}`) of general,
//!   never personal, answers.
//! - **Errors**: one table ([`error::ApiError`]): a stable `code`, an HTTP
//!   status, `{"error": {"code", "message", "correlation_id"}}`. Every
//!   response carries `X-Correlation-Id`. A panic in a handler becomes a 500
//!   with a generic message ([`security::panic_response`]) and the server
//!   keeps serving; request bodies are capped (413).
//! - **Security headers** on every response: a CSP of `default-src 'self'`
//!   with no inline script, `frame-ancestors 'none'`, `nosniff`,
//!   `Referrer-Policy: no-referrer`, `Cache-Control: no-store` (answers may
//!   be personal).
//! - **Accounts** (when a [`sextant_store::Store`] is configured): see
//!   [`account`].
//! - **Trials** (when a trial index is configured): `POST
//!   /api/trials/match` and the `/trials` page; see [`trials`].
//!
//! Answering is CPU-bound: it runs on tokio's blocking pool, at most
//! [`Config::max_concurrent_answers`] at a time.
//!
//! Questions and records are personal health information: nothing here
//! logs them, and error messages never quote them.

pub mod account;
pub mod api;
pub mod cache;
pub mod error;
pub mod library;
pub mod pages;
pub mod security;
pub mod trials;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use axum::Router;
use sextant_answer::{Engine, Retriever};
use sextant_core::Answer;
use tokio::sync::Semaphore;
use tower_http::catch_panic::CatchPanicLayer;

pub use error::ApiError;
pub use library::{AnswerLibrary, MemoryLibrary};

/// Where verified sentences go while a language model writes an answer.
pub type Events = tokio::sync::mpsc::Sender<sextant_answer::generate::GeneratedEvent>;

/// Who asks a general question, for the shared answer cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    /// No session: the question may enter the cache.
    Anonymous,
    /// A signed-in person: served from the cache, never added to it.
    SignedIn,
}

/// What the server is allowed to do.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark the session cookie `Secure` (off only for plain-HTTP
    /// localhost).
    pub secure_cookies: bool,
    /// The largest request body, except uploads (bytes).
    pub max_body_bytes: usize,
    /// The largest uploaded record file (bytes).
    pub max_upload_file_bytes: usize,
    /// The largest upload request, all files together (bytes).
    pub max_upload_request_bytes: usize,
    /// The most files in one upload.
    pub max_upload_files: usize,
    /// Answers computed at once; more wait their turn.
    pub max_concurrent_answers: usize,
    /// The retrieval used (falls back to BM25, visibly, when dense cannot run).
    pub retriever: Retriever,
    /// How many answers the library page lists.
    pub library_page: usize,
    /// General answers kept for asking again (0: no cache); see [`cache`].
    pub answer_cache_entries: usize,
    /// How long a cached general answer is served.
    pub answer_cache_ttl: std::time::Duration,
    /// A language model that writes the answers' bodies (every shown
    /// sentence verified); `None`: extractive answers.
    pub llm: Option<Llm>,
    /// The clinical-trial index for `/trials` and `/api/trials/match`;
    /// `None`: those answer 503 `trials_unavailable`.
    pub trials: Option<trials::Trials>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`serve
    /// --trusted-proxy`); from anyone else the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How long a client may take to send a request's headers (and how
    /// long an idle kept-alive connection is held).
    pub header_read_timeout: std::time::Duration,
    /// How long a request may take to produce its response's head.
    pub request_timeout: std::time::Duration,
    /// Open connections at most; past it, new ones are closed at once.
    pub max_connections: usize,
    /// Records read (parsed) at once; more wait their turn, for at most
    /// `read_wait`, then get 503 `busy` with nothing changed.
    pub max_concurrent_reads: usize,
    /// How long a request waits for a slot to read a record.
    pub read_wait: std::time::Duration,
}

/// A language model for answers, and how it is used.
#[derive(Clone)]
pub struct Llm {
    pub backend: Arc<dyn sextant_llm::ChatBackend>,
    pub options: sextant_answer::generate::GenerateOptions,
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let info = self.backend.info();
        f.debug_struct("Llm")
            .field("backend", &info.kind)
            .field("model", &info.model)
            .finish()
    }
}

impl Llm {
    /// What wrote the answers, for the cache key: `llm:local:model.gguf`.
    fn generator_id(&self) -> String {
        let info = self.backend.info();
        format!("llm:{}:{}", info.kind, info.model)
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            secure_cookies: true,
            max_body_bytes: 64 * 1024,
            max_upload_file_bytes: 10 * 1024 * 1024,
            max_upload_request_bytes: 25 * 1024 * 1024,
            max_upload_files: 10,
            max_concurrent_answers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            retriever: Retriever::DEFAULT,
            library_page: 100,
            // About 20 KiB of JSON an answer: 4,096 answers is ~80 MiB at
            // most, and covers the questions people ask most.
            answer_cache_entries: 4096,
            answer_cache_ttl: std::time::Duration::from_secs(3600),
            llm: None,
            trials: None,
            trusted_proxies: Vec::new(),
            header_read_timeout: std::time::Duration::from_secs(10),
            request_timeout: std::time::Duration::from_secs(120),
            max_connections: 1024,
            max_concurrent_reads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            read_wait: std::time::Duration::from_secs(10),
        }
    }
}

struct Inner {
    engine: Arc<Engine>,
    config: Config,
    library: Arc<dyn AnswerLibrary>,
    store: Option<sextant_store::Store>,
    answering: Semaphore,
    /// Bounds how many records are read at once (CPU and memory bound).
    reading: Semaphore,
    cache: cache::AnswerCache,
    /// The knowledge base generation answers come from (cache key).
    kb_generation: Arc<str>,
    /// What writes the answers (cache key).
    generator: Arc<str>,
}

/// Raises its flag when dropped: a future dropped before it finished (its
/// client went away) tells the blocking work it started to stop.
struct RaiseOnDrop(Arc<std::sync::atomic::AtomicBool>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// What every handler sees. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

impl AppState {
    /// An anonymous-only app: the public library in memory, no accounts.
    pub fn new(engine: Arc<Engine>, config: Config) -> AppState {
        let library: Arc<dyn AnswerLibrary> = Arc::new(MemoryLibrary::new(1000));
        AppState::build(engine, config, library, None)
    }

    /// An app with accounts, records and profiles kept in `store` (and the
    /// public library too).
    pub fn with_store(
        engine: Arc<Engine>,
        config: Config,
        store: sextant_store::Store,
    ) -> AppState {
        let library: Arc<dyn AnswerLibrary> = Arc::new(account::StoreLibrary::new(store.clone()));
        AppState::build(engine, config, library, Some(store))
    }

    /// Everything chosen by the caller.
    pub fn build(
        engine: Arc<Engine>,
        config: Config,
        library: Arc<dyn AnswerLibrary>,
        store: Option<sextant_store::Store>,
    ) -> AppState {
        let permits = config.max_concurrent_answers.max(1);
        let reads = config.max_concurrent_reads.max(1);
        let cache = cache::AnswerCache::new(config.answer_cache_entries, config.answer_cache_ttl);
        let kb_generation = engine.kb().manifest().fingerprint.clone();
        let generator: Arc<str> = match &config.llm {
            Some(l) => l.generator_id().into(),
            None => "extractive".into(),
        };
        AppState {
            inner: Arc::new(Inner {
                engine,
                config,
                library,
                store,
                answering: Semaphore::new(permits),
                reading: Semaphore::new(reads),
                cache,
                kb_generation: kb_generation.into(),
                generator,
            }),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn library(&self) -> &dyn AnswerLibrary {
        self.inner.library.as_ref()
    }

    pub fn store(&self) -> Option<&sextant_store::Store> {
        self.inner.store.as_ref()
    }

    async fn store_healthy(&self) -> bool {
        match self.store() {
            Some(s) => s.health().await.is_ok(),
            None => true,
        }
    }

    /// Answers a question on the blocking pool, tailored to `profile` when
    /// given. A general answer (no profile) may come from the [`cache`],
    /// and is returned with its cache entry. With a language model
    /// configured, each verified sentence is sent to `events` as it passes
    /// (when the answer is computed now, not when it comes from the cache).
    ///
    /// A signed-in person's general question may be served from the cache
    /// but never enters it: a fast answer to the next asker would tell them
    /// that someone asked it recently (issue 19, finding 12).
    pub async fn answer(
        &self,
        question: &str,
        asker: Asker,
        profile: Option<sextant_records::Profile>,
        events: Option<Events>,
    ) -> Result<(Answer, Option<Arc<cache::Cached>>), ApiError> {
        // A bad question is refused before it waits for a permit.
        let q = sextant_answer::analyze::validate(question)?;
        if profile.is_some() {
            return Ok((self.compute(q, profile, events).await?, None));
        }
        let key = cache::Key {
            question: q.clone(),
            retriever: self
                .inner
                .engine
                .effective(self.inner.config.retriever)
                .as_str(),
            locale: self.inner.engine.locale().code,
            kb: self.inner.kb_generation.clone(),
            generator: self.inner.generator.clone(),
        };
        if asker == Asker::SignedIn {
            return match self.inner.cache.peek(&key) {
                Some(cached) => Ok((cached.answer.clone(), Some(cached))),
                None => Ok((self.compute(q, None, events).await?, None)),
            };
        }
        let (cached, _) = self
            .inner
            .cache
            .get_or_compute(key, || self.compute(q, None, events))
            .await?;
        Ok((cached.answer.clone(), Some(cached)))
    }

    /// A slot for reading a record, waited for at most
    /// [`Config::read_wait`]; none free by then is [`ApiError::Busy`], and
    /// nothing is changed.
    pub(crate) async fn reading_permit(
        &self,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
        match tokio::time::timeout(self.inner.config.read_wait, self.inner.reading.acquire()).await
        {
            Ok(Ok(p)) => Ok(p),
            Ok(Err(_)) => Err(ApiError::Unavailable),
            Err(_) => Err(ApiError::Busy),
        }
    }

    /// Takes every free slot for reading records and holds them until the
    /// returned permit is dropped, as a burst of uploads would: for drills
    /// and tests of the `busy` reply.
    pub fn hold_reading_slots(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let free = u32::try_from(self.inner.reading.available_permits()).ok()?;
        self.inner.reading.try_acquire_many(free).ok()
    }

    /// Hits and misses of the general-answer cache.
    pub fn cache_stats(&self) -> cache::CacheStats {
        self.inner.cache.stats()
    }

    async fn compute(
        &self,
        q: String,
        profile: Option<sextant_records::Profile>,
        events: Option<Events>,
    ) -> Result<Answer, ApiError> {
        let _permit = self
            .inner
            .answering
            .acquire()
            .await
            .map_err(|_| ApiError::Unavailable)?;
        let engine = self.inner.engine.clone();
        let retriever = self.inner.config.retriever;
        let llm = self.inner.config.llm.clone();
        // The client going away stops the model at its next sentence (issue
        // 19, finding 17): a whole-answer request drops this future (the
        // guard raises the flag); a stream's reader closes `events`.
        let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let _raise_when_dropped = RaiseOnDrop(gone.clone());
        let flag = gone.clone();
        let answer = tokio::task::spawn_blocking(move || match &llm {
            None => engine.ask_personal(&q, retriever, profile.as_ref()),
            Some(l) => engine.ask_generated_with(
                &q,
                retriever,
                profile.as_ref(),
                l.backend.as_ref(),
                &l.options,
                &mut |ev| {
                    use std::sync::atomic::Ordering::Relaxed;
                    let closed = events
                        .as_ref()
                        .is_some_and(|tx| tx.blocking_send(ev).is_err());
                    if closed || flag.load(Relaxed) {
                        flag.store(true, Relaxed);
                        return std::ops::ControlFlow::Break(());
                    }
                    std::ops::ControlFlow::Continue(())
                },
            ),
        })
        .await
        // A panic in the engine: the blocking task died, the server did not.
        .map_err(|_| ApiError::Internal)??;
        // A stopped answer is cut short: it is neither cached nor saved.
        if gone.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(ApiError::ClientGone);
        }
        Ok(answer)
    }

    /// Answers for whoever asks: tailored to the logged-in person's profile
    /// when they ask for it and allow it. A logged-in person's answers are
    /// saved encrypted; no answer is published here.
    pub async fn answer_for(
        &self,
        who: &account::MaybeUser,
        question: &str,
        personalize: bool,
        events: Option<Events>,
    ) -> Result<Answer, ApiError> {
        // An ended session or a request for a personal answer is never
        // answered as anonymous (that would publish a personal question):
        // it is told it is signed out, unless it reports an emergency,
        // which is answered, unpersonalized and unpublished.
        let signed_out = who.signed_out(personalize);
        if signed_out
            && !matches!(
                self.engine().route(question),
                sextant_answer::Route::Emergency(_)
            )
        {
            return Err(ApiError::SignedOut);
        }
        let profile = match (&who.0, personalize) {
            (Some(u), true) if u.session.personalize => account::load_profile(self, u).await?,
            _ => None,
        };
        let asker = if who.0.is_some() {
            Asker::SignedIn
        } else {
            Asker::Anonymous
        };
        let (answer, _) = self.answer(question, asker, profile, events).await?;
        // A logged-in person's answers are theirs: saved encrypted. Nothing
        // anyone asks is published unless they share it ([`Self::share`]).
        if let Some(u) = &who.0 {
            account::save_answer(self, u, &answer).await?;
        }
        Ok(answer)
    }

    /// Shares a question and its general answer with the public library,
    /// with the person's consent: what is shared is the question with its
    /// identifying details removed (the [`library::preview`] they were
    /// shown), answered again as that text, unpersonalized; it waits for a
    /// reviewer (`sextant library review`) before anyone sees it.
    pub async fn share(&self, question: &str, consent: bool) -> Result<library::Shared, ApiError> {
        if !consent {
            return Err(ApiError::ConsentRequired);
        }
        let preview = library::preview(question);
        // The de-identified text is what will be published: it may be shared.
        let (answer, _) = self
            .answer(&preview.question, Asker::Anonymous, None, None)
            .await?;
        let slug = self.inner.library.submit(&answer.question, &answer).await?;
        Ok(library::Shared {
            slug,
            question: answer.question,
            status: "pending",
        })
    }
}

/// Every route, without the hardening layers (see [`harden`]).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/ask", post(api::ask))
        .route("/api/ask/stream", post(api::ask_stream))
        .route("/api/account/register", post(account::register))
        .route("/api/account/login", post(account::login))
        .route("/api/account/logout", post(account::logout))
        .route("/api/account/settings", post(account::settings))
        .route("/api/account/activity", get(account::activity))
        .route("/api/account", delete(account::delete_account))
        .route(
            "/api/records",
            post(account::upload_records)
                .get(account::list_records)
                // The handler counts every part's bytes against the
                // upload caps as they stream in, and the number of parts.
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/records/{id}",
            get(account::download_record).delete(account::delete_record),
        )
        .route("/api/answers", get(account::list_answers))
        .route(
            "/api/answers/{id}",
            get(account::get_answer).delete(account::delete_answer),
        )
        .route("/api/profile", get(account::get_profile))
        .route("/api/profile/facts", post(account::patch_profile))
        .route("/api/trials/match", post(trials::match_api))
        .route("/api/library/preview", post(api::library_preview))
        .route("/api/library/share", post(api::library_share))
        .route("/", get(pages::ask_page))
        .route("/ask", post(pages::ask_form))
        .route("/questions", post(pages::questions_form))
        .route("/answers", get(pages::library_page))
        .route("/answers/share", post(pages::share_form))
        .route("/answers/{slug}", get(pages::library_entry))
        .route("/answers/{slug}/questions", get(pages::library_questions))
        .route("/login", get(pages::login_page))
        .route("/register", get(pages::register_page))
        .route("/records", get(pages::records_page))
        .route("/profile", get(pages::profile_page))
        .route(
            "/trials",
            get(trials::trials_page).post(trials::trials_form),
        )
        .route("/static/app.css", get(pages::css))
        .route("/static/app.js", get(pages::js))
}

/// Wraps a router in the hardening layers, outermost first: correlation
/// id, security headers, error normalization, panic catching, body limit.
pub fn harden(router: Router, config: &Config) -> Router {
    let router = router
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CatchPanicLayer::custom(security::panic_response))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            config.request_timeout,
        ))
        .layer(axum::middleware::from_fn(security::normalize_errors))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(security::correlate));
    // Served over HTTPS (secure cookies): browsers are told to stay on it.
    if config.secure_cookies {
        router.layer(
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                axum::http::header::STRICT_TRANSPORT_SECURITY,
                axum::http::HeaderValue::from_static("max-age=31536000"),
            ),
        )
    } else {
        router
    }
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let config = state.config().clone();
    harden(routes().with_state(state), &config)
}

/// Serves the app on `addr` until Ctrl-C.
pub async fn serve(addr: SocketAddr, state: AppState) -> std::io::Result<()> {
    security::quiet_panic_hook();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Serves on a bound listener until `shutdown` completes. Each connection
/// must send its headers within `header_read_timeout` (slow clients are
/// dropped), at most `max_connections` are open (more are closed at once),
/// and a request that goes away stops its handler (hyper drops the future).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use tower::Service;
    let config = state.config().clone();
    let mut make = app(state).into_make_service_with_connect_info::<SocketAddr>();
    let slots = Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait, do not spin.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let Ok(svc) = make.call(peer).await;
        let svc = hyper_util::service::TowerToHyperService::new(svc);
        let header_timeout = config.header_read_timeout;
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .with_upgrades();
            let _ = conn.await;
            drop(slot);
        });
    }
}
