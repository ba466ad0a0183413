"""The ORM's errors, and the translation of PostgreSQL errors into ones that name the model."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

import asyncpg

import rum


class OrmError(rum.RumError):
    """Base class of the ORM's own errors."""


class NotFound(rum.NotFound, OrmError):
    """No record matched a query that needs one (``fetch()``, ``reload()``).

    A subclass of :class:`rum.NotFound`, so a controller that lets it escape answers ``404``.
    The response shows only ``detail`` ("User not found"); ``str(exc)`` (logs, tracebacks)
    adds ``where``, the filters in words. ``model`` is the model class; ``sql`` and ``params``
    the query that found nothing.
    """

    def __init__(self, detail: str, *, where: str = "", model: Any = None, sql: str = "",
                 params: Iterable[Any] = ()) -> None:
        super().__init__(detail)
        self.where = where
        self.model = model
        self.sql = sql
        self.params = list(params)

    def __str__(self) -> str:
        return f"{self.detail} where {self.where}" if self.where else self.detail


class MultipleFound(OrmError):
    """``fetch()`` wants exactly one record and the query matched several."""


class UnknownColumn(OrmError):
    """A query named a column the table does not have (the message suggests the closest)."""


class ModelDefinitionError(OrmError):
    """A model class, relation or field declaration is wrong."""


#: how to apply pending migrations (also in rum_orm.diagnose's messages)
MIGRATE_HINT = "run `rum migrate run` (`rum migrate status` lists pending migrations)"

_COLUMN = re.compile(r'column (.+) does not exist', re.S)


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice most similar to ``name``, or ``None``."""
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return found[0] if found else None


def explain_column_error(exc: asyncpg.UndefinedColumnError, model: Any) -> UnknownColumn:
    """An :class:`UnknownColumn` naming ``model``, the column and the closest known column."""
    message = str(exc)
    match = _COLUMN.search(message)
    column = match.group(1) if match else "?"
    table = getattr(model, "__table__", "")
    for prefix in (f"{table}.", f'"{table}".'):
        if column.startswith(prefix):
            column = column[len(prefix):]
    column = column.strip('"')
    known = list(getattr(model, "__fields__", {}))
    hint = closest(column, known)
    suggestion = f"; did you mean {hint!r}?" if hint else ""
    return UnknownColumn(f"{model.__name__} (table {table!r}): {message}{suggestion} "
                         f"(columns of {model.__name__}: {', '.join(known) or 'none declared'})"
                         f"; if a migration adds it, {MIGRATE_HINT}")


class InvalidValue(OrmError, ValueError):
    """A value could not be sent as the type of the column it is compared with or stored in."""


class ValueRejected(InvalidValue, rum.errors.UnprocessableEntity):
    """A value PostgreSQL cannot store or compare as the column's type (out of range, a NUL
    character, a lone surrogate...). A 422 when it escapes a controller.

    ``column`` names the column (``$n`` or ``None`` when unknown), ``problem`` says what is
    wrong without the name (``"must be between ... and ..."``); ``data`` is ``{column: [problem]}``.
    """

    def __init__(self, column: str | None, problem: str, *, model: Any = None) -> None:
        label = ".".join(part for part in (getattr(model, "__name__", None), column) if part)
        super().__init__(f"{label or 'value'}: {problem}", data={column or "value": [problem]})
        self.column = column
        self.problem = problem
        self.model = model


_ARGUMENT = re.compile(r"query argument \$(\d+)")


def _column_of_placeholder(sql: str, n: str) -> str | None:
    """The column ``$n`` is compared with, assigned to or inserted into, in ``sql``."""
    ident = r'(?:"(?:[^"]|"")+"\.)?"((?:[^"]|"")+)"'
    for pattern in (rf"{ident} (?:=|!=|<|>|<=|>=) (?:ANY\(|ALL\()?\${n}\b",
                    rf"{ident} <> ALL\(\${n}\)"):
        match = re.search(pattern, sql)
        if match:
            return match.group(1).replace('""', '"')
    insert = re.match(r'INSERT INTO "(?:[^"]|"")+" \(([^)]*)\) VALUES \(([^)]*)\)', sql)
    if insert:
        columns = [c.strip().strip('"') for c in insert.group(1).split(", ")]
        values = [v.strip() for v in insert.group(2).split(", ")]
        if f"${n}" in values and len(columns) == len(values):
            return columns[values.index(f"${n}")]
    return None


_WIDTH = re.compile(r"value out of (int16|int32|int64) range")
_WIDTHS = {"int16": (-(2**15), 2**15 - 1), "int32": (-(2**31), 2**31 - 1),
           "int64": (-(2**63), 2**63 - 1)}
#: SQLSTATEs of values PostgreSQL refused: too long, out of range, bad characters or dates.
_REFUSED_VALUES = frozenset({"22001", "22003", "22007", "22008", "22021", "22P05"})


def explain_data_error(exc: BaseException, model: Any, sql: str) -> BaseException:
    """The error for a value the driver or PostgreSQL refused, naming the model and column:
    :class:`ValueRejected` (a 422) for one out of the column's range or
    otherwise unstorable (``smallint`` overflow, ``numeric`` overflow, text too long...),
    :class:`InvalidValue` for one of the wrong type; ``exc`` itself when no column is known
    for a client-side error."""
    message = str(exc)
    match = _ARGUMENT.search(message)
    if match is None:
        if getattr(exc, "sqlstate", None) not in _REFUSED_VALUES:
            return exc
        problem = message.split("\n", 1)[0]
        detail = getattr(exc, "detail", None)
        if detail:
            problem = f"{problem} ({detail})"
        return ValueRejected(getattr(exc, "column_name", None), problem, model=model)
    column = _column_of_placeholder(sql, match.group(1))
    out_of_range = explain_argument_error(exc, sql, model)
    if out_of_range is not None:
        return out_of_range
    if column is None:
        return exc
    return InvalidValue(f"{model.__name__}.{column}: {message}")


def explain_argument_error(exc: BaseException, sql: str,
                           model: Any = None) -> ValueRejected | None:
    """A :class:`ValueRejected` (a 422) naming the column, else ``$n``, when the driver
    refused a bound value as out of its parameter's range (a ``bigint``, ``integer`` or
    ``smallint`` parameter given a bigger number); ``None`` for any other error (a value of
    the wrong type is the program's mistake, not the client's)."""
    message = str(exc)
    match = _ARGUMENT.search(message)
    width = _WIDTH.search(message) if match is not None else None
    if match is None or width is None:
        return None
    column = _column_of_placeholder(sql, match.group(1))
    low, high = _WIDTHS[width.group(1)]
    return ValueRejected(column or f"${match.group(1)}", f"must be between {low} and {high}",
                         model=model if column else None)


def translate(exc: BaseException, model: Any, sql: str = "") -> BaseException:
    """The error to raise instead of ``exc`` for a query on ``model`` (or ``exc`` itself)."""
    if isinstance(exc, asyncpg.UndefinedColumnError):
        return explain_column_error(exc, model)
    if isinstance(exc, asyncpg.DataError) and sql:
        return explain_data_error(exc, model, sql)
    if isinstance(exc, asyncpg.UndefinedTableError):
        table = getattr(model, "__table__", "?")
        return OrmError(f"{model.__name__}: {exc} (the model's table is {table!r}: create it "
                        f"with a migration and {MIGRATE_HINT}, or set __table__ on the model)")
    return exc
