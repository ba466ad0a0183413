"""Completions written by the claim itself (sql.COMPLETING, Worker._claim_completing): one
statement marks a batch complete and claims the next jobs. It applies the plain claim's
controls exactly (paused and limited queues are skipped, limited classes are not named), it
completes only rows still running under this worker and attempt, an ordered channel's next
job still runs in order, and when the claim part fails nothing of the statement is written
and the completions are written on their own, never lost."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

import rum_jobs.worker as worker_module
from rum_jobs import (
    Job,
    Limit,
    Worker,
    ensure_schema,
    get_job,
    list_jobs,
    pause_queue,
    set_queue_limits,
    sql,
)
from rum_jobs.store import NewJob, insert_jobs

pytestmark = pytest.mark.postgres


@pytest.fixture
async def db8(jobs_database_url: str) -> AsyncIterator[Any]:
    """A database whose pool lets a worker hold its lanes."""
    from rum_orm import Database

    async with Database.open(jobs_database_url, pool_min=1, pool_max=8) as db:
        await ensure_schema(db)
        await db.execute("TRUNCATE rum_jobs RESTART IDENTITY; DELETE FROM rum_jobs_queues")
        await db.execute("DROP FUNCTION IF EXISTS poison_claim() CASCADE")
        yield db
        await db.execute("DROP FUNCTION IF EXISTS poison_claim() CASCADE")


def done_json(rows: list[Any], result: Any = None) -> str:
    return json.dumps({str(r["id"]): [r["attempt"], result] for r in rows})


async def statuses(db: Any, ids: list[int]) -> dict[int, str]:
    rows = await db.fetch("SELECT id, status FROM rum_jobs WHERE id = ANY($1::bigint[])", ids)
    return {r["id"]: r["status"] for r in rows}


async def claim_rows(db: Any, statement: str, queues: list[str] | None, n: int,
                     names: list[str], worker: str, *completing: Any) -> list[Any]:
    return list(await db.fetch(statement, queues, n, names, worker, 30.0, *completing))


class _Undo(Exception):
    pass


async def test_each_plain_claim_has_a_completing_form_that_claims_the_same_jobs(
        db8: Any) -> None:
    """The completing statements are the plain claims with completions added: on the same
    rows they claim the same jobs (the plain claim is run first and rolled back), and they
    mark the given batch complete, results stored."""
    for plain, queues in ((sql.CLAIM_ONE, ["default"]), (sql.CLAIM_FAIR, ["default", "b"]),
                          (sql.CLAIM_ANY, None)):
        await db8.execute("TRUNCATE rum_jobs RESTART IDENTITY")
        await insert_jobs(db8, [NewJob(job="x", queue=q, priority=p)
                                for q in ("default", "b") for p in range(6)])
        running = await claim_rows(db8, plain, queues, 3, ["x"], "w1")
        assert running
        expected: list[int] = []
        with pytest.raises(_Undo):
            async with db8.transaction() as tx:
                expected = [r["id"] for r in await claim_rows(tx, plain, queues, 3, ["x"],
                                                              "w1")]
                raise _Undo
        assert expected
        nxt = await claim_rows(db8, sql.COMPLETING[plain], queues, 3, ["x"], "w1",
                               [r["id"] for r in running], done_json(running, {"ok": 1}))
        assert [r["id"] for r in nxt] == expected
        for r in running:
            record = await get_job(db8, r["id"])
            assert record is not None and record.status == "complete", record
            assert record.result == {"ok": 1}
            assert record.lease_expires_at is None and record.finished_at is not None
        for r in nxt:
            record = await get_job(db8, r["id"])
            assert record is not None and record.status == "running" and record.attempt == 1


async def test_the_completing_claim_skips_paused_and_limited_queues(db8: Any) -> None:
    await insert_jobs(db8, [NewJob(job="x", queue=q) for q in ("free", "paused", "limited")
                            for _ in range(3)] + [NewJob(job="x", queue="free")] * 10)
    first = await claim_rows(db8, sql.CLAIM_FAIR, ["free", "paused", "limited"], 1, ["x"],
                             "w1")
    assert sorted(r["queue"] for r in first) == ["free", "limited", "paused"]
    await pause_queue("paused", db=db8)
    await set_queue_limits("limited", concurrency=5, db=db8)
    for statement, queues in ((sql.COMPLETE_CLAIM_FAIR, ["free", "paused", "limited"]),
                              (sql.COMPLETE_CLAIM_ANY, None)):
        running = await db8.fetch("SELECT id, attempt FROM rum_jobs WHERE status = 'running'")
        rows = await claim_rows(db8, statement, queues, 4, ["x"], "w1",
                                [r["id"] for r in running], done_json(list(running)))
        assert {r["queue"] for r in rows} == {"free"}, rows
        assert set((await statuses(db8, [r["id"] for r in running])).values()) == {
            "complete"}
    for queue in ("paused", "limited"):
        one = await claim_rows(db8, sql.COMPLETE_CLAIM_ONE, [queue], 10, ["x"], "w1", [], "{}")
        assert one == []
    waiting = await db8.fetch("SELECT queue, count(*) AS n FROM rum_jobs WHERE status = "
                              "'scheduled' GROUP BY queue ORDER BY queue")
    assert [(r["queue"], r["n"]) for r in waiting] == [("free", 4), ("limited", 2),
                                                             ("paused", 2)]


async def test_the_completing_claim_completes_only_this_workers_current_attempt(
        db8: Any) -> None:
    await insert_jobs(db8, [NewJob(job="x") for _ in range(3)])
    mine = await claim_rows(db8, sql.CLAIM_ONE, ["default"], 2, ["x"], "w1")
    theirs = await claim_rows(db8, sql.CLAIM_ONE, ["default"], 1, ["x"], "w2")
    stale = {str(mine[0]["id"]): [mine[0]["attempt"] + 1, None],  # another attempt
             str(mine[1]["id"]): [mine[1]["attempt"], None],
             str(theirs[0]["id"]): [theirs[0]["attempt"], None]}  # another worker's
    ids = [mine[0]["id"], mine[1]["id"], theirs[0]["id"]]
    await claim_rows(db8, sql.COMPLETE_CLAIM_ONE, ["default"], 5, ["x"], "w1", ids,
                     json.dumps(stale))
    status = {r.id: r.status for r in await list_jobs(db8)}
    assert status == {mine[0]["id"]: "running", mine[1]["id"]: "complete",
                      theirs[0]["id"]: "running"}


async def test_an_ordered_channel_completed_by_a_claim_wakes_its_next_job(db8: Any) -> None:
    """The next job of a channel is not claimed in the statement completing the one before
    (one snapshot), but the NOTIFY sent at commit wakes the worker for it: with a 30 s poll,
    a chain of five runs in order in well under a second each."""
    Ordered.seen = []
    ids = [await Ordered.enqueue({"n": n}, channel="chain", db=db8) for n in range(5)]
    worker = Worker([Ordered], db=db8, concurrency=5, poll_interval=30)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(5):
            while len(Ordered.seen) < 5 or worker._done or worker._flushing:
                await trio.sleep(0.01)
        worker.stop()
    assert Ordered.seen == list(range(5))
    assert worker.stats["complete_with_claim"] >= 4, worker.stats
    assert {r.status for r in await list_jobs(db8)} == {"complete"}
    assert [r.id for r in await list_jobs(db8, newest_first=False)] == ids


class Ordered(Job):
    seen: list[int] = []

    async def execute(self, args: Any) -> Any:
        type(self).seen.append(args["n"])
        return {"n": args["n"]}


class Quick(Job):
    runs: list[tuple[int, int]] = []

    async def execute(self, args: Any) -> Any:
        type(self).runs.append((self.id, self.attempt))
        return {"id": self.id}


class Poison(Job):
    runs: list[int] = []

    async def execute(self, args: Any) -> None:
        type(self).runs.append(self.id)


class OneAtATime(Job):
    concurrency = Limit(1)

    async def execute(self, args: Any) -> None:
        await trio.sleep(0)


async def test_a_worker_writes_its_completions_with_its_claims(db8: Any) -> None:
    Quick.runs = []
    ids = await Quick.enqueue_many([{}] * 60, db=db8)
    worker = Worker([Quick], db=db8, concurrency=4, poll_interval=30)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(10):
            while await db8.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                     "'complete'"):
                await trio.sleep(0.01)
        worker.stop()
    assert sorted(Quick.runs) == [(i, 1) for i in ids]  # each ran once
    # every completion but those of a claim still in flight rode a claim
    assert worker.stats["complete_with_claim"] >= 50, worker.stats
    assert worker.stats["complete"] == 60
    records = await list_jobs(db8, limit=100)
    assert all(r.result == {"id": r.id} and r.attempt == 1 for r in records)


async def test_a_worker_with_limits_writes_completions_on_their_own(db8: Any) -> None:
    """A limited job's slot frees when its completion is written: a worker that any limit
    concerns does not hold completions back for its next claim."""
    await set_queue_limits("lim", concurrency=2, db=db8)
    await OneAtATime.enqueue_many([{}] * 5, db=db8)
    await Quick.enqueue_many([{}] * 5, queue="lim", db=db8)
    for jobs, queues in (([OneAtATime], ["default"]), ([Quick, OneAtATime], ["lim"])):
        worker = Worker(jobs, db=db8, queues=queues, concurrency=4, poll_interval=0.1)
        async with trio.open_nursery() as nursery:
            await nursery.start(worker.run)
            with trio.fail_after(10):
                while await db8.fetchval("SELECT count(*) FROM rum_jobs WHERE status <> "
                                         "'complete' AND queue = $1", queues[0]):
                    await trio.sleep(0.01)
            worker.stop()
        assert worker.stats["complete_with_claim"] == 0, (queues, worker.stats)
        assert worker.stats["complete"] == 5


async def test_completions_are_not_lost_when_the_claim_part_fails(
        db8: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A trigger makes claiming a Poison job fail inside PostgreSQL: the statement that
    would also have completed the Quick jobs is rolled back whole, and the completions are
    written on their own at once (the grace the completer gives the claim loop is 60 s
    here, so only the failure path can write them). Once claiming works again, Poison runs
    once; no Quick job runs twice."""
    Quick.runs, Poison.runs = [], []
    monkeypatch.setattr(worker_module, "RIDE_GRACE", 60.0)
    await db8.execute("""
        CREATE FUNCTION poison_claim() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.job = 'Poison' AND NEW.status = 'running' THEN
                RAISE EXCEPTION 'poisoned claim';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER poison_claim BEFORE UPDATE ON rum_jobs
            FOR EACH ROW EXECUTE FUNCTION poison_claim();
    """)
    quick = await Quick.enqueue_many([{}] * 2, priority=10, db=db8)
    poison = await Poison.enqueue(db=db8)
    worker = Worker([Quick, Poison], db=db8, concurrency=2, poll_interval=0.2)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(5):
            while await db8.fetchval("SELECT count(*) FROM rum_jobs WHERE id = ANY($1) AND "
                                     "status = 'complete'", quick) < 2:
                await trio.sleep(0.01)
        assert worker.stats["complete_with_claim"] == 0
        assert any("poisoned claim" in r.getMessage() for r in caplog.records)
        assert Poison.runs == []
        await db8.execute("DROP FUNCTION poison_claim() CASCADE")
        with trio.fail_after(5):
            while (await get_job(db8, poison)).status != "complete":  # type: ignore[union-attr]
                await trio.sleep(0.01)
        worker.stop()
    assert sorted(Quick.runs) == [(i, 1) for i in quick]
    assert Poison.runs == [poison]
    for job_id in quick:
        record = await get_job(db8, job_id)
        assert record is not None and record.result == {"id": job_id}


