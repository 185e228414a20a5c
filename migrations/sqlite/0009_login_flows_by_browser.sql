-- A browser keeps only its last few pending sign-ins (sso::flows): found by its binding.
CREATE INDEX login_flows_by_browser ON login_flows (browser_hash);
