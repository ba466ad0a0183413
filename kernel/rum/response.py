"""The HTTP response as plain data: controllers build it, the server plugin writes it out."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterable, Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rum import jsonutil
from rum.headers import Headers

#: Signature of an upgrade handler: ``await handler(stream, leftover_bytes)`` takes over the
#: connection after the server has written the (101) response head. See ``docs/plugins.md``.
UpgradeHandler = Callable[[Any, bytes], Awaitable[None]]


class Response:
    """An HTTP response.

    Build one with a constructor (``Response.html("<h1>Hi</h1>")``, ``Response.json({...})``,
    ``Response.redirect("/login")``, ``Response.stream(chunks)``) or directly. ``body`` is the
    whole payload as bytes (a ``str`` is encoded as UTF-8, a lone surrogate in it, which UTF-8
    cannot hold, as the escape ``\\udc00``: valid inside a JSON string, visible text in
    HTML); ``stream`` (an async iterable of bytes) replaces it for streaming
    responses, which the server sends chunked; ``upgrade`` hands the connection to a protocol
    handler (WebSockets) once the head is written.
    """

    __slots__ = ("body", "headers", "status", "stream", "upgrade")

    def __init__(
        self,
        body: bytes | str = b"",
        status: int = 200,
        headers: Headers | dict[str, str] | list[tuple[str, str]] | None = None,
        *,
        content_type: str | None = None,
        stream: AsyncIterable[bytes] | None = None,
        upgrade: UpgradeHandler | None = None,
    ) -> None:
        if isinstance(body, str):
            try:
                self.body = body.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate (from a JSON "\udc00" escape)
                self.body = body.encode("utf-8", "backslashreplace")  # is sent as text \udc00
        else:
            self.body = body
        self.status = status
        if headers is None:  # the common case, without copying or scanning
            self.headers = Headers.from_lowercase(
                [] if content_type is None else [("content-type", content_type)])
        else:
            self.headers = headers if isinstance(headers, Headers) else Headers(headers)
            if content_type is not None:
                self.headers["content-type"] = content_type
        self.stream = stream
        self.upgrade = upgrade

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def html(cls, body: str | bytes, status: int = 200, **kw: Any) -> Response:
        """An HTML page (``text/html; charset=utf-8``)."""
        return cls(body, status, content_type="text/html; charset=utf-8", **kw)

    @classmethod
    def text(cls, body: str | bytes, status: int = 200, **kw: Any) -> Response:
        """Plain text (``text/plain; charset=utf-8``)."""
        return cls(body, status, content_type="text/plain; charset=utf-8", **kw)

    @classmethod
    def json(cls, data: Any, status: int = 200, *, indent: int | None = None,
             **kw: Any) -> Response:
        """``data`` encoded as JSON; dates, decimals, UUIDs and models are handled."""
        return cls(jsonutil.dumps(data, indent=indent), status,
                   content_type="application/json", **kw)

    @classmethod
    def redirect(cls, location: str, status: int = 302, **kw: Any) -> Response:
        """A redirect to ``location`` (302 by default; 303 after a form post, 301 permanent)."""
        resp = cls(b"", status, **kw)
        resp.headers["location"] = location
        return resp

    @classmethod
    def empty(cls, status: int = 204, **kw: Any) -> Response:
        """A response without a body (204 by default)."""
        return cls(b"", status, **kw)

    @classmethod
    def streaming(cls, chunks: AsyncIterable[bytes], content_type: str = "text/plain",
                  status: int = 200, **kw: Any) -> Response:
        """A response whose body is produced while it is sent (chunked transfer encoding)."""
        return cls(b"", status, content_type=content_type, stream=chunks, **kw)

    @classmethod
    def not_found(cls, detail: str = "Not Found") -> Response:
        """A plain 404."""
        return cls.text(detail, 404)

    # -- mutation helpers (return self, so they chain) ------------------------------------------

    def with_status(self, status: int) -> Response:
        """Set the status code."""
        self.status = status
        return self

    def header(self, name: str, value: str) -> Response:
        """Set a header, replacing any value it had."""
        self.headers[name] = value
        return self

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        expires: dt.datetime | None = None,
        path: str = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = True,
        samesite: str | None = "Lax",
    ) -> Response:
        """Add a ``Set-Cookie`` header. Cookies are HttpOnly and SameSite=Lax by default."""
        parts = [f"{name}={value}", f"Path={path}"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if expires is not None:
            from email.utils import format_datetime

            parts.append(f"Expires={format_datetime(expires.astimezone(dt.UTC), usegmt=True)}")
        if domain:
            parts.append(f"Domain={domain}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite:
            parts.append(f"SameSite={samesite}")
        self.headers.add("set-cookie", "; ".join(parts))
        return self

    def delete_cookie(self, name: str, *, path: str = "/", domain: str | None = None) -> Response:
        """Tell the client to drop cookie ``name``."""
        return self.set_cookie(name, "", max_age=0, path=path, domain=domain,
                               expires=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))

    # -- reading --------------------------------------------------------------------------------

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` header, or ``""``."""
        return self.headers.get("content-type") or ""

    @property
    def reason(self) -> str:
        """The standard reason phrase of :attr:`status`."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    def text_body(self) -> str:
        """The body decoded as UTF-8 (for tests)."""
        return self.body.decode("utf-8")

    def json_body(self) -> Any:
        """The body parsed as JSON (for tests)."""
        return jsonutil.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.content_type or '-'}>"