class Step(Job):
    order: list[int] = []

    async def execute(self, args: Any) -> Any:
        type(self).order.append(self.id)
        if args.get("fail"):
            raise RuntimeError("step failed")


async def test_workflows_resolve_when_the_prerequisite_completes_in_a_claim(
        db8: Any) -> None:
    """The workflow trigger fires at the end of the claim statement that completes a
    prerequisite: its dependent is released (and its NOTIFY wakes the worker: the poll is
    30 s) or, when a prerequisite fails for good, cancelled."""
    Step.order = []
    a = await Step.enqueue(db=db8)
    b = await Step.enqueue(after=[a], db=db8)
    c = await Step.enqueue(after=[b], db=db8)
    bad = await Step.enqueue({"fail": True}, max_attempts=1, db=db8)
    never = await Step.enqueue(after=[bad], db=db8)
    worker = Worker([Step], db=db8, concurrency=4, poll_interval=30)
    async with trio.open_nursery() as nursery:
        await nursery.start(worker.run)
        with trio.fail_after(5):
            while set((await statuses(db8, [a, b, c, bad, never])).values()) - {
                    "complete", "failed", "cancelled"}:
                await trio.sleep(0.01)
        worker.stop()
    assert await statuses(db8, [a, b, c, bad, never]) == {
        a: "complete", b: "complete", c: "complete", bad: "failed", never: "cancelled"}
    assert [i for i in Step.order if i in (a, b, c)] == [a, b, c]
    assert never not in Step.order
    assert worker.stats["complete_with_claim"] >= 2, worker.stats  # a and b rode claims
    assert await db8.fetchval("SELECT count(*) FROM rum_jobs_deps") == 0
