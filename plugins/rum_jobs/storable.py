"""Making what a run produced storable: error texts and results that PostgreSQL's ``jsonb``
would refuse must not keep a run's outcome from being written (a job whose outcome cannot be
written stays ``running`` and is run again and again without being charged an attempt)."""

from __future__ import annotations


def storable_text(text: str) -> str:
    """``text`` with what ``jsonb`` cannot hold made visible instead: a NUL character as the
    four characters ``\\x00``, a lone surrogate as ``\\udcff`` (an exception message quoting
    binary input holds such characters)."""
    if text.isascii() and "\x00" not in text:
        return text
    text = text.replace("\x00", "\\x00")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")

