//! Accounts, records and the profile, over [`sextant_store::Store`].
//!
//! - The session lives in the cookie `sextant_session` (HttpOnly,
//!   SameSite=Strict, Path=/, Secure unless configured off for plain-HTTP
//!   localhost). Only the store sees the token's hash.
//! - CSRF: every state-changing request (POST, PUT, PATCH, DELETE) that
//!   comes with a session must carry `X-CSRF-Token` equal to the session's
//!   token (pages' forms: a hidden `csrf` field); otherwise 403 `csrf`.
//! - Every id-bearing route goes through the person's [`UserScope`], so
//!   another person's id is a 404, exactly like an id that does not exist.
//! - Uploads: per-file and per-request caps (413, nothing written), type by
//!   content (`sextant_records::sniff`), the file name is only a label. The
//!   profile is re-extracted from all records after every change, and the
//!   person's corrections are re-applied on top.
//! - Records are never served back as HTML: a download is
//!   `application/octet-stream` with `Content-Disposition: attachment`.

use axum::extract::{FromRequestParts, Multipart, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sextant_core::Answer;
use sextant_records::edit::Patch;
use sextant_records::Profile;
use sextant_store::{ct_eq, NewRecord, RecordId, SessionInfo, Store, StoreError, UserScope};

use crate::api::ApiJson;
use crate::error::ApiError;
use crate::library::{AnswerLibrary, BoxFuture, PublicAnswer};
use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "sextant_session";
/// The session cookie's name over HTTPS: the `__Host-` prefix makes the
/// browser refuse it unless it is Secure, host-only and for `/`, so a
/// sibling subdomain cannot plant one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-sextant_session";

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}
/// The header that carries the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A logged-in person.
#[derive(Clone)]
pub struct User {
    pub token: String,
    pub session: SessionInfo,
}

/// The logged-in person, if any. For a state-changing request with a
/// session, extraction fails (403 `csrf`) unless `X-CSRF-Token` matches; a
/// form post may instead carry the token in its body, which the handler
/// checks ([`MaybeUser::form_csrf_pending`]).
#[derive(Clone, Default)]
pub struct MaybeUser(pub Option<User>, pub bool, pub SessionEnded);

/// Whether the request carried a session cookie that no longer names a
/// session (expired, logged out, deleted): such a request is never treated
/// as anonymous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionEnded(pub bool);

impl MaybeUser {
    /// Whether the CSRF check is left to the handler (a form field).
    pub fn form_csrf_pending(&self) -> bool {
        self.1
    }

    /// Checks a form's `csrf` field when the header was absent.
    pub fn check_form_csrf(&self, field: Option<&str>) -> Result<(), ApiError> {
        match (&self.0, self.1) {
            (Some(u), true) if !field.is_some_and(|f| ct_eq(f, &u.session.csrf)) => {
                Err(ApiError::Csrf)
            }
            _ => Ok(()),
        }
    }

    pub fn csrf(&self) -> Option<&str> {
        self.0.as_ref().map(|u| u.session.csrf.as_str())
    }

    /// No session, but the request came with an ended one or asks for a
    /// personal answer: it must not be answered as anonymous.
    pub fn signed_out(&self, personalize: bool) -> bool {
        self.0.is_none() && (self.2 .0 || personalize)
    }
}

/// The session token from the `Cookie` headers (only the name this
/// server sets: with secure cookies, the `__Host-` one).
pub fn session_token(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 200)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        if let Some(u) = parts.extensions.get::<MaybeUser>() {
            return Ok(u.clone());
        }
        let (Some(store), Some(token)) = (
            st.store(),
            session_token(&parts.headers, st.config().secure_cookies),
        ) else {
            return Ok(MaybeUser(None, false, SessionEnded(false)));
        };
        let Some(session) = store.session(&token).await.map_err(store_error)? else {
            return Ok(MaybeUser(None, false, SessionEnded(true)));
        };
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let mut pending = false;
        if unsafe_method {
            match parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
                Some(h) if ct_eq(h, &session.csrf) => {}
                None if is_form(&parts.headers) => pending = true,
                _ => return Err(ApiError::Csrf),
            }
        }
        let u = MaybeUser(Some(User { token, session }), pending, SessionEnded(false));
        parts.extensions.insert(u.clone());
        Ok(u)
    }
}

