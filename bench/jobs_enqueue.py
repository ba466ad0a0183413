"""Bulk enqueue under the microscope: where the time of ``enqueue_many`` of 1,000 jobs goes.

    python bench/jobs_enqueue.py [--jobs 1000] [--reps 15] [--url ...] [--ir]
    python bench/jobs_enqueue.py --compare-with a1a3f4c~1 [--reps 30]
    python bench/jobs_enqueue.py --schema-of 2ea4740 [--reps 30]

In a fresh database holding both Rum's and pgqueuer's tables, interleaved, for ``--jobs`` no-op
jobs with args ``{"i": i}`` (bench/jobs.py's bulk measure):

- Python: building the jobs (``Noop.enqueue_many``'s rows) and encoding the statement's
  parameters, median ms (``--ir``: callgrind instructions per job instead, stable on a busy
  machine);
- the statement alone on raw asyncpg, parameters built beforehand: on a warm connection
  (statement prepared, median of ``--reps``) and as the first statement of a new connection
  (prepare, type look-ups, custom plan: what one ``enqueue_many`` of bench/jobs.py pays);
- the same two for pgqueuer's ``Queries.enqueue`` of the same jobs;
- PostgreSQL's own planning and execution times of Rum's statement (EXPLAIN ANALYZE, medians),
  then one EXPLAIN (ANALYZE, BUFFERS).

Works on older trees too (put ``plugins`` of another checkout first on ``PYTHONPATH``): a
tree without ``store.insert_columns`` is measured with its JSON-array statement.
``--compare-with COMMIT`` instead times this tree's statement and COMMIT's JSON-array
statement interleaved in one process (warm, first on a new connection, PostgreSQL's planning
and execution), the fairer comparison on a busy machine. ``--schema-of COMMIT`` times this
tree's statement into this tree's table and into a table made by COMMIT's migrations (each in
its own database), interleaved: what a schema change (e.g. its indexes) costs the INSERT.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg


def noop_class() -> Any:
    from rum_jobs import Job

    class Noop(Job):
        async def execute(self, args: Any) -> None:
            return None

    return Noop


def build_jobs(noop: Any, n: int) -> list[Any]:
    """The rows ``Noop.enqueue_many([{"i": i} ...])`` inserts (as this tree builds them)."""
    from rum_jobs import store

    args = [{"i": i} for i in range(n)]
    if hasattr(store.NewJob, "for_each"):
        return list(noop.build(None).for_each(args))
    return [noop.build(a) for a in args]


def encode(jobs: Sequence[Any]) -> tuple[Any, ...]:
    """The INSERT statement's parameters for ``jobs``."""
    from rum_jobs import store

    if hasattr(store, "insert_columns"):
        return tuple(store.insert_columns(jobs))
    older: Any = store  # a tree before insert_columns: one JSON array of rows
    return (older._rows_json([j.as_row() for j in jobs]),)


def median_ms(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def python_side(n: int, reps: int) -> None:
    noop = noop_class()
    jobs = build_jobs(noop, n)
    print(f"python: build {n} jobs {median_ms(lambda: build_jobs(noop, n), reps):.2f} ms, "
          f"encode parameters {median_ms(lambda: encode(jobs), reps):.2f} ms")


def python_ir(n: int) -> None:
    """Callgrind instructions per job of building + encoding (a run of 0 and of 5 batches)."""
    script = ("import sys; sys.path[:0] = {path!r}; import bench_jobs_enqueue as b\n"
              "noop = b.noop_class(); b.encode(b.build_jobs(noop, 10))\n"
              "for _ in range({k}): b.encode(b.build_jobs(noop, {n}))\n")
    here = os.path.dirname(os.path.abspath(__file__))
    totals = []
    with tempfile.TemporaryDirectory() as tmp:
        os.symlink(os.path.abspath(__file__), os.path.join(tmp, "bench_jobs_enqueue.py"))
        for k in (0, 5):
            out = os.path.join(tmp, f"cg.{k}")
            code = script.format(path=[tmp, here], k=k, n=n)
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            sys.executable, "-c", code], check=True, capture_output=True)
            with open(out, encoding="utf-8") as f:
                totals.append(next(int(line.split()[1]) for line in f
                                   if line.startswith("summary:")))
    print(f"python: build + encode {(totals[1] - totals[0]) / (5 * n):,.0f} Ir per job")


