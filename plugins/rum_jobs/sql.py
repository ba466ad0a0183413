"""Every SQL statement the jobs plugin runs, in one place.

JSON travels as text (``$1::text::jsonb`` in, ``col::text`` out) so the statements work the
same whatever JSON codecs the storage backend registers.
"""

from __future__ import annotations

ACTIVE = "('scheduled', 'retryable', 'running')"
# The finished statuses. Named as constants, they let the planner use the partial index of
# finished rows (rum_jobs_finished_idx, 'status NOT IN (active)') in generic plans too.
FINISHED = "('complete', 'failed', 'cancelled', 'discarded')"

RETURNING = """id, job, queue, args::text AS args, status, priority, attempt, max_attempts,
    run_at, tags, unique_key, channel, timeout, checkpoint::text AS checkpoint,
    result::text AS result, errors::text AS errors, worker, lease_expires_at, created_at,
    started_at, finished_at"""

# Jobs as parallel arrays, an element per job (NULL: option not given), built by
# ``store.insert_columns``: $1 job, $2 queue, $3 args (one JSON array: an element per job),
# $4 priority, $5 max_attempts, $6 run_at (ISO texts), $7 run_in seconds, $8 tags (array
# literals, NULL for none), $9 unique_key, $10 channel, $11 timeout seconds. Only text and
# text[] cross the wire (asyncpg encodes them without asking the server about the types);
# PostgreSQL parses the args document and casts each array once. ROWS FROM zips the
# columns; the rows are inserted in ordinality order, so the ids come back in input order.
INSERT = """
INSERT INTO rum_jobs (job, queue, args, priority, max_attempts, run_at, tags, unique_key,
                      channel, timeout)
SELECT r.job, r.queue, r.args, r.priority, r.max_attempts,
       coalesce(r.run_at, now() + make_interval(secs => coalesce(r.run_in, 0))),
       coalesce(r.tags::text[], '{}'), r.unique_key, r.channel, r.timeout
  FROM ROWS FROM (unnest($1::text[]), unnest($2::text[]),
                  jsonb_array_elements($3::text::jsonb), unnest($4::text[]::int[]),
                  unnest($5::text[]::int[]), unnest($6::text[]::timestamptz[]),
                  unnest($7::text[]::float8[]), unnest($8::text[]), unnest($9::text[]),
                  unnest($10::text[]), unnest($11::text[]::float8[]))
       WITH ORDINALITY AS r(job, queue, args, priority, max_attempts, run_at, run_in, tags,
                            unique_key, channel, timeout, ord)
 ORDER BY r.ord
RETURNING id
"""

# One job without a uniqueness rule (the usual ``Job.enqueue``): plain parameters instead
# of a JSON array of rows. $1 job, $2 queue, $3 args (JSON text), $4 priority,
# $5 max_attempts, $6 run_at (ISO text or NULL), $7 run_in seconds, $8 tags, $9 channel,
# $10 timeout.
INSERT_ONE = """
INSERT INTO rum_jobs (job, queue, args, priority, max_attempts, run_at, tags, channel, timeout)
VALUES ($1::text, $2::text, $3::text::jsonb, $4::int, $5::int,
        coalesce($6::text::timestamptz,
                 now() + make_interval(secs => coalesce($7::double precision, 0))),
        $8::text[], $9::text, $10::double precision)
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

# Queues the plain claims skip: paused ones, and limited ones (claimed by rum_jobs.limits).
# An InitPlan run once per claim; the table holds only queues with a control.
HELD_QUEUES = """ARRAY(SELECT queue FROM rum_jobs_queues
                    WHERE paused OR concurrency IS NOT NULL OR rate_limit IS NOT NULL)"""

_CLAIMABLE = """
       c.status IN ('scheduled', 'retryable') AND c.run_at <= now()
   AND c.job = ANY($3::text[])
   AND (c.channel IS NULL OR NOT EXISTS (
        SELECT 1 FROM rum_jobs p
         WHERE p.channel = c.channel AND p.id < c.id
           AND p.status IN ('scheduled', 'retryable', 'running')))
"""

# The picked ids are collected once (an InitPlan) and updated by primary key. A join with
# picked ("FROM picked WHERE t.id = picked.id") let PostgreSQL, whenever the statistics said
# the table was empty (reltuples 0 over its pages: after a VACUUM that found only dead rows,
# as the pruner's does on a drained queue, until the next ANALYZE), scan the whole table as
# the outer side of a nested loop at every claim: 0.3 s per claim of 25 with 94,000 rows.
_CLAIM_UPDATE = """
UPDATE rum_jobs AS t
   SET status = 'running', attempt = t.attempt + 1, worker = $4, started_at = now(),
       lease_expires_at = now() + make_interval(secs => $5)
 WHERE t.id = ANY(ARRAY(SELECT id FROM picked))
