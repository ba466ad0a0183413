"""Converting text from a query string or a cursor into a field's Python value.

Every value of a list page's query string passes here before it reaches PostgreSQL: the text
is bounded, converted to the column's type, and bad input raises :class:`BadValue` (a 400).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from rum import BadRequest
from rum_orm import INT64_MAX, INT64_MIN, Model

MAX_TEXT = 200
TRUE = frozenset({"true", "1", "yes", "on"})
FALSE = frozenset({"false", "0", "no", "off"})


class BadValue(BadRequest):
    """A query-string value that does not fit its field (answered 400)."""


def to_value(model: type[Model], name: str, text: str, what: str) -> Any:
    """``text`` as a value of ``model``'s field ``name``; :class:`BadValue` naming ``what``."""
    base = model.__fields__[name].base_type
    if len(text) > MAX_TEXT or "\x00" in text:
        raise BadValue(f"{what}: the value is longer than {MAX_TEXT} characters or holds a "
                       f"NUL character")
    try:
        return _convert(base, text)
    except (ValueError, ArithmeticError, InvalidOperation):
        raise BadValue(f"{what}: {text[:40]!r} is not a valid {_kind(base)}") from None


def _convert(base: Any, text: str) -> Any:
    if base is bool:
        lowered = text.lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise ValueError(text)
    if base is int:
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()) or len(text) > 20:
            raise ValueError(text)
        number = int(text)
        if not INT64_MIN <= number <= INT64_MAX:
            raise ValueError(text)
        return number
    if base is Decimal:
        decimal = Decimal(text)
        if not decimal.is_finite():
            raise ValueError(text)
        return decimal
    if base is float:
        real = float(text)
        if not math.isfinite(real):
            raise ValueError(text)
        return real
    if base is datetime:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if base is date:
        return date.fromisoformat(text)
    if base is str:
        return text
    if base is UUID:
        return UUID(text)
    raise ValueError(text)


def to_text(value: Any) -> str | None:
    """``value`` as the text :func:`to_value` reads back (``None`` stays ``None``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _kind(base: Any) -> str:
    return {bool: "true/false value", int: "whole number", Decimal: "number", float: "number",
            datetime: "date and time (ISO 8601)", date: "date (YYYY-MM-DD)",
            UUID: "UUID"}.get(base, "value")
