-- A browser keeps only its last few pending sign-ins (sso::flows): found by its binding, the
-- newest by arrival (expiry times tie within a second). On SQLite pending sign-ins live in
-- memory and this table only holds them across a graceful restart, so `arrival` stays empty.
ALTER TABLE login_flows ADD COLUMN arrival INTEGER;
CREATE INDEX login_flows_by_browser ON login_flows (browser_hash);
