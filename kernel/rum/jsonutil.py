"""JSON shared by responses and plugins: encoding dates, decimals, UUIDs and models, and
strict, bounded parsing of untrusted JSON (:func:`loads`)."""

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
        if _c_make_encoder is not None:
            # what JSONEncoder.encode ends up calling, without its two Python frames (each
            # call builds its own C encoder: circular references are still detected)
            return "".join(_c_make_encoder({}, to_jsonable, _encode_str, None, ":", ",",
                                           False, False, True)(obj, 0))
        return _compact(obj)  # one encoder for every response: json.dumps builds one per call
    return json.dumps(obj, default=to_jsonable, indent=indent, ensure_ascii=False)


_compact = json.JSONEncoder(default=to_jsonable, separators=(",", ":"),
                           ensure_ascii=False).encode
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_encode_str = json.encoder.encode_basestring

#: How deeply :func:`loads` lets arrays and objects nest by default.
MAX_DEPTH = 64


class JSONLimitError(json.JSONDecodeError):
    """JSON text that is well-formed but over a limit (nesting, number size) or not strict
    JSON (``NaN``, ``Infinity``). A :class:`json.JSONDecodeError`, so code that handles bad
    JSON handles it too."""


_DELETE_BUT_BRACKETS_AND_QUOTES = bytes(b for b in range(256) if b not in b'[]{}"')
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")  # the depth is the same


def _deeper_than(brackets: bytes, max_depth: int) -> bool:
    """Whether a string of ``[`` and ``]`` nests deeper than ``max_depth``: each pass (one
    C-speed ``replace``, which does not rescan what it produced) removes exactly the innermost
    pairs, so a structure of depth k is gone after k passes and not before."""
    for _ in range(max_depth):
        reduced = brackets.replace(b"[]", b"")
        if not reduced or len(reduced) == len(brackets):
            return False  # all gone, or unbalanced (the parser reports that)
        brackets = reduced
    return b"[]" in brackets


def _too_deep(doc: str | bytes | bytearray, max_depth: int) -> bool:
    """Whether ``doc`` nests arrays/objects more than ``max_depth`` deep (brackets inside
    strings do not count).

    With at most ``max_depth`` opening brackets (two counts) it cannot be. Otherwise only
    brackets and quotes are kept (escaped quotes and backslashes dropped first, braces read
    as brackets); when every string is then ``""`` (two counts tell) the quotes are dropped,
    else (a string holds brackets: rare) the strings are cut out, and the brackets are reduced
    level by level. Every step is a C-speed bytes method (cost measured in ``docs/rest.md``).
    """
    if isinstance(doc, str):
        if doc.count("[") + doc.count("{") <= max_depth:
            return False
        raw = doc.encode("utf-8", "surrogatepass")
    else:
        if doc.count(b"[") + doc.count(b"{") <= max_depth:
            return False
        raw = bytes(doc)
    if b"\\" in raw:  # inside strings: \\ is one backslash, \" a quote that ends nothing
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = raw.translate(_BRACES_AS_BRACKETS, _DELETE_BUT_BRACKETS_AND_QUOTES)
    if kept.count(b'""') * 2 == kept.count(b'"'):  # every string is "": none holds brackets
        return _deeper_than(kept.translate(None, b'"'), max_depth)
    kept = kept.replace(b'""', b"")  # a string holds brackets: drop the others, then
    return _deeper_than(b"".join(kept.split(b'"')[::2]), max_depth)  # cut the rest out


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
    if len(doc) > max_depth and _too_deep(doc, max_depth):  # shorter cannot be deeper
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