async def statements(url: str, n: int, reps: int) -> None:
    from pgqueuer import AsyncpgDriver, Queries

    from rum_jobs import sql
    from rum_jobs.schema import schema_sql

    conn = await asyncpg.connect(url)
    await conn.execute(schema_sql())
    await Queries(AsyncpgDriver(conn)).install()
    params = encode(build_jobs(noop_class(), n))
    payloads: list[bytes | None] = [b'{"i": %d}' % i for i in range(n)]

    async def rum(c: asyncpg.Connection) -> None:
        rows = await c.fetch(sql.INSERT, *params)
        assert len(rows) == n

    async def pgq(c: asyncpg.Connection) -> None:
        ids = await Queries(AsyncpgDriver(c)).enqueue(["noop"] * n, payloads, [0] * n)
        assert len(ids) == n

    warm: dict[str, list[float]] = {"rum": [], "pgqueuer": []}
    fresh: dict[str, list[float]] = {"rum": [], "pgqueuer": []}
    for fn in (rum, pgq):
        await fn(conn)
    for rep in range(reps):
        for name, fn in (("rum", rum), ("pgqueuer", pgq)):
            t0 = time.perf_counter()
            await fn(conn)
            warm[name].append(time.perf_counter() - t0)
            new = await asyncpg.connect(url)
            await new.fetchval("SELECT 1")
            t0 = time.perf_counter()
            await fn(new)
            fresh[name].append(time.perf_counter() - t0)
            await new.close()
        if rep % 5 == 4:
            await conn.execute("TRUNCATE rum_jobs; TRUNCATE pgqueuer, pgqueuer_log")
    for name in warm:
        print(f"{name:9s} statement: warm connection {statistics.median(warm[name]) * 1e3:6.2f} ms"
              f", first on a new connection {statistics.median(fresh[name]) * 1e3:6.2f} ms"
              f" (medians of {reps})")
    planning, execution = [], []
    for rep in range(reps):
        if rep % 5 == 0:
            await conn.execute("TRUNCATE rum_jobs")
        plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN (ANALYZE) " + sql.INSERT,
                                                         *params))
        planning.append(float(plan.split("Planning Time: ")[1].split(" ")[0]))
        execution.append(float(plan.split("Execution Time: ")[1].split(" ")[0]))
    print(f"rum       server side (EXPLAIN ANALYZE): planning {statistics.median(planning):.2f} ms"
          f" + execution {statistics.median(execution):.2f} ms (medians of {reps})")
    await conn.execute("TRUNCATE rum_jobs")
    plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql.INSERT, *params)
    print("\n".join("    " + r[0][:160] for r in plan))
    await conn.close()


async def compare(url: str, n: int, reps: int, commit: str) -> None:
    """This tree's INSERT against ``commit``'s JSON-array INSERT (its SQL read with git show;
    its parameter, one JSON array of rows, built with ``NewJob.as_row``, which encodes the
    same rows), both timed here with parameters built beforehand, interleaved."""
    from rum_jobs import payload, sql, store
    from rum_jobs.schema import schema_sql

    source = subprocess.run(["git", "show", f"{commit}:plugins/rum_jobs/sql.py"], check=True,
                            capture_output=True, text=True).stdout
    old_sql: dict[str, Any] = {}
    exec(compile(source, f"{commit}:sql.py", "exec"), old_sql)
    jobs = build_jobs(noop_class(), n)
    variants = {commit: (old_sql["INSERT"], (payload.encode([j.as_row() for j in jobs]),)),
                "this tree": (sql.INSERT, tuple(store.insert_columns(jobs)))}
    conn = await asyncpg.connect(url)
    await conn.execute(schema_sql())
    times: dict[str, dict[str, list[float]]] = {
        k: {"warm": [], "new connection": [], "planning": [], "execution": []}
        for k in variants}
    for statement, params in variants.values():
        await conn.fetch(statement, *params)
    for rep in range(reps):
        for name, (statement, params) in variants.items():
            t0 = time.perf_counter()
            await conn.fetch(statement, *params)
            times[name]["warm"].append((time.perf_counter() - t0) * 1e3)
            new = await asyncpg.connect(url)
            await new.fetchval("SELECT 1")
            t0 = time.perf_counter()
            await new.fetch(statement, *params)
            times[name]["new connection"].append((time.perf_counter() - t0) * 1e3)
            await new.close()
            plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN (ANALYZE) " + statement,
                                                             *params))
            times[name]["planning"].append(float(plan.split("Planning Time: ")[1].split()[0]))
            times[name]["execution"].append(float(plan.split("Execution Time: ")[1].split()[0]))
        if rep % 5 == 4:
            await conn.execute("TRUNCATE rum_jobs")
    await conn.close()
    for name, measures in times.items():
        print(f"{name:>12s} INSERT: " + ", ".join(
            f"{m} {statistics.median(v):.2f} ms" for m, v in measures.items()))
    old, new_ = times[commit], times["this tree"]
    print("per-round ratio old / this tree: " + ", ".join(
        f"{m} {statistics.median(a / b for a, b in zip(old[m], new_[m], strict=True)):.2f}x"
        for m in ("warm", "new connection")) + f" (medians of {reps})")


