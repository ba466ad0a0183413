"""Serve a Rum app from any ASGI 3 server running on trio (hypercorn's trio worker).

``asgi_app(app)`` returns an ASGI callable::

    # serve.py
    from rum import App
    from rum_asgi import asgi_app

    app = App(routes=[...])
    application = asgi_app(app)

    # $ hypercorn --worker-class trio serve:application

The ``lifespan`` scope starts the app's plugins (``async with app.running()``) and stops them
at shutdown; each ``http`` scope becomes a :class:`rum.Request` answered by ``app.handle``,
streaming responses included. WebSocket scopes are refused (close code 1011): WebSocket
controllers need the ``http`` plugin's own server, which hands them the raw connection.
The adapter uses the standard library only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from rum.errorpage import error_response
from rum.headers import Headers
from rum.request import Request

if TYPE_CHECKING:
    from rum.app import App
    from rum.response import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Default request body limit (bytes) when the app has no ``[http] max_body_size`` setting.
DEFAULT_MAX_BODY_SIZE = 10 * 1024 * 1024


class _BodyTooLarge(Exception):
    pass


def asgi_app(app: App, *, max_body_size: int | None = None) -> ASGIApp:
    """Wrap ``app`` as an ASGI 3 application.

    ``max_body_size`` limits request bodies (answered with 413); it defaults to the app's
    ``[http] max_body_size`` when the ``http`` plugin declares it, else 10 MiB. The server must
    run the application on trio (``hypercorn --worker-class trio``), because Rum's plugins do.
    """
    limit = max_body_size
    if limit is None:
        configured = app.config.get("http", "max_body_size")
        limit = configured if isinstance(configured, int) else DEFAULT_MAX_BODY_SIZE
    body_limit: int = limit

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await _http(app, scope, receive, send, body_limit)
        elif kind == "lifespan":
            await _lifespan(app, receive, send)
        elif kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1011,
                        "reason": "Rum serves WebSockets with its own http plugin only"})
        else:
            raise ValueError(f"rum_asgi: unsupported ASGI scope type {kind!r}")

    application.rum_app = app  # type: ignore[attr-defined]
    return application


async def _lifespan(app: App, receive: Receive, send: Send) -> None:
    """Start the app on ``lifespan.startup`` and stop it on ``lifespan.shutdown``."""
    stack = AsyncExitStack()
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                await stack.enter_async_context(app.running())
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": _describe(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await stack.aclose()
            except Exception as exc:
                await send({"type": "lifespan.shutdown.failed", "message": _describe(exc)})
                return
            await send({"type": "lifespan.shutdown.complete"})
            return


def _describe(exc: BaseException) -> str:
    """``Type: message`` of ``exc``, or of each exception inside an exception group."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


def build_request(scope: Scope, body: bytes) -> Request:
    """Turn an ASGI ``http`` scope and its body into a :class:`rum.Request`."""
    root = scope.get("root_path") or ""
    path: str = scope["path"]
    raw = scope.get("raw_path")
    raw_path = raw.decode("latin-1") if raw else path
    if root and path.startswith(root):
        path = path[len(root):] or "/"
        if raw_path.startswith(root):
            raw_path = raw_path[len(root):] or "/"
    headers = Headers.from_lowercase(
        [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]])
    client = scope.get("client")
    return Request(
        scope["method"],
        path,
        scope.get("query_string", b"").decode("latin-1"),
        headers,
        body,
        client=tuple(client) if client else None,  # type: ignore[arg-type]
        scheme=scope.get("scheme", "http"),
        http_version=scope.get("http_version", "1.1"),
        raw_path=raw_path,
    )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or ``None`` if the client went away."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _http(app: App, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    try:
        body = await _read_body(receive, limit)
    except _BodyTooLarge:
        request = build_request(scope, b"")
        response = error_response(request, 413, f"request body is over {limit} bytes")
        await _send_response(request, response, send)
        return
    if body is None:
        return
    request = build_request(scope, body)
    response = await app.handle(request)
    if response.upgrade is not None:
        response = error_response(request, 501, "protocol upgrades (WebSockets) need Rum's own "
                                                "http plugin server, not the ASGI adapter")
    await _send_response(request, response, send)


async def _send_response(request: Request, response: Response, send: Send) -> None:
    head_only = request.method == "HEAD" or response.status in (204, 304)
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.raw()]
    if response.stream is None and "content-length" not in response.headers \
            and response.status != 204:
        headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if head_only:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    if response.stream is not None:
        async for chunk in response.stream:
            if chunk:
                await send({"type": "http.response.body", "body": bytes(chunk),
                            "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    await send({"type": "http.response.body", "body": response.body, "more_body": False})
