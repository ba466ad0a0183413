"""Making what a run produced storable: error texts and results that PostgreSQL's ``jsonb``
would refuse must not keep a run's outcome from being written (a job whose outcome cannot be
written stays ``running`` and is run again and again without being charged an attempt)."""

from __future__ import annotations

from typing import Any

from rum.jsonutil import dumps
from rum_jobs.payload import to_json


def storable_text(text: str) -> str:
    """``text`` with what ``jsonb`` cannot hold made visible instead: a NUL character as the
    four characters ``\\x00``, a lone surrogate as ``\\udcff`` (an exception message quoting
    binary input holds such characters)."""
    if text.isascii() and "\x00" not in text:
        return text
    text = text.replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")



def encode_result(result: Any, what: str) -> tuple[str, str | None]:
    """JSON text for a run's result, and why it was replaced (None: it was not). A result
    that cannot be stored (a type JSON has no form for, an integer past Python's 4,300-digit
    conversion limit, nesting deeper than the recursion limit, ...) is kept as its ``repr()``,
    or as a note naming its type when even that fails."""
    try:
        return to_json(result, what), None
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}"
    try:
        shown = storable_text(repr(result))
    except Exception as exc:
        shown = f"<{type(result).__name__} result that cannot be stored or shown: {exc!r}>"
    return dumps(storable_text(shown)), problem


def refused_note(exc: BaseException) -> str:
    """JSON text stored instead of a result PostgreSQL refused."""
    return dumps(storable_text(f"<result not stored: PostgreSQL refused it: {exc}>"))


def refused_by_postgres(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is PostgreSQL refusing the data itself (SQLSTATE
    class 22, data exception, or 54, program limit exceeded: a jsonb value too big), so
    sending it again cannot succeed, as opposed to a lost connection."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state[:2] in ("22", "54"):
            return True
        current = current.__cause__ or current.__context__
    return False