/// A logged-in person whose request passed the CSRF check (401 without a
/// session, 503 without a store).
pub struct Authed(pub User);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        if st.store().is_none() {
            return Err(ApiError::NotFound);
        }
        match MaybeUser::from_request_parts(parts, st).await? {
            MaybeUser(Some(u), false, _) => Ok(Authed(u)),
            // JSON routes take no form token.
            MaybeUser(Some(_), true, _) => Err(ApiError::Csrf),
            MaybeUser(None, _, _) => Err(ApiError::Unauthorized),
        }
    }
}

/// The client, for the store's login and registration throttling: the
/// peer address, or, when the peer is a trusted proxy, the right-most
/// address of `X-Forwarded-For` that is not one (a client can put anything
/// to the left).
pub struct Client(pub String);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        Ok(Client(client_ip(
            peer,
            &forwarded,
            &st.config().trusted_proxies,
        )))
    }
}

/// The client's address: see [`Client`].
pub fn client_ip(
    peer: Option<std::net::IpAddr>,
    forwarded: &[&str],
    trusted: &[std::net::IpAddr],
) -> String {
    let Some(peer) = peer else {
        return "local".into();
    };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let hops: Vec<&str> = forwarded
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    for hop in hops.iter().rev() {
        match hop.parse::<std::net::IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip.to_string(),
            // Not an address: stop at what the trusted proxy itself saw.
            Err(_) => break,
        }
    }
    peer.to_string()
}

/// A store error in the error table: its own stable code, a status, and a
/// message without internals.
pub fn store_error(e: StoreError) -> ApiError {
    let (status, message): (StatusCode, String) = match &e {
        StoreError::InvalidEmail
        | StoreError::WeakPassword { .. }
        | StoreError::GuessablePassword
        | StoreError::InvalidInput(_) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        StoreError::EmailTaken => (StatusCode::CONFLICT, e.to_string()),
        StoreError::BadCredentials => (StatusCode::UNAUTHORIZED, e.to_string()),
        StoreError::TooManyAttempts { retry_after } => {
            return ApiError::Store {
                code: e.code(),
                status: StatusCode::TOO_MANY_REQUESTS,
                message: e.to_string(),
                retry_after: Some(*retry_after as u64),
            }
        }
        StoreError::QuotaExceeded(_) => (StatusCode::CONFLICT, e.to_string()),
        StoreError::NotFound => return ApiError::NotFound,
        StoreError::Integrity => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Stored data failed its integrity check; it was not shown.".into(),
        ),
        _ => return ApiError::Internal,
    };
    ApiError::Store {
        code: e.code(),
        status,
        message,
        retry_after: None,
    }
}

fn cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let name = cookie_name(secure);
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sextant_session=; Max-Age=0; Path=/"))
}

fn clear_cookie(st: &AppState) -> HeaderValue {
    cookie("", 0, st.config().secure_cookies)
}

fn store(st: &AppState) -> Result<&Store, ApiError> {
    st.store().ok_or(ApiError::NotFound)
}

/// `POST /api/account/register` and `/login`.
#[derive(Deserialize)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// `POST /api/account/register`: 202 `{"status": "accepted"}`, the same
/// whether the address was free or taken.
pub async fn register(
    State(st): State<AppState>,
    Client(client): Client,
    ApiJson(c): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    // The same reply whether the address was free or already has an
    // account (no email oracle, issue 19 finding 9): the person signs in
    // next, and a taken address fails there like a wrong password. The
    // store hashes the password in both cases, so the time is the same too.
    match store(&st)?
        .register_from(&c.email, &c.password, &client)
        .await
    {
        Ok(_) | Err(StoreError::EmailTaken) => Ok((
            StatusCode::ACCEPTED,
            Json(json!({"status": "accepted", "next": "/api/account/login"})),
        )
            .into_response()),
        Err(e) => Err(store_error(e)),
    }
}

/// `POST /api/account/login`: sets the session cookie; the body carries
/// the CSRF token for later requests.
pub async fn login(
    State(st): State<AppState>,
    Client(client): Client,
    ApiJson(c): ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    let s = store(&st)?
        .login(&c.email, &c.password, &client)
        .await
        .map_err(store_error)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let max_age = (s.expires_at - now).clamp(60, 12 * 3600);
    let mut r =
        Json(json!({"user": s.user, "csrf": s.csrf, "expires_at": s.expires_at})).into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&s.token, max_age, st.config().secure_cookies),
    );
    Ok(r)
}

