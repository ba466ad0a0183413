"""Uniqueness, transactional enqueue, ordered channels, checkpoints, fairness, operations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import trio

from rum_jobs import (
    Job,
    Pruner,
    Unique,
    Worker,
    cancel_job,
    count_jobs,
    get_job,
    list_jobs,
    retry_job,
)

pytestmark = pytest.mark.postgres


class Noop(Job):
    async def execute(self, args: Any) -> None:
        return None


class ByArgs(Job):
    unique = Unique(by=("job", "args"))

    async def execute(self, args: Any) -> None:
        return None


async def test_unique_by_job_and_args_skips_duplicates(jdb: Any) -> None:
    a = await ByArgs.enqueue({"user": 1}, db=jdb)
    b = await ByArgs.enqueue({"user": 1}, db=jdb)
    c = await ByArgs.enqueue({"user": 2}, db=jdb)
    assert a == b != c
    # same args in another key order are the same args
    d = await ByArgs.enqueue({"b": 1, "a": 2}, db=jdb)
    assert await ByArgs.enqueue({"a": 2, "b": 1}, db=jdb) == d
    # once complete, the default statuses (not finished) no longer conflict
    await Worker([ByArgs], db=jdb).drain()
    assert await ByArgs.enqueue({"user": 1}, db=jdb) != a


async def test_unique_by_queue_within_window_and_statuses(jdb: Any) -> None:
    rule = Unique(by=("job", "queue"), within=0.5, statuses=("scheduled", "complete"))
    a = await Noop.enqueue({"x": 1}, db=jdb, unique_by=rule)
    assert await Noop.enqueue({"x": 2}, db=jdb, unique_by=rule) == a      # same queue
    other = await Noop.enqueue({"x": 3}, db=jdb, unique_by=rule, queue="other")
    assert other != a
    await trio.sleep(0.6)  # outside the window: no conflict
    assert await Noop.enqueue({"x": 4}, db=jdb, unique_by=rule) not in (a, other)


async def test_unique_replace_updates_the_waiting_job(jdb: Any) -> None:
    rule = Unique(by=("job",), on_conflict="replace")
    a = await Noop.enqueue({"v": 1}, db=jdb, unique_by=rule, priority=1, run_in=3600)
    b = await Noop.enqueue({"v": 2}, db=jdb, unique_by=rule, priority=9)
    assert a == b
    row = await get_job(jdb, a)
    assert row.args == {"v": 2} and row.priority == 9
    assert row.run_at <= dt.datetime.now(dt.UTC)
    assert len(await list_jobs(jdb, job=Noop)) == 1


async def test_unique_enqueues_racing_insert_once(jdb: Any) -> None:
    ids: list[int] = []

    async def one() -> None:
        ids.append(await ByArgs.enqueue({"race": True}, db=jdb))

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(one)
    assert len(set(ids)) == 1
    assert len(await list_jobs(jdb, job="ByArgs")) == 1


async def test_enqueue_in_rolled_back_transaction_never_runs(jdb: Any) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with jdb.transaction():
            await Noop.enqueue({"in": "tx"}, db=jdb)          # joins the transaction
            assert len(await list_jobs(jdb)) == 1             # visible inside it
            raise Boom
    assert await list_jobs(jdb) == []
    assert await Worker([Noop], db=jdb).drain() == 0
    async with jdb.transaction():
        kept = await Noop.enqueue({"in": "committed"}, db=jdb)
    assert (await get_job(jdb, kept)).status == "scheduled"


class Ordered(Job):
    channel = "account-7"
    log: list[int] = []

    async def execute(self, args: Any) -> Any:
        type(self).log.append(args["n"])
        await trio.sleep(0.01 * (5 - args["n"] % 5))  # later jobs would finish sooner
        if args.get("fail_once") and self.attempt == 1:
            raise RuntimeError("first try fails")
        return None


async def test_ordered_channel_runs_strictly_in_order(jdb: Any) -> None:
    Ordered.log = []
    Ordered.backoff_base = 0.0
    await Ordered.enqueue_many([{"n": i, "fail_once": i == 2} for i in range(6)], db=jdb)
    unordered = await Noop.enqueue_many([{} for _ in range(3)], db=jdb)
    worker = Worker([Ordered, Noop], db=jdb, concurrency=8)
    first = await worker._claim(8)
    # only the head of the channel is claimable, besides unrelated jobs
    assert sorted(r.job for r in first) == ["Noop", "Noop", "Noop", "Ordered"]
    assert {r.id for r in first if r.job == "Noop"} == set(unordered)
    async with trio.open_nursery() as nursery:
        for run in first:
            nursery.start_soon(worker._run_job, run)
    await worker._flush_all()
    await worker.drain()
    # the failing job 2 was retried before 3 started
    assert Ordered.log == [0, 1, 2, 2, 3, 4, 5]
    assert all(r.status == "complete" for r in await list_jobs(jdb, job=Ordered))


class Resumable(Job):
    steps_run: list[int] = []
    backoff_base = 0.0

    async def execute(self, args: Any) -> Any:
        start = (self.checkpoint or {}).get("next", 0)
        for step in range(start, args["steps"]):
            type(self).steps_run.append(step)
            if step == 3 and self.attempt == 1:
                raise RuntimeError("crashed in the middle")
            await self.save_checkpoint({"next": step + 1})
        return {"resumed_from": start}


async def test_checkpoint_resumes_on_retry(jdb: Any) -> None:
    Resumable.steps_run = []
    job_id = await Resumable.enqueue({"steps": 6}, db=jdb)
    assert await Worker([Resumable], db=jdb).drain() == 2
    assert Resumable.steps_run == [0, 1, 2, 3, 3, 4, 5]
    row = await get_job(jdb, job_id)
    assert row.status == "complete" and row.result == {"resumed_from": 3}
    assert row.checkpoint == {"next": 6}


async def test_fair_delivery_across_queues(jdb: Any) -> None:
    await Noop.enqueue_many([{} for _ in range(50)], db=jdb, queue="busy")
    await Noop.enqueue_many([{} for _ in range(2)], db=jdb, queue="quiet")
    worker = Worker([Noop], db=jdb, queues=["busy", "quiet"], concurrency=4)
    claimed = await worker._claim(4)
    assert sorted(r.queue for r in claimed) == ["busy", "busy", "quiet", "quiet"]


async def test_priority_orders_claims(jdb: Any) -> None:
    low = await Noop.enqueue(db=jdb, priority=0)
    high = await Noop.enqueue(db=jdb, priority=10)
    worker = Worker([Noop], db=jdb, concurrency=1)
    assert [r.id for r in await worker._claim(1)] == [high]
    assert [r.id for r in await worker._claim(1)] == [low]


async def test_worker_only_claims_jobs_it_knows(jdb: Any) -> None:
    await Noop.enqueue(db=jdb)
    await ByArgs.enqueue({}, db=jdb)
    assert await Worker([ByArgs], db=jdb).drain() == 1
    assert (await count_jobs(jdb)) == {"complete": 1, "scheduled": 1}


async def test_retry_cancel_and_prune(jdb: Any) -> None:
    class Fails(Job):
        max_attempts = 1

        async def execute(self, args: Any) -> None:
            raise ValueError("nope")

    failed = await Fails.enqueue(db=jdb)
    waiting = await Noop.enqueue(db=jdb, run_in=3600)
    await Worker([Fails], db=jdb).drain()
    assert (await get_job(jdb, failed)).status == "failed"
    assert await retry_job(jdb, failed)
    row = await get_job(jdb, failed)
    assert row.status == "retryable" and row.max_attempts == 2
    assert await cancel_job(jdb, waiting)
    assert not await cancel_job(jdb, waiting)
    assert (await get_job(jdb, waiting)).status == "cancelled"

    await Noop.enqueue_many([{} for _ in range(5)], db=jdb)
    await Worker([Noop], db=jdb).drain()
    assert await Pruner(max_count={"complete": 2}).prune_once(jdb) == 3
    await trio.sleep(0.2)
    assert await Pruner(max_age={"complete": 0.1, "cancelled": 0.1}).prune_once(jdb) == 3
    assert await count_jobs(jdb) == {"retryable": 1}
    with pytest.raises(ValueError, match="only finished jobs"):
        await Pruner(max_age={"running": 1}).prune_once(jdb)
