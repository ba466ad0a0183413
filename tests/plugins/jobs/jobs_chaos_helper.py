"""Jobs and a worker process for the chaos tests (test_jobs_chaos.py).

Run as a script (``python jobs_chaos_helper.py DATABASE_URL LEASE CONCURRENCY``) it is one
worker process running :class:`ChaosJob`, which logs each run (job id, attempt, pid) to
``chaos_runs`` and then sleeps ``args["ms"]`` milliseconds, and :class:`StallJob`.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import trio

from rum_jobs import Job, Worker

RUNS_TABLE = ("CREATE TABLE IF NOT EXISTS chaos_runs (job_id bigint, attempt int, pid int, "
              "at timestamptz DEFAULT clock_timestamp())")


class ChaosJob(Job):
    max_attempts = 10
    backoff_base = 0.05

    async def execute(self, args: Any) -> Any:
        await self.db.execute("INSERT INTO chaos_runs (job_id, attempt, pid) VALUES ($1, $2, $3)",
                              self.id, self.attempt, os.getpid())
        await trio.sleep(args.get("ms", 0) / 1000)
        return None


class StallJob(Job):
    """Blocks its worker's event loop on its first attempt (the mistake a stall comes from)."""

    async def execute(self, args: Any) -> Any:
        if self.attempt == 1:
            time.sleep(args["seconds"])  # blocking code in an async job, on purpose
        return {"attempt": self.attempt, "pid": os.getpid()}


async def _main(url: str, lease: float, concurrency: int) -> None:
    from rum_orm import Database

    async with Database.open(url, pool_min=2, pool_max=concurrency + 6) as db:
        await Worker([ChaosJob, StallJob], db=db, lease=lease, concurrency=concurrency,
                     poll_interval=0.2).run()


if __name__ == "__main__":
    trio.run(_main, sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
