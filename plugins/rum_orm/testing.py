"""PostgreSQL fixtures for tests (a pytest plugin, registered as ``rum_orm.testing``).

- ``postgres_url`` (session): a PostgreSQL server. ``DATABASE_URL`` when set (it must answer:
  a wrong URL fails the tests, it never falls through); else ``postgres@127.0.0.1:5432`` when
  it answers; else a throwaway cluster started with ``initdb``/``pg_ctl`` (from ``PATH`` or
  ``/usr/lib/postgresql/*/bin``) in a temporary directory on a free port, stopped at the end of
  the session; else the tests fail with a message saying how to provide one.
- ``database_url`` (function): a fresh, empty database on that server, created for the test
  and dropped (``WITH (FORCE)``) after it. Its URL.
- ``db`` (function, async): an opened :class:`rum_orm.Database` on ``database_url`` (pool of
  at most 4 connections).

Importing this module is cheap and never fails: the heavy imports happen inside fixtures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import glob
import itertools
import os
import secrets
import shutil
import socket
import subprocess
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
          "the tests may create databases on, or install PostgreSQL (apt-get install "
          "postgresql) so the tests can start a throwaway cluster with initdb/pg_ctl.")
PG_BIN_GLOBS = ["/usr/lib/postgresql/*/bin"]
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


def find_pg_bin(name: str) -> str | None:
    """The path of PostgreSQL program ``name`` (``initdb``, ``pg_ctl``) or ``None``."""
    found = shutil.which(name)
    if found:
        return found
    for pattern in PG_BIN_GLOBS:
        for candidate in sorted(glob.glob(f"{pattern}/{name}"), reverse=True):
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayCluster:
    """A PostgreSQL cluster in a temporary directory, trust auth, on 127.0.0.1:<free port>."""

    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.initdb = initdb
        self.pg_ctl = pg_ctl
        self.port = _free_port()
        self.as_root = hasattr(os, "geteuid") and os.geteuid() == 0
        self.tmp = Path(tempfile.mkdtemp(prefix="rum-pg-"))
        self.data = self.tmp / "data"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if self.as_root:  # initdb refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                               f"{proc.stdout}{proc.stderr}")

    def start(self) -> str:
        """Create and start the cluster; return its URL."""
        if self.as_root:
            shutil.chown(self.tmp, "postgres", "postgres")
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.tmp} "
                   "-c fsync=off -c full_page_writes=off -c synchronous_commit=off")
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.tmp / "log"),
                  "-o", options, "-w", "-t", "60", "start")
        return self.url

    def stop(self) -> None:
        """Stop the cluster and delete its directory."""
        try:
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except Exception:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


def locate_server() -> tuple[str, ThrowawayCluster | None]:
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
    initdb, pg_ctl = find_pg_bin("initdb"), find_pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.fail(f"no PostgreSQL server for the tests: DATABASE_URL is not set, nothing "
                    f"answers at {local}, and initdb/pg_ctl are not on PATH nor "
                    f"under /usr/lib/postgresql/*/bin. {HOW_TO}", pytrace=False)
    cluster = ThrowawayCluster(initdb, pg_ctl)
    try:
        url = cluster.start()
    except Exception as exc:
        cluster.stop()
        pytest.fail(f"could not start a throwaway PostgreSQL cluster: {exc}. {HOW_TO}",
                    pytrace=False)
    deadline = time.monotonic() + 30
    while (error := server_error(url, timeout=2.0)) is not None:
        if time.monotonic() > deadline:
            cluster.stop()
            pytest.fail(f"the throwaway cluster at {url} never answered: {error}", pytrace=False)
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
