"""``rum_jobs.stats()``: a snapshot of the job system for dashboards and ``rum jobs stats``.

::

    snapshot = await rum_jobs.stats(db, window=300)
    for q in snapshot.queues:
        print(q.queue, q.available, q.running, q.throughput, q.latency_p95)

Everything is plain frozen dataclasses (``dataclasses.asdict`` turns a snapshot into JSON-ready
dicts, datetimes aside). The numbers come from one consistent read-only snapshot of the
database, so they add up. Costs: counts of waiting and running jobs scan those rows (through
the partial indexes of waiting and running rows); history figures only look at jobs that
finished within ``window`` (through the partial ``(status, finished_at)`` index of finished
rows, whose statuses the queries name as constants), never at the whole history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from rum_jobs.context import resolve_db
from rum_jobs.controls import SELECT_CONTROLS, QueueControl, Rate, control_from_row
from rum_jobs.workflows import WAITING_RUN_AT

if TYPE_CHECKING:
    from rum_jobs.backend import JobsBackend
    from rum_jobs.clock import CronEntry


@dataclass(frozen=True)
class QueueStats:
    """One queue: jobs by state now, and what finished within the window.

    ``available``: due now, waiting for a worker; ``scheduled``: due later; ``retryable``:
    waiting to retry (due or not; also counted in ``available``/``scheduled``);
    ``waiting_on_dependencies``: enqueued with ``after=`` and not released yet.
    ``complete``/``failed``/``cancelled``/``discarded``: finished within the window.
    ``throughput``: completions per second over the window. ``latency_p50``/``latency_p95``:
    seconds from due (``run_at``) to start, over runs that finished within the window.
    ``oldest_available_age``: seconds the longest-waiting due job has waited (the queue's
    lag; ``None`` when nothing is due).
    """

    queue: str
    available: int = 0
    scheduled: int = 0
    retryable: int = 0
    waiting_on_dependencies: int = 0
    running: int = 0
    complete: int = 0
    failed: int = 0
    cancelled: int = 0
    discarded: int = 0
    throughput: float = 0.0
    latency_p50: float | None = None
    latency_p95: float | None = None
    oldest_available_age: float | None = None
    paused: bool = False
    concurrency: int | None = None
    rate: Rate | None = None


@dataclass(frozen=True)
class RunningJob:
    """A job running now: where, which attempt, for how long (``age`` seconds)."""

    id: int
    job: str
    queue: str
    worker: str | None
    attempt: int
    max_attempts: int
    started_at: dt.datetime | None
    age: float


@dataclass(frozen=True)
class FailedJob:
    """A job that failed for good, newest first, with its last error."""

    id: int
    job: str
    queue: str
    attempt: int
    max_attempts: int
    finished_at: dt.datetime | None
    error: str | None
    kind: str | None


@dataclass(frozen=True)
class ScheduleStats:
    """A clock entry: when it fires next, and when a clock last fired it."""

    name: str
    job: str
    cron: str
    timezone: str
    next_fire: dt.datetime
    last_fire: dt.datetime | None
    catch_up: bool | int


@dataclass(frozen=True)
class WorkerStats:
    """A worker process that registered itself (``alive``: its lease is current)."""

    id: str
    host: str | None
    pid: int | None
    queues: list[str] | None
    started_at: dt.datetime
    seen_at: dt.datetime
    alive: bool
    running: int


@dataclass(frozen=True)
class JobStats:
    """What :func:`stats` returns: the whole picture at ``at``."""

    at: dt.datetime
    window: float
    queues: list[QueueStats] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    running: list[RunningJob] = field(default_factory=list)
    failed: list[FailedJob] = field(default_factory=list)
    schedules: list[ScheduleStats] = field(default_factory=list)
    workers: list[WorkerStats] = field(default_factory=list)

    def queue(self, name: str) -> QueueStats:
        """The stats of queue ``name`` (all zero when it has no jobs)."""
        for q in self.queues:
            if q.queue == name:
                return q
        return QueueStats(queue=name)

    @property
    def totals(self) -> QueueStats:
        """Every queue added up (``queue`` is ``"*"``; latencies are not summed: None)."""
        sums: dict[str, Any] = {}
        for name in ("available", "scheduled", "retryable", "waiting_on_dependencies",
                     "running", "complete", "failed", "cancelled", "discarded", "throughput"):
            sums[name] = sum(getattr(q, name) for q in self.queues)
        return QueueStats(queue="*", **sums)


_WAITING = """
SELECT queue,
       count(*) FILTER (WHERE run_at <= now()) AS available,
       count(*) FILTER (WHERE run_at > now() AND run_at <> $1) AS scheduled,
       count(*) FILTER (WHERE status = 'retryable') AS retryable,
       count(*) FILTER (WHERE run_at = $1) AS waiting_on_dependencies,
       extract(epoch FROM now() - min(run_at) FILTER (WHERE run_at <= now()))::float8
           AS oldest_available_age
  FROM rum_jobs WHERE status IN ('scheduled', 'retryable')
 GROUP BY queue