/// `POST /api/account/logout`.
pub async fn logout(State(st): State<AppState>, Authed(u): Authed) -> Result<Response, ApiError> {
    store(&st)?.logout(&u.token).await.map_err(store_error)?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(&st));
    Ok(r)
}

/// `DELETE /api/account`: the account and everything in it.
pub async fn delete_account(
    State(st): State<AppState>,
    Authed(u): Authed,
) -> Result<Response, ApiError> {
    store(&st)?
        .delete_account(&u.session)
        .await
        .map_err(store_error)?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, clear_cookie(&st));
    Ok(r)
}

/// A file name as a label only: its last path part, printable, at most 120
/// characters. Never used as a path.
pub fn label(name: Option<&str>) -> String {
    let base = name
        .unwrap_or("")
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect::<String>();
    let base = base.trim().to_string();
    if base.is_empty() || base == "." || base == ".." {
        "record".into()
    } else {
        base
    }
}

/// A file of an upload as checked: the format it is stored under, told by
/// its content, and what it unpacks to (what quotas count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub format: &'static str,
    pub unpacked: u64,
}

/// Checks a file before anything is stored: its format, and what it
/// unpacks to. A gzip counts as its contents, a PDF as its bytes plus its
/// streams inflated (issue 19, finding 3: quotas counted compressed bytes).
pub fn check_record(bytes: &[u8]) -> Result<Checked, ApiError> {
    let unpacked;
    let body = if bytes.starts_with(&[0x1f, 0x8b]) {
        unpacked = sextant_records::gunzip("record", bytes).map_err(|_| {
            ApiError::UnsupportedRecord(
                "the compressed file could not be unpacked, or unpacks to more than 64 MiB".into(),
            )
        })?;
        &unpacked[..]
    } else {
        bytes
    };
    let size = (body.len() as u64).max(bytes.len() as u64);
    let format = match sextant_records::sniff(body) {
        Ok(sextant_records::Format::Fhir) => "fhir+json",
        Ok(sextant_records::Format::Ccda) => "ccda+xml",
        Ok(sextant_records::Format::Text) => "text/plain",
        // A decompression bomb is refused here, not stored: a stored one
        // would be read again at every later change (issue 19, finding 2).
        Ok(sextant_records::Format::Pdf) => {
            use sextant_records::pdf::{unpacked_bytes, MAX_PDF_UNPACKED};
            let streams = unpacked_bytes(body, MAX_PDF_UNPACKED);
            if streams > MAX_PDF_UNPACKED {
                return Err(ApiError::UnsupportedRecord(format!(
                    "the PDF's compressed content unpacks to more than {} MiB",
                    MAX_PDF_UNPACKED >> 20
                )));
            }
            return Ok(Checked {
                format: "pdf",
                unpacked: size.saturating_add(streams),
            });
        }
        Err(why) => return Err(ApiError::UnsupportedRecord(why)),
    };
    Ok(Checked {
        format,
        unpacked: size,
    })
}

/// Reads one record into a profile, on the blocking pool, holding one of
/// the server's slots for reading records ([`AppState::reading_permit`]).
/// Returns the profile and its JSON, which is kept with the record so that
/// it is never read again, and the bytes, handed back.
async fn read_record(
    st: &AppState,
    name: String,
    bytes: Vec<u8>,
) -> Result<(Profile, String, Vec<u8>), ApiError> {
    let _slot = st.reading_permit().await?;
    tokio::task::spawn_blocking(move || {
        let profile = sextant_records::read_bytes(&name, &bytes)
            .map_err(|e| ApiError::UnsupportedRecord(e.to_string()))?;
        let json = serde_json::to_string(&profile).map_err(|_| ApiError::Internal)?;
        Ok((profile, json, bytes))
    })
    .await
    .map_err(|_| ApiError::Internal)?
}

