"""Enqueue → execute, results, retries, exhaustion, run_at, options, history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import trio

from rum_jobs import (
    Cancel,
    Discard,
    Done,
    Job,
    Retry,
    Snooze,
    Worker,
    enqueue_many,
    get_job,
    list_jobs,
)

pytestmark = pytest.mark.postgres


class Record(Job):
    """Appends its args to a list passed in through the class (per test)."""

    seen: list[Any] = []

    async def execute(self, args: Any) -> Any:
        type(self).seen.append(args)
        return {"echo": args}


async def test_enqueue_then_execute_with_result(jdb: Any) -> None:
    Record.seen = []
    job_id = await Record.enqueue({"n": 1}, db=jdb, tags=["a", "b"], priority=3)
    row = await get_job(jdb, job_id)
    assert row.status == "scheduled" and row.tags == ["a", "b"] and row.priority == 3
    assert await Worker([Record], db=jdb).drain() == 1
    assert Record.seen == [{"n": 1}]
    row = await get_job(jdb, job_id)
    assert row.status == "complete"
    assert row.attempt == 1
    assert row.result == {"echo": {"n": 1}}
    assert row.finished_at is not None and row.errors == []


class Flaky(Job):
    max_attempts = 3
    backoff_base = 0.0
    calls = 0

    async def execute(self, args: Any) -> None:
        type(self).calls += 1
        if self.attempt < args["succeed_on"]:
            raise RuntimeError(f"boom on attempt {self.attempt}")


async def test_retry_then_success(jdb: Any) -> None:
    Flaky.calls = 0
    job_id = await Flaky.enqueue({"succeed_on": 2}, db=jdb)
    assert await Worker([Flaky], db=jdb).drain() == 2
    row = await get_job(jdb, job_id)
    assert row.status == "complete" and row.attempt == 2
    assert [e["error"] for e in row.errors] == ["RuntimeError: boom on attempt 1"]
    assert "Traceback" in row.errors[0]["traceback"]


async def test_exhausted_retries_keep_every_error(jdb: Any) -> None:
    Flaky.calls = 0
    job_id = await Flaky.enqueue({"succeed_on": 99}, db=jdb)
    assert await Worker([Flaky], db=jdb).drain() == 3
    row = await get_job(jdb, job_id)
    assert row.status == "failed" and row.attempt == 3 and Flaky.calls == 3
    assert [e["attempt"] for e in row.errors] == [1, 2, 3]
    assert all("boom on attempt" in e["error"] and "RuntimeError" in e["traceback"]
               for e in row.errors)
    assert [r.id for r in await list_jobs(jdb, status="failed")] == [job_id]


async def test_backoff_grows_exponentially_with_jitter() -> None:
    job = Flaky()
    Flaky.backoff_base = 2.0
    try:
        delays = [job.retry_delay(n) for n in (1, 2, 3, 4)]
    finally:
        Flaky.backoff_base = 0.0
    for n, d in enumerate(delays, start=1):
        expected = 2.0 * 2 ** (n - 1)
        assert expected * 0.8 <= d <= expected * 1.2


async def test_run_at_in_the_future_waits(jdb: Any) -> None:
    Record.seen = []
    later = await Record.enqueue({"when": "later"}, db=jdb, run_in=1.0)
    at = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    much_later = await Record.enqueue({"when": "much later"}, db=jdb, run_at=at)
    worker = Worker([Record], db=jdb)
    assert await worker.drain() == 0
    await trio.sleep(1.1)
    assert await worker.drain() == 1
    assert Record.seen == [{"when": "later"}]
    assert (await get_job(jdb, later)).status == "complete"
    row = await get_job(jdb, much_later)
    assert row.status == "scheduled" and abs((row.run_at - at).total_seconds()) < 0.001


class Outcomes(Job):
    max_attempts = 2

    async def execute(self, args: Any) -> Any:
        kind = args["kind"]
        if kind == "done":
            return Done({"ok": True})
        if kind == "retry":
            return Retry("try later", after=3600)
        if kind == "snooze":
            return Snooze(3600)
        if kind == "cancel":
            return Cancel("no longer needed")
        return Discard("bad input")


async def test_explicit_results(jdb: Any) -> None:
    ids = await enqueue_many([(Outcomes, {"kind": k}) for k in
                              ("done", "retry", "snooze", "cancel", "discard")], db=jdb)
    seen: list[tuple[str, str]] = []
    worker = Worker([Outcomes], db=jdb,
                    observer=lambda name, outcome, secs: seen.append((name, outcome)))
    assert await worker.drain() == 5
    assert sorted(seen) == sorted(("Outcomes", o) for o in
                                  ("complete", "retried", "snoozed", "cancelled", "discarded"))
    done, retry, snooze, cancel, discard = [await get_job(jdb, i) for i in ids]
    assert (done.status, done.result) == ("complete", {"ok": True})
    assert retry.status == "retryable" and retry.attempt == 1
    assert retry.errors[0]["error"] == "try later"
    assert (retry.run_at - dt.datetime.now(dt.UTC)).total_seconds() > 3500
    assert snooze.status == "scheduled" and snooze.attempt == 0 and snooze.errors == []
    assert (snooze.run_at - dt.datetime.now(dt.UTC)).total_seconds() > 3500
    assert cancel.status == "cancelled" and cancel.errors[-1]["error"] == "no longer needed"
    assert discard.status == "discarded" and discard.errors[-1]["kind"] == "discarded"


class Slow(Job):
    timeout = 0.2
    max_attempts = 1

    async def execute(self, args: Any) -> None:
        await trio.sleep(5)


async def test_timeout_fails_the_attempt(jdb: Any) -> None:
    job_id = await Slow.enqueue(db=jdb)
    with trio.fail_after(3):
        await Worker([Slow], db=jdb).drain()
    row = await get_job(jdb, job_id)
    assert row.status == "failed"
    assert "timeout of 0.2s" in row.errors[0]["error"]


async def test_bulk_enqueue_is_one_statement_in_order(jdb: Any) -> None:
    ids = await Record.enqueue_many([{"i": i} for i in range(500)], db=jdb, queue="bulk")
    assert len(ids) == 500 and ids == sorted(ids)
    rows = await list_jobs(jdb, queue="bulk", limit=1000, newest_first=False)
    assert [r.args["i"] for r in rows] == list(range(500))


async def test_enqueue_options_are_validated(jdb: Any) -> None:
    with pytest.raises(ValueError, match="run_at= or run_in="):
        await Record.enqueue(db=jdb, run_in=1, run_at=dt.datetime.now(dt.UTC))
    with pytest.raises(ValueError, match="no timezone"):
        await Record.enqueue(db=jdb, run_at=dt.datetime.now())
    with pytest.raises(ValueError, match="max_attempts"):
        await Record.enqueue(db=jdb, max_attempts=0)
