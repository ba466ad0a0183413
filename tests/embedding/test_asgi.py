"""A Rum app served through hypercorn's trio worker by the kernel's ASGI adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from rum import App, Controller, Request, Response, hookimpl
from rum_asgi import asgi_app


class Lifecycle:
    """A plugin object recording start-up and shutdown."""

    name = "lifecycle"

    def __init__(self) -> None:
        self.events: list[str] = []

    @hookimpl
    async def rum_startup(self, app: App) -> None:
        self.events.append("startup")
        app.extensions["greeting"] = "started"

    @hookimpl
    async def rum_shutdown(self, app: App) -> None:
        self.events.append("shutdown")


class Index(Controller):
    async def handle(self, request: Request) -> Response:
        greeting = request.app.extensions.get("greeting", "not started")
        return Response.html(f"<h1>Hey Rum!</h1><p>{greeting}</p>")


class Item(Controller):
    async def get(self, request: Request) -> Response:
        return Response.json({"id": request.path_params["id"], "q": request.query.get("q"),
                              "path": request.path, "client": request.client[0]})

    async def post(self, request: Request) -> Response:
        return Response.json({"got": request.json(), "type": request.content_type}, 201)


class Stream(Controller):
    async def get(self, request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(3):
                await trio.sleep(0)
                yield f"chunk{i};".encode()

        return Response.streaming(chunks())


@asynccontextmanager
async def hypercorn_server(application: object) -> AsyncIterator[str]:
    config = HypercornConfig()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = None
    config.errorlog = None
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(serve, application, config,  # type: ignore[arg-type]
                                            shutdown_trigger=stop.wait))
        try:
            yield binds[0]
        finally:
            stop.set()


class Upgrade(Controller):
    async def get(self, request: Request) -> Response:
        async def take_over(stream: object, leftover: bytes) -> None:
            raise AssertionError("never called over ASGI")

        return Response(status=101, headers={"upgrade": "websocket"}, upgrade=take_over)


def make_app(tmp_path: Path, plugin: Lifecycle) -> App:
    return App([Index.route("/"), Item.route("/items/<int:id>"), Stream.route("/stream"),
                Upgrade.route("/upgrade")], plugins=[plugin], root=tmp_path)


async def test_hypercorn_serves_rum_app_with_lifespan(tmp_path: Path) -> None:
    plugin = Lifecycle()
    app = make_app(tmp_path, plugin)
    async with hypercorn_server(asgi_app(app)) as base:
        assert base.startswith("http://127.0.0.1:")
        assert plugin.events == ["startup"]
        async with httpx.AsyncClient(base_url=base) as client:
            r = await client.get("/")
            assert r.status_code == 200
            assert r.headers["content-type"] == "text/html; charset=utf-8"
            assert r.text == "<h1>Hey Rum!</h1><p>started</p>"

            r = await client.get("/items/42", params={"q": "a b"})
            assert r.json() == {"id": 42, "q": "a b", "path": "/items/42",
                                "client": "127.0.0.1"}

            r = await client.post("/items/1", json={"name": "rum"})
            assert r.status_code == 201
            assert r.json() == {"got": {"name": "rum"}, "type": "application/json"}

            r = await client.post("/items/1", content=b"{nope",
                                  headers={"content-type": "application/json",
                                           "accept": "application/json"})
            assert r.status_code == 400
            assert "invalid JSON body" in r.json()["detail"]

            r = await client.get("/nowhere", headers={"accept": "application/json"})
            assert r.status_code == 404

            r = await client.delete("/items/1")
            assert r.status_code == 405
            assert r.headers["allow"] == "GET, HEAD, POST"

            r = await client.head("/")
            assert r.status_code == 200
            assert r.content == b""

            r = await client.get("/upgrade")
            assert r.status_code == 501 and "http plugin" in r.text

            async with client.stream("GET", "/stream") as r:
                assert r.headers.get("transfer-encoding") == "chunked"
                body = b"".join([c async for c in r.aiter_raw()])
            assert body == b"chunk0;chunk1;chunk2;"
    assert plugin.events == ["startup", "shutdown"]


async def test_body_limit_is_413(tmp_path: Path) -> None:
    app = make_app(tmp_path, Lifecycle())
    async with hypercorn_server(asgi_app(app, max_body_size=10)) as base, \
            httpx.AsyncClient(base_url=base) as client:
        r = await client.post("/items/1", content=b"x" * 100)
        assert r.status_code == 413
        r = await client.post("/items/1", json=[1])
        assert r.status_code == 201


async def test_failed_startup_stops_hypercorn(tmp_path: Path) -> None:
    class Broken:
        name = "broken"

        @hookimpl
        async def rum_startup(self, app: App) -> None:
            raise RuntimeError("database is down")

    app = App([Index.route("/")], plugins=[Broken()], root=tmp_path)
    config = HypercornConfig()
    config.bind = ["127.0.0.1:0"]
    config.accesslog = config.errorlog = None
    with trio.fail_after(10):
        try:
            await serve(asgi_app(app), config)  # type: ignore[arg-type]
        except BaseException as exc:  # hypercorn raises LifespanFailureError
            assert "RuntimeError: database is down" in repr(exc)
        else:
            raise AssertionError("hypercorn started although rum_startup failed")
