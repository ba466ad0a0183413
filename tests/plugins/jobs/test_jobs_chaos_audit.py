"""Defects found by the chaos audit of the job queue, each pinned by a real worker on a real
PostgreSQL: a job raising a ``BaseException`` (which ended the worker)."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from rum_jobs import Job, Worker, get_job

pytestmark = pytest.mark.postgres


class RaisesBase(Job):
    max_attempts = 2
    backoff_base = 0.01

    async def execute(self, args: Any) -> Any:
        kind = args["kind"]
        if kind == "cancelled":
            with trio.CancelScope() as scope:
                scope.cancel()
                try:
                    await trio.sleep(1)
                except trio.Cancelled as exc:
                    caught: BaseException = exc
            raise caught
        raise {"SystemExit": SystemExit(3), "GeneratorExit": GeneratorExit(),
               "KeyboardInterrupt": KeyboardInterrupt()}[kind]


class Fine(Job):
    async def execute(self, args: Any) -> Any:
        return "ok"


@pytest.mark.parametrize("kind", ["SystemExit", "GeneratorExit", "cancelled"])
async def test_a_job_raising_a_base_exception_fails_its_attempts_and_the_worker_goes_on(
        jdb: Any, kind: str) -> None:
    bad = await RaisesBase.enqueue({"kind": kind}, db=jdb)
    worker = Worker([RaisesBase, Fine], db=jdb, lease=5, poll_interval=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(10):
            while (await get_job(jdb, bad)).status != "failed":
                await trio.sleep(0.05)
        fine = await Fine.enqueue({}, db=jdb)
        with trio.fail_after(10):
            while (await get_job(jdb, fine)).status != "complete":
                await trio.sleep(0.05)
        worker.stop()
    record = await get_job(jdb, bad)
    assert record.attempt == 2 and [e["kind"] for e in record.errors] == ["error", "error"]
    name = "Cancelled" if kind == "cancelled" else kind
    assert record.errors[-1]["error"].startswith(f"{name}:")
    assert record.errors[-1]["traceback"]


async def test_a_keyboard_interrupt_in_a_job_fails_the_attempt_and_stops_the_worker(
        jdb: Any) -> None:
    bad = await RaisesBase.enqueue({"kind": "KeyboardInterrupt"}, db=jdb)
    worker = Worker([RaisesBase], db=jdb, lease=5, poll_interval=0.05)
    with trio.fail_after(10):
        await worker.run()  # returns: a graceful stop, not the exception
    record = await get_job(jdb, bad)
    assert record.status == "retryable" and record.attempt == 1
    assert record.errors[0]["error"].startswith("KeyboardInterrupt")
