"""Helpers for testing code that enqueues jobs.

::

    from rum_jobs.testing import assert_enqueued, drain

    async def test_signup_sends_a_welcome_email(db):
        await ensure_schema(db)
        await signup("a@b.c", db=db)
        await assert_enqueued(SendEmail, args={"to": "a@b.c"}, db=db)
        assert await drain([SendEmail], db=db) == 1    # run it inline, now

The assertions read the real ``rum_jobs`` table, so what they check is what a worker would
see (transactions, uniqueness and scheduling included).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any, cast

import pytest

from rum_jobs.context import resolve_db
from rum_jobs.job import Job
from rum_jobs.records import JobRecord
from rum_jobs.schema import ensure_schema
from rum_jobs.store import job_names, list_jobs
from rum_jobs.worker import Worker

_ANY: Any = object()
WAITING = ("scheduled", "retryable")

if TYPE_CHECKING:
    from rum_jobs.backend import JobsBackend


async def enqueued(job: type[Job] | str | None = None, *, args: Any = _ANY,
                   queue: str | None = None, tags: Iterable[str] | None = None,
                   scheduled_after: dt.datetime | None = None,
                   scheduled_before: dt.datetime | None = None,
                   statuses: Iterable[str] = WAITING, db: Any = None) -> list[JobRecord]:
    """Jobs waiting to run (by default) that match every given criterion, oldest first."""
    rows = await list_jobs(resolve_db(db), status=list(statuses),
                           job=None if job is None else job, queue=queue, limit=100_000,
                           newest_first=False)
    wanted_tags = set(tags or ())
    return [r for r in rows
            if (args is _ANY or r.args == args)
            and wanted_tags <= set(r.tags)
            and (scheduled_after is None or r.run_at >= scheduled_after)
            and (scheduled_before is None or r.run_at <= scheduled_before)]


async def assert_enqueued(job: type[Job] | str | None = None, *, count: int | None = None,
                          **criteria: Any) -> list[JobRecord]:
    """Assert that jobs matching the criteria of :func:`enqueued` are waiting to run.

    With ``count``, exactly that many must match; otherwise at least one. Returns them.
    """
    found = await enqueued(job, **criteria)
    ok = len(found) == count if count is not None else bool(found)
    if not ok:
        db = criteria.get("db")
        waiting = await list_jobs(resolve_db(db), status=list(WAITING), limit=20,
                                  newest_first=False)
        shown = "\n".join(f"  #{r.id} {r.job} queue={r.queue} args={r.args!r} "
                          f"run_at={r.run_at.isoformat()} tags={r.tags}" for r in waiting)
        name = job_names(job)[0] if job is not None else "any job"
        want = f"exactly {count}" if count is not None else "at least one"
        crit = ", ".join(f"{k}={v!r}" for k, v in criteria.items() if k != "db")
        raise AssertionError(f"expected {want} {name} job(s) waiting with {crit or 'any args'}"
                             f", found {len(found)}. Waiting jobs:\n{shown or '  (none)'}")
    return found


async def refute_enqueued(job: type[Job] | str | None = None, **criteria: Any) -> None:
    """Assert that no waiting job matches the criteria of :func:`enqueued`."""
    found = await enqueued(job, **criteria)
    if found:
        raise AssertionError(f"expected no matching job, found {len(found)}: "
                             + ", ".join(f"#{r.id} {r.job} {r.args!r}" for r in found))


async def drain(jobs: Iterable[type[Job]] | None = None, *, db: Any = None,
                queues: Iterable[str] | None = None, max_runs: int = 100_000) -> int:
    """Run every due job of ``jobs`` inline, now (follow-up jobs they enqueue too); return how
    many runs happened. ``jobs`` defaults to the current app's registered job classes."""
    if jobs is None:
        from rum.context import current_app

        app = current_app()
        if app is None:
            raise RuntimeError("drain() needs jobs=[...] outside `async with app.running()`")
        jobs = cast("JobsBackend", app.jobs).registered.values()
    worker = Worker(list(jobs), db=resolve_db(db), queues=None if queues is None
                    else list(queues), listen=False)
    return await worker.drain(max_runs=max_runs)


@pytest.fixture
async def jobs_db(db: Any) -> AsyncIterator[Any]:
    """The ORM's ``db`` fixture with the jobs tables created (import it into a conftest)."""
    await ensure_schema(db)
    yield db
