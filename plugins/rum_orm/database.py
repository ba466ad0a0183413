"""``Database``: an asyncpg pool behind the trio bridge, the storage object Rum apps share.

Everything here is called from trio. The pool, its connections and their queries live on the
bridge's asyncio thread (:mod:`rum_orm.bridge`); results come back as asyncpg ``Record``
objects (read-only mappings/tuples, safe to hand across threads).

The "current connection" is a context variable: inside ``async with db.transaction():`` (or
``db.connection()``), ``db.fetch(...)`` and every model query made without an explicit
connection join that transaction. Child tasks started inside it inherit it too; a connection
runs one query at a time, so give concurrent tasks their own transactions.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeAlias, cast

import asyncpg
import outcome
import trio

from rum import jsonutil
from rum.context import current_app, current_request
from rum_orm.bridge import AsyncioThread, BridgeClosed
from rum_orm.diagnose import explain_connect_error, explain_lost_connection, is_connection_error
from rum_orm.errors import explain_argument_error
from rum_orm.idle import IdleConnections
from rum_orm.urls import redact
from rum_orm.values import check_args

logger = logging.getLogger("rum.orm")

Record: TypeAlias = asyncpg.Record

_current: ContextVar[Connection | None] = ContextVar("rum_orm_connection", default=None)
_opened: ContextVar[Database | None] = ContextVar("rum_orm_database", default=None)


def executor(conn: Database | Connection | None = None) -> Database | Connection:
    """Where a query made with ``conn`` runs: ``conn`` itself; else the current transaction or
    connection; else the database of the enclosing ``Database.open()`` block; else the
    current app's storage (inside ``app.running()`` or a request)."""
    if conn is not None:
        return conn
    current = _current.get()
    if current is not None:
        return current
    db = _opened.get()
    if db is not None:
        return db
    app = current_app()
    if app is not None:
        return cast(Database, app.storage)  # the ORM's rum_storage answers with a Database
    raise BridgeClosed("no database to run the query on: pass conn=db (or a transaction), or "
                       "run it inside `async with app.running()`, a request, "
                       "`async with Database.open(url)` or `async with db.transaction()`")


@asynccontextmanager
async def transaction(conn: Database | Connection | None = None, *,
                      isolation: str | None = None,
                      readonly: bool = False) -> AsyncIterator[Connection]:
    """A transaction on ``conn`` or, by default, where model queries run (see
    :func:`executor`): ``async with transaction(): await user.save()``."""
    target = executor(conn)
    async with target.transaction(isolation=isolation, readonly=readonly) as tx:
        yield tx


class ListenerClosed(ConnectionError):
    """The connection a ``db.listen()`` iterator was reading from went away."""


