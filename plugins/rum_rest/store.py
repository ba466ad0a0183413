"""SQL for the REST operations, run on ``app.storage``. Identifiers quoted, values bound."""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rum.errors import UnprocessableEntity
from rum_rest.resource import Resource

#: ``?field__op=value`` operators and their SQL.
OPERATORS: dict[str, str] = {
    "eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">=",
    "in": "= ANY", "contains": "ILIKE", "isnull": "IS NULL",
}

#: Marker for "set this column to its default" in a full update (PUT).
DEFAULT = object()


def quote(identifier: str) -> str:
    """A quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class Filter:
    """``field op value``, already typed."""

    field: str
    op: str
    value: Any


_ARGUMENT = re.compile(r"invalid input for query argument \$(\d+): .*\((.+)\)\s*$", re.S)
_WIDTHS = {"int16": (-(2**15), 2**15 - 1), "int32": (-(2**31), 2**31 - 1)}
_INSERT = re.compile(r'INSERT INTO "(?:[^"]|"")+" \(([^)]*)\) VALUES \(([^)]*)\)')


def column_of(sql: str, n: int) -> str | None:
    """The column (or ``limit``/``offset``) the placeholder ``$n`` of ``sql`` is bound to, in
    the statements :class:`SQLStore` writes."""
    ph = rf"\${n}(?!\d)"
    found = re.search(rf'"((?:[^"]|"")+)"(?:::text)? (?:=|<>|<|<=|>|>=|ILIKE) (?:ANY\()?{ph}',
                      sql)
    if found:
        return found.group(1).replace('""', '"')
    found = re.search(rf"(LIMIT|OFFSET) {ph}", sql)
    if found:
        return found.group(1).lower()
    insert = _INSERT.match(sql)
    if insert:
        marks = insert.group(2).split(", ")
        if f"${n}" in marks:
            return insert.group(1).split(", ")[marks.index(f"${n}")].strip('"')
    return None


def explain_bind_error(exc: BaseException, sql: str) -> UnprocessableEntity | None:
    """A 422 naming the column for a value asyncpg could not encode for its column's type
    (e.g. 40000 for a ``smallint``: "small: must be between -32768 and 32767"), else None."""
    if getattr(exc, "sqlstate", None) != "22000":
        return None
    match = _ARGUMENT.match(str(exc))
    if not match:
        return None
    reason = match.group(2)
    width = re.search(r"out of (int16|int32) range", reason)
    problem = (f"must be between {_WIDTHS[width.group(1)][0]} and {_WIDTHS[width.group(1)][1]}"
               if width else f"cannot be stored in this column ({reason})")
    column = column_of(sql, int(match.group(1))) or f"${match.group(1)}"
    return UnprocessableEntity(f"{column}: {problem}", data={column: [problem]})


async def run(db: Any, method: str, sql: str, *args: Any) -> Any:
    """``db.<method>(sql, *args)``; a value the driver cannot encode is a 422 naming the column
    (:func:`explain_bind_error`)."""
    try:
        return await getattr(db, method)(sql, *args)
    except Exception as exc:
        better = explain_bind_error(exc, sql)
        if better is None:
            raise
        raise better from exc


class SQLStore:
    """CRUD on one :class:`Resource`'s table through a storage object (``rum_orm.Database``)."""

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.table = quote(resource.table)
        self.columns = ", ".join(quote(f) for f in resource.fields)
        self.pk = quote(resource.primary_key)

    def _where(self, filters: Sequence[Filter], args: list[Any]) -> str:
        parts = []
        for f in filters:
            col = quote(f.field)
            if f.op == "isnull":
                parts.append(f"{col} IS NULL" if f.value else f"{col} IS NOT NULL")
                continue
            args.append(f.value)
            n = len(args)
            if f.op == "in":
                parts.append(f"{col} = ANY(${n})")
            elif f.op == "contains":
                args[-1] = "%" + str(f.value).replace("\\", "\\\\").replace("%", "\\%").replace(
                    "_", "\\_") + "%"
                parts.append(f"{col}::text ILIKE ${n}")
            else:
                parts.append(f"{col} {OPERATORS[f.op]} ${n}")
        return (" WHERE " + " AND ".join(parts)) if parts else ""

    # Below this method ``list`` in the class body names it: annotations say ``builtins.list``.
    async def list(self, db: Any, filters: Sequence[Filter], order: Sequence[tuple[str, bool]],
                   limit: int, offset: int, after: Sequence[Any] | None = None
                   ) -> tuple[list[dict[str, Any]], int]:
        """One page of rows and the total number of rows matching ``filters``.

        ``after`` (keyset pagination) holds the ``order`` values of the last row of the
        previous page: only rows that sort after it are returned.
        """
        args: list[Any] = []
        where = self._where(filters, args)
        count_args = list(args)
        count_where = where
        if after is not None:
            keyset = self._after(order, after, args)
            where = f"{where} AND {keyset}" if where else f" WHERE {keyset}"
        order_sql = ", ".join(f"{quote(name)} {'DESC' if desc else 'ASC'}"
                              for name, desc in order)
        n = len(args)
        rows = await run(
            db, "fetch", f"SELECT {self.columns} FROM {self.table}{where} ORDER BY {order_sql} "
            f"LIMIT ${n + 1} OFFSET ${n + 2}", *args, limit, offset)
        if offset == 0 and after is None and len(rows) < limit:
            total = len(rows)
        else:
            total = await run(db, "fetchval", f"SELECT count(*) FROM {self.table}{count_where}",
                                      *count_args)
        return [dict(r) for r in rows], total

    @staticmethod
    def _after(order: Sequence[tuple[str, bool]], values: Sequence[Any],
               args: builtins.list[Any]) -> str:
        """``(a > $1) OR (a = $1 AND b < $2) ...`` for the keys of ``order``."""
        alternatives = []
        for i, (name, desc) in enumerate(order):
            parts = []
            for j in range(i):
                args.append(values[j])
                parts.append(f"{quote(order[j][0])} = ${len(args)}")
            args.append(values[i])
            parts.append(f"{quote(name)} {'<' if desc else '>'} ${len(args)}")
            alternatives.append("(" + " AND ".join(parts) + ")")
        return "(" + " OR ".join(alternatives) + ")"

    def _by_pk(self, pk: Any, scope: Sequence[Filter], args: builtins.list[Any]) -> str:
        return self._where([Filter(self.resource.primary_key, "eq", pk), *scope], args)

    async def get(self, db: Any, pk: Any, scope: Sequence[Filter] = ()) -> dict[str, Any] | None:
        """The row with primary key ``pk`` (and matching ``scope``)."""
        args: list[Any] = []
        where = self._by_pk(pk, scope, args)
        row = await run(db, "fetchrow", f"SELECT {self.columns} FROM {self.table}{where}", *args)
        return None if row is None else dict(row)

    async def insert(self, db: Any, values: Mapping[str, Any]) -> dict[str, Any]:
        """Insert one row and return it as stored (defaults filled in)."""
        if not values:
            row = await run(db, "fetchrow", f"INSERT INTO {self.table} DEFAULT VALUES "
                                    f"RETURNING {self.columns}")
        else:
            names = ", ".join(quote(k) for k in values)
            marks = ", ".join(f"${i}" for i in range(1, len(values) + 1))
            row = await run(db, "fetchrow", f"INSERT INTO {self.table} ({names}) VALUES ({marks}) "
                                    f"RETURNING {self.columns}", *values.values())
        return dict(row)

    async def update(self, db: Any, pk: Any, values: Mapping[str, Any],
                     scope: Sequence[Filter] = ()) -> dict[str, Any] | None:
        """Update the row ``pk`` (``DEFAULT`` values reset a column); ``None`` if it is gone."""
        if not values:
            return await self.get(db, pk, scope)
        sets, args = [], []
        for name, value in values.items():
            if value is DEFAULT:
                sets.append(f"{quote(name)} = DEFAULT")
            else:
                args.append(value)
                sets.append(f"{quote(name)} = ${len(args)}")
        where = self._by_pk(pk, scope, args)
        row = await run(db, "fetchrow", f"UPDATE {self.table} SET {', '.join(sets)}{where} "
                                f"RETURNING {self.columns}", *args)
        return None if row is None else dict(row)

    async def delete(self, db: Any, pk: Any, scope: Sequence[Filter] = ()) -> bool:
        """Delete the row ``pk`` (if it matches ``scope``); False if there was none."""
        args: list[Any] = []
        where = self._by_pk(pk, scope, args)
        gone = await run(db, "fetchval",
                         f"DELETE FROM {self.table}{where} RETURNING {self.pk}", *args)
        return gone is not None
