"""An in-process client for users' tests: requests go straight to ``app.handle`` (no socket)."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from rum.headers import Headers
from rum.request import Request

if TYPE_CHECKING:
    from rum.response import Response


class Servable(Protocol):
    """What the client drives: a :class:`rum.App`, or anything that runs and answers."""

    def running(self) -> AbstractAsyncContextManager[Any]:
        """Start and stop it around ``async with client:``."""

    async def handle(self, request: Request) -> Response:
        """Answer one request."""


class TestClient:
    """Sends requests to an app in-process and keeps cookies between them, like a browser.

    Use ``async with app.test_client() as client:`` to run the app's start-up and shutdown
    hooks around the requests; without ``async with`` requests still work, but plugins that
    need start-up (database pools) are not started.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: Servable, *, client: tuple[str, int] = ("127.0.0.1", 50000),
                 headers: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.client = client
        self.default_headers = dict(headers or {})
        self.cookies: dict[str, str] = {}
        self._stack: AsyncExitStack | None = None

    async def __aenter__(self) -> TestClient:
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(self.app.running())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._stack is not None
        await self._stack.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | str = b"",
        json: Any = None,
        form: Mapping[str, Any] | None = None,
    ) -> Response:
        """Send one request and return the app's :class:`~rum.Response` (streams collected)."""
        hdrs = Headers({**self.default_headers, **(headers or {})})
        if json is not None:
            body = jsonlib.dumps(json)
            hdrs.setdefault("content-type", "application/json")
        elif form is not None:
            body = urlencode(form, doseq=True)
            hdrs.setdefault("content-type", "application/x-www-form-urlencoded")
        if isinstance(body, str):
            body = body.encode("utf-8")
        if self.cookies and "cookie" not in hdrs:
            hdrs["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        hdrs.setdefault("host", "testserver")
        target = path
        if query:
            target += ("&" if "?" in path else "?") + urlencode(query, doseq=True)
        request = Request.from_target(method.upper(), target, headers=hdrs, body=body,
                                      client=self.client)
        response = await self.app.handle(request)
        if response.stream is not None:
            response.body = b"".join([chunk async for chunk in response.stream])
            response.stream = None
        if method.upper() == "HEAD":
            response.body = b""
        self._store_cookies(response)
        return response

    def _store_cookies(self, response: Response) -> None:
        for header in response.headers.getall("set-cookie"):
            first, *attrs = header.split(";")
            name, _, value = first.strip().partition("=")
            expired = any(a.strip().lower() in ("max-age=0",) for a in attrs)
            if expired or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    async def get(self, path: str, **kw: Any) -> Response:
        """``GET path``."""
        return await self.request("GET", path, **kw)

    async def head(self, path: str, **kw: Any) -> Response:
        """``HEAD path``."""
        return await self.request("HEAD", path, **kw)

    async def post(self, path: str, **kw: Any) -> Response:
        """``POST path``."""
        return await self.request("POST", path, **kw)

    async def put(self, path: str, **kw: Any) -> Response:
        """``PUT path``."""
        return await self.request("PUT", path, **kw)

    async def patch(self, path: str, **kw: Any) -> Response:
        """``PATCH path``."""
        return await self.request("PATCH", path, **kw)

    async def delete(self, path: str, **kw: Any) -> Response:
        """``DELETE path``."""
        return await self.request("DELETE", path, **kw)

    async def options(self, path: str, **kw: Any) -> Response:
        """``OPTIONS path``."""
        return await self.request("OPTIONS", path, **kw)