RETURNING t.id, t.job, t.queue, t.args::text AS args, t.attempt, t.max_attempts, t.priority,
          t.tags, t.channel, t.timeout, t.checkpoint::text AS checkpoint, t.run_at,
          t.created_at
"""

# Fair claim: up to $2 jobs from each queue in $1 (round-robin across queues).
# $3 job names this worker runs, $4 worker id, $5 lease seconds.
CLAIM_FAIR = f"""
WITH picked AS (
    SELECT j.id FROM (SELECT u.name FROM unnest($1::text[]) AS u(name)
                       WHERE u.name <> ALL({HELD_QUEUES})) AS q
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

# Fair claim for a worker of one queue, ($1::text[])[1]: up to $2 jobs from it. The same
# rows as CLAIM_FAIR with one queue, in a statement PostgreSQL plans once per connection (a
# generic plan) instead of at every claim: CLAIM_FAIR's unnest of the queues keeps it on
# custom plans, about 0.2 ms of planning per claim.
CLAIM_ONE = f"""
WITH picked AS (
    SELECT c.id FROM rum_jobs c
     WHERE c.queue = ($1::text[])[1] AND {_CLAIMABLE}
       AND c.queue <> ALL({HELD_QUEUES})
     ORDER BY c.priority DESC, c.run_at, c.id
     LIMIT $2
     FOR UPDATE SKIP LOCKED
)
{_CLAIM_UPDATE}
"""

# Claim from every queue ($1 is ignored but kept so every claim takes the same arguments).
CLAIM_ANY = f"""
WITH picked AS (
    SELECT c.id FROM rum_jobs c
     WHERE $1::text[] IS NULL AND {_CLAIMABLE}
       AND c.queue <> ALL({HELD_QUEUES})
     ORDER BY c.priority DESC, c.run_at, c.id
     LIMIT $2
     FOR UPDATE SKIP LOCKED
)
{_CLAIM_UPDATE}
"""

# Marks a batch of successful runs complete. $1 ids (bigint[]), $2 a JSON object
# {"<id>": [attempt, result-or-null], ...}, $3 worker id. No join for the planner to get
# wrong: the rows are found by primary key (``id = ANY``) and each row's attempt and result
# are looked up in the object (a binary search on its keys), so the statement stays linear
# in the batch however stale the table's statistics. The object is parsed once (a
# materialized CTE), not once per row. Wakes workers waiting on an ordered channel whose
# head just finished.
COMPLETE = """
WITH r AS MATERIALIZED (SELECT $2::text::jsonb AS m),
done AS (
    UPDATE rum_jobs AS t
       SET status = 'complete', finished_at = now(), lease_expires_at = NULL,
           result = nullif(r.m -> t.id::text -> 1, 'null'::jsonb)
      FROM r
     WHERE t.id = ANY($1::bigint[]) AND t.status = 'running' AND t.worker = $3
       AND t.attempt = (r.m -> t.id::text ->> 0)::int
    RETURNING t.queue, t.channel
)
SELECT count(*) AS n,
       (SELECT count(pg_notify('rum_jobs', q)) FROM
           (SELECT DISTINCT queue AS q FROM done WHERE channel IS NOT NULL) s) AS woke
  FROM done
"""

# A failed or explicitly ended run. $1 id, $2 attempt, $3 worker, $4 new status,
# $5 delay seconds (retry/snooze; fractions kept), $6 error entry (JSON object or NULL),
# $7 attempt refund.
FINISH = """
WITH upd AS (
    UPDATE rum_jobs
       SET status = $4,
           run_at = CASE WHEN $4 IN ('retryable', 'scheduled')
                         THEN now() + coalesce($5::double precision, 0) * interval '1 second'
                         ELSE run_at END,
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

# -- worker presence and leases -------------------------------------------------------------

# Register or renew a worker: $1 id, $2 host, $3 pid, $4 queues (NULL: all), $5 job names,
# $6 lease seconds, $7 whether this session is the worker's presence session (then its
# backend pid and start time are recorded, so others can tell a crash from a stall).
# Returns the ids of the jobs this worker still owns (running under its name).
WORKER_BEAT = """
WITH w AS (
    INSERT INTO rum_jobs_workers AS w (id, host, pid, backend_pid, backend_start, queues,
                                      jobs, lease_expires_at)
    SELECT $1, $2, $3, CASE WHEN $7 THEN pg_backend_pid() END,
           CASE WHEN $7 THEN (SELECT backend_start FROM pg_stat_activity
                               WHERE pid = pg_backend_pid()) END,
           $4::text[], $5::text[], now() + $6::double precision * interval '1 second'
    ON CONFLICT (id) DO UPDATE
       SET seen_at = now(), lease_expires_at = excluded.lease_expires_at,
           backend_pid = excluded.backend_pid, backend_start = excluded.backend_start,
           queues = excluded.queues, jobs = excluded.jobs
    RETURNING 1
)
SELECT coalesce(array_agg(id), '{}') AS owned
  FROM rum_jobs WHERE worker = $1 AND status = 'running' AND EXISTS (SELECT 1 FROM w)
"""

WORKER_GONE = "DELETE FROM rum_jobs_workers WHERE id = $1"

# Whether some worker holds an unexpired lease (the readiness check).
LIVE_WORKERS = "SELECT EXISTS (SELECT 1 FROM rum_jobs_workers WHERE lease_expires_at > now())"

# Jobs running under worker $2 that it never received (a claim whose answer was lost with
# its connection): back to the queue without using an attempt (they never ran).
RELEASE_ORPHANS = """
UPDATE rum_jobs
   SET status = 'retryable', run_at = now(), attempt = attempt - 1, lease_expires_at = NULL,
       errors = errors || jsonb_build_array(jsonb_build_object(
           'attempt', attempt, 'at', now(), 'worker', worker, 'kind', 'orphaned',
           'error', 'the worker claimed this job but never received it (its connection broke '
                    || 'mid-claim); released without using an attempt',
           'traceback', NULL))
 WHERE id = ANY($1::bigint[]) AND worker = $2 AND status = 'running'
RETURNING id
"""

# Rows of workers not seen for a day (their jobs were rescued long ago).
WORKERS_FORGET = "DELETE FROM rum_jobs_workers WHERE seen_at < now() - interval '1 day'"

# Jobs whose claim-time lease expired and whose worker's lease expired too (or whose worker
# never registered): retry them, or fail them when out of attempts. The rows are found by
# primary key ("t.id = ANY(...)", as in the claims): joined to lost alone, they were read by
# a scan of the whole table whenever the statistics said it was empty. How the worker was lost
# is recorded: 'worker_lost' when its PostgreSQL session is gone (the process died),
# 'stalled' when the session is still there (the process lives but stopped renewing: a
# blocked event loop), 'lease_expired' when it cannot be told (no presence session).
RESCUE = """
WITH lost AS (
    SELECT j.id,
           CASE WHEN w.id IS NULL OR w.backend_pid IS NULL THEN 'lease_expired'
                WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                                  WHERE a.pid = w.backend_pid
                                    AND (a.backend_start IS NULL
                                         OR a.backend_start = w.backend_start))
                THEN 'worker_lost'
                ELSE 'stalled' END AS kind
      FROM rum_jobs j LEFT JOIN rum_jobs_workers w ON w.id = j.worker
     WHERE j.status = 'running' AND j.lease_expires_at < now()
       AND (w.id IS NULL OR w.lease_expires_at < now())
       FOR UPDATE OF j SKIP LOCKED
)
UPDATE rum_jobs AS t
   SET status = CASE WHEN t.attempt >= t.max_attempts THEN 'failed' ELSE 'retryable' END,
       finished_at = CASE WHEN t.attempt >= t.max_attempts THEN now() END,
       run_at = now(),
       errors = t.errors || jsonb_build_array(jsonb_build_object(
           'attempt', t.attempt, 'at', now(), 'worker', t.worker, 'kind', lost.kind,
           'error', CASE lost.kind
               WHEN 'worker_lost' THEN 'worker ' || t.worker || ' died while running this '
                    || 'attempt (its process exited or was killed: its database session is '
                    || 'gone); the job was released for another worker'
               WHEN 'stalled' THEN 'worker ' || t.worker || ' is alive but stopped renewing '
                    || 'its lease while running this attempt (its event loop was blocked, '
                    || 'e.g. by blocking code in an async job); the job was released for '
                    || 'another worker'
               ELSE 'the worker running this attempt stopped renewing its lease (it died, '
                    || 'was killed or stalled); the job was released for another worker'
               END,
           'traceback', NULL)),
       lease_expires_at = NULL
  FROM lost
 WHERE t.id = lost.id AND t.id = ANY(ARRAY(SELECT id FROM lost))
