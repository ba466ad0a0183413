"""The eager claim (rum_jobs.eager): an idle worker's claim is sent from the NOTIFY callback on
the database thread. The jobs it takes run once, as claimed by the normal path; pauses and
limits hold; a worker cancelled around it loses no job and runs no attempt twice; the single
queue claim statement takes the same jobs as the fair one."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from rum_jobs import (
    Job,
    Worker,
    ensure_schema,
    list_jobs,
    pause_queue,
    resume_queue,
    set_queue_limits,
    sql,
)
from rum_jobs.eager import EagerClaim

pytestmark = pytest.mark.postgres


@pytest.fixture
async def db8(jobs_database_url: str) -> AsyncIterator[Any]:
    """A database whose pool lets a worker hold its lanes (the eager claim needs them)."""
    from rum_orm import Database

    async with Database.open(jobs_database_url, pool_min=1, pool_max=8) as db:
        await ensure_schema(db)
        await db.execute("TRUNCATE rum_jobs RESTART IDENTITY; DELETE FROM rum_jobs_queues")
        yield db


class Seen(Job):
    """Records every run (id, attempt) after a checkpoint."""

    runs: list[tuple[int, int]] = []
    started: dict[int, float] = {}
    hold: trio.Event | None = None

    async def execute(self, args: Any) -> None:
        await trio.sleep(0)
        type(self).runs.append((self.id, self.attempt))
        type(self).started.setdefault(self.id, time.perf_counter())
        if type(self).hold is not None:
            await type(self).hold.wait()


def reset() -> None:
    Seen.runs, Seen.started, Seen.hold = [], {}, None


async def armed(worker: Worker) -> None:
    """Wait until the idle worker has armed its eager claim."""
    with trio.fail_after(5):
        while worker._eager is None or worker._eager._armed is None:
            await trio.sleep(0.002)


async def all_done(db: Any) -> None:
    with trio.fail_after(20):
        while await db.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> 'complete'"):
            await trio.sleep(0.02)


async def test_an_idle_worker_claims_from_the_notify_callback(db8: Any) -> None:
    reset()
    worker = Worker([Seen], db=db8, concurrency=4, poll_interval=30)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        ids, latencies = [], []
        for _ in range(8):
            await armed(worker)
            sent = time.perf_counter()
            job_id = await Seen.enqueue(db=db8)
            ids.append(job_id)
            with trio.fail_after(5):
                while job_id not in Seen.started:
                    await trio.sleep(0.001)
            latencies.append(Seen.started[job_id] - sent)
        await all_done(db8)
        worker.stop()
    # every job was taken by a claim the NOTIFY sent (polling would take 30 s)
    assert worker.stats["claimed_on_notify"] == 8 == worker.stats["claimed"]
    assert sorted(Seen.runs) == [(i, 1) for i in ids]
    assert sorted(latencies)[4] < 0.5, latencies
    # each eager claim ended its reservation of the claim lane
    assert not worker._claim_lane._busy


async def test_three_eager_workers_run_every_job_once(db8: Any, jobs_database_url: str) -> None:
    from rum_orm import Database

    reset()
    async with Database.open(jobs_database_url, pool_min=1, pool_max=16) as other:
        # the three claim statements: every queue, a fair claim of two, one queue
        workers = [Worker([Seen], db=d, concurrency=3, poll_interval=30, name=f"w{i}",
                          queues=queues)
                   for i, (d, queues) in enumerate(((db8, None), (other, ["default", "x"]),
                                                    (other, ["default"])))]
        async with trio.open_nursery() as nursery:
            for w in workers:
                await nursery.start(w.run)
            ids = []
            for i in range(60):  # single jobs, some back to back, some after a pause
                ids.append(await Seen.enqueue(db=db8))
                if i % 3 == 0:
                    await trio.sleep(0.01)
            while (any(w.stats["claimed_on_notify"] == 0 for w in workers)
                   and len(ids) < 160):  # until each worker's statement took jobs
                ids.append(await Seen.enqueue(db=db8))
                await trio.sleep(0.01)
            ids += await Seen.enqueue_many([{}] * 40, db=db8)  # a burst: fills the shares
            await all_done(db8)
            for w in workers:
                w.stop()
    counts = Counter(job_id for job_id, _ in Seen.runs)
    assert sorted(counts) == sorted(ids) and set(counts.values()) == {1}
    assert all(j.attempt == 1 for j in await list_jobs(db8, limit=200))
    assert all(w.stats["claimed_on_notify"] > 0 for w in workers), [w.stats for w in workers]
    assert sum(w.stats["claimed"] for w in workers) == len(ids)


async def test_a_paused_queue_is_not_claimed_by_the_eager_claim(db8: Any) -> None:
    reset()
    worker = Worker([Seen], db=db8, concurrency=4, poll_interval=30)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        await pause_queue("default", db=db8)
        await armed(worker)  # the pause note woke it; it armed again
        job_id = await Seen.enqueue(db=db8)
        await trio.sleep(0.5)
        assert Seen.runs == []
        assert worker.stats["claimed"] == 0
        await resume_queue("default", db=db8)
        with trio.fail_after(5):
            while job_id not in Seen.started:
                await trio.sleep(0.005)
        worker.stop()


async def test_a_queue_limit_set_while_armed_holds(db8: Any) -> None:
    reset()
    Seen.hold = trio.Event()
    worker = Worker([Seen], db=db8, concurrency=4, poll_interval=30)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        await armed(worker)
        # a limit written without the control note: the worker's copy of the limits is stale
        # and its eager claim stays armed; the claim's SQL skips the limited queue
        await db8.execute("INSERT INTO rum_jobs_queues (queue, concurrency) "
                          "VALUES ('default', 1)")
        await Seen.enqueue_many([{}] * 3, db=db8)
        await trio.sleep(0.3)
        assert Seen.runs == []  # skipped by the plain claim; the limited claim runs later
        await set_queue_limits("default", concurrency=1, db=db8)  # sends the note
        with trio.fail_after(5):
            while not Seen.runs:
                await trio.sleep(0.005)
        await trio.sleep(0.3)
        assert len(Seen.runs) == 1  # the limit holds
        assert worker._eager is not None and worker._eager._armed is None  # not armed now
        Seen.hold.set()
        await all_done(db8)
        worker.stop()
    assert sorted(n for _, n in Seen.runs) == [1, 1, 1]


async def test_cancelling_a_worker_around_its_eager_claim_loses_nothing(
        db8: Any, caplog: pytest.LogCaptureFixture) -> None:
    reset()
    caplog.set_level(logging.WARNING)
    ids: list[int] = []
    for i in range(12):
        worker = Worker([Seen], db=db8, concurrency=2, poll_interval=30, lease=1,
                        name=f"cancelled-{i}")
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                await nursery.start(worker.run)
                await armed(worker)
                ids.append(await Seen.enqueue(db=db8))
                # cancel at a different moment of the claim each time: before the NOTIFY,
                # while the claim runs, as its answer arrives
                await trio.sleep(i * 0.0005)
                scope.cancel()
        assert worker._eager is None
    # nothing went wrong on the way out (no statement on a connection already in use, ...)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    # a fresh worker (and lease expiry for any claim whose answer was lost) runs them all
    worker = Worker([Seen], db=db8, concurrency=4, poll_interval=0.2, lease=1)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(30):
            while await db8.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                     "'complete'"):
                await trio.sleep(0.05)
        worker.stop()
    assert set(ids) <= {job_id for job_id, _ in Seen.runs}
    # no attempt of any job ran twice
    assert len(Seen.runs) == len(set(Seen.runs)), Seen.runs


async def test_the_notify_callback_fires_only_for_the_workers_queues() -> None:
    fired = []

    class FakeShot:
        def fire(self) -> None:
            fired.append(True)

    eager = EagerClaim(lambda payload: payload in {"a", "b"})
    shot: Any = FakeShot()
    assert not eager.on_notify("a")  # nothing armed: delivered to trio as usual
    eager.arm(shot)
    assert not eager.on_notify("rum:queues") and not eager.on_notify("c")
    assert eager.on_notify("b") and fired == [True]
    assert not eager.on_notify("a")  # sent once
    assert not eager.disarm(shot)  # the claim loop learns it was sent
    eager.arm(shot)
    assert eager.disarm(shot) and not eager.on_notify("a")  # taken back: never sent
    assert fired == [True]


async def test_one_queue_claim_takes_what_the_fair_claim_takes(db8: Any) -> None:
    await db8.execute("""
        INSERT INTO rum_jobs (job, queue, priority, run_at, channel)
        SELECT 'Seen', q, (i % 3), now() - (i % 5) * interval '1 second',
               CASE WHEN i % 7 = 0 THEN 'ch' END
          FROM generate_series(1, 40) AS i, unnest(ARRAY['default', 'other']) AS q""")
    await db8.execute("UPDATE rum_jobs SET job = 'Other' WHERE id % 11 = 0")
    await db8.execute("UPDATE rum_jobs SET run_at = now() + interval '1 hour' WHERE id % 13 = 0")
    args = (["default"], 7, ["Seen"], "w", 30.0)
    picked = []
    for statement in (sql.CLAIM_FAIR, sql.CLAIM_ONE, sql.CLAIM_FAIR, sql.CLAIM_ONE):
        picked.append(sorted(r["id"] for r in await db8.fetch(statement, *args)))
        await db8.execute("UPDATE rum_jobs SET status = 'scheduled', attempt = 0, "
                          "worker = NULL, started_at = NULL, lease_expires_at = NULL "
                          "WHERE status = 'running'")
    assert len(picked[0]) == 7 and all(p == picked[0] for p in picked), picked
