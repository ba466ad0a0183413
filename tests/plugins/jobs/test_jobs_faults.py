"""Exact outcomes and delays: sub-second retries, leases covering unwritten completions,
sync/threaded execute, blocking jobs, data refused at enqueue, unknown job classes, hand-edited
timeouts, and enqueue inside ``db.transaction()`` without an App."""

from __future__ import annotations

import math
import threading
import time
from typing import Any

import pytest
import trio

from rum.errors import RumError
from rum_jobs import Job, NewJob, Retry, Snooze, Worker, enqueue_many, get_job

pytestmark = pytest.mark.postgres


# -- delays keep their fractions of a second --------------------------------------------------


class Timed(Job):
    """Records when each attempt started; retries/snoozes as its args say."""

    starts: dict[int, list[float]] = {}

    async def execute(self, args: Any) -> Any:
        type(self).starts.setdefault(self.id, []).append(time.monotonic())
        if len(type(self).starts[self.id]) == 1:
            if args["how"] == "retry":
                return Retry(after=args["after"])
            return Snooze(after=args["after"])
        return "ok"


@pytest.mark.parametrize("how", ["retry", "snooze"])
async def test_sub_second_delays_are_kept(jdb: Any, how: str) -> None:
    Timed.starts = {}
    ids = await enqueue_many([(Timed, {"how": how, "after": 0.4})] * 5, db=jdb)
    worker = Worker([Timed], db=jdb, poll_interval=0.02)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(10):
            while not all(len(Timed.starts.get(i, [])) == 2 for i in ids):
                await trio.sleep(0.02)
        worker.stop()
    gaps = [Timed.starts[i][1] - Timed.starts[i][0] for i in ids]
    # truncated to whole seconds the delay would be 0 and the second run immediate
    assert all(0.38 <= gap < 1.5 for gap in gaps), gaps


async def test_a_retry_delay_of_0_3_s_is_stored_as_0_3_s(jdb: Any) -> None:
    job_id = await Echo.enqueue({}, db=jdb, max_attempts=2)
    worker = Worker([Echo], db=jdb)
    [run] = await worker._claim(1)
    await worker._finish(run, "retryable", 0.3, None)
    delay = await jdb.fetchval("SELECT extract(epoch FROM run_at - now()) FROM rum_jobs "
                               "WHERE id = $1", job_id)
    assert 0.2 < float(delay) <= 0.3


# -- leases cover jobs whose completion is not written yet -------------------------------------


class Quick(Job):
    runs: list[int] = []

    async def execute(self, args: Any) -> Any:
        type(self).runs.append(self.id)


async def test_lease_covers_a_job_until_its_completion_is_written(jdb: Any) -> None:
    Quick.runs = []
    job_id = await Quick.enqueue(db=jdb)
    slow = Worker([Quick], db=jdb, lease=0.6, poll_interval=0.05, name="slow-writer")
    write = slow._write_completions

    async def late_write(batch: list[dict[str, Any]]) -> None:
        await trio.sleep(2.0)  # > 3 leases: the heartbeat must keep the job ours meanwhile
        await write(batch)

    slow._write_completions = late_write  # type: ignore[method-assign]
    other = Worker([Quick], db=jdb, lease=0.6, poll_interval=0.05, name="rescuer")
    async with trio.open_nursery() as nursery:
        await nursery.start(slow.run)
        with trio.fail_after(5):
            while not Quick.runs:
                await trio.sleep(0.01)
        await nursery.start(other.run)  # its rescuer runs every 0.25 s meanwhile
        with trio.fail_after(6):
            while (await get_job(jdb, job_id)).status != "complete":
                await trio.sleep(0.05)
        slow.stop()
        other.stop()
    row = await get_job(jdb, job_id)
    assert Quick.runs == [job_id] and row.attempt == 1 and row.errors == []
    assert row.worker == "slow-writer"


# -- execute: async, threaded, blocking --------------------------------------------------------


def test_a_plain_def_execute_is_refused_when_the_class_is_defined() -> None:
    with pytest.raises(TypeError, match=r"must be `async def execute.*threaded = True"):
        class Plain(Job):
            def execute(self, args: Any) -> Any:  # type: ignore[override]
                return None

    with pytest.raises(TypeError, match="threaded = True"):
        class Mixed(Job):
            threaded = True

            async def execute(self, args: Any) -> Any:
                return None


class Threaded(Job):
    threaded = True
    stopped = threading.Event()

    def execute(self, args: Any) -> Any:  # type: ignore[override]
        if args.get("spin"):
            try:
                while True:  # pure Python: interruptible at the next bytecode
                    sum(range(100))
            finally:
                type(self).stopped.set()
        time.sleep(args.get("sleep", 0))
        return {"thread": threading.current_thread() is not threading.main_thread(),
                "raw": b"\x00\xff"}