RETURNING t.id, lost.kind
"""

# Due jobs no live worker has a class for, waiting longer than $1 seconds: failed with a
# clear error instead of waiting forever. At most $2 per call. Every worker runs it every
# few seconds: the ORDER BY (any order would do) lets the planner walk the (job, run_at)
# index of waiting rows, where with a bare LIMIT it scanned the whole table, history
# included.
FAIL_UNKNOWN = """
WITH known AS (
    SELECT coalesce(array_agg(DISTINCT n ORDER BY n), '{}') AS names
      FROM rum_jobs_workers w, unnest(w.jobs) AS n
     WHERE w.lease_expires_at > now()
),
bad AS (
    SELECT j.id FROM rum_jobs j, known
     WHERE j.status IN ('scheduled', 'retryable')
       AND j.run_at < now() - $1::double precision * interval '1 second'
       AND cardinality(known.names) > 0 AND j.job <> ALL(known.names)
     ORDER BY j.job, j.run_at
     LIMIT $2
       FOR UPDATE OF j SKIP LOCKED
)
UPDATE rum_jobs AS t
   SET status = 'failed', finished_at = now(),
       errors = t.errors || jsonb_build_array(jsonb_build_object(
           'attempt', t.attempt, 'at', now(), 'kind', 'unknown_job',
           'error', 'no job class named ' || t.job || '; registered: '
                    || array_to_string(known.names, ', '),
           'traceback', NULL))
  FROM bad, known
 WHERE t.id = bad.id
