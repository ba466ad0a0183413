"""Which index each query of the jobs plugin reads, on a realistic table of 100,000 jobs.

    python bench/jobs_indexes.py [--rows 100000] [--url ...] [--plans]
    PYTHONPATH=<other tree>/plugins python bench/jobs_indexes.py   # another tree's queries

Builds ``rum_jobs`` (this tree's migrations, or those of the tree first on ``PYTHONPATH``) in
a fresh database and fills it with a steady-state mix: 85% complete, 3% failed, 1% cancelled,
0.5% discarded (finished over the last 7 days), 6% due, 3% scheduled later, 0.3% waiting on
dependencies, 1% retryable, 0.2% running; twelve job classes (one, ``SyncAccount``, rare:
2%), three queues. Then, after ``ANALYZE``, every query of the plugin that filters on
``status``, ``job`` or ``finished_at`` is run under ``EXPLAIN ANALYZE`` twice: with its
parameters as the first executions of a prepared statement see them (a custom plan), and as a
generic plan (``plan_cache_mode = force_generic_plan``: what a prepared statement may switch
to after five executions). The statements are the ones the tree's code sends: captured by
calling ``list_jobs``, ``prune`` and ``stats`` on a recording connection. Writes are rolled
back. Prints, per query and plan, the indexes read, whether ``rum_jobs`` is scanned
sequentially, and the execution time; then the size of each index.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from typing import Any

import asyncpg

FILL = """
INSERT INTO rum_jobs (job, queue, args, status, priority, attempt, run_at, created_at,
                      started_at, finished_at, worker, errors)
SELECT j.job, (ARRAY['default', 'mail', 'media'])[1 + g % 3],
       jsonb_build_object('i', g, 'account_id', g % 500), s.status, (g % 7 = 0)::int,
       CASE WHEN s.status IN ('scheduled', 'retryable', 'running') THEN 0 ELSE 1 END
         + (s.status IN ('running', 'retryable', 'failed'))::int,
       s.run_at, s.run_at - interval '1 second', s.started_at,
       CASE WHEN s.finished THEN s.started_at + interval '20 ms' END,
       CASE WHEN s.status = 'running' THEN 'w1' END,
       CASE WHEN s.status IN ('failed', 'retryable')
            THEN '[{"error": "boom", "kind": "error"}]'::jsonb ELSE '[]'::jsonb END
  FROM generate_series(1, $1::int) AS g
 CROSS JOIN LATERAL (SELECT (g::float8 / $1) AS at) AS p
 CROSS JOIN LATERAL (
     SELECT CASE WHEN r < 0.06 THEN 'scheduled' WHEN r < 0.09 THEN 'scheduled'
                 WHEN r < 0.093 THEN 'scheduled' WHEN r < 0.103 THEN 'retryable'
                 WHEN r < 0.105 THEN 'running' WHEN r < 0.135 THEN 'failed'
                 WHEN r < 0.145 THEN 'cancelled' WHEN r < 0.15 THEN 'discarded'
                 ELSE 'complete' END AS status,
            CASE WHEN r < 0.06 THEN now() - (1 - p.at) * interval '10 minutes'
                 WHEN r < 0.09 THEN now() + r * interval '100 days'
                 WHEN r < 0.093 THEN timestamptz '9999-01-01 00:00:00+00'
                 WHEN r < 0.103 THEN now() + (r - 0.098) * interval '1 hour'
                 WHEN r < 0.105 THEN now() - interval '1 second'
                 ELSE now() - (1 - p.at) * interval '7 days' END AS run_at,
            r >= 0.105 AS finished,
            CASE WHEN r >= 0.103 THEN now() - (1 - p.at) * interval '7 days' END
                AS started_at
       FROM (SELECT ((g * 7919) % 1000)::float8 / 1000 AS r) AS x) AS s
 CROSS JOIN LATERAL (
     SELECT CASE WHEN g % 50 = 0 THEN 'SyncAccount'
                 ELSE (ARRAY['SendEmail', 'SendEmail', 'SendEmail', 'Resize', 'Resize',
                             'Report', 'Webhook', 'Index', 'Thumb', 'Invoice', 'Digest',
                             'Cleanup'])[1 + (g / 3) % 12] END AS job) AS j
