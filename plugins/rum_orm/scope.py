"""``Scope``: an immutable, chainable query on a model, and its terminal (async) methods."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import asyncpg
import outcome
import trio

from rum_orm.bridge import BridgeClosed
from rum_orm.database import Connection, Database, executor
from rum_orm.errors import ModelDefinitionError, MultipleFound, NotFound, translate
from rum_orm.sql import (
    DIRECTIONS,
    AnyOf,
    Column,
    Compare,
    Condition,
    Params,
    count_from_status,
    direction,
    order_term,
)
from rum_orm.sql import quote as q
from rum_orm.values import INT64_MAX, ValueRejected, check_args


class Queryable(Protocol):
    """What a scope needs of its model class; :class:`~rum_orm.Model` subclasses meet it
    (so the query builder and the models do not import each other)."""

    __table__: ClassVar[str]
    __quoted__: ClassVar[str]
    __primary_key__: ClassVar[str]
    __fields__: ClassVar[dict[str, Any]]
    __columns__: ClassVar[dict[str, str]]

    @classmethod
    def _from_record(cls: type[Q], record: Any) -> Q:
        """A model instance holding one row."""

    @classmethod
    def _from_records(cls: type[Q], records: Iterable[Any]) -> list[Q]:
        """Model instances of every row."""

    @classmethod
    def _related(cls, other: Any) -> Any:
        """The model class ``other`` (a class or a name) names, for a join."""

    @staticmethod
    def _join_from(sources: Sequence[Any], target: Any) -> Join:
        """How to join ``target`` to the first of ``sources`` it is related to."""


Q = TypeVar("Q", bound=Queryable)
M = TypeVar("M", bound=Queryable)
T = TypeVar("T")

#: The SELECT of one-filter scopes by (model, column, operator, limit): see
#: ``Scope._select_limited``. Cleared when full (column names come from code).
_ONE_COMPARE_SQL: dict[tuple[Any, str, str, int], str] = {}
_ONE_COMPARE_ENTRIES = 4096
Conn = Database | Connection | None


@dataclass(frozen=True)
class Join:
    """``INNER JOIN target ON target.left = source.right`` (columns already qualified)."""

    target: Any
    source: Any
    on_left: Column
    on_right: Column

    def sql(self) -> str:
        """The ``INNER JOIN ... ON ...`` clause."""
        return (f"INNER JOIN {q(self.target.__table__)} ON {self.on_left.to_sql()} = "
                f"{self.on_right.to_sql()}")


async def run_query(model: Any, conn: Conn, method: str, sql: str, args: list[Any], *,
                    orm: bool = True, on: str | None = "primary") -> Any:
    """Run ``<where>.<method>(sql, *args)`` where model queries run (see
    :func:`~rum_orm.database.executor`); PostgreSQL errors come back naming ``model``.

    ``orm=True`` marks a statement the ORM generated (it never changes session state), which
    lets a one-shot query skip the connection reset on release.

    Every value in ``args`` is checked first (:func:`~rum_orm.values.check_args`): one that
    PostgreSQL could not take raises :class:`~rum_orm.values.ValueRejected` naming the column.

    ``on`` is where a read-only statement may go when it runs on the database itself (not in
    a transaction or on a given connection): ``"replica"`` (one of ``[database]
    replica_urls``), ``None`` (a replica when ``[database] replica_reads`` is on), or
    ``"primary"``.
    """
    check_args(args, model, sql)
    target = executor(conn)
    if type(target) is Database and target.replicas and (
            on == "replica" or (on is None and target.replica_reads)):
        target = target.reader()
    try:
        if orm and type(target) is Database:
            return await target._orm_query(method, sql, args)
        return await getattr(target, method)(sql, *args)
    except asyncpg.PostgresError as exc:
        new = translate(exc, model, sql)
        if new is exc:
            raise
        raise new from exc


def _current_database(default: Database) -> Database | Connection:
    """Where a read naming no connection runs (:func:`executor`), ``default`` if nowhere."""
    try:
        return executor(None)
    except BridgeClosed:
        return default


def _same(value: T) -> T:
    return value


class Read(Generic[T]):
    """A read a scope's terminal method built (``fetch``, ``fetch_all``, ``count``...): it runs
    when awaited, ``await User.find(1).fetch()``.

    Its SQL and parameters are built when the terminal method is called; the statement runs
    where :func:`run_query` puts it. Handed to :meth:`~rum_orm.Database.gather` with others,
    it joins that call's batch directly (one bridge crossing for all, no trio task each).
    """

    __slots__ = ("args", "conn", "finish", "method", "model", "on", "sql")

    def __init__(self, model: Any, conn: Conn, method: str, sql: str, args: list[Any],
                 on: str | None, finish: Callable[[Any], T]) -> None:
        self.model = model
        self.conn = conn
        self.method = method
        self.sql = sql
        self.args = args
        self.on = on
        self.finish = finish

    def __await__(self) -> Generator[Any, None, T]:
        return self._run().__await__()

    async def _run(self) -> T:
        return self.finish(await run_query(self.model, self.conn, self.method, self.sql,
                                           self.args, on=self.on))

    def _batch_statement(self, db: Database) -> tuple[str, str, list[Any]] | None:
        """``(method, sql, args)`` to run in ``db.gather``'s batch, or ``None`` when this read
        must run on its own: it names a connection, a transaction is open, another database
        is current (with none, ``db`` is), or it may go to a replica. A value PostgreSQL could
        not take raises :class:`~rum_orm.values.ValueRejected` here, before anything is
        sent."""
        if self.conn is not None or _current_database(db) is not db or (
                db.replicas and (self.on == "replica" or (self.on is None and db.replica_reads))):
            return None
        check_args(self.args, self.model, self.sql)
        return self.method, self.sql, self.args

    def _batch_result(self, result: outcome.Outcome[Any]) -> T:
        """This read's value from its statement's ``result`` in a batch (errors named as
        :func:`run_query` names them)."""
        try:
            value = result.unwrap()
        except asyncpg.PostgresError as exc:
            new = translate(exc, self.model, self.sql)
            if new is exc:
                raise
            raise new from exc
        return self.finish(value)

    def __repr__(self) -> str:
        return f"<Read {self.method} {self.sql} {self.args!r}>"

    # A read used as if it were its result: the ``await`` was forgotten. Say so. (Hidden from
    # type checkers, which already flag such a use.)

    def _not_awaited(self, what: str) -> str:
        name = getattr(self.model, "__name__", "Model")
        return (f"{what}: this is a query on {name} that has not run; put `await` in front of "
                f"it (`await {name}.find(1).fetch()`, not `{name}.find(1).fetch()`)")

    if not TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any:
            if name.startswith("__"):
                raise AttributeError(name)
            raise AttributeError(self._not_awaited(f"a Read has no attribute {name!r}"))

        def __bool__(self) -> bool:
            raise TypeError(self._not_awaited("a Read is neither true nor false"))


class Scope(Generic[M]):
    """A query on ``model``: every method returns a new scope; nothing runs until a terminal
    method (``fetch``, ``fetch_optional``, ``fetch_all``, ``count``, ``exists``, ``explain``,
    ``update_all``, ``delete_all``, ``async for``) is awaited.

    Scopes are immutable values (their attributes are never changed after construction).
    """

    __slots__ = ("conditions", "distinct_", "joins", "limit_", "lock_", "model", "offset_",
                 "on_", "orders")

    def __init__(self, model: type[M], conditions: tuple[Condition, ...] = (),
                 joins: tuple[Join, ...] = (), orders: tuple[tuple[Any, str], ...] = (),
                 limit_: int | None = None, offset_: int | None = None,
                 lock_: str | None = None, distinct_: bool = False,
                 on_: str | None = None) -> None:
        self.model = model
        self.conditions = conditions
        self.joins = joins
        self.orders = orders
        self.limit_ = limit_
        self.offset_ = offset_
        self.lock_ = lock_
        self.distinct_ = distinct_
        self.on_ = on_

    def _replace(self, **changes: Any) -> Scope[M]:
        c = changes.get
        return Scope(self.model, c("conditions", self.conditions), c("joins", self.joins),
                     c("orders", self.orders), c("limit_", self.limit_),
                     c("offset_", self.offset_), c("lock_", self.lock_),
                     c("distinct_", self.distinct_), c("on_", self.on_))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scope):
            return NotImplemented
        return self.to_sql() == other.to_sql() and self.params == other.params

    __hash__ = None  # type: ignore[assignment]

    # -- building ----------------------------------------------------------------------------------

    def _where(self, *conditions: Condition) -> Scope[M]:
        return Scope(self.model, self.conditions + conditions, self.joins, self.orders,
                     self.limit_, self.offset_, self.lock_, self.distinct_, self.on_)

    @staticmethod
    def _pairs(op: str, args: tuple[Any, ...], kwargs: Mapping[str, Any],
               method: str) -> list[Condition]:
        if args:
            if len(args) != 2:
                raise TypeError(f"{method}() takes (column, value) or column=value keywords, "
                                f"got {len(args)} positional arguments")
            return [Compare(args[0], op, args[1]), *(Compare(k, op, v)
                                                     for k, v in kwargs.items())]
        if not kwargs:
            raise TypeError(f"{method}() needs (column, value) or column=value keywords")
        return [Compare(k, op, v) for k, v in kwargs.items()]

    def filter(self, *args: Any, **kwargs: Any) -> Scope[M]:
        """``= value`` (``IS NULL`` for ``None``, ``IN`` for a list):
        ``filter(admin=True)`` or ``filter("admin", True)`` or ``filter(Order.column("id"), 3)``.
        """
        return self._where(*self._pairs("=", args, kwargs, "filter"))

    where = filter

    def filter_lt(self, *args: Any, **kwargs: Any) -> Scope[M]:
        """``column < value``."""
        return self._where(*self._pairs("<", args, kwargs, "filter_lt"))

    def filter_gt(self, *args: Any, **kwargs: Any) -> Scope[M]:
        """``column > value``."""
        return self._where(*self._pairs(">", args, kwargs, "filter_gt"))

    def filter_lte(self, *args: Any, **kwargs: Any) -> Scope[M]:
        """``column <= value``."""
        return self._where(*self._pairs("<=", args, kwargs, "filter_lte"))

    def filter_gte(self, *args: Any, **kwargs: Any) -> Scope[M]:
        """``column >= value``."""
        return self._where(*self._pairs(">=", args, kwargs, "filter_gte"))

    def not_(self, *args: Any, **kwargs: Any) -> Scope[M]:
        """``!= value`` (``IS NOT NULL`` for ``None``, ``NOT IN`` for a list)."""
        return self._where(*self._pairs("!=", args, kwargs, "not_"))

    filter_not = not_

    def or_(self, *alternatives: Scope[Any] | Mapping[str, Any]) -> Scope[M]:
        """Match any of ``alternatives``: each a scope (its filters ANDed) or a dict of
        equalities. ``User.all().or_({"admin": True}, User.filter_gt("karma", 100))``."""
        if not alternatives:
            raise TypeError("or_() needs at least one alternative")
        groups: list[list[Condition]] = []
        for alt in alternatives:
            if isinstance(alt, Scope):
                groups.append(list(alt.conditions))
            elif isinstance(alt, Mapping):
                groups.append([Compare(k, "=", v) for k, v in alt.items()])
            else:
                raise TypeError(f"or_() takes scopes or dicts, got {alt!r}")
        return self._where(AnyOf(groups))

    def order(self, *items: Any) -> Scope[M]:
        """``ORDER BY``: ``order("id")``, ``order("-id")`` / ``order("id desc")`` (``id DESC``),
        ``order(("total", "DESC"))``, ``order((User.column("created_at"), "desc"), "id")`` or
        ``order("created_at", "DESC")``.

        A string names a column (``column`` or ``table.column``), optionally prefixed by ``-``
        or followed by a direction (``ASC``/``DESC``, ``NULLS FIRST``/``NULLS LAST``); any other
        string raises :class:`ValueError`. An unknown column fails when the query runs, with
        :class:`~rum_orm.UnknownColumn` suggesting the closest.
        """
        if len(items) == 2 and isinstance(items[1], str) and " ".join(
                items[1].upper().split()) in DIRECTIONS:
            items = ((items[0], items[1]),)
        orders = list(self.orders)
        for item in items:
            if isinstance(item, tuple):
                if len(item) != 2:
                    raise TypeError(f"order() takes (column, direction) tuples, got {item!r}")
                column, dir_ = item
                dir_ = direction(dir_)
                if isinstance(column, str):
                    name, own = order_term(column)
                    if own:
                        raise ValueError(f"order({item!r}): give the direction once, as "
                                         f"({name!r}, {dir_!r})")
                    column = name
                orders.append((column, dir_))
            elif isinstance(item, Column):
                orders.append((item, ""))
            else:
                orders.append(order_term(item))
        return self._replace(orders=tuple(orders))

    def limit(self, n: int) -> Scope[M]:
        """``LIMIT n``."""
        return self._replace(limit_=_non_negative(n, "limit"))

    def offset(self, n: int) -> Scope[M]:
        """``OFFSET n``."""
        return self._replace(offset_=_non_negative(n, "offset"))

    def distinct(self) -> Scope[M]:
        """``SELECT DISTINCT`` (useful after joining a has-many relation)."""
        return self._replace(distinct_=True)

    def lock(self, *, skip_locked: bool = False, nowait: bool = False) -> Scope[M]:
        """``FOR UPDATE`` (of this model's rows), optionally ``SKIP LOCKED`` or ``NOWAIT``.

        Use it inside a transaction: the lock lasts until the transaction ends.
        """
        if skip_locked and nowait:
            raise ValueError("lock(): choose skip_locked or nowait, not both")
        suffix = " SKIP LOCKED" if skip_locked else " NOWAIT" if nowait else ""
        return self._replace(lock_=suffix)

    def on(self, server: str) -> Scope[M]:
        """Where this scope's reads run: ``"replica"`` (one of ``[database] replica_urls``, in
        turn; the primary when none is configured) or ``"primary"`` (even when ``[database]
        replica_reads`` sends reads to replicas).

        Inside a transaction, or with ``conn=`` given, a scope runs there whatever ``on``
        says; writes (``update_all``, ``delete_all``) and locking reads always run on the
        primary. A replica lags the primary: read what you have just written from the primary.
        """
        if server not in ("primary", "replica"):
            raise ValueError(f'on({server!r}): use "primary" or "replica"')
        return self._replace(on_=server)

    def _reads_on(self) -> str | None:
        """The ``on`` of :func:`run_query` for this scope's reads."""
        return "primary" if self.lock_ is not None else self.on_

    def join(self, other: type[Queryable] | str) -> Scope[M]:
        """``INNER JOIN`` a model related (``has_many``/``belongs_to``) to this scope's model
        or to one already joined."""
        target = self.model._related(other)
        if any(j.target is target for j in self.joins) or target is self.model:
            return self
        sources = [self.model, *(j.target for j in self.joins)]
        return self._replace(joins=(*self.joins, self.model._join_from(sources, target)))

    def join_nested(self, scope: Scope[Any]) -> Scope[M]:
        """Add ``scope``'s joins and filters:
        ``User.all().join(Order).join_nested(Order.join(Product))``."""
        tables = {self.model, *(j.target for j in self.joins)}
        if scope.model not in tables:
            raise ModelDefinitionError(
                f"join_nested({scope.model.__name__}.join(...)): join "
                f"{scope.model.__name__} first, e.g. .join({scope.model.__name__})")
        joins = list(self.joins)
        for j in scope.joins:
            if j.target is not self.model and all(x.target is not j.target for x in joins):
                joins.append(j)
        return self._replace(joins=tuple(joins), conditions=self.conditions + scope.conditions)

    # -- SQL ------------------------------------------------------------------------------------

    def _resolve(self, column: Any) -> str:
        if isinstance(column, Column):
            return column.to_sql()
        if not isinstance(column, str):
            raise TypeError(f"a column must be a name or Model.column(name), got {column!r}")
        model = self.model
        if column in model.__fields__:
            return model.__columns__[column]
        if self.joins:
            table, dot, name = column.partition(".")
            if dot:
                for m in (model, *(j.target for j in self.joins)):
                    if m.__table__ == table:
                        return Column(table, name).to_sql()
            for j in self.joins:
                if column in j.target.__fields__:
                    return j.target.__columns__[column]
        return Column(model.__table__, column).to_sql()

    def _where_sql(self, params: Params) -> str:
        if not self.conditions:
            return ""
        resolve = self._resolve
        return " WHERE " + " AND ".join(c.render(resolve, params) for c in self.conditions)

    def _select(self, params: Params, *, columns: str | None = None, limit: int | None = None,
                ordered: bool = True, locked: bool = True) -> str:
        table = self.model.__quoted__
        if columns is None:
            columns = f"{table}.*" if self.joins else "*"
        sql = ["SELECT DISTINCT " if self.distinct_ else "SELECT ", columns, " FROM ", table]
        for j in self.joins:
            sql.append(" " + j.sql())
        sql.append(self._where_sql(params))
        if ordered and self.orders:
            resolve = self._resolve
            sql.append(" ORDER BY " + ", ".join(
                f"{resolve(c)} {d}" if d else resolve(c) for c, d in self.orders))
        n = self.limit_ if self.limit_ is not None else limit
        if n is not None:
            sql.append(f" LIMIT {n}")
        if self.offset_:
            sql.append(f" OFFSET {self.offset_}")
        if locked and self.lock_ is not None:
            sql.append(f" FOR UPDATE OF {table}{self.lock_}" if self.joins
                       else f" FOR UPDATE{self.lock_}")
        return "".join(sql)

    def to_sql(self) -> str:
        """The ``SELECT`` this scope runs, with ``$n`` placeholders (see :attr:`params`)."""
        return self._select(Params())

    @property
    def params(self) -> list[Any]:
        """The values bound to :meth:`to_sql`'s placeholders, in order."""
        params = Params()
        self._select(params)
        return params.values

    def describe(self) -> str:
        """The filters in words, for messages (``email = 'a@b.c' AND admin = True``)."""
        return " AND ".join(c.describe() for c in self.conditions) or "(no filter)"

    def __repr__(self) -> str:
        return f"<Scope {self.to_sql()} {self.params!r}>"

    # -- terminal methods --------------------------------------------------------------------------

    def fetch_all(self, conn: Conn = None) -> Read[list[M]]:
        """Every matching record."""
        params = Params()
        sql = self._select(params)
        return Read(self.model, conn, "fetch", sql, params.values, self._reads_on(),
                    self.model._from_records)

    def _upto_two(self, conn: Conn,
                  finish: Callable[[Scope[M], str, list[Any], list[Any]], T]) -> Read[T]:
        """A read of at most two rows (to tell one match from several), then ``finish``."""
        sql, values = self._select_limited(2)
        return Read(self.model, conn, "fetch", sql, values, self._reads_on(),
                    partial(finish, self, sql, values))

    def _select_limited(self, limit: int) -> tuple[str, list[Any]]:
        """``(sql, values)`` of this scope's ``SELECT`` with ``limit``. A scope of one
        ``column <op> value`` filter and nothing else (what ``find(pk)`` and
        ``filter(email=...)`` build) takes its SQL from a cache: it depends only on the model,
        the column, the operator and ``limit``."""
        conditions = self.conditions
        if len(conditions) == 1 and not (
                self.joins or self.orders or self.limit_ is not None or self.offset_
                or self.lock_ is not None or self.distinct_):
            condition = conditions[0]
            # None: IS NULL; a list: ANY(...); a Column key may name a joined table
            if type(condition) is Compare and condition.value is not None \
                    and not isinstance(condition.value, list) and type(condition.column) is str:
                value = condition.value
                key = (self.model, condition.column, condition.op, limit)
                sql = _ONE_COMPARE_SQL.get(key)
                if sql is None:
                    sql = self._select(Params(), limit=limit)
                    if len(_ONE_COMPARE_SQL) >= _ONE_COMPARE_ENTRIES:
                        _ONE_COMPARE_SQL.clear()
                    _ONE_COMPARE_SQL[key] = sql
                return sql, [value]
        params = Params()
        return self._select(params, limit=limit), params.values

    def _one(self, sql: str, values: list[Any], rows: list[Any]) -> M:
        row = self._at_most_one(rows)
        if row is None:
            name = self.model.__name__
            raise NotFound(f"{name} not found", where=self.describe(), model=self.model,
                           sql=sql, params=values)
        return self.model._from_record(row)

    def _one_or_none(self, _sql: str, _values: list[Any], rows: list[Any]) -> M | None:
        row = self._at_most_one(rows)
        return None if row is None else self.model._from_record(row)

    def _at_most_one(self, rows: list[Any]) -> Any:
        if len(rows) > 1:
            raise MultipleFound(f"expected one {self.model.__name__} where {self.describe()}, "
                                f"found several: add filters, .limit(1), or use fetch_all()")
        return rows[0] if rows else None

    def fetch(self, conn: Conn = None) -> Read[M]:
        """Exactly one record; :class:`~rum_orm.NotFound` (a 404) when none matches."""
        return self._upto_two(conn, Scope._one)

    def fetch_optional(self, conn: Conn = None) -> Read[M | None]:
        """One record, or ``None`` when none matches."""
        return self._upto_two(conn, Scope._one_or_none)

    def fetch_first(self, conn: Conn = None) -> Read[M | None]:
        """The first matching record in this scope's order (``LIMIT 1``), or ``None``."""
        sql, values = self._select_limited(1)
        return Read(self.model, conn, "fetchrow", sql, values, self._reads_on(),
                    self._record_or_none)

    def _record_or_none(self, row: Any) -> M | None:
        return None if row is None else self.model._from_record(row)

    def count(self, conn: Conn = None) -> Read[int]:
        """How many records match."""
        params = Params()
        if self.joins or self.limit_ is not None or self.offset_ or self.distinct_:
            inner = self._select(params, ordered=False, locked=False)
            sql = f'SELECT count(*) FROM ({inner}) AS "counted"'
        else:
            sql = f"SELECT count(*) FROM {q(self.model.__table__)}{self._where_sql(params)}"
        return Read(self.model, conn, "fetchval", sql, params.values, self._reads_on(), _same)

    def exists(self, conn: Conn = None) -> Read[bool]:
        """Whether at least one record matches."""
        params = Params()
        inner = self._select(params, columns="1", ordered=False, locked=False, limit=1)
        return Read(self.model, conn, "fetchval", f"SELECT EXISTS ({inner})", params.values,
                    self._reads_on(), _same)

    async def explain(self, conn: Conn = None, *, analyze: bool = False) -> str:
        """PostgreSQL's plan for this query (``EXPLAIN``; ``analyze=True`` runs it)."""
        params = Params()
        sql = ("EXPLAIN (ANALYZE) " if analyze else "EXPLAIN ") + self._select(params)
        rows = await run_query(self.model, conn, "fetch", sql, params.values,
                               on=self._reads_on())
        return "\n".join(r[0] for r in rows)

    def _target_where(self, params: Params) -> str:
        """The ``WHERE`` of an UPDATE/DELETE on this scope's rows."""
        if not (self.joins or self.limit_ is not None or self.offset_ or self.orders):
            return self._where_sql(params)
        pk = self.model.__columns__[self.model.__primary_key__]
        inner = self._select(params, columns=pk, locked=False)
        return f" WHERE {pk} IN ({inner})"

    async def update_all(self, values: Mapping[str, Any] | None = None, /, *, conn: Conn = None,
                         **kwargs: Any) -> int:
        """``UPDATE`` every matching row with ``values``/keywords; return how many changed."""
        changes = {**dict(values or {}), **kwargs}
        if not changes:
            raise TypeError("update_all() needs column=value pairs")
        params = Params()
        sets = ", ".join(f"{q(k)} = {params.add(v)}" for k, v in changes.items())
        sql = f"UPDATE {q(self.model.__table__)} SET {sets}{self._target_where(params)}"
        status = await run_query(self.model, conn, "execute", sql, params.values)
        return count_from_status(status)

    async def delete_all(self, conn: Conn = None) -> int:
        """``DELETE`` every matching row; return how many were deleted."""
        params = Params()
        sql = f"DELETE FROM {q(self.model.__table__)}{self._target_where(params)}"
        status = await run_query(self.model, conn, "execute", sql, params.values)
        return count_from_status(status)

    def cursor(self, conn: Conn = None, *, batch: int = 100) -> AsyncIterator[M]:
        """Iterate with a server-side cursor, ``batch`` rows per round trip, inside the current
        transaction (or one opened for the loop): ``async for u in User.all().cursor():``."""
        return ScopeCursor(self, conn, batch)

    def __aiter__(self) -> AsyncIterator[M]:
        return ScopeCursor(self, None, 100)