def commit_schema(commit: str) -> str:
    """The SQL of ``commit``'s jobs migrations (its ``*.up.sql`` files, in order)."""
    where = "plugins/rum_jobs/migrations/"
    names = subprocess.run(["git", "ls-tree", "--name-only", commit, where], check=True,
                           capture_output=True, text=True).stdout.split()
    return "\n".join(subprocess.run(["git", "show", f"{commit}:{name}"], check=True,
                                    capture_output=True, text=True).stdout
                     for name in sorted(names) if name.endswith(".up.sql"))


async def compare_schema(urls: dict[str, str], schemas: dict[str, str], n: int,
                         reps: int) -> None:
    """This tree's INSERT of ``n`` jobs into each database's table (made by ``schemas``),
    interleaved: warm wall clock, PostgreSQL's execution time, and the Insert node's own."""
    from rum_jobs import sql, store

    params = tuple(store.insert_columns(build_jobs(noop_class(), n)))
    conns = {}
    for name, url in urls.items():
        conns[name] = await asyncpg.connect(url)
        await conns[name].execute(schemas[name])
        await conns[name].fetch(sql.INSERT, *params)
    times: dict[str, dict[str, list[float]]] = {
        k: {"warm": [], "execution": [], "insert node": []} for k in urls}
    for rep in range(reps):
        for name, conn in conns.items():
            if rep % 5 == 0:
                await conn.execute("TRUNCATE rum_jobs")
            t0 = time.perf_counter()
            await conn.fetch(sql.INSERT, *params)
            times[name]["warm"].append((time.perf_counter() - t0) * 1e3)
            plan = "\n".join(r[0] for r in await conn.fetch("EXPLAIN (ANALYZE) " + sql.INSERT,
                                                             *params))
            times[name]["execution"].append(float(plan.split("Execution Time: ")[1].split()[0]))
            insert = plan.split("Insert on rum_jobs")[1].split("actual time=")[1]
            times[name]["insert node"].append(float(insert.split("..")[1].split()[0]))
    for name, conn in conns.items():
        sizes = await conn.fetchrow("SELECT pg_table_size('rum_jobs') AS t, "
                                    "pg_indexes_size('rum_jobs') AS i, count(*) AS n "
                                    "FROM rum_jobs")
        await conn.close()
        print(f"{name:>12s} schema: " + ", ".join(
            f"{m} {statistics.median(v):.2f} ms" for m, v in times[name].items())
            + f"; after the last round {sizes['n']:,} rows, table {sizes['t'] // 1024:,} kB, "
              f"indexes {sizes['i'] // 1024:,} kB")
    ours, theirs = (times[k] for k in urls)
    ratios = {m: statistics.median(a / b for a, b in zip(ours[m], theirs[m], strict=True))
              for m in ours}
    print(f"per-round ratio {' / '.join(urls)} (below 1: faster here): " + ", ".join(
        f"{m} {ratios[m]:.2f}x"
        for m in ("warm", "execution", "insert node")) + f" (medians of {reps})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--ir", action="store_true", help="callgrind Ir for the Python side")
    parser.add_argument("--compare-with", metavar="COMMIT",
                        help="time this tree's statement against COMMIT's JSON-array one")
    parser.add_argument("--schema-of", metavar="COMMIT",
                        help="time this tree's statement into this tree's table and into "
                             "COMMIT's")
    args = parser.parse_args()
    from rum_jobs import store

    print(f"rum_jobs from {os.path.dirname(store.__file__)}; load {os.getloadavg()[0]:.2f}")
    if args.ir:
        python_ir(args.jobs)
    elif not args.compare_with and not args.schema_of:
        python_side(args.jobs, 50)
    name = f"bench_enqueue_{os.getpid()}"
    base = args.url.rpartition("/")[0]

    async def run() -> None:
        admin = await asyncpg.connect(args.url)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            if args.schema_of:
                from rum_jobs.schema import schema_sql

                await admin.execute(f'CREATE DATABASE "{name}_old"')
                try:
                    await compare_schema(
                        {"this tree": f"{base}/{name}", args.schema_of: f"{base}/{name}_old"},
                        {"this tree": schema_sql(), args.schema_of: commit_schema(args.schema_of)},
                        args.jobs, args.reps)
                finally:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}_old" WITH (FORCE)')
            elif args.compare_with:
                await compare(f"{base}/{name}", args.jobs, args.reps, args.compare_with)
            else:
                await statements(f"{base}/{name}", args.jobs, args.reps)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
