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
//!
//! Answering is CPU-bound: it runs on tokio's blocking pool, at most
//! [`Config::max_concurrent_answers`] at a time.
//!
//! Questions and records are personal health information: nothing here
//! logs them, and error messages never quote them.

pub mod account;
pub mod api;
pub mod error;
pub mod library;
pub mod pages;
pub mod security;

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
        }
    }
}

struct Inner {
    engine: Arc<Engine>,
    config: Config,
    library: Arc<dyn AnswerLibrary>,
    store: Option<sextant_store::Store>,
    answering: Semaphore,
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
        AppState {
            inner: Arc::new(Inner {
                engine,
                config,
                library,
                store,
                answering: Semaphore::new(permits),
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
    /// given.
    pub async fn answer(
        &self,
        question: &str,
        profile: Option<sextant_records::Profile>,
    ) -> Result<Answer, ApiError> {
        // A bad question is refused before it waits for a permit.
        let q = sextant_answer::analyze::validate(question)?;
        let _permit = self
            .inner
            .answering
            .acquire()
            .await
            .map_err(|_| ApiError::Unavailable)?;
        let engine = self.inner.engine.clone();
        let retriever = self.inner.config.retriever;
        let answer = tokio::task::spawn_blocking(move || {
            engine.ask_personal(&q, retriever, profile.as_ref())
        })
        .await
        // A panic in the engine: the blocking task died, the server did not.
        .map_err(|_| ApiError::Internal)??;
        Ok(answer)
    }

    /// Answers for whoever asks: tailored to the logged-in person's profile
    /// when they ask for it and allow it. A logged-in person's answers are
    /// saved encrypted and never published; an anonymous (general) answer
    /// goes to the public library.
    pub async fn answer_for(
        &self,
        who: &account::MaybeUser,
        question: &str,
        personalize: bool,
    ) -> Result<Answer, ApiError> {
        let profile = match (&who.0, personalize) {
            (Some(u), true) if u.session.personalize => account::load_profile(self, u).await?,
            _ => None,
        };
        let answer = self.answer(question, profile).await?;
        match &who.0 {
            // A logged-in person's answers are theirs: saved encrypted,
            // never published.
            Some(u) => account::save_answer(self, u, &answer).await?,
            None if answer.personalization.is_none() => {
                self.inner.library.publish(&answer.question, &answer).await;
            }
            None => {}
        }
        Ok(answer)
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
        .route("/api/account", delete(account::delete_account))
        .route(
            "/api/records",
            post(account::upload_records)
                .get(account::list_records)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/records/{id}",
            get(account::download_record).delete(account::delete_record),
        )
        .route("/api/profile", get(account::get_profile))
        .route("/api/profile/facts", post(account::patch_profile))
        .route("/", get(pages::ask_page))
        .route("/ask", post(pages::ask_form))
        .route("/questions", post(pages::questions_form))
        .route("/answers", get(pages::library_page))
        .route("/answers/{slug}", get(pages::library_entry))
        .route("/answers/{slug}/questions", get(pages::library_questions))
        .route("/login", get(pages::login_page))
        .route("/register", get(pages::register_page))
        .route("/records", get(pages::records_page))
        .route("/profile", get(pages::profile_page))
        .route("/static/app.css", get(pages::css))
        .route("/static/app.js", get(pages::js))
}

/// Wraps a router in the hardening layers, outermost first: correlation
/// id, security headers, error normalization, panic catching, body limit.
pub fn harden(router: Router, config: &Config) -> Router {
    router
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(CatchPanicLayer::custom(security::panic_response))
        .layer(axum::middleware::from_fn(security::normalize_errors))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(security::correlate))
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
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