class Database:
    """A pool of PostgreSQL connections, used from trio.

    ``async with Database.open(url, pool_max=4) as db:`` opens it outside an app; in an app,
    the ORM plugin opens ``app.storage`` on start-up and closes it on shutdown.

    ``pool_min``/``pool_max`` size the pool; ``statement_timeout`` (milliseconds, 0: none) is
    set on every connection; ``connect_timeout`` is in seconds; ``log_queries`` logs every query
    with its duration on the ``rum.orm`` logger, and queries slower than ``slow_query_ms`` are
    logged as warnings.

    Behind a transaction-mode pooler (PgBouncer), ``url`` is the pooler and ``direct_url`` the
    server itself: the work that needs a session of its own — ``listen()`` and
    :meth:`session` (migrations, the jobs worker's presence) — connects there.
    ``statement_cache_size`` is asyncpg's per-connection prepared-statement cache (default
    100); ``0`` makes every query use the unnamed statement, which poolers that do not track
    prepared statements (PgBouncer before 1.21) require. ``application_name`` is reported by
    every connection this object opens (``pg_stat_activity.application_name``).

    ``replica_urls`` are streaming replicas of the server: each gets a pool of its own (same
    sizes and settings), opened and closed with this one. A scope sent there with
    ``.on("replica")`` reads from one of them in turn (:meth:`reader`); with
    ``replica_reads=True`` every read-only scope outside a transaction does, unless it is
    ``.on("primary")`` or locks rows. A replica lags the primary a little: read your own
    writes from the primary.
    """

    def __init__(self, url: str, *, pool_min: int = 1, pool_max: int = 10,
                 statement_timeout: int = 0, connect_timeout: float = 10.0,
                 log_queries: bool = False, slow_query_ms: float = 0,
                 server_settings: dict[str, str] | None = None,
                 use_uvloop: bool = True, direct_url: str | None = None,
                 statement_cache_size: int | None = None,
                 application_name: str | None = None,
                 replica_urls: Sequence[str] = (), replica_reads: bool = False) -> None:
        if pool_max < 1 or pool_min < 0 or pool_min > pool_max:
            raise ValueError(f"pool size must satisfy 0 <= pool_min <= pool_max and pool_max >="
                             f" 1, got pool_min={pool_min}, pool_max={pool_max}")
        if statement_cache_size is not None and statement_cache_size < 0:
            raise ValueError(f"statement_cache_size must be 0 (no named prepared statements) "
                             f"or more, got {statement_cache_size}")
        self.url = url
        self.direct_url = direct_url or None
        self.statement_cache_size = statement_cache_size
        self.pool_min = pool_min
        self.pool_max = pool_max
        self.statement_timeout = statement_timeout
        self.connect_timeout = connect_timeout
        self.log_queries = log_queries
        self.slow_query_ms = slow_query_ms
        self.server_settings = dict(server_settings or {})
        if statement_timeout:
            self.server_settings.setdefault("statement_timeout", str(int(statement_timeout)))
        if application_name:
            # PostgreSQL keeps the first 63 bytes
            self.server_settings["application_name"] = application_name
        self.bridge = AsyncioThread(use_uvloop=use_uvloop)
        self._pool: asyncpg.Pool | None = None
        self._idle: IdleConnections | None = None
        #: One :class:`Database` per ``replica_urls`` entry (read-only queries only).
        self.replicas = [Database(replica, pool_min=pool_min, pool_max=pool_max,
                                  statement_timeout=statement_timeout,
                                  connect_timeout=connect_timeout, log_queries=log_queries,
                                  slow_query_ms=slow_query_ms,
                                  server_settings=self.server_settings, use_uvloop=use_uvloop,
                                  statement_cache_size=statement_cache_size)
                         for replica in replica_urls]
        self.replica_reads = replica_reads and bool(self.replicas)
        self._next_replica = 0

    # -- lifecycle --------------------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str, **options: Any) -> AsyncIterator[Database]:
        """``async with Database.open(url, **options) as db:`` an open database, closed after."""
        db = cls(url, **options)
        await db.start()
        token = _opened.set(db)
        try:
            yield db
        finally:
            _opened.reset(token)
            await db.close()

    @property
    def is_open(self) -> bool:
        """True between :meth:`start` and :meth:`close`."""
        return self._pool is not None

    async def start(self) -> None:
        """Start the bridge thread and open the pool (``pool_min`` connections)."""
        if self._pool is not None:
            return
        await self.bridge.start()
        try:
            self._pool = await self.bridge.run(self._create_pool)
            self._idle = IdleConnections(self._pool, size=self.pool_max)
        except BaseException:
            await self.bridge.stop()
            raise
        try:
            for replica in self.replicas:
                await replica.start()
        except BaseException:
            await self.close()
            raise

    def reader(self) -> Database:
        """Where a query for a replica goes: the next of :attr:`replicas` in turn, or this
        database when there are none."""
        if not self.replicas:
            return self
        self._next_replica = (self._next_replica + 1) % len(self.replicas)
        return self.replicas[self._next_replica]

    @property
    def session_url(self) -> str:
        """Where connections that need a whole session go: ``direct_url``, else ``url``."""
        return self.direct_url or self.url

    def _connect_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"server_settings": self.server_settings or None}
        if self.statement_cache_size is not None:
            options["statement_cache_size"] = self.statement_cache_size
        return options

    async def _create_pool(self) -> asyncpg.Pool:
        try:
            return await asyncpg.create_pool(
                self.url, min_size=self.pool_min, max_size=self.pool_max,
                timeout=self.connect_timeout, init=init_connection,
                reset=reset_pooled if self.direct_url else reset_connection,
                connection_class=PoolConnection, **self._connect_options())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise explain_connect_error(exc, self.url) from exc

    async def _connect_direct(self) -> asyncpg.Connection:
        """A connection of its own (outside the pool) on :attr:`session_url`."""
        url = self.session_url
        try:
            return await asyncpg.connect(url, timeout=self.connect_timeout,
                                         **self._connect_options())
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            raise explain_connect_error(exc, url) from exc

    async def close(self) -> None:
        """Close the pool (waiting up to 10 s for connections in use) and stop the bridge."""
        pool, self._pool = self._pool, None
        idle, self._idle = self._idle, None
        with trio.CancelScope(shield=True):
            for replica in self.replicas:
                await replica.close()
            if pool is not None:
                try:
                    await self.bridge.run(_close_pool, pool, idle)
                except Exception:
                    logger.exception("closing the PostgreSQL pool failed")
            await self.bridge.stop()

    @property
    def idle_connections(self) -> IdleConnections:
        """The clean connections parked for reuse (:mod:`rum_orm.idle`; bridge loop only).
        Code inside the ORM acquires through it, so that a parked connection is used before
        the pool is asked for another."""
        if self._idle is None:
            raise BridgeClosed("the database is not open: use `async with Database.open(url)`"
                               " or run inside `async with app.running()`")
        return self._idle

    @property
    def pool(self) -> asyncpg.Pool:
        """The asyncpg pool (lives on the bridge thread: use it only through ``bridge.run``)."""
        if self._pool is None:
            raise BridgeClosed("the database is not open: use `async with Database.open(url)`"
                               " or run inside `async with app.running()`")
        return self._pool

    def pool_stats(self) -> dict[str, int]:
        """Connections by state (``size``, ``idle``, ``in_use``, ``min_size``, ``max_size``);
        empty while the database is closed. Cheap: for metrics."""
        pool = self._pool
        if pool is None:
            return {}
        parked = len(self._idle) if self._idle is not None else 0
        size, idle = pool.get_size(), pool.get_idle_size() + parked
        return {"size": size, "idle": idle, "in_use": size - idle,
                "min_size": pool.get_min_size(), "max_size": pool.get_max_size()}

    # -- connections and transactions -----------------------------------------------------------

    def current(self) -> Connection | None:
        """The connection (or transaction) the current task is inside, for this database."""
        conn = _current.get()
        return conn if conn is not None and conn.db is self else None

    @asynccontextmanager
    async def _current_on(self, raw: Any,
                          release: Callable[[Any], Any] | None = None
                          ) -> AsyncIterator[Connection]:
        """``raw`` as the current task's :class:`Connection` for the block; then the object is
        spent, and ``release(raw)`` (if given) runs on the bridge, even when cancelled."""
        conn = Connection(self, raw)
        token = _current.set(conn)
        try:
            yield conn
        finally:
            _current.reset(token)
            conn._released = True
            if release is not None:
                with trio.CancelScope(shield=True):
                    await self.bridge.run(release, raw)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Connection]:
        """Hold one pooled connection; queries made without a connection inside use it."""
        conn = self.current()
        if conn is not None:
            yield conn
            return
        pin = self._usable_pin()
        if pin is not None:
            async with pin.lock:
                if pin.raw is None:
                    pin.raw = await self.bridge.run(self.idle_connections.acquire)
                pin.dirty = True
                async with self._current_on(pin.raw) as conn:  # the pin keeps the connection
                    yield conn
            return
        idle = self.idle_connections
        try:
            raw = await self.bridge.run(idle.acquire)
        except Exception as exc:
            if is_connection_error(exc):
                raise explain_lost_connection(exc, self.url) from exc
            raise
        async with self._current_on(raw, idle.release_used) as conn:
            yield conn

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Connection]:
        """Hold a connection whose session state lasts the whole block (``SET``, session
        advisory locks, a stable ``pg_backend_pid()``), like :meth:`connection`.

        Without ``direct_url`` it is a pooled connection. With one (the pool goes through a
        transaction-mode pooler, where a pooled connection's server changes between
        transactions) it is a connection of its own to ``direct_url``, closed after the block.
        """
        if self.direct_url is None:
            async with self.connection() as conn:
                yield conn
            return
        if self._pool is None:
            raise BridgeClosed("the database is not open: use `async with Database.open(url)`"
                               " or run inside `async with app.running()`")
        raw = await self.bridge.run(self._connect_direct)
        try:
            await self.bridge.run(init_connection, raw)
        except BaseException:
            with trio.CancelScope(shield=True):
                await self.bridge.run(_close_quietly, raw)
            raise
        async with self._current_on(raw, _close_quietly) as conn:
            yield conn

    @asynccontextmanager
    async def transaction(self, *, isolation: str | None = None,
                          readonly: bool = False) -> AsyncIterator[Connection]:
        """A transaction, committed on success and rolled back on any exception.

        Inside another transaction of this database it becomes a savepoint. ``isolation`` is
        ``"read_committed"``, ``"repeatable_read"`` or ``"serializable"``.
        """
        async with self.connection() as conn, conn.transaction(isolation=isolation,
                                                               readonly=readonly):
            yield conn

    # -- one-shot queries -------------------------------------------------------------------------

    async def execute(self, sql: str, *args: Any, stateless: bool = False) -> str:
        """Run ``sql`` (bound ``$1, $2...`` parameters); return the status (``"UPDATE 3"``).

        Like every query method here (:meth:`fetch`, :meth:`fetchrow`, :meth:`fetchval`,
        :meth:`executemany`, and a :class:`Connection`'s), the values are checked before they
        are sent: a NUL character, a lone surrogate or a ``Decimal`` beyond ``numeric``'s
        digits, and a number the driver refuses as beyond its ``bigint``, ``integer`` or
        ``smallint`` parameter, raise :class:`~rum_orm.ValueRejected` (a 422 when it escapes a
        controller) naming the column, else ``$n``, instead of a driver error.
        """
        return cast("str", await self._raw("execute", sql, args, stateless))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run ``sql`` once per row of parameters."""
        conn = self.current()
        if conn is not None:  # the transaction's connection checks them
            return await conn.executemany(sql, rows)
        rows = list(rows)
        for row in rows:
            check_args(row, None, sql, ints=False)
        try:
            return await self._run_many(self.pool.executemany, sql, rows)
        except asyncpg.DataError as exc:
            raise explain_argument_error(exc, sql) or exc from None

    async def fetch(self, sql: str, *args: Any, stateless: bool = False) -> list[Record]:
        """Every row of ``sql``."""
        return cast("list[Record]", await self._raw("fetch", sql, args, stateless))

    async def fetchrow(self, sql: str, *args: Any, stateless: bool = False) -> Record | None:
        """The first row of ``sql``, or ``None``.

        Outside a transaction each of these one-shot methods borrows a pooled connection for
        the one statement. ``stateless=True`` promises that ``sql`` changes no session state
        (no ``SET``, ``LISTEN``, session advisory lock, temporary table or held cursor, also
        not inside a function it calls): its connection is then reused without asyncpg's
        session reset, which saves a round trip. ORM queries are always stateless.
        """
        return cast("Record | None", await self._raw("fetchrow", sql, args, stateless))

    async def fetchval(self, sql: str, *args: Any, stateless: bool = False) -> Any:
        """The first column of the first row of ``sql``, or ``None``."""
        return await self._raw("fetchval", sql, args, stateless)

    async def _raw(self, method: str, sql: str, args: Sequence[Any], stateless: bool) -> Any:
        """A statement of the app's own (not the ORM's): its values checked first, and a
        value the driver refuses as out of range explained (see :meth:`execute`)."""
        check_args(args, None, sql, ints=False)
        conn = self.current()
        try:
            if conn is not None:
                return await conn._query(method, sql, args)
            return await self._oneshot(method, sql, args, orm=stateless)
        except asyncpg.DataError as exc:
            raise explain_argument_error(exc, sql) or exc from None

    async def _orm_query(self, method: str, sql: str, args: Sequence[Any]) -> Any:
        """Run a statement the ORM generated: like ``fetch``/``execute``..., but a one-shot
        query skips the session reset when its connection goes back to the pool (ORM
        statements change no session state), saving a round trip."""
        conn = self.current()
        if conn is not None:
            return await conn._query(method, sql, args)
        return await self._oneshot(method, sql, args, orm=True)

    async def _oneshot(self, method: str, sql: str, args: Sequence[Any], *, orm: bool) -> Any:
        """A statement outside any transaction: batched inside :meth:`gather`, run on the
        request's pinned connection when pinning is on (:meth:`pinned`), else on a connection
        acquired and released around it in the same bridge crossing."""
        batch = _batch.get()
        if batch is not None and batch.db is self and batch.includes_current_task():
            return await batch.submit(method, sql, args, orm)
        pin = self._usable_pin()
        if pin is None:
            return await self._run(_oneshot_on_bridge, sql, args, self.idle_connections,
                                   method, orm)
        async with pin.lock:
            if not orm:
                pin.dirty = True
            try:
                return await self._run(_pinned_query, sql, args, self.idle_connections, pin,
                                       method)
            except BaseException:
                pin.dirty = True  # e.g. cancelled mid-statement: reset it fully on release
                raise

    # -- pinning and batching -------------------------------------------------------------------

    def _usable_pin(self) -> _Pin | None:
        pin = _pin.get()
        if pin is None:
            if not _request_pins.on:  # no request was ever pinned: skip the lookup
                return None
            request = current_request()
            if request is None:
                return None
            pin = getattr(request.state, "rum_orm_pin", None)
            if pin is None:
                return None
        return pin if pin.db is self and not pin.closed else None

    @asynccontextmanager
    async def pinned(self) -> AsyncIterator[None]:
        """Inside the block, one-shot queries (model queries, ``db.fetch``...) reuse one pooled
        connection, acquired by the first query (in its own bridge crossing) and handed back
        when the block ends, also on errors and cancellation. A block that runs no query holds
        no connection. Concurrent tasks in the block take turns on it; ``db.transaction()``
        runs on it too. Nested ``pinned()`` blocks share the outer pin.
        """
        if self._usable_pin() is not None:
            yield
            return
        pin = _Pin(self)
        token = _pin.set(pin)
        try:
            yield
        finally:
            _pin.reset(token)
            pin.close()

    def pin_request(self, request: Any) -> None:
        """Pin a connection for ``request`` (the ORM plugin's ``[database] pin_requests``):
        its one-shot queries share one pooled connection, acquired by the first query and
        handed back by :meth:`unpin_request` (the response hook) or, if the request was
        cancelled before its response, when the request object is dropped."""
        _request_pins.on = True
        request.state.rum_orm_pin = _Pin(self)

    @staticmethod
    def unpin_request(request: Any) -> None:
        """Hand back the connection :meth:`pin_request` pinned for ``request``, if any."""
        state = request.state
        pin = getattr(state, "rum_orm_pin", None)
        if pin is not None:
            del state.rum_orm_pin
            pin.close()

    async def gather(self, *queries: Awaitable[Any]) -> list[Any]:
        """Await several queries together; their statements cross to asyncpg in one batch.

        ``await db.gather(World.find(1).fetch(), World.find(2).fetch(), User.filter(...).count())``
        returns their results in order. The statements run one after another on one pooled
        connection (the pinned one, if any) in a single bridge crossing, instead of one
        crossing and one pool acquire each.

        A model read (what ``fetch``, ``fetch_optional``, ``fetch_first``, ``fetch_all``,
        ``count`` and ``exists`` return, not yet awaited) joins the batch directly. Any other
        awaitable that queries this database outside a transaction runs in a task of its own:
        while every such task waits on a statement, their statements join the batch too, and
        one that queries again joins the next round. If any of them raises, the first error (in
        argument order) is raised once all have finished.

        Inside a transaction (or ``db.connection()`` block) there is one connection to run on:
        the awaitables are awaited one after another, in argument order.
        """
        if not queries:
            return []
        if self.current() is not None:
            return await _one_by_one(queries)
        batch = _Batch(self)
        results: list[Any] = [None] * len(queries)
        direct: list[tuple[int, Any, _BatchItem]] = []
        others: list[tuple[int, Awaitable[Any]]] = []
        for i, query in enumerate(queries):
            statement = getattr(type(query), "_batch_statement", None)
            if statement is not None:
                try:
                    found = statement(query, self)
                except Exception as exc:  # a value PostgreSQL could not take: never sent
                    results[i] = outcome.Error(exc)
                    continue
                if found is not None:
                    method, sql, args = found
                    item = _BatchItem(method, sql, args, True, True)
                    batch.items.append(item)
                    direct.append((i, query, item))
                    continue
            others.append((i, query))
        if others:
            await self._gather_tasks(batch, others, results)
        elif batch.items:
            await self._flush(batch)
        for i, query, item in direct:
            results[i] = outcome.capture(query._batch_result, item.result)
        return [result.unwrap() for result in results]

    async def _gather_tasks(self, batch: _Batch, others: list[tuple[int, Awaitable[Any]]],
                            results: list[Any]) -> None:
        """Await ``others`` each in its own task, flushing ``batch`` whenever every live task
        waits on a statement (or none is left); their outcomes go to ``results``."""
        async def run(i: int, query: Awaitable[Any]) -> None:
            batch.tasks.add(trio.lowlevel.current_task())
            try:
                results[i] = outcome.Value(await query)
            except Exception as exc:
                results[i] = outcome.Error(exc)
            finally:
                batch.live -= 1
                batch.check()

        async with trio.open_nursery() as nursery:
            batch.live = len(others)
            token = _batch.set(batch)  # seen by the tasks started now, not by this one after
            try:
                for i, query in others:
                    nursery.start_soon(run, i, query)
            finally:
                _batch.reset(token)
            while True:
                await batch.ready.wait()
                if not batch.items:
                    break
                await self._flush(batch)

    async def _flush(self, batch: _Batch) -> None:
        items, batch.items = batch.items, []
        batch.waiting = 0
        batch.ready = trio.Event()
        batch.check()
        pin = self._usable_pin()
        start = time.perf_counter()
        try:
            if pin is None:
                done = await self.bridge.run(_run_batch, self.idle_connections, None, items)
            else:
                async with pin.lock:
                    done = await self.bridge.run(_run_batch, self.idle_connections, pin, items)
        except BaseException as exc:
            for item in items:
                item.result = outcome.Error(exc if isinstance(exc, Exception) else
                                            BridgeClosed("the batch was cancelled"))
                if item.done is not None:
                    item.done.set()
            raise
        if self.log_queries or self.slow_query_ms:
            self._log(f"<batch of {len(items)} statements>", (), time.perf_counter() - start)
        for item, result in zip(items, done, strict=True):
            if isinstance(result, outcome.Error) and is_connection_error(result.error):
                result = outcome.Error(explain_lost_connection(result.error, self.url))
            item.result = result
            if item.done is not None:
                item.done.set()

    async def _run(self, method: Any, sql: str, args: Sequence[Any], *first: Any) -> Any:
        """``method(*first, sql, *args)`` on the bridge (``first``: ``_oneshot_on_bridge``'s
        leading arguments, whose ``args`` go as one tuple); query logging; a lost server
        explained."""
        call = (*first, sql, args) if first else (sql, *args)
        start = time.perf_counter()
        try:
            return await self.bridge.run(method, *call)
        except Exception as exc:
            if is_connection_error(exc):
                raise explain_lost_connection(exc, self.url) from exc
            raise
        finally:
            if self.log_queries or self.slow_query_ms:
                self._log(sql, args, time.perf_counter() - start)

    async def _run_many(self, method: Any, sql: str, rows: list[Any]) -> Any:
        start = time.perf_counter()
        try:
            return await self.bridge.run(method, sql, rows)
        finally:
            if self.log_queries or self.slow_query_ms:
                self._log(sql, (f"<{len(rows)} rows>",), time.perf_counter() - start)

    def _log(self, sql: str, args: Sequence[Any], seconds: float) -> None:
        ms = seconds * 1000
        shown = _args_repr(args)
        if self.slow_query_ms and ms >= self.slow_query_ms:
            logger.warning("slow query (%.1f ms, over %s ms): %s %s", ms, self.slow_query_ms,
                           sql, shown, extra={"duration_ms": round(ms, 3), "sql": sql})
        elif self.log_queries:
            logger.info("%.1f ms  %s %s", ms, sql, shown,
                        extra={"duration_ms": round(ms, 3), "sql": sql})

    # -- LISTEN / NOTIFY --------------------------------------------------------------------------

    @asynccontextmanager
    async def listen(self, channel: str, *, on_loop: Callable[[str], bool] | None = None,
                     ) -> AsyncIterator[AsyncIterator[str]]:
        """``async with db.listen("jobs") as payloads: async for payload in payloads: ...``

        Listens on a dedicated connection (outside the pool, to ``direct_url`` when set:
        a transaction-mode pooler cannot keep a ``LISTEN``). ``LISTEN`` has been issued when
        the block starts, so a ``NOTIFY`` sent after that point is delivered. Iteration raises
        :class:`ListenerClosed` if that connection is lost.

        ``on_loop(payload)``, when given, sees each notification first, on the bridge's
        asyncio thread (where asyncpg runs), before it crosses to trio: it must not block; it
        may start asyncpg work there at once (the jobs worker sends its claim from it); when
        it returns True the notification is not delivered to the iterator. An exception it
        raises is logged and the notification delivered.
        """
        send, receive = trio.open_memory_channel[Any](math.inf)
        token = trio.lowlevel.current_trio_token()

        def deliver(item: Any) -> None:  # on the trio thread
            try:
                send.send_nowait(item)
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                pass

        def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            if on_loop is not None:
                try:
                    if on_loop(payload):
                        return
                except Exception:
                    logger.exception("db.listen(%r): on_loop failed on %r", channel, payload)
            try:
                token.run_sync_soon(deliver, payload)
            except trio.RunFinishedError:
                pass

        def on_terminate(_conn: Any) -> None:
            try:
                token.run_sync_soon(deliver, _LOST)
            except trio.RunFinishedError:
                pass

        async def connect() -> asyncpg.Connection:
            raw = await self._connect_direct()
            raw.add_termination_listener(on_terminate)
            await raw.add_listener(channel, on_notify)
            return raw

        if self._pool is None:
            raise BridgeClosed("the database is not open: use `async with Database.open(url)` "
                               "or run inside `async with app.running()`")
        raw = await self.bridge.run(connect)
        try:
            async with receive:
                yield _Notifications(receive, channel)
        finally:
            with trio.CancelScope(shield=True):
                try:
                    await self.bridge.run(_close_quietly, raw)
                finally:
                    send.close()

    async def notify(self, channel: str, payload: str = "") -> None:
        """``NOTIFY channel, payload`` (inside the current transaction, if any)."""
        await self.execute("SELECT pg_notify($1, $2)", channel, payload)

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        direct = f" direct={redact(self.direct_url)}" if self.direct_url else ""
        return (f"<Database {redact(self.url)}{direct} {state} "
                f"pool={self.pool_min}..{self.pool_max}>")


_LOST = object()


class _Notifications:
    """The async iterator ``db.listen()`` yields: NOTIFY payloads as strings."""

    def __init__(self, receive: trio.MemoryReceiveChannel[Any], channel: str) -> None:
        self._receive = receive
        self.channel = channel

    def __aiter__(self) -> _Notifications:
        return self

    async def __anext__(self) -> str:
        try:
            item = await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None
        if item is _LOST:
            raise ListenerClosed(f"the connection listening on channel {self.channel!r} was "
                                 "lost; open a new db.listen() to resume")
        return item


class Connection:
    """One pooled connection held by a trio task (what ``db.connection()`` and
    ``db.transaction()`` yield). Its query methods mirror :class:`Database`'s."""

    __slots__ = ("_released", "db", "raw")

    def __init__(self, db: Database, raw: asyncpg.Connection) -> None:
        self.db = db
        self.raw = raw
        self._released = False

    @property
    def in_transaction(self) -> bool:
        """True inside ``transaction()``."""
        return self.raw.is_in_transaction()

    def _check(self) -> None:
        if self._released:
            raise RuntimeError("this connection was released back to the pool when its "
                               "`async with db.connection()/transaction()` block ended")

    async def execute(self, sql: str, *args: Any) -> str:
        """Run ``sql``; return the status string (values checked as
        :meth:`Database.execute` says)."""
        return cast("str", await self._raw("execute", sql, args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run ``sql`` once per row of parameters."""
        rows = list(rows)
        for row in rows:
            check_args(row, None, sql, ints=False)
        try:
            return await self._query_many(sql, rows)
        except asyncpg.DataError as exc:
            raise explain_argument_error(exc, sql) or exc from None

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        """Every row of ``sql``."""
        return cast("list[Record]", await self._raw("fetch", sql, args))

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        """The first row of ``sql``, or ``None``."""
        return cast("Record | None", await self._raw("fetchrow", sql, args))

    async def fetchval(self, sql: str, *args: Any) -> Any:
        """The first column of the first row, or ``None``."""
        return await self._raw("fetchval", sql, args)

    async def _raw(self, method: str, sql: str, args: Sequence[Any]) -> Any:
        check_args(args, None, sql, ints=False)
        try:
            return await self._query(method, sql, args)
        except asyncpg.DataError as exc:
            raise explain_argument_error(exc, sql) or exc from None

    async def _query(self, method: str, sql: str, args: Sequence[Any]) -> Any:
        """``method`` (``"fetch"``...) of the asyncpg connection, unchecked (the ORM's path:
        its statements' values were checked when they were built)."""
        self._check()
        return await self.db._run(getattr(self.raw, method), sql, args)

    async def _query_many(self, sql: str, rows: list[Any]) -> None:
        self._check()
        return await self.db._run_many(self.raw.executemany, sql, rows)  # type: ignore[no-any-return]

    @asynccontextmanager
    async def transaction(self, *, isolation: str | None = None,
                          readonly: bool = False) -> AsyncIterator[Connection]:
        """A transaction (a savepoint when one is already open) on this connection."""
        self._check()
        bridge = self.db.bridge
        tx = self.raw.transaction(isolation=isolation, readonly=readonly)
        await bridge.run(tx.start)
        token = _current.set(self)
        try:
            yield self
        except BaseException:
            _current.reset(token)
            with trio.CancelScope(shield=True):
                try:
                    await bridge.run(tx.rollback)
                except Exception:
                    logger.warning("rolling back a transaction failed (the connection will "
                                   "be reset when released)", exc_info=True)
            raise
        else:
            _current.reset(token)
            await bridge.run(tx.commit)

    def cursor(self, sql: str, *args: Any, batch: int = 100) -> AsyncIterator[Record]:
        """Iterate over the rows of ``sql`` with a server-side cursor, ``batch`` rows per trip.

        Needs an open transaction on this connection (PostgreSQL cursors live in one).
        """
        self._check()
        if not self.in_transaction:
            raise RuntimeError("a server-side cursor needs a transaction: wrap the loop in "
                               "`async with db.transaction():`")
        return _Cursor(self, sql, args, batch)

    def __repr__(self) -> str:
        return f"<Connection of {self.db!r}{' in transaction' if self.in_transaction else ''}>"


class _Cursor:
    """Rows of a server-side cursor, fetched ``batch`` at a time across the bridge."""

    def __init__(self, conn: Connection, sql: str, args: tuple[Any, ...], batch: int) -> None:
        self._conn = conn
        self._sql = sql
        self._args = args
        self._batch = max(1, batch)
        self._cursor: Any = None
        self._rows: list[Record] = []
        self._done = False

    def __aiter__(self) -> _Cursor:
        return self

    async def __anext__(self) -> Record:
        if not self._rows:
            if self._done:
                raise StopAsyncIteration
            db = self._conn.db
            if self._cursor is None:
                start = time.perf_counter()
                self._cursor = await db.bridge.run(_open_cursor, self._conn.raw, self._sql,
                                                   self._args)
                if db.log_queries or db.slow_query_ms:
                    db._log(f"DECLARE CURSOR FOR {self._sql}", self._args,
                            time.perf_counter() - start)
            self._rows = list(await db.bridge.run(self._cursor.fetch, self._batch))
            if len(self._rows) < self._batch:
                self._done = True
            if not self._rows:
                raise StopAsyncIteration
            self._rows.reverse()
        return self._rows.pop()


class PoolConnection(asyncpg.Connection):
    """asyncpg's connection plus a flag: "only ORM statements ran since acquire"."""

    __slots__ = ("_rum_clean",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rum_clean = False

    def _rum_mark_clean(self) -> None:
        self._rum_clean = True


async def reset_connection(raw: PoolConnection) -> None:
    """The pool's reset on release: asyncpg's full session reset, skipped after a one-shot
    ORM statement (which cannot have changed session state)."""
    if raw._rum_clean:
        raw._rum_clean = False
        return
    query = raw.get_reset_query()
    if query:
        await raw.execute(query)


async def reset_pooled(raw: PoolConnection) -> None:
    """The reset on release behind a transaction-mode pooler (``direct_url`` set): only an
    open transaction is rolled back. Session state does not outlive a transaction there, and
    asyncpg's ``RESET ALL`` would reset whichever server session the pooler attached —
    including the ``application_name`` the pooler set for this client."""
    raw._rum_clean = False
    if raw.is_in_transaction():
        await raw.execute("ROLLBACK")


_pin: ContextVar[_Pin | None] = ContextVar("rum_orm_pin", default=None)
_batch: ContextVar[_Batch | None] = ContextVar("rum_orm_batch", default=None)
_releasing: set[asyncio.Task[Any]] = set()  # release tasks on the bridge loop, kept alive


class _RequestPins:
    """Whether any request was pinned in this process (``[database] pin_requests``)."""

    on = False


_request_pins = _RequestPins()


class _Pin:
    """One pooled connection a block or a request reuses for its one-shot queries.

    ``raw`` is set on the bridge loop by the first query and read only under ``lock``;
    ``dirty`` means a statement that may change session state ran (full reset on release).
    """

    __slots__ = ("__weakref__", "closed", "db", "dirty", "lock", "raw")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.raw: PoolConnection | None = None
        self.lock = trio.Lock()
        self.closed = False
        self.dirty = False

    def close(self) -> None:
        """Stop using the pin and hand its connection back (without waiting: the release is
        scheduled on the bridge loop, so it also happens under cancellation). A query still
        running on it finishes first: the loop runs the release after it."""
        if self.closed:
            return
        self.closed = True
        raw, self.raw = self.raw, None
        if raw is not None:
            idle = self.db._idle
            if idle is not None:
                self.db.bridge.run_sync(_release_soon, idle, raw, not self.dirty)

    def __del__(self) -> None:  # a cancelled request never reached its response hook
        if not self.closed and self.raw is not None:
            try:
                self.close()
            except Exception:
                pass


def _release_soon(idle: IdleConnections, raw: PoolConnection, clean: bool) -> None:
    async def release() -> None:
        await idle.release(raw, clean=clean)

    task = asyncio.get_running_loop().create_task(release())
    _releasing.add(task)
    task.add_done_callback(_releasing.discard)


async def _pinned_query(idle: IdleConnections, pin: _Pin, method: str, sql: str,
                        args: Sequence[Any]) -> Any:
    raw = pin.raw
    if raw is None:
        raw = pin.raw = await idle.acquire()
    return await getattr(raw, method)(sql, *args)


async def _one_by_one(queries: Sequence[Awaitable[Any]]) -> list[Any]:
    """Await each of ``queries`` in turn; raise the first error once all have run."""
    results: list[outcome.Outcome[Any]] = []
    for query in queries:
        try:
            results.append(outcome.Value(await query))
        except Exception as exc:
            results.append(outcome.Error(exc))
    return [result.unwrap() for result in results]


class _BatchItem:
    __slots__ = ("args", "done", "method", "orm", "result", "rows", "sql")

    def __init__(self, method: str, sql: str, args: Sequence[Any], orm: bool,
                 rows: bool = False) -> None:
        self.method = method
        self.sql = sql
        self.args = args
        self.orm = orm
        self.rows = rows  # a model read's SELECT (fetch/fetchrow/fetchval): see _pipelined
        self.done: trio.Event | None = None  # set by the task waiting on it, if any
        self.result: outcome.Outcome[Any] | None = None


class _Batch:
    """The statements of one :meth:`Database.gather` waiting for the next crossing."""

    __slots__ = ("db", "items", "live", "ready", "tasks", "waiting")

    def __init__(self, db: Database) -> None:
        self.db = db
        self.items: list[_BatchItem] = []  # for the next crossing
        self.tasks: set[Any] = set()
        self.live = 0  # tasks still running
        self.waiting = 0  # of them, those waiting on one of ``items``
        self.ready = trio.Event()

    def includes_current_task(self) -> bool:
        return trio.lowlevel.current_task() in self.tasks

    def check(self) -> None:
        """Flush when every live task waits on a statement (or none is left)."""
        if self.waiting >= self.live:
            self.ready.set()

    async def submit(self, method: str, sql: str, args: Sequence[Any], orm: bool) -> Any:
        item = _BatchItem(method, sql, args, orm)
        done = item.done = trio.Event()
        self.items.append(item)
        self.waiting += 1
        self.check()
        await done.wait()
        assert item.result is not None
        return item.result.unwrap()


async def _run_batch(idle: IdleConnections, pin: _Pin | None,
                     items: list[_BatchItem]) -> list[outcome.Outcome[Any]]:
    """Every statement of ``items`` on one connection; one outcome each, in order.

    Model reads that share one ``SELECT`` (``item.rows``) go as one pipelined round trip
    (:func:`_pipelined`); the others run one after another."""
    results: list[outcome.Outcome[Any] | None] = [None] * len(items)

    async def run_all(raw: PoolConnection) -> None:
        same: dict[str, list[int]] = {}
        for k, item in enumerate(items):
            if item.rows:
                same.setdefault(f"{item.method} {item.sql}", []).append(k)
        for ks in same.values():
            if len(ks) > 1:
                await _pipelined(raw, items, ks, results)
        for k, item in enumerate(items):
            if results[k] is None:
                try:
                    results[k] = outcome.Value(await getattr(raw, item.method)(item.sql,
                                                                               *item.args))
                except Exception as exc:
                    results[k] = outcome.Error(exc)

    if pin is not None:
        if pin.raw is None:
            pin.raw = await idle.acquire()
        if not all(item.orm for item in items):
            pin.dirty = True
        await run_all(pin.raw)
        return cast(list[outcome.Outcome[Any]], results)  # run_all filled every slot
    raw = await idle.acquire()
    try:
        await run_all(raw)
    except BaseException:
        await idle.release(raw, clean=False)
        raise
    await idle.release(raw, clean=all(item.orm for item in items))
    return cast(list[outcome.Outcome[Any]], results)


_BATCH_INDEX = '"__rum_batch_i"'


async def _pipelined(raw: PoolConnection, items: list[_BatchItem], ks: list[int],
                     results: list[outcome.Outcome[Any] | None]) -> None:
    """Run the model reads ``items[k]`` (for ``k`` in ``ks``; one ``SELECT``, each its own
    arguments) in one round trip: asyncpg's ``fetchmany`` sends every execution before reading
    any answer. Each row carries its statement's index as an extra first column, taken off
    again, so every read gets its own rows (as dicts, in their order; for ``fetchrow`` the first
    or ``None``, for ``fetchval`` its first value). If the round trip fails (one statement's
    error aborts them all) the reads are left to run one by one, as is a statement that is not
    a plain ``SELECT``."""
    first = items[ks[0]]
    if not first.sql.startswith("SELECT "):
        return
    head = "SELECT DISTINCT " if first.sql.startswith("SELECT DISTINCT ") else "SELECT "
    sql = f"{head}${len(first.args) + 1}::int4 AS {_BATCH_INDEX}, {first.sql[len(head):]}"
    try:
        rows = await raw.fetchmany(sql, [(*items[k].args, k) for k in ks])
    except Exception:
        return
    found: dict[int, list[dict[str, Any]]] = {k: [] for k in ks}
    for row in rows:
        values = row.items()
        next(values)
        found[row[0]].append(dict(values))
    method = first.method
    for k in ks:
        mine = found[k]
        if method == "fetch":
            results[k] = outcome.Value(mine)
        elif not mine:
            results[k] = outcome.Value(None)
        else:
            results[k] = outcome.Value(mine[0] if method == "fetchrow" else
                                       next(iter(mine[0].values())))


async def _oneshot_on_bridge(idle: IdleConnections, method: str, clean: bool, sql: str,
                             args: Sequence[Any]) -> Any:
    """One statement on a borrowed connection (on the bridge loop). A ``clean`` statement
    (one that changes no session state) parks its connection for the next one, also after a
    server-side error, which leaves the connection idle; anything else (a lost connection,
    cancellation) sends it back to the pool with a full reset."""
    raw = await idle.acquire()
    try:
        result = await getattr(raw, method)(sql, *args)
    except asyncpg.PostgresError:
        await idle.release(raw, clean=clean)
        raise
    except BaseException:
        await idle.release(raw, clean=False)
        raise
    await idle.release(raw, clean=clean)
    return result


async def init_connection(raw: asyncpg.Connection) -> None:
    """Per-connection set-up: ``json``/``jsonb`` values are Python dicts/lists both ways."""
    for type_name in ("json", "jsonb"):
        await raw.set_type_codec(type_name, schema="pg_catalog", encoder=jsonutil.dumps,
                                 decoder=jsonutil.loads, format="text")


async def _open_cursor(raw: asyncpg.Connection, sql: str, args: tuple[Any, ...]) -> Any:
    return await raw.cursor(sql, *args)


async def _close_pool(pool: asyncpg.Pool, idle: IdleConnections | None) -> None:
    if idle is not None:
        await idle.close()
    try:
        await asyncio.wait_for(pool.close(), 10)
    except TimeoutError:
        logger.warning("connections still in use after 10 s; terminating them")
        pool.terminate()


async def _close_quietly(raw: asyncpg.Connection) -> None:
    try:
        await raw.close(timeout=5)
    except Exception:
        raw.terminate()


def _args_repr(args: Sequence[Any]) -> str:
    if not args:
        return ""
    text = repr(list(args))
    return text if len(text) <= 300 else text[:297] + "..."
