"""Jobs and a worker process for the queue-control tests (pause, cancel, limits, rates).

Run as a script (``python jobs_controls_helper.py DATABASE_URL NAME``) it is a worker process
taking jobs from every queue, at concurrency 10, until SIGTERM. Every job body records its
start and end (server clock) in ``controls_log``, so a test can check from the database how
many bodies overlapped.
"""

from __future__ import annotations

import sys
from typing import Any

import trio

from rum_jobs import Job, Limit, Rate, Worker

LOG_TABLE = """
CREATE TABLE IF NOT EXISTS controls_log (
    job_id bigint, job text, queue text, part text, worker text, phase text,
    at timestamptz DEFAULT clock_timestamp())
"""


class Sleepy(Job):
    """Sleeps ``args["sleep"]`` seconds, logging start, end or cancellation."""

    async def execute(self, args: Any) -> Any:
        await log(self, "start")
        try:
            await trio.sleep(args.get("sleep", 0))
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                await log(self, "cancelled")
            raise
        await log(self, "end")
        return {"slept": args.get("sleep", 0)}


class ThreeAtOnce(Sleepy):
    concurrency = 3


class OnePerAccount(Sleepy):
    concurrency = Limit(1, by="account")


class FivePerSecond(Sleepy):
    rate_limit = Rate(5, per=1.0)


class Boom(Sleepy):
    """Fails for good (one attempt) when ``args["fail"]``, else like :class:`Sleepy`."""

    max_attempts = 1

    async def execute(self, args: Any) -> Any:
        if args.get("fail"):
            await log(self, "start")
            raise RuntimeError("boom")
        return await super().execute(args)


JOBS = [Sleepy, ThreeAtOnce, OnePerAccount, FivePerSecond, Boom]


async def log(job: Job, phase: str) -> None:
    args = job.context.args or {}
    part = args.get("account") if isinstance(args, dict) else None
    await job.db.execute(
        "INSERT INTO controls_log (job_id, job, queue, part, worker, phase) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        job.id, job.name, job.context.queue, None if part is None else str(part),
        job._worker.id, phase)


async def _main(url: str, name: str) -> None:
    from rum_orm import Database

    async with Database.open(url, pool_min=2, pool_max=6) as db:
        await Worker(JOBS, db=db, queues=None, concurrency=10, poll_interval=0.2, lease=5,
                     name=name).run()


if __name__ == "__main__":
    trio.run(_main, sys.argv[1], sys.argv[2])
