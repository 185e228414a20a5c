-- Who may change an org's settings: people who signed in through one of its instances, keyed on
-- the user (instance, issuer, sub), never on an email. The org is the user's instance's.
CREATE TABLE tenant_admins (
    user_id  BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    added_at BIGINT NOT NULL,
    -- The audit actor who made them an admin.
    added_by TEXT NOT NULL
);

-- An admin invited by email: honoured at that person's next sign-in through one of the org's
-- own instances, never another org's, whatever email that one vouches for. Lower-cased.
CREATE TABLE admin_invitations (
    tenant_slug TEXT NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    invited_at  BIGINT NOT NULL,
    invited_by  TEXT NOT NULL,
    PRIMARY KEY (tenant_slug, email)
);

-- The settings page shows each instance's last sign-in and last failure from the audit trail.
CREATE INDEX audit_events_by_instance ON audit_events (instance_id, action, outcome, at);
