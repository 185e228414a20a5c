-- The one instance a setup link's holder configured, before anyone of the org could sign in;
-- the link is used up when a real sign-in through it makes its holder the first admin.
ALTER TABLE setup_links ADD COLUMN instance_id TEXT REFERENCES instances (id) ON DELETE SET NULL;

-- A test sign-in started with a setup link (its id) rather than by an admin (`tested_by`).
ALTER TABLE login_flows ADD COLUMN tested_with_link TEXT;

-- The last sign-in whose ID token's `iat` was far from this server's time (seconds: server
-- time minus `iat`), for the settings page's clock warning; cleared by one that was not.
ALTER TABLE instances ADD COLUMN clock_skew_secs INTEGER;
ALTER TABLE instances ADD COLUMN clock_skew_at INTEGER;
