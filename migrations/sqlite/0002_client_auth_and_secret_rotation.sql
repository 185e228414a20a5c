-- Okta keeps two secrets active during a rotation: the current one and the next one.
ALTER TABLE instances ADD COLUMN client_secret_next TEXT;
-- Which of the two the token endpoint last accepted ('current' or 'next'), for the settings page.
ALTER TABLE instances ADD COLUMN working_secret TEXT
    CHECK (working_secret IN ('current', 'next'));
-- How the instance authenticates at the token endpoint; Okta's default is client_secret_basic.
ALTER TABLE instances ADD COLUMN token_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic'
    CHECK (token_auth_method IN ('client_secret_basic', 'client_secret_post'));
