"""Concurrency and rate limits enforced in the claim, across every worker process and node.

Per job class (class attributes)::

    class SyncAccount(Job):
        concurrency = Limit(1, by="account_id")   # one at a time per account, everywhere
        rate_limit = Rate(10, per=1.0)            # at most 10 starts a second, everywhere

Per queue: :func:`rum_jobs.set_queue_limits` (or ``[jobs.limits]``), stored in
``rum_jobs_queues``.

How it stays exact: jobs of limited classes and queues are never taken by the plain claim
(limited queues are filtered out by the claim itself, limited classes are not in the names it
is given). They are claimed by :meth:`LimitedClaimer.claim`, in a transaction that first takes
one advisory lock per limit involved (``q:<queue>``, ``c:<class>``, in sorted order), then
counts running rows and recent starts with a fresh snapshot and claims only what fits. Two
claims that could break the same limit share its lock, so they run one after the other and
the second one sees the first one's claims.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rum.jsonutil import dumps
from rum_jobs import sql
from rum_jobs.controls import SELECT_CONTROLS, QueueControl, Rate, control_from_row

if TYPE_CHECKING:
    from rum_jobs.job import Job


@dataclass(frozen=True)
class Limit:
    """At most ``max`` jobs of a class running at once across every worker.

    ``by`` names a key of the job's args: the limit then applies per value of that key
    (``Limit(1, by="account_id")``: one job per account at a time, many accounts at once).
    """

    max: int
    by: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.max, int) or isinstance(self.max, bool) or self.max < 1:
            raise ValueError(f"Limit max must be a positive integer, got {self.max!r}")
        if self.by is not None and (not isinstance(self.by, str) or not self.by):
            raise ValueError(f"Limit by must be an args key (a non-empty string), got "
                             f"{self.by!r}")


@dataclass(frozen=True)
class ClassLimits:
    """The limits a job class declares."""

    concurrency: Limit | None = None
    rate: Rate | None = None


def class_limits(job: type[Job]) -> ClassLimits | None:
    """The limits declared by ``job`` (``concurrency``/``rate_limit`` attributes), or None;
    raise ``TypeError`` naming the class when they are malformed."""
    concurrency = getattr(job, "concurrency", None)
    rate = getattr(job, "rate_limit", None)
    if concurrency is None and rate is None:
        return None
    if isinstance(concurrency, int) and not isinstance(concurrency, bool):
        concurrency = Limit(concurrency)
    if concurrency is not None and not isinstance(concurrency, Limit):
        raise TypeError(f"{job.__qualname__}.concurrency must be an int or rum_jobs.Limit, "
                        f"got {concurrency!r}")
    if rate is not None and not isinstance(rate, Rate):
        raise TypeError(f"{job.__qualname__}.rate_limit must be a rum_jobs.Rate, got {rate!r}")
    return ClassLimits(concurrency, rate)


_LOCK = """
SELECT count(pg_advisory_xact_lock(7261002, hashtext(k)))
  FROM (SELECT k FROM unnest($1::text[]) AS u(k) ORDER BY k) AS s
"""

# What a limited claim decides from, in one statement (after the locks, so with a snapshot
# that shows every claim made under them before): running jobs per (queue, class, partition
# value) among the limited queues/classes ('running' rows), starts within each rate limit's
# period and when the oldest leaves it ('rate' rows; older starts are deleted on the way),
# the due jobs of limited queues/classes in claim order ('candidate' rows, ord 1..$6), and
# the limits of the queues this worker takes as they are now ('control' rows: concurrency in
# n, rate limit in ord, its period in free_in), so a claim made with limits read before a
# change sees it and starts over (LimitedClaimer.claim).
# $1 job names, $2 limited queues this worker takes, $3 limited queues, $4 limited classes,
# $5 {class: partition key}, $6 how many candidates to look at, $7 rate keys, $8 periods,
# $9 the worker's queues (NULL: all). Each limited queue is read in claim order through the
# claim index (at most $6 rows), however deep its backlog; limited classes' due jobs are
# found through the (job, run_at) index of waiting rows and sorted (at most $6 rows). Every
# source keeps its own $6 rows, so a limited queue that is full cannot crowd out the others'
# candidates.
_STATE = """
WITH forget AS (
    DELETE FROM rum_jobs_rate_log l USING unnest($7::text[], $8::float8[]) AS r(key, per)
     WHERE l.key = r.key AND l.at <= now() - r.per * interval '1 second'
)
SELECT 'running' AS kind, NULL::bigint AS id, queue, job, part, count(*)::int AS n,
       NULL::float8 AS free_in, NULL::text AS key, NULL::bigint AS ord
  FROM (SELECT queue, job, (args -> ($5::text::jsonb ->> job))::text AS part
          FROM rum_jobs
         WHERE status = 'running' AND (queue = ANY($3::text[]) OR job = ANY($4::text[]))) AS x
 GROUP BY queue, job, part
