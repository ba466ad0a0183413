"""Table health: every index of ``rum_jobs`` but the primary key is partial (one phase of a
job's life each), every query that relies on one can use it even in a generic plan, and the
migration that made the history and class indexes partial reverts and re-applies cleanly."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from rum_jobs import ensure_schema, sql
from rum_jobs.limits import _STATE
from rum_jobs.schema import MIGRATIONS_DIR

pytestmark = pytest.mark.postgres

stats_module = importlib.import_module("rum_jobs.stats")

PARTIAL = "20261201000300_rum_jobs_partial_indexes"
INDEXES = """
SELECT c.relname, i.indpred IS NOT NULL AS partial
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'rum_jobs'::regclass ORDER BY c.relname
"""


async def test_every_index_but_the_primary_key_is_partial(jdb: Any) -> None:
    rows = {r["relname"]: r["partial"] for r in await jdb.fetch(INDEXES)}
    assert rows == {"rum_jobs_pkey": False, "rum_jobs_claim_idx": True,
                    "rum_jobs_waiting_job_idx": True, "rum_jobs_channel_idx": True,
                    "rum_jobs_running_idx": True, "rum_jobs_finished_idx": True,
                    "rum_jobs_unique_idx": True}


async def _generic_plan(db: Any, query: str, values: str) -> str:
    """``query``'s generic plan (as a prepared statement may use after five runs) with
    sequential scans priced out: an index appears in it only if the planner can prove that
    the query's rows are in the index (the partial index's predicate)."""
    async with db.transaction() as tx:
        await tx.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await tx.execute("SET LOCAL enable_seqscan = off")
        await tx.execute(f"PREPARE health_q AS {query}")
        try:
            rows = await tx.fetch(f"EXPLAIN EXECUTE health_q({values})" if values
                                  else "EXPLAIN EXECUTE health_q")
        finally:
            await tx.execute("DEALLOCATE health_q")
    return "\n".join(r[0] for r in rows)


CASES = [
    ("prune by age", sql.PRUNE_AGE, "'complete', 86400, NULL, 5000", "rum_jobs_finished_idx"),
    ("prune by age, some classes", sql.PRUNE_AGE, "'failed', 60, '{A,B}', 5000",
     "rum_jobs_finished_idx"),
    ("prune by count", sql.PRUNE_COUNT, "'failed', 1000, NULL, 5000", "rum_jobs_finished_idx"),
    ("stats: finished in the window", stats_module._FINISHED, "300",
     "rum_jobs_finished_idx"),
    ("stats: failed jobs", stats_module._FAILED, "50", "rum_jobs_finished_idx"),
    ("stats: running jobs", stats_module._RUNNING, "", "rum_jobs_running_idx"),
    ("limited classes' candidates", _STATE,
     "'{A,B}', '{}', '{}', '{B}', '{\"B\": \"k\"}', 200, '{}', '{}', NULL",
     "rum_jobs_waiting_job_idx|rum_jobs_claim_idx"),
    ("fail jobs of unknown classes", sql.FAIL_UNKNOWN, "3600, 1000",
     "rum_jobs_waiting_job_idx"),
]


@pytest.mark.parametrize(("label", "query", "values", "index"), CASES,
                         ids=[c[0] for c in CASES])
async def test_queries_can_use_the_partial_indexes_in_generic_plans(
        jdb: Any, label: str, query: str, values: str, index: str) -> None:
    plan = await _generic_plan(jdb, query, values)
    assert "Seq Scan on rum_jobs " not in plan, f"{label}:\n{plan}"
    assert any(name in plan for name in index.split("|")), f"{label}:\n{plan}"


async def test_list_jobs_names_statuses_as_constants(jdb: Any) -> None:
    from rum_jobs import Job, list_jobs

    class A(Job):
        async def execute(self, args: Any) -> None:
            pass

    first = await A.enqueue({}, db=jdb)
    second = await A.enqueue({}, db=jdb)
    await jdb.execute("UPDATE rum_jobs SET status = 'failed', finished_at = now() "
                      "WHERE id = $1", second)
    assert [r.id for r in await list_jobs(jdb, status=["retryable", "scheduled",
                                                        "scheduled"], job=A)] == [first]
    assert [r.id for r in await list_jobs(jdb, status="failed")] == [second]
    assert await list_jobs(jdb, status=[]) == []
    with pytest.raises(ValueError, match="unknown job status"):
        await list_jobs(jdb, status=["failed'); DROP TABLE rum_jobs; --"])
    # the generic plan of the statement list_jobs sends reads an index of waiting rows

    class Recorder:
        sent = ""

        async def fetch(self, query: str, *args: Any) -> list[Any]:
            Recorder.sent = query
            return []

    await list_jobs(Recorder(), status=["scheduled", "retryable"], job="A", limit=10)
    plan = await _generic_plan(jdb, Recorder.sent, "'{A}', 10")
    assert "rum_jobs_waiting_job_idx" in plan or "rum_jobs_claim_idx" in plan, plan


async def test_the_migration_reverts_and_applies_again(database_url: str) -> None:
    from rum_orm import Database

    down = (MIGRATIONS_DIR / f"{PARTIAL}.down.sql").read_text(encoding="utf-8")
    up = (MIGRATIONS_DIR / f"{PARTIAL}.up.sql").read_text(encoding="utf-8")
    async with Database.open(database_url, pool_max=2) as db:
        await db.execute(down)  # no table yet: nothing to do, no error
        assert await ensure_schema(db) is True
        await db.execute("INSERT INTO rum_jobs (job, status, finished_at) "
                         "VALUES ('A', 'scheduled', NULL), ('A', 'complete', now())")
        await db.execute(down)
        rows = {r["relname"]: r["partial"] for r in await db.fetch(INDEXES)}
        assert rows["rum_jobs_history_idx"] is False and rows["rum_jobs_job_idx"] is False
        assert "rum_jobs_finished_idx" not in rows and "rum_jobs_waiting_job_idx" not in rows
        assert await db.fetchval(sql.SCHEMA_VERSION) == "20261201000200"
        # ensure_schema re-runs every migration: the old database is brought up to date
        assert await ensure_schema(db) is True
        rows = {r["relname"]: r["partial"] for r in await db.fetch(INDEXES)}
        assert "rum_jobs_history_idx" not in rows and "rum_jobs_job_idx" not in rows
        assert rows["rum_jobs_finished_idx"] and rows["rum_jobs_waiting_job_idx"]
        await db.execute(up)  # re-runnable
        assert await ensure_schema(db) is False
        assert await db.fetchval("SELECT count(*) FROM rum_jobs") == 2


async def _statistics_say_empty(database_url: str, db: Any, insert: str) -> None:
    """Leave ``rum_jobs`` with reltuples = 0 over its pages, then run ``insert`` (no ANALYZE
    follows: autovacuum is off): a VACUUM that finds only dead rows it may not remove yet
    (an older snapshot still sees them) records no live rows, as the pruner's VACUUM of a
    drained queue can."""
    from rum_orm import Database

    await ensure_schema(db)
    await db.execute("ALTER TABLE rum_jobs SET (autovacuum_enabled = false)")
    await db.execute(insert)
    async with Database.open(database_url, pool_max=1) as other, other.session() as holder:
        await holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        await holder.fetchval("SELECT count(*) FROM rum_jobs")
        await db.execute("DELETE FROM rum_jobs")
        await db.execute("VACUUM rum_jobs")
        await holder.execute("ROLLBACK")
    assert await db.fetchval("SELECT reltuples FROM pg_class "
                             "WHERE oid = 'rum_jobs'::regclass") == 0
    await db.execute(insert)


async def test_claims_stay_by_primary_key_when_statistics_say_the_table_is_empty(
        database_url: str) -> None:
    # The claim's UPDATE joined the picked rows; believing the table held one row, the
    # planner scanned all of it as the outer side of a nested loop at every claim (0.35 s
    # per claim with 100,000 jobs). The picked ids are now updated by primary key, as are
    # the jobs the rescue sweep releases (1.4 s -> 3 ms with 100 of them among 100,000).
    from rum_jobs.limits import _claim_ids_statement
    from rum_orm import Database

    async with Database.open(database_url, pool_max=3) as db:
        await _statistics_say_empty(database_url, db, "INSERT INTO rum_jobs (job) "
                                    "SELECT 'A' FROM generate_series(1, 30000)")
        for query, args in [
                (sql.CLAIM_ONE, (["default"], 25, ["A"], "w", 30.0)),
                (sql.CLAIM_FAIR, (["default"], 25, ["A"], "w", 30.0)),
                (sql.CLAIM_ANY, (None, 25, ["A"], "w", 30.0)),
                (_claim_ids_statement(), ([1, 2, 3], "w", 30.0, "{}")),
                (sql.RESCUE, ())]:
            lines = [r[0] for r in await db.fetch("EXPLAIN " + query, *args)]
            scan = next(i for i, line in enumerate(lines) if " on rum_jobs t " in line
                        and "Scan" in line)
            assert "Index Cond: (id = ANY" in lines[scan + 1], "\n".join(lines)


async def test_pruning_stays_linear_when_statistics_say_the_table_is_empty(
        database_url: str) -> None:
    # "DELETE ... WHERE id IN (SELECT ... LIMIT n)" became a nested loop rerunning the
    # subquery for each row: 21 s for one batch of 5,000 out of 30,000 rows. The ids are now
    # collected once and deleted by primary key.
    import trio

    from rum_jobs import prune
    from rum_orm import Database

    insert = ("INSERT INTO rum_jobs (job, status, finished_at) SELECT 'A', 'complete', "
              "now() - interval '1 hour' FROM generate_series(1, 30000)")
    async with Database.open(database_url, pool_max=3) as db:
        await _statistics_say_empty(database_url, db, insert)
        plan = "\n".join(r[0] for r in await db.fetch(
            "EXPLAIN " + sql.PRUNE_AGE, "complete", 60.0, None, 5000))
        assert "Nested Loop" not in plan and "Index Cond: (id = ANY" in plan, plan
        with trio.fail_after(20):
            assert await prune(db, max_age={"complete": 60}) == 30000
        await db.execute(insert.replace("'complete'", "'failed'"))
        with trio.fail_after(20):
            assert await prune(db, max_count={"failed": 1000}) == 29000
