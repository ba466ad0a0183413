-- Rum jobs at scale: worker presence (crash vs stall), sane timeouts, HOT-friendly updates.

-- One row per running worker process. The worker renews lease_expires_at every lease/3;
-- the jobs it runs are safe as long as that lease is valid, so job rows are not touched by
-- heartbeats at all. backend_pid/backend_start name the PostgreSQL session the worker holds
-- while it lives: when that session is gone from pg_stat_activity the process died (crash);
-- when it is still there but the lease expired, the process is alive but stalled.
CREATE TABLE IF NOT EXISTS rum_jobs_workers (
    id               text PRIMARY KEY,
    host             text,
    pid              integer,
    backend_pid      integer,
    backend_start    timestamptz,
    queues           text[],
    jobs             text[]      NOT NULL DEFAULT '{}',
    started_at       timestamptz NOT NULL DEFAULT now(),
    seen_at          timestamptz NOT NULL DEFAULT now(),
    lease_expires_at timestamptz NOT NULL
) WITH (fillfactor = 50);

-- A hand-edited timeout must be a positive, finite number of seconds (NaN > 0 is true in
-- PostgreSQL, so the upper bound also refuses NaN). NOT VALID: existing rows are not checked,
-- new and updated ones are.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'rum_jobs_timeout_check'
                                             AND conrelid = 'rum_jobs'::regclass) THEN
        ALTER TABLE rum_jobs ADD CONSTRAINT rum_jobs_timeout_check
            CHECK (timeout IS NULL OR (timeout > 0 AND timeout < 'Infinity'::float8)) NOT VALID;
    END IF;
END;
$$;

-- Leases live on the workers table now: the job row's lease_expires_at is only set at claim
-- (a grace period before the worker's first heartbeat) and no longer indexed, so nothing on
-- the hot path updates an indexed column except the status changes themselves.
DROP INDEX IF EXISTS rum_jobs_lease_idx;
CREATE INDEX IF NOT EXISTS rum_jobs_running_idx ON rum_jobs (worker) WHERE status = 'running';

-- Room on each page for the claim and completion updates of the rows it holds, and
-- autovacuum that keeps up with a queue table (dead tuples are reclaimed continuously
-- instead of after 20% of the table has churned).
ALTER TABLE rum_jobs SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01,
                          autovacuum_vacuum_insert_scale_factor = 0.05,
                          autovacuum_analyze_scale_factor = 0.02,
                          autovacuum_vacuum_cost_delay = 0);

-- The schema version ensure_schema() compares with (every migration of this plugin ends by
-- recording its own version here, so both ways of creating the tables agree).
COMMENT ON TABLE rum_jobs IS 'rum_jobs schema 20261201000200';
