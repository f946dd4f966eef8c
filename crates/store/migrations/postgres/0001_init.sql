-- Sextant store schema, version 1 (PostgreSQL).
-- PHI columns (*_enc) hold XChaCha20-Poly1305 ciphertexts: nonce (24 bytes) || ciphertext || tag.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email_lookup  TEXT NOT NULL UNIQUE,   -- HMAC-SHA256(master-derived key, normalized email), hex
    email_enc     BYTEA NOT NULL,         -- email sealed under the master key
    password_hash TEXT NOT NULL,          -- argon2id PHC string
    wrapped_key   BYTEA NOT NULL,         -- the user's data key sealed under the master key
    personalize   BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,          -- sha256(token), hex; the token itself is never stored
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE login_failures (
    throttle_key TEXT NOT NULL,           -- sha256 over email lookup and client, hex
    at           BIGINT NOT NULL
);
CREATE INDEX login_failures_key ON login_failures(throttle_key, at);
CREATE TABLE records (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name_enc   BYTEA NOT NULL,
    format     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    data_enc   BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX records_user ON records(user_id);
CREATE TABLE profiles (
    user_id    TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    json_enc   BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE answers (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    question_enc BYTEA NOT NULL,
    answer_enc   BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX answers_user ON answers(user_id, created_at);
CREATE TABLE public_answers (
    slug        TEXT PRIMARY KEY,
    question    TEXT NOT NULL UNIQUE,
    answer_json TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX public_answers_updated ON public_answers(updated_at);
-- Append-only, hash-chained audit log: ids and actions only, never PHI.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    subject   TEXT NOT NULL,
    target    TEXT NOT NULL,
    action    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
-- The chain head: one row, locked (FOR UPDATE) by every append so replicas keep one chain.
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