UNION ALL
SELECT 'rate', NULL, NULL, NULL, NULL, c.n::int,
       extract(epoch FROM c.oldest + r.per * interval '1 second' - now())::float8, r.key, NULL
  FROM unnest($7::text[], $8::float8[]) AS r(key, per)
 CROSS JOIN LATERAL (
     SELECT count(*) AS n, min(l.at) AS oldest FROM rum_jobs_rate_log l
      WHERE l.key = r.key AND l.at > now() - r.per * interval '1 second') AS c
UNION ALL
SELECT 'control', NULL, q.queue, NULL, NULL, q.concurrency, q.rate_period, NULL,
       q.rate_limit::bigint
  FROM rum_jobs_queues q
 WHERE (q.concurrency IS NOT NULL OR q.rate_limit IS NOT NULL)
   AND ($9::text[] IS NULL OR q.queue = ANY($9::text[]))
UNION ALL
SELECT 'candidate', s.id, s.queue, s.job, s.part, NULL, NULL, NULL,
       row_number() OVER (ORDER BY s.priority DESC, s.run_at, s.id)
  FROM (SELECT * FROM (
            -- limited queues: each read in claim order through the claim index
            SELECT c.id, c.queue, c.job, c.priority, c.run_at, c.part
              FROM unnest($2::text[]) AS q(name)
             CROSS JOIN LATERAL (
                 SELECT c.id, c.queue, c.job, c.priority, c.run_at,
                        (c.args -> ($5::text::jsonb ->> c.job))::text AS part
                   FROM rum_jobs c
                  WHERE c.queue = q.name
                    AND c.status IN ('scheduled', 'retryable') AND c.run_at <= now()
                    AND c.job = ANY($1::text[])
                    AND (c.channel IS NULL OR NOT EXISTS (
                         SELECT 1 FROM rum_jobs p
                          WHERE p.channel = c.channel AND p.id < c.id
                            AND p.status IN ('scheduled', 'retryable', 'running')))
                  ORDER BY c.priority DESC, c.run_at, c.id
                  LIMIT $6) AS c
            UNION
            -- limited classes, in any queue this worker takes: their waiting jobs
            (SELECT c.id, c.queue, c.job, c.priority, c.run_at,
                    (c.args -> ($5::text::jsonb ->> c.job))::text AS part
               FROM rum_jobs c
              WHERE c.job = ANY($4::text[])
                AND c.status IN ('scheduled', 'retryable') AND c.run_at <= now()
                AND ($9::text[] IS NULL OR c.queue = ANY($9::text[]))
                AND (c.channel IS NULL OR NOT EXISTS (
                     SELECT 1 FROM rum_jobs p
                      WHERE p.channel = c.channel AND p.id < c.id
                        AND p.status IN ('scheduled', 'retryable', 'running')))
              ORDER BY c.priority DESC, c.run_at, c.id
              LIMIT $6)) AS u
         WHERE u.queue <> ALL(ARRAY(SELECT queue FROM rum_jobs_queues WHERE paused))
       ) AS s
"""


def _claim_ids_statement() -> str:
    # The plain claim's UPDATE ... RETURNING (so claimed rows look the same), fed by ids;
    # the starts of rate-limited jobs are logged in the same statement ($4: {id: [keys]}).
    update = sql._CLAIM_UPDATE.replace("$4", "$2").replace("$5", "$3")
    return f"""
