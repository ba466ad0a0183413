"""JSON encoding shared by responses and plugins: dates, decimals, UUIDs and models."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import json
import uuid
from typing import Any


def to_jsonable(obj: Any) -> Any:
    """Convert one value json can't encode: the ``default=`` hook of :func:`dumps`.

    Datetimes and dates become ISO 8601, decimals and UUIDs strings, bytes base64, sets lists,
    dataclasses dicts; any object with a ``to_dict()`` method (ORM models) is encoded by it.
    """
    if isinstance(obj, (dt.datetime, dt.date, dt.time)):
        return obj.isoformat()
    if isinstance(obj, decimal.Decimal | uuid.UUID):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(obj)).decode("ascii")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable; give it a to_dict() method")


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """Encode ``obj`` as compact JSON text, using :func:`to_jsonable` for non-JSON types."""
    if indent is None:
        return json.dumps(obj, default=to_jsonable, separators=(",", ":"), ensure_ascii=False)
    return json.dumps(obj, default=to_jsonable, indent=indent, ensure_ascii=False)


loads = json.loads
