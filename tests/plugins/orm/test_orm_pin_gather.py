"""Many queries per request (issue 16): ``db.gather`` batches statements into one bridge
crossing; ``db.pinned()`` and ``[database] pin_requests`` let a block's or a request's one-shot
queries share one pooled connection, handed back on errors and cancellation. On a real
PostgreSQL, over real sockets for the request pin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from rum import App, Controller, Request, Response
from rum_http.testing import serve_app
from rum_orm import Database, Model, MultipleFound, NotFound


class Gadget(Model):
    id: int | None = None
    n: int = 0


async def make_gadgets(db: Database, count: int = 5) -> None:
    await db.execute("CREATE TABLE gadgets (id bigserial PRIMARY KEY, n integer NOT NULL)")
    await db.executemany("INSERT INTO gadgets (n) VALUES ($1)", [(i * 10,) for i in range(count)])


def count_crossings(db: Database) -> list[int]:
    """Counts calls of ``db.bridge.run`` (each is one trio → asyncio → trio round trip)."""
    calls = [0]
    real = db.bridge.run

    async def counted(fn: Any, *args: Any) -> Any:
        calls[0] += 1
        return await real(fn, *args)

    db.bridge.run = counted  # type: ignore[method-assign]
    return calls


async def test_gather_returns_results_in_order_in_one_crossing(db: Database) -> None:
    await make_gadgets(db)
    crossings = count_crossings(db)
    found = await db.gather(Gadget.find(3).fetch(), Gadget.find(1).fetch(),
                            Gadget.filter(n=40).fetch_all(),
                            db.fetchval("SELECT count(*) FROM gadgets"))
    assert crossings[0] == 1
    assert [found[0].id, found[0].n, found[1].id] == [3, 20, 1]
    assert [g.id for g in found[2]] == [5] and found[3] == 5
    assert await db.gather() == []


async def test_gather_runs_again_for_awaitables_that_query_twice(db: Database) -> None:
    await make_gadgets(db)
    crossings = count_crossings(db)

    async def two_steps(i: int) -> int:
        first = await Gadget.find(i).fetch()
        await trio.sleep(0)  # other work between the queries does not split the batch
        second = await Gadget.find(i + 1).fetch()
        return first.n + second.n

    assert await db.gather(two_steps(1), two_steps(2), two_steps(3)) == [10, 30, 50]
    assert crossings[0] == 2  # one round per step, not one crossing per query


async def test_gather_raises_the_first_error_after_all_finished(db: Database) -> None:
    await make_gadgets(db)
    done: list[int] = []

    async def find(i: int) -> Gadget:
        gadget = await Gadget.find(i).fetch()
        done.append(i)
        return gadget

    with pytest.raises(NotFound, match="99"):
        await db.gather(find(1), find(99), db.fetch("SELECT nonsense FROM gadgets"), find(2))
    assert sorted(done) == [1, 2]  # the others still ran
    with pytest.raises(Exception, match="nonsense"):
        await db.gather(find(1), db.fetch("SELECT nonsense FROM gadgets"))
    assert db.pool_stats()["in_use"] == 0


class Missing(Model):
    """A model whose table was never created."""

    id: int | None = None


def count_gather_tasks(db: Database) -> list[int]:
    """Counts the awaitables ``db.gather`` had to run in trio tasks of their own."""
    tasks = [0]
    real = db._gather_tasks

    async def counted(batch: Any, others: Any, results: Any) -> None:
        tasks[0] += len(others)
        await real(batch, others, results)

    db._gather_tasks = counted  # type: ignore[method-assign]
    return tasks


async def test_gather_takes_model_reads_into_the_batch_without_tasks(db: Database) -> None:
    await make_gadgets(db)
    crossings, tasks = count_crossings(db), count_gather_tasks(db)
    found = await db.gather(Gadget.find(2).fetch(), Gadget.find(99).fetch_optional(),
                            Gadget.filter(n=30).fetch_first(),
                            Gadget.filter_gte(n=20).order("-n").fetch_all(),
                            Gadget.filter_gt(n=10).count(), Gadget.filter(n=41).exists())
    assert (crossings[0], tasks[0]) == (1, 0)
    assert found[0].n == 10 and found[1] is None and found[2].id == 4
    assert [g.n for g in found[3]] == [40, 30, 20] and found[4:] == [3, False]


async def test_gather_mixes_model_reads_with_other_awaitables(db: Database) -> None:
    await make_gadgets(db)
    crossings, tasks = count_crossings(db), count_gather_tasks(db)

    async def two_steps(i: int) -> int:
        first = await Gadget.find(i).fetch()
        return first.n + (await Gadget.find(i + 1).fetch()).n

    found = await db.gather(Gadget.find(5).fetch(), two_steps(1), Gadget.all().count())
    assert found == [found[0], 10, 5] and found[0].n == 40
    assert (crossings[0], tasks[0]) == (2, 1)  # the reads ride on the task's first round


async def test_gather_model_read_errors_match_a_plain_await(db: Database) -> None:
    await make_gadgets(db)
    crossings = count_crossings(db)
    for read in (lambda: Gadget.find(99).fetch(), lambda: Gadget.all().fetch(),
                 lambda: Missing.find(1).fetch()):
        with pytest.raises(Exception) as plain:
            await read()
        with pytest.raises(Exception) as gathered:
            await db.gather(Gadget.find(1).fetch(), read(), Gadget.find(2).fetch())
        assert type(gathered.value) is type(plain.value)
        assert str(gathered.value) == str(plain.value)
    # a value PostgreSQL could not take is refused before anything is sent
    crossings[0] = 0
    with pytest.raises(Exception, match="n") as refused:
        await db.gather(Gadget.filter(n=2**70).fetch_all())
    assert crossings[0] == 0 and "Gadget.n: must be between" in str(refused.value)
    assert db.pool_stats()["in_use"] == 0


async def test_gather_model_reads_follow_transactions_and_given_connections(
        db: Database) -> None:
    await make_gadgets(db)
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO gadgets (n) VALUES (99)")
        found = await db.gather(Gadget.filter(n=99).count(), Gadget.all().count())
        assert found == [1, 6]  # ran in the transaction: they see its row
    async with db.transaction() as tx:
        await tx.execute("DELETE FROM gadgets WHERE n = 99")
        given, current = await db.gather(Gadget.filter(n=99).count(tx), Gadget.all().count())
        assert (given, current) == (0, 5)
    assert await db.gather(Gadget.filter(n=99).count(), Gadget.all().count()) == [0, 5]


def count_pipelines(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts asyncpg ``fetchmany`` round trips (each pipelines several executions)."""
    import asyncpg

    calls = [0]
    real = asyncpg.Connection.fetchmany

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "fetchmany", counted)
    return calls


