"""Defects found by the chaos audit of the job queue, each pinned by a real worker on a real
PostgreSQL: a job raising a ``BaseException`` (which ended the worker); a stalled worker
claiming its own released job again while the earlier attempt still ran in it; a cron fire
the database refused (lost); error texts and results ``jsonb`` cannot hold (the outcome never
written, or the worker ended); an outcome the database refused for more than 30 s (dropped,
then the job ran again under the same attempt)."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
from typing import Any

import pytest
import trio

from rum_jobs import Clock, Discard, Job, Retry, Worker, get_job

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


class Blocks(Job):
    """Attempt 1 waits for the test; later attempts finish after a short sleep."""

    runs: list[tuple[int, str]] = []
    release = trio.Event()

    async def execute(self, args: Any) -> Any:
        type(self).runs.append((self.attempt, "start"))
        try:
            if self.attempt == 1:
                await type(self).release.wait()
            else:
                await trio.sleep(0.3)
        except trio.Cancelled:
            type(self).runs.append((self.attempt, "interrupted"))
            raise
        type(self).runs.append((self.attempt, "end"))
        return {"attempt": self.attempt}


async def test_a_stalled_worker_that_claims_its_released_job_again_runs_one_attempt(
        jdb: Any) -> None:
    """The worker stalled past its lease, the job was released (as RESCUE does) and the same
    worker claimed it again before its heartbeat noticed: the earlier attempt must stop, and
    the later one must stay tracked (before the fix both ran, and when the earlier one ended
    it dropped the later one from the worker's books: the heartbeat then released the job
    as 'orphaned' while it ran, and it ran a third time under the same attempt number)."""
    Blocks.runs, Blocks.release = [], trio.Event()
    job_id = await Blocks.enqueue({}, db=jdb)
    # a long lease: the heartbeat (every lease/3) stays out of the way
    worker = Worker([Blocks], db=jdb, lease=3, poll_interval=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(5):
            while not Blocks.runs:
                await trio.sleep(0.01)
        await jdb.execute("UPDATE rum_jobs SET status = 'retryable', run_at = now(), "
                          "lease_expires_at = NULL WHERE id = $1", job_id)
        with trio.fail_after(5):
            while (2, "start") not in Blocks.runs:
                await trio.sleep(0.01)
        await trio.sleep(0.05)
        Blocks.release.set()  # (before the fix: attempt 1 was still running, and ends now)
        with trio.fail_after(5):
            while (await get_job(jdb, job_id)).status != "complete":
                await trio.sleep(0.05)
        await trio.sleep(2.5)  # two heartbeats: nothing of ours is taken for an orphan
        worker.stop()
    record = await get_job(jdb, job_id)
    assert Blocks.runs == [(1, "start"), (1, "interrupted"), (2, "start"), (2, "end")] or \
        Blocks.runs == [(1, "start"), (2, "start"), (1, "interrupted"), (2, "end")]
    assert record.attempt == 2 and record.result == {"attempt": 2}
    assert [e["kind"] for e in record.errors] == []


class Tick(Job):
    async def execute(self, args: Any) -> None:
        pass


@pytest.mark.slow
async def test_a_fire_that_fails_is_enqueued_late_not_lost(jdb: Any) -> None:
    """The database refuses the clock's inserts across two fire times (the table is renamed
    away: as a dropped connection or a restart at the fire time would): the first of them is
    enqueued once it can be, and an entry with catch_up gets the second too. Before, both
    were logged and lost (a single clock: the daily fire of a one-server app gone)."""
    plain = Tick.schedule({}, "* * * * * *", name="plain")
    caught = Tick.schedule({}, "* * * * * *", name="caught", catch_up=True)

    async def fires(name: str) -> list[dt.datetime]:
        rows = await jdb.fetch("SELECT run_at FROM rum_jobs WHERE unique_key LIKE $1 "
                               "ORDER BY run_at", f"key=cron:{name}:%")
        return [r["run_at"] for r in rows]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(Clock([plain, caught], db=jdb).run)
        with trio.fail_after(5):
            while not await fires("plain"):
                await trio.sleep(0.05)
        await jdb.execute("ALTER TABLE rum_jobs RENAME TO rum_jobs_away")
        try:
            await trio.sleep(2.2)  # two fire times at least
        finally:
            await jdb.execute("ALTER TABLE rum_jobs_away RENAME TO rum_jobs")
        back = dt.datetime.now(dt.UTC)
        with trio.fail_after(15):  # the clock tries again with backoff (0.1 s, doubling)
            while not [at for at in await fires("caught") if at > back]:
                await trio.sleep(0.1)
        nursery.cancel_scope.cancel()
    caught_fires, plain_fires = await fires("caught"), await fires("plain")
    steps = [(b - a).total_seconds() for a, b in itertools.pairwise(caught_fires)]
    assert len(caught_fires) >= 4 and set(steps) == {1.0}, caught_fires  # no fire missing
    # the plain entry: the first failed fire time is there, later missed ones are skipped
    plain_steps = [(b - a).total_seconds() for a, b in itertools.pairwise(plain_fires)]
    assert plain_steps[0] == 1.0 and max(plain_steps) <= 3.0, plain_fires


class UnstorableError(Job):
    max_attempts = 2
    backoff_base = 0.01

    async def execute(self, args: Any) -> Any:
        text = "bad \x00 byte" if args["what"] == "nul" else "bad \udcff byte"
        if args["how"] == "raise":
            raise ValueError(text)
        return Retry(text) if args["how"] == "retry" else Discard(text)


@pytest.mark.parametrize(("what", "how", "status"), [
    ("nul", "raise", "failed"), ("surrogate", "raise", "failed"),
    ("nul", "retry", "failed"), ("surrogate", "discard", "discarded")])
async def test_an_error_text_jsonb_cannot_hold_is_recorded_escaped(
        jdb: Any, what: str, how: str, status: str) -> None:
    """Before, the outcome could not be written (jsonb refuses NUL; the driver a lone
    surrogate): retried for 30 s, then given up, the job left 'running' and released again
    later without being charged: run over and over, never kept as failed."""
    job_id = await UnstorableError.enqueue({"what": what, "how": how}, db=jdb)
    worker = Worker([UnstorableError], db=jdb, lease=5, poll_interval=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(10):
            while (await get_job(jdb, job_id)).status != status:
                await trio.sleep(0.05)
        worker.stop()
    record = await get_job(jdb, job_id)
    shown = "\\x00" if what == "nul" else "\\udcff"
    assert f"bad {shown} byte" in record.errors[0]["error"]
    if how == "raise":
        assert shown in record.errors[0]["traceback"]


class Unrepresentable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr either")


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


class OddResult(Job):
    async def execute(self, args: Any) -> Any:
        return {"bigint": lambda: 10 ** 5000, "nested": lambda: _nested(5000),
                "unrepresentable": Unrepresentable,
                "numeric_overflow": lambda: 10 ** 140_000, "fine": lambda: "ok"}[args["kind"]]()


@pytest.mark.parametrize(("kind", "stored"), [
    ("bigint", "<int result that cannot be stored or shown"),
    ("nested", "<list result that cannot be stored or shown"),
    ("unrepresentable", "<Unrepresentable result that cannot be stored or shown"),
    # refused by PostgreSQL itself (jsonb numbers stop at 131,072 digits)
    ("numeric_overflow", "<result not stored: PostgreSQL refused it: value overflows")])
async def test_a_result_that_cannot_be_stored_is_a_note_and_the_others_complete(
        jdb: Any, kind: str, stored: str) -> None:
    """Before: the first three raised out of the worker (it stopped, every job it ran left
    'running'); the last made the whole completion batch fail, retried for 30 s, then left
    every job of the batch 'running', to be run again."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0 if kind == "numeric_overflow" else limit)
    try:
        odd = await OddResult.enqueue({"kind": kind}, db=jdb)
        fine = await OddResult.enqueue_many([{"kind": "fine"}] * 5, db=jdb)
        worker = Worker([OddResult], db=jdb, lease=5, poll_interval=0.05)
        async with trio.open_nursery() as nursery:
            await nursery.start(worker.run)
            with trio.fail_after(10):
                while await jdb.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                         "'complete'"):
                    await trio.sleep(0.05)
            worker.stop()
    finally:
        sys.set_int_max_str_digits(limit)
    record = await get_job(jdb, odd)
    assert record.result.startswith(stored) and record.attempt == 1
    assert [(await get_job(jdb, i)).result for i in fine] == ["ok"] * 5


