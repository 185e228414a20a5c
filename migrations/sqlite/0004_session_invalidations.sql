-- What ended sessions or changed what they show, for the server to evict from its session
-- cache (the CLI is another process). AUTOINCREMENT: a seq is never reused, even after the
-- newest rows are swept, so "every row after the last one seen" misses nothing.
CREATE TABLE session_invalidations (
    seq   INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX session_invalidations_by_at ON session_invalidations (at);
