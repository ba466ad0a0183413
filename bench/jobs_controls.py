"""What the jobs plugin's queue controls cost: the plain claim with and without the
queue-control filter, and a worker's throughput through the limited-claim path.

    python bench/jobs_controls.py [--jobs 5000] [--rounds 3] [--url postgresql://...] [--no-write]

1. The plain claim statement (50 jobs from a 20,000-job backlog), with the filter that skips
   paused/limited queues (as shipped) and with it removed, interleaved, each claimed batch put
   back (and the table vacuumed every 20 rounds, untimed) so every run sees the same table:
   median and p90 milliseconds.
2. One worker (concurrency 20) draining N no-op jobs: no limit; a queue concurrency limit
   that never binds (50 > 20, so only the limited-claim path is measured); a class limit
   partitioned by an args key (Limit(50, by="k")). Interleaved rounds, median jobs/s.

Prints a table and appends it to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import trio

sys.path.insert(0, str(Path(__file__).parent))

from results import append_section, environment

from rum_jobs import Job, Limit, Worker, ensure_schema, set_queue_limits, sql
from rum_orm import Database
from rum_orm.testing import create_database, drop_database, unique_database_name

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
RESET = ("UPDATE rum_jobs SET status = 'scheduled', attempt = 0, worker = NULL, "
         "started_at = NULL WHERE id = ANY($1::bigint[])")


class Noop(Job):
    async def execute(self, args: Any) -> None:
        return None


class PartNoop(Job):
    concurrency = Limit(50, by="k")

    async def execute(self, args: Any) -> None:
        return None


async def claim_statement(db: Any, rounds: int) -> dict[str, list[float]]:
    filtered = sql.CLAIM_FAIR
    plain = filtered.replace(f"WHERE u.name <> ALL({sql.HELD_QUEUES})", "")
    assert plain != filtered
    await db.execute("TRUNCATE rum_jobs")
    await db.execute("INSERT INTO rum_jobs (job, queue) SELECT 'Noop', 'default' "
                     "FROM generate_series(1, 20000)")
    await db.execute("VACUUM ANALYZE rum_jobs")
    times: dict[str, list[float]] = {"with filter": [], "without filter": []}
    order = [("with filter", filtered), ("without filter", plain)]
    for i in range(rounds * 200):
        if i % 20 == 0:
            await db.execute("VACUUM rum_jobs")  # put-back batches leave dead rows; untimed
        for name, stmt in order if i % 2 else order[::-1]:
            start = time.perf_counter()
            rows = await db.fetch(stmt, ["default"], 50, ["Noop"], "bench", 30.0)
            times[name].append(time.perf_counter() - start)
            await db.execute(RESET, [r["id"] for r in rows])
    return {k: v[20:] for k, v in times.items()}


async def drain(db: Any, mode: str, n: int) -> float:
    await db.execute("TRUNCATE rum_jobs; DELETE FROM rum_jobs_queues")
    job: type[Job] = PartNoop if mode == "class limit (partitioned)" else Noop
    if mode == "queue limit (not binding)":
        await set_queue_limits("default", concurrency=50, db=db)
    for i in range(0, n, 1000):
        await job.enqueue_many([{"k": j % 10} for j in range(min(1000, n - i))], db=db)
    worker = Worker([job], db=db, concurrency=20, listen=False)
    start = time.perf_counter()
    done = 0
    while done < n:
        done += await worker.drain()
    return n / (time.perf_counter() - start)


async def main(args: argparse.Namespace) -> None:
    name = unique_database_name("bench_jobs_controls")
    url = create_database(args.url, name)
    try:
        async with Database.open(url, pool_min=2, pool_max=8) as db:
            await ensure_schema(db)
            claims = await claim_statement(db, args.rounds)
            modes = ["no limit", "queue limit (not binding)", "class limit (partitioned)"]
            rates: dict[str, list[float]] = {m: [] for m in modes}
            for r in range(args.rounds):
                for mode in modes if r % 2 == 0 else modes[::-1]:
                    rates[mode].append(await drain(db, mode, args.jobs))
    finally:
        drop_database(args.url, name)
    rows = ["| measurement | median | p90 / rounds | ratio |", "|---|---:|---:|---:|"]
    base = statistics.median(claims["without filter"])
    for label, ts in claims.items():
        med = statistics.median(ts)
        p90 = sorted(ts)[int(len(ts) * 0.9)]
        rows.append(f"| plain claim of 50, {label} | {med * 1e3:.3f} ms | {p90 * 1e3:.3f} ms "
                    f"| {med / base:.3f}× |")
    unlimited = statistics.median(rates["no limit"])
    for mode, values in rates.items():
        med = statistics.median(values)
        rows.append(f"| drain {args.jobs} no-op jobs, {mode} | {med:,.0f} jobs/s | "
                    f"{', '.join(f'{v:,.0f}' for v in values)} | {med / unlimited:.2f}× |")
    table = "\n".join(rows)
    print(table)
    if not args.no_write:
        append_section(
            "Jobs: cost of queue controls",
            f"`python bench/jobs_controls.py --jobs {args.jobs} --rounds {args.rounds}` — "
            f"{environment()}. Claim timings are interleaved, each batch put back; drain rounds "
            "alternate their order. Ratios are against the unfiltered claim and the "
            "unlimited drain.", table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default=SERVER, help="a server where databases may be created")
    parser.add_argument("--no-write", action="store_true", help="do not append RESULTS.md")
    trio.run(main, parser.parse_args())
