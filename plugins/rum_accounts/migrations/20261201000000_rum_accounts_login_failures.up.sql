-- The accounts plugin's log-in throttling counts ([accounts] throttle_store = "database"):
-- one row per counted account or client address (keys are SHA-256 digests).
CREATE TABLE IF NOT EXISTS rum_accounts_login_failures (
    scope text NOT NULL,
    key text NOT NULL,
    failures integer NOT NULL,
    window_start timestamp with time zone NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS rum_accounts_login_failures_window_start_idx
    ON rum_accounts_login_failures (window_start);
