-- Sessions also end after a period without use (the idle timeout), measured from
-- last_seen_at, which moves at most once a minute per session. Sign-out through Okta sends the
-- session's ID token as id_token_hint: it is kept here and never reaches the browser.
ALTER TABLE sessions ADD COLUMN last_seen_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN id_token TEXT;
UPDATE sessions SET last_seen_at = created_at;
-- The sweep of ended sessions reads by expiry.
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
