DROP TRIGGER IF EXISTS rum_jobs_workflow ON rum_jobs;
DROP FUNCTION IF EXISTS rum_jobs_resolve_dependents();
DROP FUNCTION IF EXISTS rum_jobs_resolve(bigint);
DROP TABLE IF EXISTS rum_jobs_deps;
ALTER TABLE IF EXISTS rum_jobs DROP COLUMN IF EXISTS has_dependents;
DROP TABLE IF EXISTS rum_jobs_cron;
DROP TABLE IF EXISTS rum_jobs_rate_log;
DROP TABLE IF EXISTS rum_jobs_queues;
