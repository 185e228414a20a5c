-- A customer org that added the integration.
CREATE TABLE tenants (
    slug         TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

-- One instance of the integration in a customer org: its own Okta client credentials.
-- Several instances of one org share its issuer, so (issuer, client_id) identifies the client.
CREATE TABLE instances (
    id            TEXT PRIMARY KEY,
    tenant_slug   TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    label         TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    enabled       INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (issuer, client_id)
);
CREATE INDEX instances_by_tenant ON instances (tenant_slug);

-- People are keyed on (instance, issuer, sub): never on email, which Okta does not guarantee.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    issuer        TEXT NOT NULL,
    sub           TEXT NOT NULL,
    name          TEXT,
    email         TEXT,
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER NOT NULL,
    UNIQUE (instance_id, issuer, sub)
);

-- A signed-in browser. Only a SHA-256 of the cookie's token is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- An authorization-code flow in progress: single-use, short-lived, bound to one browser.
CREATE TABLE login_flows (
    state_hash    TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    issuer        TEXT NOT NULL,
    browser_hash  TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to     TEXT NOT NULL,
    expires_at    INTEGER NOT NULL
);
