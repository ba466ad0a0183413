"""A request body left on the socket for a streaming body parser (:class:`SocketBody`).

The connection hands a request its body unread when the app's body parser for the body's
media type declares ``streams_body = True`` (the forms plugin's multipart parser does). The
parser then pulls the body chunk by chunk: each :meth:`SocketBody.receive` reads the socket
once (at most ``RECEIVE_SIZE`` bytes), feeds httptools, and returns what the parser's
``on_body`` collected, so memory per upload stays bounded by one receive. ``[http]
max_body_size`` applies only to :meth:`SocketBody.read` (a buffered read); streaming parsers
apply their own limits.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Protocol

from rum.errors import BadRequest, HTTPError, PayloadTooLarge
from rum.headers import Headers

if TYPE_CHECKING:
    from rum.request import Request
    from rum_http.framing import Reject

#: the bytes of an unread body drained after the response so the connection can stay open
DRAIN_LIMIT = 256 * 1024


class BodySource(Protocol):
    """What a :class:`SocketBody` needs of its connection (``rum_http.connection``)."""

    async def pull(self, body: SocketBody) -> None:
        """Read the socket once and feed the parser (``body`` gets the chunks it carried)."""


class SocketBody:
    """The body of one request as it arrives (implements :class:`rum.request.BodyStream`).

    The connection appends chunks (:meth:`add`) and marks the end (:meth:`finish`) from its
    parser callbacks; the app's task reads them with :meth:`receive` or :meth:`read`.
    """

    __slots__ = ("chunks", "declared", "disconnected", "ended", "error", "expect_continue",
                 "max_size", "received", "request", "source", "taken")

    def __init__(self, source: BodySource, declared: int, max_size: int,
                 expect_continue: bool) -> None:
        self.source = source
        #: the Content-Length, or -1 for a chunked body
        self.declared = declared
        #: ``[http] max_body_size``, for :meth:`read`
        self.max_size = max_size
        #: the client waits for ``100 Continue`` before it sends the body
        self.expect_continue = expect_continue
        self.chunks: deque[bytes] = deque()
        self.received = 0
        #: bytes handed to the reader so far
        self.taken = 0
        self.ended = False
        #: why the body cannot be read on (client gone, malformed framing), once known
        self.error: HTTPError | None = None
        #: the client closed the connection before the body ended
        self.disconnected = False
        self.request: Request | None = None

    # -- filled by the connection ---------------------------------------------------------------

    def add(self, chunk: bytes) -> None:
        """A chunk of the body arrived."""
        self.chunks.append(chunk)
        self.received += len(chunk)

    def finish(self, trailers: list[tuple[str, str]] | None) -> None:
        """The body is complete; ``trailers`` of a chunked body go to the request."""
        self.ended = True
        if trailers is not None and self.request is not None:
            self.request.trailers = Headers.from_lowercase(trailers)

    def fail(self, reject: Reject | None) -> None:
        """The body cannot arrive: the client left (``None``) or its framing is broken."""
        if reject is None:
            self.disconnected = True
            self.error = BadRequest("the client closed the connection before the request "
                                    "body ended")
        else:
            self.error = HTTPError(reject.detail, status=reject.status)

    # -- read by the app ------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """Every byte of the body was read from the socket."""
        return self.ended

    async def receive(self) -> bytes:
        """The next chunk of the body, ``b""`` at its end."""
        while not self.chunks:
            if self.ended:
                return b""
            if self.error is not None:
                raise self.error
            await self.source.pull(self)
        chunk = self.chunks.popleft()
        self.taken += len(chunk)
        return chunk

    async def read(self) -> bytes:
        """The rest of the body, buffered; over ``[http] max_body_size`` is a 413."""
        limit = self.max_size
        if self.declared > limit:
            raise PayloadTooLarge(f"request body of {self.declared} bytes is larger than the "
                                  f"limit of {limit} bytes ([http] max_body_size)")
        parts = []
        while chunk := await self.receive():
            if self.taken > limit:
                raise PayloadTooLarge(f"request body larger than {limit} bytes ([http] "
                                      "max_body_size)")
            parts.append(chunk)
        return b"".join(parts)

    async def drain(self, limit: int = DRAIN_LIMIT) -> bool:
        """Read and drop what is left of the body, at most ``limit`` more bytes; return whether
        the body ended (then the connection can serve a next request)."""
        if self.expect_continue or self.error is not None:
            return False  # the client has not sent the body: it waits for 100 Continue
        if self.declared >= 0 and self.declared - self.taken > limit:
            return False
        stop = self.taken + limit
        try:
            while await self.receive():
                if self.taken > stop:
                    return False
        except (HTTPError, OSError):
            return False
        return True