/// `POST /api/records`: multipart, one or more files. Every file is read
/// and checked before anything is written; over a cap → 413, nothing
/// written; a file Sextant cannot read → 422, nothing written.
pub async fn upload_records(
    State(st): State<AppState>,
    Authed(u): Authed,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    let cfg = st.config().clone();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0usize;
    let multipart_err = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest("the upload is not a readable multipart form".into())
        }
    };
    let mut parts = 0usize;
    while let Some(mut field) = form.next_field().await.map_err(multipart_err)? {
        // Parts whose framing is all they carry are bounded too.
        parts += 1;
        if parts > cfg.max_upload_files + 16 {
            return Err(ApiError::PayloadTooLarge);
        }
        if field.file_name().is_none() {
            // A non-file field (such as the form's csrf) is not a record,
            // but its bytes count toward the request's cap (issue 19,
            // finding 11: a 300 MiB junk field was accepted).
            while let Some(chunk) = field.chunk().await.map_err(multipart_err)? {
                total += chunk.len();
                if total > cfg.max_upload_request_bytes {
                    return Err(ApiError::PayloadTooLarge);
                }
            }
            continue;
        }
        if files.len() >= cfg.max_upload_files {
            return Err(ApiError::PayloadTooLarge);
        }
        let name = label(field.file_name());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_err)? {
            total += chunk.len();
            if bytes.len() + chunk.len() > cfg.max_upload_file_bytes
                || total > cfg.max_upload_request_bytes
            {
                return Err(ApiError::PayloadTooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        files.push((name, bytes));
    }
    if files.is_empty() {
        return Err(ApiError::BadRequest("no file was uploaded".into()));
    }
    let store = store(&st)?;
    let scope = store.user(&u.session);
    // Each file is checked, and the quota counted as the files unpack,
    // before any is read; then each is read once, here, and what was read
    // is kept with it, so no later change reads it again.
    let mut sized = Vec::new();
    for (name, bytes) in files {
        let c = check_record(&bytes)?;
        sized.push((name, c, bytes));
    }
    let used: i64 = scope
        .records()
        .await
        .map_err(store_error)?
        .iter()
        .map(|m| m.unpacked)
        .sum();
    let adding = sized.iter().map(|(_, c, _)| c.unpacked).sum::<u64>();
    if (used.max(0) as u64).saturating_add(adding) > sextant_store::MAX_RECORD_BYTES as u64 {
        return Err(store_error(StoreError::QuotaExceeded(
            "at most 50 MiB of records per person, counted unpacked",
        )));
    }
    let mut checked = Vec::new();
    for (name, c, bytes) in sized {
        let (_, extract, bytes) = read_record(&st, name.clone(), bytes).await?;
        checked.push((name, c, bytes, extract));
    }
    let mut added: Vec<RecordId> = Vec::new();
    for (name, c, bytes, extract) in &checked {
        let new = NewRecord {
            name,
            format: c.format,
            bytes,
            unpacked: c.unpacked,
            extract: Some(extract),
        };
        match scope.add_read_record(&new).await {
            Ok(id) => added.push(id),
            Err(e) => {
                // All or nothing.
                for id in added {
                    let _ = scope.delete_record(id).await;
                }
                return Err(store_error(e));
            }
        }
    }
    let profile = rebuild_profile(&st, &scope).await?;
    let records: Vec<Value> = added
        .iter()
        .zip(&checked)
        .map(|(id, (name, c, bytes, _))| {
            json!({"id": id, "name": name, "format": c.format, "size": bytes.len(), "unpacked": c.unpacked})
        })
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({"records": records, "profile": profile_json(&profile.profile)})),
    )
        .into_response())
}

/// What an audited action is, in words, for the person's activity list.
/// Sorted by code; an action missing here is shown by its code.
const ACTIVITY_WORDS: &[(&str, &str)] = &[
    ("answer.delete", "deleted a saved answer"),
    ("answer.list", "listed your saved answers"),
    ("answer.read", "opened a saved answer"),
    ("answer.save", "saved an answer"),
    ("audit.read", "viewed this activity list"),
    ("delete_account", "deleted the account"),
    ("login", "signed in"),
    ("logout", "signed out"),
    (
        "personalize.off",
        "turned off answers tailored to your records",
    ),
    (
        "personalize.on",
        "turned on answers tailored to your records",
    ),
    ("profile.read", "read your profile"),
    ("profile.write", "updated your profile"),
    ("record.add", "uploaded a record"),
    ("record.delete", "deleted a record"),
    ("record.extract", "kept what was read from a record"),
    ("record.extracts", "merged your records into your profile"),
    ("record.list", "listed your records"),
    ("record.read", "opened a record"),
    ("register", "created the account"),
    ("unlock", "an operator ended a sign-in lockout"),
];

