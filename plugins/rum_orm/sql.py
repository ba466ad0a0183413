"""SQL building blocks: quoted identifiers, qualified columns, bound parameters, conditions.

Every identifier goes through :func:`quote`; every value becomes a ``$n`` parameter. Nothing
here formats a value into SQL text except integers already checked by ``int()`` (``LIMIT``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Resolver = Callable[[Any], str]

OPERATORS = frozenset({"=", "!=", "<", ">", "<=", ">="})
DIRECTIONS = frozenset({"ASC", "DESC", "ASC NULLS FIRST", "ASC NULLS LAST", "DESC NULLS FIRST",
                        "DESC NULLS LAST", "NULLS FIRST", "NULLS LAST"})


def quote(name: str) -> str:
    """``name`` as a quoted SQL identifier (``"users"``; embedded quotes doubled)."""
    if not isinstance(name, str):
        raise TypeError(f"an SQL identifier must be a string, got {name!r}")
    if not name or "\x00" in name:
        raise ValueError(f"invalid SQL identifier {name!r}")
    return '"' + name.replace('"', '""') + '"'


class Column:
    """A column of a table, qualified: ``Order.column("total_amount")`` renders
    ``"orders"."total_amount"``."""

    __slots__ = ("name", "table")

    def __init__(self, table: str | None, name: str) -> None:
        self.table = table
        self.name = name

    def to_sql(self) -> str:
        """The quoted, qualified identifier."""
        if self.table:
            return f"{quote(self.table)}.{quote(self.name)}"
        return quote(self.name)

    __str__ = to_sql

    def __repr__(self) -> str:
        return f"Column({self.to_sql()})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Column) and other.table == self.table
                and other.name == self.name)

    def __hash__(self) -> int:
        return hash((self.table, self.name))


class Params:
    """Values bound to a statement; :meth:`add` returns the next ``$n`` placeholder."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        """Bind ``value`` and return its placeholder (``$1``, ``$2``, ...)."""
        self.values.append(value)
        return f"${len(self.values)}"


class Condition:
    """A piece of a ``WHERE`` clause."""

    __slots__ = ()

    def render(self, resolve: Resolver, params: Params) -> str:  # pragma: no cover - abstract
        """The SQL of this condition, binding its values to ``params``."""
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        """The condition as error messages show it (values inline, not bound)."""
        raise NotImplementedError


def _column_label(column: Any) -> str:
    return column.name if isinstance(column, Column) else str(column)


class Compare(Condition):
    """``column <op> value``; ``None`` gives ``IS [NOT] NULL``; a list gives
    ``= ANY($n)`` (IN) or ``<> ALL($n)`` (NOT IN), one parameter whatever its length."""

    __slots__ = ("column", "op", "value")

    def __init__(self, column: Any, op: str, value: Any) -> None:
        if op not in OPERATORS:
            raise ValueError(f"unknown comparison {op!r}; use one of {sorted(OPERATORS)}")
        if isinstance(value, set | frozenset | tuple):
            value = list(value)
        if value is None and op not in ("=", "!="):
            raise ValueError(f"cannot compare {_column_label(column)} {op} NULL: use "
                             f"filter({_column_label(column)!r}, None) for IS NULL")
        if isinstance(value, list) and op not in ("=", "!="):
            raise ValueError(f"a list works with filter (IN) and not_ (NOT IN), not with "
                             f"{op} on {_column_label(column)}")
        self.column = column
        self.op = op
        self.value = value

    def render(self, resolve: Resolver, params: Params) -> str:
        """``col = $n``, ``col IS NULL``, ``col = ANY($n)`` and so on."""
        col = resolve(self.column)
        value = self.value
        if value is None:
            return f"{col} IS NULL" if self.op == "=" else f"{col} IS NOT NULL"
        if isinstance(value, list):
            ph = params.add(value)
            return f"{col} = ANY({ph})" if self.op == "=" else f"{col} <> ALL({ph})"
        return f"{col} {self.op} {params.add(value)}"

    def describe(self) -> str:
        """The comparison as error messages show it."""
        label = _column_label(self.column)
        if self.value is None:
            return f"{label} IS {'NULL' if self.op == '=' else 'NOT NULL'}"
        if isinstance(self.value, list):
            return f"{label} {'IN' if self.op == '=' else 'NOT IN'} {self.value!r}"
        return f"{label} {self.op} {self.value!r}"


class AnyOf(Condition):
    """``(a AND b) OR (c)``: alternatives, each a sequence of conditions ANDed together."""

    __slots__ = ("groups",)

    def __init__(self, groups: Sequence[Sequence[Condition]]) -> None:
        self.groups = tuple(tuple(g) for g in groups)

    def render(self, resolve: Resolver, params: Params) -> str:
        """The groups ANDed inside, ORed together; an empty group is ``TRUE``."""
        parts = []
        for group in self.groups:
            if not group:
                parts.append("TRUE")
            else:
                parts.append("(" + " AND ".join(c.render(resolve, params) for c in group) + ")")
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"

    def describe(self) -> str:
        """The alternatives as error messages show them."""
        return " OR ".join("(" + " AND ".join(c.describe() for c in g) + ")"
                           for g in self.groups)


def direction(value: str) -> str:
    """A checked ``ORDER BY`` direction (``ASC``, ``DESC``, ``... NULLS FIRST/LAST``)."""
    normal = " ".join(str(value).upper().split())
    if normal not in DIRECTIONS:
        raise ValueError(f"unknown sort direction {value!r}; use 'ASC' or 'DESC' (optionally "
                         f"with 'NULLS FIRST'/'NULLS LAST')")
    return normal


def order_term(text: str) -> tuple[str, str]:
    """A column and direction from one ``order()`` string: ``"id"`` → ``("id", "")``,
    ``"-id"`` → ``("id", "DESC")``, ``"id desc"`` → ``("id", "DESC")``,
    ``"orders.total ASC NULLS LAST"`` → ``("orders.total", "ASC NULLS LAST")``.

    The column must be a name (``column`` or ``table.column`` of Python-identifier parts);
    anything else raises :class:`ValueError` naming the string, so no text other than a
    quoted identifier and a checked direction ever reaches the SQL.
    """
    if not isinstance(text, str):
        raise TypeError(f"order() takes column names, (column, direction) tuples or "
                        f"Model.column(name), got {text!r}")
    words = text.split()
    if not words:
        raise ValueError(f"order(): empty column name {text!r}")
    name, rest = words[0], " ".join(words[1:])
    dir_ = direction(rest) if rest else ""
    if name.startswith("-"):
        if dir_:
            raise ValueError(f"order({text!r}): give the direction once, as '-{name[1:]}' or "
                             f"'{name[1:]} {dir_}'")
        name, dir_ = name[1:], "DESC"
    if not name or not all(part.isidentifier() for part in name.split(".")) \
            or name.count(".") > 1:
        raise ValueError(f"order({text!r}): {name!r} is not a column name; use 'column', "
                         f"'-column', 'column DESC' or Model.column(name)")
    return name, dir_


def count_from_status(status: str) -> int:
    """The row count of a command status (``"UPDATE 3"`` → 3)."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
