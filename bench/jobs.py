"""Job queues on one PostgreSQL: Rum's worker vs pgqueuer vs procrastinate, interleaved.

    python bench/jobs.py [--jobs 2000] [--rounds 3] [--backlog 100000] [--url ...]
    python bench/jobs.py --table-health [--batches 10] [--batch 100000]

Every measurement runs in a fresh database on the same server. In each round, for each
system in turn (so a busy moment of the shared machine hits all of them alike):

- enqueue ``--jobs`` jobs in bulk (chunks of 1,000 per call) and 500 one by one;
- execute ``--jobs`` queued jobs, no-op and ``await sleep(1 ms)``, at concurrency 1, 10 and
  50, until all are done (claim + run + record the outcome);
- pick-up latency: 30 single jobs enqueued to an idle, listening worker (enqueue → start).

Then, once per system that keeps up (Rum, pgqueuer): a backlog of ``--backlog`` no-op jobs run
at concurrency 50, checking that no job ran twice, compared with the same system's empty-queue
figure. Reported: the median of the rounds and Rum's ratio to each peer (per round, then the
median). Appends a section to bench/RESULTS.md unless ``--no-write``.

Settings: Rum ``Worker(concurrency=c)`` with a pool of c + 6; pgqueuer ``QueueManager.run(
batch_size=max(1, c // 2), max_concurrent_tasks=max(2, c))`` on an asyncpg pool of c + 6
(its minimum cap is twice the batch; at c = 1 the entrypoint also gets
``concurrency_limit=1``); procrastinate ``run_worker_async(concurrency=c,
listen_notify=True, wait=False)`` with its documented defaults otherwise, on a psycopg pool of
c + 6.

``--table-health``: run ``--batches`` × ``--batch`` no-op jobs through one Rum worker with the
pruner on (keep complete jobs 0 s) and report rum_jobs table + index size after each batch.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import math
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg

RESULTS = Path(__file__).with_name("RESULTS.md")
CHUNK = 1000
LATENCY_SAMPLES = 30
SINGLE = 500
CONCURRENCIES = (1, 10, 50)
WORKLOADS = ("noop", "sleep 1 ms")


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


def in_fresh_database(server: str, fn: Callable[[str], Any]) -> Any:
    name = f"bench_jobs_{os.getpid()}_{time.monotonic_ns()}"
    admin(server, f'CREATE DATABASE "{name}"')
    try:
        return fn(db_url(server, name))
    finally:
        admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- Rum --------------------------------------------------------------------------------------


class RumBench:
    name = "rum"

    @staticmethod
    def _run(url: str, body: Callable[..., Any], pool: int = 8) -> Any:
        import trio

        from rum_jobs import ensure_schema
        from rum_orm import Database

        async def main() -> Any:
            async with Database.open(url, pool_min=2, pool_max=pool) as db:
                await ensure_schema(db)
                return await body(db)

        return trio.run(main)

    def enqueue(self, url: str, n: int) -> tuple[float, float]:
        from rum_jobs import Job

        class Noop(Job):
            async def execute(self, args: Any) -> None:
                return None

        async def body(db: Any) -> tuple[float, float]:
            t0 = time.perf_counter()
            for start in range(0, n, CHUNK):
                await Noop.enqueue_many([{"i": i} for i in range(start, min(n, start + CHUNK))],
                                        db=db)
            bulk = n / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            for i in range(SINGLE):
                await Noop.enqueue({"i": i}, db=db)
            return bulk, SINGLE / (time.perf_counter() - t0)

        return self._run(url, body)

    def execute(self, url: str, n: int, concurrency: int, workload: str,
                check: bool = False) -> float:
        import trio

        from rum_jobs import Job, Worker

        runs: Counter[int] = Counter()
        done = trio.Event()
        sleep = 0.001 if workload == "sleep 1 ms" else 0.0

        class Work(Job):
            async def execute(self, args: Any) -> None:
                if sleep:
                    await trio.sleep(sleep)
                runs[self.id] += 1
                if len(runs) == n:
                    done.set()

        async def body(db: Any) -> float:
            if n >= 20_000:
                await db.execute(f"INSERT INTO rum_jobs (job) SELECT 'Work' FROM "
                                 f"generate_series(1, {n})")
            else:
                await Work.enqueue_many([{}] * n, db=db)
            worker = Worker([Work], db=db, concurrency=concurrency, poll_interval=1.0)
            async with trio.open_nursery() as nursery:
                t0 = time.perf_counter()
                await nursery.start(worker.run)
                await done.wait()
                while await db.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                        "'complete'"):
                    await trio.sleep(0.002)
                elapsed = time.perf_counter() - t0
                worker.stop()
            if check:
                assert len(runs) == n and set(runs.values()) == {1}, "a job ran twice"
            return n / elapsed

        return self._run(url, body, pool=concurrency + 6)

    def latency(self, url: str) -> list[float]:
        import trio

        from rum_jobs import Job, Worker

        started: dict[int, float] = {}
        state: dict[str, Any] = {"event": None}

        class Ping(Job):
            async def execute(self, args: Any) -> None:
                started[self.id] = time.perf_counter()
                state["event"].set()

        async def body(db: Any) -> list[float]:
            worker = Worker([Ping], db=db, concurrency=10, poll_interval=5.0)
            out = []
            async with trio.open_nursery() as nursery:
                await nursery.start(worker.run)
                await trio.sleep(0.3)
                for _ in range(LATENCY_SAMPLES):
                    await trio.sleep(0.05)
                    state["event"] = trio.Event()
                    sent = time.perf_counter()
                    job_id = await Ping.enqueue(db=db)
                    await state["event"].wait()
                    out.append(started[job_id] - sent)
                worker.stop()
            return out

        return self._run(url, body, pool=16)


# -- pgqueuer ---------------------------------------------------------------------------------


class PgqueuerBench:
    name = "pgqueuer"

    @staticmethod
    async def _setup(url: str, pool_size: int) -> tuple[asyncpg.Pool, Any]:
        from pgqueuer import AsyncpgPoolDriver, Queries

        pool = await asyncpg.create_pool(url, min_size=2, max_size=pool_size)
        driver = AsyncpgPoolDriver(pool)
        queries = Queries(driver)
        await queries.install()
        return pool, driver

    def enqueue(self, url: str, n: int) -> tuple[float, float]:
        from pgqueuer import Queries

        async def main() -> tuple[float, float]:
            pool, driver = await self._setup(url, 8)
            queries = Queries(driver)
            try:
                t0 = time.perf_counter()
                for start in range(0, n, CHUNK):
                    k = min(n, start + CHUNK) - start
                    await queries.enqueue(["noop"] * k,
                                          [b'{"i": %d}' % i for i in range(start, start + k)],
                                          [0] * k)
                bulk = n / (time.perf_counter() - t0)
                t0 = time.perf_counter()
                for i in range(SINGLE):
                    await queries.enqueue("noop", b'{"i": %d}' % i)
                return bulk, SINGLE / (time.perf_counter() - t0)
            finally:
                await pool.close()

        return asyncio.run(main())

    def execute(self, url: str, n: int, concurrency: int, workload: str,
                check: bool = False) -> float:
        from pgqueuer import Queries, QueueManager
        from pgqueuer.types import QueueExecutionMode

        runs: Counter[Any] = Counter()
        sleep = 0.001 if workload == "sleep 1 ms" else 0.0

        async def main() -> float:
            pool, driver = await self._setup(url, concurrency + 6)
            try:
                queries = Queries(driver)
                for start in range(0, n, 10_000):
                    k = min(n, start + 10_000) - start
                    await queries.enqueue(["work"] * k, [None] * k, [0] * k)
                qm = QueueManager(Queries(driver))

                @qm.entrypoint("work", concurrency_limit=1 if concurrency == 1 else 0)
                async def work(job: Any) -> None:
                    if sleep:
                        await asyncio.sleep(sleep)
                    runs[job.id] += 1

                t0 = time.perf_counter()
                await qm.run(batch_size=max(1, concurrency // 2),
                             max_concurrent_tasks=max(2, concurrency),
                             mode=QueueExecutionMode.drain,
                             dequeue_timeout=dt.timedelta(seconds=1))
                elapsed = time.perf_counter() - t0
                assert len(runs) == n, f"pgqueuer ran {len(runs)} of {n}"
                if check:
                    assert set(runs.values()) == {1}, "a job ran twice"
                return n / elapsed
            finally:
                await pool.close()

        return asyncio.run(main())

    def latency(self, url: str) -> list[float]:
        from pgqueuer import Queries, QueueManager

        async def main() -> list[float]:
            pool, driver = await self._setup(url, 16)
            try:
                queries = Queries(driver)
                qm = QueueManager(Queries(driver))
                started: dict[Any, float] = {}
                ran: list[asyncio.Event] = []

                @qm.entrypoint("ping")
                async def ping(job: Any) -> None:
                    started[job.id] = time.perf_counter()
                    ran[-1].set()

                task = asyncio.create_task(qm.run(batch_size=5, max_concurrent_tasks=10))
                await asyncio.sleep(0.5)
                out = []
                for _ in range(LATENCY_SAMPLES):
                    await asyncio.sleep(0.05)
                    ran.append(asyncio.Event())
                    sent = time.perf_counter()
                    [job_id] = await queries.enqueue("ping", None)
                    await asyncio.wait_for(ran[-1].wait(), 10)
                    out.append(started[job_id] - sent)
                qm.shutdown.set()
                await asyncio.wait_for(task, 10)
                return out
            finally:
                await pool.close()

        return asyncio.run(main())


# -- procrastinate ----------------------------------------------------------------------------


class ProcrastinateBench:
    name = "procrastinate"

    @staticmethod
    def _app(url: str, pool_size: int) -> Any:
        import procrastinate

        return procrastinate.App(connector=procrastinate.PsycopgConnector(
            conninfo=url, min_size=2, max_size=pool_size))

    def enqueue(self, url: str, n: int) -> tuple[float, float]:
        app = self._app(url, 8)

        @app.task(name="noop", pass_context=False)
        async def noop(i: int) -> None:
            return None

        async def main() -> tuple[float, float]:
            async with app.open_async():
                await app.schema_manager.apply_schema_async()
                t0 = time.perf_counter()
                for start in range(0, n, CHUNK):
                    await noop.batch_defer_async(*[{"i": i} for i in
                                                   range(start, min(n, start + CHUNK))])
                bulk = n / (time.perf_counter() - t0)
                t0 = time.perf_counter()
                for i in range(SINGLE):
                    await noop.defer_async(i=i)
                return bulk, SINGLE / (time.perf_counter() - t0)

        return asyncio.run(main())

    def execute(self, url: str, n: int, concurrency: int, workload: str,
                check: bool = False) -> float:
        app = self._app(url, concurrency + 6)
        sleep = 0.001 if workload == "sleep 1 ms" else 0.0

        @app.task(name="work", pass_context=False)
        async def work(i: int) -> None:
            if sleep:
                await asyncio.sleep(sleep)

        async def main() -> float:
            async with app.open_async():
                await app.schema_manager.apply_schema_async()
                for start in range(0, n, CHUNK):
                    await work.batch_defer_async(*[{"i": i} for i in
                                                   range(start, min(n, start + CHUNK))])
                t0 = time.perf_counter()
                await app.run_worker_async(concurrency=concurrency, wait=False,
                                           install_signal_handlers=False, listen_notify=True)
                elapsed = time.perf_counter() - t0
                async with app.connector.pool.connection() as conn:
                    cur = await conn.execute("SELECT count(*) FROM procrastinate_jobs "
                                             "WHERE status = 'succeeded'")
                    succeeded = (await cur.fetchone())[0]
                assert succeeded == n, f"procrastinate finished {succeeded} of {n}"
                return n / elapsed

        return asyncio.run(main())

    def latency(self, url: str) -> list[float]:
        import procrastinate

        app = self._app(url, 16)
        started: dict[int, float] = {}
        ran: list[asyncio.Event] = []

        @app.task(name="ping", pass_context=True)
        async def ping(context: procrastinate.JobContext) -> None:
            started[context.job.id] = time.perf_counter()
            ran[-1].set()

        async def main() -> list[float]:
            async with app.open_async():
                await app.schema_manager.apply_schema_async()
                worker = asyncio.create_task(app.run_worker_async(
                    concurrency=10, wait=True, install_signal_handlers=False,
                    listen_notify=True))
                await asyncio.sleep(0.5)
                out = []
                for _ in range(LATENCY_SAMPLES):
                    await asyncio.sleep(0.05)
                    ran.append(asyncio.Event())
                    sent = time.perf_counter()
                    job_id = await ping.defer_async()
                    await asyncio.wait_for(ran[-1].wait(), 10)
                    out.append(started[job_id] - sent)
                worker.cancel()
                try:
                    await worker
                except asyncio.CancelledError:
                    pass
                return out

        return asyncio.run(main())


# -- table health -----------------------------------------------------------------------------


def table_health(server: str, batches: int, batch: int) -> list[str]:
    import trio

    from rum_jobs import Job, Pruner, Worker, ensure_schema
    from rum_orm import Database

    class Tick(Job):
        async def execute(self, args: Any) -> None:
            return None

    lines = ["| after batch | jobs run | rum_jobs table (MB) | its indexes (MB) | rows left |",
             "|---:|---:|---:|---:|---:|"]

    def run(url: str) -> None:
        async def main() -> None:
            async with Database.open(url, pool_min=2, pool_max=16) as db:
                await ensure_schema(db)
                pruner = Pruner(max_age={"complete": 0}, interval=2.0)
                worker = Worker([Tick], db=db, concurrency=50, pruner=pruner,
                                poll_interval=0.5)
                async with trio.open_nursery() as nursery:
                    await nursery.start(worker.run)
                    for b in range(1, batches + 1):
                        await db.execute("INSERT INTO rum_jobs (job) SELECT 'Tick' FROM "
                                         f"generate_series(1, {batch})")
                        while await db.fetchval("SELECT count(*) FROM rum_jobs WHERE status "
                                                "<> 'complete'"):
                            await trio.sleep(0.5)
                        row = await db.fetchrow(
                            "SELECT pg_table_size('rum_jobs') AS t, "
                            "pg_indexes_size('rum_jobs') AS i, "
                            "(SELECT count(*) FROM rum_jobs) AS n")
                        lines.append(f"| {b} | {b * batch:,} | {row['t'] / 2**20:.1f} | "
                                     f"{row['i'] / 2**20:.1f} | {row['n']:,} |")
                        print(lines[-1], flush=True)
                    worker.stop()
                    sizes = await db.fetch(
                        "SELECT c.relname, pg_relation_size(c.oid) AS b FROM pg_index i "
                        "JOIN pg_class c ON c.oid = i.indexrelid "
                        "WHERE i.indrelid = 'rum_jobs'::regclass ORDER BY b DESC, c.relname")
                    lines.extend(["", "Indexes after the last batch: " + ", ".join(
                        f"`{r['relname']}` {r['b'] / 2**20:.1f} MB" for r in sizes) + "."])

        trio.run(main)

    in_fresh_database(server, run)
    return lines


# -- report -----------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--only", nargs="*", default=["rum", "pgqueuer", "procrastinate"])
    parser.add_argument("--url", default=os.environ.get(
        "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a server where databases may be created")
    parser.add_argument("--table-health", action="store_true")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--no-write", action="store_true", help="do not append RESULTS.md")
    args = parser.parse_args()
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]

    if args.table_health:
        lines = table_health(args.url, args.batches, args.batch)
        text = "\n".join([
            f"### Jobs: table health under steady load ({today})", "",
            f"`python bench/jobs.py --table-health --batches {args.batches} --batch "
            f"{args.batch}` — {args.batches} × {args.batch:,} no-op jobs through one worker "
            "(concurrency 50) with the pruner deleting complete jobs every 2 s (autovacuum "
            f"on, the table's own settings); load average {load:.1f} at the start.", "",
            *lines, ""])
        print(text)
        if not args.no_write:
            with RESULTS.open("a", encoding="utf-8") as f:
                f.write("\n" + text)
        return

    systems = {"rum": RumBench(), "pgqueuer": PgqueuerBench(),
               "procrastinate": ProcrastinateBench()}
    systems = {k: v for k, v in systems.items() if k in args.only}
    # results[metric][system] = [value per round]
    results: dict[str, dict[str, list[float]]] = {}

    def record(metric: str, system: str, value: float) -> None:
        results.setdefault(metric, {}).setdefault(system, []).append(value)

    for rnd in range(args.rounds):
        for name, bench in systems.items():
            bulk, single = in_fresh_database(args.url, lambda u, b=bench: b.enqueue(u, args.jobs))
            record("enqueue bulk", name, bulk)
            record("enqueue one by one", name, single)
            for workload in WORKLOADS:
                for c in CONCURRENCIES:
                    value = in_fresh_database(
                        args.url, lambda u, b=bench, c=c, w=workload: b.execute(
                            u, args.jobs, c, w))
                    record(f"execute {workload}, concurrency {c}", name, value)
            lat = in_fresh_database(args.url, bench.latency)
            record("pick-up p50 ms", name, statistics.median(lat) * 1000)
            record("pick-up p95 ms", name, pct(lat, 0.95) * 1000)
            print(f"round {rnd + 1}: {name} done", flush=True)

    backlog: dict[str, float] = {}
    if args.backlog:
        for name in ("rum", "pgqueuer"):
            if name in systems:
                backlog[name] = in_fresh_database(
                    args.url, lambda u, b=systems[name]: b.execute(u, args.backlog, 50, "noop",
                                                                   check=True))
                print(f"backlog: {name} {backlog[name]:.0f} jobs/s", flush=True)

    names = list(systems)
    peers = [n for n in names if n != "rum"]
    header = ("| measure | " + " | ".join(names) + " | "
              + " | ".join(f"rum / {p}" for p in peers) + " |")
    lines = [
        f"### Jobs: Rum vs pgqueuer vs procrastinate, interleaved ({today})", "",
        f"`python bench/jobs.py --jobs {args.jobs} --rounds {args.rounds} --backlog "
        f"{args.backlog}` — Python {platform.python_version()}, {os.cpu_count()} CPUs shared "
        f"with other helpers' tests and benchmarks (load average {load:.1f} at the start: "
        "absolute figures are low and noisy; the ratios come from the same rounds). Jobs/s "
        "(latency in ms), median of the rounds; a ratio is the median of the per-round "
        "ratios (for latency, peer ÷ Rum: above 1 means Rum is faster).", "",
        header, "|---|" + "---:|" * (len(names) + len(peers)),
    ]
    for metric, by_system in results.items():
        latency = metric.startswith("pick-up")
        cells = [f"{statistics.median(by_system[n]):,.1f}" if latency
                 else f"{statistics.median(by_system[n]):,.0f}" for n in names]
        ratios = []
        for p in peers:
            per_round = [(b / a if latency else a / b)
                         for a, b in zip(by_system["rum"], by_system[p], strict=True)]
            ratios.append(f"**{statistics.median(per_round):.2f}×**")
        lines.append(f"| {metric} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    if backlog:
        lines.append("")
        for name, value in backlog.items():
            empty = statistics.median(results["execute noop, concurrency 50"][name])
            lines.append(f"- {args.backlog:,} queued, no-op, concurrency 50: {name} "
                         f"{value:,.0f} jobs/s, {value / empty:.2f}× its empty-queue figure "
                         "(every job ran exactly once)")
        if "rum" in backlog and "pgqueuer" in backlog:
            lines.append(f"- backlog ratio rum / pgqueuer: "
                         f"**{backlog['rum'] / backlog['pgqueuer']:.2f}×**")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    sys.exit(main())
