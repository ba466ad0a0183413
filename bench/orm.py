"""Bench: Rum's ORM vs raw SQL on the same bridge vs native asyncpg on uvloop.

    python bench/orm.py [--queries 2000] [--tasks 32] [--rounds 5] [--append]

Two queries, each sequentially (one task) and with ``--tasks`` concurrent tasks:

- find by primary key: ``await User.find(i).fetch()``
  vs ``SELECT * FROM bench_users WHERE id = $1``;
- a filtered list of 25 rows:
  ``await User.filter(admin=False).filter_gt("id", k).order("id").limit(25).fetch_all()``
  vs ``SELECT * FROM bench_users WHERE admin = $1 AND id > $2 ORDER BY id LIMIT 25``.

Through (a) Rum's ORM on trio, (b) raw SQL through ``rum_orm.Database`` (the same asyncpg
pool behind the same trio bridge), (c) native asyncpg on uvloop, what a user would pick
without trio. Each round interleaves Rum and native asyncpg in ``--chunks`` chunks (alternating
which goes first), so the ratios compare runs that saw the same machine load. Prints queries/s
and the ratios a/b (the ORM's cost) and a/c; ``--append`` adds them to ``bench/RESULTS.md``.
Uses ``DATABASE_URL`` or postgres@127.0.0.1:5432, in a throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
from collections.abc import Awaitable, Callable

import asyncpg
import trio
from results import append_section, environment

from rum_orm import Database, Model
from rum_orm.testing import DEFAULT_LOCAL_URL, create_database, drop_database

ROWS = 2000
POOL = 10
PK_SQL = "SELECT * FROM bench_users WHERE id = $1"
LIST_SQL = "SELECT * FROM bench_users WHERE admin = $1 AND id > $2 ORDER BY id LIMIT 25"


class BenchUser(Model):
    id: int | None = None
    email: str
    admin: bool = False
    karma: int = 0
    created_at: dt.datetime


async def _prepare(url: str) -> None:
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE bench_users (id bigserial PRIMARY KEY, email text NOT NULL,"
                       " admin boolean NOT NULL DEFAULT false, karma int NOT NULL DEFAULT 0, "
                       "created_at timestamptz NOT NULL DEFAULT now())")
    await conn.executemany("INSERT INTO bench_users (email, admin, karma) VALUES ($1, $2, $3)",
                           [(f"user{i}@example.com", i % 10 == 0, i) for i in range(ROWS)])
    await conn.execute("ANALYZE bench_users")
    await conn.close()


def _split(total: int, tasks: int) -> list[int]:
    return [total // tasks + (1 if i < total % tasks else 0) for i in range(tasks)]


def _key(i: int) -> int:
    return (i * 7919) % (ROWS - 100) + 1


Query = Callable[[int], Awaitable[object]]


async def _timed(query: Query, total: int, tasks: int, offset: int) -> tuple[float, float]:
    """Wall-clock and process CPU seconds to run ``total`` queries over ``tasks`` trio tasks."""
    async def worker(n: int, start: int) -> None:
        for i in range(n):
            await query(start + i)

    begin, cpu = time.perf_counter(), time.process_time()
    async with trio.open_nursery() as nursery:
        for k, n in enumerate(_split(total, tasks)):
            nursery.start_soon(worker, n, offset + k * 1000)
    return time.perf_counter() - begin, time.process_time() - cpu


async def _rum(url: str, size: int, tasks: int, offset: int) -> dict[str, tuple[float, float]]:
    """Wall-clock and CPU seconds the ORM and raw SQL through the same bridge take for
    ``size`` queries each."""
    async with Database.open(url, pool_min=POOL, pool_max=POOL) as db:
        async def orm_pk(i: int) -> object:
            return await BenchUser.find(_key(i)).fetch()

        async def orm_list(i: int) -> object:
            return await (BenchUser.filter(admin=False).filter_gt("id", _key(i)).order("id")
                          .limit(25).fetch_all())

        async def raw_pk(i: int) -> object:
            return await db.fetchrow(PK_SQL, _key(i))

        async def raw_list(i: int) -> object:
            return await db.fetch(LIST_SQL, False, _key(i))

        variants = {"orm pk": orm_pk, "bridge pk": raw_pk, "orm list": orm_list,
                    "bridge list": raw_list}
        for fn in variants.values():  # warm-up: connections, prepared statements
            await _timed(fn, 4 * POOL, tasks, 0)
        return {label: await _timed(fn, size, tasks, offset) for label, fn in variants.items()}


async def _native(url: str, size: int, tasks: int,
                  offset: int) -> dict[str, tuple[float, float]]:
    """Wall-clock and CPU seconds native asyncpg on uvloop takes for ``size`` queries of each
    kind."""
    pool = await asyncpg.create_pool(url, min_size=POOL, max_size=POOL)

    async def seconds(query: Query) -> tuple[float, float]:
        async def worker(n: int, start: int) -> None:
            for i in range(n):
                await query(start + i)

        await worker(4 * POOL, 0)
        begin, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*[worker(n, offset + k * 1000)
                               for k, n in enumerate(_split(size, tasks))])
        return time.perf_counter() - begin, time.process_time() - cpu

    try:
        return {"native pk": await seconds(lambda i: pool.fetchrow(PK_SQL, _key(i))),
                "native list": await seconds(lambda i: pool.fetch(LIST_SQL, False, _key(i)))}
    finally:
        await pool.close()


def _round(url: str, total: int, tasks: int,
           chunks: int) -> tuple[dict[str, float], dict[str, float]]:
    """Queries/s and process CPU µs per query of every variant, the Rum and native runs
    interleaved in ``chunks`` chunks (alternating which goes first) so that both see the same
    machine load."""
    import uvloop

    size = max(1, total // chunks)
    spent: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for c in range(chunks):
        offset = c * 97
        runs = [lambda o=offset: trio.run(_rum, url, size, tasks, o),
                lambda o=offset: uvloop.run(_native(url, size, tasks, o))]
        for run in runs if c % 2 == 0 else reversed(runs):
            for label, (seconds, cpu_seconds) in run().items():
                spent[label] = spent.get(label, 0.0) + seconds
                cpu[label] = cpu.get(label, 0.0) + cpu_seconds
    return ({label: size * chunks / seconds for label, seconds in spent.items()},
            {label: seconds * 1e6 / (size * chunks) for label, seconds in cpu.items()})


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--tasks", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5,
                        help="repeat everything this many times; report medians")
    parser.add_argument("--chunks", type=int, default=4,
                        help="interleave Rum and native asyncpg in this many chunks per round")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()

    server = os.environ.get("DATABASE_URL") or DEFAULT_LOCAL_URL
    name = f"rum_bench_orm_{os.getpid()}"
    url = create_database(server, name)
    rates: dict[tuple[str, int], list[float]] = {}
    cpus: dict[tuple[str, int], list[float]] = {}
    try:
        asyncio.run(_prepare(url))
        for r in range(args.rounds):
            for tasks in (1, args.tasks):
                got, cpu = _round(url, args.queries, tasks, args.chunks)
                for label, rate in got.items():
                    rates.setdefault((label, tasks), []).append(rate)
                    cpus.setdefault((label, tasks), []).append(cpu[label])
                print(f"round {r + 1}, {tasks} task(s): " + ", ".join(
                    f"{k} {v:.0f}" for k, v in got.items()), flush=True)
    finally:
        drop_database(server, name)

    lines = ["| query | tasks | (a) ORM q/s | (b) raw SQL, same bridge q/s | (c) native asyncpg"
             " + uvloop q/s | a/b | a/c | CPU µs/query a / b / c |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for query, what in (("pk", "find by pk"), ("list", "filtered list of 25")):
        for tasks in (1, args.tasks):
            a, b, c = (rates[(f"{v} {query}", tasks)] for v in ("orm", "bridge", "native"))
            ab = _median([x / y for x, y in zip(a, b, strict=True)])
            ac = _median([x / y for x, y in zip(a, c, strict=True)])
            cpu_abc = " / ".join(f"{_median(cpus[(f'{v} {query}', tasks)]):.0f}"
                                 for v in ("orm", "bridge", "native"))
            lines.append(f"| {what} | {tasks} | {_median(a):.0f} | {_median(b):.0f} | "
                         f"{_median(c):.0f} | {ab:.2f} | {ac:.2f} | {cpu_abc} |")
    table = "\n".join(lines)
    print()
    print(table)
    if args.append:
        append_section(
            "ORM queries: Rum ORM vs raw SQL vs native asyncpg",
            f"Command: `python bench/orm.py --queries {args.queries} --tasks {args.tasks} "
            f"--rounds {args.rounds} --append` (pool of {POOL}; medians of {args.rounds} "
            f"rounds, ratios are medians of per-round ratios; Rum (ORM, raw SQL) and native "
            f"asyncpg interleaved in {args.chunks} chunks per round; CPU = process CPU time per "
            f"query, both threads; {environment()}). Goals: a/b ≥ 0.87, a/c ≥ 0.8 under "
            f"concurrency.",
            table)


if __name__ == "__main__":
    main()
