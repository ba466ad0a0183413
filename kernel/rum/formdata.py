"""Form bodies: the parsed-form containers and the kernel's bounded urlencoded parser.

``await request.form()`` returns a :class:`FormData`. The kernel parses
``application/x-www-form-urlencoded`` itself (standard library, bounded, off the event loop
when the body is large); other media types are parsed by whatever plugin registers a parser
for them through :func:`rum.hookspecs.rum_body_parsers` (the bundled ``forms`` plugin does
``multipart/form-data``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import trio

from rum.errors import BadRequest

if TYPE_CHECKING:
    from rum.request import Request

URLENCODED = "application/x-www-form-urlencoded"
#: default cap on the number of fields of an urlencoded body (each ``&``-separated pair)
MAX_URLENCODED_FIELDS = 1000
#: bodies up to this size are parsed on the event loop; larger ones in a worker thread
INLINE_PARSE_LIMIT = 16 * 1024

#: what a plugin registers through ``rum_body_parsers``: ``await parser(request)``
BodyParser = Callable[["Request"], Awaitable["FormData"]]


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


def _parse_urlencoded_sync(body: bytes, max_fields: int, setting: str | None) -> FormData:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"request body is not valid UTF-8: {exc}") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=max_fields)
    except ValueError:
        where = f"; raise {setting} to accept more" if setting else ""
        raise BadRequest(f"the form has more than {max_fields} fields{where}") from None
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
