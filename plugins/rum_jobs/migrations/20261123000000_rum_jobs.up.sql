-- Rum jobs: the durable job queue (one row per job, kept after it finishes as its history).
CREATE TABLE IF NOT EXISTS rum_jobs (
    id               bigserial PRIMARY KEY,
    job              text        NOT NULL,
    queue            text        NOT NULL DEFAULT 'default',
    args             jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status           text        NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'retryable', 'running', 'complete',
                                       'failed', 'cancelled', 'discarded')),
    priority         integer     NOT NULL DEFAULT 0,
    attempt          integer     NOT NULL DEFAULT 0,
    max_attempts     integer     NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    run_at           timestamptz NOT NULL DEFAULT now(),
    tags             text[]      NOT NULL DEFAULT '{}',
    unique_key       text,
    channel          text,
    timeout          double precision,
    checkpoint       jsonb,
    result           jsonb,
    errors           jsonb       NOT NULL DEFAULT '[]'::jsonb,
    worker           text,
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);

-- The claim query: due jobs per queue in priority order.
CREATE INDEX IF NOT EXISTS rum_jobs_claim_idx ON rum_jobs (queue, priority DESC, run_at, id)
    WHERE status IN ('scheduled', 'retryable');
-- Rescue of jobs whose worker died (lease expired).
CREATE INDEX IF NOT EXISTS rum_jobs_lease_idx ON rum_jobs (lease_expires_at)
    WHERE status = 'running';
-- Ordered channels: "is an earlier job of this channel unfinished?"
CREATE INDEX IF NOT EXISTS rum_jobs_channel_idx ON rum_jobs (channel, id)
    WHERE channel IS NOT NULL AND status IN ('scheduled', 'retryable', 'running');
CREATE INDEX IF NOT EXISTS rum_jobs_unique_idx ON rum_jobs (unique_key)
    WHERE unique_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS rum_jobs_history_idx ON rum_jobs (status, finished_at);
CREATE INDEX IF NOT EXISTS rum_jobs_job_idx ON rum_jobs (job, status);

-- Wake sleeping workers when due jobs are committed (NOTIFY is transactional: a rolled-back
-- enqueue wakes nobody). One notification per queue per statement.
CREATE OR REPLACE FUNCTION rum_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('rum_jobs', q.queue)
       FROM (SELECT DISTINCT queue FROM rum_jobs_new WHERE run_at <= now()) AS q;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS rum_jobs_notify_insert ON rum_jobs;
CREATE TRIGGER rum_jobs_notify_insert AFTER INSERT ON rum_jobs
    REFERENCING NEW TABLE AS rum_jobs_new
    FOR EACH STATEMENT EXECUTE FUNCTION rum_jobs_notify();
