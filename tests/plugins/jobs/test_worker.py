"""Live workers: NOTIFY wake-up, the clock, graceful shutdown, leases and a SIGKILLed worker
process whose job another worker re-runs."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import trio
from jobs_crash_helper import LOG_TABLE, CrashJob

from rum_jobs import CronEntry, Job, Worker, get_job, list_jobs

pytestmark = pytest.mark.postgres


class Stamp(Job):
    """Records when it ran."""

    ran: dict[int, float] = {}

    async def execute(self, args: Any) -> None:
        type(self).ran[self.id] = time.perf_counter()


async def test_notify_wakes_an_idle_worker_within_milliseconds(jdb: Any) -> None:
    Stamp.ran = {}
    worker = Worker([Stamp], db=jdb, poll_interval=30)  # polling alone would take 30 s
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        await trio.sleep(0.2)  # the worker is idle, waiting
        latencies = []
        for _ in range(5):
            sent = time.perf_counter()
            job_id = await Stamp.enqueue(db=jdb)
            with trio.fail_after(5):
                while job_id not in Stamp.ran:
                    await trio.sleep(0.001)
            latencies.append(Stamp.ran[job_id] - sent)
            await trio.sleep(0.05)
        worker.stop()
    # polling alone would take 30 s; NOTIFY takes milliseconds (generous bounds: shared CI)
    assert max(latencies) < 2.0, latencies
    assert sorted(latencies)[2] < 0.5, latencies
    assert all(r.status == "complete" for r in await list_jobs(jdb))


class Tick(Job):
    runs: list[int] = []

    async def execute(self, args: Any) -> None:
        type(self).runs.append(self.id)


async def test_cron_fires_once_per_time_with_two_workers(jdb: Any) -> None:
    Tick.runs = []
    entry = Tick.schedule({"every": "second"}, "* * * * * *")
    workers = [Worker([Tick], db=jdb, schedules=[entry], poll_interval=0.1, name=f"w{i}")
               for i in range(2)]
    async with trio.open_nursery() as nursery:
        for w in workers:
            await nursery.start(w.run)
        await trio.sleep(3.2)
        for w in workers:
            w.stop()
    rows = await list_jobs(jdb, job=Tick, limit=100)
    keys = [r.unique_key for r in rows]
    assert len(rows) >= 3
    assert len(set(keys)) == len(keys)  # one job per fire time
    fire_times = sorted(r.run_at for r in rows)
    assert all((b - a) == dt.timedelta(seconds=1) for a, b in itertools.pairwise(fire_times))
    done = [r for r in rows if r.status == "complete"]
    assert sorted(Tick.runs) == sorted(r.id for r in done)  # each ran exactly once
    assert len(Tick.runs) >= 2


def test_cron_entries_parse_five_and_six_fields_with_timezones() -> None:
    six = Tick.schedule({}, "0 0 9 * * *", timezone="Europe/Paris")
    before_dst = dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC)
    nxt = six.next_after(before_dst)
    assert nxt.utcoffset() == dt.timedelta(hours=2)  # summer time started on the 29th
    assert (nxt.hour, nxt.minute, nxt.second) == (9, 0, 0)
    assert nxt.astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 7, 0, tzinfo=dt.UTC)
    five = Tick.schedule({}, "30 6 * * 1", timezone="UTC")  # Mondays 06:30
    assert five.next_after(before_dst) == dt.datetime(2026, 3, 30, 6, 30, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="5 fields"):
        Tick.schedule({}, "* * *")
    with pytest.raises(ValueError, match="unknown timezone"):
        Tick.schedule({}, "* * * * *", timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="not valid"):
        Tick.schedule({}, "99 * * * *")
    assert isinstance(six, CronEntry)


class Sleepy(Job):
    async def execute(self, args: Any) -> Any:
        await trio.sleep(args["seconds"])
        return "slept"


async def stop_once_running(worker: Worker) -> None:
    """Run ``worker`` until it has started a job, then stop it and wait until it has stopped."""
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(3):
            while not worker.running:
                await trio.sleep(0.01)
        worker.stop()
        with trio.fail_after(3):
            await worker.wait_stopped()


async def test_graceful_shutdown_waits_for_running_jobs(jdb: Any) -> None:
    job_id = await Sleepy.enqueue({"seconds": 0.4}, db=jdb)
    worker = Worker([Sleepy], db=jdb, poll_interval=0.05, shutdown_timeout=5)
    await stop_once_running(worker)
    row = await get_job(jdb, job_id)
    assert row.status == "complete" and row.result == "slept"


async def test_shutdown_deadline_releases_the_job_without_using_an_attempt(jdb: Any) -> None:
    job_id = await Sleepy.enqueue({"seconds": 30}, db=jdb)
    worker = Worker([Sleepy], db=jdb, poll_interval=0.05, shutdown_timeout=0.2)
    await stop_once_running(worker)
    row = await get_job(jdb, job_id)
    assert row.status == "retryable" and row.attempt == 0
    assert row.errors[-1]["kind"] == "interrupted"


async def test_expired_lease_is_rescued_by_another_worker(jdb: Any) -> None:
    job_id = await Sleepy.enqueue({"seconds": 0}, db=jdb)
    dead = Worker([Sleepy], db=jdb, lease=0.5, name="dead")
    claimed = await dead._claim(1)       # claims, then "dies": no heartbeat, no result
    assert [r.id for r in claimed] == [job_id]
    alive = Worker([Sleepy], db=jdb, lease=0.5, poll_interval=0.05, name="alive")
    assert await alive.drain() == 0      # still leased to "dead"
    async with trio.open_nursery() as nursery:
        await nursery.start(alive.run)
        with trio.fail_after(5):
            while (await get_job(jdb, job_id)).status != "complete":
                await trio.sleep(0.05)
        alive.stop()
    row = await get_job(jdb, job_id)
    assert row.attempt == 2 and row.worker == "alive"
    assert row.errors[0]["kind"] == "lease_expired" and row.errors[0]["worker"] == "dead"


@pytest.mark.slow
async def test_sigkilled_worker_process_job_is_rerun_by_another_worker(
        jdb: Any, jobs_database_url: str) -> None:
    lease = 1.5
    await jdb.execute(LOG_TABLE)
    job_id = await CrashJob.enqueue({"payload": "keep me"}, db=jdb)
    helper = Path(__file__).with_name("jobs_crash_helper.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(helper.parent), *sys.path])}
    proc = subprocess.Popen([sys.executable, str(helper), jobs_database_url, str(lease)], env=env)
    try:
        with trio.fail_after(20):
            while not await jdb.fetchval("SELECT count(*) FROM crash_log"):
                await trio.sleep(0.05)
        first = await get_job(jdb, job_id)
        assert first.status == "running" and first.attempt == 1
        # a second worker runs meanwhile: the live process keeps renewing its lease, so the
        # job is not taken from it (never two runs of one job at once)
        other = Worker([CrashJob], db=jdb, lease=lease, poll_interval=0.1, name="survivor")
        async with trio.open_nursery() as nursery:
            await nursery.start(other.run)
            await trio.sleep(lease * 2)
            assert await jdb.fetchval("SELECT count(*) FROM crash_log") == 1
            os.kill(proc.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            with trio.fail_after(lease + 8):
                while (await get_job(jdb, job_id)).status != "complete":
                    await trio.sleep(0.05)
            recovered_in = time.monotonic() - killed_at
            other.stop()
    finally:
        proc.kill()
        proc.wait()
    row = await get_job(jdb, job_id)
    assert row.attempt == 2 and row.worker == "survivor"
    assert row.result == {"payload": "keep me", "attempt": 2}
    assert row.errors[0]["kind"] == "worker_lost"  # its session is gone: a crash
    log = await jdb.fetch("SELECT attempt, pid, phase FROM crash_log ORDER BY attempt, phase")
    assert [(r["attempt"], r["phase"]) for r in log] == [(1, "started"), (2, "finished"),
                                                         (2, "started")]
    assert log[0]["pid"] == proc.pid and log[1]["pid"] == os.getpid()
    assert recovered_in < lease + 5


async def test_a_run_that_lost_its_lease_is_interrupted_and_records_nothing(jdb: Any) -> None:
    job_id = await Sleepy.enqueue({"seconds": 30}, db=jdb)
    worker = Worker([Sleepy], db=jdb, lease=0.6, poll_interval=0.05, name="slow")
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(3):
            while not worker.running:
                await trio.sleep(0.01)
        # another worker took the job over (as if our lease had expired while we stalled)
        await jdb.execute("UPDATE rum_jobs SET worker = 'usurper' WHERE id = $1", job_id)
        with trio.fail_after(3):
            while worker.running:
                await trio.sleep(0.02)
        worker.stop()
    row = await get_job(jdb, job_id)
    assert row.status == "running" and row.worker == "usurper" and row.errors == []