def _non_negative(n: Any, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{what}() takes a non-negative integer, got {n!r}")
    if n > INT64_MAX:
        raise ValueRejected(what, f"must be between 0 and {INT64_MAX}")
    return n


class ScopeCursor(Generic[M]):
    """Records of a scope read through a server-side cursor.

    Inside a transaction it uses that transaction; otherwise it holds a connection and a
    transaction of its own until the rows run out, the loop is left early (``aclose()``, or
    garbage collection), or an error or cancellation happens.
    """

    def __init__(self, scope: Scope[M], conn: Conn, batch: int) -> None:
        self._scope = scope
        self._conn = conn
        self._batch = max(1, batch)
        self._rows: list[Any] = []
        self._cursor: Any = None
        self._db: Database | None = None
        self._owned: Any = None  # (raw connection, transaction, pool or None) if ours
        self._done = False

    def __aiter__(self) -> ScopeCursor[M]:
        return self

    async def _open(self) -> None:
        target = executor(self._conn)
        params = Params()
        sql = self._scope._select(params)
        check_args(params.values, self._scope.model, sql)
        current: Connection | None
        if isinstance(target, Connection):
            db, current = target.db, target
        else:
            db, current = target, target.current()
        self._db = db
        if current is not None and current.in_transaction:
            raw = current.raw
        else:
            # our own transaction: on the given connection, else on one from the pool
            idle = None if current is not None else db.idle_connections
            raw = (current.raw if current is not None
                   else await db.bridge.run(db.idle_connections.acquire))
            tx = raw.transaction(readonly=self._scope.lock_ is None)
            self._owned = (raw, tx, idle)
            try:
                await db.bridge.run(tx.start)
            except BaseException:
                await self._release(commit=False)
                raise
        self._cursor = await self._db.bridge.run(_declare, raw, sql, params.values)
        if self._db.log_queries or self._db.slow_query_ms:
            self._db._log(f"DECLARE CURSOR FOR {sql}", params.values, 0.0)

    async def __anext__(self) -> M:
        if not self._rows:
            if self._done:
                raise StopAsyncIteration
            try:
                if self._cursor is None:
                    await self._open()
                db = self._db
                assert db is not None
                self._rows = list(await db.bridge.run(self._cursor.fetch, self._batch))
            except BaseException as exc:
                self._done = True
                await self._release(commit=False)
                if isinstance(exc, asyncpg.PostgresError):
                    new = translate(exc, self._scope.model)
                    if new is not exc:
                        raise new from exc
                raise
            if len(self._rows) < self._batch:
                self._done = True
                await self._release(commit=True)
            if not self._rows:
                raise StopAsyncIteration
            self._rows.reverse()
        return self._scope.model._from_record(self._rows.pop())

    async def aclose(self) -> None:
        """Stop early: end the cursor's own transaction and return its connection."""
        self._done = True
        self._rows = []
        await self._release(commit=False)

    async def _release(self, *, commit: bool) -> None:
        owned, self._owned = self._owned, None
        if owned is None or self._db is None:
            return
        db = self._db
        with trio.CancelScope(shield=True):
            await db.bridge.run(_finish, *owned, commit)

    def __del__(self) -> None:
        owned, self._owned = self._owned, None
        if owned is not None and self._db is not None:
            db = self._db
            db.bridge.run_sync(_finish_soon, *owned)


async def _declare(raw: Any, sql: str, args: list[Any]) -> Any:
    return await raw.cursor(sql, *args)


async def _finish(raw: Any, tx: Any, idle: Any, commit: bool) -> None:
    try:
        if raw.is_in_transaction():
            await (tx.commit() if commit else tx.rollback())
    finally:
        if idle is not None:  # the cursor's own connection (IdleConnections)
            await idle.release_used(raw)


def _finish_soon(raw: Any, tx: Any, idle: Any) -> None:
    import asyncio

    # the pending I/O of the task keeps it alive until it is done
    asyncio.ensure_future(_finish(raw, tx, idle, False))  # noqa: RUF006
