"""The clock: cron entries that enqueue jobs on a schedule, exactly once per fire time.

Every worker process may run the clock. Each fire is enqueued with the unique key
``cron:<entry>:<fire time>`` checked against jobs in any status, under an advisory lock, so
when several clocks wake for the same fire time exactly one job is inserted.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio
from croniter import croniter

from rum_jobs.store import insert_jobs
from rum_jobs.unique import ALL_STATUSES, Unique

if TYPE_CHECKING:
    from rum_jobs.job import Job

logger = logging.getLogger("rum.jobs.clock")


@dataclass(frozen=True)
class CronEntry:
    """``job`` enqueued with ``args`` at each time matching ``cron`` in ``timezone``.

    ``cron`` has 5 fields (minute hour day month weekday) or 6 with seconds first
    (``"0 0 9 * * *"``: 09:00:00 daily). ``options`` are enqueue options (queue, priority...).
    ``name`` identifies the entry across processes (default: job name + cron + args).
    """

    job: type[Job]
    args: Any = None
    cron: str = ""
    timezone: str = "UTC"
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        fields = self.cron.split()
        if len(fields) not in (5, 6):
            raise ValueError(f"cron expression {self.cron!r} for {self.job.name} must have 5 "
                             "fields (min hour day month weekday) or 6 with seconds first "
                             "(sec min hour day month weekday)")
        if not croniter.is_valid(self.cron, second_at_beginning=len(fields) == 6):
            raise ValueError(f"cron expression {self.cron!r} for {self.job.name} is not valid")
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r} for the {self.job.name} "
                             "schedule; use an IANA name like 'Europe/Paris'") from None
        for bad in ("run_at", "run_in", "unique_by", "unique"):
            if bad in self.options:
                raise ValueError(f"{self.job.name}.schedule(): {bad}= is decided by the clock")

    @property
    def key(self) -> str:
        """The entry's identity in unique keys."""
        if self.name:
            return self.name
        from rum.jsonutil import dumps

        return f"{self.job.name}|{self.cron}|{self.timezone}|{dumps(self.args)}"

    def next_after(self, when: dt.datetime) -> dt.datetime:
        """The first fire time strictly after ``when`` (aware, in the entry's timezone)."""
        tz = zoneinfo.ZoneInfo(self.timezone)
        it = croniter(self.cron, when.astimezone(tz),
                      second_at_beginning=len(self.cron.split()) == 6)
        return it.get_next(dt.datetime)

    async def fire(self, db: Any, at: dt.datetime) -> int:
        """Enqueue this entry's job for fire time ``at`` (once, whoever calls); its id."""
        stamp = at.astimezone(dt.UTC).isoformat()
        unique = Unique(by=(), key=f"cron:{self.key}:{stamp}", statuses=ALL_STATUSES)
        row = self.job.build(self.args, **self.options)
        row.unique = unique
        row.run_at = at
        return (await insert_jobs(db, [row]))[0]


class Clock:
    """Fires :class:`CronEntry` items on time. Run with ``await Clock(entries, db=db).run()``.

    Fire times missed while no clock was running are not caught up.
    """

    def __init__(self, entries: Iterable[CronEntry], *, db: Any) -> None:
        self.entries = list(entries)
        self.db = db

    async def run(self) -> None:
        """Fire entries until cancelled."""
        if not self.entries:
            return
        now = dt.datetime.now(dt.UTC)
        upcoming = {i: e.next_after(now) for i, e in enumerate(self.entries)}
        while True:
            soonest = min(upcoming.values())
            delay = (soonest - dt.datetime.now(dt.UTC)).total_seconds()
            if delay > 0:
                await trio.sleep(delay)
            for i, at in list(upcoming.items()):
                if at <= soonest:
                    entry = self.entries[i]
                    try:
                        await entry.fire(self.db, at)
                    except Exception:
                        logger.exception("clock: enqueueing %s for %s failed", entry.key, at)
                    upcoming[i] = entry.next_after(at)
