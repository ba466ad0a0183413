"""Catch-up of cron fires missed while no clock ran (``catch_up`` on a schedule)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import trio

from rum_jobs import Clock, CronEntry, Job, list_jobs

pytestmark = pytest.mark.postgres


class Nightly(Job):
    async def execute(self, args: Any) -> None:
        pass


async def start_clock_for(db: Any, entry: CronEntry, seconds: float, clocks: int = 1) -> None:
    async with trio.open_nursery() as nursery:
        for _ in range(clocks):
            nursery.start_soon(Clock([entry], db=db).run)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()


async def _seed_last_fire(db: Any, entry: CronEntry, ago: dt.timedelta) -> dt.datetime:
    last = dt.datetime.now(dt.UTC) - ago
    await db.execute("DELETE FROM rum_jobs_cron")
    await db.execute("INSERT INTO rum_jobs_cron (entry, last_fire) VALUES ($1, $2)", entry.key,
                     last)
    return last


async def test_catch_up_enqueues_the_newest_missed_fires(jdb: Any) -> None:
    entry = Nightly.schedule({"n": 1}, "0 3 * * *", catch_up=2)  # 03:00 daily
    assert entry.options == {} and entry.catch_up == 2
    await _seed_last_fire(jdb, entry, dt.timedelta(days=5))
    await start_clock_for(jdb, entry, 0.5, clocks=3)  # three clocks starting together
    rows = await list_jobs(jdb, job=Nightly, newest_first=False)
    assert len(rows) == 2  # 5 missed, only the newest 2
    assert all(r.run_at.astimezone(dt.UTC).hour == 3 for r in rows)
    assert rows[1].run_at - rows[0].run_at == dt.timedelta(days=1)
    assert rows[1].run_at <= dt.datetime.now(dt.UTC)
    # a second clock start (another process) adds nothing: each fire is enqueued once
    await start_clock_for(jdb, entry, 0.3)
    assert len(await list_jobs(jdb, job=Nightly)) == 2
    recorded = await jdb.fetchval("SELECT last_fire FROM rum_jobs_cron WHERE entry = $1",
                                  entry.key)
    assert recorded == rows[1].run_at


async def test_catch_up_true_takes_all_and_false_takes_none(jdb: Any) -> None:
    every = Nightly.schedule({"n": 2}, "0 * * * *", catch_up=True)  # hourly
    last = await _seed_last_fire(jdb, every, dt.timedelta(hours=5, minutes=30))
    await start_clock_for(jdb, every, 0.5)
    hours = (dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
             - last.replace(minute=0, second=0, microsecond=0)) // dt.timedelta(hours=1)
    assert hours in (5, 6)
    assert len(await list_jobs(jdb, job=Nightly)) == hours  # every hour boundary missed
    never = Nightly.schedule({"n": 3}, "0 * * * *")
    await jdb.execute("TRUNCATE rum_jobs")
    await _seed_last_fire(jdb, never, dt.timedelta(hours=5, minutes=30))
    await start_clock_for(jdb, never, 0.5)
    assert await list_jobs(jdb, job=Nightly) == []


async def test_a_clock_records_each_fire(jdb: Any) -> None:
    await jdb.execute("DELETE FROM rum_jobs_cron")
    entry = Nightly.schedule({"n": 4}, "* * * * * *")
    await start_clock_for(jdb, entry, 1.6)
    last = await jdb.fetchval("SELECT last_fire FROM rum_jobs_cron WHERE entry = $1", entry.key)
    newest = max(r.run_at for r in await list_jobs(jdb, job=Nightly))
    assert last == newest


def test_bad_catch_up_is_refused() -> None:
    with pytest.raises(ValueError, match="catch_up for the Nightly schedule"):
        Nightly.schedule(None, "0 3 * * *", catch_up=-1)
    with pytest.raises(ValueError, match="catch_up for the Nightly schedule"):
        Nightly.schedule(None, "0 3 * * *", catch_up="yes")
