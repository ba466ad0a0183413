"""The cost of ``[ratelimit] store = "postgres"``: one token taken in memory vs in PostgreSQL.

    python bench/ratelimit_store.py [--takes 2000] [--rounds 3] [--url ...] [--no-write]

Each round, in turn: ``--takes`` takes from the in-memory buckets, then from the PostgreSQL
store through the ORM's pool (one task, many keys), then the same from 20 concurrent tasks on
one key (every take waits for the row lock of that bucket). Reported: microseconds per take,
median of the rounds. The peer a user would pick instead is a per-process limiter, which is
what the memory row is.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import trio
from results import append_section, environment

from rum_orm import Database
from rum_orm.testing import create_database, drop_database, unique_database_name
from rum_ratelimit.limiter import Buckets, RateLimiter
from rum_ratelimit.pgstore import PostgresBuckets


async def measure(url: str, takes: int) -> dict[str, float]:
    limiter = RateLimiter(rate=10**9, window=1.0)
    buckets = Buckets()
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    for i in range(takes):
        limiter.take(buckets, f"client-{i % 100}")
    out["memory"] = (time.perf_counter() - t0) / takes * 1e6
    async with Database.open(url, pool_min=2, pool_max=22) as db:
        store = PostgresBuckets(db)
        await store.ensure_table()
        t0 = time.perf_counter()
        for i in range(takes):
            await limiter.take_shared(store, f"client-{i % 100}")
        out["postgres, 1 task"] = (time.perf_counter() - t0) / takes * 1e6

        async def hammer(n: int) -> None:
            for _ in range(n):
                await limiter.take_shared(store, "one-key")

        t0 = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(hammer, takes // 20)
        out["postgres, 20 tasks, one key"] = (time.perf_counter() - t0) / takes * 1e6
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default=os.environ.get(
        "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    name = unique_database_name("rum_bench_ratelimit")
    url = create_database(args.url, name)
    rows: dict[str, list[float]] = {}
    try:
        for _ in range(args.rounds):
            for key, value in trio.run(measure, url, args.takes).items():
                rows.setdefault(key, []).append(value)
    finally:
        drop_database(args.url, name)
    memory = statistics.median(rows["memory"])
    table = "\n".join(["| store | µs per take | × memory |", "|---|---|---|"] + [
        f"| {k} | {statistics.median(v):,.1f} | {statistics.median(v) / memory:,.0f}× |"
        for k, v in rows.items()])
    print(table)
    if not args.no_write:
        append_section(
            "Rate limiting: in-memory vs PostgreSQL buckets",
            f"`python bench/ratelimit_store.py --takes {args.takes} --rounds {args.rounds}`; "
            f"{environment()}; median of the rounds.", table)


if __name__ == "__main__":
    main()