"""


class Recorder:
    """A connection that records the statements sent to it and answers with nothing."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, query: str, *args: Any, **_: Any) -> list[Any]:
        self.sent.append((query, args))
        return []

    async def fetchrow(self, query: str, *args: Any, **_: Any) -> Any:
        self.sent.append((query, args))
        return None

    async def fetchval(self, query: str, *args: Any, **_: Any) -> Any:
        self.sent.append((query, args))
        return None

    async def execute(self, query: str, *args: Any, **_: Any) -> str:
        self.sent.append((query, args))
        return "DELETE 0"


async def queries() -> list[tuple[str, str, tuple[Any, ...]]]:
    """(label, statement, parameters) for every query that filters on status/job/finished_at."""
    import importlib

    from rum_jobs import sql, store

    stats = importlib.import_module("rum_jobs.stats")
    from rum_jobs.workflows import WAITING_RUN_AT

    out: list[tuple[str, str, tuple[Any, ...]]] = []

    async def captured(label: str, call: Any, pick: Any = None) -> None:
        rec = Recorder()
        await call(rec)
        sent = [s for s in rec.sent if "rum_jobs" in s[0]]
        for i, (query, args) in enumerate(sent if pick is None else [sent[pick]]):
            out.append((label if len(sent) == 1 or pick is not None else f"{label} #{i + 1}",
                        query, args))

    await captured("prune complete older than 1 day",
                   lambda db: store.prune(db, max_age={"complete": 86400}))
    await captured("prune failed older than 1 day, one class",
                   lambda db: store.prune(db, max_age={"failed": 86400}, jobs=["SendEmail"]))
    await captured("prune failed beyond the newest 1000",
                   lambda db: store.prune(db, max_count={"failed": 1000}))
    await captured("list_jobs failed (dashboard)",
                   lambda db: store.list_jobs(db, status="failed", limit=40))
    await captured("list_jobs waiting, oldest first (dashboard)",
                   lambda db: store.list_jobs(db, status=["scheduled", "retryable"], limit=20,
                                              newest_first=False))
    await captured("list_jobs one class, waiting (assert_enqueued)",
                   lambda db: store.list_jobs(db, status=["scheduled", "retryable"],
                                              job="SyncAccount", limit=100_000,
                                              newest_first=False))
    await captured("list_jobs one class (rum jobs list --job)",
                   lambda db: store.list_jobs(db, job="SyncAccount", limit=100))
    await captured("list_jobs one class, complete",
                   lambda db: store.list_jobs(db, job="SyncAccount", status="complete",
                                              limit=100))
    for query, args in [(stats._WAITING, (WAITING_RUN_AT,)), (stats._RUNNING, ()),
                        (stats._FINISHED, (300.0,)), (stats._FAILED, (50,))]:
        name = next(k for k, v in vars(stats).items() if v is query)
        out.append((f"stats {name}", query, args))
    names = ["SendEmail", "Resize", "Report", "Webhook", "Index", "Thumb", "Invoice", "Digest",
             "Cleanup", "SyncAccount"]
    from rum_jobs import limits

    out.append(("limits _STATE, one limited class", limits._STATE,
                (names, [], [], ["SyncAccount"], '{"SyncAccount": "account_id"}', 200, [], [],
                 None)))
    out.append(("FAIL_UNKNOWN", sql.FAIL_UNKNOWN, (3600.0, 100)))
    return out


def literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, (list, tuple)):
        inner = ",".join('"' + str(v).replace('"', '\\"') + '"' for v in value)
        return "'{" + inner + "}'"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def summary(plan: list[Any]) -> tuple[list[str], bool, float]:
    doc = json.loads(plan[0][0]) if isinstance(plan[0][0], str) else plan[0][0]
    found: list[str] = []
    seq = False

    def walk(node: dict[str, Any]) -> None:
        nonlocal seq
        if "Index Name" in node and node["Index Name"] not in found:
            found.append(node["Index Name"])
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") == "rum_jobs":
            seq = True
        for child in node.get("Plans", []):
            walk(child)

    walk(doc[0]["Plan"])
    return found, seq, float(doc[0]["Execution Time"])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--plans", action="store_true", help="print every plan in full")
    parser.add_argument("--only", help="only the queries whose label contains this text")
    args = parser.parse_args()
    from rum_jobs import schema

    print(f"rum_jobs from {os.path.dirname(schema.__file__)}; schema {schema.schema_version()};"
          f" load {os.getloadavg()[0]:.2f}")
    name = f"bench_indexes_{os.getpid()}"
    base = args.url.rpartition("/")[0]
    admin = await asyncpg.connect(args.url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(f"{base}/{name}")
        await conn.execute(schema.schema_sql())
        t0 = time.perf_counter()
        await conn.execute(FILL, args.rows)
        await conn.execute("INSERT INTO rum_jobs_workers (id, jobs, lease_expires_at) "
                           "VALUES ('w1', '{SendEmail,Resize}', now() + interval '1 hour')")
        await conn.execute("VACUUM ANALYZE rum_jobs")
        counts = await conn.fetch("SELECT status, count(*) AS n FROM rum_jobs GROUP BY status "
                                  "ORDER BY n DESC")
        print(f"{args.rows:,} rows in {time.perf_counter() - t0:.1f} s: "
              + ", ".join(f"{r['status']} {r['n']:,}" for r in counts))
        print()
        print("| query | plan | indexes read | seq scan | ms |")
        print("|---|---|---|---|---:|")
        for i, (label, query, params) in enumerate(await queries()):
            if args.only and args.only not in label:
                continue
            for mode in ("custom", "generic"):
                tx = conn.transaction()
                await tx.start()
                try:
                    if mode == "custom":
                        plan = await conn.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + query,
                                                *params)
                    else:
                        await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                        await conn.execute(f"PREPARE q{i} AS {query}")
                        values = ", ".join(literal(p) for p in params)
                        plan = await conn.fetch(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE q{i}"
                                                + (f"({values})" if params else ""))
                        await conn.execute(f"DEALLOCATE q{i}")
                finally:
                    await tx.rollback()
                used, seq, ms = summary(plan)
                print(f"| {label} | {mode} | {', '.join(used) or '-'} | "
                      f"{'**yes**' if seq else 'no'} | {ms:.2f} |", flush=True)
                if args.plans:
                    tx = conn.transaction()
                    await tx.start()
                    try:
                        if mode == "generic":
                            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                            await conn.execute(f"PREPARE q{i} AS {query}")
                            text = await conn.fetch(f"EXPLAIN ANALYZE EXECUTE q{i}" + (
                                f"({values})" if params else ""))
                        else:
                            text = await conn.fetch("EXPLAIN ANALYZE " + query, *params)
                    finally:
                        await tx.rollback()
                    print("\n".join("    " + r[0] for r in text))
        print()
        sizes = await conn.fetch(
            "SELECT c.relname, pg_relation_size(c.oid) AS b, pg_get_indexdef(c.oid) AS def "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'rum_jobs'::regclass ORDER BY c.relname")
        print("| index | size (kB) | definition |")
        print("|---|---:|---|")
        for r in sizes:
            print(f"| {r['relname']} | {r['b'] // 1024:,} | "
                  f"`{r['def'].split(' USING ')[1]}` |")
        table = await conn.fetchval("SELECT pg_table_size('rum_jobs')")
        indexes = await conn.fetchval("SELECT pg_indexes_size('rum_jobs')")
        print(f"\ntable {table // 1024:,} kB, indexes {indexes // 1024:,} kB")
        await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
