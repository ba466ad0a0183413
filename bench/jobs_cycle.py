"""Where a worker's slot cycle goes: bench/jobs.py's execute measure (jobs queued first, one
Rum worker) with each claim and each completion batch timed.

    python bench/jobs_cycle.py [--jobs 3000] [--concurrency 10] [--sleep 0.001]

Prints jobs/s, the claim round trip (trio → statement answered → trio) and how many jobs each
claim took, the time from a claim's answer to the next claim (the jobs run meanwhile), the
jobs' actual duration (``trio.sleep`` overshoots), and the completion batches (written on
their own connection, beside the claims).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jobs

URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def p(values: list[float], q: float) -> float:
    return jobs.pct(values, q)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--sleep", type=float, default=0.001, help="each job's trio.sleep")
    args = parser.parse_args()

    import trio

    from rum_jobs import Job, Worker

    claims: list[tuple[float, float, int]] = []
    flushes: list[tuple[float, float, int]] = []
    ran: list[float] = []
    claim, write = Worker._claim, Worker._write_completions

    async def timed_claim(self: Worker, n: int) -> Any:
        start = time.perf_counter()
        runs = await claim(self, n)
        claims.append((start, time.perf_counter(), len(runs)))
        return runs

    async def timed_write(self: Worker, batch: list[dict[str, Any]]) -> None:
        start = time.perf_counter()
        await write(self, batch)
        flushes.append((start, time.perf_counter(), len(batch)))

    Worker._claim = timed_claim  # type: ignore[method-assign]
    Worker._write_completions = timed_write  # type: ignore[method-assign]
    done = {"n": 0}
    finished: dict[str, trio.Event] = {}

    class Work(Job):
        async def execute(self, job_args: Any) -> None:
            start = time.perf_counter()
            await trio.sleep(args.sleep)
            ran.append(time.perf_counter() - start)
            done["n"] += 1
            if done["n"] == args.jobs:
                finished["e"].set()

    async def body(db: Any) -> float:
        finished["e"] = trio.Event()
        await Work.enqueue_many([{}] * args.jobs, db=db)
        worker = Worker([Work], db=db, concurrency=args.concurrency, poll_interval=1.0)
        async with trio.open_nursery() as nursery:
            start = time.perf_counter()
            await nursery.start(worker.run)
            await finished["e"].wait()
            while await db.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                    "'complete'"):
                await trio.sleep(0.002)
            elapsed = time.perf_counter() - start
            worker.stop()
        return elapsed

    elapsed = jobs.in_fresh_database(
        URL, lambda url: jobs.RumBench._run(url, body, pool=args.concurrency + 6))
    ms = [(b - a) * 1000 for a, b, _ in claims]
    took = [float(k) for *_, k in claims]
    gaps = [(claims[i + 1][0] - claims[i][1]) * 1000 for i in range(len(claims) - 1)]
    durations = [d * 1000 for d in ran]
    flush_ms = [(b - a) * 1000 for a, b, _ in flushes]
    print(f"{args.jobs} jobs, concurrency {args.concurrency}, sleep {args.sleep * 1000:g} ms; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"  {args.jobs / elapsed:,.0f} jobs/s")
    print(f"  claims: {len(claims)}, round trip median {statistics.median(ms):.2f} ms "
          f"(p90 {p(ms, 0.9):.2f}), jobs per claim mean {statistics.mean(took):.1f}")
    print(f"  claim answered → next claim sent: median {statistics.median(gaps):.2f} ms")
    print(f"  job duration: median {statistics.median(durations):.2f} ms "
          f"(p90 {p(durations, 0.9):.2f})")
    print(f"  completion batches: {len(flushes)}, round trip median "
          f"{statistics.median(flush_ms):.2f} ms, "
          f"mean {statistics.mean(k for *_, k in flushes):.1f} jobs")


if __name__ == "__main__":
    main()
