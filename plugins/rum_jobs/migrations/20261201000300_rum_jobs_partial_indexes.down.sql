DO $$
BEGIN
    IF to_regclass('rum_jobs') IS NOT NULL THEN
        CREATE INDEX IF NOT EXISTS rum_jobs_history_idx ON rum_jobs (status, finished_at);
        CREATE INDEX IF NOT EXISTS rum_jobs_job_idx ON rum_jobs (job, status);
        COMMENT ON TABLE rum_jobs IS 'rum_jobs schema 20261201000200';
    END IF;
END;
$$;
DROP INDEX IF EXISTS rum_jobs_finished_idx;
DROP INDEX IF EXISTS rum_jobs_waiting_job_idx;
