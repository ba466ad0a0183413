"""Every SQL statement the jobs plugin runs, in one place.

JSON travels as text (``$1::text::jsonb`` in, ``col::text`` out) so the statements work the
same whatever JSON codecs the storage backend registers.
"""

from __future__ import annotations

ACTIVE = "('scheduled', 'retryable', 'running')"

RETURNING = """id, job, queue, args::text AS args, status, priority, attempt, max_attempts,
    run_at, tags, unique_key, channel, timeout, checkpoint::text AS checkpoint,
    result::text AS result, errors::text AS errors, worker, lease_expires_at, created_at,
    started_at, finished_at"""

# $1: a JSON array of {job, queue, args, priority, max_attempts, run_at, run_in, tags,
# unique_key, channel, timeout}; ids come back in input order.
INSERT = """
INSERT INTO rum_jobs (job, queue, args, priority, max_attempts, run_at, tags, unique_key,
                      channel, timeout)
SELECT r.job, r.queue, coalesce(r.args, '{}'::jsonb), r.priority, r.max_attempts,
       coalesce(r.run_at, now() + make_interval(secs => coalesce(r.run_in, 0))),
       ARRAY(SELECT jsonb_array_elements_text(coalesce(r.tags, '[]'::jsonb))),
       r.unique_key, r.channel, r.timeout
  FROM ROWS FROM (jsonb_to_recordset($1::text::jsonb)
       AS (job text, queue text, args jsonb, priority int, max_attempts int,
           run_at timestamptz, run_in double precision, tags jsonb, unique_key text,
           channel text, timeout double precision)) WITH ORDINALITY
       AS r(job, queue, args, priority, max_attempts, run_at, run_in, tags, unique_key,
            channel, timeout, ord)
 ORDER BY r.ord
RETURNING id
"""

UNIQUE_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7261))"

UNIQUE_FIND = """
SELECT id, status FROM rum_jobs
 WHERE unique_key = $1 AND status = ANY($2::text[])
   AND ($3::double precision IS NULL OR created_at > now() - make_interval(secs => $3))
 ORDER BY id DESC LIMIT 1
"""

UNIQUE_REPLACE = """
UPDATE rum_jobs SET args = r.args, queue = r.queue, priority = r.priority,
       max_attempts = r.max_attempts,
       run_at = coalesce(r.run_at, now() + make_interval(secs => coalesce(r.run_in, 0))),
       tags = ARRAY(SELECT jsonb_array_elements_text(coalesce(r.tags, '[]'::jsonb)))
  FROM jsonb_to_record($2::text::jsonb)
       AS r(args jsonb, queue text, priority int, max_attempts int, run_at timestamptz,
            run_in double precision, tags jsonb)
 WHERE rum_jobs.id = $1 AND rum_jobs.status IN ('scheduled', 'retryable')
"""

_CLAIMABLE = """
       c.status IN ('scheduled', 'retryable') AND c.run_at <= now()
   AND c.job = ANY($3::text[])
   AND (c.channel IS NULL OR NOT EXISTS (
        SELECT 1 FROM rum_jobs p
         WHERE p.channel = c.channel AND p.id < c.id
           AND p.status IN ('scheduled', 'retryable', 'running')))
"""

_CLAIM_UPDATE = """
UPDATE rum_jobs AS t
   SET status = 'running', attempt = t.attempt + 1, worker = $4, started_at = now(),
       lease_expires_at = now() + make_interval(secs => $5)
  FROM picked WHERE t.id = picked.id
RETURNING t.id, t.job, t.queue, t.args::text AS args, t.attempt, t.max_attempts, t.priority,
          t.tags, t.channel, t.timeout, t.checkpoint::text AS checkpoint, t.run_at,
          t.created_at
"""

# Fair claim: up to $2 jobs from each queue in $1 (round-robin across queues).
# $3 job names this worker runs, $4 worker id, $5 lease seconds.
CLAIM_FAIR = f"""
WITH picked AS (
    SELECT j.id FROM unnest($1::text[]) AS q(name)
    CROSS JOIN LATERAL (
        SELECT c.id FROM rum_jobs c
         WHERE c.queue = q.name AND {_CLAIMABLE}
         ORDER BY c.priority DESC, c.run_at, c.id
         LIMIT $2
         FOR UPDATE SKIP LOCKED
    ) AS j
)
{_CLAIM_UPDATE}
"""

# Claim from every queue ($1 is ignored but kept so both claims take the same arguments).
CLAIM_ANY = f"""
WITH picked AS (
    SELECT c.id FROM rum_jobs c
     WHERE $1::text[] IS NULL AND {_CLAIMABLE}
     ORDER BY c.priority DESC, c.run_at, c.id
     LIMIT $2
     FOR UPDATE SKIP LOCKED
)
{_CLAIM_UPDATE}
"""

