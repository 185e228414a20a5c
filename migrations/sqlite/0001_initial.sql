-- A customer org that added the integration.
CREATE TABLE tenants (
    slug         TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    -- A suspended org keeps its data but nobody signs in through it.
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

-- Work-email domains that route a sign-in to an org. A domain belongs to at most one org.
CREATE TABLE tenant_domains (
    domain      TEXT PRIMARY KEY,
    tenant_slug TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL
);
CREATE INDEX tenant_domains_by_tenant ON tenant_domains (tenant_slug);

-- One instance of the integration in a customer org: its own Okta client credentials.
-- Several instances of one org share its issuer, so (issuer, client_id) identifies the client.
-- Secrets are sealed (AES-256-GCM); the key id says which master key sealed them.
CREATE TABLE instances (
    id                 TEXT PRIMARY KEY,
    tenant_slug        TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    label              TEXT NOT NULL,
    issuer             TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    secret_key_id      INTEGER NOT NULL,
    secret_sealed      BLOB NOT NULL,
    -- Okta keeps two secrets active during a rotation: the current one and the next one.
    next_secret_key_id INTEGER,
    next_secret_sealed BLOB,
    -- Which of the two the token endpoint last accepted, for the settings page.
    working_secret     TEXT CHECK (working_secret IN ('current', 'next')),
    token_auth_method  TEXT NOT NULL DEFAULT 'client_secret_basic'
        CHECK (token_auth_method IN ('client_secret_basic', 'client_secret_post')),
    -- Redirect URIs besides the default /sso/{id}/callback, one per line.
    extra_redirect_uris TEXT NOT NULL DEFAULT '',
    post_logout_uri    TEXT,
    enabled            INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    UNIQUE (issuer, client_id)
);
CREATE INDEX instances_by_tenant ON instances (tenant_slug);
-- The start-up key check and `orgpass keys rotate` look secrets up by master key.
CREATE INDEX instances_by_secret_key ON instances (secret_key_id);
CREATE INDEX instances_by_next_secret_key ON instances (next_secret_key_id);

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
-- Each login start sweeps expired flows: without this index the sweep reads every pending flow.
CREATE INDEX login_flows_by_expiry ON login_flows (expires_at);

-- One-time links with which a customer's admin configures their own instance. Only a SHA-256
-- of the link's token is stored; `id` names the link in lists and revocations.
CREATE TABLE setup_links (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    tenant_slug TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    revoked_at  INTEGER
);
CREATE INDEX setup_links_by_tenant ON setup_links (tenant_slug);

-- Who did what, when, with what outcome. Never a secret. No foreign keys: the trail outlives
-- the orgs and instances it mentions.
CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    tenant_slug TEXT,
    instance_id TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_by_tenant ON audit_events (tenant_slug, at);
