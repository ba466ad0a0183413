# ruff: noqa: F811  (pytest fixtures imported from test_controls are parameters here)
"""Workflows (``enqueue(..., after=[ids])``) run by two worker processes on the real
PostgreSQL: chains, fan-in, failure chains (cancel, or run anyway), prerequisites that already
ended, and many prerequisites finishing at once in two processes."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from jobs_controls_helper import Boom, Sleepy

# the fixtures (two worker processes, a clean database) are shared with test_controls
from test_controls import cdb, wait_status, worker_procs  # noqa: F401

from rum_jobs import cancel_job, get_job, list_jobs

# two worker processes start for this module (a few seconds)
pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def phase_at(db: Any, job_id: int, phase: str) -> Any:
    return await db.fetchval("SELECT at FROM controls_log WHERE job_id = $1 AND phase = $2",
                             job_id, phase)


async def test_a_chain_runs_in_order(cdb: Any) -> None:
    a = await Sleepy.enqueue({"sleep": 0.3}, db=cdb)
    b = await Sleepy.enqueue({"sleep": 0.1}, after=[a], db=cdb)
    c = await Sleepy.enqueue({}, after=[b], db=cdb)
    assert (await get_job(cdb, b)).status == "scheduled"
    await wait_status(cdb, [a, b, c], {"complete"})
    assert await phase_at(cdb, a, "end") < await phase_at(cdb, b, "start")
    assert await phase_at(cdb, b, "end") < await phase_at(cdb, c, "start")
    assert await cdb.fetchval("SELECT count(*) FROM rum_jobs_deps") == 0  # resolved, gone


async def test_fan_in_waits_for_every_prerequisite(cdb: Any) -> None:
    slow = await Sleepy.enqueue({"sleep": 0.8}, db=cdb)
    fast = await Sleepy.enqueue({"sleep": 0.05}, db=cdb)
    joined = await Sleepy.enqueue({}, after=[slow, fast], db=cdb)
    await wait_status(cdb, [fast], {"complete"})
    await trio.sleep(0.2)
    assert (await get_job(cdb, joined)).status == "scheduled"  # slow is still running
    await wait_status(cdb, [slow, joined], {"complete"})
    assert await phase_at(cdb, slow, "end") < await phase_at(cdb, joined, "start")


async def test_a_failure_cancels_the_chain_unless_told_to_run(cdb: Any) -> None:
    root = await Boom.enqueue({"fail": True}, db=cdb)
    child = await Sleepy.enqueue({}, after=[root], db=cdb)
    grandchild = await Sleepy.enqueue({}, after=[child], db=cdb)
    cleanup = await Sleepy.enqueue({}, after=[root], after_failure="run", db=cdb)
    await wait_status(cdb, [root], {"failed"})
    await wait_status(cdb, [child, grandchild], {"cancelled"})
    await wait_status(cdb, [cleanup], {"complete"})
    child_row = await get_job(cdb, child)
    assert child_row.errors[-1]["kind"] == "dependency"
    assert child_row.last_error == f"prerequisite job {root} ended failed"
    assert (await get_job(cdb, grandchild)).last_error == (
        f"prerequisite job {child} ended cancelled")
    ran = {r["job_id"] for r in await cdb.fetch("SELECT job_id FROM controls_log")}
    assert child not in ran and grandchild not in ran and cleanup in ran


async def test_cancelling_a_prerequisite_cancels_its_dependents(cdb: Any) -> None:
    root = await Sleepy.enqueue({}, run_in=3600, db=cdb)
    child = await Sleepy.enqueue({}, after=[root], db=cdb)
    assert await cancel_job(cdb, root)
    assert (await get_job(cdb, child)).status == "cancelled"


async def test_prerequisites_that_already_ended_decide_at_enqueue(cdb: Any) -> None:
    done = await Sleepy.enqueue({}, db=cdb)
    await wait_status(cdb, [done], {"complete"})
    now = await Sleepy.enqueue({}, after=[done], db=cdb)
    await wait_status(cdb, [now], {"complete"}, timeout=10)
    failed = await Boom.enqueue({"fail": True}, db=cdb)
    await wait_status(cdb, [failed], {"failed"})
    doomed = await Sleepy.enqueue({}, after=[done, failed], db=cdb)
    assert (await get_job(cdb, doomed)).status == "cancelled"


async def test_many_prerequisites_finishing_at_once_release_it_exactly_once(cdb: Any) -> None:
    for _ in range(3):
        await cdb.execute("DELETE FROM controls_log")
        roots = await Sleepy.enqueue_many([{}] * 40, db=cdb)  # both processes take some
        last = await Sleepy.enqueue({}, after=roots, db=cdb)
        await wait_status(cdb, [*roots, last], {"complete"})
        assert await cdb.fetchval("SELECT count(*) FROM controls_log WHERE job_id = $1 "
                                  "AND phase = 'start'", last) == 1
        workers = {r["worker"] for r in await cdb.fetch(
            "SELECT DISTINCT worker FROM controls_log WHERE job_id = ANY($1)", roots)}
        if workers == {"proc0", "proc1"}:
            break
    assert workers == {"proc0", "proc1"}, "the prerequisites never ran in both processes"
    latest_root_end = await cdb.fetchval(
        "SELECT max(at) FROM controls_log WHERE job_id = ANY($1) AND phase = 'end'", roots)
    assert latest_root_end < await phase_at(cdb, last, "start")


async def test_bad_after_is_refused_and_nothing_is_inserted(cdb: Any) -> None:
    with pytest.raises(ValueError, match="no job with id 999999"):
        await Sleepy.enqueue({}, after=[999999], db=cdb)
    with pytest.raises(ValueError, match="after= is empty"):
        await Sleepy.enqueue({}, after=[], db=cdb)
    with pytest.raises(TypeError, match="job ids"):
        await Sleepy.enqueue({}, after=["1"], db=cdb)
    with pytest.raises(ValueError, match="after_failure must be one of"):
        await Sleepy.enqueue({}, after=[1], after_failure="ignore", db=cdb)
    with pytest.raises(ValueError, match="run_at/run_in cannot be combined"):
        await Sleepy.enqueue({}, after=[1], run_in=5, db=cdb)
    assert await list_jobs(cdb) == []
