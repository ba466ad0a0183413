"""Job arguments, results and checkpoints as JSON: what is accepted, and how bytes travel.

Accepted: ``None``, ``bool``, ``int``, finite ``float``, ``str``, lists and tuples (read back
as lists), dicts with string keys, and ``bytes``/``bytearray``/``memoryview``, which are
stored as a tagged object ``{"$rum:bytes": "<base64>"}`` and read back as ``bytes``.
Everything else (NaN and infinities, sets, datetimes, decimals, arbitrary objects, and strings
holding a NUL character or a lone surrogate, which PostgreSQL's ``jsonb`` cannot store) is
refused with a :class:`ValueError`/:class:`TypeError` naming where in the value it was, so a
job never runs with data that silently changed on the way.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

BYTES_TAG = "$rum:bytes"


#: Compact JSON text of values made of plain JSON types (built once: ``json.dumps`` with
#: options builds a new encoder on every call).
encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def to_json(value: Any, what: str = "args") -> str:
    """``value`` as compact JSON text, or a clear error naming the offending part."""
    return encode_checked(value if plain(value) else prepare(value, what), what)


def encode_checked(value: Any, what: str = "args") -> str:
    """:data:`encode` of ``value`` (plain JSON types), refusing a string PostgreSQL's
    ``jsonb`` cannot store (:func:`check_text`) with an error naming it."""
    text = encode(value)
    if may_hold_unstorable(text):
        check_text(value, what)  # rare: find which string it is, if any
    return text


def may_hold_unstorable(text: str) -> bool:
    """Whether JSON ``text`` may hold a string ``jsonb`` cannot store (a NUL escape, or
    non-ASCII text, which may hold a lone surrogate): cheap tests in C."""
    return not text.isascii() or "\\u0000" in text


def check_text(value: Any, what: str) -> None:
    """Raise ``ValueError`` naming the first string (or key) in ``value`` that PostgreSQL's
    ``jsonb`` cannot hold: one with a NUL character or a lone surrogate."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{what} holds a NUL character (\\x00), which PostgreSQL cannot "
                             "store in job data: remove it, or pass the data as bytes")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"{what} holds a lone surrogate ({value[exc.start]!r}) at "
                             f"position {exc.start}: job data must be valid Unicode text "
                             "(pass undecoded data as bytes)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, f"{what} key {key!r}")
            check_text(item, f"{what}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_text(item, f"{what}[{i}]")


_PLAIN_LEAVES = frozenset({str, int, bool, type(None)})


def plain(value: Any) -> bool:
    """Whether ``value`` is made only of exact JSON types that :data:`encode` writes as
    :func:`prepare` would return them (no bytes to tag, nothing to refuse): a cheap walk
    without the paths ``prepare`` builds for its error messages. False sends the value to
    ``prepare``, which converts it or says what is wrong; subclasses always go there."""
    kind = type(value)
    if kind in _PLAIN_LEAVES:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        if len(value) == 1 and BYTES_TAG in value:
            return False
        for key, item in value.items():
            if type(key) is not str or (type(item) not in _PLAIN_LEAVES and not plain(item)):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) in _PLAIN_LEAVES or plain(item) for item in value)
    return False


def prepare(value: Any, what: str = "args") -> Any:
    """``value`` made of plain JSON types (bytes tagged); raises on anything else."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{what} is {value!r}: job data must be finite numbers "
                             "(JSON has no NaN or infinity)")
        return value
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{what} has the key {key!r} ({type(key).__name__}): keys of "
                                "job data must be strings")
            out[key] = prepare(item, f"{what}[{key!r}]")
        if len(out) == 1 and BYTES_TAG in out:
            raise ValueError(f"{what} is an object with the single key {BYTES_TAG!r}, which "
                             "is reserved for bytes")
        return out
    if isinstance(value, (list, tuple)):
        return [prepare(item, f"{what}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {BYTES_TAG: base64.b64encode(bytes(value)).decode("ascii")}
    hint = ""
    if isinstance(value, (set, frozenset)):
        hint = "; pass a list (sorted(...)) if the order does not matter"
    elif hasattr(value, "isoformat"):
        hint = "; pass value.isoformat() and parse it in the job"
    raise TypeError(f"{what} is a {type(value).__name__} ({value!r:.60}), which job data "
                    "cannot hold: use None, bool, int, float, str, bytes, lists and dicts "
                    f"with string keys{hint}")


def _untag(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and BYTES_TAG in obj:
        return base64.b64decode(obj[BYTES_TAG])
    return obj


def from_json(text: str | None, default: Any = None) -> Any:
    """Parse stored JSON text, turning tagged bytes back into ``bytes``."""
    if text is None:
        return default
    if BYTES_TAG in text:
        return json.loads(text, object_hook=_untag)
    return json.loads(text)
