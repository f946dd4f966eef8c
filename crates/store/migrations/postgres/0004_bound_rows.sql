-- Records keep what they unpack to (quotas count it) and what was read from
-- them (sealed), so a change never parses the other records again. Every
-- sealed row is sealed again (in Rust, after this script) with associated
-- data that binds the record's format and the profile's version; the user's
-- data key is wrapped again binding the profile's version and the set of
-- record ids, so an older copy of a row, or a deleted row put back, no
-- longer opens. Sessions carry a MAC keyed from the master key, so a
-- session row written into the database by hand is not honoured.
ALTER TABLE records ADD COLUMN unpacked BIGINT NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN extract_enc BYTEA;
UPDATE records SET unpacked = size;
ALTER TABLE profiles ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN profile_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN mac TEXT NOT NULL DEFAULT '';
DELETE FROM sessions;
-- A person's own access log (UserScope::access_log) reads by subject.
CREATE INDEX audit_log_subject ON audit_log(subject, seq);
-- Audit rows name the session (a keyed reference, never the token) and the
-- request (the server's correlation id) they were written in: v = 3.
ALTER TABLE audit_log ADD COLUMN session TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN request TEXT NOT NULL DEFAULT '';
