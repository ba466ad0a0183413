"""Enqueueing, history, retries, cancelling, discarding, pruning: the SQL-backed operations.

Every function takes ``db``: a ``rum_orm.Database`` (or a connection/transaction from it).
Called on the database itself inside ``async with db.transaction()``, queries join that
transaction, so jobs enqueued there are only visible (and only run) if it commits.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rum_jobs import payload, sql
from rum_jobs.records import JobRecord
from rum_jobs.unique import ALL_STATUSES, Unique

TERMINAL_STATUSES = ("complete", "failed", "cancelled", "discarded")


@dataclass
class NewJob:
    """One job to insert (built by ``Job.enqueue``)."""

    job: str
    args: Any = None
    queue: str = "default"
    priority: int = 0
    max_attempts: int = 5
    run_at: dt.datetime | None = None
    run_in: float | None = None
    tags: Sequence[str] = ()
    channel: str | None = None
    timeout: float | None = None
    unique: Unique | None = None

    def for_each(self, args_list: Iterable[Any]) -> list[NewJob]:
        """This job once per item of ``args_list`` (as its args), every other field shared:
        ``Job.enqueue_many`` builds the options once instead of once per job."""
        job, queue, priority, max_attempts = self.job, self.queue, self.priority, self.max_attempts
        run_at, run_in, tags, channel = self.run_at, self.run_in, self.tags, self.channel
        timeout, unique = self.timeout, self.unique
        return [NewJob(job=job, args=args, queue=queue, priority=priority,
                       max_attempts=max_attempts, run_at=run_at, run_in=run_in, tags=tags,
                       channel=channel, timeout=timeout, unique=unique) for args in args_list]

    def _check_options(self) -> None:
        """Refuse malformed options with an error naming the job."""
        if self.run_at is not None and self.run_at.tzinfo is None:
            raise ValueError(f"run_at={self.run_at!r} for job {self.job!r} has no timezone; "
                             "pass an aware datetime (e.g. datetime.now(UTC) + ...)")
        if self.run_in is not None and not math.isfinite(self.run_in):
            raise ValueError(f"run_in={self.run_in!r} for job {self.job!r} is not a finite "
                             "number of seconds")
        if self.timeout is not None and not (0 < self.timeout < math.inf):
            raise ValueError(f"timeout={self.timeout!r} for job {self.job!r} must be a "
                             "positive, finite number of seconds (or None for no timeout)")
        for name in ("priority", "max_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name}={value!r} for job {self.job!r} must be an int")

    def _checked_args(self) -> Any:
        """The job's args as plain JSON types, after refusing data that would not round-trip
        (see :mod:`rum_jobs.payload`) and malformed options, with an error naming the job."""
        args = payload.prepare({} if self.args is None else self.args, f"{self.job} args")
        payload.encode_checked(args, f"{self.job} args")
        self._check_options()
        return args

    def _checked_args_plain(self) -> Any:
        """:meth:`_checked_args`, returning args made of plain JSON types as they are (no
        copy)."""
        args = {} if self.args is None else self.args
        if not payload.plain(args):
            args = payload.prepare(args, f"{self.job} args")
        p, m = self.priority, self.max_attempts
        if (type(p) is not int or type(m) is not int or self.timeout is not None
                or self.run_in is not None or self.run_at is not None):
            self._check_options()
        return args

    def as_row(self) -> dict[str, Any]:
        """The job as a JSON object (:data:`rum_jobs.sql.UNIQUE_REPLACE` reads one); refuses
        data that would not round-trip (see :mod:`rum_jobs.payload`) with an error naming
        the job. ``unique_key`` is set when the job has a uniqueness rule."""
        args = self._checked_args()
        args_json = None
        if self.unique:
            args_json = json.dumps(args, sort_keys=True, separators=(",", ":"))
        return {
            "job": self.job, "queue": self.queue, "args": args,
            "priority": self.priority, "max_attempts": self.max_attempts,
            "run_at": self.run_at.isoformat() if self.run_at else None,
            "run_in": self.run_in, "tags": [str(t) for t in self.tags],
            "unique_key": (self.unique.key_for(self.job, args_json, self.queue)
                           if self.unique and args_json is not None else None),
            "channel": self.channel, "timeout": self.timeout,
        }

    def insert_one_params(self) -> tuple[Any, ...]:
        """The parameters of :data:`rum_jobs.sql.INSERT_ONE` for this job (no uniqueness
        rule): one job inserted without building arrays of rows."""
        return (self.job, self.queue,
                payload.encode_checked(self._checked_args_plain(), f"{self.job} args"),
                self.priority,
                self.max_attempts, self.run_at.isoformat() if self.run_at else None,
                self.run_in, [str(t) for t in self.tags], self.channel, self.timeout)


def insert_columns(jobs: Sequence[NewJob],
                   unique_keys: Sequence[str | None] | None = None) -> tuple[Any, ...]:
    """The parameters of :data:`rum_jobs.sql.INSERT` for ``jobs``: a ``text[]`` per column,
    an element per job (``None`` where an option is not given), in the statement's order,
    except the args: one JSON array (encoded in one call, not one per job).

    Every job is checked (its args and options; see :mod:`rum_jobs.payload`) before anything
    is sent. Numbers, times and tags travel as text that PostgreSQL casts once per array:
    ``text[]`` is the only array type asyncpg encodes without first asking the server about
    it (``int[]``, ``float8[]``, ``timestamptz[]`` cost a catalog query on each new
    connection).
    """
    each = [j._checked_args_plain() for j in jobs]
    args = payload.encode(each)
    if payload.may_hold_unstorable(args):
        for job, job_args in zip(jobs, each, strict=True):
            payload.check_text(job_args, f"{job.job} args")
    return (
        [j.job for j in jobs],
        [j.queue for j in jobs],
        args,
        [int.__repr__(j.priority) for j in jobs],
        [int.__repr__(j.max_attempts) for j in jobs],
        [None if j.run_at is None else j.run_at.isoformat() for j in jobs],
        [None if j.run_in is None else repr(float(j.run_in)) for j in jobs],
        [_tags_literal(j.tags) if j.tags else None for j in jobs],
        list(unique_keys) if unique_keys is not None else [None] * len(jobs),
        [j.channel for j in jobs],
        [None if j.timeout is None else repr(float(j.timeout)) for j in jobs],
    )


def _tags_literal(tags: Iterable[Any]) -> str:
    """``tags`` as a PostgreSQL array literal (each element quoted, ``\\`` and ``"``
    escaped), read with a plain ``::text[]`` cast."""
    return "{" + ",".join('"' + str(t).replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for t in tags) + "}"


_STATELESS: dict[type, dict[str, bool]] = {}


def stateless(db: Any) -> dict[str, bool]:
    """Keyword arguments marking a one-shot statement as changing no session state:
    ``{"stateless": True}`` when ``db.fetch`` takes it (``rum_orm.Database``: the statement's
    connection is then reused without asyncpg's session reset, a round trip saved), else ``{}``
    (a connection or transaction, or a storage without the option). Every statement of the
    jobs plugin is stateless: no ``SET``, ``LISTEN``, session advisory lock or temporary table,
    in it or in the triggers it fires (only ``pg_notify``, which is transactional)."""
    kind = type(db)
    found = _STATELESS.get(kind)
    if found is None:
        takes = True
        for method in ("fetch", "fetchrow", "fetchval", "execute"):
            try:
                takes = takes and "stateless" in inspect.signature(getattr(kind, method)).parameters
            except (AttributeError, TypeError, ValueError):
                takes = False
        found = _STATELESS[kind] = {"stateless": True} if takes else {}
    return found


async def insert_jobs(db: Any, jobs: Sequence[NewJob]) -> list[int]:
    """Insert ``jobs``; return their ids in order (existing ids for unique conflicts).

    Jobs without uniqueness rules go in one statement (one round trip); unique ones are
    checked and inserted one by one under an advisory lock, in a transaction.
    """
    if not jobs:
        return []
    if len(jobs) == 1 and not jobs[0].unique:
        return [await db.fetchval(sql.INSERT_ONE, *jobs[0].insert_one_params(),
                                  **stateless(db))]
    if not any(j.unique for j in jobs):
        rows = await db.fetch(sql.INSERT, *insert_columns(jobs), **stateless(db))
        return [r["id"] for r in rows]
    transaction = getattr(db, "transaction", None)
    if transaction is None:
        return [await _insert_unique(db, j) for j in jobs]
    async with transaction():
        return [await _insert_unique(db, j) for j in jobs]


async def _insert_unique(db: Any, job: NewJob) -> int:
    if job.unique is None:
        return (await db.fetch(sql.INSERT, *insert_columns([job])))[0]["id"]
    row = job.as_row()
    key = row["unique_key"]
    await db.fetchval(sql.UNIQUE_LOCK, key)
    existing = await db.fetchrow(sql.UNIQUE_FIND, key, list(job.unique.statuses),
                                 job.unique.within_seconds)
    if existing is None:
        return (await db.fetch(sql.INSERT, *insert_columns([job], [key])))[0]["id"]
    if job.unique.on_conflict == "replace":
        await db.execute(sql.UNIQUE_REPLACE, existing["id"], payload.encode(row))
    return existing["id"]


# -- history --------------------------------------------------------------------------------


async def get_job(db: Any, job_id: int) -> JobRecord | None:
    """The job with ``job_id`` (any status), or ``None``."""
    row = await db.fetchrow(sql.GET, job_id)
    return None if row is None else JobRecord.from_row(row)


async def list_jobs(db: Any, *, status: str | Iterable[str] | None = None,
                    job: str | type | Iterable[str | type] | None = None,
                    queue: str | None = None, tag: str | None = None,
                    limit: int = 100, newest_first: bool = True) -> list[JobRecord]:
    """Jobs filtered by status(es), job name(s)/class(es), queue and tag."""
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        _check_statuses(statuses)
        # constants (checked against the known statuses above), not a parameter: the
        # planner can then match the partial indexes (waiting jobs by class, finished jobs)
        # in generic plans too
        where.append("status IN (" + ", ".join(f"'{s}'" for s in sorted(set(statuses)))
                     + ")" if statuses else "false")
    if job is not None:
        names = job_names(job)
        params.append(names)
        where.append(f"job = ANY(${len(params)}::text[])")
    if queue is not None:
        params.append(queue)
        where.append(f"queue = ${len(params)}")
    if tag is not None:
        params.append(tag)
        where.append(f"${len(params)} = ANY(tags)")
    params.append(limit)
    order = "DESC" if newest_first else "ASC"
    query = (f"SELECT {sql.RETURNING} FROM rum_jobs"
             f"{' WHERE ' + ' AND '.join(where) if where else ''}"
             f" ORDER BY id {order} LIMIT ${len(params)}")
    return [JobRecord.from_row(r) for r in await db.fetch(query, *params)]


async def count_jobs(db: Any) -> dict[str, int]:
    """How many jobs are in each status."""
    rows = await db.fetch("SELECT status, count(*) AS n FROM rum_jobs GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


def job_names(job: Any) -> list[str]:
    """Names from a job class, a name, or an iterable of those."""
    if isinstance(job, (str, type)):
        job = [job]
    return [j if isinstance(j, str) else j.name for j in job]


def _check_statuses(statuses: Iterable[str]) -> None:
    wrong = [s for s in statuses if s not in ALL_STATUSES]
    if wrong:
        raise ValueError(f"unknown job status {wrong[0]!r}; known: {', '.join(ALL_STATUSES)}")


# -- operations -----------------------------------------------------------------------------


async def retry_job(db: Any, job_id: int) -> bool:
    """Run a finished (failed/cancelled/discarded) or waiting job again now.

    Grants one more attempt when it had used them all. False when the job is running,
    complete or missing.
    """
    return await db.fetchval(sql.RETRY, job_id) is not None


async def cancel_job(db: Any, job_id: int, reason: str = "cancelled by an operator") -> bool:
    """Cancel a waiting or running job (a running one's worker cancels its task).

    False when the job is missing or already finished."""
    return await db.fetchval(sql.CANCEL, job_id, reason) is not None


async def discard_job(db: Any, job_id: int, reason: str = "discarded by an operator") -> bool:
    """Give up on a waiting (``scheduled``/``retryable``) or ``failed`` job for good.

    The job becomes ``discarded`` with ``reason`` as its last error (kind ``discarded``), as
    when the job itself returns :class:`~rum_jobs.Discard`; jobs that depend on it are
    cancelled (unless enqueued with ``after_failure="run"``). False when the job is missing,
    running (its worker owns the outcome: use :func:`cancel_job`) or already finished
    otherwise (complete, cancelled, discarded).
    """
    return await db.fetchval(sql.DISCARD, job_id, reason) is not None


async def prune(db: Any, *, max_age: dict[str, float | dt.timedelta] | None = None,
                max_count: dict[str, int] | None = None,
                jobs: Iterable[str | type] | None = None) -> int:
    """Delete finished jobs: older than ``max_age[status]`` and/or beyond the newest
    ``max_count[status]``; ``jobs`` limits it to some job classes/names. Returns how many."""
    names = job_names(jobs) if jobs is not None else None
    deleted = 0
    for status, age in (max_age or {}).items():
        _check_prunable(status)
        secs = age.total_seconds() if isinstance(age, dt.timedelta) else float(age)
        deleted += await _in_batches(db, sql.PRUNE_AGE, status, secs, names)
    for status, keep in (max_count or {}).items():
        _check_prunable(status)
        deleted += await _in_batches(db, sql.PRUNE_COUNT, status, int(keep), names)
    return deleted


PRUNE_BATCH = 5000


async def _in_batches(db: Any, statement: str, *params: Any) -> int:
    """Run a pruning statement until it deletes less than a full batch."""
    total = 0
    while True:
        n = _count(await db.execute(statement, *params, PRUNE_BATCH))
        total += n
        if n < PRUNE_BATCH:
            return total


def _check_prunable(status: str) -> None:
    if status not in TERMINAL_STATUSES:
        raise ValueError(f"cannot prune jobs with status {status!r}: only finished jobs "
                         f"({', '.join(TERMINAL_STATUSES)}) are pruned")


def _count(tag: Any) -> int:
    """Rows affected from a command tag like ``DELETE 3``."""
    try:
        return int(str(tag).rsplit(" ", 1)[-1])
    except ValueError:
        return 0
