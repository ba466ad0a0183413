"""Turn JSON values and query-string text into a field's Python type, or say why not."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from typing import Any

from rum_orm import problem_with

JSON_TYPES = (dict, list)

#: Longest query-string value shown back in an error message.
SHOWN = 40


class Invalid(ValueError):
    """A value that does not fit its field; the message is shown to the API client."""


def type_name(kind: type) -> str:
    """How a Python type is named in error messages (the JSON view of it)."""
    return {
        int: "an integer", float: "a number", decimal.Decimal: "a decimal number",
        str: "a string", bool: "a boolean", dt.datetime: "an ISO 8601 date-time",
        dt.date: "an ISO 8601 date", dt.time: "an ISO 8601 time", uuid.UUID: "a UUID",
        dict: "a JSON object", list: "a JSON array", bytes: "base64 text",
    }.get(kind, kind.__name__)


def _datetime(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def checked(kind: type, value: Any) -> Any:
    """``value`` if PostgreSQL can take it for a column of type ``kind`` (range, NUL
    characters, lone surrogates, finite numbers); else :class:`Invalid` saying the limit."""
    if type(value) is float and not math.isfinite(value):
        raise Invalid("must be a finite number")
    problem = problem_with(value, kind)
    if problem:
        raise Invalid(problem)
    return value


def from_json(kind: type, value: Any) -> Any:
    """Convert a decoded JSON ``value`` for a field of type ``kind`` and check it fits the
    column (:func:`checked`); raise :class:`Invalid`."""
    return checked(kind, _from_json(kind, value))


def _from_json(kind: type, value: Any) -> Any:
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
        elif kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif kind is float:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
        elif kind is decimal.Decimal:
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                result = decimal.Decimal(_ascii_number(value) if isinstance(value, str)
                                         else str(value))
                if result.is_finite():
                    return result
        elif kind is str:
            if isinstance(value, str):
                return value
        elif kind is dt.datetime:
            if isinstance(value, str):
                return _datetime(value)
        elif kind is dt.date:
            if isinstance(value, str):
                return dt.date.fromisoformat(value)
        elif kind is dt.time:
            if isinstance(value, str):
                return dt.time.fromisoformat(value)
        elif kind is uuid.UUID:
            if isinstance(value, str):
                return uuid.UUID(value)
        elif kind is dict:
            if isinstance(value, dict):
                return value
        elif kind is list:
            if isinstance(value, list):
                return value
        elif kind is bytes:
            if isinstance(value, str):
                import base64

                return base64.b64decode(value, validate=True)
        else:
            return value
    except (ValueError, decimal.InvalidOperation, TypeError):
        pass
    raise Invalid(f"must be {type_name(kind)}, got {_show(value)}")


#: An integer in a query string: ASCII digits and a sign. Python's int() also reads "1_000",
#: spaces and the digits of other scripts ("１", "١"), which no route's <int:...> matches.
_INTEGER = re.compile(r"[+-]?[0-9]+")


def integer_text(text: str) -> int:
    """The integer ``text`` spells with ASCII digits (ValueError otherwise, or past Python's
    4,300-digit limit)."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(text)
    return int(text)


def _ascii_number(text: str) -> str:
    """``text`` if it may go to float()/Decimal(): ASCII, no ``_`` (ValueError otherwise)."""
    if not text.isascii() or "_" in text:
        raise ValueError(text)
    return text


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def from_text(kind: type, text: str) -> Any:
    """Convert query-string ``text`` for a field of type ``kind`` and check it fits the
    column (:func:`checked`); raise :class:`Invalid`."""
    return checked(kind, _from_text(kind, text))


def _from_text(kind: type, text: str) -> Any:
    try:
        if kind is bool:
            low = text.strip().lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        elif kind is int:
            return integer_text(text)
        elif kind is float:
            return float(_ascii_number(text))
        elif kind is decimal.Decimal:
            result = decimal.Decimal(_ascii_number(text))
            if result.is_finite():
                return result
        elif kind is dt.datetime:
            return _datetime(text)
        elif kind is dt.date:
            return dt.date.fromisoformat(text)
        elif kind is dt.time:
            return dt.time.fromisoformat(text)
        elif kind is uuid.UUID:
            return uuid.UUID(text)
        elif kind in JSON_TYPES:
            raise Invalid("cannot be filtered from the query string")
        else:
            return text
    except (ValueError, decimal.InvalidOperation) as exc:
        if isinstance(exc, Invalid):
            raise
    raise Invalid(f"must be {type_name(kind)}, got {shown(text)}")


def shown(text: str) -> str:
    """``text`` quoted for an error message, cut to :data:`SHOWN` characters."""
    return repr(text[:SHOWN]) + ("..." if len(text) > SHOWN else "")


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    kind = {dict: "an object", list: "an array", str: "a string", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)
    text = repr(value)
    return f"{kind} ({text[:40]}{'...' if len(text) > 40 else ''})"