async def test_gather_pipelines_reads_that_share_a_statement(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await make_gadgets(db, 8)
    await db.execute("INSERT INTO gadgets (n) VALUES (10)")  # n = 10 twice
    pipelines = count_pipelines(monkeypatch)
    found = await db.gather(*(Gadget.find(i).fetch_optional() for i in (3, 1, 99, 8)),
                            Gadget.filter_gte(n=30).order("-n").limit(2).fetch_all(),
                            Gadget.filter_gte(n=60).order("-n").limit(2).fetch_all(),
                            Gadget.filter_gte(n=900).order("-n").limit(2).fetch_all(),
                            Gadget.all().count())
    assert pipelines[0] == 2  # the finds, the three ordered lists
    assert [g and (g.id, g.n) for g in found[:4]] == [(3, 20), (1, 0), None, (8, 70)]
    assert [[g.n for g in gs] for gs in found[4:7]] == [[70, 60], [70, 60], []]
    assert found[7] == 9 and isinstance(found[0], Gadget) and found[0].to_dict()["n"] == 20
    pipelines[0] = 0
    assert await db.gather(Gadget.filter(n=10).count(), Gadget.filter(n=20).count(),
                           Gadget.filter(n=5).exists(), Gadget.filter(n=70).exists(),
                           Gadget.filter(n=5).fetch_first(), Gadget.filter(n=0).fetch_first(),
                           ) == [2, 1, False, True, None, found[1]]
    assert pipelines[0] == 3
    with pytest.raises(MultipleFound):  # each read still sees only its own rows
        await db.gather(Gadget.filter(n=20).fetch(), Gadget.filter(n=10).fetch())
    with pytest.raises(NotFound, match="Gadget not found"):
        await db.gather(Gadget.find(1).fetch(), Gadget.find(404).fetch())


async def test_a_failing_pipeline_runs_its_reads_one_by_one(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await make_gadgets(db)
    pipelines = count_pipelines(monkeypatch)
    bad = Gadget.filter(n="not a number")
    with pytest.raises(Exception) as plain:
        await bad.fetch_all()
    with pytest.raises(Exception) as gathered:
        await db.gather(Gadget.filter(n=10).fetch_all(), bad.fetch_all(),
                        Gadget.filter(n=20).fetch_all())
    assert pipelines[0] == 1 and str(gathered.value) == str(plain.value)
    # the batch's other reads still get their own rows (the batch runner, directly)
    from rum_orm.database import _BatchItem, _run_batch

    reads = [Gadget.filter(n=10).fetch_all(), bad.fetch_all(), Gadget.filter(n=20).fetch_all()]
    items = [_BatchItem(r.method, r.sql, r.args, True, True) for r in reads]
    done = await db.bridge.run(_run_batch, db.idle_connections, None, items)
    assert pipelines[0] == 2
    assert [[g.n for g in reads[k]._batch_result(done[k])] for k in (0, 2)] == [[10], [20]]
    with pytest.raises(type(plain.value)):
        reads[1]._batch_result(done[1])
    assert db.pool_stats()["in_use"] == 0


async def test_a_cancelled_pipeline_hands_its_connection_back(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await make_gadgets(db)
    pipelines = count_pipelines(monkeypatch)
    locked, release = trio.Event(), trio.Event()

    async def hold_lock() -> None:  # another task: its transaction is not this task's
        async with db.transaction() as tx:
            await tx.fetch("SELECT * FROM gadgets WHERE id = 1 FOR UPDATE")
            locked.set()
            await release.wait()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(hold_lock)
        await locked.wait()
        with trio.move_on_after(0.3) as scope:  # the pipeline waits on the locked row
            await db.gather(*(Gadget.filter(id=i).lock().fetch_all() for i in (2, 1, 3)))
        assert scope.cancelled_caught
        release.set()
    assert pipelines[0] == 1
    with trio.fail_after(5):
        while db.pool_stats()["in_use"]:
            await trio.sleep(0.01)
    found = await db.gather(*(Gadget.filter(id=i).lock().fetch_all() for i in (2, 1, 3)))
    assert [g.id for gs in found for g in gs] == [2, 1, 3]


async def test_pinned_block_shares_one_connection_and_takes_none_until_used(db: Database) -> None:
    async with db.pinned():
        assert db.pool_stats()["in_use"] == 0  # nothing acquired yet
        pids = {await db.fetchval("SELECT pg_backend_pid()") for _ in range(5)}
        assert len(pids) == 1 and db.pool_stats()["in_use"] == 1
        async with db.transaction() as tx:  # runs on the pinned connection
            assert await tx.fetchval("SELECT pg_backend_pid()") in pids
        async with trio.open_nursery() as nursery:  # concurrent tasks take turns on it
            seen: list[int] = []

            async def pid() -> None:
                seen.append(await db.fetchval("SELECT pg_backend_pid(), pg_sleep(0.01)"))
            for _ in range(4):
                nursery.start_soon(pid)
        assert set(seen) == pids
    await wait_released(db)


async def wait_released(db: Database) -> None:
    """The release is scheduled on the bridge loop, not awaited: give it a moment."""
    with trio.fail_after(5):
        while db.pool_stats()["in_use"]:
            await trio.sleep(0.01)


async def test_pin_released_on_exception_and_cancellation(db: Database) -> None:
    with pytest.raises(ZeroDivisionError):
        async with db.pinned():
            await db.fetchval("SELECT 1")
            assert db.pool_stats()["in_use"] == 1
            1 / 0  # noqa: B018
    await wait_released(db)

    with trio.move_on_after(0.2) as scope:
        async with db.pinned():
            await db.fetchval("SELECT pg_sleep(5)")  # cancelled mid-statement
    assert scope.cancelled_caught
    await wait_released(db)
    async with db.pinned():  # the pool still works
        assert await db.fetchval("SELECT 41 + 1") == 42
    await wait_released(db)


class Pids(Controller):
    async def get(self, request: Request) -> Response:
        db: Any = request.app.storage if request.app else None
        before = db.pool_stats()["in_use"]
        pids = [await db.fetchval("SELECT pg_backend_pid()") for _ in range(3)]
        rows = await Gadget.all().fetch_all()
        held = db.pool_stats()["in_use"]
        await trio.sleep(0.01)
        return Response.json({"pids": pids, "rows": len(rows), "before": before, "held": held})


class NoQuery(Controller):
    async def get(self, request: Request) -> Response:
        db: Any = request.app.storage if request.app else None
        return Response.json({"in_use": db.pool_stats()["in_use"]})


class Fails(Controller):
    async def get(self, request: Request) -> Response:
        await Gadget.find(1).fetch()
        raise RuntimeError("boom after a query")


class Slow(Controller):
    async def get(self, request: Request) -> Response:
        await Gadget.find(1).fetch()
        await trio.sleep(30)
        return Response.text("never")


def pinning_app(tmp_path: Path, url: str) -> App:
    return App([Pids.route("/pids"), NoQuery.route("/none"), Fails.route("/fails"),
                Slow.route("/slow")], plugins=["http", "orm"], root=tmp_path,
               config={"database": {"url": url, "pin_requests": True, "pool_max": 10},
                       "http": {"access_log": False}})


async def test_request_pin_over_real_sockets(tmp_path: Path, database_url: str,
                                             db: Database) -> None:
    await make_gadgets(db)
    app = pinning_app(tmp_path, database_url)
    async with serve_app(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
        storage: Any = app.storage
        idle = await client.get("/none")
        assert idle.json() == {"in_use": 0}  # a request that does not query holds nothing
        alone = (await client.get("/pids")).json()
        assert alone["before"] == 0 and alone["held"] == 1  # pinned until the response
        await wait_released(storage)

        async def one(results: list[Any]) -> None:
            response = await client.get("/pids")
            assert response.status_code == 200, response.text
            results.append(response.json())

        results: list[Any] = []
        async with trio.open_nursery() as nursery:  # 100 concurrent requests, pool of 10
            for _ in range(100):
                nursery.start_soon(one, results)
        assert len(results) == 100
        assert all(len(set(r["pids"])) == 1 and r["rows"] == 5 for r in results)
        await wait_released(storage)

        failed = await client.get("/fails")
        assert failed.status_code == 500
        await wait_released(storage)

        with trio.move_on_after(0.5):  # the client gives up: the server cancels the request
            await client.get("/slow")
        await wait_released(storage)
        assert storage.pool_stats()["size"] <= 10
        assert (await client.get("/pids")).status_code == 200


async def test_request_pin_released_when_the_handler_is_cancelled(tmp_path: Path,
                                                                   database_url: str,
                                                                   db: Database) -> None:
    await make_gadgets(db)
    app = pinning_app(tmp_path, database_url)
    async with app.running():
        storage: Any = app.storage
        async with trio.open_nursery() as nursery:
            for _ in range(20):
                async def cancelled() -> None:
                    with trio.move_on_after(0.3):
                        await app.handle(Request.from_target("GET", "/slow"))
                nursery.start_soon(cancelled)
        await wait_released(storage)
        response = await app.handle(Request.from_target("GET", "/pids"))
        assert response.status == 200


def test_request_pin_hooks_are_registered_only_with_pin_requests(tmp_path: Path) -> None:
    """Without ``pin_requests`` the ORM adds no request or response hook (a request does not
    pay for a feature that is off); with it, its two hooks are bound."""
    url = "postgresql://postgres@127.0.0.1:5432/unused"

    def orm_hooks(app: App, hook: str) -> list[str]:
        impls = getattr(app.plugins.hook, hook).get_hookimpls()
        return [i.plugin_name for i in impls if i.plugin_name.startswith("orm")]

    off = App([], plugins=["orm"], root=tmp_path, config={"database": {"url": url}})
    assert orm_hooks(off, "rum_request") == orm_hooks(off, "rum_response") == []
    on = pinning_app(tmp_path, url)
    assert orm_hooks(on, "rum_request") == orm_hooks(on, "rum_response") == \
        ["orm.pin_requests"]
