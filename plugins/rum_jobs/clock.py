"""The clock: cron entries that enqueue jobs on a schedule, exactly once per fire time.

Every worker process may run the clock. Each fire is enqueued with the unique key
``cron:<entry>:<fire time>`` checked against jobs in any status, under an advisory lock, so
when several clocks wake for the same fire time exactly one job is inserted.

Each entry's last fire time is kept in ``rum_jobs_cron``; an entry with ``catch_up`` enqueues
the fires it missed while no clock ran (all of them, or the newest ``catch_up`` ones) when a
clock starts.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import trio
from croniter import croniter

from rum_jobs.store import insert_jobs
from rum_jobs.unique import ALL_STATUSES, Unique

if TYPE_CHECKING:
    from rum_jobs.store import NewJob

logger = logging.getLogger("rum.jobs.clock")


class JobClass(Protocol):
    """What the clock needs of a :class:`~rum_jobs.Job` subclass: its name and the row one
    run inserts (so that ``Job.schedule`` can make entries without the two modules importing
    each other)."""

    @property
    def name(self) -> str:
        """The job's registered name."""

    def build(self, args: Any = None) -> NewJob:
        """The row :meth:`~rum_jobs.Job.enqueue` would insert (enqueue options as keywords)."""


@dataclass(frozen=True)
class CronEntry:
    """``job`` enqueued with ``args`` at each time matching ``cron`` in ``timezone``.

    ``cron`` has 5 fields (minute hour day month weekday) or 6 with seconds first
    (``"0 0 9 * * *"``: 09:00:00 daily). ``options`` are enqueue options (queue, priority...).
    ``name`` identifies the entry across processes (default: job name + cron + args).
    ``catch_up``: when a clock starts, enqueue the fires missed since the last one any clock
    made (``True``: all of them, up to 1,000; an int: at most that many, the newest).
    """

    job: JobClass
    args: Any = None
    cron: str = ""
    timezone: str = "UTC"
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    catch_up: bool | int = False

    def __post_init__(self) -> None:
        if "catch_up" in self.options:  # Job.schedule(..., catch_up=...) passes it here
            options = dict(self.options)
            object.__setattr__(self, "catch_up", options.pop("catch_up"))
            object.__setattr__(self, "options", options)
        if isinstance(self.catch_up, bool):
            pass
        elif not isinstance(self.catch_up, int) or self.catch_up < 0:
            raise ValueError(f"catch_up for the {self.job.name} schedule must be True, False "
                             f"or a number of fires >= 0, got {self.catch_up!r}")
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
        job_id = (await insert_jobs(db, [row]))[0]
        await db.execute(_RECORD_FIRE, self.key, at)
        return job_id

    def max_catch_up(self) -> int:
        """How many missed fires a starting clock enqueues (0: none)."""
        if self.catch_up is True:
            return CATCH_UP_LIMIT
        if self.catch_up is False:
            return 0
        return int(self.catch_up)

    def missed(self, last: dt.datetime, now: dt.datetime) -> list[dt.datetime]:
        """Fire times after ``last`` up to ``now`` (the newest :meth:`max_catch_up`)."""
        limit = self.max_catch_up()
        tz = zoneinfo.ZoneInfo(self.timezone)
        # walk back from now, so a long outage costs at most `limit` steps
        it = croniter(self.cron, (now + dt.timedelta(microseconds=1)).astimezone(tz),
                      second_at_beginning=len(self.cron.split()) == 6)
        out: list[dt.datetime] = []
        while len(out) < limit:
            at = it.get_prev(dt.datetime)
            if at <= last:
                break
            out.append(at.replace(fold=0))
        return out[::-1]

    async def catch_up_missed(self, db: Any, now: dt.datetime) -> int:
        """Enqueue the fires missed since the last recorded one; how many."""
        if not self.max_catch_up():
            return 0
        last = await db.fetchval(_LAST_FIRE, self.key)
        if last is None:
            return 0
        fires = self.missed(last, now)
        for at in fires:
            await self.fire(db, at)
        if fires:
            logger.info("clock: caught up %d missed fire(s) of %s (%s .. %s)", len(fires),
                        self.key, fires[0].isoformat(), fires[-1].isoformat())
        return len(fires)


#: Most missed fires ``catch_up=True`` enqueues for one entry.
CATCH_UP_LIMIT = 1000

_RECORD_FIRE = """
INSERT INTO rum_jobs_cron (entry, last_fire) VALUES ($1, $2)
ON CONFLICT (entry) DO UPDATE SET last_fire = greatest(rum_jobs_cron.last_fire, excluded.last_fire)
"""

_LAST_FIRE = "SELECT last_fire FROM rum_jobs_cron WHERE entry = $1"


class Clock:
    """Fires :class:`CronEntry` items on time. Run with ``await Clock(entries, db=db).run()``.

    Fire times missed while no clock was running are enqueued when it starts for entries
    with ``catch_up`` (see :class:`CronEntry`); others skip them.
    """

    def __init__(self, entries: Iterable[CronEntry], *, db: Any) -> None:
        self.entries = list(entries)
        self.db = db

    async def run(self) -> None:
        """Fire entries until cancelled."""
        if not self.entries:
            return
        now = dt.datetime.now(dt.UTC)
        for entry in self.entries:
            try:
                await entry.catch_up_missed(self.db, now)
            except Exception:
                logger.exception("clock: catching up missed fires of %s failed", entry.key)
        upcoming = {i: e.next_after(now) for i, e in enumerate(self.entries)}
        # A fire that failed (a dropped connection, a database restart at the fire time) is
        # tried again, with backoff, until it goes through: late, but not lost. retry[i] is
        # (when to try again, how many tries failed); other entries fire meanwhile.
        retry: dict[int, tuple[dt.datetime, int]] = {}
        while True:
            soonest = min(retry[i][0] if i in retry else at for i, at in upcoming.items())
            delay = (soonest - dt.datetime.now(dt.UTC)).total_seconds()
            if delay > 0:
                await trio.sleep(delay)
            for i, at in list(upcoming.items()):
                if (retry[i][0] if i in retry else at) > soonest:
                    continue
                entry = self.entries[i]
                failures = retry.pop(i, (at, 0))[1]
                try:
                    await entry.fire(self.db, at)
                except Exception:
                    pause = min(RETRY_FIRST * 2 ** failures, RETRY_MAX)
                    logger.exception("clock: enqueueing %s for %s failed; trying again in "
                                     "%gs", entry.key, at, pause)
                    retry[i] = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=pause),
                                failures + 1)
                    continue
                upcoming[i] = (entry.next_after(at) if not failures
                               else await self._after_late_fire(entry, at))

    async def _after_late_fire(self, entry: CronEntry, at: dt.datetime) -> dt.datetime:
        """``at`` fired late, after failed tries: the fires that came due meanwhile are
        enqueued for an entry with ``catch_up`` (the newest ``catch_up`` of them), skipped
        otherwise, as fires missed while no clock ran are. The next fire time."""
        now = dt.datetime.now(dt.UTC)
        for missed in entry.missed(at, now) if entry.max_catch_up() else ():
            try:
                await entry.fire(self.db, missed)
            except Exception:
                logger.exception("clock: enqueueing %s for %s failed", entry.key, missed)
                return missed  # tried again by the loop
        return entry.next_after(now)


#: Seconds before a failed fire is tried again, doubling up to RETRY_MAX.
RETRY_FIRST = 0.1
RETRY_MAX = 10.0
