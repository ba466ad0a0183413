"""Response heads: status lines, the ``date`` line and whole heads cached per second.

The server owns one :class:`ResponseHeads`; its connections call :meth:`ResponseHeads.head`
for every response and :meth:`ResponseHeads.date_line` for the short pages that answer
rejected requests. Nothing here knows about sockets or connections.
"""

from __future__ import annotations

import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rum.response import Response

#: most distinct response heads kept per second (unique ones, e.g. with a fresh cookie,
#: simply miss once the cache is full)
HEAD_CACHE_SIZE = 256


def status_line(status: int) -> str:
    """``HTTP/1.1 <status> <reason phrase>`` with its line break (no phrase if unknown)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n"


#: the status line of every status :class:`http.HTTPStatus` names, built once
STATUS_LINES: dict[int, str] = {s.value: status_line(s.value) for s in HTTPStatus}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(seconds: float) -> str:
    """``Tue, 01 Dec 2026 09:30:00 GMT``: ``email.utils.formatdate(seconds, usegmt=True)``
    without importing the ``email`` package at start-up."""
    t = time.gmtime(seconds)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year:04d} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


class HeaderError(ValueError):
    """A response header that cannot be written (a line break in a value)."""


class ResponseHeads:
    """Builds response heads for one server, caching them for the current second.

    ``server_header`` is the ``server`` header's value (empty: no ``server`` line).
    """

    def __init__(self, server_header: str = "") -> None:
        self._server_line = f"server: {server_header}\r\n" if server_header else ""
        self._date_second = -1
        self._date_line = ""
        #: encoded response heads of this second, keyed by everything that goes into them
        self._heads: dict[tuple[Any, ...], tuple[bytes, bool]] = {}
        self._heads_second = -1

    def date_line(self) -> str:
        """``date`` and ``server`` header lines, the date formatted once per second."""
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date_line = f"date: {http_date(now)}\r\n{self._server_line}"
        return self._date_line

    def head(self, response: Response, keep_alive: bool, *, version: str, length: int = 0,
             chunked: bool = False, no_body: bool = False, upgrade: bool = False,
             stream_length: bool = False) -> tuple[bytes, bool]:
        """The response head as bytes, and whether the connection stays open after it.

        Heads are cached for the current second (the ``date`` line is part of them): most
        responses of an app repeat a few shapes, and a hit skips building, checking and
        encoding the lines. A streamed response keeps its own ``content-length`` only with
        ``stream_length`` (the connection checked it and sends the body identity-encoded).
        Raises :class:`HeaderError` for a header value holding a line break.
        """
        status = response.status
        now = int(time.time())
        if now != self._heads_second:
            self._heads_second = now
            self._heads.clear()
        key = (status, keep_alive, version, length, chunked, upgrade, response.stream is None,
               stream_length, *response.headers.pairs)
        try:
            cached = self._heads.get(key)
        except TypeError:  # an unhashable header value: build the head uncached
            return self._build_head(response, keep_alive, version=version, length=length,
                                    chunked=chunked, upgrade=upgrade,
                                    stream_length=stream_length)
        if cached is not None:
            return cached
        result = self._build_head(response, keep_alive, version=version, length=length,
                                  chunked=chunked, upgrade=upgrade, stream_length=stream_length)
        if len(self._heads) < HEAD_CACHE_SIZE:
            self._heads[key] = result
        return result

    def _build_head(self, response: Response, keep_alive: bool, *, version: str, length: int,
                    chunked: bool, upgrade: bool, stream_length: bool) -> tuple[bytes, bool]:
        status = response.status
        drop_length = chunked or (response.stream is not None and not stream_length)
        lines = [STATUS_LINES.get(status) or status_line(status), self.date_line()]
        has_length = False
        for name, value in response.headers.pairs:
            if name == "content-length":
                if drop_length:
                    continue
                has_length = True
            elif name == "connection" and not upgrade:
                if value.lower() == "close":
                    keep_alive = False
                continue
            elif name == "transfer-encoding" and not upgrade:
                continue
            lines.append(f"{name}: {value}\r\n")
        if not upgrade:
            if chunked:
                lines.append("transfer-encoding: chunked\r\n")
            elif (not has_length and status >= 200 and status != 204 and status != 304
                  and response.stream is None):
                lines.append(f"content-length: {length}\r\n")
            if not keep_alive:
                lines.append("connection: close\r\n")
            elif version == "1.0":
                lines.append("connection: keep-alive\r\n")
        lines.append("\r\n")
        text = "".join(lines)
        if text.count("\n") != len(lines) + 1:
            raise HeaderError("a response header value contains a line break")
        try:
            return text.encode("latin-1"), keep_alive
        except UnicodeEncodeError:
            return text.encode("utf-8"), keep_alive
