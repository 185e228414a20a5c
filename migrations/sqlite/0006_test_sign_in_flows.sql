-- A test sign-in started by a tenant admin from the settings page: it opens no session and
-- shows the admin what Okta sent. The admin's user id; NULL for a real sign-in.
ALTER TABLE login_flows ADD COLUMN tested_by INTEGER;
