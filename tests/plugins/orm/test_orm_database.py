"""``rum_orm.Database``: the storage API on a real PostgreSQL, through the trio bridge."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
import trio

from rum import App, ConfigError
from rum_orm import Database, ListenerClosed
from rum_orm.bridge import BridgeClosed


async def test_one_shot_queries(db: Database) -> None:
    assert await db.execute("CREATE TABLE t (id serial PRIMARY KEY, name text)") == "CREATE TABLE"
    await db.executemany("INSERT INTO t (name) VALUES ($1)", [("a",), ("b",), ("c",)])
    assert await db.fetchval("SELECT count(*) FROM t") == 3
    row = await db.fetchrow("SELECT * FROM t WHERE name = $1", "b")
    assert row is not None and row["name"] == "b" and row["id"] == 2
    assert await db.fetchrow("SELECT * FROM t WHERE name = $1", "zz") is None
    rows = await db.fetch("SELECT name FROM t ORDER BY id")
    assert [r["name"] for r in rows] == ["a", "b", "c"]
    assert await db.execute("UPDATE t SET name = upper(name)") == "UPDATE 3"


async def test_pool_stats(database_url: str) -> None:
    db = Database(database_url, pool_min=1, pool_max=3)
    assert db.pool_stats() == {}
    async with Database.open(database_url, pool_min=1, pool_max=3) as db:
        async with db.connection():
            stats = db.pool_stats()
            assert stats["in_use"] == 1 and stats["max_size"] == 3 and stats["min_size"] == 1
        assert db.pool_stats()["in_use"] == 0


async def test_connection_methods(db: Database) -> None:
    async with db.connection() as conn:
        await conn.execute("CREATE TEMP TABLE tmp (x int)")
        await conn.executemany("INSERT INTO tmp VALUES ($1)", [(1,), (2,)])
        # a temp table only exists on this connection: implicit queries use it too
        assert await db.fetchval("SELECT sum(x) FROM tmp") == 3
        assert (await conn.fetchrow("SELECT max(x) AS m FROM tmp"))["m"] == 2
        assert len(await conn.fetch("SELECT * FROM tmp")) == 2
        assert not conn.in_transaction
    with pytest.raises(RuntimeError, match="released back to the pool"):
        await conn.fetchval("SELECT 1")


async def test_transaction_commits_and_implicit_queries_join_it(db: Database) -> None:
    await db.execute("CREATE TABLE t (x int)")
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO t VALUES (1)")
        assert tx.in_transaction
        assert await db.fetchval("SELECT count(*) FROM t") == 1  # joins the transaction
        assert db.current() is tx
    assert db.current() is None
    assert await db.fetchval("SELECT count(*) FROM t") == 1


async def test_transaction_rolls_back_on_exception(db: Database) -> None:
    await db.execute("CREATE TABLE t (x int)")
    with pytest.raises(ZeroDivisionError):
        async with db.transaction():
            await db.execute("INSERT INTO t VALUES (1)")
            1 / 0  # noqa: B018
    assert await db.fetchval("SELECT count(*) FROM t") == 0


async def test_nested_transaction_is_a_savepoint(db: Database) -> None:
    await db.execute("CREATE TABLE t (x int)")
    async with db.transaction():
        await db.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(ValueError):
            async with db.transaction():
                await db.execute("INSERT INTO t VALUES (2)")
                raise ValueError
        assert await db.fetchval("SELECT array_agg(x) FROM t") == [1]
    assert await db.fetchval("SELECT array_agg(x) FROM t") == [1]


async def test_child_tasks_inherit_the_transaction_others_do_not(db: Database) -> None:
    await db.execute("CREATE TABLE t (x int)")
    seen: dict[str, int] = {}
    inserted, counted = trio.Event(), trio.Event()
    async with trio.open_nursery() as nursery:
        async def outsider() -> None:  # started before the transaction: its own connection
            await inserted.wait()
            seen["outsider"] = await db.fetchval("SELECT count(*) FROM t")
            counted.set()
        nursery.start_soon(outsider)
        async with db.transaction():
            await db.execute("INSERT INTO t VALUES (1)")
            async with trio.open_nursery() as inner:
                async def child() -> None:
                    seen["child"] = await db.fetchval("SELECT count(*) FROM t")
                inner.start_soon(child)
            inserted.set()
            await counted.wait()
    assert seen == {"child": 1, "outsider": 0}


async def _running_sleeps(db: Database) -> int:
    return await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                             "'SELECT pg_sleep(30)%' AND state = 'active'")


async def test_cancelled_query_is_cancelled_on_the_server_and_frees_the_connection(
        db: Database) -> None:
    start = time.monotonic()
    with trio.move_on_after(0.3) as scope:
        await db.fetchval("SELECT pg_sleep(30)")
    assert scope.cancelled_caught
    assert time.monotonic() - start < 5
    # every connection of the pool (4) is usable at once: none leaked
    results: list[int] = []
    async with trio.open_nursery() as nursery:
        for i in range(4):
            async def one(i: int = i) -> None:
                async with db.connection() as conn:
                    await trio.sleep(0.05)
                    results.append(await conn.fetchval("SELECT $1::int", i))
            nursery.start_soon(one)
    assert sorted(results) == [0, 1, 2, 3]
    with trio.fail_after(5):
        while await _running_sleeps(db):
            await trio.sleep(0.05)


async def test_cancelled_transaction_rolls_back_and_returns_connection(db: Database) -> None:
    await db.execute("CREATE TABLE t (x int)")
    with trio.move_on_after(0.3):
        async with db.transaction():
            await db.execute("INSERT INTO t VALUES (1)")
            await db.fetchval("SELECT pg_sleep(30)")
    assert await db.fetchval("SELECT count(*) FROM t") == 0
    for _ in range(8):  # more than the pool holds
        async with db.connection() as conn:
            assert await conn.fetchval("SELECT 1") == 1


async def test_cancel_while_waiting_for_a_connection(database_url: str) -> None:
    async with Database.open(database_url, pool_min=1, pool_max=1) as small:
        held, release = trio.Event(), trio.Event()
        async with trio.open_nursery() as nursery:
            async def holder() -> None:
                async with small.connection():
                    held.set()
                    await release.wait()
            nursery.start_soon(holder)
            await held.wait()
            with trio.move_on_after(0.2) as scope:
                await small.fetchval("SELECT 1")  # the only connection is held
            assert scope.cancelled_caught
            release.set()
        with trio.fail_after(5):
            assert await small.fetchval("SELECT 2") == 2


async def test_errors_pass_through(db: Database) -> None:
    with pytest.raises(asyncpg.UndefinedTableError, match="nope"):
        await db.fetch("SELECT * FROM nope")
    assert await db.fetchval("SELECT 1") == 1


async def test_statement_timeout(database_url: str) -> None:
    async with Database.open(database_url, pool_max=1, statement_timeout=100) as timed:
        with pytest.raises(asyncpg.QueryCanceledError):
            await timed.fetchval("SELECT pg_sleep(2)")


async def test_listen_notify(db: Database) -> None:
    got: list[str] = []
    async with db.listen("news") as payloads:
        await db.notify("news", "one")
        async with db.transaction():
            await db.notify("news", "two")  # sent on commit
        with trio.fail_after(5):
            async for payload in payloads:
                got.append(payload)
                if len(got) == 2:
                    break
    assert got == ["one", "two"]


async def test_listener_reports_lost_connection(db: Database) -> None:
    async with db.listen("chan") as payloads:
        await db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                         "query LIKE 'LISTEN%' AND datname = current_database()")
        with trio.fail_after(5), pytest.raises(ListenerClosed, match="chan"):
            async for _ in payloads:
                pass


async def test_cursor_iterates_in_batches(db: Database) -> None:
    async with db.transaction() as tx:
        rows = [r["g"] async for r in tx.cursor("SELECT generate_series(1, 250) AS g", batch=40)]
    assert rows == list(range(1, 251))
    async with db.connection() as conn:
        with pytest.raises(RuntimeError, match="needs a transaction"):
            conn.cursor("SELECT 1")


async def test_query_log_and_slow_query_warning(database_url: str,
                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="rum.orm")
    async with Database.open(database_url, pool_max=1, log_queries=True,
                             slow_query_ms=150) as logged:
        await logged.fetchval("SELECT $1::int + 1", 41)
        await logged.fetchval("SELECT pg_sleep(0.2)")
    info = [r for r in caplog.records if r.levelno == logging.INFO]
    assert any("SELECT $1::int + 1" in r.getMessage() and "[41]" in r.getMessage()
               and " ms" in r.getMessage() for r in info)
    slow = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(slow) == 1 and "slow query" in slow[0].getMessage()
    assert "pg_sleep" in slow[0].getMessage() and slow[0].duration_ms >= 150


async def test_unreachable_server_fails_clearly() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://postgres:secret@127.0.0.1:{port}/x"
    with pytest.raises(ConnectionError, match=f"cannot connect to PostgreSQL at .*:{port}/x") as e:
        async with Database.open(url, connect_timeout=2):
            pass
    assert "secret" not in str(e.value)


async def test_closed_database_says_how_to_open() -> None:
    db = Database("postgresql://postgres@127.0.0.1/none")
    with pytest.raises(BridgeClosed, match=r"Database\.open"):
        await db.fetchval("SELECT 1")


async def test_app_storage_opens_and_closes_with_the_app(rum_app_factory, database_url) -> None:
    app = rum_app_factory(plugins=["orm"], toml=f'[plugins]\nenabled = ["orm"]\n\n'
                                                f'[database]\nurl = "{database_url}"\n'
                                                f'pool_max = 2\n')
    db = app.storage
    assert isinstance(db, Database) and db.pool_max == 2 and not db.is_open
    async with app.running():
        assert db.is_open
        assert await app.storage.fetchval("SELECT 40 + 2") == 42
    assert not db.is_open
    async with app.running():  # an app can be started again
        assert await app.storage.fetchval("SELECT 1") == 1
    assert not db.is_open


async def test_app_storage_uses_database_url_env(rum_app_factory, database_url,
                                                 monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    app = rum_app_factory(plugins=["orm"], toml='[plugins]\nenabled = ["orm"]\n')
    async with app.running():
        assert await app.storage.fetchval("SELECT current_database()") == \
            database_url.rsplit("/", 1)[1]


def test_app_storage_without_url_names_rum_toml_and_env(rum_app_factory, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = rum_app_factory(plugins=["orm"], toml='[plugins]\nenabled = ["orm"]\n')
    with pytest.raises(ConfigError, match=r"\[database\].*Rum\.toml.*DATABASE_URL"):
        app.storage  # noqa: B018


async def test_app_without_database_still_runs(rum_app_factory, monkeypatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app: App = rum_app_factory(plugins=["orm"])
    async with app.running():
        pass


def test_bad_pool_config_is_refused(rum_app_factory) -> None:
    app = rum_app_factory(plugins=["orm"], toml='[database]\nurl = "postgresql://x/y"\n'
                                                'pool_min = 5\npool_max = 2\n')
    with pytest.raises(ConfigError, match="pool_min"):
        app.storage  # noqa: B018


@asynccontextmanager
async def probed(database_url: str, name: str) -> AsyncIterator[tuple[Database, Any]]:
    """A one-connection database named ``name`` in pg_stat_activity, and a function giving
    the last statement its server session ran (seen from a second database)."""
    async with Database.open(database_url, pool_min=1, pool_max=1,
                             server_settings={"application_name": name}) as db, \
            Database.open(database_url, pool_min=1, pool_max=1) as probe:
        async def last_query() -> str:
            return await probe.fetchval("SELECT query FROM pg_stat_activity WHERE "
                                        "application_name = $1", name)

        yield db, last_query


async def test_orm_one_shots_skip_the_reset_raw_sql_does_not(database_url: str) -> None:
    from rum_orm import Model

    class Item(Model):
        name: str

    async with probed(database_url, "rum_reset_probe") as (db, last_query):
        await db.execute("CREATE TABLE items (id serial PRIMARY KEY, name text)")
        assert "pg_advisory_unlock_all" in await last_query()  # raw: reset ran
        await Item.create(name="a").fetch(db)
        assert (await last_query()).startswith('INSERT INTO "items"')  # no reset
        assert [i.name for i in await Item.all().fetch_all(db)] == ["a"]
        assert (await last_query()).startswith('SELECT * FROM "items"')
        # session state set by raw SQL never leaks to the next user of the connection
        await db.fetchval("SELECT set_config('search_path', 'nowhere', false)")
        assert await db.fetchval("SHOW search_path") == '"$user", public'


async def test_stateless_raw_sql_skips_the_reset(database_url: str) -> None:
    async with probed(database_url, "rum_stateless_probe") as (db, last_query):
        assert await db.fetchval("SELECT $1::int + 1", 41, stateless=True) == 42
        assert await last_query() == "SELECT $1::int + 1"  # no reset after it
        assert await db.fetchval("SELECT 7") == 7
        assert "pg_advisory_unlock_all" in await last_query()  # default: reset ran


async def test_one_shots_reuse_the_warmest_connection_then_give_it_back(
        database_url: str) -> None:
    """Clean one-shot statements park their connection: the next one takes the same backend
    without the pool; after the linger time the pool has it back (idle, and acquirable by
    code that goes to ``db.pool`` directly)."""
    async with Database.open(database_url, pool_min=3, pool_max=3) as db:
        pids = {await db.fetchval("SELECT pg_backend_pid()", stateless=True) for _ in range(20)}
        assert len(pids) == 1  # LIFO reuse: one warm backend served all twenty
        assert len(db.idle_connections) == 1
        assert db.pool_stats()["idle"] == 3  # parked connections count as idle
        await trio.sleep(db.idle_connections.linger * 3 + 0.05)
        assert len(db.idle_connections) == 0
        assert db.pool.get_idle_size() == 3

        # every connection parked at once: a direct pool acquire waits at most the linger
        async def hold(n: int) -> None:
            async with db.connection() as conn:
                await conn.fetchval("SELECT pg_sleep(0.05)")

        async with trio.open_nursery() as nursery:
            for n in range(3):
                nursery.start_soon(hold, n)
        for _ in range(3):
            await db.fetchval("SELECT 1", stateless=True)
        start = time.monotonic()
        raw = await db.bridge.run(db.pool.acquire)
        await db.bridge.run(db.pool.release, raw)
        assert time.monotonic() - start < 1.0


async def test_a_parked_connection_the_server_closed_is_skipped(database_url: str) -> None:
    async with Database.open(database_url, pool_min=1, pool_max=2) as db, \
            Database.open(database_url, pool_min=1, pool_max=1) as admin:
        pid = await db.fetchval("SELECT pg_backend_pid()", stateless=True)
        assert len(db.idle_connections) == 1
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        with trio.fail_after(5):
            while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                       pid):
                await trio.sleep(0.01)
        await trio.sleep(0.1)  # the bridge loop sees the socket close
        new_pid = await db.fetchval("SELECT pg_backend_pid()", stateless=True)
        assert new_pid != pid


async def test_close_does_not_wait_for_parked_connections(database_url: str) -> None:
    db = Database(database_url, pool_min=2, pool_max=2)
    await db.start()
    for _ in range(3):
        await db.fetchval("SELECT 1", stateless=True)
    assert len(db.idle_connections) == 1
    start = time.monotonic()
    await db.close()
    assert time.monotonic() - start < 2  # the pool would wait 10 s for a connection held
    assert not db.is_open


async def test_waiters_get_freed_connections_and_nothing_leaks(database_url: str) -> None:
    """More tasks than connections, mixing stateless statements (handed from task to task),
    raw ones (reset through the pool), transactions and cancelled waiters: every statement
    answers, and afterwards every connection is back in the pool."""
    async with Database.open(database_url, pool_min=1, pool_max=2) as db:
        answered: list[int] = []

        async def worker(n: int) -> None:
            for i in range(15):
                if i % 5 == 4:
                    answered.append(await db.fetchval("SELECT $1::int", n))  # reset
                elif i % 7 == 6:
                    async with db.transaction() as tx:
                        answered.append(await tx.fetchval("SELECT $1::int", n))
                else:
                    answered.append(await db.fetchval("SELECT $1::int", n, stateless=True))

        async def cancelled_waiter() -> None:
            with trio.move_on_after(0.01):
                while True:
                    await db.fetchval("SELECT pg_sleep(0.005)", stateless=True)

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                for n in range(8):
                    nursery.start_soon(worker, n)
                for _ in range(4):
                    nursery.start_soon(cancelled_waiter)
        assert sorted(answered) == sorted(n for n in range(8) for _ in range(15))
        idle = db.idle_connections
        await trio.sleep(idle.linger * 3 + 0.05)
        assert (len(idle), idle.out, len(idle.waiters)) == (0, 0, 0)
        assert db.pool.get_idle_size() == db.pool.get_size()
        # the pool is whole: two connections can be held at once
        async with db.connection() as a, db.connection() as b:
            assert await a.fetchval("SELECT 1") == await b.fetchval("SELECT 1") == 1


async def test_a_failed_acquire_passes_its_turn_on(database_url: str) -> None:
    """An acquire that fails inside the pool (here: cancelled while code outside the ORM
    holds the only connection) hands its turn to the next waiter, which then gets the
    connection once it is given back, instead of waiting for ever."""
    async with Database.open(database_url, pool_min=1, pool_max=1) as db:
        idle = db.idle_connections
        outside = await db.bridge.run(db.pool.acquire)  # not through the ORM
        got: list[int] = []

        async def gives_up() -> None:
            with trio.move_on_after(0.2):
                await db.fetchval("SELECT 1")

        async def waits() -> None:
            got.append(await db.fetchval("SELECT 2"))

        with trio.fail_after(10):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(gives_up)
                await trio.sleep(0.05)
                nursery.start_soon(waits)  # every connection is out: it waits its turn
                await trio.sleep(0.3)
                await db.bridge.run(db.pool.release, outside)
        assert got == [2]
        await trio.sleep(idle.linger * 3 + 0.05)
        assert (len(idle), idle.out, len(idle.waiters)) == (0, 0, 0)