class Once(Job):
    runs: list[int] = []
    release = trio.Event()

    async def execute(self, args: Any) -> Any:
        type(self).runs.append(self.attempt)
        await type(self).release.wait()
        return "done"


REFUSE_COMPLETIONS = """
CREATE OR REPLACE FUNCTION chaos_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'completions refused for a while'; END $$;
CREATE TRIGGER chaos_refuse BEFORE UPDATE ON rum_jobs FOR EACH ROW
    WHEN (NEW.status = 'complete') EXECUTE FUNCTION chaos_refuse();
"""


@pytest.mark.slow
async def test_an_outcome_the_database_refuses_for_long_is_written_not_dropped(
        jdb: Any) -> None:
    """The database refuses the completion for 33 s while the worker's lease is renewed (a
    long outage, as far as that write can tell). Before, the worker gave up after 30 s; its
    heartbeat then took the job for one it had never received, released it without charging
    the attempt, and it ran again under the same attempt number (error kind 'orphaned')."""
    Once.runs, Once.release = [], trio.Event()
    job_id = await Once.enqueue({}, db=jdb)
    worker = Worker([Once], db=jdb, lease=3, poll_interval=0.1)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(5):
            while not Once.runs:
                await trio.sleep(0.02)
        await jdb.execute(REFUSE_COMPLETIONS)
        try:
            Once.release.set()
            await trio.sleep(33)
        finally:
            await jdb.execute("DROP TRIGGER chaos_refuse ON rum_jobs; "
                              "DROP FUNCTION chaos_refuse()")
        with trio.fail_after(10):
            while (await get_job(jdb, job_id)).status != "complete":
                await trio.sleep(0.1)
        await trio.sleep(2.5)  # a few heartbeats: nothing is released afterwards
        worker.stop()
    record = await get_job(jdb, job_id)
    assert Once.runs == [1] and record.attempt == 1 and record.errors == []
    assert record.result == "done"