WITH picked AS (
    SELECT id FROM rum_jobs
     WHERE id = ANY($1::bigint[]) AND status IN ('scheduled', 'retryable')
     FOR UPDATE SKIP LOCKED
), upd AS ({update}
), logged AS (
    INSERT INTO rum_jobs_rate_log (key)
    SELECT jsonb_array_elements_text($4::text::jsonb -> upd.id::text) FROM upd
)
SELECT * FROM upd
"""


@dataclass
class ClaimOutcome:
    """What a limited claim took, and when claiming again could take more."""

    rows: list[Any]
    blocked: bool = False          # some due job was held back by a concurrency limit
    retry_in: float | None = None  # seconds until a rate window frees a slot


class LimitedClaimer:
    """The claim path for limited queues and classes of one worker (see the module doc)."""

    def __init__(self, jobs: Mapping[str, type[Job]], *, refresh_every: float = 1.0) -> None:
        self.classes: dict[str, ClassLimits] = {}
        for name, job in jobs.items():
            limits = class_limits(job)
            if limits is not None:
                self.classes[name] = limits
        self.queues: dict[str, QueueControl] = {}
        self.refresh_every = max(0.05, refresh_every)
        self._refreshed_at = -1e9
        self._claim_ids = _claim_ids_statement()

    def plain_names(self, names: Iterable[str]) -> list[str]:
        """Job names the plain claim may take (those without class limits)."""
        return [n for n in names if n not in self.classes]

    def covers(self, queue: str, job: str) -> bool:
        """True when jobs of ``job`` in ``queue`` are subject to a limit."""
        return job in self.classes or queue in self.queues

    def refresh_due(self) -> bool:
        """Whether the queue limits are older than ``refresh_every`` (the next limited claim
        re-reads them)."""
        return time.monotonic() - self._refreshed_at >= self.refresh_every

    def idle_for(self, names: Iterable[str], queues: Sequence[str] | None) -> bool:
        """Whether no limit concerns a worker of job ``names`` taking ``queues`` (None: all),
        as last read: then its plain claim alone takes every job it may."""
        if any(n in self.classes for n in names):
            return False
        return not any(queues is None or q in queues for q in self.queues)

    def invalidate(self) -> None:
        """Re-read the queue limits before the next claim (a ``rum:queues`` note arrived)."""
        self._refreshed_at = -1e9

    async def refresh(self, db: Any) -> None:
        """Re-read the queue limits when they are older than ``refresh_every``."""
        now = time.monotonic()
        if now - self._refreshed_at < self.refresh_every:
            return
        rows = await db.fetch(SELECT_CONTROLS)
        self.queues = {r["queue"]: c for r in rows if (c := control_from_row(r)).limited}
        self._refreshed_at = now

    async def claim(self, db: Any, *, names: Sequence[str], queues: Sequence[str] | None,
                    n: int, worker_id: str, lease: float) -> ClaimOutcome:
        """Claim up to ``n`` jobs of limited queues/classes without exceeding any limit.

        The queue limits are read again inside the claim: when they changed since they were
        last read (``set_queue_limits`` while this worker runs, before its ``rum:queues``
        note arrived), the claim takes nothing, re-reads them and starts over once."""
        outcome = await self._claim(db, names=names, queues=queues, n=n, worker_id=worker_id,
                                    lease=lease)
        if outcome is None:
            self.invalidate()
            outcome = await self._claim(db, names=names, queues=queues, n=n,
                                        worker_id=worker_id, lease=lease)
        return outcome if outcome is not None else ClaimOutcome([], blocked=True)

    async def _claim(self, db: Any, *, names: Sequence[str], queues: Sequence[str] | None,
                     n: int, worker_id: str, lease: float) -> ClaimOutcome | None:
        """One claim with the queue limits as last read; ``None`` when they changed."""
        await self.refresh(db)  # a missing table raises; the worker logs it and polls
        lqueues = [q for q in self.queues if queues is None or q in queues]
        lclasses = [c for c in names if c in self.classes]
        if n <= 0 or (not lqueues and not lclasses):
            return ClaimOutcome([])
        keys = sorted({f"q:{q}" for q in lqueues} | {f"c:{c}" for c in lclasses})
        part_keys = {c: lim.concurrency.by for c in lclasses
                     if (lim := self.classes[c]).concurrency and lim.concurrency.by}
        rate_keys: dict[str, float] = {}
        for q in lqueues:
            rate = self.queues[q].rate
            if rate is not None:
                rate_keys[f"q:{q}"] = float(rate.per)
        for c in lclasses:
            rate = self.classes[c].rate
            if rate is not None:
                rate_keys[f"c:{c}"] = float(rate.per)
        async with db.transaction() as tx:
            await tx.fetchval(_LOCK, keys)
            state = await tx.fetch(_STATE, list(names), lqueues, lqueues, lclasses,
                                   dumps(part_keys), max(200, 20 * n), list(rate_keys),
                                   list(rate_keys.values()),
                                   None if queues is None else list(queues))
            now_limited = {r["queue"]: (r["n"], None if r["ord"] is None
                                        else Rate(r["ord"], r["free_in"]))
                           for r in state if r["kind"] == "control"}
            if now_limited != {q: (c.concurrency, c.rate) for q, c in self.queues.items()
                               if queues is None or q in queues}:
                return None  # nothing claimed: the transaction only forgot old starts
            running = [r for r in state if r["kind"] == "running"]
            recent: dict[str, tuple[int, float | None]] = {
                r["key"]: (r["n"], r["free_in"]) for r in state if r["kind"] == "rate"}
            candidates = sorted((r for r in state if r["kind"] == "candidate"),
                                key=lambda r: r["ord"])
            budget = _Budget(self, lqueues, lclasses, running, recent)
            picked: list[int] = []
            starts: dict[str, list[str]] = {}
            for row in candidates:
                if len(picked) >= n:
                    break
                keys_taken = budget.take(row["queue"], row["job"], row["part"])
                if keys_taken is not None:
                    picked.append(row["id"])
                    if keys_taken:
                        starts[str(row["id"])] = keys_taken
            rows = []
            if picked:
                rows = await tx.fetch(self._claim_ids, picked, worker_id, lease,
                                      dumps(starts))
            held_back = len(picked) < min(n, len(candidates))
            retry_in = budget.retry_in
            if held_back:
                # a rate window this claim filled frees its first slot when its oldest start
                # leaves it (a full period when every start in it is this claim's own)
                for key, room in budget.rate_room.items():
                    if room <= 0:
                        count, free_in = recent[key]
                        wait = max(0.0, float(free_in)) if count and free_in is not None \
                            else rate_keys[key]
                        retry_in = wait if retry_in is None else min(retry_in, wait)
            return ClaimOutcome(rows, blocked=budget.blocked or held_back,
                                retry_in=retry_in)


class _Budget:
    """Remaining room under each limit, decremented as candidates are picked."""

    def __init__(self, claimer: LimitedClaimer, lqueues: list[str], lclasses: list[str],
                 running: list[Any], recent: dict[str, tuple[int, float | None]]) -> None:
        self.claimer = claimer
        self.blocked = False
        self.retry_in: float | None = None
        self.queue_room: dict[str, float] = {}
        self.class_room: dict[str, float] = {}
        self.part_room: dict[tuple[str, str | None], int] = {}
        self.rate_room: dict[str, float] = {}
        run_q: dict[str, int] = {}
        run_c: dict[str, int] = {}
        run_p: dict[tuple[str, str | None], int] = {}
        for r in running:
            run_q[r["queue"]] = run_q.get(r["queue"], 0) + r["n"]
            run_c[r["job"]] = run_c.get(r["job"], 0) + r["n"]
            run_p[(r["job"], r["part"])] = run_p.get((r["job"], r["part"]), 0) + r["n"]
        self.run_p = run_p
        for q in lqueues:
            conc = claimer.queues[q].concurrency
            self.queue_room[q] = (conc - run_q.get(q, 0)) if conc is not None else float("inf")
        for c in lclasses:
            lim = claimer.classes[c].concurrency
            if lim is None or lim.by is not None:
                self.class_room[c] = float("inf")
            else:
                self.class_room[c] = lim.max - run_c.get(c, 0)
        for key, (count, free_in) in recent.items():
            rate = (claimer.queues[key[2:]].rate if key.startswith("q:")
                    else claimer.classes[key[2:]].rate)
            assert rate is not None
            self.rate_room[key] = rate.limit - count
            if count >= rate.limit and free_in is not None:
                wait = max(0.0, float(free_in))
                self.retry_in = wait if self.retry_in is None else min(self.retry_in, wait)

    def take(self, queue: str, job: str, part: str | None) -> list[str] | None:
        """Take one job if every limit that applies to it has room: the rate keys its start
        counts against, or None when a limit holds it back."""
        if self.queue_room.get(queue, 1) <= 0 or self.class_room.get(job, 1) <= 0:
            self.blocked = True
            return None
        keys = [k for k in (f"q:{queue}", f"c:{job}") if k in self.rate_room]
        if any(self.rate_room[k] <= 0 for k in keys):
            return None
        limits = self.claimer.classes.get(job)
        pkey: tuple[str, str | None] | None = None
        if limits is not None and limits.concurrency is not None and limits.concurrency.by:
            pkey = (job, part)
            room = self.part_room.get(pkey)
            if room is None:
                room = limits.concurrency.max - self.run_p.get(pkey, 0)
            if room <= 0:
                self.part_room[pkey] = room
                self.blocked = True
                return None
            self.part_room[pkey] = room - 1
        if queue in self.queue_room:
            self.queue_room[queue] -= 1
        if job in self.class_room:
            self.class_room[job] -= 1
        for k in keys:
            self.rate_room[k] -= 1
        return keys
