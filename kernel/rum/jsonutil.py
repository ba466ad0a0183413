"""JSON shared by responses and plugins: encoding dates, decimals, UUIDs and models, and
strict, bounded parsing of untrusted JSON (:func:`loads`)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import json
import re
import uuid
from array import array
from itertools import accumulate
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


#: How deeply :func:`loads` lets arrays and objects nest by default.
MAX_DEPTH = 64


class JSONLimitError(json.JSONDecodeError):
    """JSON text that is well-formed but over a limit (nesting, number size) or not strict
    JSON (``NaN``, ``Infinity``). A :class:`json.JSONDecodeError`, so code that handles bad
    JSON handles it too."""


_KEEP = b"[]{}"
_DELETE_OTHERS = bytes(b for b in range(256) if b not in _KEEP)
_DELETE_OTHERS_BUT_STRINGS = bytes(b for b in range(256) if b not in b'[]{}"\\')
_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 and -1 as signed bytes
_ESCAPE = re.compile(rb"\\.", re.S)


def _deepest(brackets: bytes) -> int:
    """The deepest nesting of a string of ``[]{}`` (C-speed: translate and accumulate)."""
    return max(accumulate(array("b", brackets.translate(_STEPS))), default=0)


def _too_deep(doc: str | bytes | bytearray, max_depth: int) -> bool:
    """Whether ``doc`` nests arrays/objects more than ``max_depth`` deep.

    Cheap: with at most ``max_depth`` opening brackets (two counts) it cannot be. Otherwise
    the depth is computed from the brackets alone, strings included (an over-estimate, ~1 %
    of parsing time); only when that is over the limit are strings cut out for the exact
    depth.
    """
    if doc.count("[" if isinstance(doc, str) else b"[") + doc.count(  # type: ignore[arg-type]
            "{" if isinstance(doc, str) else b"{") <= max_depth:  # type: ignore[arg-type]
        return False
    raw = doc.encode("utf-8", "surrogatepass") if isinstance(doc, str) else bytes(doc)
    if _deepest(raw.translate(None, _DELETE_OTHERS)) <= max_depth:
        return False
    kept = raw.translate(None, _DELETE_OTHERS_BUT_STRINGS)
    if b"\\" in kept:
        kept = _ESCAPE.sub(b"", kept)  # escaped quotes and backslashes
    outside_strings = b"".join(kept.split(b'"')[::2])
    return _deepest(outside_strings) > max_depth


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def loads(doc: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON: arrays and objects nested at most ``max_depth`` deep, no ``NaN`` or
    ``Infinity`` literals, integers within Python's digit limit (4,300 by default). A number
    too big for a float (``1e999``) still parses as ``inf``, as with :func:`json.loads`.

    Raises :class:`json.JSONDecodeError` for bad JSON and :class:`JSONLimitError` (a
    subclass) for a limit; ``UnicodeDecodeError`` for bytes that are not UTF-8.
    """
    text_for_errors = doc if isinstance(doc, str) else ""
    if _too_deep(doc, max_depth):
        raise JSONLimitError(f"nested deeper than {max_depth} levels", text_for_errors, 0)
    if not isinstance(doc, str):
        doc = doc.decode(json.detect_encoding(doc), "surrogatepass")
    try:
        return _DECODER.decode(doc)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise JSONLimitError(f"nested deeper than {max_depth} levels", text_for_errors,
                             0) from None
    except ValueError as exc:  # an integer over sys.get_int_max_str_digits(), NaN, Infinity
        message = str(exc).split(";", 1)[0]
        if "digits" in message:
            message = f"a number is too long ({message})"
        raise JSONLimitError(message, text_for_errors, 0) from None