# $1: JSON array of {id, attempt, result}; $2 worker id. Wakes workers waiting on an ordered
# channel whose head just finished.
COMPLETE = """
WITH done AS (
    UPDATE rum_jobs AS t
       SET status = 'complete', finished_at = now(), result = r.result,
           lease_expires_at = NULL
      FROM jsonb_to_recordset($1::text::jsonb) AS r(id bigint, attempt int, result jsonb)
     WHERE t.id = r.id AND t.attempt = r.attempt AND t.status = 'running' AND t.worker = $2
    RETURNING t.queue, t.channel
)
SELECT count(*) AS n,
       (SELECT count(pg_notify('rum_jobs', q)) FROM
           (SELECT DISTINCT queue AS q FROM done WHERE channel IS NOT NULL) s) AS woke
  FROM done
"""

# A failed or explicitly ended run. $1 id, $2 attempt, $3 worker, $4 new status,
# $5 delay seconds (retry/snooze), $6 error entry (JSON object or NULL), $7 attempt refund.
FINISH = """
WITH upd AS (
    UPDATE rum_jobs
       SET status = $4,
           run_at = CASE WHEN $4 IN ('retryable', 'scheduled')
                         THEN now() + make_interval(secs => coalesce($5, 0)) ELSE run_at END,
           finished_at = CASE WHEN $4 IN ('retryable', 'scheduled') THEN NULL ELSE now() END,
           errors = CASE WHEN $6::text IS NULL THEN errors
                         ELSE errors || jsonb_build_array($6::text::jsonb) END,
           attempt = attempt - $7,
           lease_expires_at = NULL
     WHERE id = $1 AND attempt = $2 AND worker = $3 AND status = 'running'
    RETURNING queue, channel, status
)
SELECT count(*) AS n,
       (SELECT count(pg_notify('rum_jobs', q)) FROM
           (SELECT DISTINCT queue AS q FROM upd
             WHERE channel IS NOT NULL OR status = 'scheduled') s) AS woke
  FROM upd
"""

HEARTBEAT = """
UPDATE rum_jobs SET lease_expires_at = now() + make_interval(secs => $3)
 WHERE id = ANY($1::bigint[]) AND worker = $2 AND status = 'running'
RETURNING id
"""

# Jobs whose worker stopped renewing its lease: retry them (or fail them when out of attempts).
RESCUE = """
UPDATE rum_jobs
   SET status = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'retryable' END,
       finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
       run_at = now(),
       errors = errors || jsonb_build_array(jsonb_build_object(
           'attempt', attempt, 'at', now(), 'worker', worker, 'kind', 'lease_expired',
           'error', 'the worker running this attempt stopped renewing its lease (it died, was '
                    || 'killed or stalled); the job was released for another worker',
           'traceback', NULL)),
       lease_expires_at = NULL
 WHERE status = 'running' AND lease_expires_at < now()
RETURNING id
"""

SAVE_CHECKPOINT = """
UPDATE rum_jobs SET checkpoint = $4::text::jsonb
 WHERE id = $1 AND attempt = $2 AND worker = $3 AND status = 'running'
"""

NEXT_RUN_AT = """
SELECT extract(epoch FROM min(run_at) - now()) FROM rum_jobs
 WHERE status IN ('scheduled', 'retryable') AND job = ANY($1::text[])
   AND ($2::text[] IS NULL OR queue = ANY($2::text[]))
"""

GET = f"SELECT {RETURNING} FROM rum_jobs WHERE id = $1"

RETRY = """
WITH upd AS (
    UPDATE rum_jobs SET status = 'retryable', run_at = now(), finished_at = NULL,
           max_attempts = greatest(max_attempts, attempt + 1)
     WHERE id = $1 AND status IN ('failed', 'cancelled', 'discarded', 'retryable', 'scheduled')
    RETURNING id, queue
)
SELECT id, pg_notify('rum_jobs', queue) FROM upd
"""

CANCEL = """
UPDATE rum_jobs SET status = 'cancelled', finished_at = now(),
       errors = errors || jsonb_build_array(jsonb_build_object(
           'attempt', attempt, 'at', now(), 'kind', 'cancelled', 'error', $2::text,
           'traceback', NULL))
 WHERE id = $1 AND status IN ('scheduled', 'retryable')
RETURNING id
"""

PRUNE_AGE = """
DELETE FROM rum_jobs
 WHERE status = $1 AND coalesce(finished_at, created_at) < now() - make_interval(secs => $2)
   AND ($3::text[] IS NULL OR job = ANY($3::text[]))
"""

PRUNE_COUNT = """
DELETE FROM rum_jobs WHERE id IN (
    SELECT id FROM rum_jobs
     WHERE status = $1 AND ($3::text[] IS NULL OR job = ANY($3::text[]))
     ORDER BY coalesce(finished_at, created_at) DESC, id DESC
    OFFSET $2)
"""

TABLE_EXISTS = "SELECT to_regclass('rum_jobs') IS NOT NULL"
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(7261001)"
