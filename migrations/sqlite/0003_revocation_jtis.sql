-- Universal Logout tokens already accepted, per instance: a jti is single-use until the
-- token's exp, after which the token is refused anyway and the row is swept.
CREATE TABLE revocation_jtis (
    instance_id TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (instance_id, jti)
);
CREATE INDEX revocation_jtis_by_expiry ON revocation_jtis (expires_at);