async def test_threaded_job_runs_in_a_thread_without_blocking_the_loop(jdb: Any) -> None:
    ids = await enqueue_many([(Threaded, {"sleep": 0.3})] * 4, db=jdb)
    worker = Worker([Threaded], db=jdb, concurrency=4)
    started = trio.current_time()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await trio.sleep(0.01)
            ticks += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(tick)
        assert await worker.drain() == 4
        nursery.cancel_scope.cancel()
    elapsed = trio.current_time() - started
    assert elapsed < 1.0  # four 0.3 s sleeps ran side by side
    assert ticks >= 10    # and the event loop kept running meanwhile
    for job_id in ids:
        row = await get_job(jdb, job_id)
        assert row.status == "complete" and row.result == {"thread": True, "raw": b"\x00\xff"}


async def test_threaded_timeout_interrupts_pure_python_code(jdb: Any) -> None:
    Threaded.stopped = threading.Event()
    job_id = await Threaded.enqueue({"spin": True}, db=jdb, timeout=0.3, max_attempts=1)
    worker = Worker([Threaded], db=jdb)
    with trio.fail_after(5):
        await worker.drain()
    row = await get_job(jdb, job_id)
    assert row.status == "failed" and "exceeded the job's timeout of 0.3s" in row.last_error
    with trio.fail_after(5):
        while not Threaded.stopped.is_set():
            await trio.sleep(0.02)


class Blocking(Job):
    async def execute(self, args: Any) -> Any:
        time.sleep(args["seconds"])  # the mistake under test: blocking in async code
        return "finished anyway"


async def test_blocking_async_job_past_its_timeout_is_a_timeout_that_says_why(jdb: Any) -> None:
    job_id = await Blocking.enqueue({"seconds": 0.8}, db=jdb, timeout=0.2, max_attempts=1)
    worker = Worker([Blocking], db=jdb, poll_interval=0.05)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(10):
            while (await get_job(jdb, job_id)).status != "failed":
                await trio.sleep(0.05)
        worker.stop()
    error = (await get_job(jdb, job_id)).last_error
    assert "exceeded the job's timeout of 0.2s" in error
    assert "blocked the event loop" in error and "threaded = True" in error


# -- data: refused at enqueue, bytes round-trip ------------------------------------------------


class Echo(Job):
    async def execute(self, args: Any) -> Any:
        return args


@pytest.mark.parametrize(("args", "error", "match"), [
    ({"x": math.nan}, ValueError, r"Echo args\['x'\] is nan.*finite"),
    ({"x": [1, math.inf]}, ValueError, r"Echo args\['x'\]\[1\] is inf"),
    ({"x": {1, 2}}, TypeError, r"Echo args\['x'\] is a set.*pass a list"),
    ({"when": __import__("datetime").datetime(2026, 1, 1)}, TypeError, r"isoformat"),
    ({1: "int key"}, TypeError, "keys of job data must be strings"),
    ({"x": object()}, TypeError, r"is a object"),
    ({"$rum:bytes": "x"}, ValueError, "reserved for bytes"),
    ({"note": "a\x00b"}, ValueError, r"Echo args\['note'\] holds a NUL character"),
    ({"x": ["ok", "\udc00"]}, ValueError, r"Echo args\['x'\]\[1\] holds a lone surrogate"),
    ({"k\x00": 1}, ValueError, r"Echo args key 'k\\x00' holds a NUL"),
])
async def test_bad_data_is_refused_at_enqueue(jdb: Any, args: Any, error: type,
                                              match: str) -> None:
    with pytest.raises(error, match=match):
        await Echo.enqueue(args, db=jdb)
    with pytest.raises(error, match=match):
        await Echo.enqueue_many([{"fine": "é"}, args], db=jdb)
    assert await jdb.fetchval("SELECT count(*) FROM rum_jobs") == 0


@pytest.mark.parametrize(("option", "match"), [
    ({"timeout": -1}, "positive, finite"),
    ({"timeout": math.nan}, "positive, finite"),
    ({"run_in": math.inf}, "finite number of seconds"),
    ({"priority": "high"}, "must be an int"),
])
async def test_bad_options_are_refused_at_enqueue(jdb: Any, option: dict[str, Any],
                                                  match: str) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        await Echo.enqueue({}, db=jdb, **option)


async def test_bytes_round_trip_as_bytes(jdb: Any) -> None:
    payload = {"blob": b"\x00\x01\xfe", "nested": [bytearray(b"ab"), {"m": memoryview(b"z")}]}
    job_id = await Echo.enqueue(payload, db=jdb)
    assert await Worker([Echo], db=jdb).drain() == 1
    row = await get_job(jdb, job_id)
    expected = {"blob": b"\x00\x01\xfe", "nested": [b"ab", {"m": b"z"}]}
    assert row.args == expected and row.result == expected and row.status == "complete"


# -- rows no class matches; hand-edited timeouts -----------------------------------------------


async def test_jobs_no_worker_has_a_class_for_are_failed_with_a_clear_error(jdb: Any) -> None:
    from rum_jobs.store import insert_jobs

    [ghost] = await insert_jobs(jdb, [NewJob(job="Ghost")])
    known = await Echo.enqueue({}, db=jdb)
    worker = Worker([Echo], db=jdb, poll_interval=0.05, lease=0.6, unknown_job_grace=0.3)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(8):
            while (await get_job(jdb, ghost)).status != "failed":
                await trio.sleep(0.05)
        worker.stop()
    row = await get_job(jdb, ghost)
    assert row.last_error == "no job class named Ghost; registered: Echo"
    assert row.errors[-1]["kind"] == "unknown_job" and row.attempt == 0
    assert worker.stats["unknown_job"] == 1
    assert (await get_job(jdb, known)).status == "complete"


