-- Audit rows are chained with HMAC-SHA256 keyed from the master key (kept
-- apart from the database) from now on: v = 2. Rows written before stay
-- v = 1 (unkeyed SHA-256) and are accepted only before the first keyed row.
ALTER TABLE audit_log ADD COLUMN v INTEGER NOT NULL DEFAULT 1;
