"""Queue controls across two worker processes on the real PostgreSQL: pause/resume, cancel of
a running job, per-queue and per-class concurrency limits (partitioned too), rate limits.

The two worker processes (``jobs_controls_helper.py``) run for the whole module, taking jobs
from every queue at concurrency 10 each; each test uses its own queues.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from jobs_controls_helper import LOG_TABLE, FivePerSecond, OnePerAccount, Sleepy, ThreeAtOnce

from rum_jobs import (
    Rate,
    Worker,
    cancel_job,
    get_job,
    list_jobs,
    pause_queue,
    paused_queues,
    queue_controls,
    resume_queue,
    set_queue_limits,
)

pytestmark = pytest.mark.postgres

HELPER = Path(__file__).with_name("jobs_controls_helper.py")


@pytest.fixture(scope="module")
def worker_procs(jobs_database_url: str) -> Iterator[list[subprocess.Popen]]:
    """Two worker processes on the module's database (started once, stopped at the end)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HELPER.parent), *sys.path])}
    procs = [subprocess.Popen([sys.executable, str(HELPER), jobs_database_url, f"proc{i}"],
                              env=env) for i in range(2)]
    try:
        yield procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
async def cdb(jdb: Any, worker_procs: list[subprocess.Popen]) -> AsyncIterator[Any]:
    """``jdb`` with no queue controls, an empty ``controls_log`` and both worker processes
    listening."""
    await jdb.execute(LOG_TABLE)
    # DELETE, not TRUNCATE: the live workers' claims read these tables
    await jdb.execute("DELETE FROM controls_log; DELETE FROM rum_jobs_queues; "
                      "DELETE FROM rum_jobs_rate_log")
    await jdb.execute("NOTIFY rum_jobs, 'rum:queues'")
    with trio.fail_after(40):
        while await jdb.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query ILIKE 'LISTEN%'") < 2:
            assert all(p.poll() is None for p in worker_procs), "a worker process exited"
            await trio.sleep(0.1)
    yield jdb


async def wait_status(db: Any, ids: list[int], statuses: set[str], timeout: float = 20) -> None:
    with trio.fail_after(timeout):
        while True:
            rows = await db.fetch("SELECT status FROM rum_jobs WHERE id = ANY($1)", ids)
            if len(rows) == len(ids) and all(r["status"] in statuses for r in rows):
                return
            await trio.sleep(0.05)


async def max_overlap(db: Any, where: str = "true", by_part: bool = False) -> int:
    """The most job bodies that ran at the same moment (from controls_log)."""
    rows = await db.fetch(f"SELECT job_id, part, phase, at FROM controls_log WHERE {where} "
                          "AND phase IN ('start', 'end') ORDER BY at, phase")
    best = 0
    running: dict[Any, int] = {}
    for r in rows:
        key = r["part"] if by_part else None
        running[key] = running.get(key, 0) + (1 if r["phase"] == "start" else -1)
        best = max(best, running[key])
    return best


@pytest.mark.slow
async def test_a_paused_queue_is_not_claimed_from_until_resumed(cdb: Any) -> None:
    await pause_queue("paused-q", db=cdb)
    assert await paused_queues(db=cdb) == ["paused-q"]
    held = await Sleepy.enqueue_many([{}] * 5, queue="paused-q", db=cdb)
    other = await Sleepy.enqueue({}, queue="open-q", db=cdb)
    await wait_status(cdb, [other], {"complete"})
    await trio.sleep(1.0)  # 5 polls of each worker
    assert {r["status"] for r in await cdb.fetch(
        "SELECT status FROM rum_jobs WHERE id = ANY($1)", held)} == {"scheduled"}
    started = time.monotonic()
    await resume_queue("paused-q", db=cdb)
    await wait_status(cdb, held, {"complete"})
    assert time.monotonic() - started < 5  # woken by NOTIFY, not by luck
    assert await paused_queues(db=cdb) == []


