"""A job and a worker process for the SIGKILL crash test.

Run as a script (``python jobs_crash_helper.py DATABASE_URL LEASE``) it is a worker process
running :class:`CrashJob`, whose first attempt records that it started and then hangs (until
the test kills the process); later attempts finish.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import trio

from rum_jobs import Job, Worker

LOG_TABLE = "CREATE TABLE IF NOT EXISTS crash_log (attempt int, pid int, phase text)"


class CrashJob(Job):
    max_attempts = 3

    async def execute(self, args: Any) -> Any:
        db = self.db
        await db.execute("INSERT INTO crash_log VALUES ($1, $2, 'started')", self.attempt,
                         os.getpid())
        if self.attempt == 1:
            await trio.sleep(60)  # the test SIGKILLs the process meanwhile
        await db.execute("INSERT INTO crash_log VALUES ($1, $2, 'finished')", self.attempt,
                         os.getpid())
        return {"payload": args["payload"], "attempt": self.attempt}


async def _main(url: str, lease: float) -> None:
    from rum_orm import Database

    async with Database.open(url, pool_min=1, pool_max=3) as db:
        await Worker([CrashJob], db=db, lease=lease, poll_interval=0.2).run()


if __name__ == "__main__":
    trio.run(_main, sys.argv[1], float(sys.argv[2]))
