-- Rum jobs: queue controls, rate limits, cron catch-up and workflows (job dependencies).

-- One row per queue that has a control: paused, a global concurrency limit, a rate limit.
-- Every worker's claim reads it, so a control applies to every process on every node.
CREATE TABLE IF NOT EXISTS rum_jobs_queues (
    queue       text PRIMARY KEY,
    paused      boolean NOT NULL DEFAULT false,
    concurrency integer CHECK (concurrency > 0),
    rate_limit  integer CHECK (rate_limit > 0),
    rate_period double precision CHECK (rate_period > 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((rate_limit IS NULL) = (rate_period IS NULL))
);

-- Starts counted by rate limits (one row per claimed attempt of a rate-limited queue/class;
-- rows older than the limit's period are deleted by the claims themselves).
CREATE TABLE IF NOT EXISTS rum_jobs_rate_log (
    key text        NOT NULL,
    at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rum_jobs_rate_log_idx ON rum_jobs_rate_log (key, at);

-- The last fire time of each cron entry (for catch-up of fires missed while no clock ran).
CREATE TABLE IF NOT EXISTS rum_jobs_cron (
    entry     text PRIMARY KEY,
    last_fire timestamptz NOT NULL
);

-- Workflows: a job enqueued with after=[ids] waits (status 'scheduled', run_at far in the
-- future) until its prerequisites end. One row per unresolved dependency; deleted when the
-- dependent is released or cancelled. has_dependents marks prerequisites (not indexed, so
-- the hot path keeps its HOT updates; the trigger below fires only on marked rows).
ALTER TABLE rum_jobs ADD COLUMN IF NOT EXISTS has_dependents boolean NOT NULL DEFAULT false;
CREATE TABLE IF NOT EXISTS rum_jobs_deps (
    job_id     bigint NOT NULL,
    after_id   bigint NOT NULL,
    on_failure text   NOT NULL DEFAULT 'cancel' CHECK (on_failure IN ('cancel', 'run')),
    PRIMARY KEY (job_id, after_id)
);
CREATE INDEX IF NOT EXISTS rum_jobs_deps_after_idx ON rum_jobs_deps (after_id);

-- Decide one waiting dependent: release it when its prerequisites allow, cancel it when one
-- of them ended without completing (on_failure = 'cancel'). The dependent row is locked
-- first, so prerequisites finishing in concurrent transactions decide one after another and
-- the last one always sees the others' outcomes.
CREATE OR REPLACE FUNCTION rum_jobs_resolve(dep bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    q text;
    mode text;
    bad record;
BEGIN
    SELECT queue INTO q FROM rum_jobs
     WHERE id = dep AND status = 'scheduled' AND run_at = '9999-01-01 00:00:00+00'
       FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT min(on_failure) INTO mode FROM rum_jobs_deps WHERE job_id = dep;
    IF mode IS NULL THEN
        mode := 'run';
    END IF;
    IF mode = 'cancel' THEN
        SELECT p.id, p.status INTO bad FROM rum_jobs_deps d JOIN rum_jobs p ON p.id = d.after_id
         WHERE d.job_id = dep AND p.status IN ('failed', 'cancelled', 'discarded')
         ORDER BY p.id LIMIT 1;
        IF FOUND THEN
            DELETE FROM rum_jobs_deps WHERE job_id = dep;
            UPDATE rum_jobs SET status = 'cancelled', finished_at = now(),
                   errors = errors || jsonb_build_array(jsonb_build_object(
                       'attempt', attempt, 'at', now(), 'kind', 'dependency',
                       'error', format('prerequisite job %s ended %s', bad.id, bad.status),
                       'traceback', NULL))
             WHERE id = dep;
            RETURN 'cancelled';
        END IF;
    END IF;
    IF EXISTS (SELECT 1 FROM rum_jobs_deps d JOIN rum_jobs p ON p.id = d.after_id
                WHERE d.job_id = dep
                  AND p.status IN ('scheduled', 'retryable', 'running')) THEN
        RETURN 'waiting';
    END IF;
    DELETE FROM rum_jobs_deps WHERE job_id = dep;
    UPDATE rum_jobs SET run_at = now() WHERE id = dep;
    PERFORM pg_notify('rum_jobs', q);
    RETURN 'released';
END;
$$;

CREATE OR REPLACE FUNCTION rum_jobs_resolve_dependents() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dep bigint;
BEGIN
    FOR dep IN SELECT job_id FROM rum_jobs_deps WHERE after_id = NEW.id ORDER BY job_id LOOP
        PERFORM rum_jobs_resolve(dep);
    END LOOP;
    RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS rum_jobs_workflow ON rum_jobs;
CREATE TRIGGER rum_jobs_workflow AFTER UPDATE OF status ON rum_jobs
    FOR EACH ROW
    WHEN (NEW.has_dependents AND NEW.status IN ('complete', 'failed', 'cancelled', 'discarded'))
    EXECUTE FUNCTION rum_jobs_resolve_dependents();