async def test_pausing_lets_running_jobs_finish(cdb: Any) -> None:
    first = await Sleepy.enqueue({"sleep": 1.0}, queue="drain-q", db=cdb)
    await wait_status(cdb, [first], {"running"})
    await pause_queue("drain-q", db=cdb)
    second = await Sleepy.enqueue({}, queue="drain-q", db=cdb)
    await wait_status(cdb, [first], {"complete"})
    await trio.sleep(0.5)
    assert (await get_job(cdb, second)).status == "scheduled"
    await resume_queue("drain-q", db=cdb)
    await wait_status(cdb, [second], {"complete"})


async def test_cancel_stops_a_running_job_in_another_process(cdb: Any) -> None:
    job_id = await Sleepy.enqueue({"sleep": 60}, queue="cancel-q", db=cdb)
    with trio.fail_after(20):
        while not await cdb.fetchval("SELECT count(*) FROM controls_log WHERE job_id = $1",
                                     job_id):
            await trio.sleep(0.05)
    sent = time.monotonic()
    assert await cancel_job(cdb, job_id, "operator said stop")
    with trio.fail_after(10):
        while not await cdb.fetchval("SELECT count(*) FROM controls_log WHERE job_id = $1 "
                                     "AND phase = 'cancelled'", job_id):
            await trio.sleep(0.02)
    assert time.monotonic() - sent < 3  # NOTIFY, not the heartbeat (lease 5 s)
    await trio.sleep(0.5)
    record = await get_job(cdb, job_id)
    assert record.status == "cancelled" and record.attempt == 1
    assert record.errors[-1]["kind"] == "cancelled"
    assert record.errors[-1]["error"] == "operator said stop"
    phases = [r["phase"] for r in await cdb.fetch(
        "SELECT phase FROM controls_log WHERE job_id = $1 ORDER BY at", job_id)]
    assert phases == ["start", "cancelled"]  # not retried
    assert not await cancel_job(cdb, job_id)  # already finished


class LocalSleepy(Sleepy):
    """A class only the in-process worker knows (the worker processes never take it)."""

    name = "LocalSleepy"


async def test_cancel_reaches_a_worker_that_does_not_listen(cdb: Any) -> None:
    """Without LISTEN the worker notices at its next heartbeat (the fallback)."""
    job_id = await LocalSleepy.enqueue({"sleep": 60}, queue="quiet-q", db=cdb)
    worker = Worker([LocalSleepy], db=cdb, queues=["quiet-q"], listen=False, lease=1.5,
                    poll_interval=0.1)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(20):
            while job_id not in worker.running:
                await trio.sleep(0.02)
        assert await cancel_job(cdb, job_id)
        with trio.fail_after(10):
            while job_id in worker.running:
                await trio.sleep(0.05)
        worker.stop()
    record = await get_job(cdb, job_id)
    assert record.status == "cancelled" and record.attempt == 1
    assert await cdb.fetchval("SELECT phase FROM controls_log WHERE job_id = $1 "
                              "ORDER BY at DESC LIMIT 1", job_id) == "cancelled"


async def test_queue_concurrency_limit_holds_across_two_processes(cdb: Any) -> None:
    await set_queue_limits("two-q", concurrency=2, db=cdb)
    assert (await queue_controls(db=cdb))["two-q"].concurrency == 2
    ids = await Sleepy.enqueue_many([{"sleep": 0.15}] * 16, queue="two-q", db=cdb)
    await wait_status(cdb, ids, {"complete"}, timeout=40)
    assert await max_overlap(cdb, "queue = 'two-q'") == 2
    # Both processes were live and claiming the whole time (cdb waits for both to listen);
    # which of them wins a freed slot is a race (the one that just finished is awake first),
    # so a loaded machine may give every slot to one: the limit is what must hold.
    assert await ran_in(cdb, "queue = 'two-q'") <= {"proc0", "proc1"}


async def ran_in(db: Any, where: str) -> set[str]:
    return {r["worker"] for r in await db.fetch(
        f"SELECT DISTINCT worker FROM controls_log WHERE {where}")}


