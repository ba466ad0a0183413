"""Workflows: jobs that run after other jobs.

::

    fetch = await Fetch.enqueue({"url": url})
    resize = await Resize.enqueue({"size": 64}, after=[fetch])
    notify = await Notify.enqueue({}, after=[fetch, resize], after_failure="run")

A dependent job waits (status ``scheduled``, ``run_at`` = :data:`WAITING_RUN_AT`) until every
job it depends on has ended. When they all completed it becomes due at once (workers are
woken by NOTIFY). When one of them ends without completing (``failed`` for good,
``cancelled``, ``discarded``) the dependent is cancelled with an error naming that job, and
so are the jobs depending on it in turn — unless it was enqueued with
``after_failure="run"``, which runs it once all of them ended, however they ended.

The decision is made in PostgreSQL by a trigger on the prerequisites' status change (see the
``rum_jobs_controls`` migration), in the transaction that records their outcome, whichever
worker or process that is. Prerequisites are marked (``has_dependents``) so jobs without
dependents pay nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rum_jobs.store import insert_jobs

if TYPE_CHECKING:
    from rum_jobs.store import NewJob

#: ``run_at`` of a job waiting for its prerequisites (never due on its own).
WAITING_RUN_AT = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
AFTER_FAILURE = ("cancel", "run")

_MARK = """
WITH locked AS (
    SELECT id FROM rum_jobs WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE
)
UPDATE rum_jobs AS t SET has_dependents = true FROM locked WHERE t.id = locked.id
RETURNING t.id
"""

_LINK = """
INSERT INTO rum_jobs_deps (job_id, after_id, on_failure)
SELECT $1, unnest($2::bigint[]), $3
"""

_RESOLVE = "SELECT rum_jobs_resolve($1)"

_WAITING_ON = """
SELECT job_id, array_agg(after_id ORDER BY after_id) AS after FROM rum_jobs_deps
 WHERE job_id = ANY($1::bigint[]) GROUP BY job_id
"""


def _check_after(after: Iterable[int]) -> list[int]:
    if isinstance(after, (str, bytes)) or not isinstance(after, Iterable):
        raise TypeError(f"after= takes a list of job ids, got {after!r}")
    ids = list(after)
    for job_id in ids:
        if isinstance(job_id, bool) or not isinstance(job_id, int):
            raise TypeError(f"after= takes job ids (ints), got {job_id!r}")
    if not ids:
        raise ValueError("after= is empty: name at least one job id (or leave it out)")
    return sorted(set(ids))


async def enqueue_after(db: Any, row: NewJob, after: Iterable[int], *,
                        after_failure: str = "cancel") -> int:
    """Insert ``row`` to run once the jobs ``after`` have completed; return its id.

    ``after_failure``: ``"cancel"`` (default) cancels it when one of them ends without
    completing; ``"run"`` runs it anyway once they all ended. Raises ``ValueError`` naming
    missing ids. If they have all ended already, it is decided at once.
    """
    ids = _check_after(after)
    if after_failure not in AFTER_FAILURE:
        raise ValueError(f"after_failure must be one of {', '.join(AFTER_FAILURE)}, got "
                         f"{after_failure!r}")
    if row.run_at is not None or row.run_in:
        raise ValueError(f"{row.job}.enqueue(after=...): run_at/run_in cannot be combined "
                         "with after= (the job runs as soon as its prerequisites allow)")
    if row.unique is not None:
        raise ValueError(f"{row.job}.enqueue(after=...): unique jobs cannot wait for others "
                         "(pass unique_by=None or leave out after=)")
    row.run_at = WAITING_RUN_AT
    row.run_in = None
    transaction = getattr(db, "transaction", None)
    if transaction is None:
        raise TypeError(f"enqueue(after=...) needs a database or connection with "
                        f"transactions, got {db!r}")
    async with transaction() as tx:
        marked = {r["id"] for r in await tx.fetch(_MARK, ids)}
        missing = [i for i in ids if i not in marked]
        if missing:
            raise ValueError(f"{row.job}.enqueue(after=...): no job with id "
                             f"{', '.join(map(str, missing))}")
        job_id = (await insert_jobs(tx, [row]))[0]
        await tx.execute(_LINK, job_id, ids, after_failure)
        await tx.fetchval(_RESOLVE, job_id)
    return job_id


async def waiting_on(db: Any, job_ids: Iterable[int]) -> dict[int, list[int]]:
    """For jobs still waiting for prerequisites: the ids they wait on (unresolved ones)."""
    rows = await db.fetch(_WAITING_ON, list(job_ids))
    return {r["job_id"]: list(r["after"]) for r in rows}
