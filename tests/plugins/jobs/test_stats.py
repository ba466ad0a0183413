"""``rum_jobs.stats()``: per-queue counts, throughput and latency, paused queues, running
jobs with their age, failed jobs with their errors, schedules with next fire times."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
import trio

from rum_jobs import (
    Job,
    JobStats,
    Rate,
    Worker,
    pause_queue,
    set_queue_limits,
    stats,
)
from rum_jobs.stats import to_json

pytestmark = pytest.mark.postgres


class Quick(Job):
    async def execute(self, args: Any) -> None:
        pass


class Broken(Job):
    max_attempts = 1

    async def execute(self, args: Any) -> None:
        raise ValueError(f"bad input {args['n']}")


class Hang(Job):
    async def execute(self, args: Any) -> None:
        await trio.sleep(60)


@pytest.fixture
async def sdb(jdb: Any) -> Any:
    await jdb.execute("DELETE FROM rum_jobs_queues; DELETE FROM rum_jobs_cron")
    return jdb


async def test_stats_of_an_empty_system(sdb: Any) -> None:
    snapshot = await stats(sdb)
    assert isinstance(snapshot, JobStats)
    assert snapshot.queues == [] and snapshot.running == [] and snapshot.failed == []
    assert snapshot.totals.available == 0
    assert snapshot.queue("nothing").available == 0


async def test_stats_counts_throughput_latency_failures_and_controls(sdb: Any) -> None:
    await Quick.enqueue_many([{}] * 6, queue="mail", db=sdb)
    await Broken.enqueue_many([{"n": 1}, {"n": 2}], queue="mail", db=sdb)
    assert await Worker([Quick, Broken], db=sdb, queues=["mail"], listen=False).drain() == 8
    await Quick.enqueue_many([{}] * 3, queue="mail", db=sdb)               # available
    await Quick.enqueue({}, queue="mail", run_in=3600, db=sdb)             # scheduled
    first = await Quick.enqueue({}, queue="later", run_in=3600, db=sdb)
    await Quick.enqueue({}, queue="later", after=[first], db=sdb)          # waits on first
    await pause_queue("later", db=sdb)
    await set_queue_limits("mail", concurrency=4, rate=Rate(10, per=60), db=sdb)

    snapshot = await stats(sdb, window=60)
    mail = snapshot.queue("mail")
    assert (mail.available, mail.scheduled, mail.complete, mail.failed) == (3, 1, 6, 2)
    assert mail.throughput == pytest.approx(6 / 60)
    assert mail.latency_p50 is not None and 0 <= mail.latency_p50 <= mail.latency_p95 < 30
    assert mail.concurrency == 4 and mail.rate == Rate(10, 60.0) and not mail.paused
    assert mail.oldest_available_age is not None and 0 <= mail.oldest_available_age < 30
    later = snapshot.queue("later")
    assert (later.scheduled, later.waiting_on_dependencies, later.paused) == (1, 1, True)
    assert later.oldest_available_age is None  # nothing due there
    assert snapshot.paused == ["later"]
    assert sorted(f.error for f in snapshot.failed) == ["ValueError: bad input 1",
                                                        "ValueError: bad input 2"]
    assert snapshot.failed[0].finished_at >= snapshot.failed[1].finished_at  # newest first
    assert snapshot.failed[0].job == "Broken" and snapshot.failed[0].queue == "mail"
    assert snapshot.totals.available == 3 and snapshot.totals.complete == 6
    # plain data: JSON-ready through dataclasses
    encoded = json.loads(to_json(snapshot))
    assert encoded["queues"][1]["queue"] == "mail"
    assert dataclasses.asdict(snapshot)["paused"] == ["later"]


async def test_stats_lists_running_jobs_with_their_age_and_workers(sdb: Any) -> None:
    job_id = await Hang.enqueue({}, db=sdb)
    worker = Worker([Hang], db=sdb, poll_interval=0.1, name="stats-worker")
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(10):
            while job_id not in worker.running:
                await trio.sleep(0.02)
        await trio.sleep(0.6)
        snapshot = await stats(sdb)
        worker.stop()
        nursery.cancel_scope.cancel()
    [running] = snapshot.running
    assert (running.id, running.job, running.worker, running.attempt) == (
        job_id, "Hang", "stats-worker", 1)
    assert 0.5 <= running.age < 30
    assert snapshot.queue("default").running == 1
    [me] = [w for w in snapshot.workers if w.id == "stats-worker"]
    assert me.alive and me.running == 1


async def test_stats_reports_schedules_with_next_and_last_fire(sdb: Any) -> None:
    entry = Quick.schedule({}, "*/15 * * * *", name="quarterly", catch_up=2)
    fired = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    await entry.fire(sdb, fired)
    snapshot = await stats(sdb, schedules=[entry])
    [s] = snapshot.schedules
    assert (s.name, s.job, s.cron, s.catch_up) == ("quarterly", "Quick", "*/15 * * * *", 2)
    assert s.last_fire == fired
    assert snapshot.at < s.next_fire <= snapshot.at + dt.timedelta(minutes=15)
    assert s.next_fire.minute % 15 == 0


async def test_bad_window_is_refused(sdb: Any) -> None:
    with pytest.raises(ValueError, match="window must be positive"):
        await stats(sdb, window=0)
