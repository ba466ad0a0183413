"""Job queue throughput and pick-up latency: Rum's worker vs procrastinate, same PostgreSQL.

    python bench/jobs.py [--jobs 10000] [--concurrency 10] [--url postgresql://...]

For each system, in a fresh database on the same server: enqueue N no-op jobs (bulk, one
round trip per 1,000 jobs), then run one worker until every job is done (claim + execute +
complete) and report jobs/s for both phases; then measure pick-up latency (enqueue → job body
starts, idle worker, LISTEN/NOTIFY on) over 30 single jobs, and one-by-one enqueue of 500 jobs.
procrastinate runs at the same concurrency, and its execute phase also at concurrency 1 (often
faster for it); the execute ratio uses its faster run.
Prints a table with the ratios and appends it to bench/RESULTS.md. Installs procrastinate (the
``bench`` extra) when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

RESULTS = Path(__file__).with_name("RESULTS.md")
CHUNK = 1000
LATENCY_SAMPLES = 30
SINGLE = 500


def ensure_procrastinate() -> None:
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "procrastinate"])


def admin(server: str, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def db_url(server: str, name: str) -> str:
    base, _, _ = server.rpartition("/")
    return f"{base}/{name}"


# -- Rum ------------------------------------------------------------------------------------


def bench_rum(url: str, n: int, concurrency: int) -> dict[str, float]:
    import trio

    from rum_jobs import Job, Worker, ensure_schema
    from rum_orm import Database

    state: dict = {"done": 0, "started": {}, "event": None}
    all_done = trio.Event()

    class Noop(Job):
        async def execute(self, args: object) -> None:
            state["done"] += 1
            if state["done"] == n:
                all_done.set()

    class Ping(Job):
        async def execute(self, args: object) -> None:
            state["started"][self.id] = time.perf_counter()
            if state["event"] is not None:
                state["event"].set()

    async def main() -> dict[str, float]:
        async with Database.open(url, pool_min=2, pool_max=concurrency + 4) as db:
            await ensure_schema(db)
            t0 = time.perf_counter()
            for start in range(0, n, CHUNK):
                await Noop.enqueue_many([{"i": i} for i in range(start, min(n, start + CHUNK))],
                                        db=db)
            enqueue_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            for i in range(SINGLE):
                await Ping.enqueue({"i": i}, db=db, queue="single")
            single_s = time.perf_counter() - t0

            worker = Worker([Noop, Ping], db=db, concurrency=concurrency, poll_interval=1.0)
            async with trio.open_nursery() as nursery:
                t0 = time.perf_counter()
                await nursery.start(worker.run)
                await all_done.wait()
                while await db.fetchval("SELECT count(*) FROM rum_jobs WHERE status = "
                                        "'complete'") < n:
                    await trio.sleep(0.005)
                execute_s = time.perf_counter() - t0

                latencies = []
                for _ in range(LATENCY_SAMPLES):
                    await trio.sleep(0.05)
                    state["event"] = ran = trio.Event()
                    sent = time.perf_counter()
                    job_id = await Ping.enqueue(db=db)
                    await ran.wait()
                    latencies.append(state["started"][job_id] - sent)
                worker.stop()
            return {"enqueue_s": enqueue_s, "execute_s": execute_s, "latencies": latencies,
                    "single_s": single_s}

    return trio.run(main)


# -- procrastinate --------------------------------------------------------------------------


def bench_procrastinate(url: str, n: int, concurrency: int,
                        full: bool = True) -> dict[str, float]:
    """procrastinate's worker (asyncio, psycopg 3); the latency phase uses LISTEN/NOTIFY.
    ``full=False``: only the bulk enqueue and execute phases."""
    import procrastinate

    async def main() -> dict[str, float]:
        app = procrastinate.App(connector=procrastinate.PsycopgConnector(
            conninfo=url, min_size=2, max_size=concurrency + 4))
        started: dict[int, float] = {}
        ran: list[asyncio.Event] = []

        @app.task(name="noop", pass_context=False)
        async def noop(i: int) -> None:
            return None

        @app.task(name="single", queue="single", pass_context=False)
        async def single(i: int) -> None:
            return None

        @app.task(name="ping", pass_context=True)
        async def ping(context: procrastinate.JobContext) -> None:
            started[context.job.id] = time.perf_counter()
            if ran:
                ran[-1].set()

        async with app.open_async():
            await app.schema_manager.apply_schema_async()
            t0 = time.perf_counter()
            for start in range(0, n, CHUNK):
                await noop.batch_defer_async(*[{"i": i} for i in
                                               range(start, min(n, start + CHUNK))])
            enqueue_s = time.perf_counter() - t0
            single_s = math.nan
            if full:
                t0 = time.perf_counter()
                for i in range(SINGLE):
                    await single.defer_async(i=i)
                single_s = time.perf_counter() - t0

            t0 = time.perf_counter()
            await app.run_worker_async(queues=["default"], concurrency=concurrency, wait=False,
                                       install_signal_handlers=False, listen_notify=False)
            execute_s = time.perf_counter() - t0
            async with app.connector.pool.connection() as conn:  # type: ignore[attr-defined]
                cur = await conn.execute("SELECT count(*) FROM procrastinate_jobs "
                                         "WHERE status = 'succeeded'")
                succeeded = (await cur.fetchone())[0]
            assert succeeded == n, f"procrastinate finished {succeeded} of {n} jobs"
            if not full:
                return {"enqueue_s": enqueue_s, "execute_s": execute_s, "latencies": [],
                        "single_s": single_s}

            worker = asyncio.create_task(app.run_worker_async(
                concurrency=concurrency, wait=True, install_signal_handlers=False,
                listen_notify=True, fetch_job_polling_interval=5.0))
            await asyncio.sleep(0.5)
            latencies = []
            for _ in range(LATENCY_SAMPLES):
                await asyncio.sleep(0.05)
                ran.append(asyncio.Event())
                sent = time.perf_counter()
                job_id = await ping.defer_async()
                await ran[-1].wait()
                latencies.append(started[job_id] - sent)
            worker.cancel()
            try:
                await worker
            except asyncio.CancelledError:
                pass
        return {"enqueue_s": enqueue_s, "execute_s": execute_s, "latencies": latencies,
                "single_s": single_s}

    return asyncio.run(main())


# -- report ---------------------------------------------------------------------------------


def summarize(name: str, n: int, r: dict[str, float]) -> dict[str, float]:
    lat = sorted(r["latencies"])
    return {
        "name": name,
        "enqueue": n / r["enqueue_s"],
        "single": SINGLE / r["single_s"],
        "execute": n / r["execute_s"],
        "lat_p50": statistics.median(lat) * 1000 if lat else math.nan,
        "lat_p95": lat[int(len(lat) * 0.95) - 1] * 1000 if lat else math.nan,
    }


def _num(value: float, fmt: str) -> str:
    return "—" if math.isnan(value) else format(value, fmt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--url", default=os.environ.get(
        "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a server where databases may be created")
    parser.add_argument("--no-write", action="store_true", help="do not append RESULTS.md")
    args = parser.parse_args()
    ensure_procrastinate()

    runs = [("rum_jobs", lambda u, n: bench_rum(u, n, args.concurrency), args.concurrency),
            ("procrastinate", lambda u, n: bench_procrastinate(u, n, args.concurrency),
             args.concurrency)]
    if args.concurrency != 1:  # procrastinate is often faster with one slot: report its best
        runs.append(("procrastinate", lambda u, n: bench_procrastinate(u, n, 1, full=False), 1))
    rows = []
    for i, (name, fn, concurrency) in enumerate(runs):
        dbname = f"bench_jobs_{i}_{os.getpid()}"
        admin(args.url, f'CREATE DATABASE "{dbname}"')
        try:
            result = fn(db_url(args.url, dbname), args.jobs)
        finally:
            admin(args.url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        rows.append(summarize(f"{name} (concurrency {concurrency})", args.jobs, result))
        print(f"{rows[-1]['name']}: done", flush=True)

    rum, pro = rows[0], rows[1]
    best_execute = max(r["execute"] for r in rows[1:])
    best_enqueue = max(r["enqueue"] for r in rows[1:])
    lines = [
        f"### Jobs: claim+complete throughput and pick-up latency "
        f"({dt.date.today().isoformat()})",
        "",
        f"`python bench/jobs.py --jobs {args.jobs} --concurrency {args.concurrency}` — "
        f"{args.jobs} no-op jobs, one worker with concurrency {args.concurrency}, same "
        f"PostgreSQL server; Python {platform.python_version()}, {os.cpu_count()} CPUs "
        f"(shared).",
        "",
        "| system | enqueue bulk (jobs/s) | enqueue one by one (jobs/s) | execute (jobs/s) "
        "| pick-up p50 (ms) | pick-up p95 (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['enqueue']:,.0f} | {_num(r['single'], ',.0f')} | "
                     f"{r['execute']:,.0f} | {_num(r['lat_p50'], '.1f')} | "
                     f"{_num(r['lat_p95'], '.1f')} |")
    lines += [
        f"| **rum / procrastinate** (bulk enqueue, execute: vs its faster run; latency: "
        f"lower is better) | **{rum['enqueue'] / best_enqueue:.2f}×** | "
        f"**{rum['single'] / pro['single']:.2f}×** | "
        f"**{rum['execute'] / best_execute:.2f}×** | "
        f"{rum['lat_p50'] / pro['lat_p50']:.2f}× | {rum['lat_p95'] / pro['lat_p95']:.2f}× |",
        "",
        f"Goals: execute ≥ 2× procrastinate ({rum['execute'] / best_execute:.1f}×), pick-up "
        f"latency ≤ 50 ms (p50 {rum['lat_p50']:.1f} ms, p95 {rum['lat_p95']:.1f} ms). The "
        f"machine's 2 CPUs are shared with other work, so absolute numbers are noisy.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as f:
            if RESULTS.stat().st_size == 0:
                f.write("# Benchmark results\n\n")
            f.write(text + "\n")


if __name__ == "__main__":
    main()