"""

_RUNNING = """
SELECT id, job, queue, worker, attempt, max_attempts, started_at,
       extract(epoch FROM now() - started_at)::float8 AS age
  FROM rum_jobs WHERE status = 'running'
 ORDER BY started_at, id
"""

_FINISHED = """
SELECT queue, status, count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM started_at - run_at)) AS p50,
       percentile_cont(0.95) WITHIN GROUP (
           ORDER BY extract(epoch FROM started_at - run_at)) AS p95
  FROM rum_jobs
 WHERE status IN ('complete', 'failed', 'cancelled', 'discarded')
   AND finished_at > now() - $1::float8 * interval '1 second'
 GROUP BY queue, status
"""

_FAILED = """
SELECT id, job, queue, attempt, max_attempts, finished_at,
       (errors -> -1 ->> 'error') AS error, (errors -> -1 ->> 'kind') AS kind
  FROM rum_jobs WHERE status = 'failed'
 ORDER BY finished_at DESC NULLS LAST, id DESC
 LIMIT $1
"""

_CRON = "SELECT entry, last_fire FROM rum_jobs_cron WHERE entry = ANY($1::text[])"

_WORKERS = """
SELECT id, host, pid, queues, started_at, seen_at, lease_expires_at > now() AS alive
  FROM rum_jobs_workers ORDER BY id