RETURNING t.id, t.job
"""

SAVE_CHECKPOINT = """
UPDATE rum_jobs SET checkpoint = $4::text::jsonb
 WHERE id = $1 AND attempt = $2 AND worker = $3 AND status = 'running'
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

# Cancel a waiting or running job. A running job's worker hears `rum:cancel:<id>` on the
# rum_jobs channel and cancels its task (its heartbeat notices too, as a fallback).
CANCEL = """
WITH upd AS (
    UPDATE rum_jobs SET status = 'cancelled', finished_at = now(), lease_expires_at = NULL,
           errors = errors || jsonb_build_array(jsonb_build_object(
               'attempt', attempt, 'at', now(), 'kind', 'cancelled', 'error', $2::text,
               'traceback', NULL))
     WHERE id = $1 AND status IN ('scheduled', 'retryable', 'running')
    RETURNING id, status
), deps AS (
    DELETE FROM rum_jobs_deps WHERE job_id IN (SELECT id FROM upd)
)
SELECT id, pg_notify('rum_jobs', 'rum:cancel:' || id) FROM upd
"""

# Discard a waiting or failed job for good (an operator's `Discard`). A running job is left
# alone: its worker owns the outcome (cancel it instead). Like CANCEL, a waiting dependent's
# own dependencies are dropped; the workflow trigger resolves the jobs depending on it.
DISCARD = """
WITH upd AS (
    UPDATE rum_jobs SET status = 'discarded', finished_at = now(), lease_expires_at = NULL,
           errors = errors || jsonb_build_array(jsonb_build_object(
               'attempt', attempt, 'at', now(), 'kind', 'discarded', 'error', $2::text,
               'traceback', NULL))
     WHERE id = $1 AND status IN ('scheduled', 'retryable', 'failed')
    RETURNING id
), deps AS (
    DELETE FROM rum_jobs_deps WHERE job_id IN (SELECT id FROM upd)
)
SELECT id FROM upd
"""

# Pruning deletes at most $4 rows per statement (callers loop), found through the partial
# (status, finished_at) index of finished jobs, so each statement is short and holds few
# locks. $1 is always a finished status; the constant list says so to the planner, so a
# generic plan (a prepared statement's after five runs) can use that index too. The ids are
# collected once (an InitPlan) and deleted by primary key: with "id IN (SELECT ... LIMIT)",
# statistics saying the table is empty (the pruner's own VACUUM of a table it had just
# emptied sets reltuples to 0) made PostgreSQL rerun the LIMIT subquery for every row of a
# full scan, one statement running for minutes.
PRUNE_AGE = f"""
DELETE FROM rum_jobs WHERE id = ANY(ARRAY(
    SELECT id FROM rum_jobs
     WHERE status = $1 AND status IN {FINISHED}
       AND finished_at < now() - $2::double precision * interval '1 second'
       AND ($3::text[] IS NULL OR job = ANY($3::text[]))
     LIMIT $4))
"""

PRUNE_COUNT = f"""
DELETE FROM rum_jobs WHERE id = ANY(ARRAY(
    SELECT id FROM rum_jobs
     WHERE status = $1 AND status IN {FINISHED}
       AND ($3::text[] IS NULL OR job = ANY($3::text[]))
     ORDER BY finished_at DESC NULLS LAST
    OFFSET $2 LIMIT $4))
"""

TABLE_EXISTS = "SELECT to_regclass('rum_jobs') IS NOT NULL"
SCHEMA_VERSION = """
SELECT substring(obj_description(to_regclass('rum_jobs'), 'pg_class') FROM 'rum_jobs schema (\\d+)')
"""
SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(7261001)"
