"""The ORM through PgBouncer in transaction pooling mode (the ``pgbouncer`` fixture): queries,
transactions and models from many tasks at once, prepared statements (asyncpg's cache breaks
behind PgBouncer < 1.21, ``statement_cache_size = 0`` fixes it), sessions and LISTEN on the
direct URL, and migrations (whose advisory lock needs a session)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import trio

from rum_orm import Database, Migrator, Model

pytestmark = pytest.mark.postgres


def pooled(url: str, pgbouncer: Any, **options: Any) -> Database:
    """A Database whose pool goes through ``pgbouncer``, configured as the docs say."""
    options.setdefault("pool_max", 8)
    if not pgbouncer.tracks_prepared_statements:
        options.setdefault("statement_cache_size", 0)
    return Database(url, **options)


@asynccontextmanager
async def opened(db: Database) -> AsyncIterator[Database]:
    """``db`` started for the block, closed after."""
    await db.start()
    try:
        yield db
    finally:
        await db.close()


async def hammer(db: Database, tasks: int = 16, rounds: int = 15) -> list[BaseException]:
    """Many tasks running distinct statements, one-shot and in transactions; the errors."""
    errors: list[BaseException] = []

    async def one(i: int) -> None:
        for j in range(rounds):
            try:
                assert await db.fetchval(f"SELECT $1::int + {j % 5}", i) == i + j % 5
                async with db.transaction() as tx:
                    first = await tx.fetchval("SELECT pg_backend_pid()")
                    await tx.fetch("SELECT relname FROM pg_class WHERE oid = $1", 1259)
                    # a transaction keeps its server connection from BEGIN to COMMIT
                    assert await tx.fetchval("SELECT pg_backend_pid()") == first
            except Exception as exc:
                errors.append(exc)

    async with trio.open_nursery() as nursery:
        for i in range(tasks):
            nursery.start_soon(one, i)
    return errors


async def test_the_fixture_is_transaction_pooling_and_named_statements_break_before_1_21(
        pgbouncer: Any, pgbouncer_url: str) -> None:
    assert "pool_mode = transaction" in pgbouncer.config_text()
    async with Database.open(pgbouncer_url, pool_max=8) as db:  # asyncpg's default cache
        errors = await hammer(db, tasks=12, rounds=8)
    if pgbouncer.tracks_prepared_statements:
        assert errors == []  # max_prepared_statements is set by the fixture
    else:
        assert errors, "named prepared statements should fail across PgBouncer < 1.21"
        assert all(isinstance(e, asyncpg.InvalidSQLStatementNameError
                              | asyncpg.DuplicatePreparedStatementError) for e in errors), errors


async def test_queries_and_transactions_from_many_tasks(pgbouncer: Any,
                                                        pgbouncer_url: str) -> None:
    async with opened(pooled(pgbouncer_url, pgbouncer)) as db:
        assert await hammer(db) == []
        # a server connection serves several clients: transactions of different pooled
        # connections land on the same backends (4 server connections for 8 clients)
        await db.execute("CREATE TABLE seen (pid int)")

        async def record() -> None:
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO seen SELECT pg_backend_pid()")
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            for _ in range(24):
                nursery.start_soon(record)
        assert await db.fetchval("SELECT count(DISTINCT pid) FROM seen") <= pgbouncer.pool_size


class Gadget(Model):
    __table__ = "gadgets"
    id: int | None = None
    name: str
    specs: dict[str, Any] | None = None


async def test_models_rollbacks_and_json_through_the_pooler(pgbouncer: Any,
                                                            pgbouncer_url: str) -> None:
    async with opened(pooled(pgbouncer_url, pgbouncer)) as db:
        await db.execute("CREATE TABLE gadgets (id bigserial PRIMARY KEY, name text NOT NULL, "
                         "specs jsonb)")

        async def make(i: int) -> None:
            async with db.transaction():
                await Gadget(name=f"g{i}", specs={"i": i}).save()

        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(make, i)
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await Gadget(name="rolled back").save()
                raise RuntimeError("abort")
        rows = await Gadget.all().order("id").fetch_all(db)
        assert sorted(g.specs["i"] for g in rows if g.specs) == list(range(20))
        assert await Gadget.all().filter(name="rolled back").count(db) == 0
        async with db.pinned():  # gather's pipelined reads (unnamed statements) pass too
            found = await db.gather(*(Gadget.filter(name=f"g{i}").fetch() for i in range(5)))
        assert [g.specs["i"] for g in found if g.specs] == list(range(5))


async def test_session_is_a_direct_connection_that_keeps_session_state(
        pgbouncer: Any, pgbouncer_url: str, database_url: str) -> None:
    db = pooled(pgbouncer_url, pgbouncer, direct_url=database_url)
    # another client of the pooler (inside the session block, tasks of `db` would join the
    # session: it is the current connection there, as in db.connection())
    other = pooled(pgbouncer_url, pgbouncer)
    async with opened(db), opened(other):
        async with db.session() as session:
            pid = await session.fetchval("SELECT pg_backend_pid()")
            await session.execute("SET application_name = 'held'")
            await session.execute("SELECT pg_advisory_lock(4242)")
            assert await hammer(other, tasks=8, rounds=5) == []  # churn the pooler meanwhile
            assert await session.fetchval("SELECT pg_backend_pid()") == pid
            assert await session.fetchval("SHOW application_name") == "held"
            assert await db.fetchval("SELECT pg_backend_pid()") == pid  # the current one
            # the lock is held by this session, whatever pooled backend asks
            async with other.transaction() as tx:
                assert await tx.fetchval("SELECT pg_try_advisory_xact_lock(4242)") is False
        # closed with the block: the lock went with it
        async with db.transaction() as tx:
            assert await tx.fetchval("SELECT pg_try_advisory_xact_lock(4242)") is True
        assert await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                 pid) == 0


async def test_listen_uses_the_direct_url(pgbouncer: Any, pgbouncer_url: str,
                                          database_url: str) -> None:
    db = pooled(pgbouncer_url, pgbouncer, direct_url=database_url)
    async with opened(db):
        async with db.listen("pings") as payloads:
            assert await hammer(db, tasks=4, rounds=3) == []
            for i in range(3):  # NOTIFY through the pooler, in and outside transactions
                if i % 2:
                    async with db.transaction():
                        await db.notify("pings", f"p{i}")
                else:
                    await db.notify("pings", f"p{i}")
            got = []
            with trio.fail_after(5):
                async for payload in payloads:
                    got.append(payload)
                    if len(got) == 3:
                        break
        assert got == ["p0", "p1", "p2"]


def write_migrations(root: Path) -> Path:
    folder = root / "migrations"
    folder.mkdir()
    (folder / "20260101000000_things.up.sql").write_text(
        "CREATE TABLE things (id serial PRIMARY KEY, pid int DEFAULT pg_backend_pid());\n"
        "INSERT INTO things DEFAULT VALUES;\n")
    (folder / "20260101000000_things.down.sql").write_text("DROP TABLE things;\n")
    (folder / "20260102000000_more.up.sql").write_text(
        "INSERT INTO things DEFAULT VALUES;\n")
    (folder / "20260102000000_more.down.sql").write_text("DELETE FROM things;\n")
    return folder


async def test_migrations_through_the_pooler_hold_their_lock_on_the_direct_url(
        pgbouncer: Any, pgbouncer_url: str, database_url: str, tmp_path: Path) -> None:
    folder = write_migrations(tmp_path)
    db = pooled(pgbouncer_url, pgbouncer, direct_url=database_url)
    async with opened(db):
        results: list[list[Any]] = []

        async def migrate() -> None:
            results.append(await Migrator(db, [folder]).run())

        async with trio.open_nursery() as nursery:  # two migrators at once: one applies
            nursery.start_soon(migrate)
            nursery.start_soon(migrate)
        assert sorted(len(r) for r in results) == [0, 2]
        # both files ran on one session (the direct one), and no advisory lock is left
        assert await db.fetchval("SELECT count(DISTINCT pid) FROM things") == 1
        assert await db.fetchval("SELECT count(*) FROM pg_locks "
                                 "WHERE locktype = 'advisory'") == 0
        assert [m.version for m in await Migrator(db, [folder]).pending()] == []
        reverted = await Migrator(db, [folder]).revert(to="0")
        assert len(reverted) == 2
        assert await db.fetchval("SELECT to_regclass('things')") is None


async def test_statement_cache_size_reaches_asyncpg(database_url: str) -> None:
    async with opened(Database(database_url, statement_cache_size=0)) as db, \
            db.connection() as conn:
        assert conn.raw._stmt_cache.get_max_size() == 0
    with pytest.raises(ValueError, match="statement_cache_size"):
        Database(database_url, statement_cache_size=-1)


async def test_a_startup_parameter_the_pooler_refuses_is_explained(
        pgbouncer: Any, pgbouncer_url: str) -> None:
    from rum_orm.diagnose import DatabaseUnavailable

    db = pooled(pgbouncer_url, pgbouncer, statement_timeout=5000)
    with pytest.raises(DatabaseUnavailable, match=r"statement_timeout.*ALTER ROLE"):
        await db.start()
    assert not db.is_open
