"""Form bodies: the parsed-form containers and the kernel's bounded urlencoded parser.

``await request.form()`` returns a :class:`FormData`. The kernel parses
``application/x-www-form-urlencoded`` itself (standard library, bounded, off the event loop
when the body is large); other media types are parsed by whatever plugin registers a parser
for them through :func:`rum.hookspecs.rum_body_parsers` (the bundled ``forms`` plugin does
``multipart/form-data``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import trio

from rum.errors import BadRequest

URLENCODED = "application/x-www-form-urlencoded"
#: default cap on the number of fields of an urlencoded body (each ``&``-separated pair)
MAX_URLENCODED_FIELDS = 1000
#: bodies up to this size are parsed on the event loop; larger ones in a worker thread
INLINE_PARSE_LIMIT = 16 * 1024


class QueryParams(dict[str, str]):
    """Query-string or form values: ``params["q"]`` is the last value, ``getall`` every one."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._pairs = pairs

    def getall(self, key: str) -> list[str]:
        """Every value given for ``key``, in order (``?tag=a&tag=b``)."""
        return [v for k, v in self._pairs if k == key]


class Files(dict[str, Any]):
    """Uploaded files by field name: ``files["photo"]`` is the last, ``getall`` every one.

    The values are whatever the body parser produced (the ``forms`` plugin's
    ``UploadedFile``); the kernel never reads them.
    """

    def __init__(self, pairs: Iterable[tuple[str, Any]] = ()) -> None:
        pairs = list(pairs)
        super().__init__(pairs)
        self._pairs = pairs

    def getall(self, key: str) -> list[Any]:
        """Every file sent under ``key``, in order (``<input type=file multiple>``)."""
        return [v for k, v in self._pairs if k == key]

    def all(self) -> list[Any]:
        """Every uploaded file, in body order."""
        return [v for _, v in self._pairs]


class FormData(QueryParams):
    """A parsed form body: text fields (like :class:`QueryParams`) plus :attr:`files`."""

    def __init__(self, fields: list[tuple[str, str]],
                 files: Iterable[tuple[str, Any]] = ()) -> None:
        super().__init__(fields)
        self.files = Files(files)

    def close(self) -> None:
        """Close every uploaded file (their spooled data is freed or deleted)."""
        for upload in self.files.all():
            close = getattr(upload, "close", None)
            if close is not None:
                close()


_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")
#: bytes unquoted per step: each C call stays short, so a worker thread lets the GIL go often
_UNQUOTE_STEP = 4096


def _unquote_plus(text: str) -> str:
    """``urllib.parse.unquote_plus`` in short C-speed steps.

    unquote runs a Python loop per escape (~0.5 s for a 1 MB value of escapes) after one long
    ``split``; either stalls the event loop through the GIL, even from a worker thread. Here
    each 4 KiB step turns stray ``%`` into ``%25`` (unquote keeps them as they are) and every
    ``%XX`` into ``\\xXX`` for the ``unicode_escape`` codec; the bytes are then decoded as
    UTF-8 with replacement, as unquote does.
    """
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    raw, out, start = text.encode("utf-8"), [], 0
    while start < len(raw):
        end = min(start + _UNQUOTE_STEP, len(raw))
        cut = raw.rfind(b"%", end - 2, end) if end < len(raw) else -1
        if cut > start:
            end = cut  # a "%" near the cut starts the next step: no escape is cut in two
        step = _BAD_ESCAPE.sub(b"%25", raw[start:end]).replace(b"\\", b"\\\\")
        out.append(step.replace(b"%", b"\\x").decode("unicode_escape").encode("latin-1"))
        start = end
    return b"".join(out).decode("utf-8", "replace")


def _parse_urlencoded_sync(body: bytes, max_fields: int, setting: str | None) -> FormData:
    """What ``parse_qsl(keep_blank_values=True, max_num_fields=...)`` does, in bounded steps."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"request body is not valid UTF-8: {exc}") from None
    if text.count("&") + 1 > max_fields:
        where = f"; raise {setting} to accept more" if setting else ""
        raise BadRequest(f"the form has more than {max_fields} fields{where}")
    pairs = []
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((_unquote_plus(name), _unquote_plus(value)))
    return FormData(pairs)


async def parse_urlencoded(body: bytes, *, max_fields: int = MAX_URLENCODED_FIELDS,
                           setting: str | None = None,
                           limiter: trio.CapacityLimiter | None = None) -> FormData:
    """Parse an ``application/x-www-form-urlencoded`` body into :class:`FormData`.

    More than ``max_fields`` pairs is a 400 (naming ``setting``, the configuration key that
    raises the cap, when given). Bodies over :data:`INLINE_PARSE_LIMIT` bytes are parsed in a
    worker thread (``limiter`` bounds how many at once), so a large body never stalls the
    event loop.
    """
    if len(body) <= INLINE_PARSE_LIMIT:
        return _parse_urlencoded_sync(body, max_fields, setting)
    return await trio.to_thread.run_sync(_parse_urlencoded_sync, body, max_fields, setting,
                                         limiter=limiter)