async def test_a_hand_edited_bad_timeout_is_refused_by_the_table(jdb: Any) -> None:
    job_id = await Echo.enqueue({}, db=jdb, timeout=5)
    for bad in ("-1", "'NaN'", "'Infinity'", "0"):
        with pytest.raises(Exception, match="rum_jobs_timeout_check"):
            await jdb.execute(f"UPDATE rum_jobs SET timeout = {bad} WHERE id = $1", job_id)


# -- enqueue inside db.transaction() in a program without an App -------------------------------


async def test_enqueue_inside_a_transaction_without_an_app(jobs_database_url: str,
                                                          jdb: Any) -> None:
    from rum_orm import Database

    async with Database.open(jobs_database_url, pool_min=1, pool_max=2) as db:
        async with db.transaction():
            kept = await Echo.enqueue({"kept": True})  # no db=, no App
        with pytest.raises(RuntimeError, match="roll back"):
            async with db.transaction():
                await Echo.enqueue({"kept": False})
                raise RuntimeError("roll back")
        with pytest.raises(ZeroDivisionError):
            async with db.transaction():
                await Echo.enqueue_many([{"kept": False}] * 3)
                1 / 0  # noqa: B018
    rows = await jdb.fetch("SELECT id, args::text FROM rum_jobs")
    assert [r["id"] for r in rows] == [kept]


async def test_enqueue_with_no_database_anywhere_says_how_to_give_one() -> None:
    with pytest.raises(RumError, match=r"no database to enqueue jobs in.*db.transaction"):
        await Echo.enqueue({})


# -- a stalled worker process is told apart from a dead one -------------------------------------


@pytest.mark.slow
async def test_a_stalled_worker_process_is_recorded_as_stalled(jdb: Any,
                                                               jobs_database_url: str) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    from jobs_chaos_helper import StallJob

    lease = 0.9
    job_id = await StallJob.enqueue({"seconds": 4}, db=jdb)
    helper = Path(__file__).with_name("jobs_chaos_helper.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(helper.parent), *sys.path])}
    proc = subprocess.Popen([sys.executable, str(helper), jobs_database_url, str(lease), "2"],
                            env=env)
    try:
        with trio.fail_after(20):
            while (await get_job(jdb, job_id)).status != "running":
                await trio.sleep(0.05)
        rescuer = Worker([StallJob], db=jdb, lease=lease, poll_interval=0.05, name="rescuer")
        async with trio.open_nursery() as nursery:
            await nursery.start(rescuer.run)
            with trio.fail_after(10):
                while (await get_job(jdb, job_id)).status != "complete":
                    await trio.sleep(0.05)
            rescuer.stop()
        await trio.sleep(4)  # the stalled process wakes up: its late outcome is not written
    finally:
        proc.kill()
        proc.wait()
    row = await get_job(jdb, job_id)
    assert row.status == "complete" and row.attempt == 2 and row.worker == "rescuer"
    assert row.result == {"attempt": 2, "pid": os.getpid()}
    assert [e["kind"] for e in row.errors] == ["stalled"]
    assert "is alive but stopped renewing its lease" in row.errors[0]["error"]


# -- table health -------------------------------------------------------------------------------


async def test_pruning_in_batches_then_vacuuming_makes_the_space_reusable(jdb: Any) -> None:
    from rum_jobs import Pruner, store

    await jdb.execute("INSERT INTO rum_jobs (job, status, finished_at) SELECT 'Echo', "
                      "'complete', now() - interval '1 hour' FROM generate_series(1, 12000)")
    # rows that stay, after the pruned ones (so vacuum cannot just truncate the table)
    await jdb.execute("INSERT INTO rum_jobs (job) SELECT 'Echo' FROM generate_series(1, 100)")
    store_batch = store.PRUNE_BATCH
    store.PRUNE_BATCH = 5000  # three statements: 5000, 5000, 2000
    try:
        pruner = Pruner(max_age={"complete": 60}, vacuum_after=10_000)
        assert await pruner.prune_once(jdb) == 12_000
    finally:
        store.PRUNE_BATCH = store_batch
    assert await jdb.fetchval("SELECT count(*) FROM rum_jobs") == 100
    # the pruner vacuumed: the dead rows are gone, their pages free for new rows
    with trio.fail_after(5):
        while await jdb.fetchval("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname "
                                 "= 'rum_jobs'") == 0:
            await trio.sleep(0.1)
    pages = await jdb.fetchval("SELECT pg_relation_size('rum_jobs') / 8192")
    await jdb.execute("INSERT INTO rum_jobs (job) SELECT 'Echo' FROM generate_series(1, 12000)")
    assert await jdb.fetchval("SELECT pg_relation_size('rum_jobs') / 8192") <= pages + 2
