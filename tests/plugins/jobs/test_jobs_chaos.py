"""Chaos: a worker process killed mid-batch, a PostgreSQL restart, a 100,000-job backlog.

Each asserts that no committed job is lost and that no job runs twice while its lease is
valid: every claim increments the job's attempt, so "the same attempt ran twice" is exactly
"two workers ran it under one lease", and the run logs are checked for that.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio
from jobs_chaos_helper import RUNS_TABLE, ChaosJob

from rum_jobs import Job, Worker, ensure_schema

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

async def _wait(predicate: Any, timeout: float, every: float = 0.1) -> None:
    with trio.fail_after(timeout):
        while not await predicate():
            await trio.sleep(every)


async def _assert_each_attempt_ran_once(db: Any, n_jobs: int) -> Counter[int]:
    """All ``n_jobs`` complete, and no (job, attempt) ran twice; returns runs per job."""
    statuses = await db.fetch("SELECT status, count(*) AS n FROM rum_jobs GROUP BY status")
    assert {r["status"]: r["n"] for r in statuses} == {"complete": n_jobs}
    twice = await db.fetch("SELECT job_id, attempt, count(*) AS n FROM chaos_runs "
                           "GROUP BY job_id, attempt HAVING count(*) > 1 LIMIT 5")
    assert twice == [], f"attempts that ran twice: {[dict(r) for r in twice]}"
    runs = await db.fetch("SELECT job_id, count(*) AS n FROM chaos_runs GROUP BY job_id")
    assert len(runs) == n_jobs
    return Counter({r["job_id"]: r["n"] for r in runs})


# -- kill -9 of one of three worker processes ---------------------------------------------------


async def test_kill_9_of_one_of_three_workers_mid_batch(jdb: Any, jobs_database_url: str) -> None:
    n_jobs, lease = 3000, 3.0  # generous: survivors must renew on a loaded machine
    await jdb.execute("DROP TABLE IF EXISTS chaos_runs; " + RUNS_TABLE)
    await ChaosJob.enqueue_many([{"ms": 5}] * n_jobs, db=jdb)
    helper = Path(__file__).with_name("jobs_chaos_helper.py")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(helper.parent), *sys.path])}
    procs = [subprocess.Popen([sys.executable, str(helper), jobs_database_url, str(lease), "10"],
                              env=env) for _ in range(3)]
    try:
        victim = procs[1]

        async def victim_is_busy() -> bool:
            return await jdb.fetchval("SELECT count(*) FROM chaos_runs WHERE pid = $1",
                                      victim.pid) >= 200

        await _wait(victim_is_busy, 40)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()

        async def all_done() -> bool:
            return await jdb.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                      "'complete'") == 0

        await _wait(all_done, 40, every=0.2)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    runs = await _assert_each_attempt_ran_once(jdb, n_jobs)
    rerun = [job_id for job_id, n in runs.items() if n > 1]
    # only jobs the dead process held were run again, each charged one attempt, and their
    # rescue says the worker died (its database session is gone), not "lease expired"
    rows = await jdb.fetch("SELECT id, attempt, errors::text AS errors FROM rum_jobs "
                           "WHERE attempt > 1")
    # (a job the dead process had claimed but not yet logged ran once, as attempt 2)
    assert set(rerun) <= {r["id"] for r in rows}
    assert 0 < len(rows) <= 10 + 1000  # its running jobs plus completions not yet written
    for row in rows:
        assert row["attempt"] == 2 and '"kind": "worker_lost"' in row["errors"]
    first_runs = await jdb.fetch("SELECT DISTINCT pid FROM chaos_runs WHERE attempt = 1 AND "
                                 "job_id = ANY($1::bigint[])", rerun)
    assert {r["pid"] for r in first_runs} <= {victim.pid}


# -- a PostgreSQL restart -------------------------------------------------------------------------


class Cluster:
    """A throwaway PostgreSQL server on its own port, restartable: the embedded one
    (``rum_orm.embedded``, fsync off), so no system PostgreSQL is needed."""

    def __init__(self) -> None:
        from rum_orm.embedded import EmbeddedServer

        self.dir = Path(tempfile.mkdtemp(prefix="rum-jobs-chaos-"))
        self.server = EmbeddedServer(self.dir / "postgres", fast=True)
        self.url = ""

    def start(self) -> None:
        self.server.start()  # the same port again after a restart (recorded, still free)
        self.url = self.server.url()

    def crash_restart(self) -> None:
        """Stop the server the hard way (no clean shutdown: WAL recovery on start), start it."""
        self.server.stop(mode="immediate")
        self.start()

    def destroy(self) -> None:
        self.server.destroy()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    server = Cluster()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


async def test_a_postgres_restart_loses_no_job_and_runs_none_twice(cluster: Cluster) -> None:
    from rum_orm import Database

    n_jobs = 2000
    async with Database.open(cluster.url, pool_min=1, pool_max=4) as db:
        await ensure_schema(db)
        await db.execute(RUNS_TABLE)
        await ChaosJob.enqueue_many([{"ms": 10}] * n_jobs, db=db)
    async with Database.open(cluster.url, pool_min=1, pool_max=16) as db1, \
            Database.open(cluster.url, pool_min=1, pool_max=16) as db2:
        workers = [Worker([ChaosJob], db=d, lease=5, concurrency=10, poll_interval=0.2)
                   for d in (db1, db2)]
        async with trio.open_nursery() as nursery:
            for worker in workers:
                await nursery.start(worker.run)

            async def some_ran() -> bool:
                return await db1.fetchval("SELECT count(*) FROM chaos_runs") >= n_jobs // 4

            await _wait(some_ran, 30)
            await trio.to_thread.run_sync(cluster.crash_restart)

            async def all_done() -> bool:
                try:
                    return await db1.fetchval("SELECT count(*) FROM rum_jobs WHERE status "
                                              "<> 'complete'") == 0
                except Exception:
                    return False

            await _wait(all_done, 45, every=0.2)
            for worker in workers:
                worker.stop()
        runs = await _assert_each_attempt_ran_once(db1, n_jobs)
        assert sum(runs.values()) < n_jobs + 200  # re-runs only around the crash


# -- a 100,000-job backlog ------------------------------------------------------------------------


class Count(Job):
    runs: Counter[int] = Counter()

    async def execute(self, args: Any) -> Any:
        type(self).runs[self.id] += 1


async def test_a_100k_backlog_runs_every_job_once_with_stale_statistics(
        jdb: Any, jobs_database_url: str) -> None:
    from rum_orm import Database

    n_jobs = 100_000
    Count.runs = Counter()
    # statistics say the table is empty (analyzed before the backlog, autovacuum off): the
    # planner's worst case for the completion statement
    await jdb.execute("ALTER TABLE rum_jobs SET (autovacuum_enabled = false); ANALYZE rum_jobs")
    try:
        await jdb.execute("INSERT INTO rum_jobs (job) SELECT 'Count' FROM "
                          f"generate_series(1, {n_jobs})")
        started = time.monotonic()
        # two workers (two pools) at concurrency 50 and a 10 s lease, competing for the rows
        async with Database.open(jobs_database_url, pool_min=2, pool_max=8) as other:
            workers = [Worker([Count], db=db, concurrency=50, lease=10, poll_interval=0.1)
                       for db in (jdb, other)]
            async with trio.open_nursery() as nursery:
                for worker in workers:
                    await nursery.start(worker.run)

                async def all_done() -> bool:
                    return await jdb.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                              "'complete'") == 0

                await _wait(all_done, 110, every=0.5)
                for worker in workers:
                    worker.stop()
        elapsed = time.monotonic() - started
    finally:
        await jdb.execute("ALTER TABLE rum_jobs RESET (autovacuum_enabled)")
    assert len(Count.runs) == n_jobs and set(Count.runs.values()) == {1}
    assert sum(w.stats["rescued"] for w in workers) == 0
    assert sum(w.stats["complete"] for w in workers) == n_jobs
    assert await jdb.fetchval("SELECT max(attempt) FROM rum_jobs") == 1
    print(f"100k backlog: {n_jobs / elapsed:.0f} jobs/s")
