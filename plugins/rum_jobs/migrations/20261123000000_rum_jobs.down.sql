DROP TRIGGER IF EXISTS rum_jobs_notify_insert ON rum_jobs;
DROP FUNCTION IF EXISTS rum_jobs_notify();
DROP TABLE IF EXISTS rum_jobs;