/// [`ACTIVITY_WORDS`]' phrase for `action`, or the code itself.
pub fn activity_words(action: &str) -> &str {
    ACTIVITY_WORDS
        .binary_search_by(|(code, _)| code.cmp(&action))
        .map_or(action, |i| ACTIVITY_WORDS[i].1)
}

/// `GET /api/account/activity`: the newest 100 audit rows about the
/// person (every access to their data, and sign-ins), newest first, each
/// in words; reading it is audited too.
pub async fn activity(
    State(st): State<AppState>,
    Authed(u): Authed,
) -> Result<Json<Value>, ApiError> {
    let log = store(&st)?
        .user(&u.session)
        .access_log(100)
        .await
        .map_err(store_error)?;
    let items: Vec<Value> = log
        .iter()
        .map(|a| {
            json!({
                "at": a.at,
                "action": a.action,
                "what": activity_words(&a.action),
                "outcome": a.outcome,
                "target": a.target,
                "this_session": a.this_session,
                "by_owner": a.by_owner,
                "request": a.request,
            })
        })
        .collect();
    Ok(Json(json!({"activity": items})))
}

/// `GET /api/records`.
pub async fn list_records(
    State(st): State<AppState>,
    Authed(u): Authed,
) -> Result<Json<Value>, ApiError> {
    let list = store(&st)?
        .user(&u.session)
        .records()
        .await
        .map_err(store_error)?;
    Ok(Json(json!({"records": list})))
}

fn record_id(id: &str) -> Result<RecordId, ApiError> {
    id.parse().map_err(|_| ApiError::NotFound)
}

/// `GET /api/answers`: the person's saved answers, newest first: id,
/// question and when (the answers themselves by id).
pub async fn list_answers(
    State(st): State<AppState>,
    Authed(u): Authed,
) -> Result<Response, ApiError> {
    let saved = store(&st)?
        .user(&u.session)
        .answers()
        .await
        .map_err(store_error)?;
    let items: Vec<Value> = saved
        .iter()
        .map(|a| json!({"id": a.id, "question": a.question, "created": a.created}))
        .collect();
    Ok(Json(json!({"answers": items})).into_response())
}

/// `GET /api/answers/{id}`: one saved answer, as it was given.
pub async fn get_answer(
    State(st): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: sextant_store::AnswerId = id.parse().map_err(|_| ApiError::NotFound)?;
    let a = store(&st)?
        .user(&u.session)
        .answer(id)
        .await
        .map_err(store_error)?
        .ok_or(ApiError::NotFound)?;
    let answer: Value = serde_json::from_str(&a.answer_json).map_err(|_| ApiError::Internal)?;
    Ok(
        Json(json!({"id": a.id, "question": a.question, "created": a.created, "answer": answer}))
            .into_response(),
    )
}

