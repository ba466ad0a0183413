"""Validators, conditional requests, byte ranges and content negotiation for static files."""

from __future__ import annotations

import re
from email.utils import formatdate, parsedate_to_datetime

#: A name carrying a content hash, like ``app.3f2a9c1b.css`` or ``app-3f2a9c1b5e.js``.
FINGERPRINT = re.compile(r"[.-][0-9a-fA-F]{8,}\.[A-Za-z0-9]+$")


def make_etag(mtime_ns: int, size: int, encoding: str = "") -> str:
    """A strong ETag from the file's modification time and size (and content coding)."""
    suffix = f"-{encoding}" if encoding else ""
    return f'"{mtime_ns:x}-{size:x}{suffix}"'


def http_date(timestamp: float) -> str:
    """``timestamp`` as an IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return formatdate(timestamp, usegmt=True)


def _etag_list(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def not_modified(if_none_match: str | None, if_modified_since: str | None, etag: str,
                 mtime: float) -> bool:
    """True when the client's cached copy is current (answer 304).

    ``If-None-Match`` wins over ``If-Modified-Since`` (RFC 9110 13.2.2); tags compare weakly.
    """
    if if_none_match is not None:
        tags = _etag_list(if_none_match)
        return "*" in tags or etag.removeprefix("W/") in tags
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        return int(mtime) <= since
    return False


def if_range_matches(if_range: str | None, etag: str, mtime: float) -> bool:
    """True when a ``Range`` should be honoured given ``If-Range`` (absent: always)."""
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith('"') or if_range.startswith("W/"):
        return if_range == etag  # strong comparison only
    try:
        return parsedate_to_datetime(if_range).timestamp() == int(mtime)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False


class Unsatisfiable(Exception):
    """The ``Range`` header asks for bytes the file does not have (answer 416)."""


def _digits(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes ``²`` and ``١``, which int() refuses or
    reads."""
    return text.isascii() and text.isdigit()


def _byte_count(digits: str) -> int:
    """The number ``digits`` spell; past 18 digits, larger than any file (int() of more than
    4,300 digits raises)."""
    return int(digits) if len(digits) <= 18 else 10**18


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The single byte range ``(start, end_inclusive)`` asked for, or ``None`` to send it all.

    Malformed headers, other units and multiple ranges are ignored (a full 200 is a valid
    answer to any ``Range``); a well-formed range that misses the file raises
    :class:`Unsatisfiable`.
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    first, last = first.strip(), last.strip()
    if not (_digits(first) or first == "") or not (_digits(last) or last == ""):
        return None
    if first == "":
        if last == "":
            return None
        length = _byte_count(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - length), size - 1
    start = _byte_count(first)
    end = _byte_count(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return start, min(end, size - 1)


def accepted_encodings(header: str | None) -> set[str]:
    """Content codings the client accepts (q > 0), lower case; ``*`` stands for any."""
    if not header:
        return set()
    accepted: set[str] = set()
    for item in header.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name and q > 0:
            accepted.add(name)
    return accepted
