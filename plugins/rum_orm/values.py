"""Checks on the values bound to a statement, before they reach PostgreSQL.

asyncpg refuses some Python values only once it encodes them (an ``int`` beyond 64 bits for a
``bigint`` column, a string holding a lone surrogate), and PostgreSQL refuses others (a NUL
character in ``text``); either way the caller gets a low-level error that names neither the
model nor the column. :func:`check_args` runs on every ORM statement and raises
:class:`ValueRejected` instead, naming the column and the limit::

    Order.qty: must be between -9223372036854775808 and 9223372036854775807

The common case (small ints, ASCII strings without NUL, dates, UUIDs...) costs one type test
per value; the column is looked up only when a value fails the quick test.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import typing
import uuid
from collections.abc import Sequence
from typing import Any

from rum_orm.errors import ValueRejected, _column_of_placeholder

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT_RANGE = f"must be between {INT64_MIN} and {INT64_MAX}"

#: PostgreSQL ``numeric``: digits before and after the decimal point.
NUMERIC_INT_DIGITS = 131072
NUMERIC_FRACTION_DIGITS = 16383

#: Nesting a JSON (``jsonb``) value may have when sent as a parameter.
JSON_DEPTH = 512

_ALWAYS_FINE = frozenset({bool, type(None), bytes, dt.datetime, dt.date, dt.time,
                          dt.timedelta, uuid.UUID})


def int_problem(value: int, kind: Any = None) -> str | None:
    """Why the integer ``value`` cannot be bound for a column of Python type ``kind``."""
    if INT64_MIN <= value <= INT64_MAX:
        return None
    if kind is decimal.Decimal:  # numeric takes any integer up to its digit limit
        return None if len(str(abs(value))) <= NUMERIC_INT_DIGITS else _numeric_limit()
    if kind is float:
        return None if abs(value) <= 1.7976931348623157e308 else "must be a finite number"
    return INT_RANGE


def _numeric_limit() -> str:
    return (f"must have at most {NUMERIC_INT_DIGITS} digits before the decimal point and "
            f"{NUMERIC_FRACTION_DIGITS} after it")


def decimal_problem(value: decimal.Decimal) -> str | None:
    """Why ``value`` does not fit PostgreSQL's ``numeric`` (NaN and infinities do fit)."""
    if not value.is_finite():
        return None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if value.adjusted() + 1 > NUMERIC_INT_DIGITS or -exponent > NUMERIC_FRACTION_DIGITS:
        return _numeric_limit()
    return None


def str_problem(value: str) -> str | None:
    """Why ``value`` cannot be PostgreSQL text: a NUL character, or not encodable as UTF-8."""
    if "\x00" in value:
        return "must not contain NUL characters (\\u0000)"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (f"must be valid Unicode text; it holds a lone surrogate "
                    f"({value[exc.start]!r}) at position {exc.start}")
    return None


def json_problem(value: Any) -> str | None:
    """Why the JSON value (dicts, lists, strings, numbers) cannot be stored as ``jsonb``."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str:
            problem = str_problem(item)
        elif kind is float:
            problem = None if math.isfinite(item) else "must not hold NaN or Infinity"
        elif kind is dict or kind is list:
            if depth >= JSON_DEPTH:
                return f"must be nested at most {JSON_DEPTH} levels deep"
            children = item.items() if kind is dict else ((None, v) for v in item)
            problem = None
            for key, child in children:
                if isinstance(key, str) and (problem := str_problem(key)):
                    problem = f"key {key[:20]!r}: {problem}"
                    break
                stack.append((child, depth + 1))
        else:
            problem = None
        if problem:
            return problem
    return None


def problem_with(value: Any, kind: Any = None) -> str | None:
    """Why ``value`` cannot be bound for a column whose Python type is ``kind`` (``None``:
    unknown), or ``None`` when it can."""
    t = type(value)
    if t in _ALWAYS_FINE:
        return None
    if t is int:
        return int_problem(value, kind)
    if t is str:
        return str_problem(value)
    if t is float:
        if kind is float or kind is None or math.isfinite(value):
            return None
        return "must be a finite number"
    if t is decimal.Decimal:
        return decimal_problem(value)
    if kind is dict or kind is list or t is dict:
        return json_problem(value)
    if t is list or t is tuple:  # arrays, and the right side of IN
        for item in value:
            problem = problem_with(item, kind)
            if problem:
                return problem
        return None
    if isinstance(value, int):  # IntEnum and other subclasses: by their value
        return int_problem(int(value), kind)
    if isinstance(value, str):
        return str_problem(str(value))
    if isinstance(value, float):
        return problem_with(float(value), kind)
    return None


def check_value(value: Any, kind: Any = None, column: str = "value", *,
                model: Any = None) -> Any:
    """``value`` itself, or :class:`ValueRejected` naming ``column`` when it cannot be bound
    for a column of Python type ``kind`` (see :func:`problem_with`)."""
    problem = problem_with(value, kind)
    if problem:
        raise ValueRejected(column, problem, model=model)
    return value


def check_args(args: Sequence[Any], model: Any = None, sql: str = "", *,
               ints: bool = True) -> None:
    """Check every value bound to ``sql`` (a statement on ``model``); raise
    :class:`ValueRejected` naming the column (found in ``sql``) for the first bad one.
    ``ints=False`` leaves integers to the driver, which knows each parameter's type (the
    app's own SQL may bind a big ``int`` to a ``numeric`` parameter).

    Small ints and ASCII strings without NUL pass on one type test; other values are judged
    without their column first, and only a value that fails is judged again by its column's
    declared type (a big ``int`` is fine for a ``Decimal`` column)."""
    for n, value in enumerate(args, 1):
        t = type(value)
        if t is int:
            if not ints or INT64_MIN <= value <= INT64_MAX:
                continue
        elif t is str:
            if value.isascii() and "\x00" not in value:
                continue
        elif t in _ALWAYS_FINE:
            continue
        if problem_with(value) is None:
            continue
        column = _column_of_placeholder(sql, str(n)) if sql else None
        problem = problem_with(value, column_type(model, column))
        if problem:
            raise ValueRejected(column or f"${n}", problem, model=model if column else None)


def column_type(model: Any, column: str | None) -> Any:
    """The Python type declared for ``column`` on ``model`` (``None`` if unknown)."""
    fields = getattr(model, "__fields__", None)
    if not column or not fields or column not in fields:
        return None
    base = fields[column].base_type
    origin = typing.get_origin(base)
    if origin is not None:
        base = origin
    return base if isinstance(base, type) else None