/// `DELETE /api/answers/{id}`: 204, or 404 when there is none by that id.
pub async fn delete_answer(
    State(st): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: sextant_store::AnswerId = id.parse().map_err(|_| ApiError::NotFound)?;
    if !store(&st)?
        .user(&u.session)
        .delete_answer(id)
        .await
        .map_err(store_error)?
    {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/records/{id}`: the bytes as an attachment, never as a page.
pub async fn download_record(
    State(st): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = record_id(&id)?;
    let (meta, bytes) = store(&st)?
        .user(&u.session)
        .record(id)
        .await
        .map_err(store_error)?
        .ok_or(ApiError::NotFound)?;
    // Only a safe ASCII name goes into the header.
    let safe: String = meta
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// `DELETE /api/records/{id}`: then the profile is re-extracted.
pub async fn delete_record(
    State(st): State<AppState>,
    Authed(u): Authed,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = record_id(&id)?;
    let scope = store(&st)?.user(&u.session);
    if !scope.delete_record(id).await.map_err(store_error)? {
        return Err(ApiError::NotFound);
    }
    rebuild_profile(&st, &scope).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// What is saved as the person's profile: the extracted profile with the
/// person's corrections applied, and the corrections themselves, so that
/// re-extraction can re-apply them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SavedProfile {
    pub profile: Profile,
    #[serde(default)]
    pub patches: Vec<Patch>,
}

async fn saved_profile(scope: &UserScope<'_>) -> Result<SavedProfile, ApiError> {
    match scope.profile().await.map_err(store_error)? {
        Some(json) => serde_json::from_str(&json).map_err(|_| ApiError::Internal),
        None => Ok(SavedProfile::default()),
    }
}

async fn save_profile(scope: &UserScope<'_>, p: &SavedProfile) -> Result<(), ApiError> {
    let json = serde_json::to_string(p).map_err(|_| ApiError::Internal)?;
    scope.save_profile(&json).await.map_err(store_error)
}

/// Merges what was read from each record (kept when it was added, so
/// nothing is parsed again), re-applies the person's corrections, and saves
/// the result. A record stored before extracts were kept is read once, here,
/// and its extract kept.
pub async fn rebuild_profile(
    st: &AppState,
    scope: &UserScope<'_>,
) -> Result<SavedProfile, ApiError> {
    let old = saved_profile(scope).await?;
    let mut profile = Profile::default();
    for (meta, extract) in scope.record_extracts().await.map_err(store_error)? {
        let read = match extract.map(|e| serde_json::from_str::<Profile>(&e)) {
            Some(Ok(p)) => p,
            _ => {
                let Some((meta, bytes)) = scope.record(meta.id).await.map_err(store_error)? else {
                    continue;
                };
                // A record that no longer reads adds nothing (it was
                // checked when uploaded).
                let Ok((p, json, _)) = read_record(st, meta.name, bytes).await else {
                    continue;
                };
                scope
                    .set_record_extract(meta.id, &json)
                    .await
                    .map_err(store_error)?;
                p
            }
        };
        profile.merge(read);
    }
    for patch in &old.patches {
        sextant_records::edit::apply(&mut profile, patch);
    }
    let saved = SavedProfile {
        profile,
        patches: old.patches,
    };
    save_profile(scope, &saved).await?;
    Ok(saved)
}

/// The profile with its reviewable facts (field, line, value, provenance,
/// status).
pub fn profile_json(p: &Profile) -> Value {
    let facts: Vec<Value> = sextant_records::edit::entries(p)
        .into_iter()
        .map(|e| {
            json!({
                "field": e.field,
                "fact": e.line,
                "value": e.value,
                "provenance": e.provenance,
                "status": e.status,
            })
        })
        .collect();
    json!({"facts": facts, "conflicts": p.conflicts, "profile": p})
}

/// `GET /api/profile`.
pub async fn get_profile(
    State(st): State<AppState>,
    Authed(u): Authed,
) -> Result<Json<Value>, ApiError> {
    let scope = store(&st)?.user(&u.session);
    let saved = saved_profile(&scope).await?;
    Ok(Json(profile_json(&saved.profile)))
}

/// `POST /api/profile/facts`: a correction patch (confirm, correct,
/// remove, add), applied now and re-applied after every re-extraction.
pub async fn patch_profile(
    State(st): State<AppState>,
    Authed(u): Authed,
    ApiJson(patch): ApiJson<Patch>,
) -> Result<Json<Value>, ApiError> {
    let scope = store(&st)?.user(&u.session);
    let mut saved = saved_profile(&scope).await?;
    let issues = sextant_records::edit::apply(&mut saved.profile, &patch);
    saved.patches.push(patch);
    save_profile(&scope, &saved).await?;
    let mut body = profile_json(&saved.profile);
    body["issues"] = serde_json::to_value(issues).unwrap_or(Value::Null);
    Ok(Json(body))
}

/// The person's profile for a personal answer (`None` when empty).
pub async fn load_profile(st: &AppState, u: &User) -> Result<Option<Profile>, ApiError> {
    let scope = store(st)?.user(&u.session);
    let saved = saved_profile(&scope).await?;
    Ok((!saved.profile.is_empty()).then_some(saved.profile))
}

/// Saves a logged-in person's answer, encrypted, in their history.
pub async fn save_answer(st: &AppState, u: &User, answer: &Answer) -> Result<(), ApiError> {
    let Some(store) = st.store() else {
        return Ok(());
    };
    let json = serde_json::to_string(answer).map_err(|_| ApiError::Internal)?;
    store
        .user(&u.session)
        .save_answer(&answer.question, &json)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// The public library kept in the store.
pub struct StoreLibrary {
    store: Store,
}

impl StoreLibrary {
    pub fn new(store: Store) -> StoreLibrary {
        StoreLibrary { store }
    }
}

fn to_public(p: sextant_store::PublicAnswer) -> Option<PublicAnswer> {
    Some(PublicAnswer {
        answer: serde_json::from_str(&p.answer_json).ok()?,
        slug: p.slug,
        question: p.question,
        date: crate::library::civil_date(p.updated.div_euclid(86_400)),
    })
}

impl AnswerLibrary for StoreLibrary {
    fn submit<'a>(
        &'a self,
        question: &'a str,
        answer: &'a Answer,
    ) -> BoxFuture<'a, Result<String, ApiError>> {
        Box::pin(async move {
            if !crate::library::publishable(answer) {
                return Err(ApiError::NotShareable);
            }
            let json = serde_json::to_string(answer).map_err(|_| ApiError::Internal)?;
            self.store
                .submit_answer(question, &json)
                .await
                .map_err(|e| match e {
                    StoreError::QuotaExceeded(_) => ApiError::LibraryFull,
                    e => store_error(e),
                })
        })
    }

    fn get<'a>(&'a self, slug: &'a str) -> BoxFuture<'a, Option<PublicAnswer>> {
        Box::pin(async move {
            self.store
                .public_answer(slug)
                .await
                .ok()
                .flatten()
                .and_then(to_public)
        })
    }

    fn list(&self, limit: usize) -> BoxFuture<'_, Vec<PublicAnswer>> {
        Box::pin(async move {
            self.store
                .public_answers(limit as i64)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter_map(to_public)
                .collect()
        })
    }
}

/// `POST /api/account/settings`.
#[derive(Deserialize)]
pub struct Settings {
    pub personalize: bool,
}

/// `POST /api/account/settings`: allow (or stop) answers tailored to the
/// person's records. Off until they turn it on.
pub async fn settings(
    State(st): State<AppState>,
    Authed(u): Authed,
    ApiJson(s): ApiJson<Settings>,
) -> Result<Json<Value>, ApiError> {
    store(&st)?
        .user(&u.session)
        .set_personalize(s.personalize)
        .await
        .map_err(store_error)?;
    Ok(Json(json!({"personalize": s.personalize})))
}

#[cfg(test)]
mod tests {
    use super::client_ip;

    #[test]
    fn the_client_is_the_peer_unless_the_peer_is_a_trusted_proxy() {
        let proxy: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        let peer: std::net::IpAddr = "203.0.113.9".parse().unwrap();
        // An untrusted peer's header is ignored: it could say anything.
        assert_eq!(client_ip(Some(peer), &["1.2.3.4"], &[proxy]), "203.0.113.9");
        // Behind the proxy: the right-most address it did not add itself.
        assert_eq!(
            client_ip(Some(proxy), &["6.6.6.6, 198.51.100.7"], &[proxy]),
            "198.51.100.7"
        );
        assert_eq!(
            client_ip(Some(proxy), &["198.51.100.7", "10.0.0.1"], &[proxy]),
            "198.51.100.7"
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(client_ip(Some(proxy), &[], &[proxy]), "10.0.0.1");
        assert_eq!(client_ip(Some(proxy), &["nonsense"], &[proxy]), "10.0.0.1");
        assert_eq!(client_ip(None, &[], &[]), "local");
    }

    /// Issue 19, finding 2: a PDF bomb is refused at upload, before it is
    /// stored (it used to be stored, and read at every later change).
    #[test]
    fn activity_words_are_sorted_and_unique() {
        for w in super::ACTIVITY_WORDS.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
        assert_eq!(super::activity_words("record.read"), "opened a record");
        assert_eq!(super::activity_words("no.such"), "no.such");
    }

    #[test]
    fn a_pdf_bomb_is_refused_before_it_is_stored() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..80 {
            z.write_all(&zeros).unwrap();
        }
        let z = z.finish().unwrap();
        let mut pdf = b"%PDF-1.4\n1 0 obj\n<< /Length ".to_vec();
        pdf.extend_from_slice(format!("{} /Filter /FlateDecode >>\nstream\n", z.len()).as_bytes());
        pdf.extend_from_slice(&z);
        pdf.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< >>\n%%EOF\n");
        assert!(pdf.len() < 200 * 1024, "{}", pdf.len());
        let e = super::check_record(&pdf).unwrap_err();
        assert_eq!(e.code(), "unsupported_record");
        assert!(e.message().contains("unpacks"), "{}", e.message());
    }
}
