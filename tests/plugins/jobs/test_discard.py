"""``discard_job`` on the real PostgreSQL: waiting and failed jobs are discarded with the
reason recorded; running, finished and missing jobs are refused; dependents are cancelled."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from rum_jobs import Job, Worker, discard_job, get_job, retry_job

pytestmark = pytest.mark.postgres


class Noop(Job):
    async def execute(self, args: Any) -> None:
        return None


class Fails(Job):
    max_attempts = 1

    async def execute(self, args: Any) -> None:
        raise ValueError("nope")


class Blocks(Job):
    started = trio.Event()

    async def execute(self, args: Any) -> None:
        Blocks.started.set()
        await trio.sleep_forever()


async def test_discard_a_failed_job_records_the_reason(jdb: Any) -> None:
    failed = await Fails.enqueue(db=jdb)
    await Worker([Fails], db=jdb).drain()
    assert (await get_job(jdb, failed)).status == "failed"
    assert await discard_job(jdb, failed, "bad address, not worth retrying")
    record = await get_job(jdb, failed)
    assert record.status == "discarded" and record.finished_at is not None
    assert [e["kind"] for e in record.errors] == ["error", "discarded"]
    assert record.errors[-1]["error"] == "bad address, not worth retrying"
    assert not await discard_job(jdb, failed)  # already discarded
    assert await retry_job(jdb, failed)  # a discarded job can still be retried by hand


async def test_discard_waiting_jobs_and_refuse_finished_or_missing(jdb: Any) -> None:
    scheduled = await Noop.enqueue(db=jdb, run_in=3600)
    assert await discard_job(jdb, scheduled)
    record = await get_job(jdb, scheduled)
    assert record.status == "discarded"
    assert record.errors[-1]["kind"] == "discarded"
    assert record.errors[-1]["error"] == "discarded by an operator"
    done = await Noop.enqueue(db=jdb)
    assert await Worker([Noop], db=jdb).drain() == 1
    assert not await discard_job(jdb, done)
    assert (await get_job(jdb, done)).status == "complete"
    assert not await discard_job(jdb, 987654)


async def test_discard_refuses_a_running_job(jdb: Any) -> None:
    Blocks.started = trio.Event()
    job_id = await Blocks.enqueue(db=jdb)
    worker = Worker([Blocks], db=jdb, poll_interval=0.1)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(10):
            await Blocks.started.wait()
        assert not await discard_job(jdb, job_id)
        assert (await get_job(jdb, job_id)).status == "running"
        nursery.cancel_scope.cancel()


async def test_discarding_a_prerequisite_cancels_its_dependent(jdb: Any) -> None:
    first = await Noop.enqueue(db=jdb, run_in=3600)
    then = await Noop.enqueue(db=jdb, after=[first])
    assert await discard_job(jdb, first)
    dependent = await get_job(jdb, then)
    assert dependent.status == "cancelled"
    assert str(first) in dependent.errors[-1]["error"]
    # a waiting dependent can be discarded itself, and stops waiting
    second = await Noop.enqueue(db=jdb, run_in=3600)
    waiting = await Noop.enqueue(db=jdb, after=[second])
    assert await discard_job(jdb, waiting)
    assert await jdb.fetchval("SELECT count(*) FROM rum_jobs_deps WHERE job_id = $1",
                              waiting) == 0