"""

_NOW = "SELECT now()"


async def stats(db: Any = None, *, window: float = 300.0, limit: int = 50,
                schedules: Iterable[CronEntry] | None = None) -> JobStats:
    """A snapshot of the job system (see :class:`JobStats`).

    ``window``: seconds of history for throughput, latency and finished counts.
    ``limit``: most failed jobs listed (running jobs are all listed: at most the workers'
    total concurrency). ``schedules``: the clock entries to report, by default the current
    app's (``app.jobs.schedules``) when there is one.
    """
    if not window > 0:
        raise ValueError(f"stats window must be positive seconds, got {window!r}")
    db = resolve_db(db)
    entries = list(schedules) if schedules is not None else _app_schedules()
    transaction = getattr(db, "transaction", None)
    current = getattr(db, "current", None)
    if transaction is None or (current is not None and current() is not None):
        # a plain connection, or inside the caller's transaction: read there
        return await _collect(db, float(window), int(limit), entries)
    async with transaction(isolation="repeatable_read", readonly=True) as tx:
        return await _collect(tx, float(window), int(limit), entries)


def _app_schedules() -> list[CronEntry]:
    from rum.context import current_app

    app = current_app()
    if app is None:
        return []
    try:
        return list(cast("JobsBackend", app.jobs).schedules)
    except Exception:
        return []


async def _collect(db: Any, window: float, limit: int, entries: list[CronEntry]) -> JobStats:
    now = await db.fetchval(_NOW)
    controls: dict[str, QueueControl] = {r["queue"]: control_from_row(r)
                                         for r in await db.fetch(SELECT_CONTROLS)}
    per: dict[str, dict[str, Any]] = {}

    def q(name: str) -> dict[str, Any]:
        return per.setdefault(name, {"queue": name})

    for r in await db.fetch(_WAITING, WAITING_RUN_AT):
        q(r["queue"]).update(available=r["available"], scheduled=r["scheduled"],
                             retryable=r["retryable"],
                             waiting_on_dependencies=r["waiting_on_dependencies"],
                             oldest_available_age=r["oldest_available_age"])
    running = [RunningJob(id=r["id"], job=r["job"], queue=r["queue"], worker=r["worker"],
                          attempt=r["attempt"], max_attempts=r["max_attempts"],
                          started_at=r["started_at"], age=max(0.0, r["age"] or 0.0))
               for r in await db.fetch(_RUNNING)]
    for job in running:
        entry = q(job.queue)
        entry["running"] = entry.get("running", 0) + 1
    latencies: dict[str, tuple[int, float | None, float | None]] = {}
    for r in await db.fetch(_FINISHED, window):
        entry = q(r["queue"])
        entry[r["status"]] = r["n"]
        if r["status"] == "complete":
            entry["throughput"] = r["n"] / window
            latencies[r["queue"]] = (r["n"], r["p50"], r["p95"])
    for name, (_, p50, p95) in latencies.items():
        per[name].update(latency_p50=None if p50 is None else max(0.0, p50),
                         latency_p95=None if p95 is None else max(0.0, p95))
    for name, control in controls.items():
        q(name).update(paused=control.paused, concurrency=control.concurrency,
                       rate=control.rate)
    failed = [FailedJob(id=r["id"], job=r["job"], queue=r["queue"], attempt=r["attempt"],
                        max_attempts=r["max_attempts"], finished_at=r["finished_at"],
                        error=r["error"], kind=r["kind"])
              for r in await db.fetch(_FAILED, limit)]
    return JobStats(
        at=now, window=window,
        queues=[QueueStats(**per[name]) for name in sorted(per)],
        paused=sorted(n for n, c in controls.items() if c.paused),
        running=running, failed=failed,
        schedules=await _schedules(db, entries, now),
        workers=await _workers(db, running),
    )


async def _schedules(db: Any, entries: list[CronEntry], now: dt.datetime
                     ) -> list[ScheduleStats]:
    if not entries:
        return []
    last = {r["entry"]: r["last_fire"]
            for r in await db.fetch(_CRON, [e.key for e in entries])}
    out = [ScheduleStats(name=e.key, job=e.job.name, cron=e.cron, timezone=e.timezone,
                         next_fire=e.next_after(now), last_fire=last.get(e.key),
                         catch_up=e.catch_up) for e in entries]
    return sorted(out, key=lambda s: s.next_fire)


async def _workers(db: Any, running: list[RunningJob]) -> list[WorkerStats]:
    exists = await db.fetchval("SELECT to_regclass('rum_jobs_workers') IS NOT NULL")
    if not exists:
        return []
    counts: dict[str, int] = {}
    for job in running:
        if job.worker:
            counts[job.worker] = counts.get(job.worker, 0) + 1
    return [WorkerStats(id=r["id"], host=r["host"], pid=r["pid"],
                        queues=None if r["queues"] is None else list(r["queues"]),
                        started_at=r["started_at"], seen_at=r["seen_at"], alive=r["alive"],
                        running=counts.get(r["id"], 0))
            for r in await db.fetch(_WORKERS)]


def to_json(snapshot: JobStats) -> str:
    """``snapshot`` as JSON (datetimes as ISO 8601 strings)."""
    from dataclasses import asdict

    def default(value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.isoformat()
        raise TypeError(f"cannot encode {value!r}")

    return json.dumps(asdict(snapshot), default=default, indent=2)
