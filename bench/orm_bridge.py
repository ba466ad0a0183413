"""Bench: the trio → asyncpg bridges side by side, against native asyncpg on asyncio.

    python bench/orm_bridge.py [--queries 3000] [--tasks 8] [--rounds 3] [--append]

Runs a find-by-primary-key (``SELECT * FROM bench_users WHERE id = $1``) through:

- native asyncpg on asyncio, and on uvloop (what a user would write without trio);
- the thread bridge (``rum_orm.bridge.AsyncioThread``: a uvloop thread owning the pool);
- the same with the stock asyncio loop in the thread;
- trio-asyncio (the asyncio loop running inside trio).

Each sequentially (one task) and with ``--tasks`` concurrent tasks; prints queries/s and the
ratio to native asyncpg on uvloop. Uses ``DATABASE_URL`` or postgres@127.0.0.1:5432, in a
throwaway database. ``--append`` adds the table to ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import asyncpg
import trio
from results import append_section, environment

from rum_orm.bridge import AsyncioThread
from rum_orm.testing import DEFAULT_LOCAL_URL, create_database, drop_database

SQL = "SELECT * FROM bench_users WHERE id = $1"
ROWS = 1000
POOL = 8


async def _prepare(url: str) -> None:
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE bench_users (id bigserial PRIMARY KEY, email text NOT NULL,"
                       " admin boolean NOT NULL DEFAULT false, created_at timestamptz NOT NULL "
                       "DEFAULT now())")
    await conn.executemany("INSERT INTO bench_users (email) VALUES ($1)",
                           [(f"user{i}@example.com",) for i in range(ROWS)])
    await conn.close()


def _split(total: int, tasks: int) -> list[int]:
    return [total // tasks + (1 if i < total % tasks else 0) for i in range(tasks)]


# -- native asyncpg on asyncio ------------------------------------------------------------------


async def _native(url: str, total: int, tasks: int) -> float:
    pool = await asyncpg.create_pool(url, min_size=POOL, max_size=POOL)

    async def worker(n: int, offset: int) -> None:
        for i in range(n):
            await pool.fetchrow(SQL, (offset + i) % ROWS + 1)

    await worker(50, 0)
    start = time.perf_counter()
    await asyncio.gather(*[worker(n, k * 7) for k, n in enumerate(_split(total, tasks))])
    elapsed = time.perf_counter() - start
    await pool.close()
    return total / elapsed


def native(url: str, total: int, tasks: int, use_uvloop: bool) -> float:
    if use_uvloop:
        import uvloop

        return uvloop.run(_native(url, total, tasks))
    return asyncio.run(_native(url, total, tasks))


# -- the thread bridge --------------------------------------------------------------------------


async def _thread_bridge(url: str, total: int, tasks: int, use_uvloop: bool) -> float:
    bridge = AsyncioThread(use_uvloop=use_uvloop)
    await bridge.start()
    pool = await bridge.run(lambda: asyncpg.create_pool(url, min_size=POOL, max_size=POOL))

    async def worker(n: int, offset: int) -> None:
        for i in range(n):
            await bridge.run(pool.fetchrow, SQL, (offset + i) % ROWS + 1)

    await worker(50, 0)
    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for k, n in enumerate(_split(total, tasks)):
            nursery.start_soon(worker, n, k * 7)
    elapsed = time.perf_counter() - start
    await bridge.run(pool.close)
    await bridge.stop()
    return total / elapsed


def thread_bridge(url: str, total: int, tasks: int, use_uvloop: bool) -> float:
    return trio.run(_thread_bridge, url, total, tasks, use_uvloop)


# -- trio-asyncio -------------------------------------------------------------------------------


async def _trio_asyncio(url: str, total: int, tasks: int) -> float:
    import trio_asyncio

    async with trio_asyncio.open_loop():
        pool = await trio_asyncio.aio_as_trio(
            lambda: asyncpg.create_pool(url, min_size=POOL, max_size=POOL))()
        fetchrow = trio_asyncio.aio_as_trio(pool.fetchrow)

        async def worker(n: int, offset: int) -> None:
            for i in range(n):
                await fetchrow(SQL, (offset + i) % ROWS + 1)

        await worker(50, 0)
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for k, n in enumerate(_split(total, tasks)):
                nursery.start_soon(worker, n, k * 7)
        elapsed = time.perf_counter() - start
        await trio_asyncio.aio_as_trio(pool.close)()
    return total / elapsed


def trio_asyncio_bridge(url: str, total: int, tasks: int) -> float:
    return trio.run(_trio_asyncio, url, total, tasks)


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="run every variant this many times, interleaved; keep the best")
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL") or DEFAULT_LOCAL_URL
    name = f"rum_bench_bridge_{os.getpid()}"
    url = create_database(server, name)
    try:
        asyncio.run(_prepare(url))
        variants = {
            "native asyncpg, uvloop": lambda t: native(url, args.queries, t, True),
            "native asyncpg, asyncio": lambda t: native(url, args.queries, t, False),
            "thread bridge (uvloop thread), trio": lambda t: thread_bridge(url, args.queries,
                                                                             t, True),
            "thread bridge (asyncio thread), trio": lambda t: thread_bridge(url, args.queries,
                                                                              t, False),
            "trio-asyncio, trio": lambda t: trio_asyncio_bridge(url, args.queries, t),
        }
        results: dict[str, tuple[float, float]] = {}
        for r in range(args.rounds):
            for label, run in variants.items():
                seq, conc = run(1), run(args.tasks)
                best = results.get(label, (0.0, 0.0))
                results[label] = (max(best[0], seq), max(best[1], conc))
                print(f"round {r + 1}: {label:<40} seq {seq:>8.0f} q/s   "
                      f"{args.tasks} tasks {conc:>8.0f} q/s", flush=True)
    finally:
        drop_database(server, name)
    base = results["native asyncpg, uvloop"]
    lines = [f"| variant | sequential q/s | ratio | {args.tasks} tasks q/s | ratio |",
             "|---|---:|---:|---:|---:|"]
    for label, (seq, conc) in results.items():
        lines.append(f"| {label} | {seq:.0f} | {seq / base[0]:.2f} | {conc:.0f} | "
                     f"{conc / base[1]:.2f} |")
    table = "\n".join(lines)
    print()
    print(table)
    if args.append:
        append_section(
            "ORM bridge: trio → asyncpg",
            f"Command: `python bench/orm_bridge.py --queries {args.queries} --tasks "
            f"{args.tasks} --append` (find by primary key, pool of {POOL}; best of "
            f"{args.rounds} interleaved rounds; ratio = queries/s ÷ native asyncpg on uvloop; "
            f"{environment()}).",
            table)


if __name__ == "__main__":
    main()
