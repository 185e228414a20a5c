-- Every routing domain is proved: by a DNS TXT record its org published ('dns'), or by the
-- operator's word ('operator': `tenant add/update --domain`, and every domain from before).
-- A row here routes sign-ins; its created_at is when it was proved.
ALTER TABLE tenant_domains ADD COLUMN verified_by TEXT NOT NULL DEFAULT 'operator'
    CHECK (verified_by IN ('operator', 'dns'));

-- A domain an org says it owns, not proved yet: it never routes. Several orgs may claim one
-- domain; the first to publish its token wins and the others' claims are dropped.
CREATE TABLE domain_claims (
    tenant_slug      TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    domain           TEXT NOT NULL,
    -- Published as TXT `orgpass-domain-verification=<token>` at `_orgpass-challenge.<domain>`.
    token            TEXT NOT NULL,
    -- 'failed': not proved within the checking window; the admin may try again.
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
    created_at       INTEGER NOT NULL,
    -- When the current checking window opened (creation, or the admin's retry).
    checks_from      INTEGER NOT NULL,
    last_checked_at  INTEGER,
    -- What the last lookup found: 'no_record', 'other_token' or 'unreachable'.
    last_result      TEXT,
    -- When the background check looks again; NULL once failed.
    next_check_at    INTEGER,
    PRIMARY KEY (tenant_slug, domain)
);
CREATE INDEX domain_claims_by_domain ON domain_claims (domain);
CREATE INDEX domain_claims_due ON domain_claims (next_check_at);

-- Who may sign in through the org's instances: 'anyone' its Okta lets in, or only people whose
-- email is in one of its verified domains.
ALTER TABLE tenants ADD COLUMN sign_in_rule TEXT NOT NULL DEFAULT 'anyone'
    CHECK (sign_in_rule IN ('anyone', 'verified_domains'));