async def test_class_concurrency_limit_holds_across_two_processes(cdb: Any) -> None:
    ids = await ThreeAtOnce.enqueue_many([{"sleep": 0.25}] * 6, queue="three-a", db=cdb)
    ids += await ThreeAtOnce.enqueue_many([{"sleep": 0.25}] * 6, queue="three-b", db=cdb)
    await wait_status(cdb, ids, {"complete"}, timeout=40)
    assert await max_overlap(cdb, "job = 'ThreeAtOnce'") == 3  # across both queues
    assert await ran_in(cdb, "job = 'ThreeAtOnce'") <= {"proc0", "proc1"}  # see above


async def test_partitioned_limit_is_per_args_key(cdb: Any) -> None:
    ids = await OnePerAccount.enqueue_many(
        [{"sleep": 0.3, "account": a} for a in ("a", "b", "c") for _ in range(3)],
        queue="acct-q", db=cdb)
    await wait_status(cdb, ids, {"complete"}, timeout=40)
    assert await max_overlap(cdb, "job = 'OnePerAccount'", by_part=True) == 1
    assert await max_overlap(cdb, "job = 'OnePerAccount'") >= 2  # accounts ran side by side


@pytest.mark.slow
async def test_queue_rate_limit_holds_across_two_processes(cdb: Any) -> None:
    await set_queue_limits("rate-q", rate=Rate(4, per=1.0), db=cdb)
    ids = await Sleepy.enqueue_many([{}] * 10, queue="rate-q", db=cdb)
    started = time.monotonic()
    await wait_status(cdb, ids, {"complete"}, timeout=40)
    assert time.monotonic() - started >= 1.5  # 10 starts at 4/s need two more windows
    await assert_rate(cdb, ids, 4, 1.0)


@pytest.mark.slow
async def test_class_rate_limit_holds_across_two_processes(cdb: Any) -> None:
    ids = await FivePerSecond.enqueue_many([{}] * 12, queue="rate-c", db=cdb)
    await wait_status(cdb, ids, {"complete"}, timeout=40)
    await assert_rate(cdb, ids, 5, 1.0)


async def assert_rate(db: Any, ids: list[int], limit: int, per: float) -> None:
    """No window of ``per`` seconds holds more than ``limit`` claims (started_at)."""
    starts = sorted(r["started_at"] for r in await db.fetch(
        "SELECT started_at FROM rum_jobs WHERE id = ANY($1)", ids))
    for i, t in enumerate(starts):
        within = [s for s in starts[i:] if (s - t).total_seconds() < per]
        assert len(within) <= limit, (t, within)


async def test_bad_controls_are_refused_with_clear_errors(cdb: Any) -> None:
    with pytest.raises(ValueError, match="concurrency must be a positive integer"):
        await set_queue_limits("x", concurrency=0, db=cdb)
    with pytest.raises(ValueError, match="Rate limit must be a positive integer"):
        Rate(0)
    with pytest.raises(ValueError, match="Rate period must be positive"):
        Rate(1, per=float("nan"))
    with pytest.raises(ValueError, match="non-empty"):
        await pause_queue("", db=cdb)
    with pytest.raises(ValueError, match="reserved"):
        await pause_queue("rum:queues", db=cdb)
    assert await list_jobs(cdb) == []


async def test_queue_and_class_limits_apply_together_and_clear(cdb: Any) -> None:
    await set_queue_limits("both-q", concurrency=2, db=cdb)  # tighter than the class's 3
    ids = await ThreeAtOnce.enqueue_many([{"sleep": 0.2}] * 6, queue="both-q", db=cdb)
    await wait_status(cdb, ids, {"complete"}, timeout=40)
    assert await max_overlap(cdb, "queue = 'both-q'") == 2
    await set_queue_limits("both-q", db=cdb)  # cleared: the plain claim takes it again
    assert "both-q" not in await queue_controls(db=cdb)
    await cdb.execute("DELETE FROM controls_log")
    ids = await Sleepy.enqueue_many([{"sleep": 0.3}] * 6, queue="both-q", db=cdb)
    await wait_status(cdb, ids, {"complete"}, timeout=20)
    assert await max_overlap(cdb, "queue = 'both-q'") >= 3  # no longer held to 2
