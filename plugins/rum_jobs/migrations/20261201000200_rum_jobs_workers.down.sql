ALTER TABLE IF EXISTS rum_jobs RESET (fillfactor, autovacuum_vacuum_scale_factor,
                                      autovacuum_vacuum_insert_scale_factor,
                                      autovacuum_analyze_scale_factor,
                                      autovacuum_vacuum_cost_delay);
DROP INDEX IF EXISTS rum_jobs_running_idx;
CREATE INDEX IF NOT EXISTS rum_jobs_lease_idx ON rum_jobs (lease_expires_at)
    WHERE status = 'running';
ALTER TABLE IF EXISTS rum_jobs DROP CONSTRAINT IF EXISTS rum_jobs_timeout_check;
DROP TABLE IF EXISTS rum_jobs_workers;
